"""Issue 17: the broker's Prometheus metrics on `metrics.listener`
(docs/operations.md, "Metrics").

A real client (confluent-kafka) produces a known number of records of known
size and reads them back; the scrape is parsed with prometheus_client's own
text-format parser and its counters are checked against that load.  The
names are those the JMX exporter's Kafka rules give Kafka's MBeans.

kavka only: Kafka itself serves these names only through the JMX exporter
agent, which the reference broker does not run."""

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import parser as prom_parser  # tests/clients/requirements.txt

import clients
from conftest import HOST, TARGET, Broker, _finish, free_port, unique_topic

pytestmark = pytest.mark.skipif(
    TARGET == "kafka",
    reason="kavka's own /metrics endpoint: Kafka serves these names only through the JMX "
           "exporter agent, which the reference broker does not run")



@pytest.fixture
def make(tmp_path, request):
    made = []

    def start(overrides=None):
        b = Broker(tmp_path / ("b%d" % len(made)), overrides)
        made.append(b)
        b.start()
        return b

    yield start
    for b in made:
        _finish(b, request)


def metrics_broker(make):
    port = free_port()
    b = make({"metrics.listener": "http://%s:%d" % (HOST, port)})
    b.metrics_port = port
    return b


def get(port, path="/metrics", method="GET"):
    """(status, headers, body) of one HTTP request."""
    req = urllib.request.Request("http://%s:%d%s" % (HOST, port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Scrape:
    """One /metrics scrape, parsed by prometheus_client."""

    def __init__(self, port):
        status, headers, text = get(port)
        assert status == 200, "GET /metrics: %d %s" % (status, text[:500])
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
        self.text = text
        self.families = {f.name: f for f in prom_parser.text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def values(self, name, **labels):
        """Values of the samples called `name` whose labels include `labels`."""
        return [s.value for s in self.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    def one(self, name, **labels):
        """The value of the one sample with exactly these labels."""
        got = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(got) == 1, "%s%s: %d samples in\n%s" % (name, labels, len(got), self.text)
        return got[0]

    def total(self, name, **labels):
        return sum(self.values(name, **labels))

    def type_of(self, family):
        return self.families[family].type


def requests_of(scrape, request):
    return scrape.total("kafka_network_requestmetrics_requests_total", request=request)


def listening_ports(pid):
    """The TCP ports the process listens on (its sockets in /proc/net/tcp*)."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


# ------------------------------------------------------------ load and counters

def test_metrics_listener_serves_and_moves_with_load(make):
    b = metrics_broker(make)
    topic = unique_topic("metrics")
    n, partitions = 300, 3
    records = [clients.Rec(b"key-%04d" % i, bytes([65 + i % 26]) * (100 + i % 50), (), None)
               for i in range(n)]
    payload = sum(len(r.key) + len(r.value) for r in records)
    client = clients.Confluent()

    before = Scrape(b.metrics_port)
    assert before.values("kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == []

    client.create_topic(b.bootstrap, topic, partitions)
    client.produce(b, topic, records)
    got = client.consume(b, topic, n)
    assert len(got) == n, "consumed %d of %d" % (len(got), n)

    after = Scrape(b.metrics_port)
    # Counter families and their types, as the exporter's rules declare them.
    for fam in ("kafka_server_brokertopicmetrics_messagesin", "kafka_server_brokertopicmetrics_bytesin",
                "kafka_server_brokertopicmetrics_bytesout", "kafka_network_requestmetrics_requests"):
        assert after.type_of(fam) == "counter", fam
    assert after.type_of("kafka_network_requestmetrics_totaltimems") == "summary"
    assert after.type_of("kafka_log_log_size") == "gauge"

    # Records in: exactly what was produced, per topic and across topics.
    msgs = "kafka_server_brokertopicmetrics_messagesin_total"
    assert after.one(msgs, topic=topic) == n
    assert after.one(msgs) - before.one(msgs) == n
    # Bytes in and out: the batches carry the payload plus framing; the
    # consumer read every record once at least.
    bytes_in = after.one("kafka_server_brokertopicmetrics_bytesin_total", topic=topic)
    bytes_out = after.one("kafka_server_brokertopicmetrics_bytesout_total", topic=topic)
    assert payload <= bytes_in < payload * 2, (payload, bytes_in)
    assert bytes_out >= payload, (payload, bytes_out)
    assert after.one("kafka_server_brokertopicmetrics_bytesin_total") >= bytes_in
    assert after.one("kafka_server_brokertopicmetrics_bytesout_total") >= bytes_out

    # Requests per API moved; each has a version label.
    for api in ("Produce", "FetchConsumer", "Metadata", "ApiVersions", "CreateTopics"):
        assert requests_of(after, api) > requests_of(before, api), api
    assert all(s.labels.get("version", "").isdigit() for s in after.samples
               if s.name == "kafka_network_requestmetrics_requests_total")
    # Total time: a summary with the exporter's quantile labels, count and sum.
    produce_time = after.one("kafka_network_requestmetrics_totaltimems_count", request="Produce")
    assert produce_time == requests_of(after, "Produce")
    assert after.one("kafka_network_requestmetrics_totaltimems_sum", request="Produce") > 0
    q = {s.labels["quantile"]: s.value for s in after.samples
         if s.name == "kafka_network_requestmetrics_totaltimems" and s.labels["request"] == "Produce"}
    assert set(q) == {"0.50", "0.75", "0.95", "0.98", "0.99", "0.999"}, q
    assert 0 <= q["0.50"] <= q["0.99"] <= q["0.999"], q

    # The logs: one series per partition, holding at least the payload.
    sizes = {s.labels["partition"]: s.value for s in after.samples
             if s.name == "kafka_log_log_size" and s.labels.get("topic") == topic}
    assert sorted(sizes) == [str(p) for p in range(partitions)], sizes
    assert sum(sizes.values()) == bytes_in > payload
    assert after.total("kafka_log_log_logendoffset", topic=topic) == n

    # Partition counts match what Metadata lists.
    with b.conn() as c:
        md = c.metadata()
    listed = sum(len(t["partitions"]) for t in md["topics"].values())
    assert after.one("kafka_server_replicamanager_partitioncount") == listed >= partitions
    assert after.one("kafka_server_replicamanager_leadercount") == listed
    assert after.one("kafka_controller_kafkacontroller_globalpartitioncount") == listed
    assert after.one("kafka_controller_kafkacontroller_globaltopiccount") == len(md["topics"])
    assert after.one("kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert after.one("kafka_controller_kafkacontroller_offlinepartitionscount") == 0
    assert after.one("kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert after.one("kafka_server_kafkaserver_brokerstate") == 3

    # More load moves the counters by exactly that much again.
    client.produce(b, topic, records[:50])
    again = Scrape(b.metrics_port)
    assert again.one(msgs, topic=topic) == n + 50
    assert requests_of(again, "Produce") > requests_of(after, "Produce")


def test_min_insync_above_one_counts_under_min_isr(make):
    # One broker, one in-sync replica: a topic asking for two is under it.
    b = metrics_broker(make)
    topic = unique_topic("minisr")
    clients.Confluent().create_topic(b.bootstrap, topic, 2)
    s = Scrape(b.metrics_port)
    base = s.one("kafka_server_replicamanager_underminisrpartitioncount")
    from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                       ConfigResource)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("min.insync.replicas", "2", incremental_operation=AlterConfigOpType.SET)])
    for f in admin.incremental_alter_configs([res]).values():
        f.result(30)
    s = Scrape(b.metrics_port)
    assert s.one("kafka_server_replicamanager_underminisrpartitioncount") == base + 2


# ------------------------------------------------------------ the port

def test_no_metrics_port_without_the_key(make):
    plain = make()
    assert listening_ports(plain.proc.pid) == {plain.port}
    # The check sees a metrics port when there is one.
    b = metrics_broker(make)
    assert listening_ports(b.proc.pid) == {b.port, b.metrics_port}


def test_bad_http_requests_do_not_hurt_the_broker(make):
    b = metrics_broker(make)
    port = b.metrics_port
    status, _, body = get(port, "/")
    assert status == 404 and "/metrics" in body
    assert get(port, "/metrics/../../etc/passwd")[0] == 404
    assert get(port, "/metricsx")[0] == 404
    assert get(port, "/metrics", method="POST")[0] in (405, 501)
    status, _, body = get(port, "/metrics", method="HEAD")
    assert status == 200 and body == ""

    def raw(data, linger=0.0):
        with socket.create_connection((HOST, port), timeout=10) as s:
            try:
                s.sendall(data)
                time.sleep(linger)
                s.shutdown(socket.SHUT_WR)
            except OSError:  # the server may close before it has read it all
                pass
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                out += chunk
            return out

    assert raw(b"\x00\xff garbage \r\n\r\n").split(b" ")[0] in (b"", b"HTTP/1.1", b"HTTP/1.0")
    assert b" 200 " not in raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-A: " + b"a" * 100000
                               + b"\r\n\r\n")
    raw(b"GET /metr")                       # cut short
    raw(os.urandom(4096))
    idle = socket.create_connection((HOST, port), timeout=10)  # left open, says nothing
    try:
        # Kafka clients are still served, and so is the next scrape.
        assert b.running()
        with b.conn() as c:
            assert c.api_versions()
            topic = unique_topic("after-garbage")
            c.metadata([topic])
        s = Scrape(port)
        assert s.one("kafka_server_kafkaserver_brokerstate") == 3
        assert requests_of(s, "ApiVersions") >= 1
    finally:
        idle.close()
    assert b.running()


def test_invalid_metrics_listener_refuses_to_start(tmp_path):
    b = Broker(tmp_path / "bad", {"metrics.listener": "https://127.0.0.1:1"})
    os.makedirs(b.workdir)
    proc = subprocess.run(b.command(), capture_output=True, timeout=60, cwd=b.workdir)
    assert proc.returncode != 0
    assert b"metrics.listener" in proc.stdout + proc.stderr
