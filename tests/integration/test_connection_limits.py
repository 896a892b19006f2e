"""Issue 14: connection limits with Kafka's names and semantics, driven with
raw sockets (kproto) and kafka-python.

* max.connections.per.ip (and its overrides): a connection over the limit is
  closed right after accept (Kafka's TooManyConnectionsException).
* max.connections: at the limit the broker stops accepting; a new client
  waits (in the listen backlog, as in Kafka's acceptor) and is served once a
  connection closes.
* connections.max.idle.ms: a connection with nothing in flight and no
  traffic for that long is closed; a busy one is not.
* A closing connection whose peer does not read its queued answers is
  dropped after min(connections.max.idle.ms, 30 s).

Waits are polled with generous bounds; nothing asserts how fast a close
happens."""

import socket
import struct
import time

import pytest

import kproto
from conftest import HOST, TARGET, Broker, _finish, unique_topic

pytestmark = pytest.mark.skipif(TARGET != "kavka", reason="kavka's own log lines are checked")


@pytest.fixture
def make(tmp_path, request):
    made = []

    def start(**overrides):
        b = Broker(tmp_path / ("b%d" % len(made)), {k.replace("_", "."): v for k, v in overrides.items()})
        made.append(b)
        b.start()
        return b

    yield start
    for b in made:
        _finish(b, request)


def served(conn):
    """Does the broker answer ApiVersions on this connection?"""
    try:
        conn.api_versions()
        return True
    except (OSError, ConnectionError, kproto.ProtocolError):
        return False


def closed(conn, timeout):
    """Polls until the broker closes the connection (True) or timeout (False)."""
    deadline = time.monotonic() + timeout
    conn.sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            data = conn.sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def open_served(b, timeout=20):
    """A connection the broker serves (connections of the start-up probe may
    still count against a limit for a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        c = b.conn()
        if served(c):
            return c
        c.close()
        if time.monotonic() > deadline:
            pytest.fail("no served connection within %d s" % timeout)
        time.sleep(0.2)


def wait_for(check, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("%s: not within %d s" % (what, timeout))
        time.sleep(0.2)


def test_max_connections_per_ip(make):
    b = make(max_connections_per_ip="2")
    first = [open_served(b), open_served(b)]
    try:
        extra = b.conn()
        assert closed(extra, 20), "a third connection from 127.0.0.1 must be closed"
        extra.close()
        assert "address already has the configured maximum of 2 connections" in b.log_tail(200)
        # a slot frees when a connection closes
        first.pop().close()

        def again():
            c = b.conn()
            ok = served(c)
            if ok:
                first.append(c)
            else:
                c.close()
            return ok
        wait_for(again, "a new connection after one closed")
    finally:
        for c in first:
            c.close()


def test_max_connections_per_ip_overrides(make):
    b = make(max_connections_per_ip="1", max_connections_per_ip_overrides="127.0.0.1:3")
    conns = []
    try:
        for _ in range(3):
            conns.append(open_served(b))
        conns.append(b.conn())
        assert closed(conns[-1], 20)
    finally:
        for c in conns:
            c.close()


def test_max_connections_per_ip_zero_needs_overrides(tmp_path):
    import os
    import subprocess
    b = Broker(tmp_path / "b", {"max.connections.per.ip": "0"})
    os.makedirs(b.workdir)
    p = subprocess.run(b.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                       cwd=b.workdir)
    assert p.returncode != 0
    assert b"max.connections.per.ip can be set to zero only if" in p.stdout, p.stdout[-2000:]


def test_max_connections_waits_for_a_slot(make):
    b = make(max_connections="2")
    held = [open_served(b), open_served(b)]
    try:
        # The third is not refused: it waits, unserved, until one closes.
        waiting = kproto.Conn(HOST, b.port, timeout=30)
        waiting.send_raw(waiting.frame(kproto.API_VERSIONS, 0, b""))
        waiting.sock.settimeout(2)
        with pytest.raises(socket.timeout):
            waiting.sock.recv(1)
        assert "max.connections (2) reached" in b.log_tail(200)
        held.pop().close()
        waiting.sock.settimeout(30)
        r = waiting.recv_response()
        assert r.int16() == 0      # ApiVersions answered once accepted
        held.append(waiting)
    finally:
        for c in held:
            c.close()


def test_idle_connections_closed(make):
    b = make(connections_max_idle_ms="1000")
    idle = open_served(b)
    busy = open_served(b)
    try:
        # the busy one sends a request every 300 ms for 4 s and stays open
        end = time.monotonic() + 4
        while time.monotonic() < end:
            assert served(busy), "an active connection was closed"
            time.sleep(0.3)
        assert closed(idle, 30), "an idle connection must be closed"
        assert "idle for more than connections.max.idle.ms (1000 ms)" in b.log_tail(200)
        # kafka-python: its idle connection is closed by the broker too; the
        # client notices and the next call reconnects.
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaConnectionError
        kc = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        try:
            kc.list_topics()
            time.sleep(4)
            try:
                kc.list_topics()
            except KafkaConnectionError:
                pass            # the close it had not seen yet
            kc.list_topics()
        finally:
            kc.close()
    finally:
        idle.close()
        busy.close()


def fetch_v4(topic, corr):
    s = lambda x: struct.pack(">h", len(x)) + x.encode()
    body = (struct.pack(">iiiib", -1, 0, 0, 64 << 20, 0) + struct.pack(">i", 1) + s(topic) +
            struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 4 << 20))
    hdr = struct.pack(">hhi", 1, 4, corr) + s("limits-test")
    return struct.pack(">i", len(hdr) + len(body)) + hdr + body


def test_closing_connection_dropped_when_peer_does_not_read(make):
    b = make(connections_max_idle_ms="2000", num_partitions="1")
    topic = unique_topic("drain")
    with b.conn() as c:
        c.metadata([topic])       # auto-creates it
        batch = kproto.record_batch([(None, b"x" * (900 << 10), ())])
        for _ in range(4):
            err, _ = c.produce(topic, 0, batch)
            assert err == 0
    # A client that never reads: a small receive window, many fetches of the
    # same megabytes, then a frame that makes the broker close the link.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((HOST, b.port))
    try:
        s.sendall(b"".join(fetch_v4(topic, i + 1) for i in range(40)))
        time.sleep(1)
        s.sendall(struct.pack(">i", -5))      # an invalid frame size: the broker closes
        wait_for(lambda: "not taken by the peer in time, dropped" in b.log_tail(400),
                 "the closing connection is dropped", timeout=60)
    finally:
        s.close()
    with b.conn() as c:
        assert served(c)
