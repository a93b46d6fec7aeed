"""Store integrity through the mount: what a user does must never cost an
acknowledged certificate its bytes, and `pkifs check` must say so when a
store (an old one, or one damaged by hand) breaks an invariant."""
import json
import os
import sqlite3
import subprocess

from conftest import BIN, REPO, run, write_file


def pkifs(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=60)


def test_rejected_refresh_keeps_the_bytes(mnt, pki):
    app1, app2 = (pki / "app1.der").read_bytes(), (pki / "app2.der").read_bytes()
    run("cp", pki / "app2.der", mnt.p("rejected/x1.der"))
    run("cp", pki / "app2.der", mnt.p("rejected/x2.der"))
    with open(mnt.p("rejected/x2.der"), "rb") as f:
        assert f.read() == app2
    assert "refreshed; was x1.der" in mnt.log()
    # the next bytes stored must not take the refreshed certificate's place
    with open(mnt.p("own/openssl.cnf"), "w") as f:
        f.write("[req]\n")
    run("cp", pki / "app1.der", mnt.p("rejected/y.der"))
    assert sorted(os.listdir(mnt.p("rejected"))) == ["x2.der", "y.der"]
    with open(mnt.p("rejected/x2.der"), "rb") as f:
        assert f.read() == app2
    with open(mnt.p("rejected/y.der"), "rb") as f:
        assert f.read() == app1
    assert "was x2.der" not in mnt.log()
    db = sqlite3.connect(mnt.db)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()


def test_check_while_mounted_and_as_json(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    run("cp", pki / "leaf1.der", mnt.p("rejected/"))
    os.mkdir(mnt.p("snapshot/one"))
    r = pkifs("check", "--db", mnt.db)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "clean" in r.stdout
    r = pkifs("check", "--db", mnt.db, "--json")
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["clean"] is True and out["violations"] == []
    assert out["counts"]["live"] == 2 and out["counts"]["snapshots"] == 1


def test_check_cannot_check(workdir):
    (workdir / "junk.db").write_bytes(b"not a database at all" * 100)
    for db in (workdir / "junk.db", workdir / "missing.db"):
        r = pkifs("check", "--db", db)
        assert r.returncode == 2, r.stdout
        assert len(r.stderr.strip().splitlines()) == 1
    assert pkifs("check").returncode == 2


def test_old_damaged_store_is_named_then_repaired(mount_factory, workdir, pki):
    """A store written by schema 1 with an entry whose blob is gone (the
    rejected/ refresh bug): check names it, the mount upgrades the store,
    --repair removes exactly that entry, audited."""
    db = workdir / "mnt.db"
    dump = (REPO / "tests/data/store-v1-damaged.sql").read_text()
    con = sqlite3.connect(db)
    con.executescript(dump)
    con.close()
    r = pkifs("check", "--db", db)
    assert r.returncode == 1
    assert "rejected/x2.der: its bytes are gone" in r.stdout
    m = mount_factory()
    assert m.db == str(db)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 2
    r = pkifs("check", "--db", db, "--repair")
    assert r.returncode == 2 and "unmount it" in r.stderr
    m.umount()
    r = pkifs("check", "--db", db, "--repair")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "removed 1 entry" in r.stderr
    assert "repair   rejected/x2.der" in m.log()
    m.mount()
    assert sorted(os.listdir(m.p("rejected"))) == []
    # the dump's own root CA (not the test PKI's: that is made anew per build)
    r = run("openssl", "x509", "-inform", "DER", "-noout", "-subject", "-in", m.p("trusted/certs/root.der"))
    assert "Test Root CA" in r.stdout
    assert sorted(os.listdir(m.p("snapshot/before/rejected"))) == []


def test_sed_i_edits_a_certificate(mnt, pki):
    pem = (pki / "leaf1.pem").read_bytes()
    assert write_file(mnt.p("trusted/certs/leaf1.pem"), pem.replace(b"\n", b"\r\n")) is None
    r = run("sed", "-i", "s/\\r$//", mnt.p("trusted/certs/leaf1.pem"), check=False)
    assert r.returncode == 0, r.stderr
    assert os.listdir(mnt.p("trusted/certs")) == ["leaf1.pem"]
    with open(mnt.p("trusted/certs/leaf1.pem"), "rb") as f:
        assert f.read() == pem


def test_backup_then_write_save(mnt, pki):
    """emacs-style: rename f to f~, write f, remove f~."""
    f = mnt.p("trusted/certs/ca.pem")
    run("cp", pki / "root-ca.pem", f)
    os.rename(f, f + "~")
    assert write_file(f, (pki / "root-ca.pem").read_bytes() + b"\n") is None
    os.unlink(f + "~")
    assert os.listdir(mnt.p("trusted/certs")) == ["ca.pem"]
    with open(f, "rb") as fh:
        assert fh.read() == (pki / "root-ca.pem").read_bytes() + b"\n"


def test_truncate_is_logged_as_what_it_is(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/l.der"))
    run("truncate", "-s", "0", mnt.p("trusted/certs/l.der"))
    assert os.path.getsize(mnt.p("trusted/certs/l.der")) == 0
    line = mnt.log().splitlines()[-1]
    assert "truncate trusted/certs/l.der" in line
    assert "emptied: no longer holds a certificate" in line
