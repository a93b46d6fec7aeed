"""Operating a store from the command line: pkifs list, show and expiring
on a mounted store (by its mountpoint and by --db), checked against what
openssl says of the same files."""
import json
import os
import sqlite3
import subprocess

from conftest import BIN, run


def pkifs(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=60)


def openssl_field(path, *opts):
    fmt = "PEM" if str(path).endswith(".pem") else "DER"
    return run("openssl", "x509", "-inform", fmt, "-noout", *opts, "-in", path).stdout.strip()


def fill(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    run("cp", pki / "intermediate-ca.pem", mnt.p("issuers/certs/"))
    run("cp", pki / "app1.der", mnt.p("own/certs/"))
    run("cp", pki / "app1.key.pem", mnt.p("own/private/"))
    run("cp", pki / "root-ca.crl", mnt.p("trusted/crl/"))
    run("cp", pki / "ec-app.der", mnt.p("rejected/"))


def test_list_table_and_json(mnt, pki):
    fill(mnt, pki)
    r = pkifs("list", mnt.path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["PATH", "KIND"]
    paths = [line.split()[0] for line in lines[1:]]
    assert paths == ["own/certs/app1.der", "own/private/app1.key.pem", "trusted/certs/root-ca.der",
                     "trusted/crl/root-ca.crl", "issuers/certs/intermediate-ca.pem", "rejected/ec-app.der"]
    rows = {o["path"]: o for o in json.loads(pkifs("list", "--db", mnt.db, "--json").stdout)}
    app1 = rows["own/certs/app1.der"]
    assert app1["application_uri"] == "urn:pkifs:test:app1"
    assert app1["kind"] == "self-signed" and app1["key_type"] == "RSA" and app1["key_bits"] == 2048
    sha1 = openssl_field(pki / "app1.der", "-fingerprint", "-sha1").split("=")[1].replace(":", "").lower()
    assert app1["sha1"] == sha1
    assert rows["trusted/certs/root-ca.der"]["kind"] == "CA"
    assert rows["trusted/crl/root-ca.crl"]["kind"] == "CRL"
    assert rows["rejected/ec-app.der"]["key_type"] == "EC P-256"
    assert rows["own/private/app1.key.pem"]["kind"] == "key"
    # folders, both spellings, and a path inside the mount
    only = json.loads(pkifs("list", mnt.path, "issuer", "trusted/crl", "--json").stdout)
    assert [o["path"] for o in only] == ["trusted/crl/root-ca.crl", "issuers/certs/intermediate-ca.pem"]
    only = json.loads(pkifs("list", mnt.p("rejected/certs"), "--json").stdout)
    assert [o["path"] for o in only] == ["rejected/ec-app.der"]
    assert pkifs("list", mnt.path, "nosuch").returncode == 2


def test_show_by_path_thumbprint_and_history(mnt, pki):
    fill(mnt, pki)
    os.mkdir(mnt.p("snapshot/before"))
    run("mv", mnt.p("rejected/ec-app.der"), mnt.p("trusted/certs/ec-app.der"))
    r = pkifs("show", mnt.p("trusted/certs/ec-app.der"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "URI:urn:pkifs:test:ec-app" in out
    assert "serverAuth" in out and "EC P-256" in out
    end = openssl_field(pki / "ec-app.der", "-enddate").split("=")[1]
    assert end.split()[-2] in out  # the year
    assert "snapshot/before/rejected/ec-app.der" in out
    assert "chain:          ec-app\n" in out  # self-signed: its own chain
    assert "would pass:     yes" in out
    assert "trust    rejected/ec-app.der -> trusted/certs/ec-app.der" in out
    sha256 = openssl_field(pki / "ec-app.der", "-fingerprint", "-sha256").split("=")[1].replace(":", "")
    by_thumb = pkifs("show", "--db", mnt.db, sha256.lower(), "--json")
    assert by_thumb.returncode == 0
    assert json.loads(by_thumb.stdout)["path"] == "trusted/certs/ec-app.der"
    assert pkifs("show", "--db", mnt.db, "trusted/certs/nosuch.der").returncode == 1
    assert "RSA 2048 bits" in pkifs("show", "--db", mnt.db, "own/private/app1.key.pem").stdout


def test_expiring_exit_status(mnt, pki):
    fill(mnt, pki)
    r = pkifs("expiring", mnt.path)
    assert r.returncode == 0 and r.stdout == "", r.stdout
    run("cp", pki / "expired.der", mnt.p("trusted/certs/"))
    r = pkifs("expiring", mnt.path)
    assert r.returncode == 1
    assert [line.split()[0] for line in r.stdout.splitlines()[1:]] == ["trusted/certs/expired.der"]
    # a window that reaches the test PKI's ten-year certificates and CRLs
    got = json.loads(pkifs("expiring", "--db", mnt.db, "--within", "4000d", "--json").stdout)
    assert {o["path"] for o in got} == {"own/certs/app1.der", "trusted/certs/root-ca.der",
                                         "trusted/crl/root-ca.crl", "issuers/certs/intermediate-ca.pem",
                                         "trusted/certs/expired.der"}
    assert pkifs("expiring", mnt.path, "--within", "soon").returncode == 2


def test_unreadable_stores_are_one_line_and_exit_2(workdir, mnt):
    (workdir / "junk.db").write_bytes(b"junk" * 1000)
    newer = workdir / "newer.db"
    con = sqlite3.connect(mnt.db)
    con.execute("VACUUM INTO ?", (str(newer),))
    con.close()
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    for cmd in ("list", "expiring"):
        for db in (workdir / "missing.db", workdir / "junk.db", newer):
            r = pkifs(cmd, "--db", db)
            assert r.returncode == 2, (cmd, db, r.stdout)
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = pkifs("list")
    assert r.returncode == 2 and "no store" in r.stderr


def test_doctor_findings(mount_factory, pki):
    m = mount_factory("max_rejected=2")
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    run("cp", pki / "root-ca.crl", m.p("trusted/crl/"))
    run("cp", pki / "app1.der", m.p("own/certs/"))
    run("cp", pki / "app1.key.pem", m.p("own/private/"))
    r = pkifs("doctor", m.path)
    assert r.returncode == 0 and "nothing to act on" in r.stdout, r.stdout
    run("cp", pki / "intermediate-ca.pem", m.p("issuers/certs/"))
    run("cp", pki / "app2.key.pem", m.p("own/private/"))
    run("cp", pki / "expired.der", m.p("trusted/certs/"))
    run("cp", pki / "leaf1.der", m.p("trusted/certs/a.der"))
    run("cp", pki / "leaf1.der", m.p("trusted/certs/b.der"))
    run("cp", pki / "leaf2.der", pki / "leaf3.der", m.p("rejected/"))
    os.chmod(m.db, 0o644)
    r = pkifs("doctor", "--db", m.db, "--json")
    assert r.returncode == 1
    found = {(f["kind"], f["path"]) for f in json.loads(r.stdout)}
    assert found == {("ca-without-crl", "issuers/certs/intermediate-ca.pem"),
                     ("unpaired", "own/private/app2.key.pem"),
                     ("expired", "trusted/certs/expired.der"),
                     ("duplicate", "trusted/certs/b.der"),
                     ("rejected-full", "rejected"),
                     ("store-mode", m.db)}
    os.chmod(m.db, 0o600)


def test_names_from_older_stores_print_escaped(mnt, pki):
    """Names with terminal escapes or bidi overrides cannot be made any more;
    a store written before may hold them, and the commands escape them."""
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/l.der"))
    bad = "evil\x1b[31m\u202egnp.der"
    con = sqlite3.connect(mnt.db)
    con.execute("INSERT INTO entry(ino, folder, name, blob, size, mode, uid, gid, mtime, ctime, born)"
                " SELECT (SELECT max(ino) + 1 FROM entry), folder, ?, blob, size, mode, uid, gid,"
                " mtime, ctime, born FROM entry WHERE name = 'l.der'", (bad,))
    con.commit()
    con.close()
    for args in (("list", "--db", mnt.db), ("show", "--db", mnt.db, "trusted/certs/l.der")):
        out = pkifs(*args).stdout
        assert "\x1b" not in out and "\u202e" not in out
        assert "evil\\x1b[31m\\u202egnp.der" in out, out
