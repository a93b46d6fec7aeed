"""I/O faults: a full disk under the database and a database locked by another
process each give a clean errno on the operation that hit it; reads go on
and writes recover when the cause goes away."""
import errno
import os
import sqlite3
import subprocess

import pytest

from conftest import BIN, Mount, run, write_file


def test_full_disk_is_enospc_and_recovers(workdir, pki):
    small = workdir / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(small)], check=True)
    m = Mount(workdir, None, "m")
    m.db = str(small / "s.db")
    try:
        m.mount()
        run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
        filler = small / "filler"
        with open(filler, "wb") as f:
            try:
                f.write(os.urandom(600 * 1024))
            except OSError:
                pass
        err = write_file(m.p("own/big.bin"), os.urandom(200 * 1024))
        assert err is not None and err.errno == errno.ENOSPC, err
        assert not os.path.exists(m.p("own/big.bin"))
        # reads go on
        assert open(m.p("trusted/certs/root-ca.der"), "rb").read() == (pki / "root-ca.der").read_bytes()
        os.unlink(filler)
        run("cp", pki / "leaf1.der", m.p("trusted/certs/"))
        assert "refused (ENOSPC)" in m.log()
        m.umount()
        db = sqlite3.connect(m.db)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    finally:
        m.cleanup()
        subprocess.run(["umount", "-l", str(small)])


def test_locked_database_is_ebusy_and_recovers(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    other = sqlite3.connect(mnt.db, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        err = write_file(mnt.p("trusted/certs/leaf1.der"), (pki / "leaf1.der").read_bytes())
        assert err is not None and err.errno == errno.EBUSY, err
        assert not os.path.exists(mnt.p("trusted/certs/leaf1.der"))
        assert os.listdir(mnt.p("trusted/certs")) == ["root-ca.der"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["leaf1.der", "root-ca.der"]
    # the refusal could not be logged while locked: it is written now
    assert "refused (EBUSY)" in mnt.log()


def test_read_only_database_serves_reads_and_refuses_writes(workdir, pki):
    d, ro = workdir / "d", workdir / "ro"
    d.mkdir()
    ro.mkdir()
    m = Mount(workdir, None, "m")
    m.db = str(d / "s.db")
    m.mount()
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    m.umount()
    subprocess.run(["mount", "--bind", str(d), str(ro)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        m.db = str(ro / "s.db")
        m.mount()
        assert open(m.p("trusted/certs/root-ca.der"), "rb").read() == (pki / "root-ca.der").read_bytes()
        err = write_file(m.p("trusted/certs/leaf1.der"), (pki / "leaf1.der").read_bytes())
        assert err is not None and err.errno == errno.EROFS, err
        assert os.listdir(m.p("trusted/certs")) == ["root-ca.der"]
        with pytest.raises(OSError) as e:
            os.unlink(m.p("trusted/certs/root-ca.der"))
        assert e.value.errno == errno.EROFS
        m.umount()
    finally:
        m.cleanup()
        subprocess.run(["umount", "-l", str(ro)])
    db = sqlite3.connect(d / "s.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
