"""Issue acceptance 4: malformed input over a raw socket neither crashes the
broker nor corrupts the log, and a fresh client is served afterwards."""

import socket
import struct

import pytest

import kproto
from clients import BY_NAME, verify
from conftest import module_broker, unique_topic

pytestmark = pytest.mark.badinput

MAX_REQUEST = 1 << 20
broker = module_broker({"socket.request.max.bytes": MAX_REQUEST})
confluent = BY_NAME["confluent-kafka"]


@pytest.fixture(autouse=True)
def still_serves(broker):
    """After each test: the broker is alive and a real client round-trips."""
    yield
    assert broker.running(), "broker died:\n" + broker.log_tail()
    topic = unique_topic("alive")
    records = confluent.make_records(20, 5, seed=topic)
    confluent.produce(broker, topic, records)
    verify(records, confluent.consume(broker, topic, len(records)), None, "fresh client")


def assert_closed_without_answer(conn, what):
    assert conn.closed_by_peer(10), "%s: broker answered instead of closing" % what


def assert_closed_or_error_answer(conn, what):
    """Either a close, or one well-framed response to the request."""
    conn.sock.settimeout(10)
    try:
        r = conn.recv_response()
    except ConnectionError:
        return "closed"
    except TimeoutError:
        pytest.fail("%s: broker neither answered nor closed in 10s" % what)
    assert len(r.data) > 4, "%s: empty response body" % what
    return "answered"


def test_frame_larger_than_max(broker):
    with broker.conn() as c:
        c.send_raw(struct.pack(">i", MAX_REQUEST + 1) + b"\0" * 64)
        assert_closed_without_answer(c, "oversized frame")


def test_negative_frame_size(broker):
    with broker.conn() as c:
        c.send_raw(struct.pack(">i", -5) + b"\0" * 16)
        assert_closed_without_answer(c, "negative frame size")


def test_frame_cut_short(broker):
    """The client promises 100 bytes, sends 10 and hangs up."""
    with broker.conn() as c:
        c.send_raw(struct.pack(">i", 100) + b"\0\x03\0\x01\0\0\0\x07\0\0")
        c.sock.shutdown(socket.SHUT_WR)
        assert_closed_without_answer(c, "half-sent frame")


def test_truncated_request_body(broker):
    """A complete frame whose Metadata body claims 5 topics and has none."""
    with broker.conn() as c:
        c.send_raw(c.frame(kproto.API_METADATA, 1, struct.pack(">i", 5)))
        assert_closed_or_error_answer(c, "truncated Metadata")


def test_request_header_truncated(broker):
    """A frame too short to hold even a request header."""
    with broker.conn() as c:
        c.send_raw(struct.pack(">i", 3) + b"\0\x12\0")
        assert_closed_without_answer(c, "3-byte request")


def test_unknown_api_key(broker):
    with broker.conn() as c:
        c.send_raw(c.frame(9999, 0, b"\0" * 8))
        assert_closed_or_error_answer(c, "unknown API key")


def test_unsupported_api_versions_version(broker):
    """KIP-511: ApiVersions at a version the broker lacks is answered with
    UNSUPPORTED_VERSION in a v0 body listing what it does support, so that
    newer clients can fall back."""
    with broker.conn() as c:
        # Versions 3+ use request header v2: an empty tagged-field section
        # follows the client id.  The response header stays v0.
        r = c.request(kproto.API_VERSIONS, 999, b"\0")
        err = r.int16()
        apis = r.array(lambda: (r.int16(), r.int16(), r.int16()))
        assert err == 35, "expected UNSUPPORTED_VERSION (35), got %d" % err
        assert any(k == kproto.API_VERSIONS for k, _lo, _hi in apis), apis


def test_corrupt_crc_rejected(broker):
    topic = unique_topic("crc")
    confluent.create_topic(broker.bootstrap, topic, 1)
    records = [(b"k%d" % i, b"value-%d" % i, [("h", b"x")]) for i in range(5)]
    with broker.conn() as c:
        # The well-formed batch proves the raw Produce path itself works.
        err, base = c.produce(topic, 0, kproto.record_batch(records))
        assert (err, base) == (0, 0), "valid batch: error %d base %d" % (err, base)
        bad = bytearray(kproto.record_batch(records))
        bad[-3] ^= 0x55  # inside the last record: covered by the CRC
        err, _ = c.produce(topic, 0, bytes(bad))
        assert err == 2, "corrupt batch: expected CORRUPT_MESSAGE (2), got %d" % err
    assert broker.offsets(topic, [0], kproto.LATEST)[0] == 5, "corrupt batch was appended"
    got = confluent.consume(broker, topic, 5, group="crc-check")
    assert [(g.key, g.value) for g in got] == [(k, v) for k, v, _h in records]
