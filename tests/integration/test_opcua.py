"""node-opcua, a real OPC UA stack, with its PKI root on the mount."""
import os
import shutil

import pytest

from opcua_scenario import run_opcua_scenario

pytestmark = pytest.mark.skipif(not shutil.which("node") or not shutil.which("npm"),
                                reason="node and npm are needed")


def test_opcua_plain_dir(workdir):
    """Control: the same scenario on a plain directory."""
    root = workdir / "pki"
    root.mkdir()
    run_opcua_scenario(str(root), str(workdir))


def test_opcua_on_mount(mnt, workdir):
    run_opcua_scenario(mnt.path, str(workdir))
    log = mnt.log()
    assert " trust " in log and " remove " in log
    assert "own/private/private_key.pem" in log
    assert "refused" not in log, log
