"""DescribeTopicPartitions (API key 75, KIP-966), which Kafka 4's
`kafka-topics --describe` prefers to Metadata (issue 4).

The request is written and the response read here byte by byte (v0 is
flexible: request header v2, response header v1, compact encodings, and the
nullable Cursor / NextCursor structs with their int8 marker), so the test
checks the wire format itself, not only what a client library makes of it.

Run against the Apache Kafka reference too (KAVKA_TEST_TARGET=kafka): every
expectation here is what Kafka does.
"""

import re
import struct
import time

from clients import BY_NAME, _java, _run
from conftest import module_broker, unique_topic
import kproto

dtp_broker = module_broker()

API = 75
TOPIC_OPS = 3576  # READ WRITE CREATE DELETE ALTER DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUEST = 42


# ------------------------------------------------------- flexible encoding

def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def cstring(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


def request_body(topics, limit=2000, cursor=None):
    body = uvarint(len(topics) + 1)
    for t in topics:
        body += cstring(t) + b"\x00"               # name, tags
    body += struct.pack(">i", limit)
    if cursor is None:
        body += struct.pack(">b", -1)
    else:
        body += struct.pack(">b", 1) + cstring(cursor[0]) + struct.pack(">i", cursor[1]) + b"\x00"
    return body + b"\x00"                           # tags


class FlexReader(kproto.Reader):
    def uvarint(self):
        n, shift = 0, 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7

    def cstring(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def carray(self, item):
        n = self.uvarint()
        if n == 0:
            return None
        return [item() for _ in range(n - 1)]

    def no_tags(self):
        assert self.uvarint() == 0, "unexpected tagged fields"


def describe(broker, topics, limit=2000, cursor=None):
    """One DescribeTopicPartitions v0 round trip; the response as dicts."""
    with broker.conn() as c:
        c.corr += 1
        hdr = struct.pack(">hhi", API, 0, c.corr) + kproto.string("kavka-test") + b"\x00"
        payload = hdr + request_body(topics, limit, cursor)
        c.send_raw(struct.pack(">i", len(payload)) + payload)
        raw = c.recv_response()
    r = FlexReader(raw.data)
    r.pos = raw.pos
    r.no_tags()                                     # response header v1

    def partition():
        p = {"error": r.int16(), "index": r.int32(), "leader": r.int32(),
             "epoch": r.int32(), "replicas": r.carray(r.int32), "isr": r.carray(r.int32),
             "elr": r.carray(r.int32), "last_known_elr": r.carray(r.int32),
             "offline": r.carray(r.int32)}
        r.no_tags()
        return p

    def topic():
        t = {"error": r.int16(), "name": r.cstring(), "id": r.take(16),
             "internal": r.int8(), "partitions": r.carray(partition), "ops": r.int32()}
        r.no_tags()
        return t

    out = {"throttle": r.int32(), "topics": r.carray(topic)}
    marker = r.int8()
    assert marker in (-1, 1), marker
    out["next"] = None
    if marker == 1:
        out["next"] = (r.cstring(), r.int32())
        r.no_tags()
    r.no_tags()
    assert r.pos == len(r.data), "%d trailing bytes" % (len(r.data) - r.pos)
    return out


def create(broker, topic, partitions):
    assert BY_NAME["confluent-kafka"].create_topic(broker.bootstrap, topic, partitions)
    # Kafka's metadata cache learns of a new topic a moment later.
    end = time.monotonic() + 30
    while True:
        t = describe(broker, [topic])["topics"][0]
        if t["error"] == 0 and len(t["partitions"]) == partitions:
            return
        assert time.monotonic() < end, t
        time.sleep(0.2)


def node_id(broker):
    with broker.conn() as c:
        brokers = c.metadata([])["brokers"]
    assert len(brokers) == 1
    return brokers[0][0]


def pages(resp):
    """[(topic, [partition indexes])] of a response."""
    return [(t["name"], [p["index"] for p in t["partitions"]]) for t in resp["topics"]]


# ---------------------------------------------------------------- tests

def test_advertised(dtp_broker):
    with dtp_broker.conn() as c:
        apis = c.api_versions()
    assert API in apis and apis[API][0] == 0 and apis[API][1] >= 0


def test_topics_by_name_sorted_with_partition_details(dtp_broker):
    a, b = unique_topic("dtp-a"), unique_topic("dtp-b")
    create(dtp_broker, a, 3)
    create(dtp_broker, b, 2)
    node = node_id(dtp_broker)
    missing = unique_topic("dtp-c-missing")
    # Out of order and with a duplicate: answered once each, sorted by name.
    resp = describe(dtp_broker, [missing, b, a, "bad/name", a])
    assert resp["throttle"] == 0 and resp["next"] is None
    names = [t["name"] for t in resp["topics"]]
    assert names == sorted([a, b, missing, "bad/name"]), names
    by = {t["name"]: t for t in resp["topics"]}
    for name, n in ((a, 3), (b, 2)):
        t = by[name]
        assert t["error"] == 0 and t["internal"] == 0, t
        assert t["id"] != bytes(16)
        assert t["ops"] == TOPIC_OPS, t
        assert [p["index"] for p in t["partitions"]] == list(range(n))
        for p in t["partitions"]:
            assert p == {"error": 0, "index": p["index"], "leader": node, "epoch": 0,
                         "replicas": [node], "isr": [node], "elr": [],
                         "last_known_elr": [], "offline": []}, p
    assert by[a]["id"] != by[b]["id"]
    # Ids are stable.
    again = describe(dtp_broker, [a])
    assert again["topics"][0]["id"] == by[a]["id"]
    for name, err in ((missing, UNKNOWN_TOPIC_OR_PARTITION), ("bad/name", INVALID_TOPIC_EXCEPTION)):
        t = by[name]
        assert t["error"] == err and t["id"] == bytes(16) and t["partitions"] == [], t


def test_pagination_with_partition_limit(dtp_broker):
    a, b = unique_topic("dtp-pa"), unique_topic("dtp-pb")
    create(dtp_broker, a, 3)
    create(dtp_broker, b, 2)
    # Limit 2 over 3 + 2 partitions: three pages, the cursor moving through
    # a topic and across to the next.
    r1 = describe(dtp_broker, [a, b], limit=2)
    assert pages(r1) == [(a, [0, 1])] and r1["next"] == (a, 2), r1
    r2 = describe(dtp_broker, [a, b], limit=2, cursor=r1["next"])
    assert pages(r2) == [(a, [2]), (b, [0])] and r2["next"] == (b, 1), r2
    r3 = describe(dtp_broker, [a, b], limit=2, cursor=r2["next"])
    assert pages(r3) == [(b, [1])] and r3["next"] is None, r3
    # The limit reached exactly at a topic's end: the cursor names the next
    # topic's partition 0, and that topic is not in the page.
    r = describe(dtp_broker, [b, a], limit=3)
    assert pages(r) == [(a, [0, 1, 2])] and r["next"] == (b, 0), r
    # A limit below 1 counts as 1.
    r = describe(dtp_broker, [a, b], limit=0)
    assert pages(r) == [(a, [0])] and r["next"] == (a, 1), r
    # A cursor past a topic's last partition gives it with no partitions.
    r = describe(dtp_broker, [a, b], cursor=(a, 7))
    assert pages(r) == [(a, []), (b, [0, 1])] and r["next"] is None, r


def test_all_topics_and_cursor_rules(dtp_broker):
    a, b = unique_topic("dtp-za"), unique_topic("dtp-zb")
    create(dtp_broker, a, 1)
    create(dtp_broker, b, 2)
    # No names: every topic, sorted; with a cursor, those from its topic on.
    everything = describe(dtp_broker, [])
    names = [t["name"] for t in everything["topics"]]
    assert names == sorted(names) and a in names and b in names, names
    assert all(t["error"] == 0 for t in everything["topics"])
    r = describe(dtp_broker, [], cursor=(b, 1))
    assert r["topics"][0]["name"] == b and [p["index"] for p in r["topics"][0]["partitions"]] == [1]
    assert [t["name"] for t in r["topics"]] == [n for n in names if n >= b], r
    # Listed names before the cursor's topic are left out.
    r = describe(dtp_broker, [a, b], cursor=(b, 0))
    assert pages(r) == [(b, [0, 1])], r
    # The cursor's topic must be listed, and its partition not negative:
    # otherwise every listed topic gets INVALID_REQUEST.
    for cursor in ((unique_topic("dtp-zz"), 0), (b, -1)):
        r = describe(dtp_broker, [a, b], cursor=cursor)
        assert [(t["name"], t["error"], t["partitions"]) for t in r["topics"]] == [
            (a, INVALID_REQUEST, []), (b, INVALID_REQUEST, [])], r
        assert r["next"] is None


def test_kafka_topics_describe_uses_it(dtp_broker, tmp_path):
    t = unique_topic("dtp-cli")
    create(dtp_broker, t, 3)
    node = node_id(dtp_broker)
    # Kafka's NetworkClient logs every request it sends at DEBUG.
    log4j = tmp_path / "log4j2.properties"
    log4j.write_text("\n".join([
        "status = error",
        "rootLogger.level = WARN",
        "rootLogger.appenderRef.stderr.ref = STDERR",
        "appender.stderr.type = Console",
        "appender.stderr.name = STDERR",
        "appender.stderr.target = SYSTEM_ERR",
        "appender.stderr.layout.type = PatternLayout",
        "appender.stderr.layout.pattern = %p %m (%c)%n",
        "logger.nc.name = org.apache.kafka.clients.NetworkClient",
        "logger.nc.level = DEBUG",
        ""]))
    cmd = _java("org.apache.kafka.tools.TopicCommand",
                ["--bootstrap-server", dtp_broker.bootstrap, "--describe", "--topic", t])
    cmd = [("-Dlog4j2.configurationFile=%s" % log4j) if a.startswith("-Dlog4j2.configurationFile=")
           else a for a in cmd]
    p = _run(cmd, 120, None, "kafka-topics --describe")
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    sent = set(re.findall(r"Sending ([A-Z_]+) request", err))
    assert "DESCRIBE_TOPIC_PARTITIONS" in sent, sorted(sent)
    assert "METADATA" in sent  # for the bootstrap; not instead of API 75
    assert re.search(r"Topic: %s\s+TopicId: \S+\s+PartitionCount: 3\s+ReplicationFactor: 1"
                     % re.escape(t), out), out
    rows = re.findall(r"Topic: %s\s+Partition: (\d)\s+Leader: %d\s+Replicas: %d\s+Isr: %d"
                      % (re.escape(t), node, node, node), out)
    assert rows == ["0", "1", "2"], out
