"""Names, refusals and the log, through the real tools: names that would
read as something else, writes into capath/, files dropped into trusted/
and issuers/, snapshot and folder refusals in the log, a stale mount after
kill -9, and what mv prints for a refused move."""
import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, daemon_pids, is_mounted, run

# (kind, raw bytes of the bad part, how pkifs log prints it)
BAD = [
    ("c1-control", "\u0085".encode(), b"\\u0085"),
    ("bidi-override", "\u202e".encode(), b"\\u202e"),
    ("bidi-isolate", "\u2066".encode(), b"\\u2066"),
    ("invalid-utf8", b"\xff", b"\\xff"),
    ("c0-control", b"\x1b", b"\\x1b"),
]


def tool(*cmd):
    """Run a tool with bytes arguments; the CompletedProcess, bytes out."""
    return subprocess.run([os.fsencode(str(c)) if not isinstance(c, bytes) else c for c in cmd],
                          capture_output=True, timeout=60)


def log_bytes(m):
    r = tool(BIN, "log", "--db", m.db)
    assert r.returncode == 0, r.stderr
    return r.stdout


def refusals(m, words):
    return [line for line in m.log().splitlines() if "refused" in line and words in line]


@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
def test_bad_names_refused_everywhere_and_logged_escaped(mnt, pki, bad):
    _, raw, shown = bad
    name = b"evil" + raw + b"name.der"
    base = os.fsencode(mnt.path)
    r = tool("cp", pki / "leaf1.der", base + b"/trusted/certs/" + name)
    assert r.returncode != 0 and b"Invalid argument" in r.stderr
    r = tool("mkdir", base + b"/snapshot/snap" + raw)
    assert r.returncode != 0 and b"Invalid argument" in r.stderr
    run("cp", pki / "leaf2.der", mnt.p("rejected/ok.der"))
    r = tool("mv", base + b"/rejected/ok.der", base + b"/rejected/" + name)
    assert r.returncode != 0 and b"Operation not permitted" in r.stderr
    assert os.listdir(base + b"/trusted/certs") == []
    assert sorted(os.listdir(base + b"/rejected")) == [b"ok.der"]
    assert os.listdir(base + b"/snapshot") == []
    log = log_bytes(mnt)
    assert raw not in log
    lines = [line for line in log.splitlines() if b"refused" in line and shown in line]
    assert any(b"put" in x or b"create" in x for x in lines), log
    assert any(b"snapshot/snap" + shown in x for x in lines), log
    assert any(b"rename" in x and b"rejected/evil" + shown in x for x in lines), log


def test_log_escapes_what_an_older_store_holds(mount_factory, pki):
    m = mount_factory()
    run("cp", pki / "leaf1.der", m.p("trusted/certs/a.der"))
    m.umount()
    evil = "char(27)||'[31m'||char(8238)||'x'||CAST(X'FF0A' AS TEXT)||'back\\slash'"
    run("sqlite3", m.db, "INSERT INTO audit(time, gen, op, path, comm, outcome, reason) VALUES"
        f"(1, 1, 'put', 'trusted/certs/' || {evil}, 'c' || char(133), 'ok', 'why' || char(10) || 'not')")
    out = log_bytes(m)
    for raw in (b"\x1b", "\u202e".encode(), b"\xff", "\u0085".encode()):
        assert raw not in out
    line = [x for x in out.splitlines() if b"trusted/certs/\\x1b" in x]
    assert line, out
    assert b"trusted/certs/\\x1b[31m\\u202ex\\xff\\x0aback\\\\slash" in line[0]
    assert b"cmd=c\\u0085" in line[0] and b"ok: why\\x0anot" in line[0]
    assert len(out.splitlines()) == 2  # the newlines inside the row are escaped
    run("sqlite3", m.db, f"INSERT INTO snapshot(name, gen, time) VALUES('s' || {evil}, 1, 1)")
    m.no_check = "a snapshot row made by hand, without its folders' attributes"
    r = tool(BIN, "snapshot", "--db", m.db, "list")
    assert r.returncode == 0 and b"s\\x1b[31m\\u202ex\\xff\\x0aback\\\\slash\t" in r.stdout


def test_writes_into_capath_are_refused_and_logged(mnt, pki, workdir):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    names = sorted(os.listdir(mnt.p("capath")))
    h = run("openssl", "x509", "-subject_hash", "-noout", "-in", pki / "intermediate-ca.pem").stdout.strip()
    r = run("cp", pki / "intermediate-ca.pem", mnt.p("capath", f"{h}.0"), check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = run("sh", "-c", f"cat {pki}/intermediate-ca.pem > {mnt.p('capath', 'new.0')}", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = run("touch", mnt.p("capath", "other.0"), check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = run("cp", pki / "intermediate-ca.pem", mnt.p("capath", names[0]), check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert sorted(os.listdir(mnt.p("capath"))) == names
    assert os.listdir(mnt.p("trusted/certs")) == ["root-ca.der"]
    for n in (f"capath/{h}.0", "capath/new.0", "capath/other.0", f"capath/{names[0]}"):
        got = refusals(mnt, n)
        assert got and "(EROFS)" in got[-1] and "trusted/certs" in got[-1], n
    # an rsync of a backup holding capath/ (a changed and an extra file)
    backup = workdir / "b"
    run("rsync", "-a", "--exclude=/snapshot", mnt.path + "/", f"{backup}/")
    (backup / "capath" / names[0]).write_bytes(b"changed")
    (backup / "capath" / "deadbeef.0").write_bytes(b"extra")
    run("rsync", "-a", "--delete", "--exclude=/snapshot", f"{backup}/", mnt.path + "/")
    assert sorted(os.listdir(mnt.p("capath"))) == names


def test_cp_into_trusted_and_issuers_files_it(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trusted/"))
    run("cp", pki / "intermediate-ca.der", mnt.p("issuers/"))
    run("cp", pki / "intermediate-ca.crl", mnt.p("issuer/"))
    run("cp", pki / "root-ca.crl", mnt.p("trusted/"))
    assert os.listdir(mnt.p("trusted/certs")) == ["root-ca.der"]
    assert os.listdir(mnt.p("trusted/crl")) == ["root-ca.crl"]
    assert os.listdir(mnt.p("issuers/certs")) == ["intermediate-ca.der"]
    assert os.listdir(mnt.p("issuers/crl")) == ["intermediate-ca.crl"]
    for d in ("trusted", "issuers", "issuer"):
        assert sorted(run("ls", mnt.p(d)).stdout.split()) == ["certs", "crl"]
    for p in ("trusted/root-ca.der", "issuers/intermediate-ca.der", "issuer/intermediate-ca.crl"):
        assert not os.path.exists(mnt.p(p)), p
    log = mnt.log()
    assert "put      trusted/certs/root-ca.der" in log
    line = [x for x in log.splitlines() if "put      issuers/crl/intermediate-ca.crl" in x][0]
    assert "ok: dropped into issuers/" in line


def test_mv_into_trusted_and_issuers_files_it(mnt, pki):
    run("cp", pki / "leaf1.der", pki / "intermediate-ca.der", mnt.p("rejected/"))
    run("mv", mnt.p("rejected/certs/leaf1.der"), mnt.p("trusted/"))
    run("mv", mnt.p("rejected/intermediate-ca.der"), mnt.p("issuers/"))
    assert os.listdir(mnt.p("trusted/certs")) == ["leaf1.der"]
    assert os.listdir(mnt.p("issuers/certs")) == ["intermediate-ca.der"]
    assert sorted(run("ls", mnt.p("trusted")).stdout.split()) == ["certs", "crl"]
    assert sorted(run("ls", mnt.p("issuers")).stdout.split()) == ["certs", "crl"]
    assert not os.path.exists(mnt.p("trusted/leaf1.der"))
    line = [x for x in mnt.log().splitlines() if "trust    rejected/leaf1.der" in x][0]
    assert "-> trusted/certs/leaf1.der" in line and "ok: dropped into trusted/" in line


def test_drop_refusals_keep_their_rules(mnt, pki):
    r = run("cp", pki / "app1.key.pkcs8.pem", mnt.p("trusted/"), check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert "holds only folders" in refusals(mnt, "trusted/app1.key.pkcs8.pem")[-1]
    r = run("cp", pki / "leaf1.der", mnt.p("issuers/"), check=False)  # not a CA
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    assert "only CA certificates" in refusals(mnt, "issuers/certs/leaf1.der")[-1]
    run("cp", pki / "app1.key.der", mnt.p("own/private/k.der"))
    r = run("mv", mnt.p("own/private/k.der"), mnt.p("trusted/"), check=False)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    assert "this file is a private key" in refusals(mnt, "trusted/k.der")[-1]
    assert os.listdir(mnt.p("own/private")) == ["k.der"]
    for d in ("trusted", "issuers"):
        assert sorted(os.listdir(mnt.p(d))) == ["certs", "crl"]
        assert os.listdir(mnt.p(d, "certs")) == []


def test_snapshot_and_folder_refusals_are_logged(mnt):
    for name, err in (("a\tb", "Invalid argument"), (".x", "Invalid argument"),
                      ("x" * 201, "File name too long")):
        r = run("mkdir", mnt.p("snapshot", name), check=False)
        assert r.returncode != 0 and err in r.stderr
    log = [x for x in mnt.log().splitlines() if "refused" in x]
    assert any("snapshot/a\\x09b" in x and "(EINVAL)" in x for x in log), log
    assert any("snapshot/.x" in x and "cannot start with '.'" in x for x in log), log
    assert any("snapshot/" + "x" * 201 in x and "(ENAMETOOLONG)" in x for x in log), log
    r = run(BIN, "snapshot", "--db", mnt.db, "create", ".y", check=False)
    assert r.returncode != 0 and refusals(mnt, "snapshot/.y")
    r = run("mv", mnt.p("trusted/certs"), mnt.p("trusted/x"), check=False)
    assert r.returncode != 0 and "Device or resource busy" in r.stderr
    assert "(EBUSY)" in refusals(mnt, "rename   trusted/certs")[-1]
    assert os.listdir(mnt.p("snapshot")) == []


def test_mount_after_kill_9_clears_the_stale_mount(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    for pid in daemon_pids(mnt.db):
        os.kill(pid, signal.SIGKILL)
    while daemon_pids(mnt.db):
        time.sleep(0.05)
    assert is_mounted(mnt.path)
    r = run(BIN, "mount", "--db", mnt.db, mnt.path, check=False, env=mnt.env())
    assert r.returncode == 0, r.stderr
    assert "stale pkifs mount" in r.stderr
    assert os.listdir(mnt.p("trusted/certs")) == ["leaf1.der"]


def test_refused_mv_says_what_is_true_and_is_logged_once(mnt, pki):
    run("cp", pki / "app1.key.der", mnt.p("own/private/k.der"))
    r = run("mv", mnt.p("own/private/k.der"), mnt.p("trusted/certs/k.der"), check=False)
    assert r.returncode != 0
    assert "subdirectory" not in r.stderr and "Operation not permitted" in r.stderr
    got = refusals(mnt, "own/private/k.der -> trusted/certs/k.der")
    assert len(got) == 1 and "(EPERM)" in got[0] and "this file is a private key" in got[0]
    assert os.listdir(mnt.p("own/private")) == ["k.der"]


def test_changes_inside_a_snapshot_are_logged(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    run("mkdir", mnt.p("snapshot/s"))
    for cmd in (["rm", mnt.p("snapshot/s/trusted/certs/leaf1.der")], ["mkdir", mnt.p("snapshot/s/x")],
                ["rmdir", mnt.p("snapshot/s/own")]):
        r = run(*cmd, check=False)
        assert r.returncode != 0 and "Read-only file system" in r.stderr
    for path in ("snapshot/s/trusted/certs/leaf1.der", "snapshot/s/x", "snapshot/s/own"):
        got = refusals(mnt, path)
        assert got and "(EROFS)" in got[-1], path
    assert os.listdir(mnt.p("snapshot/s/trusted/certs")) == ["leaf1.der"]
