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
    run("touch", "-d", STAMP, mnt.p("trusted/certs/X"), env={**os.environ, "TZ": "UTC"})
    assert os.stat(mnt.p("trusted/certs/X")).st_mtime_ns == STAMP_NS
    mnt.remount()
    assert os.stat(mnt.p("trusted/certs/X")).st_mtime_ns == STAMP_NS


def test_attr_changes_on_a_write_descriptor_persist(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a"))
    fd = os.open(mnt.p("trusted/certs/a"), os.O_WRONLY)
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
