"""A real etcd cluster on 127.0.0.1 for the fleet tests.

Starts N members (Debian's etcd 3.4, /usr/bin/etcd) on free ports with data
directories under a given base directory, and can SIGKILL and restart single
members to take quorum away and give it back. stop() ends every member; use
the class as a context manager (or call stop() in a fixture's finally) so
that no etcd outlives a failing test. Each member also gets
PR_SET_PDEATHSIG, so a killed test runner takes its etcd members with it.
"""
import ctypes
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid

ETCD = os.environ.get("PKIFS_ETCD", "/usr/bin/etcd")
ETCDCTL = os.environ.get("PKIFS_ETCDCTL", "/usr/bin/etcdctl")


def _die_with_parent():
    """preexec_fn: the member gets SIGKILL when the test runner dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (all bound at once, so distinct)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class EtcdError(AssertionError):
    pass


class EtcdCluster:
    """A size-member etcd cluster; members are numbered 0..size-1."""

    def __init__(self, base, size=3, heartbeat_ms=50, election_ms=500):
        self.base = pathlib.Path(base)
        self.size = size
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.token = "pkifs-test-" + uuid.uuid4().hex[:12]
        self.dir = self.base / self.token
        self.names = [f"etcd{i}" for i in range(size)]
        self.procs = [None] * size
        self.logs = [None] * size
        self.client_ports = []
        self.peer_ports = []

    # -- addresses -------------------------------------------------------
    def client_url(self, i):
        return f"http://127.0.0.1:{self.client_ports[i]}"

    def peer_url(self, i):
        return f"http://127.0.0.1:{self.peer_ports[i]}"

    def endpoints(self):
        """Client URLs of all members (running or not), in member order."""
        return [self.client_url(i) for i in range(self.size)]

    def alive(self):
        """Indices of the members whose process runs."""
        return [i for i, p in enumerate(self.procs) if p is not None and p.poll() is None]

    # -- processes -------------------------------------------------------
    def _argv(self, i):
        cluster = ",".join(f"{self.names[j]}={self.peer_url(j)}" for j in range(self.size))
        # With an existing data dir (a restart) etcd ignores the --initial-* flags.
        return [
            ETCD,
            "--name", self.names[i],
            "--data-dir", str(self.dir / f"{self.names[i]}.etcd"),
            "--listen-client-urls", self.client_url(i),
            "--advertise-client-urls", self.client_url(i),
            "--listen-peer-urls", self.peer_url(i),
            "--initial-advertise-peer-urls", self.peer_url(i),
            "--initial-cluster", cluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", self.token,
            "--heartbeat-interval", str(self.heartbeat_ms),
            "--election-timeout", str(self.election_ms),
            "--logger", "zap",
            "--log-outputs", "stderr",
        ]

    def _launch(self, i):
        assert self.procs[i] is None or self.procs[i].poll() is not None, f"member {i} runs"
        logpath = self.dir / f"{self.names[i]}.log"
        log = open(logpath, "ab")
        log.write(f"==== start {time.strftime('%H:%M:%S')} ====\n".encode())
        log.flush()
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("ETCD_") or k.startswith("ETCDCTL_"):
                del env[k]  # no stray configuration from the environment
        self.procs[i] = subprocess.Popen(self._argv(i), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         preexec_fn=_die_with_parent)
        if self.logs[i] is not None:
            self.logs[i].close()
        self.logs[i] = log

    def log_tail(self, i, n=4000):
        try:
            return (self.dir / f"{self.names[i]}.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def start(self, timeout=30):
        """Start every member on fresh ports; wait until the cluster serves.
        Retries with new ports if one was taken between picking and binding."""
        last = None
        for attempt in range(3):
            self.dir.mkdir(parents=True, exist_ok=True)
            ports = _free_ports(2 * self.size)
            self.client_ports, self.peer_ports = ports[:self.size], ports[self.size:]
            for i in range(self.size):
                self._launch(i)
            try:
                self.wait_healthy(timeout)
                return self
            except EtcdError as e:
                last = e
                tails = "".join(self.log_tail(i) for i in range(self.size))
                self.stop()
                if "address already in use" not in tails:
                    raise
                # fresh data dirs for the next attempt (a half-made cluster id)
                self.token = "pkifs-test-" + uuid.uuid4().hex[:12]
                self.dir = self.base / self.token
        raise last

    def kill(self, i):
        """SIGKILL member i and reap it."""
        p = self.procs[i]
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=30)

    def restart(self, i, wait=True, timeout=30):
        """Start member i again on its ports with its data dir."""
        self.kill(i)
        self._launch(i)
        if wait:
            self.wait_member(i, timeout)

    def stop(self, grace=1.0):
        """End every member (SIGTERM, then SIGKILL after grace seconds: members
        stopped together wait for each other's leader transfer for seconds,
        and the data is thrown away). Safe to call twice."""
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.terminate()
        deadline = time.time() + grace
        for p in self.procs:
            if p is None:
                continue
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=30)
        for i, log in enumerate(self.logs):
            if log is not None:
                log.close()
                self.logs[i] = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- etcdctl ---------------------------------------------------------
    def etcdctl(self, *args, endpoints=None, check=True, timeout=30, text=True):
        """Run etcdctl (API v3) against endpoints (default: every member).
        Returns the CompletedProcess; raises EtcdError if check and it failed."""
        eps = endpoints if endpoints is not None else self.endpoints()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
        env["ETCDCTL_API"] = "3"
        cmd = [ETCDCTL, "--endpoints=" + ",".join(eps), "--dial-timeout=2s",
               "--command-timeout=5s"] + [str(a) for a in args]
        try:
            r = subprocess.run(cmd, capture_output=True, text=text, env=env, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            if check:
                raise EtcdError(f"{' '.join(cmd)} timed out") from e
            return subprocess.CompletedProcess(cmd, -1, "" if text else b"", "timeout")
        if check and r.returncode != 0:
            raise EtcdError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
        return r

    def healthy(self, members=None):
        """True when every given member (default: the running ones) answers a
        quorum read (etcdctl endpoint health does a linearizable get)."""
        members = self.alive() if members is None else members
        if not members:
            return False
        r = self.etcdctl("endpoint", "health", endpoints=[self.client_url(i) for i in members],
                         check=False, timeout=15)
        return r.returncode == 0

    def wait_healthy(self, timeout=30, members=None):
        """Wait until the (given or running) members serve quorum reads."""
        deadline = time.time() + timeout
        while True:
            dead = [i for i in range(self.size)
                    if self.procs[i] is not None and self.procs[i].poll() is not None
                    and (members is None or i in members)]
            if members is not None and dead:
                raise EtcdError(f"member(s) {dead} exited:\n" + "".join(self.log_tail(i) for i in dead))
            if self.healthy(members):
                return
            if time.time() > deadline:
                tails = "\n".join(f"--- {self.names[i]}:\n{self.log_tail(i)}" for i in range(self.size))
                raise EtcdError(f"etcd cluster not healthy after {timeout}s\n{tails}")
            time.sleep(0.2)

    def wait_member(self, i, timeout=30):
        """Wait until member i serves quorum reads (it rejoined a quorum)."""
        self.wait_healthy(timeout, members=[i])

    def status(self, members=None):
        """etcdctl endpoint status -w json of the given (default running) members."""
        members = self.alive() if members is None else members
        r = self.etcdctl("endpoint", "status", "-w", "json",
                         endpoints=[self.client_url(i) for i in members])
        return json.loads(r.stdout)

    def revision(self):
        """The cluster's current revision (a quorum read's header)."""
        r = self.etcdctl("get", "/", "-w", "json", endpoints=[self.client_url(i) for i in self.alive()])
        return int(json.loads(r.stdout)["header"]["revision"])

    def leader(self):
        """Index of the member that is leader, or None."""
        for st in self.status():
            if st["Status"]["leader"] == st["Status"]["header"]["member_id"]:
                return self.endpoints().index(st["Endpoint"])
        return None

    def compact(self, revision=None, physical=True):
        rev = self.revision() if revision is None else revision
        args = ["compact", str(rev)] + (["--physical"] if physical else [])
        self.etcdctl(*args, endpoints=[self.client_url(i) for i in self.alive()])
        return rev

    def get_prefix(self, prefix, members=None):
        """{key: value bytes} of every key under prefix (values as stored)."""
        import base64
        members = self.alive() if members is None else members
        r = self.etcdctl("get", "--prefix", prefix, "-w", "json",
                         endpoints=[self.client_url(i) for i in members])
        kvs = json.loads(r.stdout).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(errors="replace"): base64.b64decode(kv.get("value", ""))
                for kv in kvs}

    def keys(self, prefix):
        return sorted(self.get_prefix(prefix))
