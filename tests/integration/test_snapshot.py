"""snapshot/: point-in-time trees, backup and restore with real rsync."""
import errno
import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, run

VIEWS = ("--exclude=/snapshot", "--exclude=/capath", "--exclude=/cafile.pem")


def populate(m, pki):
    """A store holding every folder kind, auxiliary files and a key."""
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    run("cp", pki / "leaf3.pem", m.p("trusted/certs/"))
    run("cp", pki / "root-ca.crl", m.p("trusted/crl/"))
    run("cp", pki / "intermediate-ca.pem", m.p("issuers/certs/"))
    run("cp", pki / "intermediate-ca.crl", m.p("issuers/crl/"))
    run("cp", pki / "app1.der", m.p("own/certs/"))
    run("cp", pki / "app1.key.pkcs8.pem", m.p("own/private/private_key.pem"))
    run("cp", pki / "leaf1.pem", m.p("rejected/"))
    with open(m.p("own/openssl.cnf"), "w") as f:
        f.write("[req]\ndistinguished_name = dn\n")
    open(m.p("mutex"), "w").close()
    os.utime(m.p("trusted/certs/leaf3.pem"), ns=(1, 1600000000_111111111))
    os.chmod(m.p("trusted/certs/root-ca.der"), 0o640)
    os.chown(m.p("own/certs/app1.der"), 1234, 5678)
    # Folder times well in the past: rsync compares times to the second, so
    # folders made "now" by a fresh mount or a fresh backup must differ.
    for i, d in enumerate(["own/certs", "own/private", "own", "trusted/certs", "trusted/crl",
                           "trusted", "issuers/certs", "issuers/crl", "issuers", "rejected", ""]):
        os.utime(m.p(d) if d else m.path, ns=(1, 1500000000_000000007 + i * 1000_000000123))
    for g in ("UserTokenCerts", "HttpCerts"):   # the other certificate groups' folders
        for i, (d, _, _) in enumerate(sorted(os.walk(m.p(g)), reverse=True)):
            os.utime(d, ns=(1, 1400000000_000000003 + i * 1000_000000123))


def tree(root, skip=()):
    """{relative path: (mode, uid, gid, mtime_ns, size, bytes)} of files and dirs."""
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split("/")[0] in skip:
            dirs[:] = []
            continue
        for n in dirs + files:
            p = os.path.join(d, n)
            r = os.path.normpath(os.path.join(rel, n))
            if r.split("/")[0] in skip:
                continue
            st = os.lstat(p)
            data = open(p, "rb").read() if os.path.isfile(p) else None
            out[r] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size if data is not None else 0, data)
    return out


SKIP = ("snapshot", "capath", "cafile.pem")


def test_snapshot_is_a_point_in_time_and_read_only(mnt, pki):
    populate(mnt, pki)
    live = tree(mnt.path, SKIP)
    os.mkdir(mnt.p("snapshot/s1"))
    run("rm", mnt.p("trusted/certs/leaf3.pem"))
    run("cp", pki / "leaf2.der", mnt.p("trusted/certs/"))
    snap = tree(mnt.p("snapshot/s1"))
    assert snap == live
    assert "s1" in os.listdir(mnt.p("snapshot"))
    for attempt in (lambda: open(mnt.p("snapshot/s1/trusted/certs/x.der"), "wb"),
                    lambda: os.unlink(mnt.p("snapshot/s1/trusted/certs/root-ca.der")),
                    lambda: os.rename(mnt.p("snapshot/s1/trusted/certs/root-ca.der"),
                                      mnt.p("snapshot/s1/trusted/certs/y")),
                    lambda: os.rename(mnt.p("snapshot/s1/trusted/certs/root-ca.der"),
                                      mnt.p("trusted/certs/y")),
                    lambda: os.chmod(mnt.p("snapshot/s1/trusted/certs/root-ca.der"), 0o600),
                    lambda: open(mnt.p("snapshot/s1/own/openssl.cnf"), "r+b"),
                    lambda: os.mkdir(mnt.p("snapshot/s1/trusted/certs/a.lock"))):
        with pytest.raises(OSError) as e:
            attempt()
        assert e.value.errno == errno.EROFS
    os.rmdir(mnt.p("snapshot/s1"))
    assert os.listdir(mnt.p("snapshot")) == []


def test_rsync_backup_and_restore_round_trip(mount_factory, pki, workdir):
    a = mount_factory(name="a")
    populate(a, pki)
    os.mkdir(a.p("snapshot/b1"))
    backup = workdir / "backup"
    run("rsync", "-a", a.p("snapshot/b1") + "/", f"{backup}/")
    assert tree(backup) == tree(a.p("snapshot/b1"))
    r = run("rsync", "-ai", a.p("snapshot/b1") + "/", f"{backup}/")
    assert r.stdout.strip() == "", "a second backup run transferred: " + r.stdout
    b = mount_factory(name="b")
    run("rsync", "-a", f"{backup}/", b.path + "/")
    restored = tree(b.path, SKIP)
    want = tree(backup)
    want.pop(".", None)
    restored.pop(".", None)
    assert restored == want
    assert "paired with" in a.log()


def test_rsync_delete_brings_back_the_backup(mnt, pki, workdir):
    populate(mnt, pki)
    os.mkdir(mnt.p("snapshot/b1"))
    backup = workdir / "backup"
    run("rsync", "-a", mnt.p("snapshot/b1") + "/", f"{backup}/")
    run("rm", mnt.p("trusted/certs/root-ca.der"))
    run("cp", pki / "leaf2.der", mnt.p("trusted/certs/"))
    run("rsync", "-a", "--delete", *VIEWS, f"{backup}/", mnt.path + "/")
    assert tree(mnt.path, SKIP) | {".": None} == tree(backup) | {".": None}


def test_one_file_back_with_cp_a(mnt, pki):
    populate(mnt, pki)
    os.mkdir(mnt.p("snapshot/b1"))
    run("rm", mnt.p("trusted/certs/leaf3.pem"))
    run("cp", "-a", mnt.p("snapshot/b1/trusted/certs/leaf3.pem"), mnt.p("trusted/certs/"))
    st = os.stat(mnt.p("trusted/certs/leaf3.pem"))
    assert st.st_mtime_ns == 1600000000_111111111
    assert open(mnt.p("trusted/certs/leaf3.pem"), "rb").read() == (pki / "leaf3.pem").read_bytes()


def test_cli_snapshot_at_time_is_the_undo_for_rm(mnt, pki):
    populate(mnt, pki)
    time.sleep(1.1)
    before_rm = int(time.time())
    time.sleep(1.1)
    run("rm", "-r", *[mnt.p("trusted/certs", n) for n in os.listdir(mnt.p("trusted/certs"))])
    assert os.listdir(mnt.p("trusted/certs")) == []
    run(BIN, "snapshot", "--db", mnt.db, "create", "undo", "--at", f"@{before_rm}")
    assert sorted(os.listdir(mnt.p("snapshot/undo/trusted/certs"))) == ["leaf3.pem", "root-ca.der"]
    out = run(BIN, "snapshot", "--db", mnt.db, "list").stdout
    assert out.startswith("undo\t")
    run(BIN, "restore", "--db", mnt.db, "undo")
    deadline = time.time() + 5
    while time.time() < deadline and len(os.listdir(mnt.p("trusted/certs"))) < 2:
        time.sleep(0.2)
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["leaf3.pem", "root-ca.der"]
    assert open(mnt.p("trusted/certs/leaf3.pem"), "rb").read() == (pki / "leaf3.pem").read_bytes()
    assert " restore " in mnt.log()
    assert "(null)" not in mnt.log()  # operations without a path print "-"
    r = run(BIN, "snapshot", "--db", mnt.db, "create", "bad/name", check=False)
    assert r.returncode != 0 and "snapshot names" in r.stderr


def wait_for(cond, seconds=3.0):
    """Poll cond until true or seconds pass; its last value."""
    deadline = time.time() + seconds
    while not cond() and time.time() < deadline:
        time.sleep(0.05)
    return cond()


def test_restore_while_mounted_reaches_cached_names(mnt, pki):
    """The kernel keeps names and attributes for long: a restore by another
    process must still reach what it cached, and the daemon's generation and
    inode counters must move past the restore's."""
    a, b = mnt.p("trusted/certs/a.pem"), mnt.p("trusted/certs/b.pem")
    run("cp", pki / "leaf3.pem", a)
    run(BIN, "snapshot", "--db", mnt.db, "create", "s1")
    run("cp", pki / "leaf2.pem", a)  # replaced in place: other size and bytes
    run("cp", pki / "leaf1.pem", b)
    assert os.stat(a).st_size == (pki / "leaf2.pem").stat().st_size and os.path.exists(b)
    folder_mtime = os.stat(mnt.p("trusted/certs")).st_mtime_ns
    run(BIN, "restore", "--db", mnt.db, "s1")
    assert wait_for(lambda: not os.path.exists(b))
    assert os.stat(a).st_size == (pki / "leaf3.pem").stat().st_size
    assert open(a, "rb").read() == (pki / "leaf3.pem").read_bytes()
    assert os.stat(mnt.p("trusted/certs")).st_mtime_ns > folder_mtime
    os.mkdir(mnt.p("snapshot/after"))
    assert os.listdir(mnt.p("snapshot/after/trusted/certs")) == ["a.pem"]
    run("cp", pki / "leaf1.pem", b)
    inos = [os.stat(x).st_ino for x in (a, b)]
    assert inos[0] != inos[1]


def test_cli_returns_once_the_mount_shows_its_change(mnt, pki):
    """pkifs restore and snapshot return only once the kernel has dropped
    what they changed. A renamed file keeps its inode and the restore brings
    its old name back with it: a name the kernel kept would otherwise still
    reach that inode, and a chmod through it change the restored file."""
    old, new = mnt.p("trusted/certs/b.der"), mnt.p("trusted/certs/a.der")
    run("cp", pki / "app1.der", old)
    run(BIN, "snapshot", "--db", mnt.db, "create", "s1")
    assert os.path.isdir(mnt.p("snapshot/s1"))  # no wait: it shows at once
    os.rename(old, new)
    assert os.stat(new).st_mode & 0o777 == 0o644  # cached by the kernel
    run(BIN, "restore", "--db", mnt.db, "s1")
    assert os.stat(old).st_mode & 0o777 == 0o644  # the inode's name is b.der again
    with pytest.raises(FileNotFoundError):
        os.chmod(new, 0o600)
    assert os.stat(old).st_mode & 0o777 == 0o644
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["b.der"]
    run(BIN, "snapshot", "--db", mnt.db, "delete", "s1")
    assert not os.path.exists(mnt.p("snapshot/s1"))


def test_folder_mtime_and_refusals_reach_the_kernel_at_once(mnt, pki):
    """A commit at close changes the folder's mtime; a refusal at close
    makes the name vanish: neither may wait for a cache to expire."""
    d = mnt.p("trusted/certs")
    before = os.stat(d).st_mtime_ns
    os.stat(mnt.p("trusted"))
    time.sleep(0.01)
    run("cp", pki / "leaf1.pem", d + "/")
    assert os.stat(d).st_mtime_ns > before
    with open(d + "/bad.pem", "wb") as f:
        f.write(b"not a certificate")
        os.stat(d + "/bad.pem")  # cached while being written
        with pytest.raises(OSError):
            f.close()
    assert not os.path.exists(d + "/bad.pem")
    assert sorted(os.listdir(d)) == ["leaf1.pem"]


def test_backup_file_mounts(mount_factory, pki, workdir):
    a = mount_factory(name="a")
    populate(a, pki)
    os.mkdir(a.p("snapshot/keep"))
    out = workdir / "copy.db"
    run(BIN, "backup", "--db", a.db, out)
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    r = run("sqlite3", out, "PRAGMA integrity_check", check=False)
    if r.returncode == 0:
        assert r.stdout.strip() == "ok"
    c = mount_factory(name="c")
    c.umount()
    c.db = str(out)
    c.mount()
    assert tree(c.path, SKIP) == tree(a.path, SKIP)
    assert os.listdir(c.p("snapshot")) == ["keep"]


def test_snapshot_during_concurrent_writes_is_consistent(mnt, pki, workdir):
    """Each writer moves one certificate back and forth between rejected and
    trusted: a consistent snapshot holds each certificate exactly once."""
    names = ["leaf1.der", "leaf2.der", "leaf3.der", "app1.der", "app2.der", "ec-app.der"]
    for n in names:
        run("cp", pki / n, mnt.p("rejected", n))
    stop = threading.Event()

    def flip(n):
        a, b = mnt.p("rejected", n), mnt.p("trusted/certs", n)
        while not stop.is_set():
            os.rename(a, b)
            os.rename(b, a)

    threads = [threading.Thread(target=flip, args=(n,)) for n in names]
    for t in threads:
        t.start()
    try:
        for i in range(10):
            os.mkdir(mnt.p("snapshot", f"c{i}"))
    finally:
        stop.set()
        for t in threads:
            t.join()
    for i in range(10):
        seen = os.listdir(mnt.p("snapshot", f"c{i}", "rejected")) + \
            os.listdir(mnt.p("snapshot", f"c{i}", "trusted/certs"))
        seen = [s for s in seen if s != "certs"]
        assert sorted(seen) == sorted(names), f"snapshot c{i}: {seen}"


def test_automatic_snapshots_keep_a_count(mount_factory, pki):
    m = mount_factory("autosnapshot=1s,autosnapshot_keep=2")
    run("cp", pki / "leaf1.der", m.p("trusted/certs/"))
    deadline = time.time() + 15
    while time.time() < deadline and len(os.listdir(m.p("snapshot"))) < 2:
        time.sleep(0.3)
    time.sleep(2.5)
    autos = [n for n in os.listdir(m.p("snapshot")) if n.startswith("auto-")]
    assert len(autos) == 2, autos
    for a in autos:
        assert os.listdir(m.p("snapshot", a, "trusted/certs")) == ["leaf1.der"]
