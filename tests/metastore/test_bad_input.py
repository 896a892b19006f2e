"""Hostile input over a raw socket: empty connections, oversized and
negative lengths, short frames, malformed bodies and unknown opcodes get an
error or a disconnect, and the daemon keeps serving."""

import socket
import struct

import pytest
from kazoo.client import KazooClient

from conftest import HOST, four_letter
from zkproto import Raw, buffer, ustring


def alive(srv):
    assert four_letter(srv.port, "ruok") == "imok"
    zk = KazooClient(hosts=srv.hosts, timeout=5)
    zk.start(timeout=10)
    zk.create("/ok-%d" % id(zk), ephemeral=True)
    zk.stop()


def closed(raw):
    with pytest.raises((EOFError, ConnectionError)):
        raw.recv_frame()


def test_empty_connections_are_harmless(server):
    for _ in range(20):
        socket.create_connection((HOST, server.port)).close()  # nc -z
    alive(server)


@pytest.mark.parametrize("length", [1 << 20 + 1, 0x7fffffff, -1, -100])
def test_bad_lengths_disconnect(server, length):
    raw = Raw(server.port)
    raw.sock.sendall(struct.pack(">i", length) + b"x" * 64)
    closed(raw)
    alive(server)


def test_oversized_request_after_connect(server):
    raw = Raw(server.port)
    raw.connect()
    raw.sock.sendall(struct.pack(">iii", 2 * 1024 * 1024, 1, 4))
    closed(raw)
    alive(server)


def test_short_connect_request(server):
    raw = Raw(server.port)
    raw.send_frame(b"\0\0\0\0\0")
    closed(raw)
    alive(server)


def test_unknown_opcode_is_unimplemented(server):
    raw = Raw(server.port)
    raw.connect()
    raw.request(999, b"junk")
    xid, zxid, err, body = raw.reply()
    assert err == -6 and body == b""  # UNIMPLEMENTED, header only
    closed(raw)
    alive(server)


def test_malformed_bodies_are_marshalling_errors(server):
    raw = Raw(server.port)
    raw.connect()
    raw.request(4, struct.pack(">i", 100) + b"/short")  # string runs past the frame
    assert raw.reply()[2] == -5
    raw.request(1, ustring("/x") + buffer(b"d"))  # create without acl and flags
    assert raw.reply()[2] == -5
    raw.request(14, struct.pack(">i?i", 1, False, -1) + ustring("/m"))  # truncated multi
    assert raw.reply()[2] == -5
    raw.request(101, struct.pack(">qi", 0, 0x7fffffff))  # setWatches, huge count
    assert raw.reply()[2] == -5
    raw.request(8, struct.pack(">i", -1) + b"\0")  # null path
    assert raw.reply()[2] == -5
    raw.request(3, ustring("/zookeeper") + b"\0")  # the connection still works
    assert raw.reply()[2] == 0
    raw.request(1, ustring("/bad//path") + buffer(b"") + struct.pack(">iiissi", 1, 31, 5, b"w", b"x", 0)[:0] +
                struct.pack(">i", 1) + struct.pack(">i", 31) + ustring("world") + ustring("anyone") +
                struct.pack(">i", 0))
    assert raw.reply()[2] == -8  # BADARGUMENTS
    alive(server)


def test_replies_keep_request_order(server):
    raw = Raw(server.port)
    raw.connect()
    xids = [raw.request(3 if i % 2 else 8, ustring("/zookeeper") + b"\0") for i in range(200)]
    assert [raw.reply()[0] for _ in xids] == xids
