"""Long work shows progress on a terminal, and only there: backup, check and
restore run under script(1) (a pseudo-terminal), then with pipes, then
with --quiet."""
import os
import shlex
import subprocess

from conftest import BIN, run


def on_tty(*args):
    """Run pkifs ARGS on a pseudo-terminal; everything it wrote there."""
    cmd = " ".join(shlex.quote(str(a)) for a in (BIN, *args))
    return run("script", "-qec", cmd, "/dev/null").stdout


def test_progress_on_a_terminal_only(mnt, pki, workdir):
    for c in ("root-ca.der", "leaf1.der", "leaf2.der", "app1.der"):
        run("cp", pki / c, mnt.p("trusted/certs/"))
    os.mkdir(mnt.p("snapshot/s"))
    out = on_tty("backup", "--db", mnt.db, workdir / "b1.db")
    assert "pkifs: backup " in out and "(100%)" in out, out
    out = on_tty("check", "--db", mnt.db, "--json")
    assert "pkifs: check 4/4 (100%)" in out, out
    out = on_tty("restore", "--db", mnt.db, "s")
    assert "restoring snapshot s (one transaction)... done" in out, out
    for args in (("backup", "--db", mnt.db, workdir / "b2.db", "--quiet"),
                 ("check", "--db", mnt.db, "--json", "--quiet"), ("restore", "--db", mnt.db, "s", "-q")):
        out = on_tty(*args)
        assert "pkifs: backup" not in out and "pkifs: check 4" not in out and "restoring" not in out
    r = subprocess.run([BIN, "backup", "--db", mnt.db, workdir / "b3.db"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""
    assert run(BIN, "check", "--db", workdir / "b3.db").returncode == 0
