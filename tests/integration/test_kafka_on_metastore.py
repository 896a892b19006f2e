"""Issue 4, acceptance 4: Apache Kafka 3.9 in ZooKeeper mode (jars from Maven
Central, tests/clients/kafka39) uses kavka-metastore as its zookeeper.connect
and passes a produce/consume smoke test — the metastore is a real ZooKeeper
substitute for Kafka's own ZooKeeper client, controller and multi-ops."""

import importlib.util
import json
import os
import signal
import subprocess
import time

import pytest

import kproto
from clients import BY_NAME, verify
from conftest import CLIENTS, HOST, REPO, TARGET, free_port, unique_topic

pytestmark = pytest.mark.skipif(TARGET == "kafka", reason="tests the metastore, not a broker")

_spec = importlib.util.spec_from_file_location(
    "ms_harness_k39", os.path.join(REPO, "tests", "metastore", "conftest.py"))
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)
if not os.environ.get("KAVKA_METASTORE") and os.environ.get("KAVKA_BROKER"):
    os.environ["KAVKA_METASTORE"] = os.path.join(
        os.path.dirname(os.path.dirname(os.environ["KAVKA_BROKER"])), "metastore", "kavka-metastore")
make_server = ms.make_server

JARS = os.path.join(CLIENTS, "jars-kafka39", "*")
confluent = BY_NAME["confluent-kafka"]


@pytest.fixture
def kafka39(make_server, tmp_path):
    # Kafka's default zookeeper.session.timeout.ms (18 s) needs maxSessionTimeout above
    # the harness's 20 x tickTime.
    srv = make_server(config={"tickTime": "1000"})
    port = free_port()
    props = tmp_path / "server.properties"
    props.write_text("\n".join([
        "broker.id=0", "listeners=PLAINTEXT://%s:%d" % (HOST, port),
        "log.dirs=%s" % (tmp_path / "logs"), "zookeeper.connect=%s/kafka39" % srv.hosts,
        "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1", "group.initial.rebalance.delay.ms=0",
        "num.partitions=3", ""]))
    log = open(tmp_path / "kafka.log", "wb")
    proc = subprocess.Popen(["java", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-cp", JARS,
                             "kafka.Kafka", str(props)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        kproto.wait_ready(HOST, port, time.monotonic() + 90, lambda: proc.poll() is None)
        yield srv, "%s:%d" % (HOST, port)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


class _Bootstrap:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap


def test_kafka39_runs_on_kavka_metastore(kafka39):
    srv, bootstrap = kafka39
    b = _Bootstrap(bootstrap)
    topic = unique_topic("k39")
    confluent.create_topic(bootstrap, topic, 3)
    records = confluent.make_records(2000, 20, seed=topic)
    confluent.produce(b, topic, records)
    got = confluent.consume(b, topic, len(records))
    verify(records, got, None, "Kafka 3.9 on kavka-metastore")

    from kazoo.client import KazooClient
    zk = KazooClient(hosts=srv.hosts + "/kafka39", timeout=5)
    zk.start(timeout=10)
    try:
        assert zk.get_children("/brokers/ids") == ["0"]
        info = json.loads(zk.get("/brokers/ids/0")[0])
        assert info["endpoints"] == ["PLAINTEXT://" + bootstrap]
        assign = json.loads(zk.get("/brokers/topics/" + topic)[0])
        assert sorted(assign["partitions"]) == ["0", "1", "2"]
        state = json.loads(zk.get("/brokers/topics/%s/partitions/0/state" % topic)[0])
        assert state["leader"] == 0
        assert json.loads(zk.get("/controller")[0])["brokerid"] == 0
    finally:
        zk.stop()
