"""The kernel's nodes are the store's: an open file whose name is removed
keeps answering as on ext4, and a name that goes away without the kernel
seeing it (a refusal at close, a drop filed into certs/, an eviction, a
removal under the other spelling) is forgotten at once, by node id."""
import errno
import os
import stat

import pytest

from conftest import run


@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY, os.O_RDWR])
def test_open_file_whose_name_is_removed_answers_as_on_ext4(mnt, pki, flags):
    data = (pki / "leaf1.der").read_bytes()
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a.der"))
    before = os.stat(mnt.p("trusted/certs/a.der"))
    fd = os.open(mnt.p("trusted/certs/a.der"), flags)
    try:
        os.unlink(mnt.p("trusted/certs/a.der"))
        assert not os.path.exists(mnt.p("trusted/certs/a.der"))
        st = os.fstat(fd)  # was ESTALE on the path API
        assert st.st_ino == before.st_ino
        assert st.st_size == len(data)
        assert stat.S_IMODE(st.st_mode) == 0o644
        assert st.st_nlink == 0
        if flags != os.O_WRONLY:
            assert os.pread(fd, len(data) + 10, 0) == data
        os.fchmod(fd, 0o600)
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
        os.utime(fd, ns=(1, 1500000000_000000042))
        assert os.fstat(fd).st_mtime_ns == 1500000000_000000042
    finally:
        os.close(fd)
    assert os.listdir(mnt.p("trusted/certs")) == []


def test_name_refused_at_close_can_be_created_at_once(mnt, pki):
    path = mnt.p("trusted/certs/bad.der")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"not a certificate")
    with pytest.raises(OSError) as e:
        os.close(fd)
    assert e.value.errno == errno.EBADMSG
    assert not os.path.exists(path)
    # a plain open(O_CREAT) of the same path (was ENOENT for up to 60 s)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, (pki / "leaf1.der").read_bytes())
    os.close(fd)
    assert open(path, "rb").read() == (pki / "leaf1.der").read_bytes()
    # an open for writing without O_CREAT of a name that is gone fails
    os.unlink(path)
    with pytest.raises(FileNotFoundError):
        os.open(path, os.O_WRONLY)


def test_drop_into_trusted_leaves_no_name_behind(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("rejected/x.der"))
    os.rename(mnt.p("rejected/x.der"), mnt.p("trusted/x.der"))
    assert sorted(os.listdir(mnt.p("trusted"))) == ["certs", "crl"]
    assert os.listdir(mnt.p("trusted/certs")) == ["x.der"]
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("trusted/x.der"))
    with pytest.raises(FileNotFoundError):
        os.open(mnt.p("trusted/x.der"), os.O_WRONLY)


def test_removal_under_the_other_spelling_is_seen_under_both(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("issuers/certs/ca.der"))
    assert os.stat(mnt.p("issuer/certs/ca.der")).st_size > 0  # cached
    os.unlink(mnt.p("issuers/certs/ca.der"))
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("issuer/certs/ca.der"))
    fd = os.open(mnt.p("issuer/certs/ca.der"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, (pki / "root-ca.der").read_bytes())
    os.close(fd)
    assert os.stat(mnt.p("issuers/certs/ca.der")).st_size == (pki / "root-ca.der").stat().st_size


def test_inode_numbers_are_node_ids_and_stable(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a.der"))
    ino = os.stat(mnt.p("trusted/certs/a.der")).st_ino
    os.mkdir(mnt.p("snapshot/s1"))
    snap = os.stat(mnt.p("snapshot/s1/trusted/certs/a.der")).st_ino
    assert snap != ino
    os.rename(mnt.p("trusted/certs/a.der"), mnt.p("rejected/a.der"))
    assert os.stat(mnt.p("rejected/a.der")).st_ino == ino
    assert os.stat(mnt.p("rejected/certs/a.der")).st_ino == ino
    mnt.remount()
    assert os.stat(mnt.p("rejected/a.der")).st_ino == ino
    assert os.stat(mnt.p("snapshot/s1/trusted/certs/a.der")).st_ino == snap
