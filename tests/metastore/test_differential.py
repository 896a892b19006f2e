"""Differential test: one kazoo scenario run against Apache ZooKeeper
(ZooKeeperServerMain from the Maven jars) and against kavka-metastore; the
results must match step by step: values, stats (zxids relative to the
scenario's first write, times left out), errors and watch events."""

import threading
import time

from kazoo.client import KazooClient
from kazoo.security import make_acl, make_digest_acl

from conftest import ZooKeeper


class Recorder:
    def __init__(self, zk):
        self.zk = zk
        self.base = None
        self.rows = []

    def zx(self, z):
        return 0 if z == 0 else z - self.base

    def norm(self, v):
        sid = self.zk.client_id[0]
        if hasattr(v, "czxid"):  # ZnodeStat
            owner = v.ephemeralOwner
            return ("stat", self.zx(v.czxid), self.zx(v.mzxid), self.zx(v.pzxid), v.version,
                    v.cversion, v.aversion, "self" if owner == sid and owner else owner,
                    v.dataLength, v.numChildren)
        if isinstance(v, (list, tuple)):
            items = [self.norm(x) for x in v]
            return sorted(items, key=repr) if all(isinstance(x, str) for x in v) else items
        if hasattr(v, "perms"):  # ACL
            return ("acl", v.perms, v.id.scheme, v.id.id)
        if isinstance(v, Exception):
            return ("error", type(v).__name__)
        return v

    def step(self, name, fn, *args, **kw):
        try:
            out = ("ok", self.norm(fn(*args, **kw)))
        except Exception as e:  # the error class is the result
            out = ("error", type(e).__name__)
        self.rows.append((name, out))


def scenario(server):
    zk = KazooClient(hosts=server.hosts, timeout=10)
    zk.start(timeout=30)
    other = KazooClient(hosts=server.hosts, timeout=10)
    other.start(timeout=30)
    r = Recorder(zk)
    r.base = zk.create("/d", b"root", include_data=True)[1].czxid
    events = []
    lock = threading.Lock()

    def ev(e):
        with lock:
            events.append((e.type, e.path))

    other.exists("/d/w", watch=ev)
    other.get_children("/d", watch=ev)
    other.get("/d", watch=ev)
    s = r.step
    s("get /d", zk.get, "/d")
    s("create dup", zk.create, "/d")
    s("create orphan", zk.create, "/d/a/b")
    s("set badversion", zk.set, "/d", b"x", version=5)
    s("set", zk.set, "/d", b"v1", version=0)
    s("create w", zk.create, "/d/w", b"w", include_data=True)
    s("create x", zk.create, "/d/x")
    s("delete x", zk.delete, "/d/x")
    for i in range(3):
        s("seq %d" % i, zk.create, "/d/s-", b"", sequence=True)
    s("eph seq", zk.create, "/d/e-", b"", ephemeral=True, sequence=True)
    s("eph", zk.create, "/d/eph", b"", ephemeral=True)
    s("eph child", zk.create, "/d/eph/c")
    s("children", zk.get_children, "/d")
    s("children+stat", zk.get_children, "/d", include_data=True)
    s("delete notempty", zk.delete, "/d")
    s("delete badversion", zk.delete, "/d/w", version=3)
    s("delete special", zk.delete, "/zookeeper")
    s("delete root", zk.delete, "/")
    s("exists missing", zk.exists, "/nope")
    s("get missing", zk.get, "/nope")
    s("zookeeper children", zk.get_children, "/zookeeper")
    s("root stat", zk.exists, "/")

    t = zk.transaction()
    t.create("/d/t1", b"1")
    t.check("/d", 1)
    t.set_data("/d/w", b"w2")
    t.delete("/d/s-0000000001")
    s("multi ok", t.commit)
    t = zk.transaction()
    t.create("/d/t2")
    t.check("/d", 0)
    t.create("/d/t3")
    s("multi fail", t.commit)
    t = zk.transaction()
    t.check("/d/none", -1)
    s("multi nonode", t.commit)
    s("t2 absent", zk.exists, "/d/t2")
    s("after multi", zk.exists, "/d")

    alice = make_digest_acl("alice", "pw", all=True)
    s("create acl", zk.create, "/d/priv", b"p", acl=[alice, make_acl("world", "anyone", read=True)])
    s("set noauth", zk.set, "/d/priv", b"x")
    s("get world-read", zk.get, "/d/priv")
    s("getacl redacted", zk.get_acls, "/d/priv")
    s("create empty acl", zk.create, "/d/noacl", acl=[])
    s("create auth acl anon", zk.create, "/d/authacl", acl=[make_acl("auth", "", all=True)])
    s("setacl noauth", zk.set_acls, "/d/priv", [make_acl("world", "anyone", all=True)])
    zk.add_auth("digest", "alice:pw")
    s("setacl badversion", zk.set_acls, "/d/priv", [alice], version=7)
    s("setacl", zk.set_acls, "/d/priv", [alice], version=0)
    s("getacl full", zk.get_acls, "/d/priv")
    s("create auth acl", zk.create, "/d/authacl", acl=[make_acl("auth", "", all=True)])
    s("getacl auth", zk.get_acls, "/d/authacl")
    s("sync", zk.sync, "/d")
    s("delete w", zk.delete, "/d/w")
    s("final children", zk.get_children, "/d")
    zk.stop()  # closes the session: ephemerals go
    time.sleep(0.5)
    s("ephemerals gone", other.get_children, "/d")
    deadline = time.time() + 5
    while len(events) < 3 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    other.stop()
    with lock:
        r.rows.append(("events", sorted(events)))
    return r.rows


def test_same_results_as_zookeeper(make_server):
    ref = make_server(cls=ZooKeeper)
    expected = scenario(ref)
    ref.kill()
    got = scenario(make_server())
    for (name, want), (name2, have) in zip(expected, got):
        assert name == name2
        assert have == want, "step %r: ZooKeeper gave %r, kavka-metastore %r" % (name, want, have)
    assert len(expected) == len(got)
