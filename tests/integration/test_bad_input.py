"""One test per kind of bad input: the errno at close, nothing visible, the
store unchanged, and the reason in the audit log."""
import errno
import os

import pytest

from conftest import run, write_file

# (id, folder, source file in the test PKI, errno, words the log must give)
CASES = [
    ("garbage", "trusted/certs", "bad/garbage.der", errno.EBADMSG, "neither PEM nor DER|not a certificate|DER"),
    ("truncated-der", "trusted/certs", "bad/truncated.der", errno.EBADMSG, "truncated"),
    ("bad-base64", "trusted/certs", "bad/badbase64.pem", errno.EBADMSG, "PEM block"),
    ("empty-armor", "trusted/certs", "bad/empty-armor.pem", errno.EBADMSG, "PEM"),
    ("trailing-garbage", "trusted/certs", "bad/trailing-garbage.der", errno.EBADMSG, "trailing data"),
    ("unrelated-certs", "trusted/certs", "unrelated.pem", errno.EINVAL, "must be a chain"),
    ("crl-in-certs", "trusted/certs", "root-ca.crl", errno.EINVAL, "takes certificates; this file is a CRL"),
    ("key-in-certs", "trusted/certs", "app1.key.pkcs8.pem", errno.EINVAL, "this file is a private key"),
    ("leaf-in-issuers", "issuers/certs", "leaf1.der", errno.EPERM, "only CA certificates"),
    ("selfsigned-noca-in-issuers", "issuers/certs", "noca-selfsigned.der", errno.EPERM, "not a CA"),
    ("crl-unknown-ca", "trusted/crl", "other-ca.crl", errno.ENOKEY, "no CA certificate for CRL issuer"),
    ("cert-in-crl", "issuers/crl", "root-ca.der", errno.EINVAL, "takes CRLs"),
    ("cert-in-private", "own/private", "app1.der", errno.EINVAL, "takes private keys"),
    ("oversized", "trusted/certs", "bad/big.der", errno.EFBIG, "cap"),
    ("text-in-rejected", "rejected", "bad/text.txt", errno.EBADMSG, "neither PEM nor DER"),
    ("key-in-rejected", "rejected", "app1.key.der", errno.EINVAL, "private key"),
    ("key-in-trusted", "trusted", "app1.key.pkcs8.pem", errno.EINVAL, "holds only folders"),
]


def listing(m):
    out = {}
    for d, _, files in os.walk(m.path):
        if "/snapshot" in d or "/capath" in d:
            continue
        for f in files:
            if f != "cafile.pem":
                out[os.path.join(d, f)] = open(os.path.join(d, f), "rb").read()
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_refused(mnt, pki, case):
    _, folder, src, want, words = case
    before = listing(mnt)
    name = os.path.basename(src)
    target = mnt.p(folder, name)
    err = write_file(target, (pki / src).read_bytes())
    assert err is not None, f"{src} into {folder} was accepted"
    assert err.errno == want, f"got {errno.errorcode.get(err.errno)}, want {errno.errorcode[want]}"
    assert not os.path.exists(target)
    assert name not in os.listdir(mnt.p(folder))
    assert listing(mnt) == before
    log = mnt.log().splitlines()
    refusals = [line for line in log if "refused" in line and name in line]
    assert refusals, f"no refusal in the log:\n{chr(10).join(log)}"
    import re
    assert re.search(words, refusals[-1]), refusals[-1]


def test_duplicate_under_another_name_is_kept_and_logged(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/first.der"))
    err = write_file(mnt.p("trusted/certs/second.pem"), (pki / "leaf1.pem").read_bytes())
    assert err is None
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["first.der", "second.pem"]
    assert "also held as trusted/certs/first.der" in mnt.log()


def test_cp_reports_the_refusal(mnt, pki):
    r = run("cp", pki / "bad/garbage.der", mnt.p("trusted/certs/"), check=False)
    assert r.returncode != 0
    assert "Bad message" in r.stderr
    assert os.listdir(mnt.p("trusted/certs")) == []


def test_overwrite_with_garbage_keeps_old_bytes(mnt, pki):
    good = (pki / "leaf1.der").read_bytes()
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/x.der"))
    err = write_file(mnt.p("trusted/certs/x.der"), b"not a certificate at all")
    assert err is not None and err.errno == errno.EBADMSG
    assert open(mnt.p("trusted/certs/x.der"), "rb").read() == good


def test_crl_signed_by_wrong_key(mnt, pki, workdir):
    """A CRL naming a CA in the store but signed by another key."""
    run("cp", pki / "other-ca.der", mnt.p("trusted/certs/"))
    # root-ca.crl names root-ca; put a different CA with root-ca's name? Use
    # intermediate's CRL against a store holding only a same-named impostor.
    impostor = workdir / "impostor"
    impostor.mkdir()
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", impostor / "k.pem", "-out", impostor / "c.pem",
        "-subj", "/O=pkifs test/CN=Test Intermediate CA", "-days", "30",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("cp", impostor / "c.pem", mnt.p("issuers/certs/impostor.pem"))
    err = write_file(mnt.p("issuers/crl/i.crl"), (pki / "intermediate-ca.crl").read_bytes())
    assert err is not None and err.errno == errno.EKEYREJECTED
    assert os.listdir(mnt.p("issuers/crl")) == []
    assert "signature does not verify" in mnt.log()


def test_mkdir_refused(mnt):
    with pytest.raises(OSError) as e:
        os.mkdir(mnt.p("trusted/certs/sub"))
    assert e.value.errno == errno.EPERM
    assert "only lock directories" in mnt.log()


def test_links_and_devices_refused(mnt, pki):
    run("cp", pki / "leaf1.der", mnt.p("trusted/certs/a.der"))
    for make in (lambda: os.symlink("a.der", mnt.p("trusted/certs/s")),
                 lambda: os.link(mnt.p("trusted/certs/a.der"), mnt.p("trusted/certs/h")),
                 lambda: os.mkfifo(mnt.p("trusted/certs/f"))):
        with pytest.raises(OSError) as e:
            make()
        assert e.value.errno == errno.EPERM
    assert sorted(os.listdir(mnt.p("trusted/certs"))) == ["a.der"]
