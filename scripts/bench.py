#!/usr/bin/env python3
"""pkifs benchmark: the same workloads, in one run, on a tmpfs directory (the
physical limit), on bindfs over tmpfs and on libfuse's low-level example
passthrough_ll over tmpfs (what a FUSE filesystem costs on this kernel: two
floors), and on a pkifs mount. Each round uses fresh directories, mounts and
stores; the figures are medians over the rounds, and the ratios medians of
each round's ratio (the machine drifts between rounds; backends within one
round run close together).

passthrough_ll is compiled at bench time from the source Debian's
libfuse3-dev ships (--examples, .c or .c.gz) into --build; when it cannot be
built or mounted the reason is printed and that floor skipped.

usage: bench.py --bin build/pkifs --gencerts build/gencerts [--n 10000] [--big 100000]
                [--rounds 3] [--build build] [--json build/bench.json]
"""
import argparse
import gzip
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
        self.src = os.path.join(self.base, self.name + "-src")
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


EXAMPLES = "/usr/share/doc/libfuse3-dev/examples"


def build_passthrough_ll(examples, outdir):
    """Compile libfuse's passthrough_ll example into outdir; return (binary,
    None), or (None, why not). The source is copied (or decompressed) into
    outdir/passthrough_ll-src first: never into the tree."""
    src = os.path.join(outdir, "passthrough_ll-src")
    os.makedirs(src, exist_ok=True)
    for name in ("passthrough_ll.c", "passthrough_helpers.h"):
        plain, gz = os.path.join(examples, name), os.path.join(examples, name + ".gz")
        try:
            if os.path.exists(plain):
                shutil.copyfile(plain, os.path.join(src, name))
            elif os.path.exists(gz):
                with gzip.open(gz, "rb") as f, open(os.path.join(src, name), "wb") as o:
                    shutil.copyfileobj(f, o)
            elif name.endswith(".c"):
                return None, f"no {plain}[.gz] (Debian's libfuse3-dev ships it)"
        except OSError as e:
            return None, f"cannot copy {name}: {e}"
    cc = os.environ.get("CC", "cc")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True, text=True)
    if flags.returncode != 0:
        return None, "pkg-config fuse3: " + flags.stderr.strip()
    out = os.path.join(outdir, "passthrough_ll")
    r = subprocess.run([cc, "-O2", "-Wall", "-o", out, os.path.join(src, "passthrough_ll.c")]
                       + flags.stdout.split(), capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"{cc} passthrough_ll.c failed: " + r.stderr.strip()[-500:]
    return out, None


class PassthroughLL(Bindfs):
    """libfuse's example as it ships: multithreaded, cache=auto (1 s timeouts)."""

    def __init__(self, name, base, binary):
        super().__init__(name, base)
        self.bin = binary
        self.src = os.path.join(base, name + "-src")

    def setup(self):
        for f in FOLDERS:
            os.makedirs(os.path.join(self.src, f), exist_ok=True)
        os.makedirs(self.path, exist_ok=True)
        self.mount()

    def mount(self):
        sh(self.bin, "-o", f"source={self.src}", self.path)

    def pid(self):
        r = subprocess.run(["pgrep", "-f", f"{self.bin} -o source={self.src} {self.path}"],
                           capture_output=True, text=True)
        return int(r.stdout.split()[0]) if r.stdout.strip() else None


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


FLOORS = ["bindfs", "passthrough_ll"]
TARGETS = {"import_s": "<= 1.0x bindfs, <= 1.2x p_ll", "cold_scan_s": "<= 1.0x p_ll",
           "warm_scan_s": "<= 0.5x p_ll", "ls_l_s": "<= 0.3x p_ll", "mv_p99_ms": "<= 0.3 ms",
           "snapshot_ms": "<= 10 ms"}


def median_of(rounds, backend, key):
    vals = [r[backend][key] for r in rounds if backend in r and r[backend].get(key) is not None]
    return statistics.median(vals) if vals else None


def median_ratio(rounds, key, floor):
    """The median over the rounds of pkifs / floor, each round's own ratio."""
    vals = [r["pkifs"][key] / r[floor][key] for r in rounds
            if floor in r and r[floor].get(key) and r["pkifs"].get(key) is not None]
    return statistics.median(vals) if vals else None


def summary(rounds):
    names = [b for b in ["tmpfs"] + FLOORS + ["pkifs"] if any(b in r for r in rounds)]
    keys = list(rounds[0]["pkifs"])
    med = {b: {k: median_of(rounds, b, k) for k in keys} for b in names}
    ratios = {f: {k: median_ratio(rounds, k, f) for k in keys} for f in ["tmpfs"] + FLOORS}
    return names, keys, med, ratios


def report(rounds, n, skipped):
    names, keys, med, ratios = summary(rounds)
    print(f"pkifs benchmark, {n} certificates, median of {len(rounds)} round(s) on fresh stores"
          " (ratios: pkifs/floor, median of the rounds' ratios)")
    for b, why in skipped.items():
        print(f"  {b}: skipped: {why}")
    fmt = lambda v: "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(int(v)))
    rat = lambda v: "-" if v is None else f"{v:.2f}"
    cols = [b for b in names]
    floors = [f for f in ["tmpfs"] + FLOORS if f in names]
    print(f"{'workload':22}" + "".join(f" {b:>14}" for b in cols)
          + "".join(f" {'/' + f:>15}" for f in floors) + "  target")
    for k in keys:
        line = f"{k:22}" + "".join(f" {fmt(med[b][k]):>14}" for b in cols)
        line += "".join(f" {rat(ratios[f][k]):>15}" for f in floors)
        print(line + "  " + TARGETS.get(k, ""))
    return med, ratios


def run_round(i, a, base, certs, extra, leaves, ca_pem, pll):
    """One round: every backend on fresh directories, mounts and stores."""
    rbase = os.path.join(base, f"round{i}")
    os.makedirs(rbase)
    fuse = [Bindfs("bindfs", rbase)]
    if pll:
        fuse.append(PassthroughLL("passthrough_ll", rbase, pll))
    fuse.append(Pkifs("pkifs", rbase, a.bin))
    k = i % len(fuse)  # each round starts the FUSE backends at another one
    backends = [Tmpfs("tmpfs", rbase)] + fuse[k:] + fuse[:k]
    results = {}
    try:
        for b in backends:
            b.setup()
            workloads(b, certs, extra, leaves, ca_pem, results)
            b.teardown()
    finally:
        for b in backends:
            b.teardown()
        shutil.rmtree(rbase, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--gencerts", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--moves", type=int, default=1000)
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--build", default="build", help="where passthrough_ll is compiled")
    ap.add_argument("--examples", default=EXAMPLES, help="libfuse's examples (passthrough_ll.c)")
    ap.add_argument("--json")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    skipped = {}
    pll, why = build_passthrough_ll(a.examples, os.path.abspath(a.build))
    if not pll:
        skipped["passthrough_ll"] = why
        print(f"passthrough_ll: skipped: {why}", file=sys.stderr)
    base = tempfile.mkdtemp(prefix="pkifs-bench-")
    tm = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8g", "tmpfs", base], capture_output=True)
    big = None
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
        if pll:
            # a floor that builds but does not mount is skipped too, with why
            probe = PassthroughLL("passthrough_ll", os.path.join(base, "probe"), pll)
            try:
                probe.setup()
            except subprocess.CalledProcessError as e:
                skipped["passthrough_ll"] = "mount failed: " + e.stderr.decode(errors="replace").strip()
                print(f"passthrough_ll: skipped: {skipped['passthrough_ll']}", file=sys.stderr)
                pll = None
            finally:
                probe.teardown()
        rounds = []
        for i in range(a.rounds):
            rounds.append(run_round(i, a, base, certs, extra, leaves, ca_pem, pll))
            print(f"round {i + 1}/{a.rounds} done", file=sys.stderr)
        if a.big:
            big = {}
            b = Pkifs("pkifs", os.path.join(base, "big"), a.bin)
            os.makedirs(b.base)
            try:
                b.setup()
                big_run(b, a.gencerts, a.big, b.base, big)
            finally:
                b.teardown()
        med, ratios = report(rounds, a.n, skipped)
        if big:
            for k, v in big["pkifs"].items():
                print(f"{k:22} {v:14.4f}" if isinstance(v, float) else f"{k:22} {v}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"n": a.n, "rounds": rounds, "median": med, "ratio_median": ratios,
                           "big": big["pkifs"] if big else None, "skipped": skipped}, f, indent=1)
            print(f"JSON: {a.json}")
    finally:
        if tm.returncode == 0:
            subprocess.run(["umount", "-l", base])
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
