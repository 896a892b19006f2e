"""The five real Kafka clients the tests drive, behind one small interface.

  create_topic(bootstrap, topic, partitions)  through the client's admin API;
                                              None when it has none (the topic is
                                              then auto-created with num.partitions)
  produce(broker, topic, records)             acks=all; raises if anything failed
  consume(broker, topic, count) -> [Got]      from the earliest offset, no commits

Records are generated so that each client can carry them: clients whose tools
are line-oriented (kcat, Kafka's console tools) get printable text and, for
kcat, one fixed header set; the others get arbitrary bytes.  Producers that
cannot set a record timestamp leave it to the client (CreateTime = now).
"""

import base64
import concurrent.futures
import json
import os
import random
import re
import subprocess
import time
from dataclasses import dataclass

from conftest import CLIENTS, REPO

JAVA_CP = os.path.join(CLIENTS, "jars", "*")
JAVA_LOG = "-Dlog4j2.configurationFile=" + os.path.join(CLIENTS, "log4j2.properties")
NODE_SCRIPT = os.path.join(CLIENTS, "kafkajs-client.js")
TEXT = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"


@dataclass(frozen=True)
class Rec:
    key: bytes
    value: bytes
    headers: tuple  # ((name: str, value: bytes), ...)
    ts: object      # int ms, or None when the producer cannot set it


@dataclass(frozen=True)
class Got:
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: tuple
    ts: int


def _run(cmd, timeout, input=None, what=None):
    try:
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s timed out after %ds; stderr:\n%s" % (
            what or cmd[0], timeout, (e.stderr or b"").decode(errors="replace")[-3000:]))
    if p.returncode != 0:
        raise AssertionError("%s exited %d; stderr:\n%s" % (
            what or cmd[0], p.returncode, p.stderr.decode(errors="replace")[-3000:]))
    return p


class Client:
    name = "?"
    binary = True          # keys, values and header values may be any bytes
    sets_timestamp = True  # the producer can set CreateTime per record
    per_record_headers = True
    fixed_headers = ()     # used instead when per_record_headers is False

    def create_topic(self, bootstrap, topic, partitions):
        return None

    def make_records(self, n, nkeys, seed, text=False):
        rnd = random.Random(seed)
        now = int(time.time() * 1000)
        base_ts = now - 600000  # in the past: brokers reject far-future CreateTime
        out = []
        for i in range(n):
            k = rnd.randrange(nkeys) if i >= nkeys else i
            if self.binary and not text:
                key = b"key-%03d\x00\xff" % k + bytes([k % 256])
                payload = rnd.randbytes(rnd.randrange(0, 200))
                headers = (("seq", b"%d" % i), ("bin", rnd.randbytes(rnd.randrange(1, 12))),
                           ("empty", b""), ("dup", b"first"), ("dup", b"second"))
            else:
                key = b"key-%03d" % k
                payload = bytes(rnd.choice(TEXT) for _ in range(rnd.randrange(1, 120)))
                headers = (("seq", b"%d" % i), ("src", self.name.encode()))
            if not self.per_record_headers:
                headers = self.fixed_headers
            out.append(Rec(key, b"seq=%06d;" % i + payload, headers,
                           base_ts + i if self.sets_timestamp else None))
        return out


# ------------------------------------------------------------------- kcat

class Kcat(Client):
    name = "kcat"
    binary = False
    sets_timestamp = False
    per_record_headers = False  # -H sets the same headers on every record
    fixed_headers = (("client", b"kcat"), ("h2", b"v2"))

    def produce(self, broker, topic, records):
        cmd = ["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K", "\t",
               "-X", "acks=all", "-X", "linger.ms=5"]
        for hk, hv in self.fixed_headers:
            cmd += ["-H", "%s=%s" % (hk, hv.decode())]
        for r in records:
            assert r.headers == self.fixed_headers and r.ts is None
        data = b"".join(r.key + b"\t" + r.value + b"\n" for r in records)
        p = _run(cmd, 120, data, "kcat -P")
        # kcat reports failed deliveries on stderr but still exits 0.
        err = p.stderr.decode(errors="replace")
        assert "ERROR" not in err and "failed" not in err.lower(), "kcat -P: " + err[-2000:]

    def consume(self, broker, topic, count):
        # Lengths make the output binary-safe: %K/%S precede key and value.
        fmt = "%p %o %T %K %k %S %s %h\n"
        p = _run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                  "-q", "-f", fmt], 120, None, "kcat -C")
        return parse_kcat(p.stdout)


def parse_kcat(data):
    out, pos = [], 0
    num = re.compile(rb"(-?\d+) ")
    while pos < len(data):
        fields = []
        for _ in range(4):
            m = num.match(data, pos)
            assert m, "kcat output unparsable at %d: %r" % (pos, data[pos:pos + 80])
            fields.append(int(m.group(1)))
            pos = m.end()
        part, off, ts, klen = fields
        key = None if klen < 0 else data[pos:pos + klen]
        pos += max(klen, 0) + 1
        m = num.match(data, pos)
        assert m, "kcat output unparsable at %d: %r" % (pos, data[pos:pos + 80])
        vlen = int(m.group(1))
        pos = m.end()
        value = None if vlen < 0 else data[pos:pos + vlen]
        pos += max(vlen, 0) + 1
        nl = data.index(b"\n", pos)
        hdr_text = data[pos:nl]
        pos = nl + 1
        headers = ()
        if hdr_text:
            headers = tuple((kv.split(b"=", 1)[0].decode(), kv.split(b"=", 1)[1])
                            for kv in hdr_text.split(b","))
        out.append(Got(part, off, key, value, headers, ts))
    return out


# ------------------------------------------------------------ kafka-python

class KafkaPython(Client):
    name = "kafka-python"

    def create_topic(self, bootstrap, topic, partitions):
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
        try:
            resp = admin.create_topics([NewTopic(topic, partitions, 1)], timeout_ms=20000)
            for name, code, *_ in resp.topic_errors:
                assert code == 0, "kafka-python CreateTopics %s: error %d" % (name, code)
        finally:
            admin.close()
        return True

    def produce(self, broker, topic, records):
        from kafka import KafkaProducer
        prod = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                             retries=5, request_timeout_ms=20000)
        try:
            futs = [prod.send(topic, key=r.key, value=r.value, headers=list(r.headers),
                              timestamp_ms=r.ts) for r in records]
            prod.flush(60)
            for f in futs:
                f.get(timeout=1)  # raises the delivery error, if any
        finally:
            prod.close(10)

    def consume(self, broker, topic, count):
        from kafka import KafkaConsumer, TopicPartition
        cons = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             request_timeout_ms=30000, consumer_timeout_ms=1000)
        try:
            parts = cons.partitions_for_topic(topic)
            assert parts, "kafka-python: no partitions for %s" % topic
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            cons.assign(tps)
            cons.seek_to_beginning(*tps)
            out, deadline = [], time.monotonic() + 90
            while len(out) < count and time.monotonic() < deadline:
                for batch in cons.poll(timeout_ms=500).values():
                    for m in batch:
                        out.append(Got(m.partition, m.offset, m.key, m.value,
                                       tuple((k, v) for k, v in m.headers), m.timestamp))
            return out
        finally:
            cons.close()


# --------------------------------------------------- confluent-kafka (librdkafka)

class Confluent(Client):
    name = "confluent-kafka"

    def create_topic(self, bootstrap, topic, partitions):
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": bootstrap})
        futs = admin.create_topics([NewTopic(topic, partitions, 1)], request_timeout=20)
        futs[topic].result(30)
        return True

    def producer(self, bootstrap, **extra):
        from confluent_kafka import Producer
        conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5}
        conf.update(extra)
        return Producer(conf)

    def produce(self, broker, topic, records, **extra):
        prod = self.producer(broker.bootstrap, **extra)
        errors = []

        def cb(err, _msg):
            if err is not None:
                errors.append(err)

        for r in records:
            kw = {"timestamp": r.ts} if r.ts is not None else {}
            while True:
                try:
                    prod.produce(topic, key=r.key, value=r.value, headers=list(r.headers),
                                 on_delivery=cb, **kw)
                    break
                except BufferError:
                    prod.poll(0.1)
            prod.poll(0)
        left = prod.flush(60)
        assert left == 0, "confluent-kafka: %d records undelivered" % left
        assert not errors, "confluent-kafka delivery errors: %s" % errors[:5]

    def consume(self, broker, topic, count, group="kavka-test-assign"):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
        # group.id is mandatory in librdkafka even for assign(); nothing is committed.
        cons = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        try:
            md = cons.list_topics(topic, timeout=20)
            tmd = md.topics[topic]
            assert tmd.error is None, "confluent-kafka metadata for %s: %s" % (topic, tmd.error)
            cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(tmd.partitions)])
            out, deadline = [], time.monotonic() + 90
            while len(out) < count and time.monotonic() < deadline:
                for m in cons.consume(1000, 0.5):
                    if m.error():
                        raise AssertionError("confluent-kafka consume: %s" % m.error())
                    out.append(Got(m.partition(), m.offset(), m.key(), m.value(),
                                   tuple(m.headers() or ()), m.timestamp()[1]))
            return out
        finally:
            cons.close()


# ------------------------------------------------------- Java (Kafka's own tools)

def _java(main, args):
    return ["java", "-cp", JAVA_CP, JAVA_LOG, "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            main] + args


class Java(Client):
    name = "java"
    binary = False
    sets_timestamp = False  # ConsoleProducer has no timestamp input

    def create_topic(self, bootstrap, topic, partitions):
        _run(_java("org.apache.kafka.tools.TopicCommand",
                   ["--bootstrap-server", bootstrap, "--create", "--topic", topic,
                    "--partitions", str(partitions), "--replication-factor", "1"]),
             120, None, "kafka-topics --create")
        return True

    def produce(self, broker, topic, records):
        lines = []
        for r in records:
            assert r.ts is None
            hdr = b",".join(k.encode() + b":" + v for k, v in r.headers)
            lines.append(hdr + b"\t" + r.key + b"\t" + r.value + b"\n")
        _run(_java("org.apache.kafka.tools.ConsoleProducer",
                   ["--bootstrap-server", broker.bootstrap, "--topic", topic,
                    "--request-required-acks", "-1",
                    "--property", "parse.key=true", "--property", "parse.headers=true"]),
             180, b"".join(lines), "kafka-console-producer")

    def consume(self, broker, topic, count):
        # One ConsoleConsumer per partition: --partition uses assign(), no group.
        with broker.conn() as c:
            parts = c.metadata([topic])["topics"][topic]["partitions"]
        ends = broker.offsets(topic, [p for p, _e, _l in parts], -1)

        def one(p):
            if ends[p] == 0:
                return b""
            return _run(_java("org.apache.kafka.tools.consumer.ConsoleConsumer",
                              ["--bootstrap-server", broker.bootstrap, "--topic", topic,
                               "--partition", str(p), "--offset", "earliest",
                               "--max-messages", str(ends[p]), "--timeout-ms", "30000"] +
                              sum((["--property", "print.%s=true" % f] for f in
                                   ("timestamp", "partition", "offset", "headers", "key")), [])),
                        180, None, "kafka-console-consumer -p %d" % p).stdout

        with concurrent.futures.ThreadPoolExecutor(len(ends)) as ex:
            outputs = list(ex.map(one, sorted(ends)))
        out = []
        for data in outputs:
            for line in data.splitlines():
                ts, part, off, hdrs, key, value = line.split(b"\t", 5)
                assert ts.startswith(b"CreateTime:"), line
                headers = () if hdrs == b"NO_HEADERS" else tuple(
                    (h.split(b":", 1)[0].decode(), h.split(b":", 1)[1]) for h in hdrs.split(b","))
                out.append(Got(int(part.split(b":")[1]), int(off.split(b":")[1]), key, value,
                               headers, int(ts.split(b":")[1])))
        return out


# ------------------------------------------------------------------ kafkajs

def _b64(b):
    return None if b is None else base64.b64encode(b).decode()


def _unb64(s):
    return None if s is None else base64.b64decode(s)


class KafkaJS(Client):
    name = "kafkajs"

    def _node(self, bootstrap, *args):
        return ["node", NODE_SCRIPT, bootstrap] + [str(a) for a in args]

    def create_topic(self, bootstrap, topic, partitions):
        _run(self._node(bootstrap, "create", topic, partitions), 90, None, "kafkajs create")
        return True

    def produce(self, broker, topic, records):
        data = "".join(json.dumps({"k": _b64(r.key), "v": _b64(r.value),
                                   "h": [[k, _b64(v)] for k, v in r.headers], "ts": r.ts}) + "\n"
                       for r in records)
        _run(self._node(broker.bootstrap, "produce", topic), 180, data.encode(), "kafkajs produce")

    def consume(self, broker, topic, count):
        p = _run(self._node(broker.bootstrap, "consume", topic, count, 90000), 150, None,
                 "kafkajs consume")
        out = []
        for line in p.stdout.splitlines():
            j = json.loads(line)
            out.append(Got(j["p"], j["o"], _unb64(j["k"]), _unb64(j["v"]),
                           tuple((k, _unb64(v)) for k, v in j["h"]), j["ts"]))
        return out


ALL = [Kcat(), KafkaPython(), Confluent(), Java(), KafkaJS()]
BY_NAME = {c.name: c for c in ALL}


# ------------------------------------------------------------ verification

def verify(sent, got, window=None, what=""):
    """Asserts got is exactly sent: same records once each, byte-identical
    key/value/headers, timestamps (exact when set, else inside window), offsets
    0..n-1 per partition, each key on one partition and in produced order."""
    problems = []
    by_value = {r.value: (i, r) for i, r in enumerate(sent)}
    assert len(by_value) == len(sent), "test bug: values must be unique"
    seen = {}
    for g in got:
        hit = by_value.get(g.value)
        if hit is None:
            problems.append("unexpected record p%d@%d value=%r" % (g.partition, g.offset, g.value[:40]))
            continue
        i, r = hit
        if i in seen:
            problems.append("duplicate of record %d at p%d@%d" % (i, g.partition, g.offset))
        seen[i] = g
        if g.key != r.key:
            problems.append("record %d key %r != %r" % (i, g.key, r.key))
        if tuple(g.headers) != tuple(r.headers):
            problems.append("record %d headers %r != %r" % (i, g.headers, r.headers))
        if r.ts is not None and g.ts != r.ts:
            problems.append("record %d timestamp %r != %r" % (i, g.ts, r.ts))
        if r.ts is None and window and not (window[0] <= g.ts <= window[1]):
            problems.append("record %d timestamp %r outside produce window %r" % (i, g.ts, window))
    missing = [i for i in range(len(sent)) if i not in seen]
    if missing:
        problems.append("%d records missing, first %s" % (len(missing), missing[:10]))

    parts = {}
    for g in got:
        parts.setdefault(g.partition, []).append(g)
    key_part, key_seq = {}, {}
    for p, gs in sorted(parts.items()):
        gs.sort(key=lambda g: g.offset)
        offs = [g.offset for g in gs]
        if offs != list(range(len(offs))):
            problems.append("partition %d offsets not 0..%d: %s..." % (p, len(offs) - 1, offs[:10]))
        for g in gs:
            if g.value not in by_value:
                continue
            i, r = by_value[g.value]
            if key_part.setdefault(r.key, p) != p:
                problems.append("key %r on partitions %d and %d" % (r.key, key_part[r.key], p))
            key_seq.setdefault(r.key, []).append(i)
    for k, seq in key_seq.items():
        if seq != sorted(seq):
            problems.append("key %r out of produced order: %s" % (k, seq[:20]))
            break
    if problems:
        raise AssertionError("%s: %d problems:\n  %s" % (what, len(problems), "\n  ".join(problems[:25])))
    return parts
