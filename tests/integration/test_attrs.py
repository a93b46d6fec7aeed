"""Modes, owners and times: set through any descriptor or path, they persist;
changes to nothing are no changes; folder changes are audited; the key
folder is never opened to group or others."""
import os
import stat
import subprocess
import sys

import pytest

from conftest import run

STAMP = "2024-02-03 04:05:06.123456789"
STAMP_NS = 1706933106_123456789  # STAMP in UTC


def attrs(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size)


def test_touch_d_on_a_committed_file_persists(mnt, pki):
    """coreutils touch opens O_WRONLY|O_CREAT, then futimens: no data."""
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/X"))
    for name in ("X", "new"):  # a committed file, and a new empty one
        run("touch", "-d", STAMP, mnt.p("trusted/certs", name), env={**os.environ, "TZ": "UTC"})
        assert os.stat(mnt.p("trusted/certs", name)).st_mtime_ns == STAMP_NS
    mnt.remount()
    for name in ("X", "new"):
        assert os.stat(mnt.p("trusted/certs", name)).st_mtime_ns == STAMP_NS
    assert open(mnt.p("trusted/certs/X"), "rb").read() == (pki / "leaf1.der").read_bytes()


@pytest.mark.parametrize("flags", [os.O_WRONLY, os.O_RDWR, os.O_RDONLY])
def test_attr_changes_on_a_descriptor_persist(mnt, pki, flags):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    fd = os.open(mnt.p("trusted/certs/a"), flags)
    try:
        os.fchmod(fd, 0o640)
        os.fchown(fd, 1234, 4321)
        os.utime(fd, ns=(1, 1500000000_000000042))
    finally:
        os.close(fd)
    want = (0o640, 1234, 4321, 1500000000_000000042, (pki / "leaf1.der").stat().st_size)
    assert attrs(mnt.p("trusted/certs/a")) == want
    os.utime(mnt.p("trusted/certs"), ns=(1, 1400000000_000000000))  # another change
    assert attrs(mnt.p("trusted/certs/a")) == want
    mnt.remount()
    assert attrs(mnt.p("trusted/certs/a")) == want
    assert open(mnt.p("trusted/certs/a"), "rb").read() == (pki / "leaf1.der").read_bytes()


@pytest.mark.parametrize("trunc", ["at-open", "after-attrs"])
def test_attr_change_then_data_keeps_both(mnt, pki, trunc):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    flags = os.O_WRONLY | (os.O_TRUNC if trunc == "at-open" else 0)
    fd = os.open(mnt.p("trusted/certs/a"), flags)
    try:
        os.fchmod(fd, 0o604)
        os.fchown(fd, 1234, 4321)
        os.utime(fd, ns=(1, 1500000000_000000042))
        os.ftruncate(fd, 0)
        os.write(fd, (pki / "leaf2.der").read_bytes())
    finally:
        os.close(fd)
    mnt.remount()
    assert attrs(mnt.p("trusted/certs/a"))[:3] == (0o604, 1234, 4321)
    assert open(mnt.p("trusted/certs/a"), "rb").read() == (pki / "leaf2.der").read_bytes()


RACER = r"""
import os, sys
path, what, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(sys.argv[4], "rb").read()
for i in range(n):
    try:
        if what == "write":
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.close(fd)
        elif what == "truncate":
            os.truncate(path, 0)
        else:
            os.unlink(path)
    except OSError:
        pass
"""


def test_truncate_and_unlink_race_a_writers_close(mnt, pki, workdir):
    """truncate(2) by path and unlink of a file while its writer closes it:
    the daemon keeps its own reference to the file being written for as
    long as it uses it (a sanitized daemon reports a use after free)."""
    script = workdir / "racer.py"
    script.write_text(RACER)
    path = mnt.p("own/racy")
    src = pki / "leaf1.der"
    procs = [subprocess.Popen([sys.executable, script, path, what, "3000", src])
             for what in ("write", "write", "truncate", "unlink")]
    for p in procs:
        assert p.wait(timeout=300) == 0
    os.statvfs(mnt.path)  # the daemon still answers
    with open(mnt.p("own/after"), "wb") as f:
        f.write(b"ok")
    assert open(mnt.p("own/after"), "rb").read() == b"ok"


def log_lines(m):
    return m.log().splitlines()


def last_gen(m):
    return int(log_lines(m)[-1].split()[1].split("=")[1])


def test_changes_to_what_is_are_no_changes(mnt, pki):
    """node-opcua re-chmods its key 0600 at every start: no generation, no
    audit row; likewise chown to the same owner, times to the same times."""
    run("cp", pki / "app1.key.pkcs8.pem", mnt.p("own/private/k.pem"))
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    os.utime(mnt.p("trusted/certs/a"), ns=(1, 1500000000_000000042))
    os.chown(mnt.p("trusted/certs/a"), 1234, 4321)  # audited: the last row
    before, gen = log_lines(mnt), last_gen(mnt)
    for _ in range(3):
        run("chmod", "0600", mnt.p("own/private/k.pem"))
        run("chmod", "0644", mnt.p("trusted/certs/a"))
        run("chown", "1234:4321", mnt.p("trusted/certs/a"))
        run("chgrp", "4321", mnt.p("trusted/certs/a"))
        run("chmod", "0755", mnt.p("trusted/certs"))
        run("chown", "0:0", mnt.p("trusted/certs"))
        os.utime(mnt.p("trusted/certs/a"), ns=(1, 1500000000_000000042))
    assert log_lines(mnt) == before
    run("chmod", "0640", mnt.p("trusted/certs/a"))  # a real change: the next generation
    assert last_gen(mnt) == gen + 1
    assert log_lines(mnt)[-1].split()[2:4] == ["chmod", "trusted/certs/a"]
    assert "mode 0644 -> 0640" in log_lines(mnt)[-1]


FOLDERS = ["", "own", "own/certs", "own/private", "trusted", "trusted/certs", "trusted/crl",
           "issuers", "issuers/certs", "issuers/crl", "rejected"]


@pytest.mark.parametrize("folder", FOLDERS)
def test_folder_changes_are_audited(mnt, folder):
    path = mnt.p(folder) if folder else mnt.path
    name = folder or "."
    n = len(log_lines(mnt))
    run("chgrp", "1000", path)
    run("chown", "1001", path)
    run("chmod", "0750", path)
    new = log_lines(mnt)[n:]
    assert [(line.split()[2], line.split()[3]) for line in new] == \
           [("chown", name), ("chown", name), ("chmod", name)], new
    assert new[0].endswith("ok: owner 0:0 -> 0:1000"), new[0]
    assert new[1].endswith("ok: owner 0:1000 -> 1001:1000"), new[1]
    assert " cmd=chown " in new[1]
    if folder == "own/private":
        assert new[2].endswith("ok: mode 0700 -> 0700 (asked 0750: group and other bits "
                               "dropped, own/private stays owner-only)"), new[2]
    else:
        assert new[2].endswith("ok: mode 0755 -> 0750"), new[2]
    mnt.remount()
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (1001, 1000)


def key_tree(workdir, pki):
    """A backup tree made under umask 022: folders 0755, owned by root."""
    src = workdir / "backup"
    run("sh", "-c", f"umask 022 && mkdir -p {src}/own/private {src}/own/certs {src}/trusted/certs"
        f" {src}/issuers/certs {src}/rejected")
    run("install", "-m", "600", pki / "app1.key.pkcs8.pem", src / "own/private/private_key.pem")
    run("install", "-m", "644", pki / "app1.der", src / "own/certs/app1.der")
    run("install", "-m", "644", pki / "leaf1.der", src / "trusted/certs/leaf1.der")
    assert stat.S_IMODE((src / "own/private").stat().st_mode) == 0o755
    return src


def test_chmod_cannot_open_the_key_folder(mnt, pki, workdir):
    os.chmod(workdir, 0o755)
    run("cp", pki / "app1.key.pkcs8.pem", mnt.p("own/private/k.pem"))
    for mode in ("755", "777"):
        run("chmod", mode, mnt.p("own/private"))
        assert stat.S_IMODE(os.stat(mnt.p("own/private")).st_mode) == 0o700
        assert f"own/private uid=0" in log_lines(mnt)[-1]
        assert f"(asked 0{mode}: group and other bits dropped" in log_lines(mnt)[-1]
    nobody = ["runuser", "-u", "nobody", "--"]
    r = run(*nobody, "mv", mnt.p("own/private/k.pem"), mnt.p("own/private/x.pem"), check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    r = run(*nobody, "ls", mnt.p("own/private"), check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    run(*nobody, "ls", mnt.p("own"))  # what is denied is the key folder only
    mnt.remount()
    assert stat.S_IMODE(os.stat(mnt.p("own/private")).st_mode) == 0o700
    assert os.listdir(mnt.p("own/private")) == ["k.pem"]


def restore(tool, src, dst, workdir):
    """Copy the tree src onto dst as a restore with tool does."""
    if tool == "rsync":
        run("rsync", "-a", f"{src}/", f"{dst}/")
    elif tool == "tar":
        run("tar", "-C", src, "-cf", workdir / "backup.tar", ".")
        run("tar", "-C", dst, "-xf", workdir / "backup.tar")
    else:  # cpio's pass-through mode, as root: modes, owners and times kept
        run("sh", "-c", f"cd {src} && find . | cpio -pdmu --quiet {dst}")


@pytest.mark.parametrize("tool", ["rsync", "tar", "cpio"])
def test_restore_of_a_umask_022_tree_keeps_the_key_folder_closed(mnt, pki, workdir, tool):
    restore(tool, key_tree(workdir, pki), mnt.path, workdir)
    assert stat.S_IMODE(os.stat(mnt.p("own/private")).st_mode) == 0o700
    assert open(mnt.p("own/private/private_key.pem"), "rb").read() == \
        (pki / "app1.key.pkcs8.pem").read_bytes()
    assert any(" chmod    own/private " in line and "(asked 0755: group and other bits dropped"
               in line for line in log_lines(mnt))
    mnt.remount()
    assert stat.S_IMODE(os.stat(mnt.p("own/private")).st_mode) == 0o700


@pytest.fixture
def trust_group():
    """A group for -o trust_group, made with groupadd when there is none."""
    name = "pkifs-trust"
    made = run("getent", "group", name, check=False).returncode != 0
    if made:
        run("groupadd", "--system", name)
    yield name, int(run("getent", "group", name).stdout.split(":")[2])
    if made:
        run("groupdel", name, check=False)


@pytest.mark.parametrize("tool", ["rsync", "tar", "cpio"])
def test_restore_that_resets_the_trust_group_is_logged(mount_factory, pki, workdir, trust_group,
                                                        tool):
    name, gid = trust_group
    m = mount_factory(f"trust_group={name}")
    assert os.stat(m.p("trusted/certs")).st_gid == gid
    assert any(line.split()[2:4] == ["setattr", "trusted/certs"] and
               line.endswith(f"ok: mode 0755 -> 0775, owner 0:0 -> 0:{gid}")
               for line in log_lines(m))
    n = len(log_lines(m))
    restore(tool, key_tree(workdir, pki), m.path, workdir)
    new = log_lines(m)[n:]
    for folder in ("trusted/certs", "issuers/certs", "rejected"):
        assert any(line.split()[2:4] == ["chown", folder] and f" cmd={tool} " in line and
                   line.endswith(f"ok: owner 0:{gid} -> 0:0") for line in new), (folder, new)
        assert any(line.split()[2:4] == ["chmod", folder] and
                   line.endswith("ok: mode 0775 -> 0755") for line in new), (folder, new)
        st = os.stat(m.p(folder))
        assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0o755)


def test_folder_change_shows_under_its_other_spelling_at_once(mnt, pki, workdir):
    """issuer/ is issuers/, rejected/certs is rejected/: a grant taken back
    under one spelling is taken back under the other (the kernel checks the
    modes it caches)."""
    os.chmod(workdir, 0o755)
    nobody = ["runuser", "-u", "nobody", "--"]
    for folder, alias in (("rejected", "rejected/certs"), ("issuers/certs", "issuer/certs")):
        os.chmod(mnt.p(folder), 0o777)
        assert stat.S_IMODE(os.stat(mnt.p(alias)).st_mode) == 0o777
        os.chmod(mnt.p(folder), 0o755)
        os.chown(mnt.p(folder), 0, 1000)
        st = os.stat(mnt.p(alias))
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o755, 1000), alias
        r = run(*nobody, "cp", pki / "root-ca.der", mnt.p(alias, "x.der"), check=False)
        assert r.returncode != 0 and "Permission denied" in r.stderr, alias
    assert os.listdir(mnt.p("issuers/certs")) == []
