"""Several writer and reader processes across every folder, on the same
names, moving between folders, for a bounded time: no unexpected errors, and
the final tree is what the audit log says happened."""
import errno
import multiprocessing
import os
import random
import time

from conftest import GENCERTS, run
from test_crash_harness import replay, tree

EXPECTED = {errno.ENOENT, errno.EEXIST}  # races on names; duplicates in a folder


def writer(root, certs, seed, seconds, errors):
    rng = random.Random(seed)
    names = [f"n{i}.der" for i in range(6)]
    end = time.time() + seconds
    while time.time() < end:
        op = rng.randrange(5)
        name = rng.choice(names)
        a, b = rng.sample(["trusted/certs", "rejected", "issuers/certs"], 2)
        try:
            if op == 0:
                with open(os.path.join(root, a, name), "wb") as f:
                    f.write(rng.choice(certs))
            elif op == 1:
                os.rename(os.path.join(root, a, name), os.path.join(root, b, name))
            elif op == 2:
                os.unlink(os.path.join(root, a, name))
            elif op == 3:
                with open(os.path.join(root, "own", "cfg-" + name), "wb") as f:
                    f.write(os.urandom(rng.randrange(1, 5000)))
            else:
                os.mkdir(os.path.join(root, "snapshot", f"s{seed}-{rng.randrange(10**9)}"))
        except OSError as e:
            # issuers/certs takes CAs only: a leaf there is EPERM, by the rules,
            # also when another writer moved our open file there (POSIX: an
            # open file moves with its name; its close commits it there)
            if e.errno in EXPECTED or e.errno == errno.EPERM:
                continue
            errors.put(f"writer {seed}: op {op} {a} {b} {name}: {e}")


def reader(root, seconds, errors):
    end = time.time() + seconds
    while time.time() < end:
        for folder in ("trusted/certs", "rejected", "issuers/certs", "own", "capath"):
            try:
                for n in os.listdir(os.path.join(root, folder)):
                    with open(os.path.join(root, folder, n), "rb") as f:
                        f.read()
            except OSError as e:
                # a name listed, then removed or replaced before the open:
                # ENOENT, or ESTALE when libfuse already dropped its node
                if e.errno not in (errno.ENOENT, errno.EISDIR, errno.ESTALE):
                    errors.put(f"reader: {folder}: {e}")


def test_parallel_writers_readers_and_audit_replay(mnt, workdir):
    d = workdir / "certs"
    d.mkdir()
    run(GENCERTS, d, 8)
    certs = [(d / n).read_bytes() for n in sorted(os.listdir(d))]  # a CA and 8 leaves
    errors = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=writer, args=(mnt.path, certs, s, 3, errors)) for s in range(4)]
    procs += [multiprocessing.Process(target=reader, args=(mnt.path, 3, errors)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found, "\n".join(found[:20])
    on_mount = tree(mnt) | {f"issuers/certs/{n}" for n in os.listdir(mnt.p("issuers/certs"))}
    on_mount = {p for p in on_mount if not p.startswith("rejected/certs")}
    assert replay(mnt.log()) == on_mount
