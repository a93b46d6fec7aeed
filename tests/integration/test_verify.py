"""pkifs verify: the OPC UA validation steps against a mounted store, each
verdict compared with what `openssl verify` says of the same files."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, run
from opcua_scenario import OPCUA, node_modules


def verify(mnt, cert, *opts):
    r = subprocess.run([BIN, "verify", str(cert), mnt.path, "--json", *opts], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode in (0, 1), r.stderr
    out = json.loads(r.stdout)
    assert out["accepted"] == (r.returncode == 0)
    return out, {s["step"]: (s["verdict"], s["why"]) for s in out["steps"]}


def openssl_verify(pki, cert, *opts):
    return run("openssl", "verify", *opts, cert, check=False)


def store_ca(mnt, pki, crls=True):
    run("cp", pki / "root-ca.der", mnt.p("trusted/certs/"))
    run("cp", pki / "intermediate-ca.pem", mnt.p("issuers/certs/"))
    if crls:
        run("cp", pki / "root-ca.crl", mnt.p("trusted/crl/"))
        run("cp", pki / "intermediate-ca.crl", mnt.p("issuers/crl/"))


def crl_opts(pki):
    return ("-CAfile", pki / "root-ca.pem", "-untrusted", pki / "intermediate-ca.pem", "-crl_check_all",
            "-CRLfile", pki / "root-ca.crl.pem", "-CRLfile", pki / "intermediate-ca.crl.pem")


def test_valid_leaf_is_accepted_like_openssl(mnt, pki):
    store_ca(mnt, pki)
    out, steps = verify(mnt, pki / "leaf1.der", "--as", "client")
    assert out["accepted"], steps
    assert out["chain"] == "leaf1 <- Test Intermediate CA <- Test Root CA"
    assert steps["trust list"] == ("ok", "trusted/ holds Test Root CA")
    assert openssl_verify(pki, pki / "leaf1.pem", *crl_opts(pki)).returncode == 0


def test_revoked_leaf_is_rejected_like_openssl(mnt, pki):
    store_ca(mnt, pki)
    out, steps = verify(mnt, pki / "leaf2.der")
    assert not out["accepted"]
    assert steps["revocation"][0] == "FAIL" and "revoked" in steps["revocation"][1]
    r = openssl_verify(pki, pki / "leaf2.pem", *crl_opts(pki))
    assert r.returncode != 0 and "revoked" in r.stdout + r.stderr


def test_missing_crl_is_unknown_revocation(mnt, pki):
    store_ca(mnt, pki, crls=False)
    run("cp", pki / "root-ca.crl", mnt.p("trusted/crl/"))
    out, steps = verify(mnt, pki / "leaf1.der")
    assert not out["accepted"]
    assert steps["revocation"][0] == "unknown" and "Test Intermediate CA" in steps["revocation"][1]
    out, steps = verify(mnt, pki / "leaf1.der", "--allow-unknown-revocation")
    assert out["accepted"], steps
    r = openssl_verify(pki, pki / "leaf1.pem", "-CAfile", pki / "root-ca.pem", "-untrusted",
                       pki / "intermediate-ca.pem", "-crl_check_all", "-CRLfile", pki / "root-ca.crl.pem")
    assert r.returncode != 0 and "unable to get certificate CRL" in r.stdout + r.stderr


def test_expired_and_unknown_issuer(mnt, pki):
    store_ca(mnt, pki)
    run("cp", pki / "expired.der", mnt.p("trusted/certs/"))
    out, steps = verify(mnt, pki / "expired.der", "--allow-unknown-revocation")
    assert not out["accepted"] and steps["validity"][0] == "FAIL"
    assert steps["trust list"][0] == "ok"
    r = openssl_verify(pki, pki / "expired.pem", "-CAfile", pki / "expired.pem")
    assert r.returncode != 0 and "expired" in r.stdout + r.stderr
    out, steps = verify(mnt, pki / "other-leaf.der")
    assert not out["accepted"] and steps["chain"][0] == "FAIL"
    assert steps["trust list"][0] == "FAIL"
    r = openssl_verify(pki, pki / "other-leaf.pem", "-CAfile", pki / "root-ca.pem")
    assert r.returncode != 0 and "unable to get local issuer" in r.stdout + r.stderr


def test_ca_only_in_issuers_trusts_nothing(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("issuers/certs/"))
    run("cp", pki / "intermediate-ca.pem", mnt.p("issuers/certs/"))
    run("cp", pki / "root-ca.crl", mnt.p("issuers/crl/"))
    run("cp", pki / "intermediate-ca.crl", mnt.p("issuers/crl/"))
    out, steps = verify(mnt, pki / "leaf1.der")
    assert not out["accepted"]
    assert steps["chain"][0] == "ok" and steps["revocation"][0] == "ok"
    assert steps["trust list"][0] == "FAIL" and "issuers/ only builds chains" in steps["trust list"][1]
    # trusting the leaf itself is enough, with the chain from issuers/
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/"))
    assert verify(mnt, pki / "leaf1.der")[0]["accepted"]


def test_wrong_usage_and_weak_key(mnt, pki, workdir):
    store_ca(mnt, pki)
    ext = workdir / "ext.cnf"
    ext.write_text("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n"
                   "extendedKeyUsage = codeSigning\n")
    run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", workdir / "cs.key",
        "-subj", "/CN=code-signer", "-out", workdir / "cs.csr")
    run("openssl", "x509", "-req", "-in", workdir / "cs.csr", "-CA", pki / "intermediate-ca.pem",
        "-CAkey", pki / "intermediate-ca.key.pem", "-set_serial", "4660", "-days", "30", "-extfile", ext,
        "-out", workdir / "cs.pem")
    out, steps = verify(mnt, workdir / "cs.pem", "--as", "server")
    assert not out["accepted"] and steps["key usage"] == ("FAIL", "extended key usage lacks serverAuth")
    assert verify(mnt, workdir / "cs.pem")[0]["accepted"]  # no usage asked for
    r = openssl_verify(pki, workdir / "cs.pem", "-purpose", "sslserver", *crl_opts(pki))
    assert r.returncode != 0 and "unsuitable certificate purpose" in r.stdout + r.stderr
    run("openssl", "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", workdir / "weak.key",
        "-subj", "/CN=weak", "-days", "30", "-out", workdir / "weak.pem")
    run("cp", workdir / "weak.pem", mnt.p("trusted/certs/"))
    out, steps = verify(mnt, workdir / "weak.pem", "--allow-unknown-revocation")
    assert not out["accepted"] and steps["policy"][0] == "FAIL" and "2048" in steps["policy"][1]


def test_unreadable_certificate(mnt, pki):
    r = subprocess.run([BIN, "verify", pki / "bad/garbage.der", mnt.path], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "structure   FAIL" in r.stdout
    r = subprocess.run([BIN, "verify", "/nonexistent.der", mnt.path], capture_output=True, text=True)
    assert r.returncode == 2 and "cannot read" in r.stderr


@pytest.mark.skipif(not shutil.which("node") or not shutil.which("npm"), reason="node and npm are needed")
def test_verdicts_agree_with_node_opcua(mnt, pki):
    """node-opcua's certificate manager on the same mount: it trusts a
    certificate when it or its direct issuer is in trusted/ (pkifs verify:
    any CA of the chain, as Part 4 says), so both CAs are trusted here."""
    env = dict(os.environ, NODE_PATH=node_modules())

    def node_says(cert):
        r = subprocess.run(["node", str(OPCUA / "check.js"), mnt.path, str(cert)], env=env,
                           capture_output=True, text=True, timeout=120)
        status = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("STATUS ")]
        assert status, r.stdout + r.stderr
        return status[0]

    run("cp", pki / "root-ca.der", pki / "intermediate-ca.der", mnt.p("trusted/certs/"))
    run("cp", pki / "root-ca.crl", pki / "intermediate-ca.crl", mnt.p("trusted/crl/"))
    run("cp", pki / "app1.der", mnt.p("trusted/certs/"))
    cases = {"leaf1": "Good", "leaf2": "BadCertificateRevoked", "other-leaf": None,
             "expired": None, "app1": "Good"}
    for name, want in cases.items():
        got = node_says(pki / f"{name}.der")
        ours = verify(mnt, pki / f"{name}.der")[0]["accepted"]
        assert (got == "Good") == ours, (name, got, ours)
        if want:
            assert got == want, (name, got)
    os.unlink(mnt.p("trusted/crl/intermediate-ca.crl"))
    assert node_says(pki / "leaf1.der") == "BadCertificateRevocationUnknown"
    out, steps = verify(mnt, pki / "leaf1.der")
    assert not out["accepted"] and steps["revocation"][0] == "unknown"


def test_not_yet_valid_like_openssl(mnt, pki, workdir):
    """A leaf of the intermediate CA whose validity starts in ten days."""
    store_ca(mnt, pki)
    (workdir / "index.txt").write_text("")
    (workdir / "serial").write_text("1000\n")
    (workdir / "ca.cnf").write_text(
        f"[ca]\ndefault_ca = d\n[d]\ndatabase = {workdir}/index.txt\nnew_certs_dir = {workdir}\n"
        f"serial = {workdir}/serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n"
        "[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n"
        "extendedKeyUsage = serverAuth, clientAuth\n")
    run("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", workdir / "f.key",
        "-subj", "/CN=future", "-out", workdir / "f.csr")
    start = subprocess.run(["date", "-u", "-d", "+10 days", "+%Y%m%d%H%M%SZ"], capture_output=True,
                           text=True).stdout.strip()
    end = subprocess.run(["date", "-u", "-d", "+40 days", "+%Y%m%d%H%M%SZ"], capture_output=True,
                         text=True).stdout.strip()
    run("openssl", "ca", "-batch", "-config", workdir / "ca.cnf", "-cert", pki / "intermediate-ca.pem",
        "-keyfile", pki / "intermediate-ca.key.pem", "-in", workdir / "f.csr", "-extensions", "leaf",
        "-notext", "-startdate", start, "-enddate", end, "-out", workdir / "future.pem")
    out, steps = verify(mnt, workdir / "future.pem")
    assert not out["accepted"]
    assert steps["validity"][0] == "FAIL" and "not yet valid" in steps["validity"][1]
    assert steps["trust list"][0] == "ok" and steps["revocation"][0] == "ok"
    r = openssl_verify(pki, workdir / "future.pem", *crl_opts(pki))
    assert r.returncode != 0 and "not yet valid" in r.stdout + r.stderr
