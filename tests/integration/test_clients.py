"""Issue acceptance 1: every real client round-trips records through the broker,
and what one client produces every other client reads back identically."""

import os
import time

import pytest

from clients import ALL, verify
from conftest import unique_topic

N = int(os.environ.get("KAVKA_TEST_RECORDS", "10000"))
MATRIX_N = int(os.environ.get("KAVKA_TEST_MATRIX_RECORDS", "1000"))
NKEYS = 97
PARTITIONS = 3

pytestmark = pytest.mark.clients


def now_ms():
    return int(time.time() * 1000)


def produce_checked(broker, client, topic, records):
    """Creates the topic (admin API or auto-creation), produces, and returns
    the window in which client-assigned timestamps must fall."""
    client.create_topic(broker.bootstrap, topic, PARTITIONS)
    t0 = now_ms() - 1
    client.produce(broker, topic, records)
    t1 = now_ms() + 1
    with broker.conn() as c:
        md = c.metadata([topic])["topics"][topic]
    assert md["error"] == 0, "Metadata for %s: error %d" % (topic, md["error"])
    assert len(md["partitions"]) == PARTITIONS, md
    return t0, t1


@pytest.mark.parametrize("client", ALL, ids=[c.name for c in ALL])
def test_roundtrip(shared_broker, client):
    topic = unique_topic("rt-" + client.name)
    records = client.make_records(N, NKEYS, seed=client.name)
    window = produce_checked(shared_broker, client, topic, records)
    got = client.consume(shared_broker, topic, N)
    parts = verify(records, got, window, "%s round trip" % client.name)
    assert len(parts) == PARTITIONS, "keys should spread over all partitions: %s" % sorted(parts)


class _Produced:
    """Each producer's matrix topic, produced once per module on first use so
    that a broken producer fails only its own row."""

    def __init__(self, broker):
        self.broker = broker
        self.done = {}

    def get(self, client):
        if client.name not in self.done:
            topic = unique_topic("mx-" + client.name)
            records = client.make_records(MATRIX_N, NKEYS, seed="mx" + client.name, text=True)
            try:
                window = produce_checked(self.broker, client, topic, records)
                self.done[client.name] = (topic, records, window, None)
            except BaseException as e:  # noqa: B902 - reported by every consumer of the row
                self.done[client.name] = (topic, records, None, e)
        topic, records, window, err = self.done[client.name]
        if err is not None:
            pytest.fail("producer %s failed: %s" % (client.name, err))
        return topic, records, window


@pytest.fixture(scope="module")
def produced(shared_broker):
    return _Produced(shared_broker)


PAIRS = [(p, c) for p in ALL for c in ALL if p is not c]


@pytest.mark.parametrize("producer,consumer", PAIRS,
                         ids=["%s->%s" % (p.name, c.name) for p, c in PAIRS])
def test_matrix(shared_broker, produced, producer, consumer):
    topic, records, window = produced.get(producer)
    got = consumer.consume(shared_broker, topic, MATRIX_N)
    verify(records, got, window, "%s -> %s" % (producer.name, consumer.name))
