"""Running pkifs as a service: restarts, signals, sd_notify, mount(8)."""
import fcntl
import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid

import pytest

from conftest import BIN, GENCERTS, REPO, is_mounted, run


def wait_gone(pid, limit=30.0):
    """Wait (bounded) until pid has exited; True if it has. A zombie has
    exited: a detached daemon's parent is PID 1, which may reap it late."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


def wait_unlocked(db, limit=30.0):
    """Wait (bounded) until no daemon holds db's lock; True once free."""
    end = time.monotonic() + limit
    with open(db, "rb") as f:
        while time.monotonic() < end:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                time.sleep(0.02)
    return False


def daemon_of(m):
    """Pid of the daemon serving mount m (found by its open database)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{d}/fd")
            exe = os.readlink(f"/proc/{d}/exe")
        except OSError:
            continue
        if not exe.endswith("pkifs"):
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{d}/fd/{fd}") == m.db:
                    return int(d)
            except OSError:
                pass
    raise AssertionError(f"no daemon has {m.db} open")


def test_restart_cycles_never_fail(mnt, pki):
    """fusermount3 -u then mount at once, 50 times: no 'in use' refusal."""
    run("cp", pki / "root-ca.der", mnt.p("trusted", "certs"))
    waited = 0
    for i in range(50):
        run("fusermount3", "-u", mnt.path)
        r = subprocess.run([BIN, "mount", "--db", mnt.db, mnt.path], capture_output=True,
                           text=True, env=mnt.env(), timeout=30)
        assert r.returncode == 0, f"cycle {i}: {r.stderr}"
        waited += "waiting for the previous daemon" in r.stderr
        assert os.path.exists(mnt.p("trusted", "certs", "root-ca.der"))
    print(f"restart cycles that had to wait: {waited}/50")


def test_second_daemon_still_refused(mnt, workdir):
    """A daemon that serves the store still keeps others out (no waiting)."""
    other = workdir / "other"
    other.mkdir()
    r = run(BIN, "mount", "--db", mnt.db, other, check=False)
    assert r.returncode != 0
    assert "in use by another pkifs daemon" in r.stderr
    assert "waiting" not in r.stderr
    assert not is_mounted(other)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_during_import(mount_factory, workdir, sig):
    """A stop signal during a cp import: every file cp acknowledged is kept,
    the mount is gone, the daemon has exited."""
    src = workdir / "src"
    src.mkdir()
    run(GENCERTS, src, 400)
    m = mount_factory()
    pid = daemon_of(m)
    dst = m.p("trusted", "certs")
    script = 'for f in "$@"; do cp "$f" "$0/" && echo "$f" || exit 1; done'
    names = sorted(str(p) for p in src.glob("cert-*.der"))
    cp = subprocess.Popen(["sh", "-c", script, dst] + names, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    acked = [cp.stdout.readline().strip() for _ in range(30)]
    os.kill(pid, sig)
    acked += [line.strip() for line in cp.stdout]
    cp.wait(timeout=60)
    assert wait_gone(pid), "daemon still running"
    assert not is_mounted(m.path)
    assert len(acked) < len(names), "the import finished before the signal"
    m.mount()
    for f in acked:
        p = m.p("trusted", "certs", os.path.basename(f))
        assert pathlib.Path(p).read_bytes() == pathlib.Path(f).read_bytes(), p


def test_stop_signal_right_after_mount_returns(mnt):
    """A stop that comes while the daemon is still starting (mount has
    returned, libfuse's handlers may not be set yet) is a clean stop too."""
    for i in range(10):
        pid = daemon_of(mnt)
        os.kill(pid, signal.SIGTERM)
        assert wait_gone(pid), f"round {i}: daemon still running"
        assert not is_mounted(mnt.path), f"round {i}: mount left behind"
        mnt.mount()


def test_sighup_is_ignored(mnt, pki):
    pid = daemon_of(mnt)
    os.kill(pid, signal.SIGHUP)
    run("cp", pki / "root-ca.der", mnt.p("trusted", "certs"))
    assert is_mounted(mnt.path)
    os.kill(pid, 0)  # still there
    assert os.path.exists(mnt.p("trusted", "certs", "root-ca.der"))


def notify_socket(workdir, abstract):
    """A unix datagram socket to listen on, and NOTIFY_SOCKET's value for it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"pkifs-test-{uuid.uuid4().hex}"
        s.bind("\0" + name)
        value = "@" + name
    else:
        value = str(workdir / "notify.sock")
        s.bind(value)
    s.settimeout(30)
    return s, value


@pytest.mark.parametrize("abstract", [False, True])
def test_sd_notify_ready_then_stopping(mount_factory, workdir, monkeypatch, abstract):
    s, value = notify_socket(workdir, abstract)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", value)
        m = mount_factory()
        ready = s.recv(4096).decode().split("\n")
        assert ready[0] == "READY=1"
        assert ready[1] == f"MAINPID={daemon_of(m)}"
        assert os.listdir(m.p("trusted"))  # usable when READY came
        m.umount()
        assert s.recv(4096).decode() == "STOPPING=1"
    finally:
        s.close()


@pytest.fixture
def on_sh_path():
    """The built binary as `pkifs` where mount.fuse3's sh finds it: mount(8)
    drops PATH, so sh uses its default, which starts with /usr/local/sbin."""
    link = pathlib.Path("/usr/local/sbin/pkifs")
    if link.exists() or link.is_symlink():
        pytest.skip(f"{link} exists; not replacing it")
    link.symlink_to(BIN)
    try:
        yield link
    finally:
        link.unlink()


def fstab_mount(workdir, opts):
    """mount(8) with a private fstab holding one fuse.pkifs line."""
    mp, db = workdir / "fm", workdir / "fm.db"
    mp.mkdir()
    fstab = workdir / "fstab"
    fstab.write_text(f"{db} {mp} fuse.pkifs {opts} 0 0\n")
    r = run("mount", "-T", fstab, mp, check=False)
    return mp, db, r


def fstab_umount(mp, db):
    if is_mounted(mp):
        r = run("umount", mp, check=False)
        if is_mounted(mp):
            run("fusermount3", "-u", "-z", mp, check=False)
        assert r.returncode == 0, r.stderr
    assert wait_unlocked(db)


def test_fstab_mount_and_umount(workdir, pki, on_sh_path):
    opts = "defaults,max_rejected=2,nofail,_netdev,noauto,x-systemd.after=x.service"
    mp, db, r = fstab_mount(workdir, opts)
    try:
        assert r.returncode == 0, r.stderr
        assert is_mounted(mp)
        run("cp", pki / "root-ca.der", mp / "trusted" / "certs")
        (workdir / "leaves").mkdir()
        run(GENCERTS, workdir / "leaves", 3)
        for f in sorted((workdir / "leaves").glob("cert-*.der")):
            run("cp", f, mp / "rejected")
        kept = [n for n in os.listdir(mp / "rejected") if n.endswith(".der")]
        assert len(kept) == 2  # max_rejected reached the daemon
    finally:
        fstab_umount(mp, db)
    assert not is_mounted(mp)
    r = run(BIN, "check", "--db", db, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_fstab_ro_mount(workdir, pki, on_sh_path):
    mp, db, r = fstab_mount(workdir, "ro,nofail")
    try:
        assert r.returncode == 0, r.stderr
        assert os.listdir(mp / "trusted")
        c = run("cp", pki / "root-ca.der", mp / "trusted" / "certs", check=False)
        assert c.returncode != 0 and "Read-only file system" in c.stderr
    finally:
        fstab_umount(mp, db)


UNIT = REPO / "dist" / "pkifs@.service"


def unit_for(binary, workdir):
    """The unit as `make install` writes it, its binary at `binary`."""
    d = workdir / "units"
    d.mkdir()
    unit = d / "pkifs@test.service"
    unit.write_text(UNIT.read_text().replace("/usr/bin/pkifs", str(binary)))
    return unit


def test_unit_verifies(workdir):
    """systemd-analyze verify: no error, no warning (unknown keys are
    warnings only, so stderr must be empty)."""
    unit = unit_for(BIN, workdir)
    r = run("systemd-analyze", "verify", "--man=no", unit, check=False)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    # and verify does catch a broken unit
    unit.write_text(unit.read_text().replace("Type=notify", "Type=notifyy"))
    r = run("systemd-analyze", "verify", "--man=no", unit, check=False)
    assert "notifyy" in r.stderr


def unit_exec(workdir):
    """ExecStart of the unit with /etc/pkifs/%i.conf's variables set, as
    systemd would run it (one argument per ${VAR})."""
    conf = {"DB": str(workdir / "unit.db"), "MOUNTPOINT": str(workdir / "unit"),
            "OPTIONS": "max_rejected=4"}
    line = next(ln for ln in UNIT.read_text().splitlines() if ln.startswith("ExecStart="))
    argv = line.split("=", 1)[1].split()
    argv = [conf[a[2:-1]] if a.startswith("${") else a for a in argv]
    argv[0] = BIN
    return argv, conf


def test_unit_command_runs_as_notify_service(workdir, pki):
    """The unit's command, run the way Type=notify runs it: in the
    foreground, READY=1 with its own pid once usable, and a stop (SIGTERM)
    that unmounts, says STOPPING=1 and exits 0."""
    argv, conf = unit_exec(workdir)
    os.makedirs(conf["MOUNTPOINT"])
    s, value = notify_socket(workdir, True)
    env = dict(os.environ, NOTIFY_SOCKET=value)
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert s.recv(4096).decode() == f"READY=1\nMAINPID={p.pid}"
        assert is_mounted(conf["MOUNTPOINT"])
        run("cp", pki / "root-ca.der", os.path.join(conf["MOUNTPOINT"], "trusted", "certs"))
        p.send_signal(signal.SIGTERM)
        assert s.recv(4096).decode() == "STOPPING=1"
        assert p.wait(timeout=30) == 0
        assert not is_mounted(conf["MOUNTPOINT"])
    finally:
        s.close()
        if p.poll() is None:
            p.kill()
            p.wait()
        if is_mounted(conf["MOUNTPOINT"]):
            run("fusermount3", "-u", "-z", conf["MOUNTPOINT"], check=False)
    r = run(BIN, "check", "--db", conf["DB"], check=False)
    assert r.returncode == 0, r.stdout


def test_make_install_and_uninstall(workdir):
    dest = workdir / "dest"
    env = dict(os.environ, MAKEFLAGS="")
    run("make", "-C", REPO, "install", f"DESTDIR={dest}", "PREFIX=/usr", env=env)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if not p.is_dir())
    assert files == ["usr/bin/pkifs", "usr/lib/systemd/system/pkifs@.service",
                     "usr/share/bash-completion/completions/pkifs",
                     "usr/share/doc/pkifs/README.md", "usr/share/doc/pkifs/pkifs.conf.example",
                     "usr/share/man/man8/pkifs.8"]
    assert os.access(dest / "usr/bin/pkifs", os.X_OK)
    unit = (dest / "usr/lib/systemd/system/pkifs@.service").read_text()
    assert "ExecStart=/usr/bin/pkifs mount" in unit
    run("make", "-C", REPO, "uninstall", f"DESTDIR={dest}", "PREFIX=/usr", env=env)
    left = [str(p) for p in dest.rglob("*") if not p.is_dir()]
    assert left == []


def test_man_page_lints_and_names_every_option():
    page = REPO / "man" / "pkifs.8"
    r = run("mandoc", "-T", "lint", "-W", "warning", page, check=False)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    r = run("man", "--warnings", "-l", page, env=dict(os.environ, MANWIDTH="80"))
    assert r.stderr == ""
    text = r.stdout
    commands = [ln.split()[0] for ln in run(BIN, "--help").stdout.splitlines()
                if ln.startswith("  ") and ln[2].islower()]
    assert "mount" in commands and "status" in commands
    for cmd in commands:
        assert f"pkifs {cmd}" in text, cmd
    usage = run(BIN, "mount", "--help").stdout
    for opt in [w.split("=")[0] for w in usage.split() if "=" in w and w[0].isalpha()]:
        assert opt + "=" in text, opt


def installed(pkg):
    r = run("dpkg-query", "-W", "-f=${Status}", pkg, check=False)
    return "install ok installed" in r.stdout


@pytest.mark.slow
def test_debian_package(workdir, pki):
    """dpkg-buildpackage in a copy of the tree, lintian, dpkg -i, use the
    installed command (also through mount(8)), dpkg --purge."""
    if installed("pkifs"):
        pytest.skip("a pkifs package is installed already; not replacing it")
    src = workdir / "src" / "pkifs"
    files = run("git", "-C", REPO, "ls-files", "--cached", "--others", "--exclude-standard",
                "-z").stdout.split("\0")
    for f in filter(None, files):
        if (REPO / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            (src / f).write_bytes((REPO / f).read_bytes())
            (src / f).chmod((REPO / f).stat().st_mode)
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    deb = next((workdir / "src").glob("pkifs_*_*.deb"))
    lint = run("lintian", deb, check=False)
    assert not [ln for ln in lint.stdout.splitlines() if ln.startswith("E:")], lint.stdout
    try:
        run("dpkg", "-i", deb)
        assert run("/usr/bin/pkifs", "--version").stdout.startswith("pkifs ")
        assert run("man", "-w", "pkifs").stdout.strip() == "/usr/share/man/man8/pkifs.8.gz"
        unit = pathlib.Path("/lib/systemd/system/pkifs@.service")
        assert "ExecStart=/usr/bin/pkifs mount" in unit.read_text()
        inst = workdir / "pkifs@deb.service"
        inst.write_text(unit.read_text())
        v = run("systemd-analyze", "verify", inst, check=False)  # man:pkifs(8) resolves now
        assert v.returncode == 0 and v.stderr.strip() == "", v.stderr
        mp, db, r = fstab_mount(workdir, "defaults,nofail")  # sh finds /usr/bin/pkifs
        try:
            assert r.returncode == 0, r.stderr
            run("cp", pki / "root-ca.der", mp / "trusted" / "certs")
        finally:
            fstab_umount(mp, db)
        assert run("/usr/bin/pkifs", "check", "--db", db, check=False).returncode == 0
    finally:
        run("dpkg", "--purge", "pkifs", check=False)
    assert not installed("pkifs")
    assert not os.path.exists("/usr/bin/pkifs")


def changes_and_a_refusal(m, pki):
    """One accepted put, one refused put, one trust move, through m."""
    run("cp", pki / "root-ca.der", m.p("trusted", "certs"))
    bad = run("cp", pki / "bad" / "garbage.der", m.p("trusted", "certs"), check=False)
    assert bad.returncode != 0
    run("mv", m.p("trusted", "certs", "root-ca.der"), m.p("rejected"))


def log(m, *args):
    return run(BIN, "log", "--db", m.db, *args).stdout.splitlines()


def test_log_filters_and_json(mnt, pki):
    import json
    changes_and_a_refusal(mnt, pki)
    every = log(mnt)
    assert len(every) == 3
    refused = log(mnt, "--refused")
    assert len(refused) == 1 and "garbage.der" in refused[0] and "refused (EBADMSG)" in refused[0]
    puts = log(mnt, "--op", "put")
    assert len(puts) == 2 and all(" put " in ln for ln in puts)
    assert log(mnt, "--op", "distrust", "-n", "5") == [every[2]]
    rows = [json.loads(ln) for ln in log(mnt, "--json")]
    assert [r["op"] for r in rows] == ["put", "put", "distrust"]
    assert rows[1]["outcome"] == "refused" and rows[1]["errno"] == "EBADMSG"
    assert rows[2]["path"] == "trusted/certs/root-ca.der"
    assert rows[2]["path2"] == "rejected/root-ca.der" and len(rows[2]["sha1"]) == 40
    assert [r["op"] for r in map(json.loads, log(mnt, "--json", "--refused"))] == ["put"]
    assert log(mnt, "--since", "2099-01-01T00:00:00Z") == []
    assert log(mnt, "--since", "-1d") == every
    assert log(mnt, "--since", f"@{rows[2]['time_ns'] // 10**9 + 1}") == []
    r = run(BIN, "log", "--db", mnt.db, "--since", "yesterday", check=False)
    assert r.returncode == 2


def read_line(p, limit=30.0):
    """One line of p's stdout, waiting at most limit seconds."""
    import select
    ready, _, _ = select.select([p.stdout], [], [], limit)
    assert ready, "no line"
    return p.stdout.readline()


def test_log_follow(mnt, pki):
    import json
    run("cp", pki / "root-ca.der", mnt.p("trusted", "certs"))
    p = subprocess.Popen([BIN, "log", "--db", mnt.db, "--follow", "--json", "--op", "remove"],
                         stdout=subprocess.PIPE, text=True)
    try:
        run("cp", pki / "intermediate-ca.der", mnt.p("issuers", "certs"))  # filtered out
        os.unlink(mnt.p("trusted", "certs", "root-ca.der"))
        row = json.loads(read_line(p))
        assert row["op"] == "remove" and row["path"] == "trusted/certs/root-ca.der"
        assert p.poll() is None  # still following
    finally:
        p.kill()
        p.wait()


def test_daemon_logs_to_stderr_in_foreground(workdir, pki):
    mp, db = workdir / "fg", workdir / "fg.db"
    mp.mkdir()
    p = subprocess.Popen([BIN, "mount", "--db", db, mp, "-f"], stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 30
        while not is_mounted(mp) and time.monotonic() < end:
            time.sleep(0.02)
        assert is_mounted(mp)

        class M:
            def p(self, *parts):
                return os.path.join(mp, *parts)
        changes_and_a_refusal(M(), pki)
        p.send_signal(signal.SIGTERM)
        err = p.communicate(timeout=30)[1].splitlines()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if is_mounted(mp):
            run("fusermount3", "-u", "-z", mp, check=False)
    assert p.returncode == 0
    assert len(err) == 3, err  # one line per change and per refusal
    assert " put " in err[0] and err[0].endswith(" ok")
    assert "refused (EBADMSG)" in err[1]
    assert " distrust " in err[2]


def test_daemon_logs_to_syslog_when_detached(mnt, pki):
    """Detached, the lines go to syslog: a datagram socket at /dev/log
    (made by the test when the machine has none) receives them."""
    if os.path.exists("/dev/log"):
        pytest.skip("/dev/log exists: not replacing the system's syslog socket")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("/dev/log")
    s.settimeout(30)
    pid = daemon_of(mnt)
    got = []
    try:
        changes_and_a_refusal(mnt, pki)
        while len(got) < 3:  # other daemons on the machine may log meanwhile
            line = s.recv(8192).decode(errors="replace")
            if f"pkifs[{pid}]: " in line:
                got.append(line)
    finally:
        s.close()
        os.unlink("/dev/log")
    assert got[0].startswith("<29>")  # daemon facility, notice
    assert "refused (EBADMSG)" in got[1] and " distrust " in got[2]


def test_status(mnt, pki, workdir):
    import json
    run("cp", pki / "root-ca.der", mnt.p("trusted", "certs"))
    run("cp", pki / "app1.der", mnt.p("own", "certs"))
    os.mkdir(mnt.p("snapshot", "s1"))
    text = run(BIN, "status", mnt.path).stdout
    assert f"mounted     {mnt.path}\n" in text
    assert f"daemon      pid {daemon_of(mnt)}\n" in text
    assert " trusted/certs=1 " in text and " own/certs=1 " in text
    st = json.loads(run(BIN, "status", "--db", mnt.db, "--json").stdout)
    assert st["mounted"] is True and st["mountpoint"] == mnt.path
    assert st["pid"] == daemon_of(mnt)
    assert st["entries"]["trusted/certs"] == 1 and st["entries"]["rejected"] == 0
    assert st["snapshots"] == 1
    assert st["last"]["op"] == "snapshot"
    mnt.umount()
    st = json.loads(run(BIN, "status", "--db", mnt.db, "--json").stdout)
    assert st["mounted"] is False and st["pid"] is None and st["entries"]["own/certs"] == 1
    r = run(BIN, "status", mnt.path, check=False)
    assert r.returncode == 1 and "not a pkifs mount" in r.stderr
    assert run(BIN, "status", check=False).returncode == 2
    assert run(BIN, "status", "--db", workdir / "none.db", check=False).returncode == 1


def test_status_tells_a_stale_mount(mnt):
    pid = daemon_of(mnt)
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    r = run(BIN, "status", mnt.path, check=False)
    assert r.returncode == 1
    assert "stale mount" in r.stdout
