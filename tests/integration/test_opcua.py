"""node-opcua, a real OPC UA stack, with its PKI root on the mount."""
import re
import shutil

import pytest

from opcua_scenario import run_opcua_scenario

pytestmark = pytest.mark.skipif(not shutil.which("node") or not shutil.which("npm"),
                                reason="node and npm are needed")


def client_names(steps):
    """The steps' files with the client certificate's thumbprint (a fresh
    client key each run) written as [thumbprint]."""
    return [[re.sub(r"\[[0-9a-f]{40}\]", "[thumbprint]", f) for f in step] for step in steps]


def test_opcua_plain_dir(mnt, workdir):
    """The same scenario on a plain directory and on a mount: the stack
    leaves the same files after every step (on the mount its writes went
    through the daemon's rules and every one was accepted)."""
    plain_dir = workdir / "plain"
    plain_dir.mkdir()
    (plain_dir / "pki").mkdir()
    plain = client_names(run_opcua_scenario(str(plain_dir / "pki"), str(plain_dir)))
    mounted_dir = workdir / "mounted"
    mounted_dir.mkdir()
    mounted = client_names(run_opcua_scenario(mnt.path, str(mounted_dir)))
    assert mounted == plain
    assert any("rejected/" in f for f in plain[1]) and any("trusted/certs/" in f for f in plain[2])
    assert "refused" not in mnt.log()


def test_opcua_on_mount(mnt, workdir):
    run_opcua_scenario(mnt.path, str(workdir))
    log = mnt.log()
    assert " trust " in log and " remove " in log
    assert "own/private/private_key.pem" in log
    assert "refused" not in log, log
