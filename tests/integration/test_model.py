"""Model-based randomized test: random sequences of what users and OPC UA
stacks do, run against a real mount and against the model of the folder
rules in model_pki.py. After every step the mount's tree (names, bytes,
modes, mtimes), every snapshot's tree, and `pkifs check` must agree with the
model; hypothesis shrinks a failing sequence and prints it.

Environment: PKIFS_MODEL_SEED (fixed default), PKIFS_MODEL_STEPS (steps in
all, 300; 100 when PKIFS_SANITIZED=1), PKIFS_MODEL_EXAMPLE_STEPS (steps per
sequence, each on a fresh mount; 30). `make soak` runs SOAK_STEPS steps.
"""
import errno
import fcntl
import functools
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

import model_pki as mp
from conftest import BIN, PKI, Mount, abort_connection, daemon_pids, is_mounted

SEED = int(os.environ.get("PKIFS_MODEL_SEED", "20261129"))
SANITIZED = os.environ.get("PKIFS_SANITIZED") == "1"
STEPS = int(os.environ.get("PKIFS_MODEL_STEPS", "100" if SANITIZED else "300"))
EXAMPLE_STEPS = int(os.environ.get("PKIFS_MODEL_EXAMPLE_STEPS", "30"))
MAX_REJECTED = 4
RESTORE_WAIT = 15.0 if SANITIZED else 5.0  # "within a second", with room
UMASK = 0o022
VERBOSE = os.environ.get("PKIFS_MODEL_VERBOSE") == "1"

POOL = mp.load_pool(PKI) if (PKI / "root-ca.der").exists() else []
EMPTY = next((o for o in POOL if o.kind == "empty"), None)
NAMES = ["a", "b.der", "c.pem"]
REJECTED_NAMES = [f"r{i}.der" for i in range(1, 7)]  # more than max_rejected
SNAPS = ["s1", "s2", "s3"]
STATS = {"steps": 0, "examples": 0, "failed": False, "refused": 0, "evicted": 0, "refreshed": 0}
LIVE_MOUNTS = []  # every mount made, unmounted at the end whatever happened
ERRNOS = {os.strerror(e): e for e in (errno.EPERM, errno.ENOENT, errno.EINVAL, errno.EBADMSG,
                                      errno.EFBIG, errno.EEXIST, errno.ENOKEY,
                                      errno.EKEYREJECTED, errno.EACCES, errno.EIO,
                                      errno.ENOTCONN, errno.EROFS, errno.EBUSY)}

folders = st.sampled_from(mp.FILE_FOLDERS)
targets = st.sampled_from(mp.FILE_FOLDERS + mp.CONTAINERS)
names = st.sampled_from(NAMES)
objs = st.sampled_from(POOL)
certs = st.sampled_from([o for o in POOL if o.kind == "cert"])
hows = st.sampled_from(["write", "ftruncate", "cp"])
modes = st.sampled_from(["644", "600", "640", "444"])  # octal, as chmod takes them
vias = st.sampled_from(["path", "fd-rdonly", "fd-wronly", "tool"])  # tool: chmod(1), touch(1)
# (folder, object) pairs that the folder's rules may accept
fitting = st.sampled_from([(f, o) for o in POOL for f in mp.FILE_FOLDERS + mp.CONTAINERS
                           if mp.static_verdict(f, o) is None and o.kind != "empty"])


class BudgetSpent(unittest.SkipTest):
    """All the steps asked for have run: ends hypothesis's generation."""


def step(fn):
    """A rule: mounts on the first step, counts it, ends the run when the
    budget is spent (never while hypothesis replays or shrinks a failure)."""
    @functools.wraps(fn)
    def run_step(self, **kw):
        if STATS["steps"] >= STEPS and not STATS["failed"]:
            raise BudgetSpent(f"{STEPS} steps")
        if self.m is None:
            self.start()
        try:
            fn(self, **kw)
        except Exception:  # not hypothesis's own StopTest (a BaseException)
            failed()
            raise
        STATS["steps"] += 1
    return run_step


def failed():
    """Note the first failure: steps from now on replay and shrink it."""
    if not STATS["failed"]:
        STATS["failed"], STATS["clean"], STATS["t_fail"] = True, STATS["steps"], time.monotonic()


def checked(fn):
    """An invariant: nothing to check before the first step."""
    @functools.wraps(fn)
    def check(self):
        if self.m is None:
            return
        try:
            fn(self)
        except Exception:  # not hypothesis's own StopTest (a BaseException)
            failed()
            raise
    return check


def pkifs_check(db):
    """`pkifs check --db DB` (read-only, usable while mounted) must exit 0."""
    r = subprocess.run([BIN, "check", "--db", db], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"pkifs check exit {r.returncode}:\n{r.stdout}{r.stderr}"


def read_all(path):
    """A file's bytes through open/read/close (no isatty round trip)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        out = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                return b"".join(out)
            out.append(b)
    finally:
        os.close(fd)


def tool_errno(r):
    """The errno a failed coreutils run reported (from its message)."""
    if r.returncode == 0:
        return None
    if "to a subdirectory of itself" in r.stderr:
        return errno.EINVAL  # how mv words rename(2)'s EINVAL
    for msg, e in ERRNOS.items():
        if r.stderr.rstrip().endswith(msg):
            return e
    return f"exit {r.returncode}: {r.stderr.strip()}"


def os_errno(fn, *args):
    """None if fn(*args) succeeds, else the errno it raised."""
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return None


def write_path(path, data, mode, ftrunc):
    """open/write/close; ftrunc: open without O_TRUNC, ftruncate, write."""
    flags = os.O_WRONLY | os.O_CREAT | (0 if ftrunc else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    err = None
    try:
        if ftrunc:
            os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        err = e
    try:
        os.close(fd)
    except OSError as e:
        err = err or e
    if err:
        raise err


def scan_folder(path):
    """({name: (bytes, mode, mtime_ns)} of files, {names of dirs})."""
    files, dirs = {}, set()
    with os.scandir(path) as it:
        entries = list(it)
    for de in entries:
        s = os.lstat(de.path)
        if stat.S_ISDIR(s.st_mode):
            dirs.add(de.name)
        elif stat.S_ISREG(s.st_mode):
            try:
                data = read_all(de.path)
            except OSError as e:
                data = f"listed, but open/read fails with {errname(e.errno)}"
            files[de.name] = (data, stat.S_IMODE(s.st_mode), s.st_mtime_ns)
        else:
            files[de.name] = (f"not a regular file: 0o{s.st_mode:o}", 0, 0)
    return files, dirs


def scan_tree(root, live, layout):
    """{(folder, name): (bytes, mode, mtime)} of a live or snapshot tree; every
    spelling of a folder that lists files must list the same, the others
    none, and each folder lists the folders its layout shows."""
    out, problems = {}, []
    for folder in mp.FILE_FOLDERS + mp.CONTAINERS:
        seen, ref = None, None
        for sp in sorted(mp.spellings(folder), key=lambda sp: not mp.listing(sp, layout)[1]):
            files, dirs = scan_folder(os.path.join(root, sp))
            want_dirs, lists_files = mp.listing(sp, layout)
            if sp == mp.ROOT and live:
                want_dirs = want_dirs | mp.LIVE_ROOT_EXTRA_DIRS
                for v in mp.LIVE_ROOT_VIEW_FILES:
                    files.pop(v, None)
            if dirs != want_dirs:
                problems.append(f"{sp or '/'}: folders {sorted(dirs)}, expected {sorted(want_dirs)}")
            if not lists_files and files:
                problems.append(f"{sp}: lists files {sorted(files)}, expected none ({layout})")
            elif seen is not None and lists_files and files != seen:
                problems.append(f"{sp} differs from {ref}: {describe(files)} vs {describe(seen)}")
            if seen is None:
                seen, ref = files, sp
        for n, v in seen.items():
            out[(folder, n)] = v
    return out, problems


def describe(files):
    """A listing in short: {name: (size, mode, mtime)}."""
    return {n: (len(v[0]), oct(v[1]), v[2]) for n, v in sorted(files.items())}


def diff(model_files, actual, record):
    """Differences between the model and a scanned tree (and, when record,
    fill in the mtimes the model waited to learn)."""
    problems = []
    for key in sorted(set(model_files) | set(actual)):
        path = "/".join(p for p in key if p)
        e, a = model_files.get(key), actual.get(key)
        if e is None:
            problems.append(f"{path}: on the mount ({len(a[0])} bytes), not in the model")
            continue
        if a is None:
            problems.append(f"{path}: in the model ({e!r}), missing on the mount")
            continue
        if isinstance(a[0], str):
            problems.append(f"{path}: {a[0]}")
        elif a[0] != e.obj.data:
            problems.append(f"{path}: {len(a[0])} bytes, model has {e.obj!r} ({len(e.obj.data)} bytes)")
        if a[1] != e.mode:
            problems.append(f"{path}: mode 0o{a[1]:o}, model 0o{e.mode:o}")
        if e.mtime is None and record:
            e.mtime = a[2]
        elif e.mtime is not None and a[2] != e.mtime:
            problems.append(f"{path}: mtime {a[2]}, model {e.mtime}")
    return problems


class PkiMachine(RuleBasedStateMachine):
    """One sequence of operations on a fresh mount, beside a fresh model."""

    def __init__(self, workdir, srcdir):
        super().__init__()
        self.workdir, self.srcdir = workdir, srcdir
        self.m = None  # mounted by the first step: many sequences have none
        self.model = mp.Model(MAX_REJECTED)
        self.clock = 0  # makes every set mtime distinct (eviction order)
        self.layout = mp.LAYOUTS[0]
        # Paths whose name the kernel may still hold with nothing under it: a
        # file refused at its close, or filed (written or moved) from trusted/
        # or issuers/ into certs/ or crl/. The refusal or filing comes while the file is open,
        # so its dentry stays; libfuse's path API can make the kernel forget
        # a name only under the root (issue 10: exact invalidation by node
        # id). An open(O_CREAT) of such a path then fails with ENOENT; a
        # stat first, as cp, install and rsync do, makes the kernel look
        # the name up again, and so does O_EXCL: such paths are written with
        # cp (stat, then open with O_EXCL), not with a plain open(2); and an
        # open for writing without O_CREAT of such a path makes the file
        # (the kernel sends it as OPEN, not CREATE), so fchmod and futimens
        # of them go by path.
        self.stale = set()

    @initialize(layout=st.sampled_from(mp.LAYOUTS))
    def choose_layout(self, layout):
        """The -o layout= of this sequence's mount."""
        self.layout = layout

    def start(self):
        """Mount a fresh store on a fresh mountpoint."""
        STATS["examples"] += 1
        self.base = tempfile.mkdtemp(prefix="ex-", dir=self.workdir)
        self.m = Mount(self.base, f"max_rejected={MAX_REJECTED},layout={self.layout}")
        LIVE_MOUNTS.append(self.m)
        self.m.mount()

    def teardown(self):
        STATS["evicted"] += self.model.evicted
        STATS["refreshed"] += self.model.refreshed
        if self.m is None:
            return
        reports = []
        try:
            release(self.m)
            reports = self.m.sanitizer_reports()
        finally:
            if self.m in LIVE_MOUNTS:
                LIVE_MOUNTS.remove(self.m)
            shutil.rmtree(self.base, ignore_errors=True)
        assert not reports, "daemon sanitizer report:\n" + "\n".join(reports)

    def p(self, folder, alias, name=None):
        """The path of folder (through its alias when alias), or of a name in it."""
        parts = [self.m.path, mp.spell(folder, alias)] + ([name] if name else [])
        return os.path.join(*[x for x in parts if x])

    def expect(self, want, got, what):
        """The operation answered what the model predicted (None, or an errno)."""
        if VERBOSE:
            print(f"  {what}: {errname(got)}")
        STATS["refused"] += want is not None and want is not True
        assert got == want, f"{what}: got {errname(got)}, model says {errname(want)}"

    def log_lines(self):
        """Rows in the audit log (pkifs log)."""
        return len(self.m.log().splitlines())

    def where(self, data, label):
        """A (folder, name) for an operation on a file: one the model holds,
        or (one time in four) any folder and name of the pools."""
        held = st.sampled_from(sorted(self.model.files)) if self.model.files else st.nothing()
        return data.draw(st.one_of(held, held, held, st.tuples(folders, names)), label=label)

    # -- writing files --------------------------------------------------
    def put(self, folder, alias, name, obj, how, mode):
        """Write obj as folder/name: open/write/close (O_TRUNC), open then
        ftruncate then write, or cp; mode is the creat mode (octal text)."""
        mode = int(mode, 8)
        path = self.p(folder, alias, name)
        if path in self.stale:
            how = "cp"  # see self.stale
        new_mode = 0o644 if how == "cp" else mode & ~UMASK
        wrote = bool(obj.data) or how == "ftruncate"
        want = self.model.put(folder, name, obj, new_mode, wrote)
        if how == "cp":
            got = tool_errno(run_tool("cp", os.path.join(self.srcdir, src_name(obj)), path))
        else:
            got = os_errno(write_path, path, obj.data, mode, how == "ftruncate")
        self.stale.discard(path)
        if (want is not None and want is not True) or mp.route(folder, obj)[0] != folder:
            self.stale.add(path)
        self.expect(want, got, f"{how} {obj!r} to {path}")
        if not wrote:
            # nothing written: the close leaves it to the release (a shell's
            # dup2 and close come before its write), which the kernel sends
            # after close(2) has returned
            self.settle()
        self.learn_mtime(mp.route(folder, obj)[0], name)

    def learn_mtime(self, folder, name):
        """Record the mtime the daemon gave a file just written, before the
        next write of a burst may evict by age."""
        e = self.model.files.get((folder, name))
        if e is not None and e.mtime is None:
            try:
                e.mtime = os.stat(self.p(folder, False, name)).st_mtime_ns
            except OSError:
                pass  # missing: the check after the step says so

    @rule(folder=targets, alias=st.booleans(), name=names, obj=objs, how=hows, mode=modes)
    @step
    def write(self, folder, alias, name, obj, how, mode):
        """A write of any pool object anywhere (refusals included)."""
        self.put(folder, alias, name, obj, how, mode)

    @rule(fo=fitting, alias=st.booleans(), name=names, how=hows, mode=modes)
    @step
    def write_fitting(self, fo, alias, name, how, mode):
        """A write of what the folder holds (most writes are)."""
        self.put(fo[0], alias, name, fo[1], how, mode)

    @rule(burst=st.lists(st.tuples(certs, st.sampled_from(REJECTED_NAMES)), min_size=1, max_size=4),
          alias=st.booleans(), how=hows)
    @step
    def reject(self, burst, alias, how):
        """A stack puts certificates it refused into rejected/, one by one."""
        for obj, name in burst:
            self.put(mp.REJECTED, alias, name, obj, how, "644")

    @precondition(lambda self: any(k[0] in (mp.REJECTED, mp.TRUSTED_CERTS) for k in self.model.files))
    @rule(data=st.data(), a1=st.booleans(), a2=st.booleans(), tool=st.sampled_from(["rename", "mv"]))
    @step
    def trust_or_distrust(self, data, a1, a2, tool):
        """mv rejected/X trusted/certs/ (trust), or back (distrust)."""
        f1, name = data.draw(st.sampled_from(sorted(k for k in self.model.files
                                                    if k[0] in (mp.REJECTED, mp.TRUSTED_CERTS))),
                             label="file")
        f2 = mp.TRUSTED_CERTS if f1 == mp.REJECTED else mp.REJECTED
        self.rename(f1, a1, name, f2, a2, name, tool)

    @precondition(lambda self: self.model.files)
    @rule(data=st.data(), folder=targets, alias=st.booleans(), name=names, how=hows, mode=modes)
    @step
    def write_again(self, data, folder, alias, name, how, mode):
        """The same object as a file the store holds, under another name."""
        key = data.draw(st.sampled_from(sorted(self.model.files)), label="same as")
        self.put(folder, alias, name, self.model.files[key].obj, how, mode)

    @rule(data=st.data(), alias=st.booleans())
    @step
    def truncate_to_zero(self, data, alias):
        """truncate -s 0 (a new name: an empty file)."""
        folder, name = self.where(data, "file")
        path = self.p(folder, alias, name)
        want = self.model.put(folder, name, EMPTY, 0o666 & ~UMASK)
        if path in self.stale:  # see self.stale: an empty file made by cp
            got = tool_errno(run_tool("cp", "/dev/null", path))
        else:
            got = tool_errno(run_tool("truncate", "-s", "0", path))
        self.stale.discard(path)
        if want is not None and want is not True:
            self.stale.add(path)
        self.expect(want, got, f"truncate -s 0 {path}")
        self.settle()  # cp of nothing: decided at the release, as in put()

    # -- names ----------------------------------------------------------
    @rule(data=st.data(), a1=st.booleans(), f2=targets, a2=st.booleans(), n2=names,
          tool=st.sampled_from(["rename", "mv"]))
    @step
    def move(self, data, a1, f2, a2, n2, tool):
        """mv or rename(2) of a file (held, mostly) to any folder and name."""
        f1, n1 = self.where(data, "source")
        self.rename(f1, a1, n1, f2, a2, n2, tool)

    def rename(self, f1, a1, n1, f2, a2, n2, tool):
        """rename(2) or mv from f1/n1 to f2/n2."""
        src, dst = self.p(f1, a1, n1), self.p(f2, a2, n2)
        want = self.model.rename(f1, n1, f2, n2)
        if tool == "mv" and (f1, n1) != (f2, n2):
            got = tool_errno(run_tool("mv", src, dst))
        else:  # mv refuses a file onto itself under another spelling
            got = os_errno(os.rename, src, dst)
        if got is None and f2 in mp.CONTAINERS:
            self.stale.add(dst)  # filed in certs/ or crl/: see self.stale
        self.expect(want, got, f"{tool} {src} {dst}")

    @rule(data=st.data(), alias=st.booleans(), tool=st.sampled_from(["unlink", "rm"]))
    @step
    def remove(self, data, alias, tool):
        """rm or unlink(2)."""
        folder, name = self.where(data, "file")
        path = self.p(folder, alias, name)
        want = self.model.remove(folder, name)
        if tool == "rm":
            got = tool_errno(run_tool("rm", path))
        else:
            got = os_errno(os.unlink, path)
        self.expect(want, got, f"{tool} {path}")

    # -- attributes -----------------------------------------------------
    @rule(data=st.data(), alias=st.booleans(),
          mode=st.sampled_from(["600", "644", "400", "640", "444", "700", "660"]), via=vias)
    @step
    def chmod(self, data, alias, mode, via):
        """chmod by path or descriptor; to the mode a file has, a no-op that
        leaves no row in the log."""
        mode = int(mode, 8)
        folder, name = self.where(data, "file")
        path = self.p(folder, alias, name)
        old = self.model.files.get((folder, name))
        same = old is not None and old.mode == mode
        before = self.log_lines() if same else 0
        want = self.model.chmod(folder, name, mode)
        if path in self.stale and via.startswith("fd"):
            via = "path"  # see self.stale: an open(2) of it would make it
        if via == "tool":
            got = tool_errno(run_tool("chmod", f"{mode:o}", path))
        else:
            got = os_errno(by(via, path, lambda t: os.chmod(t, mode)))
        self.expect(want, got, f"chmod 0o{mode:o} {path} by {via}")
        if same:
            after = self.log_lines()
            assert after == before, (f"chmod 0o{mode:o} {path} by {via} to the mode it has: "
                                     f"the log grew by {after - before} line(s), a no-op expected")

    @rule(data=st.data(), alias=st.booleans(),
          secs=st.sampled_from([1_000_000_000, 1_500_000_000, 4_000_000_000, None]), via=vias)
    @step
    def touch(self, data, alias, secs, via):
        """utimens by path or descriptor: a set time exactly, or now."""
        folder, name = self.where(data, "file")
        path = self.p(folder, alias, name)
        self.clock += 1
        ns = None if secs is None else secs * 1_000_000_000 + self.clock * 1_001
        want = self.model.touch(folder, name, ns)
        if path in self.stale and via.startswith("fd"):
            via = "path"  # see self.stale: an open(2) of it would make it
        if via == "tool":  # touch -c: a missing file is no error, and not made
            when = [] if ns is None else ["-d", f"@{ns // 10**9}.{ns % 10**9:09d}"]
            got = tool_errno(run_tool("touch", "-c", *when, path))
            want = None if want == errno.ENOENT else want
        elif ns is None:
            got = os_errno(by(via, path, lambda t: os.utime(t)))
        else:
            got = os_errno(by(via, path, lambda t: os.utime(t, ns=(ns, ns))))
        self.expect(want, got, f"touch {path} to {ns or 'now'} by {via}")

    # -- snapshots, restore, remount, crash -----------------------------
    @rule(data=st.data(), action=st.sampled_from(["mkdir", "restore", "rmdir"]))
    @step
    def snapshot(self, data, action):
        """mkdir or rmdir snapshot/NAME, or `pkifs restore NAME` while mounted."""
        held = st.sampled_from(sorted(self.model.snaps)) if self.model.snaps else st.nothing()
        name = data.draw(st.sampled_from(SNAPS) if action == "mkdir" else
                         st.one_of(held, held, st.sampled_from(SNAPS)), label="snapshot")
        path = os.path.join(self.m.path, "snapshot", name)
        if action == "mkdir":
            self.expect(self.model.snapshot(name), os_errno(os.mkdir, path), f"mkdir {path}")
        elif action == "rmdir":
            self.expect(self.model.drop_snapshot(name), os_errno(os.rmdir, path), f"rmdir {path}")
        else:
            self.restore(name)

    def restore(self, name):
        """pkifs restore while mounted; the mount must show it within RESTORE_WAIT."""
        want = self.model.restore(name)
        r = subprocess.run([BIN, "restore", "--db", self.m.db, name], capture_output=True,
                           text=True, timeout=60)
        self.expect(want is None, r.returncode == 0, f"pkifs restore {name} ({r.stderr.strip()})")
        problems = self.settle()  # restore returns once the mount shows it
        assert not problems, f"{RESTORE_WAIT} s after pkifs restore {name}:\n" + "\n".join(problems)

    def settle(self):
        """Wait (up to RESTORE_WAIT) until the tree equals the model; what
        still differs."""
        deadline = time.monotonic() + RESTORE_WAIT
        while True:
            actual, problems = scan_tree(self.m.path, True, self.layout)
            problems += diff(self.model.files, actual, record=False)
            if not problems or time.monotonic() > deadline:
                return problems
            time.sleep(0.05)

    @rule(how=st.sampled_from(["umount", "kill -9"]))
    @step
    def restart(self, how):
        """pkifs umount and mount again; or kill -9 the daemon, fusermount3
        -u -z, and mount again: every acknowledged operation must be there."""
        if how == "umount":
            self.m.umount()
        else:
            pids = daemon_pids(self.m.db)
            assert pids, "no daemon serving the store"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            abort_connection(self.m.path)
            subprocess.run(["fusermount3", "-u", "-z", self.m.path], capture_output=True)
            wait_unlocked(self.m.db)
        self.m.mount()

    # -- after every step ---------------------------------------------
    @invariant()
    @checked
    def mount_equals_model(self):
        """After every step: the tree, the snapshots and pkifs check."""
        actual, problems = scan_tree(self.m.path, True, self.layout)
        problems += diff(self.model.files, actual, record=True)
        snaps = set(os.listdir(os.path.join(self.m.path, "snapshot")))
        if snaps != set(self.model.snaps):
            problems.append(f"snapshot/ lists {sorted(snaps)}, model {sorted(self.model.snaps)}")
        for name in sorted(snaps & set(self.model.snaps)):
            s_actual, s_problems = scan_tree(os.path.join(self.m.path, "snapshot", name), False,
                                             self.layout)
            s_problems += diff(self.model.snaps[name], s_actual, record=False)
            problems += [f"snapshot/{name}: {p}" for p in s_problems]
        assert not problems, "mount and model differ:\n" + "\n".join(problems)
        pkifs_check(self.m.db)


def errname(e):
    """EINVAL for 22; anything else as repr."""
    if isinstance(e, int) and not isinstance(e, bool):
        return errno.errorcode.get(e, str(e))
    return repr(e)


def src_name(obj):
    """The file name of obj's copy in the source folder that cp reads."""
    return obj.name.replace("/", "_")


def run_tool(*cmd):
    """Run a real tool; its CompletedProcess."""
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=60)


def by(via, path, fn):
    """A call of fn on path itself, or on a descriptor opened read-only or
    write-only with nothing written (a stack's fchmod / futimens)."""
    assert via != "tool"
    def call():
        if via == "path":
            return fn(path)
        fd = os.open(path, os.O_RDONLY if via == "fd-rdonly" else os.O_WRONLY)
        try:
            fn(fd)
        finally:
            os.close(fd)
    return call


def wait_unlocked(db, seconds=10):
    """Wait until no process holds the daemon's flock on db (a killed daemon
    is gone from /proc's command lines before it has closed its files)."""
    deadline = time.monotonic() + seconds
    with open(db, "rb") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{db} still locked {seconds} s after kill -9"
                time.sleep(0.01)


def release(m):
    """Unmount m whatever state its daemon is in; leave no mount behind."""
    try:
        m.umount()
    except Exception:
        pass
    if is_mounted(m.path):
        subprocess.run(["fusermount3", "-u", "-z", m.path], capture_output=True)
    for pid in daemon_pids(m.db):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_model_random_sequences(workdir):
    """STEPS random steps in sequences of EXAMPLE_STEPS, each on a fresh mount."""
    assert POOL, f"no test PKI in {PKI} (make build/testpki/.done)"
    srcdir = workdir / "src"
    srcdir.mkdir()
    for o in POOL:
        (srcdir / src_name(o)).write_bytes(o.data)
        os.chmod(srcdir / src_name(o), 0o644)
    examples = 20 + STEPS // 5  # an upper bound: the step budget ends the run
    config = settings(max_examples=examples, stateful_step_count=EXAMPLE_STEPS, deadline=None,
                      database=None, derandomize=False, print_blob=False,
                      report_multiple_bugs=False, phases=[Phase.generate, Phase.shrink],
                      suppress_health_check=list(HealthCheck))
    factory = seed(SEED)(lambda: PkiMachine(workdir, srcdir))
    STATS.update(steps=0, examples=0, failed=False, refused=0, evicted=0, refreshed=0)
    old_umask = os.umask(UMASK)
    t0 = time.monotonic()
    try:
        run_state_machine_as_test(factory, settings=config)
    except BudgetSpent:
        pass
    finally:
        os.umask(old_umask)
        for m in list(LIVE_MOUNTS):
            release(m)
        LIVE_MOUNTS.clear()
        if STATS["failed"]:
            print(f"\nmodel: failed after {STATS['clean']} clean steps "
                  f"({STATS['t_fail'] - t0:.1f} s; {time.monotonic() - t0:.1f} s with shrinking)")
    print(f"\nmodel: {STATS['steps']} steps clean in {time.monotonic() - t0:.1f} s "
          f"({STATS['examples']} sequences, seed {SEED}; {STATS['refused']} refusals, "
          f"{STATS['refreshed']} rejected/ refreshes, {STATS['evicted']} evictions, as predicted)")
