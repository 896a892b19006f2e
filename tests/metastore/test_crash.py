"""Durability: kill -9 during a stream of acknowledged writes, restart, and
every acknowledged write is there in the same zxid order; a torn log tail
does not stop startup; a clean SIGTERM exits 0."""

import glob
import os
import struct
import threading

from kazoo.client import KazooClient

from zkproto import Raw, create_body


def kazoo(srv):
    zk = KazooClient(hosts=srv.hosts, timeout=5)
    zk.start(timeout=10)
    return zk


def test_kill9_during_pipelined_writes(make_server):
    srv = make_server({"snapCount": "150"})  # snapshots and log rolls happen mid-stream
    raw = Raw(srv.port)
    raw.connect()
    total = 20000
    def send():
        try:
            for i in range(total):
                raw.request(1, create_body("/n%05d" % i, b"v%d" % i))
        except OSError:
            pass  # the server is gone
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    acked = []
    try:
        while len(acked) < total:
            xid, zxid, err, body = raw.reply()
            assert err == 0
            acked.append((xid, zxid))
            if len(acked) == 700:
                srv.kill()  # SIGKILL while writes are in flight
    except (EOFError, ConnectionError, OSError):
        pass
    raw.close()
    assert srv.proc.returncode == -9
    # Replies already in the socket when the server died count as acks too.
    assert len(acked) >= 700
    srv.start()
    zk = kazoo(srv)
    prev = 0
    for xid, zxid in acked:
        st = zk.exists("/n%05d" % (xid - 1))
        assert st is not None, "acknowledged write %d lost" % xid
        assert st.czxid == zxid and zxid > prev, "zxid order changed"
        prev = zxid
    zk.stop()


def test_torn_tail_is_truncated(make_server):
    srv = make_server()
    zk = kazoo(srv)
    for i in range(20):
        zk.create("/t%d" % i, b"x" * 100)
    zk.stop()
    srv.kill()
    logs = sorted(glob.glob(os.path.join(srv.data_dir, "log.*")))
    newest = [p for p in logs if os.path.getsize(p) > 8][-1]
    size = os.path.getsize(newest)
    with open(newest, "r+b") as f:
        f.truncate(size - 30)  # cut the last record in half
        f.seek(0, 2)
        f.write(struct.pack(">II", 1 << 20, 0))  # and a bogus length after it
    srv.start()
    assert b"torn tail" in srv.log()
    zk = kazoo(srv)
    kids = set(zk.get_children("/"))
    assert {"t%d" % i for i in range(19)} <= kids
    zk.create("/after")
    zk.stop()
    assert srv.stop() == 0
    srv.start()
    zk = kazoo(srv)
    assert zk.exists("/after") is not None
    zk.stop()


def test_sessions_survive_restart(make_server):
    srv = make_server({"maxSessionTimeout": "10000"})
    raw = Raw(srv.port)
    to, sid, pw, _ = raw.connect(timeout_ms=10000)
    raw.request(1, create_body("/eph", flags=1))
    assert raw.reply()[2] == 0
    raw.close()
    assert srv.stop() == 0, "SIGTERM is a clean stop"
    srv.start()
    back = Raw(srv.port)
    assert back.connect(session=sid, passwd=pw, timeout_ms=10000)[1] == sid
    zk = kazoo(srv)
    assert zk.exists("/eph").ephemeralOwner == sid
    zk.stop()
    back.close()
