"""The command line: help, version, and one-line errors for what users get wrong."""
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, daemon_pids, is_mounted, run


def pkifs(*args):
    return run(BIN, *args, check=False)


@pytest.mark.parametrize("cmd", [[], ["mount"], ["umount"], ["log"], ["snapshot"], ["restore"], ["backup"]])
def test_help(cmd):
    r = pkifs(*cmd, "--help")
    assert r.returncode == 0 and "usage: pkifs" in r.stdout


def test_version():
    r = pkifs("--version")
    assert r.returncode == 0 and r.stdout.startswith("pkifs ")


def test_unknown_command():
    r = pkifs("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def one_line_error(r, words):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert words in lines[0], lines[0]


def test_mountpoint_missing(workdir):
    one_line_error(pkifs("mount", "--db", workdir / "x.db", workdir / "nope"), "no such directory")
    assert not (workdir / "x.db").exists()


def test_mountpoint_not_a_directory(workdir):
    (workdir / "file").write_text("x")
    one_line_error(pkifs("mount", "--db", workdir / "x.db", workdir / "file"), "not a directory")


def test_db_not_sqlite(workdir):
    (workdir / "mnt").mkdir()
    (workdir / "junk.db").write_bytes(os.urandom(4096))
    one_line_error(pkifs("mount", "--db", workdir / "junk.db", workdir / "mnt"), "not a pkifs database")
    assert not is_mounted(workdir / "mnt")


def test_db_of_another_application(workdir):
    (workdir / "mnt").mkdir()
    db = sqlite3.connect(workdir / "other.db")
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    one_line_error(pkifs("mount", "--db", workdir / "other.db", workdir / "mnt"), "not a pkifs database")


def test_db_unreadable(workdir):
    (workdir / "mnt").mkdir()
    (workdir / "dir.db").mkdir()
    one_line_error(pkifs("mount", "--db", workdir / "dir.db", workdir / "mnt"), "database")


def test_newer_schema_and_already_mounted(mount_factory, workdir):
    m = mount_factory()
    # already mounted: same mountpoint
    one_line_error(pkifs("mount", "--db", workdir / "other.db", m.path), "already mounted")
    # the same database on a second mountpoint
    (workdir / "second").mkdir()
    one_line_error(pkifs("mount", "--db", m.db, workdir / "second"), "in use by another pkifs")
    assert oct(os.stat(m.db).st_mode & 0o777) == "0o600"
    m.umount()
    assert daemon_pids(m.db) == []
    db = sqlite3.connect(m.db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    one_line_error(pkifs("mount", "--db", m.db, m.path), "newer than this pkifs")
    m.no_check = "made newer than this pkifs on purpose"


def test_default_db_next_to_mountpoint(workdir):
    mp = workdir / "pki"
    mp.mkdir()
    r = pkifs("mount", mp)
    try:
        assert r.returncode == 0, r.stderr
        assert (workdir / "pki.db").exists()
        assert os.path.isdir(mp / "trusted" / "certs")
    finally:
        pkifs("umount", mp)
    assert not is_mounted(mp)


def test_commands_find_a_mount_whose_path_has_spaces(workdir, pki):
    """The mount table writes a space as \\040: status, list and umount must
    still find the mount (they answered "not a pkifs mount")."""
    mp = workdir / "plant one" / "pki root"
    mp.mkdir(parents=True)
    db = workdir / "plant one" / "store.db"
    r = pkifs("mount", "--db", db, mp)
    assert r.returncode == 0, r.stderr
    try:
        shutil.copy(pki / "root-ca.der", mp / "trusted" / "certs")
        st = pkifs("status", mp)
        assert st.returncode == 0, st.stderr
        assert f"mounted     {mp}" in st.stdout and str(db) in st.stdout
        ls = pkifs("list", mp / "trusted" / "certs")
        assert ls.returncode == 0 and "root-ca.der" in ls.stdout, ls.stdout + ls.stderr
        by_db = pkifs("status", "--db", db)
        assert f"mounted     {mp}" in by_db.stdout, by_db.stdout
    finally:
        um = pkifs("umount", mp)
    assert um.returncode == 0, um.stderr
    assert not os.path.ismount(mp)


def test_umount_of_something_else(workdir):
    one_line_error(pkifs("umount", workdir), "not a pkifs mount")


def test_log_shows_caller_and_reason(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("issuers/certs/"), check=False)
    r = pkifs("log", "--db", mnt.db, "-n", "1")
    assert r.returncode == 0
    line = r.stdout.strip()
    assert "put" in line and "issuers/certs/leaf1.der" in line and "cmd=cp" in line
    assert "refused (EPERM)" in line and "sha1=" in line and "uid=0" in line
