"""Lock directories, the cap on bytes being written, and listings that
change while they are read."""
import errno
import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, GENCERTS, daemon_pids, run, write_file

SANITIZED = bool(os.environ.get("PKIFS_SANITIZED"))


def status_kib(pid, field):
    """VmRSS or VmHWM of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def test_lock_dir_lists_empty_and_stays_empty(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    lock = mnt.p("trusted/certs/leaf1.der.lock")
    os.mkdir(lock)
    assert os.listdir(lock) == []
    assert [e.name for e in os.scandir(lock)] == []
    out = run("ls", "-la", lock).stdout.split("\n")
    assert [line.split()[-1] for line in out if line.strip() and not line.startswith("total")] == [".", ".."]
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["leaf1.der", "leaf1.der.lock"]
    # creating anything inside is refused, and nothing appears
    with pytest.raises(OSError) as e:
        os.open(os.path.join(lock, "f"), os.O_WRONLY | os.O_CREAT, 0o644)
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.mkdir(os.path.join(lock, "d.lock"))
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.rename(mnt.p("trusted/certs/leaf1.der"), os.path.join(lock, "leaf1.der"))
    assert e.value.errno == errno.EPERM
    assert os.listdir(lock) == []
    assert os.path.exists(mnt.p("trusted/certs/leaf1.der"))
    assert "lock directories stay empty" in mnt.log()
    os.rmdir(lock)
    assert os.listdir(mnt.p("trusted/certs")) == ["leaf1.der"]


def test_tools_walk_a_tree_holding_locks(mnt, pki, workdir):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    run("cp", pki / "app1.der", mnt.p("own/certs/"))
    for d in ("own/certs/app1.der.lock", "trusted/certs/x.lock", "mutex.lock"):
        os.mkdir(mnt.p(d))
    found = run("find", mnt.path).stdout.split()
    assert mnt.p("trusted/certs/x.lock") in found
    assert mnt.p("own/certs/app1.der") in found
    run("du", "-s", mnt.path)
    run("ls", "-lR", mnt.path)
    out = run("tar", "cf", workdir / "t.tar", "-C", mnt.path, "own", "trusted")
    names = run("tar", "tf", workdir / "t.tar").stdout.split()
    assert "trusted/certs/x.lock/" in names and "own/certs/app1.der" in names, out


def test_readme_restore_while_a_lock_is_held(mnt, pki, workdir):
    """The README's rsync restore command runs clean while a stack holds a
    lock, and makes the live tree the backup (deletions included)."""
    run("cp", pki / "root-ca.der", pki / "leaf1.der", mnt.p("trusted/certs/"))
    run("cp", pki / "app1.der", mnt.p("own/certs/"))
    os.mkdir(mnt.p("snapshot/nightly"))
    backup = workdir / "backup"
    run("rsync", "-a", mnt.p("snapshot/nightly") + "/", str(backup) + "/")
    os.unlink(mnt.p("trusted/certs/leaf1.der"))
    run("cp", pki / "leaf2.der", mnt.p("trusted/certs/"))
    os.mkdir(mnt.p("own/certs/app1.der.lock"))
    r = run("rsync", "-a", "--delete", "--exclude=/snapshot", "--exclude=/capath",
            "--exclude=/cafile.pem", str(backup) + "/", mnt.path + "/", check=False)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["leaf1.der", "root-ca.der"]
    assert os.listdir(mnt.p("own/certs")) == ["app1.der"]


def test_lock_cap(mount_factory):
    m = mount_factory("max_locks=20")
    for i in range(20):
        os.mkdir(m.p("trusted/certs", f"l{i}.lock"))
    with pytest.raises(OSError) as e:
        os.mkdir(m.p("own/certs/one-more.lock"))
    assert e.value.errno == errno.ENOSPC
    assert not os.path.exists(m.p("own/certs/one-more.lock"))
    assert "max_locks" in m.log()
    os.rmdir(m.p("trusted/certs/l0.lock"))
    os.mkdir(m.p("own/certs/one-more.lock"))
    assert len(os.listdir(m.p("trusted/certs"))) == 19


def lock_round(m, n, folder):
    """Make n lock directories in folder, then remove them: seconds each."""
    t0 = time.monotonic()
    for i in range(n):
        os.mkdir(m.p(folder, f"l{i:06d}.lock"))
    t1 = time.monotonic()
    for i in range(n):
        os.rmdir(m.p(folder, f"l{i:06d}.lock"))
    return t1 - t0, time.monotonic() - t1


def test_many_locks_give_memory_back(mount_factory):
    """Lock directories up to the cap: every one lists and goes, and the
    daemon's memory comes back after they are removed. PKIFS_LOCKS=N
    sets the count (the README figures use 100000); -s prints figures."""
    n = int(os.environ.get("PKIFS_LOCKS", 2000 if SANITIZED else 10000))
    m = mount_factory(f"max_locks={n}")
    pid = daemon_pids(m.db)[0]
    small = lock_round(m, 1000, "trusted/certs")
    base = status_kib(pid, "VmRSS")
    t0 = time.monotonic()
    for i in range(n):
        os.mkdir(m.p("own/certs", f"l{i:06d}.lock"))
    made = time.monotonic() - t0
    full = status_kib(pid, "VmRSS")
    with pytest.raises(OSError) as e:
        os.mkdir(m.p("trusted/certs/over.lock"))
    assert e.value.errno == errno.ENOSPC
    listed = os.listdir(m.p("own/certs"))
    assert len(listed) == n and len(set(listed)) == n
    t0 = time.monotonic()
    for i in range(n):
        os.rmdir(m.p("own/certs", f"l{i:06d}.lock"))
    removed = time.monotonic() - t0
    time.sleep(0.5)
    after = status_kib(pid, "VmRSS")
    print(f"\n{n} lock dirs: made in {made:.2f} s, removed in {removed:.2f} s; "
          f"1000 mkdir+rmdir on an empty mount {small[0]:.3f}+{small[1]:.3f} s; "
          f"VmRSS {base} -> {full} -> {after} KiB, VmHWM {status_kib(pid, 'VmHWM')} KiB")
    assert os.listdir(m.p("own/certs")) == []
    if not SANITIZED:  # ASan keeps freed memory in quarantine
        assert after - base < 4096 + n // 10, (base, full, after)  # KiB: 100 bytes a lock


def test_mkdir_with_many_locks_elsewhere(mount_factory):
    """1,000 mkdir/rmdir with many lock directories elsewhere: printed with
    -s (PKIFS_LOCKS_OTHER sets how many; the README figure uses 40000)."""
    other = int(os.environ.get("PKIFS_LOCKS_OTHER", 2000 if SANITIZED else 10000))
    m = mount_factory(f"max_locks={other + 1000}")
    lock_round(m, 1000, "trusted/certs")  # warm up; then the best of three
    empty = min(lock_round(m, 1000, "trusted/certs") for _ in range(3))
    for i in range(other):
        os.mkdir(m.p("rejected", f"o{i:06d}.lock"))
    crowded = min(lock_round(m, 1000, "trusted/certs") for _ in range(3))
    print(f"\n1000 mkdir / rmdir (best of 3): empty mount {empty[0]:.3f} / {empty[1]:.3f} s, "
          f"with {other} lock dirs elsewhere {crowded[0]:.3f} / {crowded[1]:.3f} s")
    assert len(os.listdir(m.p("rejected"))) == other


def write_some(fd, total, chunk=65536):
    """Write total bytes to fd; None, or the OSError that stopped it."""
    try:
        for _ in range(0, total, chunk):
            os.write(fd, b"\x30" * chunk)
    except OSError as e:
        return e
    return None


def test_pending_bytes_are_capped(mount_factory, pki):
    m = mount_factory("pending_max=1048576")
    a = os.open(m.p("trusted/crl/a.crl"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    b = os.open(m.p("issuers/crl/b.crl"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    assert write_some(a, 640 * 1024) is None
    err = write_some(b, 640 * 1024)
    assert err is not None and err.errno == errno.ENOSPC
    with pytest.raises(OSError) as e:
        os.close(b)
    assert e.value.errno == errno.ENOSPC
    assert "pending_max" in m.log()
    with pytest.raises(OSError) as e:  # not a CRL: refused at close
        os.close(a)
    assert e.value.errno == errno.EBADMSG
    assert os.listdir(m.p("trusted/crl")) == [] and os.listdir(m.p("issuers/crl")) == []
    # the room came back: a file almost as big as the two of them together
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    c = os.open(m.p("trusted/crl/c.crl"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    assert write_some(c, 960 * 1024) is None
    os.ftruncate(c, 0)
    os.pwrite(c, (pki / "root-ca.crl").read_bytes(), 0)
    os.close(c)
    assert os.listdir(m.p("trusted/crl")) == ["c.crl"]


def test_pending_bytes_default_cap_bounds_memory(mnt):
    """16 writers of CRL-sized files at once (4 under the sanitizers): the
    daemon holds no more than the default cap. -s prints its RSS."""
    n, size = (4, 4 << 20) if SANITIZED else (16, 16 << 20)
    pid = daemon_pids(mnt.db)[0]
    base = status_kib(pid, "VmRSS")
    fds = [os.open(mnt.p("trusted/crl", f"big{i}.crl"), os.O_WRONLY | os.O_CREAT, 0o644)
           for i in range(n)]
    errs = [write_some(fd, size, 1 << 20) for fd in fds]
    held = status_kib(pid, "VmRSS")
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    time.sleep(0.5)
    after = status_kib(pid, "VmRSS")
    refused = sum(1 for e in errs if e is not None)
    print(f"\n{n} writers of {size >> 20} MiB: {refused} refused (ENOSPC); daemon VmRSS "
          f"{base} -> {held} -> {after} KiB, VmHWM {status_kib(pid, 'VmHWM')} KiB")
    assert all(e is None or e.errno == errno.ENOSPC for e in errs)
    if not SANITIZED:
        assert status_kib(pid, "VmHWM") < 192 * 1024


def flood(m, files):
    return subprocess.Popen(["cp", "-t", m.p("rejected")] + files,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_listing_rejected_while_it_evicts_has_no_duplicates(mount_factory, workdir):
    n = 2000 if SANITIZED else 10000
    m = mount_factory("max_rejected=64")
    certs = workdir / "flood"
    certs.mkdir()
    run(GENCERTS, certs, n)
    files = sorted(str(certs / x) for x in os.listdir(certs) if x.startswith("cert-"))
    cp = flood(m, files)
    bad, listings = [], 0
    while cp.poll() is None:
        for names in (os.listdir(m.p("rejected")),
                      [e.name for e in os.scandir(m.p("rejected"))]):
            listings += 1
            if len(names) != len(set(names)):
                bad.append(sorted(x for x in set(names) if names.count(x) > 1))
    assert cp.wait() == 0, cp.stderr.read()
    print(f"\n{listings} listings during the flood")
    assert listings > 10
    assert not bad, f"{len(bad)} of {listings} listings repeat names, e.g. {bad[0]}"


def test_two_writers_of_one_name_list_it_once(mnt, pki):
    data = (pki / "leaf1.der").read_bytes()
    fds = [os.open(mnt.p("trusted/certs/x.der"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
           for _ in range(2)]
    for fd in fds:
        os.write(fd, data[:100])
    try:
        assert os.listdir(mnt.p("trusted/certs")) == ["x.der"]
    finally:
        for fd in fds:
            os.pwrite(fd, data, 0)
            os.close(fd)
    assert os.listdir(mnt.p("trusted/certs")) == ["x.der"]
