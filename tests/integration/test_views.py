"""capath/ and cafile.pem: OpenSSL-style views of the trust list, driven by
openssl verify and a real mosquitto broker."""
import errno
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import run


def verify(*args):
    r = run("openssl", "verify", *args, check=False)
    return r.returncode == 0, r.stdout + r.stderr


def trust_hierarchy(m, pki, crls=True):
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    run("cp", pki / "intermediate-ca.der", m.p("issuers/certs/"))
    if crls:
        run("cp", pki / "root-ca.crl", m.p("trusted/crl/"))
        run("cp", pki / "intermediate-ca.crl", m.p("issuers/crl/"))


def test_capath_names_match_openssl_rehash(mnt, pki, workdir):
    trust_hierarchy(mnt, pki)
    run("cp", pki / "app1.pem", mnt.p("trusted/certs/"))
    plain = workdir / "plain"
    plain.mkdir()
    for f in ["root-ca.pem", "intermediate-ca.pem", "app1.pem"]:
        shutil.copy(pki / f, plain / f)
    for f in ["root-ca.crl.pem", "intermediate-ca.crl.pem"]:
        shutil.copy(pki / f, plain / f.replace(".crl.pem", ".crl"))
    run("openssl", "rehash", plain)
    want = sorted(n for n in os.listdir(plain) if "." in n and n.split(".")[0].isalnum() and len(n.split(".")[0]) == 8)
    assert sorted(os.listdir(mnt.p("capath"))) == want
    for n in want:
        data = open(mnt.p("capath", n), "rb").read()
        assert data.startswith(b"-----BEGIN ")
        assert os.stat(mnt.p("capath", n)).st_size == len(data)
        assert data == open(os.path.realpath(plain / n), "rb").read().replace(b"\r", b"") or b"-----END" in data


def test_verify_capath_and_cafile_follow_trust(mnt, pki):
    trust_hierarchy(mnt, pki, crls=False)
    leaf = str(pki / "leaf1.pem")
    for opt in (["-CApath", mnt.p("capath")], ["-CAfile", mnt.p("cafile.pem")]):
        ok, out = verify(*opt, leaf)
        assert ok, out
    run("rm", mnt.p("trusted/certs/root-ca.der"))
    for opt in (["-CApath", mnt.p("capath")], ["-CAfile", mnt.p("cafile.pem")]):
        ok, out = verify(*opt, leaf)
        assert not ok, out
    run("cp", pki / "root-ca.pem", mnt.p("rejected/"))
    run("mv", mnt.p("rejected/root-ca.pem"), mnt.p("trusted/certs/"))
    for opt in (["-CApath", mnt.p("capath")], ["-CAfile", mnt.p("cafile.pem")]):
        ok, out = verify(*opt, leaf)
        assert ok, out


def test_crl_check_revokes(mnt, pki):
    trust_hierarchy(mnt, pki, crls=False)
    run("cp", pki / "intermediate-ca-empty.crl", mnt.p("issuers/crl/int.crl"))
    for opt in (["-CApath", mnt.p("capath")], ["-CAfile", mnt.p("cafile.pem")]):
        ok, out = verify("-crl_check", *opt, str(pki / "leaf2.pem"))
        assert ok, out
    # replace the CRL with the one revoking leaf2
    run("cp", pki / "intermediate-ca.crl", mnt.p("issuers/crl/int.crl"))
    for opt in (["-CApath", mnt.p("capath")], ["-CAfile", mnt.p("cafile.pem")]):
        ok, out = verify("-crl_check", *opt, str(pki / "leaf2.pem"))
        assert not ok and "revoked" in out, out
        ok, out = verify("-crl_check", *opt, str(pki / "leaf1.pem"))
        assert ok, out


def test_issuers_only_root_is_no_anchor(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("issuers/certs/"))
    run("cp", pki / "intermediate-ca.der", mnt.p("issuers/certs/"))
    assert len(os.listdir(mnt.p("capath"))) == 1  # only the intermediate
    for opt in (["-CApath", mnt.p("capath")], ["-CAfile", mnt.p("cafile.pem")]):
        ok, out = verify(*opt, str(pki / "leaf1.pem"))
        assert not ok, out


def test_cafile_size_and_mtime_move(mnt, pki):
    st0 = os.stat(mnt.p("cafile.pem"))
    assert st0.st_size == 0
    time.sleep(0.01)
    trust_hierarchy(mnt, pki)
    st1 = os.stat(mnt.p("cafile.pem"))
    data = open(mnt.p("cafile.pem"), "rb").read()
    assert st1.st_size == len(data) > 0
    assert data.count(b"BEGIN CERTIFICATE") == 2 and data.count(b"BEGIN X509 CRL") == 2
    assert st1.st_mtime_ns > st0.st_mtime_ns
    time.sleep(0.01)
    run("rm", mnt.p("issuers/crl/intermediate-ca.crl"))
    time.sleep(1.1)  # the kernel's attribute timeout
    st2 = os.stat(mnt.p("cafile.pem"))
    assert st2.st_mtime_ns > st1.st_mtime_ns
    assert st2.st_size == len(open(mnt.p("cafile.pem"), "rb").read()) < st1.st_size


def test_views_cannot_be_changed_and_are_not_in_snapshots(mnt, pki):
    trust_hierarchy(mnt, pki)
    names = sorted(os.listdir(mnt.p("capath")))
    bundle = open(mnt.p("cafile.pem"), "rb").read()
    for bad in (lambda: open(mnt.p("capath", names[0]), "wb"), lambda: open(mnt.p("cafile.pem"), "wb")):
        with pytest.raises(OSError) as e:
            bad()
        assert e.value.errno == errno.EROFS
    # removals and temporary files are accepted and dropped (see the rsync
    # test); a new visible name is not (test_admin.py)
    os.unlink(mnt.p("capath", names[0]))
    with open(mnt.p("capath", ".00000000.0.tmp"), "wb") as f:
        f.write(b"junk")
    assert sorted(os.listdir(mnt.p("capath"))) == names
    assert open(mnt.p("cafile.pem"), "rb").read() == bundle
    os.mkdir(mnt.p("snapshot/s"))
    assert sorted(os.listdir(mnt.p("snapshot/s"))) == ["HttpCerts", "UserTokenCerts", "issuers", "own",
                                                       "rejected", "trusted"]


def test_rsync_restore_of_a_tree_with_views_succeeds(mount_factory, pki, workdir):
    a = mount_factory(name="a")
    trust_hierarchy(a, pki)
    backup = workdir / "full"
    run("rsync", "-a", "--exclude=/snapshot", a.path + "/", f"{backup}/")
    assert (backup / "cafile.pem").exists() and os.listdir(backup / "capath")
    b = mount_factory(name="b")
    run("rsync", "-a", f"{backup}/", b.path + "/")  # exit 0: the views are skipped
    assert sorted(os.listdir(b.p("capath"))) == sorted(os.listdir(a.p("capath")))
    assert open(b.p("cafile.pem"), "rb").read() == open(a.p("cafile.pem"), "rb").read()
    run("rsync", "-a", "--delete", "--exclude=/snapshot", f"{backup}/", b.path + "/")


def test_views_renamed_or_off(mount_factory, pki):
    m = mount_factory("capath=hashed,cafile=off")
    assert "hashed" in os.listdir(m.path) and "capath" not in os.listdir(m.path)
    assert "cafile.pem" not in os.listdir(m.path)
    trust_hierarchy(m, pki)
    ok, out = verify("-CApath", m.p("hashed"), str(pki / "leaf1.pem"))
    assert ok, out


# --- mosquitto -------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def broker(workdir, pki, ca_line):
    port = free_port()
    chain = workdir / "server-chain.pem"
    chain.write_bytes((pki / "leaf1.pem").read_bytes() + (pki / "intermediate-ca.pem").read_bytes())
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"""user root
persistence false
log_dest stderr
listener {port} 127.0.0.1
{ca_line}
certfile {chain}
keyfile {pki / 'leaf1.key.pem'}
require_certificate true
use_identity_as_username true
""")
    p = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise AssertionError("mosquitto did not start: " + p.stdout.read().decode())


def publish(pki, port, cert, key):
    r = run("mosquitto_pub", "-h", "localhost", "-p", port, "--cafile", pki / "root-ca.pem",
            "--cert", pki / cert, "--key", pki / key, "-t", "t", "-m", "hello", "-q", "1",
            check=False)
    return r.returncode == 0


@pytest.mark.skipif(not shutil.which("mosquitto"), reason="mosquitto not installed")
@pytest.mark.parametrize("view", ["capath", "cafile"])
def test_mosquitto_trusts_what_the_mount_trusts(mnt, pki, workdir, view):
    trust_hierarchy(mnt, pki, crls=False)
    line = f"capath {mnt.p('capath')}" if view == "capath" else f"cafile {mnt.p('cafile.pem')}"
    p, port = broker(workdir, pki, line)
    try:
        assert publish(pki, port, "leaf3.pem", "leaf3.key.pem"), "a client of the trusted CA was refused"
        assert not publish(pki, port, "other-leaf.pem", "other-leaf.key.pem"), "an untrusted client got in"
    finally:
        p.terminate()
        p.wait(timeout=10)
    # a CA dropped into trusted/certs is trusted by a (re)started broker
    run("cp", pki / "other-ca.der", mnt.p("trusted/certs/"))
    p, port = broker(workdir, pki, line)
    try:
        assert publish(pki, port, "other-leaf.pem", "other-leaf.key.pem"), "a newly trusted CA was refused"
    finally:
        p.terminate()
        p.wait(timeout=10)
