"""Which spelling of issuers/ and rejected/ listings show (-o layout=): one
by default, so a walk (rsync -a, find -delete, tar) meets each folder once;
every spelling resolves whatever the layout."""
import os

from conftest import run


def fill(m, pki):
    run("cp", pki / "root-ca.der", m.p("trusted/certs/"))
    run("cp", pki / "intermediate-ca.der", m.p("issuer/certs/"))   # Part 12's spelling
    run("cp", pki / "leaf1.der", m.p("rejected/certs/"))           # open62541's
    run("cp", pki / "leaf2.der", m.p("rejected/"))                 # node-opcua's


def files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


def test_default_lists_each_folder_once(mnt, pki, workdir):
    fill(mnt, pki)
    assert sorted(os.listdir(mnt.path)) == ["HttpCerts", "UserTokenCerts", "cafile.pem", "capath",
                                            "issuers", "own", "rejected", "snapshot", "trusted"]
    assert sorted(os.listdir(mnt.p("rejected"))) == ["leaf1.der", "leaf2.der"]
    assert os.listdir(mnt.p("issuer/certs")) == ["intermediate-ca.der"]  # still resolves
    backup = workdir / "backup"
    run("rsync", "-a", "--exclude=/snapshot", "--exclude=/capath", "--exclude=/cafile.pem",
        f"{mnt.path}/", f"{backup}/")
    assert files(backup) == ["issuers/certs/intermediate-ca.der", "rejected/leaf1.der",
                             "rejected/leaf2.der", "trusted/certs/root-ca.der"]
    os.mkdir(mnt.p("snapshot/s"))
    assert sorted(os.listdir(mnt.p("snapshot/s"))) == ["HttpCerts", "UserTokenCerts", "issuers",
                                                       "own", "rejected", "trusted"]
    r = run("find", mnt.p("trusted"), mnt.p("issuers"), mnt.p("rejected"), "-type", "f", "-delete",
            check=False)
    assert r.returncode == 0, r.stderr
    assert files(mnt.p("rejected")) == [] and files(mnt.p("issuers")) == []


def test_part12_layout(mount_factory, pki):
    m = mount_factory("layout=part12")
    fill(m, pki)
    assert "issuer" in os.listdir(m.path) and "issuers" not in os.listdir(m.path)
    assert os.listdir(m.p("rejected")) == ["certs"]
    assert sorted(os.listdir(m.p("rejected/certs"))) == ["leaf1.der", "leaf2.der"]
    os.mkdir(m.p("snapshot/s"))
    assert os.listdir(m.p("snapshot/s/rejected")) == ["certs"]
    with open(m.p("rejected/leaf2.der"), "rb") as f:   # node-opcua's spelling still reads
        assert f.read() == (pki / "leaf2.der").read_bytes()


def test_both_layout_and_a_bad_value(mount_factory, pki, workdir):
    m = mount_factory("layout=both")
    fill(m, pki)
    assert {"issuer", "issuers"} <= set(os.listdir(m.path))
    assert sorted(os.listdir(m.p("rejected"))) == ["certs", "leaf1.der", "leaf2.der"]
    (workdir / "bad").mkdir()
    r = run(os.environ.get("PKIFS_BIN", "build/pkifs"), "mount", "--db", workdir / "bad.db",
            workdir / "bad", "-o", "layout=flat", check=False)
    assert r.returncode != 0 and "node-opcua, part12, both, open62541 or uanet" in r.stderr
