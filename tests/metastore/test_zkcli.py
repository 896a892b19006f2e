"""zkCli (Apache ZooKeeper's ZooKeeperMain from the Maven jars) against
kavka-metastore: one JVM per test, commands fed on stdin."""

import re

from conftest import zkcli


def test_crud_stat_ls_watch(server):
    out = zkcli(server.hosts, [
        "create /app hello",
        "get /app",
        "stat /app",
        "create /app/child c",
        "create -e /app/eph e",
        "create -s /app/seq- s",
        "ls -R /app",
        "get -w /app",
        "set /app world",
        "get /app",
        "delete /app",
        "delete /app/child",
        "ls /app",
    ])
    assert "Created /app" in out and "Created /app/eph" in out
    assert "Created /app/seq-0000000002" in out
    assert re.search(r"dataVersion = 0\s+aclVersion = 0\s+ephemeralOwner = 0x0\s+dataLength = 5\s+numChildren = 0", out)
    for p in ("/app/child", "/app/eph", "/app/seq-0000000002"):
        assert p in out
    assert "WatchedEvent state:SyncConnected type:NodeDataChanged path:/app" in out
    assert "world" in out
    assert "Node not empty: /app" in out


def test_addauth_and_acl_denial(server):
    out = zkcli(server.hosts, [
        "addauth digest alice:pw",
        "create /secret s auth::cdrwa",
        "getAcl /secret",
        "get /secret",
    ])
    assert "Created /secret" in out
    assert "'digest,'alice:" in out
    out = zkcli(server.hosts, ["get /secret", "addauth digest alice:wrong", "set /secret x"])
    assert out.count("Insufficient permission : /secret") == 2, out
    out = zkcli(server.hosts, ["addauth digest alice:pw", "get /secret"])
    assert "\ns\n" in out
