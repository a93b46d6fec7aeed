"""kill -9 of the daemon during imports: after a remount every file whose
close() returned 0 is there and complete, nothing partial is visible, and
the database passes integrity_check."""
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

from conftest import abort_connection, daemon_pids, is_mounted


def importer(m, files, acked, stop):
    """Copy files into trusted/certs and own/ one by one; record acknowledged ones."""
    for name, data in files:
        if stop.is_set():
            return
        folder = "own" if name.endswith(".cnf") else "trusted/certs"
        path = m.p(folder, name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.close(fd)
        except OSError:
            return  # the daemon died under us
        acked.append((folder, name, data))


def test_kill_9_during_import(mount_factory, pki, workdir):
    m = mount_factory()
    base = [(pki / n).read_bytes() for n in ["leaf1.der", "leaf2.der", "leaf3.der", "app1.der",
                                             "app2.der", "ec-app.der", "root-ca.der", "other-ca.der",
                                             "leaf-root.der", "other-leaf.der", "intermediate-ca.der"]]
    rng = random.Random(1234)
    interrupted = 0
    for rnd in range(5):
        # distinct certificates per round: one of each, plus auxiliary files
        files = [(f"r{rnd}-{i}.der", data) for i, data in enumerate(base)]
        files += [(f"r{rnd}-{i}.cnf", os.urandom(rng.randrange(100, 200000))) for i in range(40)]
        rng.shuffle(files)
        # the certificates exist once per folder: drop those from earlier rounds
        for n in os.listdir(m.p("trusted/certs")):
            os.unlink(m.p("trusted/certs", n))
        acked, stop = [], threading.Event()
        t = threading.Thread(target=importer, args=(m, files, acked, stop))
        t.start()
        time.sleep(rng.uniform(0.005, 0.08))
        for pid in daemon_pids(m.db):
            os.kill(pid, signal.SIGKILL)
        stop.set()
        t.join(timeout=30)
        interrupted += len(acked) < len(files)
        abort_connection(m.path)
        subprocess.run(["fusermount3", "-u", "-z", m.path], capture_output=True)
        deadline = time.time() + 10
        while daemon_pids(m.db) and time.time() < deadline:
            time.sleep(0.05)
        db = sqlite3.connect(m.db)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        m.mount()
        assert m.check() == "", f"round {rnd}: {m.check()}"
        for folder, name, data in acked:
            assert open(m.p(folder, name), "rb").read() == data, f"round {rnd}: {name} lost or damaged"
        expected = dict(files)
        for folder in ("trusted/certs", "own"):
            for n in os.listdir(m.p(folder)):
                if n.startswith(f"r{rnd}-"):
                    assert open(m.p(folder, n), "rb").read() == expected[n], f"partial {n}"
    assert interrupted > 0, "the kill never landed during an import"
