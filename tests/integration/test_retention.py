"""Issue acceptance 3: size-based retention deletes old segments and moves the
log start offset (ListOffsets earliest) forward."""

import os
import time

import pytest

import kproto
from clients import BY_NAME
from conftest import TARGET

pytestmark = pytest.mark.retention

confluent = BY_NAME["confluent-kafka"]

# Kafka 4 refuses log.segment.bytes below 1 MiB, so the reference run scales
# the same shape up: retention = 4 segments, records = 1/16 segment.
SEGMENT = 1024 if TARGET == "kavka" else 1 << 20
RETENTION = 4 * SEGMENT
VALUE = SEGMENT // 16


def segments(broker, topic):
    d = broker.partition_dir(topic, 0)
    return {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log")}


def produce(broker, topic, first, n):
    prod = confluent.producer(broker.bootstrap, **{"batch.size": SEGMENT // 2, "linger.ms": 0})
    errors = []
    for i in range(first, first + n):
        value = (b"%08d" % i) * (VALUE // 8)
        prod.produce(topic, value=value, partition=0,
                     on_delivery=lambda err, _m: err and errors.append(err))
        prod.poll(0)
    assert prod.flush(60) == 0 and not errors, errors[:3]


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what()
        time.sleep(0.2)


def test_size_retention(broker_factory):
    broker = broker_factory({"log.segment.bytes": SEGMENT, "log.retention.bytes": RETENTION,
                             "log.retention.check.interval.ms": 500})
    topic = "retained"
    confluent.create_topic(broker.bootstrap, topic, 1)
    n = 6 * RETENTION // VALUE
    produce(broker, topic, 0, n)
    assert broker.offsets(topic, [0], kproto.LATEST)[0] == n

    def state():
        segs = segments(broker, topic)
        return ("earliest=%d, %d segments, %d bytes: %s" % (
            broker.offsets(topic, [0], kproto.EARLIEST)[0], len(segs), sum(segs.values()),
            sorted(segs.items())[:8]))

    def trimmed():
        segs = segments(broker, topic)
        # Retention keeps whole segments while the rest still exceeds the limit.
        return (broker.offsets(topic, [0], kproto.EARLIEST)[0] > 0
                and sum(segs.values()) <= RETENTION + SEGMENT)

    wait_for(trimmed, 20, lambda: "retention did not trim the log: " + state())
    first = broker.offsets(topic, [0], kproto.EARLIEST)[0]
    segs = segments(broker, topic)
    assert min(int(f[:20]) for f in segs) == first, "earliest %d is not the oldest segment's base: %s" % (
        first, sorted(segs))

    # What is left reads back from the new start, intact.
    got = confluent.consume(broker, topic, n - first, group="retention-check")
    assert [g.offset for g in got] == list(range(first, n))
    for g in got:
        assert g.value == (b"%08d" % g.offset) * (VALUE // 8), "offset %d corrupted" % g.offset

    # More data moves the start forward again.
    produce(broker, topic, n, 3 * RETENTION // VALUE)
    wait_for(lambda: broker.offsets(topic, [0], kproto.EARLIEST)[0] > first, 20,
             lambda: "earliest did not move past %d: %s" % (first, state()))
