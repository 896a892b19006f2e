"""Issue 7, the ApiVersions traps other Kafka-compatible brokers ran into,
checked on the wire with hand-made frames (real clients hit them only in
particular versions, so a real-client test would pass by luck):

- ApiVersions answers with response header v0 even for a flexible request
  version (clients parse the header before they know the broker's versions);
  the KIP-511 fallback is test_bad_input.py::test_unsupported_api_versions_version.
- Produce is advertised from v0: librdkafka 2.0 derives its "message format
  v1" feature from Produce v2 and, without it, turns compression off; yet a
  message set in format v0/v1 is refused (kavka stores only v2 batches).
- JoinGroup is advertised from v0 (librdkafka's group feature check).
- A Fetch from an offset inside a batch returns that whole batch (clients
  skip the records before the offset they asked for).
- Metadata creates a topic only when the request allows it (v4+) and the
  broker's auto.create.topics.enable is on.

Kafka 4 dropped Produce v0-2 and JoinGroup v0-1, so the version checks run
against kavka only; the other checks hold for Kafka too."""

import struct
import time
import zlib

import pytest

import kproto
from conftest import TARGET, module_broker, unique_topic

broker = module_broker({"auto.create.topics.enable": "true", "num.partitions": "1"})
kavka_only = pytest.mark.skipif(TARGET != "kavka", reason="Kafka 4 no longer offers these versions")

UNKNOWN_TOPIC_OR_PARTITION = 3
UNSUPPORTED_FOR_MESSAGE_FORMAT = 43


def compact_string(s):
    b = s.encode()
    assert len(b) < 127  # its length fits one varint byte
    return bytes([len(b) + 1]) + b


def skip_tags(r):
    for _ in range(uvarint(r)):
        uvarint(r)  # tag
        r.take(uvarint(r))


def uvarint(r):
    shift = value = 0
    while True:
        b = r.int8() & 0xFF
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value
        shift += 7


def test_api_versions_v3_response_header_is_v0(broker):
    """Body right after the correlation id; parsing the v3 body must end
    exactly at the end of the frame (a stray header tag byte would not)."""
    with broker.conn() as c:
        # Request header v2 (a tag section after the client id), then the v3
        # body: client software name and version, and its own tag section.
        body = b"\0" + compact_string("kavka-traps") + compact_string("1.0") + b"\0"
        r = c.request(kproto.API_VERSIONS, 3, body)
        assert r.int16() == 0, "error code"
        apis = {}
        for _ in range(uvarint(r) - 1):
            key, lo, hi = r.int16(), r.int16(), r.int16()
            skip_tags(r)
            apis[key] = (lo, hi)
        r.int32()  # throttle_time_ms
        skip_tags(r)
        assert r.pos == len(r.data), "%d bytes left after the v3 body" % (len(r.data) - r.pos)
        assert apis[kproto.API_VERSIONS][1] >= 3, apis[kproto.API_VERSIONS]


@kavka_only
def test_produce_and_join_group_advertised_from_v0(broker):
    with broker.conn() as c:
        apis = c.api_versions()
    assert apis[kproto.API_PRODUCE][0] == 0, "Produce %r" % (apis[kproto.API_PRODUCE],)
    assert apis[11][0] == 0, "JoinGroup %r" % (apis[11],)


def legacy_message_set(key, value, magic=1):
    """One message in message format v0/v1 (offset, size, crc32, magic, ...)."""
    body = struct.pack(">bb", magic, 0)
    if magic == 1:
        body += struct.pack(">q", 1700000000000)
    body += struct.pack(">i", len(key)) + key + struct.pack(">i", len(value)) + value
    msg = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF) + body
    return struct.pack(">qi", 0, len(msg)) + msg


@kavka_only
@pytest.mark.parametrize("magic", [0, 1])
def test_old_message_formats_refused(broker, magic):
    topic = unique_topic("traps-magic")
    with broker.conn() as c:
        assert wait_topic(c, topic, True) == 0
        ms = legacy_message_set(b"k", b"old-format", magic)
        body = struct.pack(">hi", -1, 10000) + struct.pack(">i", 1)  # v2: no transactional id
        body += kproto.string(topic) + struct.pack(">i", 1) + struct.pack(">ii", 0, len(ms)) + ms
        r = c.request(kproto.API_PRODUCE, 2, body)
        (name, parts), = r.array(lambda: (r.string(), r.array(
            lambda: (r.int32(), r.int16(), r.int64(), r.int64()))))
        assert name == topic
        assert parts[0][1] == UNSUPPORTED_FOR_MESSAGE_FORMAT, parts
        # Nothing was stored.
        assert c.list_offsets(topic, [0], -1)[0] == (0, 0)


def fetch_v4(c, topic, partition, offset):
    body = struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0) + struct.pack(">i", 1) + kproto.string(topic)
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20)
    r = c.request(1, 4, body)
    r.int32()  # throttle_time_ms
    (_name, parts), = r.array(lambda: (r.string(), r.array(lambda: (
        r.int32(), r.int16(), r.int64(), r.int64(),
        r.array(lambda: (r.int64(), r.int64())), r.take(r.int32())))))
    _p, err, hw, _lso, _aborted, records = parts[0]
    return err, hw, records


def test_fetch_from_inside_a_batch_returns_the_whole_batch(broker):
    topic = unique_topic("traps-mid")
    records = [(b"k%d" % i, b"value-%d" % i, []) for i in range(5)]
    with broker.conn() as c:
        assert wait_topic(c, topic, True) == 0
        assert c.produce(topic, 0, kproto.record_batch(records)) == (0, 0)
        err, hw, data = fetch_v4(c, topic, 0, 3)
    assert (err, hw) == (0, 5)
    spans = list(kproto.batch_spans(data))
    assert spans, "no complete batch in the Fetch response"
    _start, _end, base, last_delta = spans[0]
    assert (base, base + last_delta) == (0, 4), "first batch covers %d..%d" % (base, base + last_delta)


def metadata_v4(c, topic, allow):
    body = struct.pack(">i", 1) + kproto.string(topic) + struct.pack(">b", 1 if allow else 0)
    r = c.request(kproto.API_METADATA, 4, body)
    r.int32()  # throttle_time_ms
    r.array(lambda: (r.int32(), r.string(), r.int32(), r.string()))
    r.string()  # cluster id
    r.int32()  # controller id
    topics = r.array(lambda: (r.int16(), r.string(), r.int8(), r.array(lambda: (
        r.int16(), r.int32(), r.int32(), r.array(r.int32), r.array(r.int32)))))
    return {name: err for err, name, _i, _p in topics}[topic]


def wait_topic(c, topic, allow, timeout=15):
    """Polls Metadata v4 until the topic is there (Kafka creates it
    asynchronously: its first answer may still be an error)."""
    deadline = time.monotonic() + timeout
    while True:
        err = metadata_v4(c, topic, allow)
        if err == 0 or time.monotonic() > deadline:
            return err
        time.sleep(0.2)


def test_metadata_creates_only_when_allowed(broker):
    topic = unique_topic("traps-auto")
    with broker.conn() as c:
        assert metadata_v4(c, topic, False) == UNKNOWN_TOPIC_OR_PARTITION
        time.sleep(1)
        assert metadata_v4(c, topic, False) == UNKNOWN_TOPIC_OR_PARTITION, "created without being asked"
        # LEADER_NOT_AVAILABLE (5) or, from Kafka, UNKNOWN_TOPIC_OR_PARTITION
        # while the creation it started goes through its controller.
        assert metadata_v4(c, topic, True) in (0, 3, 5)
        assert wait_topic(c, topic, False) == 0, "not created when allowed"


def test_metadata_never_creates_when_the_broker_forbids_it(broker_factory):
    b = broker_factory({"auto.create.topics.enable": "false"})
    topic = unique_topic("traps-noauto")
    with b.conn() as c:
        assert metadata_v4(c, topic, True) == UNKNOWN_TOPIC_OR_PARTITION
        time.sleep(1)
        assert metadata_v4(c, topic, False) == UNKNOWN_TOPIC_OR_PARTITION
