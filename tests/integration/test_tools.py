"""Real tools against the mount: what TOOLS.md says they do must work."""
import errno
import os
import stat
import subprocess
import time

import pytest

from conftest import GENCERTS, run, write_file

CERTS = ["root-ca.der", "intermediate-ca.pem", "leaf1.der", "leaf2.pem", "leaf3.der",
         "app1.der", "app2.pem", "ec-app.der"]


def mtime_ns(path):
    return os.stat(path).st_mtime_ns


def test_tree_exists_and_mkdir_p_succeeds(mnt):
    for d in ["own/certs", "own/private", "trusted/certs", "trusted/crl", "issuers/certs",
              "issuers/crl", "issuer/certs", "issuer/crl", "rejected", "rejected/certs"]:
        assert os.path.isdir(mnt.p(d)), d
        run("mkdir", "-p", mnt.p(d))
    assert stat.S_IMODE(os.stat(mnt.p("own/private")).st_mode) == 0o700


def test_cp_keeps_bytes_der_and_pem(mnt, pki):
    for c in CERTS:
        folder = "trusted/certs"
        run("cp", pki / c, mnt.p(folder, c))
        assert open(mnt.p(folder, c), "rb").read() == (pki / c).read_bytes()
        assert os.stat(mnt.p(folder, c)).st_size == (pki / c).stat().st_size


def test_cp_a_preserves_mode_and_mtime(mnt, pki, workdir):
    src = workdir / "leaf1.der"
    src.write_bytes((pki / "leaf1.der").read_bytes())
    os.chmod(src, 0o640)
    os.utime(src, ns=(1600000000_123456789, 1600000000_123456789))
    run("cp", "-a", src, mnt.p("trusted/certs/"))
    st = os.stat(mnt.p("trusted/certs/leaf1.der"))
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_mtime_ns == 1600000000_123456789


def test_install_cat_openssl_out_touch(mnt, pki):
    run("install", "-m", "600", pki / "leaf1.der", mnt.p("trusted/certs/a.der"))
    assert stat.S_IMODE(os.stat(mnt.p("trusted/certs/a.der")).st_mode) == 0o600
    subprocess.run(f"cat {pki}/leaf2.pem > {mnt.p('trusted/certs/b.pem')}", shell=True, check=True)
    assert open(mnt.p("trusted/certs/b.pem"), "rb").read() == (pki / "leaf2.pem").read_bytes()
    run("openssl", "x509", "-in", pki / "leaf3.pem", "-outform", "DER", "-out", mnt.p("trusted/certs/c.der"))
    assert open(mnt.p("trusted/certs/c.der"), "rb").read() == (pki / "leaf3.der").read_bytes()
    run("touch", "-m", "-d", "@1500000000.5", mnt.p("trusted/certs/c.der"))
    assert mtime_ns(mnt.p("trusted/certs/c.der")) == 1500000000_500000000
    run("touch", mnt.p("own/certs/certificate.pem.mutex"))
    assert os.stat(mnt.p("own/certs/certificate.pem.mutex")).st_size == 0


def test_tar_extract_also_over_existing(mnt, pki, workdir):
    src = workdir / "src" / "trusted" / "certs"
    src.mkdir(parents=True)
    for c in CERTS[:4]:
        (src / c).write_bytes((pki / c).read_bytes())
        os.utime(src / c, ns=(1650000000_000000000, 1650000000_000000000))
    run("tar", "-C", workdir / "src", "-cf", workdir / "t.tar", "trusted")
    run("tar", "-C", mnt.path, "-xf", workdir / "t.tar")
    run("tar", "-C", mnt.path, "-xf", workdir / "t.tar")  # over existing files
    for c in CERTS[:4]:
        assert open(mnt.p("trusted/certs", c), "rb").read() == (pki / c).read_bytes()
        assert mtime_ns(mnt.p("trusted/certs", c)) == 1650000000_000000000


def test_mv_trust_and_distrust(mnt, pki):
    run("cp", pki / "leaf1.pem", mnt.p("rejected/client.pem"))
    before = mtime_ns(mnt.p("trusted/certs"))
    time.sleep(0.01)
    run("mv", mnt.p("rejected/client.pem"), mnt.p("trusted/certs/"))
    assert os.listdir(mnt.p("rejected")) == []
    assert os.listdir(mnt.p("trusted/certs")) == ["client.pem"]
    assert mtime_ns(mnt.p("trusted/certs")) > before
    run("mv", mnt.p("trusted/certs/client.pem"), mnt.p("rejected/"))
    assert os.listdir(mnt.p("trusted/certs")) == []
    log = mnt.log()
    assert " trust " in log and "rejected/client.pem -> trusted/certs/client.pem" in log
    assert " distrust " in log


def test_mv_from_other_filesystem(mnt, pki):
    src = "/dev/shm/pkifs-mv-%d.der" % os.getpid()
    with open(src, "wb") as f:
        f.write((pki / "leaf1.der").read_bytes())
    run("mv", src, mnt.p("trusted/certs/"))
    assert not os.path.exists(src)
    assert open(mnt.p("trusted/certs", os.path.basename(src)), "rb").read() == (pki / "leaf1.der").read_bytes()


def test_mv_noreplace_and_replace(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    run("cp", pki / "leaf2.der", mnt.p("trusted/certs/b"))
    r = run("mv", "-n", mnt.p("trusted/certs/a"), mnt.p("trusted/certs/b"), check=False)
    assert open(mnt.p("trusted/certs/b"), "rb").read() == (pki / "leaf2.der").read_bytes()
    ino = os.stat(mnt.p("trusted/certs/a")).st_ino
    run("mv", mnt.p("trusted/certs/a"), mnt.p("trusted/certs/b"))
    assert os.listdir(mnt.p("trusted/certs")) == ["b"]
    assert open(mnt.p("trusted/certs/b"), "rb").read() == (pki / "leaf1.der").read_bytes()
    assert os.stat(mnt.p("trusted/certs/b")).st_ino == ino


def test_rename_to_issuers_needs_ca(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("rejected/"))
    with pytest.raises(OSError) as e:
        os.rename(mnt.p("rejected/leaf1.der"), mnt.p("issuers/certs/leaf1.der"))
    assert e.value.errno == errno.EPERM
    assert os.listdir(mnt.p("rejected")) == ["leaf1.der"]


def test_rm_and_folder_mtime(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    before = mtime_ns(mnt.p("trusted/certs"))
    time.sleep(0.01)
    run("rm", mnt.p("trusted/certs/leaf1.der"))
    assert os.listdir(mnt.p("trusted/certs")) == []
    assert mtime_ns(mnt.p("trusted/certs")) > before
    assert " remove " in mnt.log()


def test_rsync_a_then_nothing_to_do(mnt, pki, workdir):
    src = workdir / "src"
    (src / "trusted" / "certs").mkdir(parents=True)
    (src / "own" / "private").mkdir(parents=True)
    for c in CERTS:
        (src / "trusted" / "certs" / c).write_bytes((pki / c).read_bytes())
    (src / "own" / "openssl.cnf").write_text("[req]\n")
    key = src / "own" / "private" / "private_key.pem"
    key.write_bytes((pki / "app1.key.pkcs8.pem").read_bytes())
    os.chmod(key, 0o600)
    run("rsync", "-a", f"{src}/", f"{mnt.path}/")
    for c in CERTS:
        a, b = src / "trusted" / "certs" / c, mnt.p("trusted/certs", c)
        assert open(b, "rb").read() == a.read_bytes()
        assert os.stat(b).st_mtime_ns == a.stat().st_mtime_ns
    r = run("rsync", "-ai", f"{src}/trusted/", f"{mnt.path}/trusted/")
    changed = [line for line in r.stdout.splitlines() if line.startswith(">f")]
    assert changed == [], r.stdout


def test_rsync_inplace_and_delete(mnt, pki, workdir):
    src = workdir / "src"
    src.mkdir()
    (src / "a.der").write_bytes((pki / "leaf1.der").read_bytes())
    run("rsync", "-a", f"{src}/", mnt.p("trusted/certs/"))
    (src / "a.der").write_bytes((pki / "leaf2.der").read_bytes())
    os.utime(src / "a.der", ns=(1, 1700000000_000000000))  # same size: differ in mtime
    run("rsync", "-a", "--inplace", f"{src}/", mnt.p("trusted/certs/"))
    assert open(mnt.p("trusted/certs/a.der"), "rb").read() == (pki / "leaf2.der").read_bytes()
    run("cp", pki / "leaf3.der", mnt.p("trusted/certs/extra.der"))
    run("rsync", "-a", "--delete", f"{src}/", mnt.p("trusted/certs/"))
    assert os.listdir(mnt.p("trusted/certs")) == ["a.der"]


def test_rsync_refusal_leaves_nothing(mnt, pki, workdir):
    src = workdir / "src"
    src.mkdir()
    (src / "bad.der").write_bytes(b"garbage" * 10)
    r = run("rsync", "-a", f"{src}/", mnt.p("trusted/certs/"), check=False)
    assert r.returncode != 0
    assert os.listdir(mnt.p("trusted/certs")) == []


def test_key_pairs_in_either_order(mnt, pki):
    run("cp", pki / "app1.key.pkcs8.pem", mnt.p("own/private/private_key.pem"))
    run("cp", pki / "app1.pem", mnt.p("own/certs/certificate.pem"))
    log = mnt.log()
    assert "no own certificate with this public key yet" in log
    assert "paired with own/private/private_key.pem" in log
    for k in ["app1.key.pkcs1.pem", "app1.key.der", "app1.pfx", "app1.key.pkcs8enc.pem", "ec-app.key.sec1.pem"]:
        run("cp", pki / k, mnt.p("own/private", k))
        assert stat.S_IMODE(os.stat(mnt.p("own/private", k)).st_mode) == 0o600


def test_private_key_stays_0600(mnt, pki):
    run("install", "-m", "644", pki / "app1.key.pkcs8.pem", mnt.p("own/private/k.pem"), check=False)
    with pytest.raises(OSError) as e:
        os.chmod(mnt.p("own/private/k.pem"), 0o644)
    assert e.value.errno == errno.EPERM
    assert stat.S_IMODE(os.stat(mnt.p("own/private/k.pem")).st_mode) == 0o600


def test_rejected_dedupes_and_caps(mount_factory, pki):
    m = mount_factory("max_rejected=3")
    run("cp", pki / "leaf1.der", m.p("rejected/one.der"))
    run("cp", pki / "leaf1.pem", m.p("rejected/one-again.pem"))
    assert sorted(os.listdir(m.p("rejected"))) == ["one-again.pem"]
    for c in ["leaf2.der", "leaf3.der", "app1.der"]:
        run("cp", pki / c, m.p("rejected", c))
    assert sorted(os.listdir(m.p("rejected/certs"))) == ["app1.der", "leaf2.der", "leaf3.der"]
    assert " evict " in m.log()


def test_lock_directories(mnt):
    os.mkdir(mnt.p("mutex.lock"))
    with pytest.raises(FileExistsError):
        os.mkdir(mnt.p("mutex.lock"))
    os.utime(mnt.p("mutex.lock"))
    os.mkdir(mnt.p("own/certs/certificate.pem.mutex.lock"))
    assert "certificate.pem.mutex.lock" in os.listdir(mnt.p("own/certs"))
    os.rmdir(mnt.p("own/certs/certificate.pem.mutex.lock"))
    os.rmdir(mnt.p("mutex.lock"))
    assert "mutex.lock" not in os.listdir(mnt.path)
    fd = os.open(mnt.p("mutex"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.close(fd)
    assert os.path.exists(mnt.p("mutex"))


def test_acl_xattr_answers_eopnotsupp(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    with pytest.raises(OSError) as e:
        os.setxattr(mnt.p("trusted/certs/a"), "user.test", b"x")
    assert e.value.errno in (errno.EOPNOTSUPP, errno.ENOTSUP)


def test_attrs_and_inodes_survive_remount(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    run("cp", pki / "app1.key.pkcs8.pem", mnt.p("own/private/k"))
    os.utime(mnt.p("trusted/certs/a"), ns=(1, 1234567890_987654321))
    os.chmod(mnt.p("trusted/certs/a"), 0o604)
    os.chown(mnt.p("trusted/certs/a"), 1234, 4321)
    before = {p: os.stat(mnt.p(p)) for p in ["trusted/certs/a", "own/private/k", "trusted/certs"]}
    mnt.remount()
    for p, b in before.items():
        a = os.stat(mnt.p(p))
        assert (a.st_ino, a.st_mode, a.st_mtime_ns, a.st_size, a.st_uid, a.st_gid) == \
               (b.st_ino, b.st_mode, b.st_mtime_ns, b.st_size, b.st_uid, b.st_gid), p


def test_nonroot_cannot_read_private(mnt, pki, workdir):
    os.chmod(workdir, 0o755)
    run("cp", pki / "app1.key.pkcs8.pem", mnt.p("own/private/k.pem"))
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    r = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat",
            mnt.p("own/private/k.pem"), check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    r = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat",
            mnt.p("trusted/certs/leaf1.der"), check=False)
    assert r.returncode == 0


def test_parallel_writers_and_readers(mnt, pki, workdir):
    certs = workdir / "many"
    certs.mkdir()
    # 4 writers x 25 distinct certificates (fast EC self-signed)
    script = (
        "for i in $(seq 1 25); do "
        " openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null "
        " -subj /CN=w$W-$i -days 1 -outform DER -out $D/w$W-$i.der 2>/dev/null; done")
    gens = [subprocess.Popen(["bash", "-c", script], env={**os.environ, "W": str(w), "D": str(certs)})
            for w in range(4)]
    for g in gens:
        assert g.wait() == 0
    procs = [subprocess.Popen(["bash", "-c", f"cp {certs}/w{w}-*.der {mnt.p('trusted/certs')}/"])
             for w in range(4)]
    # readers list and read while the writers write: any failure of cat or
    # ls (a listed name that cannot be opened or read, an I/O error) fails
    # the reader; nullglob and </dev/null so an empty folder reads nothing
    read_loop = (f"shopt -s nullglob; for i in $(seq 1 20); do "
                 f" cat {mnt.path}/trusted/certs/* </dev/null >/dev/null || exit 1; "
                 f" ls -l {mnt.path}/trusted/certs >/dev/null || exit 2; done")
    readers = [subprocess.Popen(["bash", "-c", read_loop], stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for p in procs:
        assert p.wait() == 0
    for r in readers:
        _, err = r.communicate(timeout=120)
        assert r.returncode == 0 and err == "", f"reader exit {r.returncode}: {err}"
    names = sorted(os.listdir(mnt.p("trusted/certs")))
    assert len(names) == 100
    for n in names:
        assert open(mnt.p("trusted/certs", n), "rb").read() == (certs / n).read_bytes()


def test_trust_changes_need_a_grant(mnt, pki, workdir):
    """With allow_other, a non-root user can change trust only where the
    folder's owner or group lets them (chgrp/chmod persist like any mode)."""
    os.chmod(workdir, 0o755)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    r = run(*nobody, "cp", pki / "leaf1.der", mnt.p("trusted/certs/"), check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    os.chown(mnt.p("trusted/certs"), 0, 65534)
    os.chmod(mnt.p("trusted/certs"), 0o775)
    r = run("setpriv", "--reuid=65534", "--regid=65534", "--groups=65534", "cp",
            pki / "leaf1.der", mnt.p("trusted/certs/"), check=False)
    assert r.returncode == 0, r.stderr
    assert os.stat(mnt.p("trusted/certs/leaf1.der")).st_uid == 65534
    assert "uid=65534" in mnt.log()
    mnt.remount()
    st = os.stat(mnt.p("trusted/certs"))
    assert (st.st_gid, st.st_mode & 0o777) == (65534, 0o775)


def test_trust_group_option(mount_factory, pki, workdir):
    os.chmod(workdir, 0o755)
    m = mount_factory("trust_group=65534")
    st = os.stat(m.p("trusted/certs"))
    assert (st.st_gid, st.st_mode & 0o070) == (65534, 0o070)
    member = ["setpriv", "--reuid=65533", "--regid=65533", "--groups=65534"]
    other = ["setpriv", "--reuid=65533", "--regid=65533", "--clear-groups"]
    r = run(*other, "cp", pki / "leaf1.der", m.p("rejected/"), check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    run(*member, "cp", pki / "leaf1.der", m.p("rejected/"))
    run(*member, "mv", m.p("rejected/leaf1.der"), m.p("trusted/certs/"))
    assert " trust " in m.log() and "uid=65533" in m.log()
    # the private keys stay out of the group's reach
    assert stat.S_IMODE(os.stat(m.p("own/private")).st_mode) == 0o700


def test_large_folder_lists_every_name_once(mnt, workdir):
    """A folder bigger than many kernel buffers: each page goes on after the
    last name given; every name comes once, with its attributes, also when
    the listing is read again on the same handle and after changes."""
    src = workdir / "many"
    src.mkdir()
    run(GENCERTS, src, 1501)
    names = sorted(n for n in os.listdir(src) if n.startswith("cert-"))
    spare = names.pop()
    run("cp", "-t", mnt.p("trusted/certs"), *[str(src / n) for n in names])
    d = mnt.p("trusted/certs")
    assert os.listdir(d) == names
    sizes = {e.name: e.stat().st_size for e in os.scandir(d)}
    assert sizes == {n: (src / n).stat().st_size for n in names}
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = os.listdir(fd)
        os.lseek(fd, 0, os.SEEK_SET)  # rewinddir: the listing starts over
        assert os.listdir(fd) == first == names
    finally:
        os.close(fd)
    os.unlink(os.path.join(d, names[700]))
    run("cp", str(src / spare), os.path.join(d, "zz-last.der"))
    assert os.listdir(d) == names[:700] + names[701:] + ["zz-last.der"]
    os.mkdir(mnt.p("snapshot/big"))  # a snapshot's folders are paged the same way
    s = mnt.p("snapshot/big/trusted/certs")
    assert os.listdir(s) == os.listdir(d)
    assert {e.name: e.stat().st_size for e in os.scandir(s)} == \
        {e.name: e.stat().st_size for e in os.scandir(d)}


def test_rewrite_of_a_name_removed_behind_the_kernels_back(mount_factory, pki):
    """The kernel keeps names for long; a name that goes away without it
    (evicted from rejected/, removed under the other spelling of its
    folder, undone by a restore) may still look present to it, so the next
    open(O_CREAT|O_TRUNC) arrives as a plain open. It must create the file,
    as node-opcua's writeFile of a client rejected again expects."""
    m = mount_factory("max_rejected=1")
    a = m.p("rejected/a.pem")
    with open(a, "wb") as f:  # O_WRONLY|O_CREAT|O_TRUNC, as node-opcua writes
        f.write((pki / "leaf1.pem").read_bytes())
    os.stat(a)
    run("cp", pki / "leaf2.pem", m.p("rejected/b.pem"))  # evicts a.pem
    assert not os.path.exists(a)
    with open(a, "wb") as f:
        f.write((pki / "leaf1.pem").read_bytes())
    assert open(a, "rb").read() == (pki / "leaf1.pem").read_bytes()
    assert sorted(os.listdir(m.p("rejected"))) == ["a.pem"]
    t = m.p("issuer/certs/ca.pem")
    with open(t, "wb") as f:
        f.write((pki / "intermediate-ca.pem").read_bytes())
    os.stat(t)
    os.unlink(m.p("issuers/certs/ca.pem"))  # the other spelling
    time.sleep(0.2)  # an unlink's invalidations are sent after it returns
    with open(t, "wb") as f:
        f.write((pki / "intermediate-ca.pem").read_bytes())
    assert os.listdir(m.p("issuers/certs")) == ["ca.pem"]
    with pytest.raises(FileNotFoundError):
        open(m.p("issuers/certs/gone.pem"), "rb")


def renameat2_noreplace(src, dst):
    """renameat2(RENAME_NOREPLACE), as mv tries first; 0 or the errno."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.renameat2(-100, os.fsencode(src), -100, os.fsencode(dst), 1)
    return 0 if rc == 0 else ctypes.get_errno()


def test_mv_into_a_drop_folder_is_no_noreplace_conflict(mnt, pki):
    """mv tries renameat2(RENAME_NOREPLACE) first. A file moved into trusted/
    is filed in trusted/certs/; the name asked for (trusted/x.der) never
    exists, so the move is no EEXIST even when certs/ has that name (mv then
    found the name absent and failed: "cannot overwrite directory")."""
    run("cp", pki / "app1.der", mnt.p("trusted/x.der"))  # filed: trusted/certs/x.der
    run("cp", pki / "root-ca.der", mnt.p("rejected/r.der"))
    assert not os.path.exists(mnt.p("trusted/x.der"))
    assert renameat2_noreplace(mnt.p("rejected/r.der"), mnt.p("trusted/x.der")) == 0
    assert open(mnt.p("trusted/certs/x.der"), "rb").read() == (pki / "root-ca.der").read_bytes()
    assert not os.path.exists(mnt.p("rejected/r.der"))
    run("cp", pki / "app2.der", mnt.p("rejected/s.der"))
    run("mv", mnt.p("rejected/s.der"), mnt.p("trusted/x.der"))
    assert open(mnt.p("trusted/certs/x.der"), "rb").read() == (pki / "app2.der").read_bytes()
    # where the name asked for is itself taken, NOREPLACE holds
    run("cp", pki / "app1.der", mnt.p("rejected/t.der"))
    assert renameat2_noreplace(mnt.p("rejected/t.der"), mnt.p("trusted/certs/x.der")) == errno.EEXIST
