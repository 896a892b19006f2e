"""Issue acceptance 2: acknowledged records survive a clean stop, a kill -9 in
the middle of producing, and a torn batch at the end of the last segment."""

import os
import random
import signal
import threading
import time

import pytest

import kproto
from clients import BY_NAME, verify

pytestmark = pytest.mark.restart

confluent = BY_NAME["confluent-kafka"]


class Recorder:
    """Produces numbered records from a thread and remembers each outcome."""

    def __init__(self, bootstrap, topic):
        # No idempotence: a retry after a crash may duplicate, which the test
        # allows only for records not yet acknowledged when the broker died.
        self.prod = confluent.producer(
            bootstrap, **{"enable.idempotence": False, "message.timeout.ms": 120000,
                          "retry.backoff.ms": 100, "reconnect.backoff.max.ms": 500,
                          "socket.timeout.ms": 10000})
        self.topic = topic
        self.lock = threading.Lock()
        self.acked = {}     # seq -> (partition, offset)
        self.failed = {}    # seq -> error
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def value(seq):
        return b"seq=%07d;" % seq + random.Random(seq).randbytes(seq % 97)

    def _cb(self, seq):
        def cb(err, msg):
            with self.lock:
                if err is None:
                    self.acked[seq] = (msg.partition(), msg.offset())
                else:
                    self.failed[seq] = err
        return cb

    def _run(self):
        seq = 0
        while not self.stop.is_set():
            try:
                self.prod.produce(self.topic, key=b"k%02d" % (seq % 31), value=self.value(seq),
                                  headers=[("seq", b"%d" % seq)], on_delivery=self._cb(seq))
            except BufferError:
                self.prod.poll(0.05)
                continue
            seq += 1
            self.sent = seq
            self.prod.poll(0)
            if seq % 50 == 0:
                time.sleep(0.01)  # a steady stream, not one burst

    def n_acked(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, timeout):
        deadline = time.monotonic() + timeout
        while self.n_acked() < n:
            assert time.monotonic() < deadline, "only %d/%d records acknowledged in %ds (failed: %s)" % (
                self.n_acked(), n, timeout, list(self.failed.values())[:3])
            time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.thread.join(30)
        left = self.prod.flush(150)
        assert left == 0, "%d records neither acknowledged nor failed" % left


def consume_all(broker, topic):
    """Everything in the topic, read until each partition's end offset."""
    with broker.conn() as c:
        parts = [p for p, _e, _l in c.metadata([topic])["topics"][topic]["partitions"]]
    ends = broker.offsets(topic, parts, kproto.LATEST)
    got = confluent.consume(broker, topic, sum(ends.values()), group="restart-check")
    return got, ends


def check_survivors(rec, got, ends, acked_before_crash):
    by_seq = {}
    for g in got:
        assert g.value.startswith(b"seq="), g
        seq = int(g.value[4:11])
        assert g.value == Recorder.value(seq), "record %d corrupted: %r" % (seq, g.value[:40])
        assert g.headers == (("seq", b"%d" % seq),), "record %d headers %r" % (seq, g.headers)
        by_seq.setdefault(seq, []).append((g.partition, g.offset))
    for p, end in ends.items():
        offs = sorted(g.offset for g in got if g.partition == p)
        assert offs == list(range(end)), "partition %d: offsets are not 0..%d" % (p, end - 1)
    lost = sorted(s for s in rec.acked if s not in by_seq)
    assert not lost, "%d acknowledged records lost, e.g. %s" % (len(lost), lost[:10])
    dup_early = sorted(s for s in acked_before_crash if len(by_seq[s]) > 1)
    assert not dup_early, "records acknowledged before the crash were duplicated: %s" % dup_early[:10]
    unknown = sorted(s for s in by_seq if s >= rec.sent)
    assert not unknown, "records that were never sent: %s" % unknown[:10]
    return by_seq


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_stop_mid_produce(broker_factory, sig):
    broker = broker_factory()
    topic = "restart"
    confluent.create_topic(broker.bootstrap, topic, 3)
    rec = Recorder(broker.bootstrap, topic)
    rec.thread.start()
    try:
        rec.wait_acked(2000, 60)
        with rec.lock:
            acked_before_crash = set(rec.acked)
        if sig == signal.SIGKILL:
            broker.kill()
        else:
            rc = broker.stop()
            assert rc in (0, 143), "broker exited %r on SIGTERM (0, or 143 for the JVM)" % rc
        time.sleep(1)  # the producer sees the outage and queues retries
        broker.start()
        rec.wait_acked(len(acked_before_crash) + 2000, 120)
    finally:
        rec.finish()
    got, ends = consume_all(broker, topic)
    by_seq = check_survivors(rec, got, ends, acked_before_crash)
    # One more restart, clean this time: nothing changes.
    broker.restart()
    got2, ends2 = consume_all(broker, topic)
    assert ends2 == ends, "end offsets changed across a clean restart: %s -> %s" % (ends, ends2)
    assert sorted((g.partition, g.offset, g.value) for g in got2) == sorted(
        (g.partition, g.offset, g.value) for g in got)
    assert len(by_seq) >= len(rec.acked)


def last_segment(broker, topic, partition):
    d = broker.partition_dir(topic, partition)
    logs = sorted(f for f in os.listdir(d) if f.endswith(".log"))
    assert logs, "no .log segment in %s" % d
    assert all(len(f) == 24 and f[:20].isdigit() for f in logs), logs
    return os.path.join(d, logs[-1])


@pytest.mark.parametrize("tear", ["half-batch", "random-bytes"])
def test_torn_last_batch(broker_factory, tear):
    broker = broker_factory()
    topic = "torn"
    client = confluent
    confluent.create_topic(broker.bootstrap, topic, 3)
    records = client.make_records(600, 31, seed="torn")
    client.produce(broker, topic, records)
    ends = broker.offsets(topic, [0, 1, 2], kproto.LATEST)
    part = max(ends, key=ends.get)
    broker.kill()  # a crash, so the broker cannot trust the segment's tail

    path = last_segment(broker, topic, part)
    with open(path, "rb") as f:
        data = f.read()
    spans = list(kproto.batch_spans(data))
    assert spans and spans[-1][1] == len(data), "segment %s does not end on a batch" % path
    next_offset = spans[-1][2] + spans[-1][3] + 1
    assert next_offset == ends[part]
    rnd = random.Random(tear)
    batch = kproto.record_batch([(b"torn", rnd.randbytes(300), [("h", b"v")]) for _ in range(8)],
                                base_offset=next_offset)
    tail = batch[:len(batch) // 2] if tear == "half-batch" else rnd.randbytes(len(batch) // 2)
    with open(path, "ab") as f:
        f.write(tail)

    broker.start()
    ends_after = broker.offsets(topic, [0, 1, 2], kproto.LATEST)
    assert ends_after == ends, "end offsets after recovery %s, expected %s" % (ends_after, ends)
    verify(records, client.consume(broker, topic, len(records)), None, "after torn batch")

    more = client.make_records(300, 31, seed="torn-more")
    more = [r.__class__(r.key, b"more;" + r.value, r.headers, r.ts) for r in more]
    client.produce(broker, topic, more)
    got = client.consume(broker, topic, len(records) + len(more))
    verify(records + more, got, None, "appends after torn batch")
    broker.stop()
    with open(last_segment(broker, topic, part), "rb") as f:
        data = f.read()
    spans = list(kproto.batch_spans(data))
    assert spans and spans[-1][1] == len(data), "torn bytes still in %s" % path
