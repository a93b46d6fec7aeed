"""kill -9 at 100 random points during parallel imports, renames, removals
and snapshot creation; after each remount: every acknowledged operation is
there, nothing is half-applied, integrity_check is ok, `pkifs check` is
clean, and replaying the audit log gives exactly the tree on the mount."""
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

from conftest import BIN, GENCERTS, daemon_pids, run

ROUNDS = int(os.environ.get("PKIFS_CRASH_ROUNDS", "100"))


def replay(log):
    """The set of live paths the audit log says there are."""
    live = set()
    for line in log.splitlines():
        parts = line.split()
        if len(parts) < 5 or not line.rstrip().split(": ")[0].endswith(" ok") and " ok" not in line:
            continue
        if " refused " in line:
            continue
        op, path = parts[2], parts[3]
        if op in ("put", "truncate"):
            live.add(path)
        elif op in ("remove", "evict"):
            live.discard(path)
        elif op in ("rename", "trust", "distrust"):
            live.discard(path)
            live.add(parts[5])
        if "refreshed; was " in line:
            live.discard("rejected/" + line.split("refreshed; was ")[1].strip())
    return live


def tree(m):
    out = set()
    for folder in ("trusted/certs", "rejected", "own"):
        for n in os.listdir(m.p(folder)):
            if os.path.isfile(m.p(folder, n)):
                out.add(f"{folder}/{n}")
    return out


def wait_dead(pids):
    """Until each killed pid is a zombie or gone, as ps shows it (bounded)."""
    deadline = time.time() + 10
    for pid in pids:
        while time.time() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                        break
            except OSError:
                break
            time.sleep(0.001)


class Shell:
    """The operator's shell, started before any file on the mount is open: a
    process forked from this one while its threads hold files on a dead
    connection would hang in the close of their copies before it could
    exec pkifs."""

    def __init__(self, env):
        self.sh = subprocess.Popen(["/bin/sh"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True, env=env)

    def mount(self, m):
        err = os.path.join(os.path.dirname(m.db), "mount.err")
        self.sh.stdin.write(f"{BIN} mount --db {m.db} {m.path} 2>{err}; echo $?\n")
        self.sh.stdin.flush()
        rc = self.sh.stdout.readline().strip()
        with open(err) as f:
            said = f.read()
        assert rc == "0", f"pkifs mount failed ({rc}): {said}"
        return said


class Worker(threading.Thread):
    def __init__(self, fn):
        super().__init__()
        self.fn, self.acked, self.stop = fn, [], threading.Event()

    def run(self):
        try:
            while not self.stop.is_set():
                self.acked.append(self.fn())
        except (OSError, StopIteration):
            pass  # the daemon died under us, or nothing left to do


def test_kill_9_at_random_points(mount_factory, workdir):
    m = mount_factory()
    certs = workdir / "certs"
    certs.mkdir()
    run(GENCERTS, certs, 3000)
    pool = iter(sorted(certs / n for n in os.listdir(certs) if n.startswith("cert-")))
    rng = random.Random(42)
    flips = [next(pool) for _ in range(4)]
    for f in flips:
        run("cp", f, m.p("rejected", f.name))
    made, snaps = {}, []
    shell, aborted = Shell(m.env()), 0
    for rnd in range(ROUNDS):
        def imp():
            f = next(pool)
            data = f.read_bytes()
            with open(m.p("trusted/certs", f.name), "wb") as out:
                out.write(data)
            made[f"trusted/certs/{f.name}"] = data
            return ("put", f"trusted/certs/{f.name}")

        def flip():
            f = rng.choice(flips).name
            a, b = (m.p("rejected", f), m.p("trusted/certs", f))
            src, dst = (a, b) if os.path.exists(a) else (b, a)
            os.rename(src, dst)
            return ("move", f)

        def remove():
            old = [p for p in list(made) if p.startswith("trusted/certs/") and os.path.exists(m.p(p))]
            if not old:
                time.sleep(0.001)
                return ("none", "")
            p = rng.choice(old)
            made.pop(p, None)  # before: a removal in flight at the kill may have happened
            os.unlink(m.p(p))
            return ("remove", p)

        def snap():
            name = f"r{rnd}-{len(snaps)}"
            os.mkdir(m.p("snapshot", name))
            snaps.append(name)
            return ("snapshot", name)

        workers = [Worker(fn) for fn in (imp, flip, remove, snap)]
        for w in workers:
            w.start()
        time.sleep(rng.uniform(0.002, 0.05))
        pids = daemon_pids(m.db)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        wait_dead(pids)
        for w in workers:
            w.stop.set()
        # a daemon killed inside a cache notification cannot exit until its
        # connection is aborted: pkifs mount does that itself, then mounts
        aborted += "connection is aborted" in shell.mount(m)
        for w in workers:
            w.join(timeout=30)
            assert not w.is_alive(), f"round {rnd}: a worker still hangs on the mount"
        db = sqlite3.connect(m.db)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"round {rnd}"
        db.close()
        assert m.check() == "", f"round {rnd}: {m.check()}"
        on_mount = tree(m)
        # acknowledged imports are there and whole (unless removed since)
        for op, path in workers[0].acked:
            if path in made:
                with open(m.p(path), "rb") as f:
                    assert f.read() == made[path], f"round {rnd}: {path}"
        for op, path in workers[2].acked:
            if op == "remove":
                assert path not in on_mount, f"round {rnd}: {path} came back"
        for op, name in workers[3].acked:
            assert os.path.isdir(m.p("snapshot", name)), f"round {rnd}: snapshot {name} lost"
        # each flipping certificate is in exactly one place
        for f in flips:
            places = [p for p in (f"rejected/{f.name}", f"trusted/certs/{f.name}") if p in on_mount]
            assert len(places) == 1, f"round {rnd}: {f.name} in {places}"
        # an unacknowledged import is either whole or absent, never partial
        flipping = {f"trusted/certs/{f.name}" for f in flips}
        for p in on_mount:
            if p.startswith("trusted/certs/cert-") and p not in made and p not in flipping:
                with open(m.p(p), "rb") as f:
                    data = f.read()
                assert data == (certs / os.path.basename(p)).read_bytes(), f"partial {p}"
                made[p] = data
        assert replay(m.log()) == on_mount, f"round {rnd}: audit log and tree differ"
    shell.sh.stdin.close()
    shell.sh.wait()
    print(f"{ROUNDS} kills; {aborted} left a daemon that pkifs mount had to abort")
