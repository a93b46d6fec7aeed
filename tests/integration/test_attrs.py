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
