"""Certificate signing requests in own/certs, as OPC UA tooling keeps them
(node-opcua-pki writes certificate_<time>.csr there), and nowhere else."""
import errno
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, run, write_file
from opcua_scenario import node_modules


def request(workdir, outform="PEM"):
    out = workdir / f"req.{outform.lower()}"
    run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", workdir / "req.key",
        "-subj", "/CN=requested", "-outform", outform, "-out", out)
    return out


@pytest.mark.parametrize("outform", ["PEM", "DER"])
def test_own_certs_keeps_a_request_and_pairs_it(mnt, workdir, outform):
    csr = request(workdir, outform)
    run("cp", workdir / "req.key", mnt.p("own/private/req.key"))
    run("cp", csr, mnt.p("own/certs/"))
    with open(mnt.p("own/certs", csr.name), "rb") as f:
        assert f.read() == csr.read_bytes()
    assert f"put      own/certs/{csr.name}" in mnt.log() and "paired with own/private/req.key" in mnt.log()
    rows = json.loads(subprocess.run([BIN, "list", mnt.path, "own", "--json"], capture_output=True,
                                     text=True).stdout)
    assert {(r["name"], r["kind"], r["subject_cn"]) for r in rows} >= {(csr.name, "CSR", "requested")}
    assert os.listdir(mnt.p("capath")) == []  # never a trust anchor


@pytest.mark.parametrize("folder", ["trusted/certs", "issuers/certs", "rejected", "own/private",
                                    "trusted/crl"])
def test_a_request_elsewhere_is_einval_with_the_reason(mnt, workdir, folder):
    csr = request(workdir)
    err = write_file(mnt.p(folder, "req.pem"), csr.read_bytes())
    assert err is not None and err.errno == errno.EINVAL, err
    assert "req.pem" not in os.listdir(mnt.p(folder))
    assert "this file is a certificate signing request" in mnt.log()


@pytest.mark.skipif(not shutil.which("node") or not shutil.which("npm"), reason="node and npm are needed")
def test_node_opcua_pki_certificate_with_a_ca(mnt, workdir):
    """`pki certificate --PKIFolder MOUNT` with a CA: the request, the key and
    the signed certificate (written twice, under two names) all land."""
    env = dict(os.environ, NODE_PATH=node_modules())
    pki = [str(node_modules() + "/node-opcua-pki/dist/bin/pki.js")]
    run("node", *pki, "createCA", "--root", workdir / "ca", "--silent", env=env)
    out = mnt.p("own/certs/certificate.pem")
    r = run("node", *pki, "certificate", "--root", workdir / "ca", "--CAFolder", workdir / "ca" / "CA",
            "--PKIFolder", mnt.path, "-a", "urn:pkifs:test:pki", "-o", out, "--silent", env=env,
            check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    names = os.listdir(mnt.p("own/certs"))
    assert any(n.endswith(".csr") for n in names), names
    assert "certificate.pem" in names and len([n for n in names if n.endswith(".pem")]) == 2, names
    assert os.listdir(mnt.p("own/private")) == ["private_key.pem"]
    assert "refused" not in mnt.log(), mnt.log()
    text = run("openssl", "x509", "-noout", "-text", "-in", out).stdout
    assert "URI:urn:pkifs:test:pki" in text
