"""Certificate groups (OPC UA Part 12): the user-token and https groups are
trust lists of their own beside the application group at the root, with
the same rules, reached by every spelling the stacks use (open62541's
ApplCerts/ UserTokenCerts/ HttpCerts/, UA-.NET's trustedUser/ issuerUser/
trustedHttps/ issuerHttps/), and listed once per layout."""
import errno
import json
import os
import re
import sqlite3
import subprocess

import pytest

from conftest import BIN, run, write_file
from test_bad_input import CASES

GROUP_DIRS = ("own", "own/certs", "own/private", "trusted", "trusted/certs", "trusted/crl",
              "issuer", "issuer/certs", "issuer/crl", "rejected", "rejected/certs")
VIEWS = ("--exclude=/snapshot", "--exclude=/capath", "--exclude=/cafile.pem")


def mkdir_components(root, rel):
    """open62541's mkdir of every path component, 0777; EEXIST is fine."""
    path = root
    for part in rel.split("/"):
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o777)
        except FileExistsError:
            pass


def thumb(pki, name):
    out = run("openssl", "x509", "-inform", "DER", "-in", pki / name, "-noout",
              "-fingerprint", "-sha1").stdout
    return out.strip().split("=")[1].replace(":", "")


def files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def listed(m, *args):
    r = subprocess.run([BIN, "list", m.path, *args, "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {row["path"] for row in json.loads(r.stdout)}


def read_every_file(top):
    """What open62541 does at each load: list the trust folders, stat what
    d_type does not tell, read every regular file."""
    out = {}
    for sub in ("trusted/certs", "trusted/crl", "issuer/certs", "issuer/crl"):
        d = os.path.join(top, sub)
        with os.scandir(d) as it:
            for e in it:
                assert e.is_file(follow_symlinks=False) or e.is_dir()
                if e.is_file():
                    out[f"{sub}/{e.name}"] = open(e.path, "rb").read()
    return out


@pytest.mark.parametrize("layout", [None, "open62541"])
def test_open62541_replay(mount_factory, pki, layout):
    m = mount_factory(f"layout={layout}" if layout else None)
    for group in ("ApplCerts", "UserTokenCerts"):
        for d in GROUP_DIRS:
            mkdir_components(m.path, f"{group}/{d}")
    with pytest.raises(FileExistsError):
        os.mkdir(m.p("ApplCerts"), 0o777)
    # its identity, written with fopen/fwrite: DER certificate, DER key
    name = f"app1[{thumb(pki, 'app1.der')}]"
    assert write_file(m.p("ApplCerts/own/certs", name + ".der"), (pki / "app1.der").read_bytes()) is None
    assert write_file(m.p("ApplCerts/own/private", name + ".key"),
                      (pki / "app1.key.der").read_bytes()) is None
    assert os.listdir(m.p("own/certs")) == [name + ".der"]   # the root's tree
    assert f"paired with own/certs/{name}.der" in m.log()
    # refused clients: rejected/certs unlinked and rewritten wholesale
    for round_ in (("leaf2.der", "leaf3.der"), ("leaf3.der", "leaf1.der")):
        rej = m.p("ApplCerts/rejected/certs")
        for f in os.listdir(rej):
            os.unlink(os.path.join(rej, f))
        for src in round_:
            n = f"{src[:-4]}[{thumb(pki, src)}]"
            assert write_file(os.path.join(rej, n), (pki / src).read_bytes()) is None
    assert sorted(os.listdir(m.p("rejected/certs"))) == sorted(
        f"{s[:-4]}[{thumb(pki, s)}]" for s in ("leaf3.der", "leaf1.der"))
    # trust changes the operator makes with mv, rm and a CRL
    leaf1 = f"leaf1[{thumb(pki, 'leaf1.der')}]"
    os.rename(m.p("ApplCerts/rejected/certs", leaf1), m.p("ApplCerts/trusted/certs", leaf1))
    run("cp", pki / "root-ca.der", m.p("ApplCerts/trusted/certs/"))
    run("cp", pki / "intermediate-ca.der", m.p("ApplCerts/issuer/certs/"))
    run("cp", pki / "intermediate-ca.crl", m.p("ApplCerts/issuer/crl/"))
    run("cp", pki / "root-ca.der", m.p("UserTokenCerts/trusted/certs/"))
    run("cp", pki / "root-ca.crl", m.p("UserTokenCerts/trusted/crl/"))
    app, user = read_every_file(m.p("ApplCerts")), read_every_file(m.p("UserTokenCerts"))
    assert sorted(app) == sorted([f"trusted/certs/{leaf1}", "trusted/certs/root-ca.der",
                                  "issuer/certs/intermediate-ca.der", "issuer/crl/intermediate-ca.crl"])
    assert sorted(user) == ["trusted/certs/root-ca.der", "trusted/crl/root-ca.crl"]
    assert app[f"trusted/certs/{leaf1}"] == (pki / "leaf1.der").read_bytes()
    assert sorted(os.listdir(m.p("trusted/certs"))) == sorted([leaf1, "root-ca.der"])
    log = m.log()
    assert [line for line in log.splitlines()
            if re.search(r" trust +rejected/", line) and f"trusted/certs/{leaf1}" in line], log
    assert "signed by UserTokenCerts/trusted/certs/root-ca.der" in log
    os.unlink(m.p("ApplCerts/trusted/certs", leaf1))
    assert leaf1 not in os.listdir(m.p("trusted/certs"))
    assert os.listdir(m.p("UserTokenCerts/trusted/certs")) == ["root-ca.der"]


@pytest.mark.parametrize("spelling", ["UserTokenCerts/trusted/certs", "trustedUser/certs"])
def test_user_token_certificate_is_validated_and_listed(mnt, pki, spelling):
    assert write_file(mnt.p(spelling, "user.der"), (pki / "leaf1.der").read_bytes()) is None
    for other in ("UserTokenCerts/trusted/certs", "trustedUser/certs"):
        assert os.listdir(mnt.p(other)) == ["user.der"]
    assert listed(mnt, "--group", "user") == {"UserTokenCerts/trusted/certs/user.der"}
    assert listed(mnt, "trustedUser") == {"UserTokenCerts/trusted/certs/user.der"}
    assert listed(mnt, "--group", "app") == set()
    err = write_file(mnt.p(spelling, "key.der"), (pki / "app1.key.der").read_bytes())
    assert err is not None and err.errno == errno.EINVAL
    assert "UserTokenCerts/trusted/certs takes certificates; this file is a private key" in mnt.log()
    assert os.listdir(mnt.p(spelling)) == ["user.der"]


# The application group's folders and the user group's spellings of them.
USER_SPELLING = {
    "trusted/certs": "trustedUser/certs",
    "issuers/certs": "issuerUser/certs",
    "trusted/crl": "UserTokenCerts/trusted/crl",
    "issuers/crl": "issuerUser/crl",
    "own/private": "UserTokenCerts/own/private",
    "rejected": "UserTokenCerts/rejected/certs",
    "trusted": "trustedUser",
}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_in_the_user_group_is_refused_as_in_the_app_group(mnt, pki, case):
    _, folder, src, want, words = case
    name = os.path.basename(src)
    data = (pki / src).read_bytes()
    app = write_file(mnt.p(folder, name), data)
    user = write_file(mnt.p(USER_SPELLING[folder], name), data)
    assert app is not None and user is not None
    assert (app.errno, user.errno) == (want, want)
    assert not os.path.exists(mnt.p(USER_SPELLING[folder], name))
    assert listed(mnt, "--group", "user") == set()
    refusals = [line for line in mnt.log().splitlines()
                if "refused" in line and "UserTokenCerts/" in line and name in line]
    assert refusals and re.search(words, refusals[-1]), refusals


def test_a_file_in_a_group_directory_is_eperm(mnt, pki):
    err = write_file(mnt.p("UserTokenCerts/root-ca.der"), (pki / "root-ca.der").read_bytes())
    assert err is not None and err.errno == errno.EPERM
    assert "UserTokenCerts/ holds only folders" in mnt.log()
    assert sorted(os.listdir(mnt.p("UserTokenCerts"))) == ["issuers", "own", "rejected", "trusted"]


def test_groups_are_independent(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trustedUser/certs/"))
    assert os.listdir(mnt.p("trusted/certs")) == []
    assert os.listdir(mnt.p("capath")) == []
    assert b"BEGIN CERTIFICATE" not in open(mnt.p("cafile.pem"), "rb").read()
    # a CRL is checked against its own group's CAs
    run("cp", pki / "root-ca.crl", mnt.p("trustedUser/crl/"))
    assert "signed by UserTokenCerts/trusted/certs/root-ca.der" in mnt.log()
    err = write_file(mnt.p("trusted/crl/root-ca.crl"), (pki / "root-ca.crl").read_bytes())
    assert err is not None and err.errno == errno.ENOKEY
    assert "in trusted/certs or issuers/certs" in mnt.log()
    assert "root-ca.crl" not in os.listdir(mnt.p("trusted/crl"))
    # and verify answers for the group asked
    run("cp", pki / "intermediate-ca.der", mnt.p("issuerUser/certs/"))
    run("cp", pki / "intermediate-ca.crl", mnt.p("issuerUser/crl/"))
    user = run(BIN, "verify", pki / "leaf1.der", mnt.path, "--group", "user", check=False)
    app = run(BIN, "verify", pki / "leaf1.der", mnt.path, check=False)
    assert (user.returncode, app.returncode) == (0, 1), user.stdout + app.stdout
    r = run(BIN, "verify", pki / "root-ca.der", mnt.path, "--group", "nope", check=False)
    assert r.returncode == 2 and "--group app, user or https" in r.stderr


def test_crl_in_the_user_group_with_a_wrong_signature(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("UserTokenCerts/trusted/certs/"))
    crl = bytearray((pki / "root-ca.crl").read_bytes())
    crl[-1] ^= 0x01   # the last byte of the signature: still a well-formed CRL
    err = write_file(mnt.p("UserTokenCerts/trusted/crl/bad.crl"), bytes(crl))
    assert err is not None and err.errno == errno.EKEYREJECTED
    assert os.listdir(mnt.p("trustedUser/crl")) == []
    crl_ok = (pki / "intermediate-ca.crl").read_bytes()   # its CA is in no group
    err = write_file(mnt.p("issuerUser/crl/i.crl"), crl_ok)
    assert err is not None and err.errno == errno.ENOKEY
    assert "in UserTokenCerts/trusted/certs or UserTokenCerts/issuers/certs" in mnt.log()


def test_https_group(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trustedHttps/certs/"))
    run("cp", pki / "intermediate-ca.der", mnt.p("HttpCerts/issuer/certs/"))
    assert os.listdir(mnt.p("HttpCerts/trusted/certs")) == ["root-ca.der"]
    assert listed(mnt, "--group", "https") == {"HttpCerts/trusted/certs/root-ca.der",
                                              "HttpCerts/issuers/certs/intermediate-ca.der"}
    err = write_file(mnt.p("issuerHttps/certs/leaf1.der"), (pki / "leaf1.der").read_bytes())
    assert err is not None and err.errno == errno.EPERM


def fill_groups(m, pki):
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    run("cp", pki / "intermediate-ca.der", m.p("issuer/certs/"))
    run("cp", pki / "leaf1.der", m.p("rejected/certs/"))
    run("cp", pki / "leaf2.der", m.p("trustedUser/certs/"))
    run("cp", pki / "other-ca.der", m.p("UserTokenCerts/issuer/certs/"))
    run("cp", pki / "leaf3.der", m.p("UserTokenCerts/rejected/"))
    run("cp", pki / "app2.der", m.p("trustedHttps/certs/"))


LAYOUT_FILES = {
    None: ["HttpCerts/trusted/certs/app2.der", "UserTokenCerts/issuers/certs/other-ca.der",
           "UserTokenCerts/rejected/leaf3.der", "UserTokenCerts/trusted/certs/leaf2.der",
           "issuers/certs/intermediate-ca.der", "rejected/leaf1.der", "trusted/certs/root-ca.der"],
    "part12": ["HttpCerts/trusted/certs/app2.der", "UserTokenCerts/issuer/certs/other-ca.der",
               "UserTokenCerts/rejected/certs/leaf3.der", "UserTokenCerts/trusted/certs/leaf2.der",
               "issuer/certs/intermediate-ca.der", "rejected/certs/leaf1.der",
               "trusted/certs/root-ca.der"],
    "open62541": ["ApplCerts/issuer/certs/intermediate-ca.der", "ApplCerts/rejected/certs/leaf1.der",
                  "ApplCerts/trusted/certs/root-ca.der", "HttpCerts/trusted/certs/app2.der",
                  "UserTokenCerts/issuer/certs/other-ca.der",
                  "UserTokenCerts/rejected/certs/leaf3.der",
                  "UserTokenCerts/trusted/certs/leaf2.der"],
    "uanet": ["UserTokenCerts/rejected/certs/leaf3.der", "issuer/certs/intermediate-ca.der",
              "issuerUser/certs/other-ca.der", "rejected/certs/leaf1.der",
              "trusted/certs/root-ca.der", "trustedHttps/certs/app2.der",
              "trustedUser/certs/leaf2.der"],
}


@pytest.mark.parametrize("layout", list(LAYOUT_FILES), ids=lambda x: x or "default")
def test_rsync_copies_each_group_once_and_find_delete_works(mount_factory, pki, workdir, layout):
    m = mount_factory(f"layout={layout}" if layout else None)
    fill_groups(m, pki)
    backup = workdir / "backup"
    run("rsync", "-a", *VIEWS, f"{m.path}/", f"{backup}/")
    assert files(backup) == LAYOUT_FILES[layout]
    os.mkdir(m.p("snapshot/s"))
    assert files(m.p("snapshot/s")) == LAYOUT_FILES[layout]
    # the stacks' mkdir -p of every spelling succeeds whatever the layout
    for d in ("ApplCerts/issuer/certs", "UserTokenCerts/rejected/certs", "HttpCerts/own/private",
              "trustedUser/crl", "issuerUser/certs", "trustedHttps/certs", "issuerHttps/crl"):
        run("mkdir", "-p", m.p(d))
    tops = [m.p(t) for t in os.listdir(m.path) if t not in ("snapshot", "capath", "cafile.pem")]
    r = run("find", *tops, "-type", "f", "-delete", check=False)
    assert r.returncode == 0, r.stderr
    assert listed(m) == set()


def test_rejected_cap_and_refresh_per_group(mount_factory, pki):
    m = mount_factory("max_rejected=2")
    for i, src in enumerate(("leaf1.der", "leaf2.der", "leaf3.der")):
        assert write_file(m.p("UserTokenCerts/rejected/certs", f"u{i}"), (pki / src).read_bytes()) is None
    assert write_file(m.p("rejected/a"), (pki / "leaf1.der").read_bytes()) is None
    assert sorted(os.listdir(m.p("UserTokenCerts/rejected"))) == ["u1", "u2"]
    assert os.listdir(m.p("rejected")) == ["a"]   # the app group's own cap and dedupe
    assert write_file(m.p("UserTokenCerts/rejected/again"), (pki / "leaf3.pem").read_bytes()) is None
    assert sorted(os.listdir(m.p("UserTokenCerts/rejected"))) == ["again", "u1"]
    log = m.log()
    assert "UserTokenCerts/rejected/ is over its cap" in log and "refreshed; was u2" in log


def test_key_pairs_within_its_group(mnt, pki):
    run("cp", pki / "app1.der", mnt.p("UserTokenCerts/own/certs/"))
    run("cp", pki / "app1.key.pem", mnt.p("UserTokenCerts/own/private/"))
    assert "paired with UserTokenCerts/own/certs/app1.der" in mnt.log()
    assert os.stat(mnt.p("UserTokenCerts/own/private/app1.key.pem")).st_mode & 0o777 == 0o600


def test_spellings_have_distinct_inodes(mnt):
    paths = ["issuers/certs", "issuer/certs", "ApplCerts/issuers/certs", "ApplCerts/issuer/certs",
             "UserTokenCerts/issuers", "UserTokenCerts/issuer", "issuerUser"]
    inos = [os.stat(mnt.p(p)).st_ino for p in paths]
    assert len(set(inos)) == len(inos)
    for bad in ("ApplCerts/UserTokenCerts", "ApplCerts/ApplCerts/own", "trustedUser/certs/certs",
                "rejected/certs/certs/x"):
        assert not os.path.exists(mnt.p(bad))


def test_a_store_made_before_the_groups_gets_their_folders(mount_factory, pki):
    m = mount_factory()
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    os.mkdir(m.p("snapshot/old"))
    m.umount()
    db = sqlite3.connect(m.db)
    db.execute("DELETE FROM dir WHERE folder >= 11")
    db.execute("DELETE FROM snapshot_dir WHERE folder >= 11")
    db.commit()
    db.close()
    m.mount()
    run("cp", pki / "leaf1.der", m.p("trustedUser/certs/"))
    assert os.listdir(m.p("snapshot/old/UserTokenCerts/trusted/certs")) == []
    assert os.listdir(m.p("snapshot/old/trusted/certs")) == ["root-ca.der"]
    assert m.check() == ""


def test_a_file_dropped_into_a_groups_trusted_is_filed(mnt, pki):
    run("cp", pki / "root-ca.der", mnt.p("trustedUser/"))
    run("cp", pki / "root-ca.crl", mnt.p("UserTokenCerts/trusted/"))
    assert os.listdir(mnt.p("UserTokenCerts/trusted/certs")) == ["root-ca.der"]
    assert os.listdir(mnt.p("trustedUser/crl")) == ["root-ca.crl"]
    assert sorted(os.listdir(mnt.p("trustedUser"))) == ["certs", "crl"]
    assert "dropped into UserTokenCerts/trusted/" in mnt.log()
    err = write_file(mnt.p("issuerUser/k.der"), (pki / "app1.key.der").read_bytes())
    assert err is not None and err.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        os.rename(mnt.p("trustedUser/certs"), mnt.p("x"))
    assert e.value.errno == errno.EBUSY
    with pytest.raises(OSError) as e:
        os.rmdir(mnt.p("issuerUser"))
    assert e.value.errno == errno.EPERM


def test_doctor_looks_at_every_group(mnt, pki):
    run("cp", pki / "intermediate-ca.der", mnt.p("issuerUser/certs/"))
    run("cp", pki / "app1.key.pem", mnt.p("HttpCerts/own/private/"))
    r = run(BIN, "doctor", mnt.path, check=False)
    assert "UserTokenCerts/issuers/certs/intermediate-ca.der" in r.stdout, r.stdout
    assert "HttpCerts/own/private/app1.key.pem" in r.stdout, r.stdout
