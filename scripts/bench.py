#!/usr/bin/env python3
"""pkifs benchmark: the same workloads, in one run, on a tmpfs directory (the
physical limit), on bindfs over tmpfs (what any FUSE filesystem costs on this
kernel) and on a pkifs mount; each figure with its ratios to both.

usage: bench.py --bin build/pkifs --gencerts build/gencerts [--n 10000] [--big 100000]
                [--json build/bench.json]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FOLDERS = ["own/certs", "own/private", "trusted/certs", "trusted/crl", "issuers/certs",
           "issuers/crl", "rejected"]


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, **kw)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class Backend:
    def __init__(self, name, base):
        self.name, self.base = name, base
        self.path = os.path.join(base, name)

    def p(self, *parts):
        return os.path.join(self.path, *parts)


class Tmpfs(Backend):
    def setup(self):
        for f in FOLDERS:
            os.makedirs(self.p(f), exist_ok=True)

    def cold(self):
        subprocess.run(["sync"])
        try:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        except OSError:
            pass

    def snapshot(self, name):
        sh("cp", "-a", self.p("trusted"), os.path.join(self.base, f"{self.name}-snap-{name}"))
        return os.path.join(self.base, f"{self.name}-snap-{name}")

    def pid(self):
        return None

    def teardown(self):
        pass


class Bindfs(Tmpfs):
    def setup(self):
        self.src = os.path.join(self.base, "bindfs-src")
        for f in FOLDERS:
            os.makedirs(os.path.join(self.src, f), exist_ok=True)
        os.makedirs(self.path, exist_ok=True)
        self.mount()

    def mount(self):
        sh("bindfs", "--multithreaded", self.src, self.path)

    def cold(self):
        sh("fusermount3", "-u", self.path)
        super().cold()
        self.mount()

    def pid(self):
        r = subprocess.run(["pgrep", "-f", f"bindfs.*{self.path}"], capture_output=True, text=True)
        return int(r.stdout.split()[0]) if r.stdout.strip() else None

    def teardown(self):
        subprocess.run(["fusermount3", "-u", self.path], capture_output=True)


class Pkifs(Backend):
    def __init__(self, name, base, binary):
        super().__init__(name, base)
        self.bin = binary
        self.db = os.path.join(base, "pkifs.db")

    def setup(self):
        os.makedirs(self.path, exist_ok=True)
        self.mount()

    def mount(self):
        sh(self.bin, "mount", "--db", self.db, self.path, "-o", "max_rejected=1000000")

    def cold(self):
        sh(self.bin, "umount", self.path)
        Tmpfs.cold(self)
        self.mount()

    def snapshot(self, name):
        os.mkdir(self.p("snapshot", name))
        return self.p("snapshot", name)

    def pid(self):
        r = subprocess.run(["pgrep", "-f", f"pkifs mount --db {self.db}"], capture_output=True, text=True)
        return int(r.stdout.split()[0]) if r.stdout.strip() else None

    def teardown(self):
        subprocess.run([self.bin, "umount", self.path], capture_output=True)


def scan(folder):
    """List a folder and read every file, as a stack does at start: open,
    fstat, read to the end, close (node's fs.readFile; C stacks alike).
    Python's open() would add an isatty ioctl per file, which FUSE sends
    to the daemon as one more round trip: no stack does that."""
    for n in os.listdir(folder):
        fd = os.open(os.path.join(folder, n), os.O_RDONLY)
        try:
            os.fstat(fd)
            while os.read(fd, 65536):
                pass
        finally:
            os.close(fd)


def peak_rss_kib(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def workloads(b, certs, extra, leaves_pem, ca_pem_name, results):
    r = results.setdefault(b.name, {})
    files = sorted(os.path.join(certs, n) for n in os.listdir(certs) if n.startswith("cert-"))
    r["import_s"] = timed(lambda: sh("cp", "-t", b.p("trusted/certs"), *files))
    sh("cp", os.path.join(certs, "ca.der"), b.p("trusted/certs/"))
    b.cold()
    r["cold_scan_s"] = timed(lambda: scan(b.p("trusted/certs")))
    r["warm_scan_s"] = timed(lambda: scan(b.p("trusted/certs")))
    r["ls_l_s"] = timed(lambda: subprocess.run(["ls", "-l", b.p("trusted/certs")], stdout=subprocess.DEVNULL))
    extras = sorted(os.listdir(extra))
    sh("cp", "-t", b.p("rejected"), *[os.path.join(extra, n) for n in extras])
    lat = []
    for n in extras:
        t = time.perf_counter()
        os.rename(b.p("rejected", n), b.p("trusted/certs", n))
        lat.append(time.perf_counter() - t)
    lat.sort()
    r["mv_p50_ms"] = 1000 * lat[len(lat) // 2]
    r["mv_p99_ms"] = 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    capath = b.p("capath") if isinstance(b, Pkifs) else os.path.join(b.base, b.name + "-capath")
    if not isinstance(b, Pkifs):
        os.makedirs(capath, exist_ok=True)
        shutil.copy(ca_pem_name, capath)
        sh("openssl", "rehash", capath)
    r["verify_capath_s"] = timed(lambda: sh("openssl", "verify", "-CApath", capath, *leaves_pem))
    t = time.perf_counter()
    snap = b.snapshot("s1")
    r["snapshot_ms"] = 1000 * (time.perf_counter() - t)
    out = os.path.join(b.base, b.name + "-rsync-out")
    r["rsync_snapshot_s"] = timed(lambda: sh("rsync", "-a", snap + "/", out + "/"))
    r["peak_rss_kib"] = peak_rss_kib(b.pid())


def big_run(b, gencerts, n, base, results):
    """Snapshot creation and daemon memory at n certificates (pkifs only)."""
    certs = os.path.join(base, "big-certs")
    os.makedirs(certs)
    sh(gencerts, certs, n)
    files = sorted(os.path.join(certs, x) for x in os.listdir(certs) if x.startswith("cert-"))
    for i in range(0, len(files), 5000):
        sh("cp", "-t", b.p("trusted/certs"), *files[i:i + 5000])
    t = time.perf_counter()
    b.snapshot("big")
    results[b.name][f"snapshot_{n}_ms"] = 1000 * (time.perf_counter() - t)
    scan(b.p("trusted/certs"))
    results[b.name][f"peak_rss_{n}_kib"] = peak_rss_kib(b.pid())


TARGETS = {"import_s": "<= 1.0x bindfs", "cold_scan_s": "<= 1.0x bindfs", "warm_scan_s": "<= 0.5x bindfs",
           "ls_l_s": "<= 0.3x bindfs", "snapshot_ms": "<= 10 ms"}


def report(results, n):
    t, bf, pk = results["tmpfs"], results["bindfs"], results["pkifs"]
    print(f"pkifs benchmark, {n} certificates (ratios: pkifs/tmpfs, pkifs/bindfs)")
    print(f"{'workload':22} {'tmpfs':>10} {'bindfs':>10} {'pkifs':>10} {'/tmpfs':>8} {'/bindfs':>8}  target")
    for k in pk:
        a, b_, c = t.get(k), bf.get(k), pk.get(k)
        fmt = lambda v: "-" if v is None else (f"{v:10.4f}" if isinstance(v, float) else f"{v:10d}")
        r1 = f"{c / a:8.2f}" if a and c is not None else "       -"
        r2 = f"{c / b_:8.2f}" if b_ and c is not None else "       -"
        print(f"{k:22} {fmt(a):>10} {fmt(b_):>10} {fmt(c):>10} {r1} {r2}  {TARGETS.get(k, '')}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--gencerts", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--moves", type=int, default=1000)
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="pkifs-bench-")
    tm = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8g", "tmpfs", base], capture_output=True)
    backends = []
    try:
        certs, extra = os.path.join(base, "certs"), os.path.join(base, "extra")
        os.makedirs(certs)
        os.makedirs(extra)
        sh(a.gencerts, certs, a.n + a.moves)
        names = sorted(x for x in os.listdir(certs) if x.startswith("cert-"))
        for x in names[a.n:]:
            os.rename(os.path.join(certs, x), os.path.join(extra, "m" + x))
        ca_pem = os.path.join(base, "ca.pem")
        sh("openssl", "x509", "-inform", "DER", "-in", os.path.join(certs, "ca.der"), "-out", ca_pem)
        leaves = []
        for x in names[:min(1000, a.n)]:
            pem = os.path.join(base, "leaves", x + ".pem")
            os.makedirs(os.path.dirname(pem), exist_ok=True)
            leaves.append(pem)
        for i in range(0, len(leaves), 200):
            batch = leaves[i:i + 200]
            script = "; ".join(f"openssl x509 -inform DER -in {certs}/{os.path.basename(p)[:-4]} -out {p}" for p in batch)
            subprocess.run(["bash", "-c", script], check=True)
        results = {}
        backends = [Tmpfs("tmpfs", base), Bindfs("bindfs", base), Pkifs("pkifs", base, a.bin)]
        for b in backends:
            b.setup()
            workloads(b, certs, extra, leaves, ca_pem, results)
        if a.big:
            big_run(backends[2], a.gencerts, a.big, base, results)
        report(results, a.n)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"n": a.n, "results": results}, f, indent=1)
            print(f"JSON: {a.json}")
    finally:
        for b in backends:
            b.teardown()
        if tm.returncode == 0:
            subprocess.run(["umount", "-l", base])
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
