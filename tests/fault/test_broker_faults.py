"""Issue 14, fail-stop durability: kavka-broker under I/O faults on one
partition's files (libfaultfs.so, FAULTFS_PATH = the partition directory).

Each case runs a broker with log.flush.interval.messages=1 (every append is
fdatasync'ed before the ack) under the shim, drives it with an idempotent
acks=all confluent-kafka producer (200 records, a sequence number in each
value) while a consumer reads the partition, then:

  * the broker must have gone fail-stop: either it exited with a non-zero
    status, or a plain Produce to the partition answers KAFKA_STORAGE_ERROR
    (after a failed fsync: the partition is offline — also in the "once"
    case, where the disk works again right after, as a failed fsync is never
    retried (fsyncgate); the write faults here go on failing, so the answer
    is the same whether or not the broker keeps the partition online);
  * the consumer must never have been served a record that was not
    acknowledged in the end, nor a record twice;
  * the broker is stopped, the writeback lost to the failed fsync is dropped
    (powercut.py --content-only: nothing written after the last good sync of a
    file survives), and a broker without the shim must serve every
    acknowledged record exactly once, with valid CRCs.
"""

import threading
import time

import pytest

import faultlib
import powercut
from faultlib import Broker, counts, shim_env, value

N_RECORDS = 200
GROUP = 5

# FAULTFS_AFTER counts matching calls on the partition's files.  The records
# go out in groups of GROUP (one Produce each, about 700 bytes); an append
# costs one write of the segment (and one of each index every 4 KiB) and,
# with flush.interval.messages=1, an fdatasync of the .log and of its
# indexes: the faults start about a third into the stream.
# fsync_eio_once fails one fdatasync of the segment file itself (not of an
# index): the disk works again right after, which only a broker that never
# retries a failed sync survives.
CASES = {
    "fsync_eio": dict(ops="fsync", errno="EIO", after=40),
    "fsync_eio_once": dict(ops="fsync", errno="EIO", after=15, count=1,
                           file="00000000000000000000.log"),
    "write_enospc": dict(ops="write", errno="ENOSPC", after=15),
    "partial_write": dict(ops="write", errno="ENOSPC", after=15, mode="partial"),
}


class Reader(threading.Thread):
    """Consumes the partition during the fault phase: what the broker serves."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition
        self.cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "fault-reader",
                              "enable.auto.commit": False, "check.crcs": True,
                              "fetch.wait.max.ms": 50, "fetch.error.backoff.ms": 50,
                              "reconnect.backoff.max.ms": 200})
        self.cons.assign([TopicPartition(topic, 0, 0)])
        self.served = []   # (offset, value)
        self.errors = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for m in self.cons.consume(100, 0.1):
                if m.error():
                    self.errors.append(str(m.error()))
                else:
                    self.served.append((m.offset(), m.value()))
        self.cons.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_broker_fault(case, tmp_path):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    spec = dict(CASES[case])
    topic = "ft-%s" % case.replace("_", "-")
    where = "/%s-0" % topic + ("/" + spec.pop("file") if "file" in spec else "")
    events = str(tmp_path / "events")
    synclog = str(tmp_path / "synclog")
    broker = Broker(tmp_path / "broker", {"log.flush.interval.messages": "1"})
    broker.start(shim_env(path=where, events=events, synclog=synclog, **spec))
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=20)[topic].result(30)

        reader = Reader(broker.bootstrap, topic)
        reader.start()
        acked, failed = {}, {}

        def cb(seq):
            def done(err, msg):
                if err is None:
                    acked[seq] = msg.offset()
                else:
                    failed[seq] = str(err)
            return done

        prod = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                         "acks": "all", "linger.ms": 2, "message.timeout.ms": 8000,
                         "retry.backoff.ms": 100, "reconnect.backoff.max.ms": 200})
        # Groups of GROUP records, each waited for while all goes well, so that
        # FAULTFS_AFTER means about the same point in the stream every run;
        # once something fails or hangs the rest goes out at once.
        steady = True
        for seq in range(N_RECORDS):
            prod.produce(topic, value=value(seq), partition=0, on_delivery=cb(seq))
            prod.poll(0)
            if steady and seq % GROUP == GROUP - 1:
                steady = prod.flush(10.0) == 0 and not failed
        left = prod.flush(60)
        assert left == 0, "%d deliveries still pending after 60 s" % left

        # Fail-stop: exited non-zero, or the partition refuses writes.
        rc = broker.wait_exit(1.0)
        probe = None
        if rc is None:
            probe = broker.probe_produce(topic)
            rc = broker.wait_exit(0.5)   # it may have died on the probe
        time.sleep(0.5)                  # the reader catches up with what is served
        reader.halt.set()
        reader.join(30)
        if rc is None:
            rc_term = broker.stop()
            how = "kept running, probe produce error %s, exit %s on SIGTERM" % (probe, rc_term)
        else:
            how = "exited by itself with status %s" % rc
    finally:
        broker.kill()

    injected = faultlib.lines(events)
    cut = powercut.powercut(broker.log_dirs, synclog, content_only=True)

    broker.start()   # no shim
    try:
        values, errors = faultlib.consume_all(broker.bootstrap, topic, [0])
    finally:
        rc_clean = broker.stop()
    seen, corrupt = faultlib.tally(values)
    lost = sorted(s for s in acked if s not in seen)
    dups = sorted(s for s, n in seen.items() if n > 1)
    served_seqs = [faultlib.parse_value(v) for _o, v in reader.served]
    served_unacked = sorted({s for s in served_seqs if s is not None and s not in acked})
    served_twice = sorted({s for s in served_seqs if s is not None and served_seqs.count(s) > 1})

    counts("broker " + case, faults_injected=len(injected), acknowledged=len(acked),
           recovered=sum(1 for s in acked if s in seen), lost=len(lost), duplicated=len(dups))
    faultlib.detail("broker %s; %d failed deliveries %s; served during the faults %d, "
                    "unacknowledged among them %d, twice %d; power cut: %s; restart without "
                    "the shim exited %s" % (
                        how, len(failed), sorted(set(f[:60] for f in failed.values()))[:2],
                        len(reader.served), len(served_unacked), len(served_twice),
                        "; ".join(c.replace(broker.log_dirs + "/", "") for c in cut) or "nothing",
                        rc_clean))

    assert injected, "no fault was injected: FAULTFS_AFTER too high for this load"
    assert acked, "nothing was acknowledged before the faults"
    # Every violation at once: the report names all that went wrong.
    bad = []
    if errors or corrupt:
        bad.append("after restart: %d corrupt records, errors %s" % (corrupt, errors[:5]))
    if lost:
        bad.append("%d acknowledged records missing after restart: %s" % (len(lost), lost[:20]))
    if dups:
        bad.append("%d records stored twice: %s" % (len(dups), dups[:20]))
    if served_unacked:
        bad.append("%d records served to a consumer but never acknowledged (the broker kept "
                   "serving what it failed to store): %s" % (len(served_unacked),
                                                            served_unacked[:20]))
    if served_twice:
        bad.append("%d records served twice during the faults: %s" % (len(served_twice),
                                                                       served_twice[:20]))
    if "kept running" in how and probe != faultlib.KAFKA_STORAGE_ERROR:
        bad.append("after the fault the broker neither exited nor took the partition offline: "
                   "a plain Produce answered %s, not KAFKA_STORAGE_ERROR (%d)" % (
                       probe, faultlib.KAFKA_STORAGE_ERROR))
    if "kept running" not in how and rc == 0:
        bad.append("the broker exited 0 after a storage fault")
    if rc_clean != 0:
        bad.append("the broker without the shim did not stop cleanly (%s):\n%s" % (
            rc_clean, broker.log_tail()))
    assert not bad, "\n".join(bad)
