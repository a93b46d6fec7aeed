"""pkifs own create|renew|import: the application's own certificate and key,
checked with openssl and used by a real OPC UA server (node-opcua)."""
import hashlib
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BIN, run
from opcua_scenario import run_opcua_scenario


def read(path):
    with open(path, "rb") as f:
        return f.read()


def read_new(path, old, seconds=5):
    """path's bytes once they differ from old: a CLI commit shows in the
    mount after the daemon's next poll (250 ms)."""
    deadline = time.time() + seconds
    while read(path) == old and time.time() < deadline:
        time.sleep(0.05)
    return read(path)


def own(*args):
    return subprocess.run([BIN, "own", *map(str, args)], capture_output=True, text=True, timeout=120)


def text(path):
    return run("openssl", "x509", "-inform", "PEM" if str(path).endswith(".pem") else "DER",
               "-noout", "-text", "-in", path).stdout


def pubkey_of_cert(path):
    fmt = "PEM" if str(path).endswith(".pem") else "DER"
    return run("openssl", "x509", "-inform", fmt, "-noout", "-pubkey", "-in", path).stdout


def pubkey_of_key(path):
    return run("openssl", "pkey", "-pubout", "-in", path).stdout


def test_create_follows_the_application_certificate_profile(mnt):
    r = own("create", mnt.path, "--uri", "urn:plant1:server", "--dns", "localhost", "--dns",
            "plc1.example", "--ip", "127.0.0.1", "--org", "Plant 1", "--days", "30")
    assert r.returncode == 0, r.stderr
    cert, key = mnt.p("own/certs/server.der"), mnt.p("own/private/server.pem")
    t = text(cert)
    assert "Subject: CN = server, O = Plant 1" in t
    assert "URI:urn:plant1:server, DNS:localhost, DNS:plc1.example, IP Address:127.0.0.1" in t
    assert ("Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment, "
            "Certificate Sign") in t
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in t
    assert "CA:FALSE" in t and "sha256WithRSAEncryption" in t and "Public-Key: (2048 bit)" in t
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert pubkey_of_cert(cert) == pubkey_of_key(key)
    log = [line for line in mnt.log().splitlines() if "own/" in line]
    assert len(log) == 2 and log[0].split()[1] == log[1].split()[1]  # one generation
    assert "paired with own/certs/server.der" in log[1]


def test_create_ec_and_refusals(mnt):
    r = own("create", mnt.path, "--uri", "urn:plant1:ec", "--key", "ec-p256",
            "--cert-file", "ec.pem", "--key-file", "ec-key.pem")
    assert r.returncode == 0, r.stderr
    t = text(mnt.p("own/certs/ec.pem"))
    assert "ASN1 OID: prime256v1" in t and "Key Agreement" in t
    before = sorted(os.listdir(mnt.p("own/certs")))
    r = own("create", mnt.path, "--uri", "urn:plant1:ec", "--cert-file", "ec.pem",
            "--key-file", "other.pem")
    assert r.returncode == 1 and "ec.pem exists" in r.stderr
    assert sorted(os.listdir(mnt.p("own/certs"))) == before
    assert "other.pem" not in os.listdir(mnt.p("own/private"))
    r = own("create", mnt.path, "--uri", "urn:x", "--key", "dsa512")
    assert r.returncode == 1 and "unknown key type dsa512" in r.stderr
    assert own("create", mnt.path, "--dns", "x").returncode == 2


def test_renew_keeps_names_and_history(mnt):
    assert own("create", mnt.path, "--uri", "urn:plant1:app", "--dns", "localhost").returncode == 0
    cert, key = mnt.p("own/certs/app.der"), mnt.p("own/private/app.pem")
    old_cert, old_key = read(cert), read(key)
    os.mkdir(mnt.p("snapshot/before-renew"))
    r = own("renew", mnt.path, "app.der", "--days", "90")
    assert r.returncode == 0, r.stderr
    new = read_new(cert, old_cert)
    assert new != old_cert and read(key) == old_key
    assert "URI:urn:plant1:app, DNS:localhost" in text(cert)
    assert pubkey_of_cert(cert) == pubkey_of_key(key)
    assert read(mnt.p("snapshot/before-renew/own/certs/app.der")) == old_cert
    r = own("renew", mnt.path, "app.der", "--new-key")
    assert r.returncode == 0, r.stderr
    assert read_new(key, old_key) != old_key
    read_new(cert, new)
    assert pubkey_of_cert(cert) == pubkey_of_key(key)
    assert own("renew", mnt.path, "nosuch.der").returncode == 1


def test_request_then_import(mnt, pki, workdir):
    req = workdir / "req.pem"
    r = own("create", mnt.path, "--uri", "urn:plant1:signed", "--dns", "localhost", "--csr", req)
    assert r.returncode == 0, r.stderr
    assert os.listdir(mnt.p("own/certs")) == [] and os.listdir(mnt.p("own/private")) == ["signed.pem"]
    signed = workdir / "signed.der"
    run("openssl", "x509", "-req", "-in", req, "-CA", pki / "intermediate-ca.pem", "-CAkey",
        pki / "intermediate-ca.key.pem", "-set_serial", "77", "-days", "30", "-copy_extensions",
        "copy", "-outform", "DER", "-out", signed)
    r = own("import", mnt.path, signed)
    assert r.returncode == 0, r.stderr
    assert "paired with own/private/signed.pem" in r.stdout
    t = text(mnt.p("own/certs/signed.der"))
    assert "URI:urn:plant1:signed" in t and "Issuer: O = pkifs test, CN = Test Intermediate CA" in t


@pytest.mark.skipif(not shutil.which("node") or not shutil.which("npm"), reason="node and npm are needed")
def test_node_opcua_server_uses_a_created_certificate(mnt, workdir):
    uri = f"urn:{socket.gethostname()}:NodeOPCUA-Server"
    r = own("create", mnt.path, "--uri", uri, "--dns", "localhost", "--dns", socket.gethostname(),
            "--cert-file", "certificate.pem", "--key-file", "private_key.pem")
    assert r.returncode == 0, r.stderr
    digest = hashlib.sha256(read(mnt.p("own/certs/certificate.pem"))).hexdigest()
    run_opcua_scenario(mnt.path, str(workdir))
    # the server served with this certificate and did not make its own
    assert hashlib.sha256(read(mnt.p("own/certs/certificate.pem"))).hexdigest() == digest
    assert "refused" not in mnt.log()
