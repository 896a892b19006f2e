"""The ZooKeeper C client (libzookeeper_mt) against kavka-metastore: the
checks are in zk_c_client.c, built by meson."""

import os
import subprocess

import pytest


def test_c_client(server):
    prog = os.environ.get("KAVKA_ZK_C_CLIENT")
    if not prog or not os.access(prog, os.X_OK):
        pytest.fail("zk_c_client was not built: libzookeeper-mt-dev missing (run scripts/bootstrap)")
    p = subprocess.run([prog, server.hosts], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "all checks passed" in p.stdout
