"""Fixtures that mount a real pkifs filesystem for each test.

Modelled on libfuse's test/util.py: mount, wait for the mount, run real
tools against it, unmount at teardown even when the test failed, and fail
the test when the daemon left a sanitizer report.
"""
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("PKIFS_BIN", str(REPO / "build" / "pkifs"))
PKI = pathlib.Path(os.environ.get("PKIFS_TEST_PKI", str(REPO / "build" / "testpki")))
GENCERTS = os.environ.get("PKIFS_GENCERTS", str(REPO / "build" / "gencerts"))


def is_mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == str(path) for line in f)


def abort_connection(path):
    """Abort the FUSE connection of the mount at path (fusectl's abort), as
    an operator must after kill -9: a daemon killed while one of its
    threads waits in the kernel (a cache notification waiting for a folder
    lock that a request to the dead daemon holds) cannot exit until its
    connection is aborted."""
    conn = "/sys/fs/fuse/connections"
    if not os.listdir(conn):
        subprocess.run(["mount", "-t", "fusectl", "none", conn], capture_output=True)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if parts[4] == str(path):
                major, minor = (int(x) for x in parts[2].split(":"))
                try:
                    with open(f"{conn}/{major << 20 | minor}/abort", "w") as a:
                        a.write("1")
                except OSError:
                    pass


def daemon_pids(db):
    """Pids of pkifs daemons serving db (found by their command line)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"pkifs") and b"mount" in argv and str(db).encode() in b" ".join(argv):
            pids.append(int(d))
    return pids


class Mount:
    """A pkifs mount of a fresh database on a fresh mountpoint."""

    def __init__(self, base, opts=None, name="mnt"):
        self.base = pathlib.Path(base)
        self.path = str(self.base / name)
        self.db = str(self.base / (name + ".db"))
        self.opts = opts
        self.no_check = None  # a reason, for tests that damage the store on purpose
        self.asan_dir = self.base / "asan"
        self.asan_dir.mkdir(exist_ok=True)
        os.makedirs(self.path, exist_ok=True)

    def env(self):
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = f"log_path={self.asan_dir}/asan:detect_leaks=1"
        env["UBSAN_OPTIONS"] = f"log_path={self.asan_dir}/ubsan:print_stacktrace=1"
        return env

    def mount(self):
        cmd = [BIN, "mount", "--db", self.db, self.path]
        if self.opts:
            cmd += ["-o", self.opts]
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=30)
        assert r.returncode == 0, f"mount failed: {r.stderr}"
        assert is_mounted(self.path)
        return self

    def umount(self):
        if not is_mounted(self.path):
            return
        r = subprocess.run([BIN, "umount", self.path], capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True)
            raise AssertionError(f"umount failed: {r.stderr}")

    def remount(self):
        self.umount()
        return self.mount()

    def log(self):
        r = subprocess.run([BIN, "log", "--db", self.db], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def check(self):
        """pkifs check on the store: '' when clean, else what it printed."""
        r = subprocess.run([BIN, "check", "--db", self.db], capture_output=True, text=True,
                           env=self.env(), timeout=120)
        return "" if r.returncode == 0 else f"exit {r.returncode}: {r.stdout}{r.stderr}"

    def sanitizer_reports(self):
        out = []
        for f in sorted(self.asan_dir.glob("*")):
            out.append(f.read_text(errors="replace"))
        return out

    def cleanup(self):
        try:
            self.umount()
        finally:
            if is_mounted(self.path):
                subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="pkifs-test-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def mount_factory(workdir):
    """Make mounts with options; all are unmounted at teardown."""
    made = []

    def make(opts=None, name="mnt"):
        m = Mount(workdir, opts, name)
        made.append(m)
        return m.mount()

    yield make
    reports, broken = [], []
    for m in made:
        m.cleanup()
        # every test leaves a store that passes `pkifs check`
        if m.no_check is None and os.path.exists(m.db):
            found = m.check()
            if found:
                broken.append(f"{m.db}: {found}")
        # give a dying daemon a moment to write its report
        reports += m.sanitizer_reports()
    assert not reports, "daemon sanitizer report:\n" + "\n".join(reports)
    assert not broken, "pkifs check after the test:\n" + "\n".join(broken)


@pytest.fixture
def mnt(mount_factory):
    return mount_factory()


@pytest.fixture
def pki():
    assert (PKI / "root-ca.der").exists(), f"no test PKI in {PKI} (make build/testpki/.done)"
    return PKI


def run(*cmd, check=True, **kw):
    """Run a real tool; return CompletedProcess (text)."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, errors="replace", timeout=120, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}): {r.stderr}")
    return r


def write_file(path, data):
    """Write data through open/write/close; return None or the OSError."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as e:
        return e
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        try:
            os.close(fd)
        except OSError:
            pass  # the same refusal, reported again by close
        return e
    try:
        os.close(fd)
    except OSError as e:
        return e
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds or installs a package (a minute or so)")
