"""pkifs verify: the OPC UA validation steps against a mounted store, each
verdict compared with what `openssl verify` says of the same files."""
import json
import subprocess

from conftest import BIN, run


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
