"""Issue 3, idempotent producer: InitProducerId and per-partition sequence
checks, with real clients' default (idempotent) producers and with raw
batches that replay, skip or fence sequences."""

import signal
import time

import pytest

import kproto
from clients import BY_NAME, JAVA_CP, JAVA_LOG, _run, verify
from conftest import TARGET, unique_topic

ERR_NONE = 0
ERR_UNSUPPORTED_VERSION = 35
ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45
ERR_INVALID_PRODUCER_EPOCH = 47
ERR_INVALID_RECORD = 87


def init_pid(c, transactional_id=None):
    """InitProducerId, retried while the coordinator loads (Kafka at start-up)."""
    for _ in range(100):
        res = c.init_producer_id(transactional_id)
        if res[0] not in (14, 15):  # COORDINATOR_LOAD_IN_PROGRESS / NOT_AVAILABLE
            return res
        time.sleep(0.2)
    return res


def batch(pid, epoch, seq, n=3, tag="r"):
    recs = [(b"k%d" % i, ("%s-%d-%d" % (tag, seq, i)).encode(), ()) for i in range(n)]
    return kproto.record_batch(recs, producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def create_topic(broker, topic, partitions=1):
    BY_NAME["confluent-kafka"].create_topic(broker.bootstrap, topic, partitions)


def test_producer_ids_are_fresh_and_survive_restart(broker_factory):
    broker = broker_factory()
    with broker.conn() as c:
        ids = [init_pid(c) for _ in range(3)]
    for err, _pid, epoch in ids:
        assert (err, epoch) == (ERR_NONE, 0)
    pids = [pid for _e, pid, _ep in ids]
    assert len(set(pids)) == 3 and min(pids) >= 0
    broker.restart(signal.SIGKILL)
    with broker.conn() as c:
        err, pid, _ep = init_pid(c)
    assert err == ERR_NONE
    assert pid > max(pids), "producer id %d reused after restart (had %r)" % (pid, pids)


@pytest.mark.skipif(TARGET == "kafka", reason="Apache Kafka implements transactions")
def test_transactional_id_refused(broker_factory):
    broker = broker_factory()
    with broker.conn() as c:
        err, pid, epoch = init_pid(c, "txn-1")
    assert (err, pid, epoch) == (ERR_UNSUPPORTED_VERSION, -1, -1)


def test_replay_gap_and_fencing(broker_factory):
    broker = broker_factory()
    topic = unique_topic("idem")
    create_topic(broker, topic)
    with broker.conn() as c:
        err, pid, epoch = init_pid(c)
        assert err == ERR_NONE
        first = batch(pid, epoch, 0)
        assert c.produce(topic, 0, first) == (ERR_NONE, 0)
        assert c.produce(topic, 0, batch(pid, epoch, 3)) == (ERR_NONE, 3)
        # The same batch again (a retry): original offset, not stored twice.
        assert c.produce(topic, 0, batch(pid, epoch, 0)) == (ERR_NONE, 0)
        assert c.produce(topic, 0, batch(pid, epoch, 3)) == (ERR_NONE, 3)
        assert broker.offsets(topic, [0], kproto.LATEST) == {0: 6}
        # A gap in the sequence.
        assert c.produce(topic, 0, batch(pid, epoch, 9))[0] == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        # A new epoch must start at 0; then the old epoch is fenced.
        assert c.produce(topic, 0, batch(pid, epoch + 1, 4))[0] == \
            ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        assert c.produce(topic, 0, batch(pid, epoch + 1, 0)) == (ERR_NONE, 6)
        assert c.produce(topic, 0, batch(pid, epoch, 6))[0] == ERR_INVALID_PRODUCER_EPOCH
        # Two batches in one partition's records: refused from Produce v3.
        assert c.produce(topic, 0, batch(-1, -1, -1) + batch(-1, -1, -1))[0] == \
            ERR_INVALID_RECORD
    assert broker.offsets(topic, [0], kproto.LATEST) == {0: 9}

    # State is rebuilt from the log: after kill -9 a retry is still recognised.
    broker.restart(signal.SIGKILL)
    with broker.conn() as c:
        assert c.produce(topic, 0, batch(pid, epoch + 1, 0)) == (ERR_NONE, 6)
        assert c.produce(topic, 0, batch(pid, epoch + 1, 5))[0] == \
            ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        assert c.produce(topic, 0, batch(pid, epoch + 1, 3)) == (ERR_NONE, 9)
    assert broker.offsets(topic, [0], kproto.LATEST) == {0: 12}


def test_java_default_producer_and_perf_test(broker_factory):
    """The Java producer's defaults are idempotence on, acks=all."""
    broker = broker_factory()
    topic = unique_topic("perf")
    java = BY_NAME["java"]
    java.create_topic(broker.bootstrap, topic, 3)
    out = _run(["java", "-cp", JAVA_CP, JAVA_LOG, "-XX:TieredStopAtLevel=1",
                "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                "--num-records", "20000", "--record-size", "200", "--throughput", "-1",
                "--producer-props", "bootstrap.servers=" + broker.bootstrap],
               180, None, "kafka-producer-perf-test")
    text = out.stdout.decode() + out.stderr.decode()
    assert "20000 records sent" in text, text
    assert "ERROR" not in text, text
    ends = broker.offsets(topic, [0, 1, 2], kproto.LATEST)
    assert sum(ends.values()) == 20000, ends

    records = java.make_records(500, 10, seed=topic, text=True)
    topic2 = unique_topic("console")
    java.produce(broker, topic2, records)  # kafka-console-producer, default (idempotent)
    verify(records, java.consume(broker, topic2, len(records)), None, "java idempotent")


def test_librdkafka_idempotent_producer(broker_factory):
    broker = broker_factory()
    topic = unique_topic("rdk-idem")
    confluent = BY_NAME["confluent-kafka"]
    records = confluent.make_records(2000, 10, seed=topic)
    confluent.produce(broker, topic, records, **{"enable.idempotence": True})
    verify(records, confluent.consume(broker, topic, len(records)), None, "librdkafka idem")
