#!/usr/bin/env python3
"""pkifs fleet benchmark: three pkifs mounts sharing trusted/ through a real
3-member etcd cluster on 127.0.0.1 (data directories on the disk, as a
deployment has them), beside one plain mount (no etcd) in the same run.

Measures, each as the median of --rounds rounds on fresh stores and a fresh
cluster:
  - the floor: a raw etcd put of a certificate-sized value (p50/p99);
  - propagation: a `cp` of one DER into node 1's trusted/certs until
    node 3's stat() finds it (p50/p99 over --samples files), and the cp
    alone (node 1's commit through etcd, until applied on node 1);
  - import of --n certificates by one `cp -t` into node 1, through etcd,
    and the same import into the plain mount (ratio);
  - the time until nodes 2 and 3 list all --n after that import;
  - initial sync: a fourth node, a fresh store, mounted on the prefix that
    holds --n certificates, until it lists them all;
  - memory: each pkifs daemon's peak RSS (VmHWM) and each etcd member's.

usage: bench_fleet.py --bin build/pkifs --gencerts build/gencerts [--n 10000]
                      [--samples 200] [--rounds 3] [--json build/bench-fleet.json]
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from etcd_cluster import EtcdCluster  # noqa: E402

NODES = ("n1", "n2", "n3")
POLL_S = 0.0005   # how often node 3 is asked whether the file is there
TIMEOUT_S = 600


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, **kw)


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_until(fn, what, timeout=TIMEOUT_S, poll=0.05):
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def count(folder):
    try:
        return len(os.listdir(folder))
    except OSError:
        return -1


class Node:
    """One pkifs mount with its own store, in a fleet when opts say so."""

    def __init__(self, binary, base, name, opts):
        self.bin, self.name, self.opts = binary, name, opts
        self.db = os.path.join(base, name + ".db")
        self.path = os.path.join(base, name)
        os.makedirs(self.path)

    def mount(self):
        opts = "max_rejected=1000000" + ("," + self.opts if self.opts else "")
        sh(self.bin, "mount", "--db", self.db, self.path, "-o", opts)

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def pid(self):
        r = subprocess.run(["pgrep", "-f", f"pkifs mount --db {self.db} "], capture_output=True, text=True)
        return int(r.stdout.split()[0]) if r.stdout.strip() else None

    def umount(self):
        subprocess.run([self.bin, "umount", self.path], capture_output=True)

    def check(self):
        r = subprocess.run([self.bin, "check", "--db", self.db], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"pkifs check {self.name}: {r.stdout}{r.stderr}")


def pct(vals, q):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(len(vals) * q))]


def propagation(nodes, files, r):
    """cp each file into node 1; time the cp and until node 3 sees it."""
    cp_ms, seen_ms = [], []
    for f in files:
        dst = nodes[2].p("trusted/certs", os.path.basename(f))
        t = time.perf_counter()
        sh("cp", f, nodes[0].p("trusted/certs/"))
        cp_ms.append(1000 * (time.perf_counter() - t))
        deadline = time.monotonic() + 30
        while not os.path.exists(dst):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{dst} did not appear within 30 s")
            time.sleep(POLL_S)
        seen_ms.append(1000 * (time.perf_counter() - t))
    r["cp_p50_ms"], r["cp_p99_ms"] = pct(cp_ms, 0.5), pct(cp_ms, 0.99)
    r["propagation_p50_ms"], r["propagation_p99_ms"] = pct(seen_ms, 0.5), pct(seen_ms, 0.99)


def etcd_floor(cluster, samples, size, r):
    """The floor under a fleet write: one raw put of a value of a certificate's
    size through etcd's JSON gateway (what pkifs's txn rides on), on a kept-alive
    connection, p50/p99 over samples."""
    host, port = cluster.client_url(0)[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    value = base64.b64encode(os.urandom(size)).decode()
    lat = []
    try:
        for k in range(samples):
            body = json.dumps({"key": base64.b64encode(f"/bench-floor/{k}".encode()).decode(), "value": value})
            t = time.perf_counter()
            conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            lat.append(1000 * (time.perf_counter() - t))
            if resp.status != 200:
                raise RuntimeError(f"etcd put: HTTP {resp.status}")
    finally:
        conn.close()
    r["etcd_put_p50_ms"], r["etcd_put_p99_ms"] = pct(lat, 0.5), pct(lat, 0.99)


def imports(nodes, plain, files, r):
    """One cp -t of every file into node 1 (through etcd) and into plain."""
    want = len(files) + count(nodes[0].p("trusted/certs"))
    t = time.perf_counter()
    sh("cp", "-t", nodes[0].p("trusted/certs"), *files)
    r["import_fleet_s"] = time.perf_counter() - t
    for n in nodes[1:]:
        wait_until(lambda: count(n.p("trusted/certs")) >= want, f"{n.name} to list {want}")
    r["import_all_nodes_s"] = time.perf_counter() - t
    r["import_plain_s"] = timed(lambda: sh("cp", "-t", plain.p("trusted/certs"), *files))
    r["import_ratio"] = r["import_fleet_s"] / r["import_plain_s"]
    return want


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def initial_sync(a, base, opts, want, r):
    """A fourth node on a fresh store joins the prefix that holds want files."""
    n4 = Node(a.bin, base, "n4", opts("n4"))
    t = time.perf_counter()
    n4.mount()
    try:
        wait_until(lambda: count(n4.p("trusted/certs")) >= want, f"n4 to list {want}")
        r["initial_sync_s"] = time.perf_counter() - t
        r["rss_new_node_kib"] = status_kib(n4.pid(), "VmHWM")
    finally:
        n4.umount()
    n4.check()


def memory(nodes, plain, cluster, r):
    for n in nodes:
        r[f"rss_{n.name}_kib"] = status_kib(n.pid(), "VmHWM")
    r["rss_plain_kib"] = status_kib(plain.pid(), "VmHWM")
    etcd = [status_kib(p.pid, "VmHWM") for p in cluster.procs if p is not None]
    r["rss_etcd_member_max_kib"] = max(v for v in etcd if v is not None)


def run_round(i, a, certs):
    base = tempfile.mkdtemp(prefix=f"pkifs-bench-fleet{i}-", dir=a.dir)
    r = {}
    cluster = EtcdCluster(os.path.join(base, "etcd"))
    nodes, plain = [], None
    try:
        cluster.start()
        eps = "|".join(cluster.endpoints())
        opts = lambda name: f"etcd={eps},etcd_prefix=/pkifs/bench{i},etcd_node={name}"
        nodes = [Node(a.bin, base, n, opts(n)) for n in NODES]
        plain = Node(a.bin, base, "plain", "")
        for n in nodes + [plain]:
            n.mount()
        files = sorted(os.path.join(certs, x) for x in os.listdir(certs) if x.startswith("cert-"))
        etcd_floor(cluster, a.samples, os.path.getsize(files[0]), r)
        propagation(nodes, files[:a.samples], r)
        want = imports(nodes, plain, files[a.samples:], r)
        memory(nodes, plain, cluster, r)
        initial_sync(a, base, opts, want, r)
        for n in nodes + [plain]:
            n.umount()
            n.check()
    finally:
        for n in nodes + ([plain] if plain else []):
            n.umount()
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    return r


ORDER = ["etcd_put_p50_ms", "etcd_put_p99_ms", "cp_p50_ms", "cp_p99_ms", "propagation_p50_ms", "propagation_p99_ms", "import_fleet_s",
         "import_plain_s", "import_ratio", "import_all_nodes_s", "initial_sync_s", "rss_n1_kib",
         "rss_n2_kib", "rss_n3_kib", "rss_new_node_kib", "rss_plain_kib", "rss_etcd_member_max_kib"]


def report(rounds, a):
    med = {k: statistics.median(r[k] for r in rounds) for k in ORDER}
    print(f"pkifs fleet benchmark: 3 mounts, 3 etcd members on 127.0.0.1 (data on {a.dir}),"
          f" {a.samples} propagation samples, import of {a.n}; median of {len(rounds)} round(s)")
    for k in ORDER:
        vals = " ".join(f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for r in rounds)
        m = med[k]
        print(f"{k:26} {m:12.3f}   rounds: {vals}" if isinstance(m, float) else f"{k:26} {m:12}   rounds: {vals}")
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--gencerts", required=True)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp", help="where stores and etcd data live")
    ap.add_argument("--json")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if not (os.path.exists("/usr/bin/etcd") and os.path.exists("/usr/bin/etcdctl")):
        print("bench_fleet: etcd and etcdctl are needed (scripts/install-deps.sh)", file=sys.stderr)
        return 1
    gen = tempfile.mkdtemp(prefix="pkifs-bench-fleet-certs-", dir=a.dir)
    try:
        sh(a.gencerts, gen, a.n + a.samples)
        rounds = []
        for i in range(a.rounds):
            rounds.append(run_round(i, a, gen))
            print(f"round {i + 1}/{a.rounds} done", file=sys.stderr)
        med = report(rounds, a)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"n": a.n, "samples": a.samples, "rounds": rounds, "median": med}, f, indent=1)
            print(f"JSON: {a.json}")
    finally:
        shutil.rmtree(gen, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
