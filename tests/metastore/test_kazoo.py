"""kazoo against kavka-metastore: node operations with ZooKeeper's stat
rules and errors, watches, kazoo's recipes and session expiry."""

import struct
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (BadArgumentsError, BadVersionError, NoChildrenForEphemeralsError,
                              NoNodeError, NodeExistsError, NotEmptyError, NoAuthError,
                              RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import EventType, KazooState
from kazoo.recipe.watchers import ChildrenWatch, DataWatch
from kazoo.security import make_acl, make_digest_acl

from conftest import four_letter
from zkproto import Raw, create_body, ustring


def client(server, **kw):
    zk = KazooClient(hosts=server.hosts, timeout=kw.pop("timeout", 5), **kw)
    zk.start(timeout=10)
    return zk


def test_crud_and_stat_rules(kazoo_client):
    zk = kazoo_client
    assert zk.create("/a", b"one") == "/a"
    data, st = zk.get("/a")
    assert data == b"one" and st.version == 0 and st.czxid == st.mzxid == st.pzxid
    assert st.dataLength == 3 and st.numChildren == 0 and st.ephemeralOwner == 0
    st2 = zk.set("/a", b"two!")
    assert st2.version == 1 and st2.mzxid > st.mzxid and st2.czxid == st.czxid
    with pytest.raises(BadVersionError):
        zk.set("/a", b"x", version=0)
    zk.create("/a/b")
    parent = zk.exists("/a")
    assert parent.cversion == 1 and parent.numChildren == 1 and parent.pzxid > st2.mzxid
    with pytest.raises(NotEmptyError):
        zk.delete("/a")
    with pytest.raises(NodeExistsError):
        zk.create("/a")
    with pytest.raises(NoNodeError):
        zk.create("/missing/child")
    with pytest.raises(NoNodeError):
        zk.get("/nope")
    with pytest.raises(BadVersionError):
        zk.delete("/a/b", version=3)
    zk.delete("/a/b")
    assert zk.exists("/a").cversion == 2
    zk.delete("/a")
    assert zk.exists("/a") is None
    with pytest.raises(BadArgumentsError):
        zk.delete("/zookeeper")


def test_sequential_and_ephemeral(server, kazoo_client):
    zk = kazoo_client
    zk.create("/q")
    zk.create("/q/x")
    zk.delete("/q/x")
    # The suffix counts the parent's child creates (deletes do not count),
    # while the cversion clients see counts creates and deletes.
    assert zk.exists("/q").cversion == 2
    p = zk.create("/q/item-", b"", sequence=True)
    assert p == "/q/item-0000000001"
    e = zk.create("/q/eph-", b"", ephemeral=True, sequence=True)
    assert e == "/q/eph-0000000002"
    assert zk.exists("/q").cversion == 4
    assert zk.exists(e).ephemeralOwner == zk.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(e + "/child")
    other = client(server)
    assert other.exists(e) is not None
    zk.stop()
    time.sleep(0.3)
    assert other.exists(e) is None, "ephemeral must go with its closed session"
    assert other.exists(p) is not None
    other.stop()


def test_session_expiry_removes_ephemerals(make_server):
    srv = make_server({"minSessionTimeout": "400", "maxSessionTimeout": "2000"})
    watcher = client(srv)
    raw = Raw(srv.port)
    to, sid, pw, _ = raw.connect(timeout_ms=100)
    assert to == 400, "the timeout is raised to minSessionTimeout"
    raw.request(1, create_body("/e1", flags=1))
    assert raw.reply()[2] == 0
    assert watcher.exists("/e1").ephemeralOwner == sid
    gone = threading.Event()
    watcher.exists("/e1", watch=lambda e: gone.set())
    # The raw client now stays silent: no pings, so the session expires.
    assert gone.wait(5)
    assert watcher.exists("/e1") is None
    again = Raw(srv.port)
    assert again.connect(session=sid, passwd=pw)[1] == 0, "an expired session is refused"
    raw.close()
    again.close()
    watcher.stop()


def test_session_reconnect_and_password(make_server):
    srv = make_server()
    raw = Raw(srv.port)
    to, sid, pw, ro = raw.connect(readonly=False)
    assert len(pw) == 16 and ro == b"\0"
    raw.request(1, create_body("/mine", flags=1))
    raw.reply()
    raw.close()
    wrong = Raw(srv.port)
    assert wrong.connect(session=sid, passwd=b"x" * 16)[1] == 0
    back = Raw(srv.port)
    to2, sid2, pw2, ro2 = back.connect(session=sid, passwd=pw)
    assert sid2 == sid and ro2 == b"", "readOnly is echoed only when sent"
    back.request(3, ustring("/mine") + b"\0")
    assert back.reply()[2] == 0
    back.close()


def test_data_and_child_watches(server, kazoo_client):
    zk = kazoo_client
    other = client(server)
    events = []
    zk.exists("/w", watch=events.append)
    other.create("/w", b"1")
    zk.get("/w", watch=events.append)
    zk.get_children("/w", watch=events.append)
    other.create("/w/c")
    other.set("/w", b"2")
    other.delete("/w/c")
    time.sleep(0.3)
    types = [(e.type, e.path) for e in events]
    assert types == [(EventType.CREATED, "/w"), (EventType.CHILD, "/w"), (EventType.CHANGED, "/w")]
    seen = []
    DataWatch(zk, "/w", func=lambda d, s: seen.append(d))
    kids = []
    ChildrenWatch(zk, "/w", func=lambda c: kids.append(sorted(c)))
    other.set("/w", b"3")
    other.create("/w/k1")
    other.create("/w/k2")
    deadline = time.time() + 3
    while (seen[-1:] != [b"3"] or kids[-1:] != [["k1", "k2"]]) and time.time() < deadline:
        time.sleep(0.05)
    assert seen[0] == b"2" and seen[-1] == b"3"
    assert kids[0] == [] and kids[-1] == ["k1", "k2"]
    other.stop()


def notifications(raw, count):
    """Read `count` notifications (type, path) from a raw connection."""
    out = []
    while len(out) < count:
        f = raw.recv_frame()
        xid, = struct.unpack(">i", f[:4])
        if xid == -1:
            typ, state, plen = struct.unpack(">iii", f[16:28])
            out.append((typ, f[28:28 + plen].decode()))
    return out


def test_persistent_and_recursive_watches(server, kazoo_client):
    zk = kazoo_client
    zk.create("/r")
    zk.create("/p")
    raw = Raw(server.port)
    raw.connect()
    raw.request(106, ustring("/r") + struct.pack(">i", 1))  # PERSISTENT_RECURSIVE
    assert raw.reply()[2] == 0
    raw.request(106, ustring("/p") + struct.pack(">i", 0))  # PERSISTENT
    assert raw.reply()[2] == 0
    zk.create("/r/a")
    zk.create("/r/a/b")
    zk.set("/r/a/b", b"x")
    zk.delete("/r/a/b")
    zk.create("/p/c")
    zk.set("/p", b"1")
    zk.set("/p", b"2")
    assert notifications(raw, 6) == [(1, "/r/a"), (1, "/r/a/b"), (3, "/r/a/b"), (2, "/r/a/b"),
                                     (4, "/p"), (3, "/p")]
    assert notifications(raw, 1) == [(3, "/p")], "a persistent watch stays after firing"
    # checkWatches / removeWatches (WatcherType Any = 3)
    raw.request(17, ustring("/p") + struct.pack(">i", 3))
    assert raw.reply()[2] == 0
    raw.request(18, ustring("/p") + struct.pack(">i", 3))
    assert raw.reply()[2] == 0
    raw.request(17, ustring("/p") + struct.pack(">i", 3))
    assert raw.reply()[2] == -121  # NOWATCHER
    raw.close()


def test_transactions(kazoo_client):
    zk = kazoo_client
    zk.create("/t", b"v")
    tx = zk.transaction()
    tx.create("/t/1")
    tx.check("/t", 0)
    tx.set_data("/t", b"w")
    tx.create("/t/s-", sequence=True)
    res = tx.commit()
    assert res[0] == "/t/1" and res[1] is True and res[2].version == 1 and res[3] == "/t/s-0000000001"
    st = zk.exists("/t")
    assert zk.exists("/t/1").czxid == st.mzxid == zk.exists("/t/s-0000000001").czxid
    tx = zk.transaction()
    tx.create("/t/2")
    tx.check("/t", 0)
    tx.delete("/t/1")
    res = tx.commit()
    assert isinstance(res[0], RolledBackError) and isinstance(res[1], BadVersionError)
    assert isinstance(res[2], RuntimeInconsistency)
    assert zk.exists("/t/2") is None and zk.exists("/t/1") is not None


def test_recipes(server, kazoo_client):
    zk = kazoo_client
    other = client(server)
    # Lock: the second contender waits until the first releases.
    lock1, lock2 = zk.Lock("/lock", "one"), other.Lock("/lock", "two")
    order = []
    assert lock1.acquire(timeout=5)
    t = threading.Thread(target=lambda: (lock2.acquire(timeout=10), order.append("two"), lock2.release()))
    t.start()
    time.sleep(0.3)
    assert order == [] and lock1.contenders() == ["one", "two"]
    order.append("one")
    lock1.release()
    t.join(10)
    assert order == ["one", "two"]
    # Election
    won = []
    el = zk.Election("/election", "me")
    t = threading.Thread(target=lambda: el.run(won.append, "leader"))
    t.start()
    t.join(5)
    assert won == ["leader"]
    # Counter
    c = zk.Counter("/counter")
    c += 5
    c -= 2
    assert other.Counter("/counter").value == 3
    # Queue
    q = zk.Queue("/queue")
    for i in range(3):
        q.put(b"m%d" % i)
    oq = other.Queue("/queue")
    assert [oq.get(), oq.get(), oq.get(), oq.get()] == [b"m0", b"m1", b"m2", None]
    # Barrier
    b = zk.Barrier("/barrier")
    b.create()
    passed = []
    t = threading.Thread(target=lambda: passed.append(other.Barrier("/barrier").wait(5)))
    t.start()
    time.sleep(0.2)
    assert passed == []
    b.remove()
    t.join(5)
    assert passed == [True]
    other.stop()


def test_acl_digest_and_addauth(server, kazoo_client):
    zk = kazoo_client
    acl = make_digest_acl("alice", "secret", all=True)
    zk.create("/private", b"s", acl=[acl])
    with pytest.raises(NoAuthError):
        zk.get("/private")
    with pytest.raises(NoAuthError):
        zk.get_acls("/private")
    zk.create("/readable", b"r", acl=[acl, make_acl("world", "anyone", read=True)])
    alice = client(server, auth_data=[("digest", "alice:secret")])
    assert alice.get("/private")[0] == b"s"
    acls, _ = zk.get_acls("/readable")
    assert acls[0].id.id == "alice:x"  # no ADMIN: the password hash is hidden
    acls, _ = alice.get_acls("/private")
    assert acls[0].id.id == acl.id.id
    mallory = client(server, auth_data=[("digest", "alice:wrong")])
    with pytest.raises(NoAuthError):
        mallory.set("/private", b"x")
    alice.stop()
    mallory.stop()


def test_container_and_misc_ops(make_server):
    srv = make_server({"znode.container.checkIntervalMs": "100"})
    zk = client(srv)
    raw = Raw(srv.port)
    raw.connect()
    raw.request(19, create_body("/cont", flags=4))  # createContainer
    xid, zxid, err, body = raw.reply()
    assert err == 0
    assert zk.exists("/cont").ephemeralOwner == -(1 << 63)
    zk.create("/cont/x")
    zk.create("/deep/a/b", makepath=True)
    raw.request(104, ustring("/deep"))  # getAllChildrenNumber
    assert struct.unpack(">i", raw.reply()[3])[0] == 2
    raw.request(103, ustring("/"))  # getEphemerals
    assert raw.reply()[3] == struct.pack(">i", 0)
    raw.request(107)  # whoAmI: the ip id
    assert b"ip" in raw.reply()[3]
    zk.delete("/cont/x")
    deadline = time.time() + 3
    while zk.exists("/cont") and time.time() < deadline:
        time.sleep(0.05)
    assert zk.exists("/cont") is None, "an emptied container is reaped"
    zk.sync("/deep")
    assert zk.server_version()[:2] == (3, 9)
    raw.close()
    zk.stop()


def test_ttl_nodes(make_server):
    srv = make_server({"extendedTypesEnabled": "true", "znode.container.checkIntervalMs": "100"})
    zk = client(srv)
    raw = Raw(srv.port)
    raw.connect()
    raw.request(21, create_body("/ttl", flags=5) + struct.pack(">q", 200))  # createTTL
    assert raw.reply()[2] == 0
    raw.request(21, create_body("/ttl2", flags=5) + struct.pack(">q", 0))
    assert raw.reply()[2] == -8, "a zero TTL is BADARGUMENTS"
    assert zk.exists("/ttl") is not None
    deadline = time.time() + 3
    while zk.exists("/ttl") and time.time() < deadline:
        time.sleep(0.05)
    assert zk.exists("/ttl") is None
    raw.close()
    zk.stop()


def test_four_letter_words(server, kazoo_client):
    assert four_letter(server.port, "ruok") == "imok"
    assert "Mode: standalone" in four_letter(server.port, "srvr")
    assert "zk_znode_count" in four_letter(server.port, "mntr")
    assert four_letter(server.port, "isro") == "rw"
    assert "clientPort=%d" % server.port in four_letter(server.port, "conf")


def test_four_letter_whitelist(make_server):
    srv = make_server({"4lw.commands.whitelist": "srvr"})
    assert "Zookeeper version" in four_letter(srv.port, "srvr")
    assert "not in the whitelist" in four_letter(srv.port, "ruok")
