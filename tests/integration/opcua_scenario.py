"""An OPC UA server (node-opcua) on a PKI root: it sets itself up on the
empty root, refuses an unknown client whose certificate lands in rejected/,
lets it in after a shell mv to trusted/certs/, refuses it again after rm."""
import os
import pathlib
import socket
import subprocess
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
OPCUA = REPO / "tests" / "opcua"


def node_modules():
    r = subprocess.run([str(REPO / "scripts" / "install-node-deps.sh")], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, "node-opcua install failed: " + r.stderr
    return os.path.join(r.stdout.strip().splitlines()[-1], "node_modules")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(env, endpoint, pki):
    r = subprocess.run(["node", str(OPCUA / "client.js"), endpoint, pki], env=env,
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr[-2000:]


def until(fn, want, seconds):
    """Call fn until its first result is want, for at most seconds."""
    deadline = time.time() + seconds
    while True:
        got = fn()
        if got[0] == want or time.time() > deadline:
            return got
        time.sleep(0.5)


def files(root):
    """The files under the folders an OPC UA stack uses, relative to root,
    sorted: what the stack made and what the scenario changed."""
    out = []
    for top in ("own", "trusted", "issuers", "rejected"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            out += [os.path.relpath(os.path.join(dirpath, n), root) for n in names]
    return sorted(out)


def run_opcua_scenario(pki_root, workdir):
    """Run the scenario; return the files under pki_root after each step."""
    env = dict(os.environ, NODE_PATH=node_modules())
    port = free_port()
    log = open(os.path.join(workdir, "server.log"), "w+")
    server = subprocess.Popen(["node", str(OPCUA / "server.js"), pki_root, str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    root = pathlib.Path(pki_root)
    steps = []

    def tail():
        log.flush()
        log.seek(0)
        return log.read()[-3000:]

    try:
        deadline = time.time() + 90
        while "READY" not in tail():
            assert server.poll() is None and time.time() < deadline, "server did not start:\n" + tail()
            time.sleep(0.2)
        endpoint = f"opc.tcp://localhost:{port}"
        # (1) the server set itself up on the empty root
        assert list((root / "own" / "certs").glob("*.pem")), tail()
        assert (root / "own" / "private" / "private_key.pem").exists()
        assert (root / "own" / "openssl.cnf").exists()
        steps.append(files(pki_root))
        # (2) an unknown client is refused and lands in rejected/
        cpki = os.path.join(workdir, "client-pki")
        code, err = client(env, endpoint, cpki)
        assert code == 3, f"unknown client not refused ({code}): {err}\n{tail()}"
        rejected = [p for p in (root / "rejected").iterdir() if p.is_file()]
        assert len(rejected) == 1, f"rejected/: {rejected}"
        steps.append(files(pki_root))
        # (3) trust it with mv
        subprocess.run(["mv", str(rejected[0]), str(root / "trusted" / "certs") + "/"], check=True)
        code, err = until(lambda: client(env, endpoint, cpki), 0, 30)
        assert code == 0, f"trusted client refused ({code}): {err}\n{tail()}"
        steps.append(files(pki_root))
        # (4) and remove it again
        subprocess.run(["rm", str(root / "trusted" / "certs" / rejected[0].name)], check=True)
        code, err = until(lambda: client(env, endpoint, cpki), 3, 30)
        assert code == 3, f"removed client still accepted ({code}): {err}\n{tail()}"
        steps.append(files(pki_root))
        return steps
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
