"""Floods, hostile names and areas that cannot be written."""
import errno
import os
import sqlite3

import pytest

from conftest import GENCERTS, daemon_pids, run, write_file


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_rejected_flood_stays_bounded(mnt, workdir):
    """100,000 distinct certificates into rejected/ (10,000 under the
    sanitizers, which are ten times slower): the folder stays at its cap,
    no history or blob is kept for what was evicted, the database grows
    only by the audit trail (two rows per write: the put and the eviction),
    and the daemon's memory stays bounded."""
    n = 10000 if os.environ.get("PKIFS_SANITIZED") else 100000
    certs = workdir / "flood"
    certs.mkdir()
    run(GENCERTS, certs, n)
    files = sorted(str(certs / x) for x in os.listdir(certs) if x.startswith("cert-"))
    run("cp", "-t", mnt.p("rejected"), *files[:1000])
    size_1k = os.path.getsize(mnt.db) + os.path.getsize(mnt.db + "-wal")
    for i in range(1000, n, 5000):
        run("cp", "-t", mnt.p("rejected"), *files[i:i + 5000])
    names = [x for x in os.listdir(mnt.p("rejected")) if x != "certs"]
    assert len(names) == 128
    assert sorted(names) == sorted(os.path.basename(f) for f in files[-128:])
    db = sqlite3.connect(mnt.db)
    rows = db.execute("SELECT count(*) FROM entry WHERE folder = 10").fetchone()[0]
    blobs = db.execute("SELECT count(*) FROM blob").fetchone()[0]
    audit = db.execute("SELECT count(*) FROM audit").fetchone()[0]
    db.close()
    assert rows == 128 and blobs == 128, (rows, blobs)
    size_n = os.path.getsize(mnt.db) + os.path.getsize(mnt.db + "-wal")
    print(f"store after 1000: {size_1k} bytes, after {n}: {size_n} bytes, {audit} audit rows")
    # the audit log grows by two rows per write; nothing else may grow
    assert audit <= 2 * n + 16
    assert size_n < size_1k + n * 400
    pid = daemon_pids(mnt.db)[0]
    print(f"daemon peak RSS after {n} writes: {rss_kib(pid)} KiB")
    if not os.environ.get("PKIFS_SANITIZED"):  # ASan's shadow memory is not ours
        assert rss_kib(pid) < 48 * 1024, f"daemon peak RSS {rss_kib(pid)} KiB"


def test_names(mnt, pki):
    data = (pki / "leaf1.der").read_bytes()
    err = write_file(mnt.p("trusted/certs", "x" * 256), data)
    assert err is not None and err.errno == errno.ENAMETOOLONG
    err = write_file(mnt.p("trusted/certs", "x" * 255), data)
    assert err is None
    for bad in ("tab\there", "nl\nhere", "esc\x1bhere"):
        err = write_file(mnt.p("trusted/certs", bad), (pki / "leaf2.der").read_bytes())
        assert err is not None and err.errno == errno.EINVAL, bad
    assert os.listdir(mnt.p("trusted/certs")) == ["x" * 255]
    assert "control characters" in mnt.log()


def test_renames_across_areas(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a.der"))
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/r.der"))
    os.mkdir(mnt.p("snapshot/s"))
    cases = [
        (mnt.p("trusted/certs/a.der"), mnt.p("snapshot/s/trusted/certs/a.der"), errno.EROFS),
        (mnt.p("snapshot/s/trusted/certs/a.der"), mnt.p("rejected/a.der"), errno.EROFS),
        (mnt.p("capath", os.listdir(mnt.p("capath"))[0]), mnt.p("rejected/x"), errno.EROFS),
        (mnt.p("trusted/certs"), mnt.p("rejected/certs2"), errno.EBUSY),
    ]
    for src, dst, want in cases:
        with pytest.raises(OSError) as e:
            os.rename(src, dst)
        assert e.value.errno == want, (src, dst, e.value)
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["a.der", "r.der"]
    # a committed certificate renamed over a view name is refused, not dropped
    with pytest.raises(OSError) as e:
        os.rename(mnt.p("trusted/certs/a.der"), mnt.p("cafile.pem"))
    assert e.value.errno == errno.EROFS
    assert os.path.exists(mnt.p("trusted/certs/a.der"))


def test_db_and_wal_stay_private(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    for f in (mnt.db, mnt.db + "-wal", mnt.db + "-shm"):
        if os.path.exists(f):
            assert os.stat(f).st_mode & 0o077 == 0, f
