"""Issue 17: the metastore's Prometheus metrics, turned on with ZooKeeper's
own keys (metricsProvider.className=...PrometheusMetricsProvider,
metricsProvider.httpHost, metricsProvider.httpPort) or cp-zookeeper style
ZOOKEEPER_METRICS_PROVIDER_* variables, under the names ZooKeeper's provider
serves (docs/operations.md, "Metrics").

Kazoo clients make a known number of sessions, znodes, ephemerals and
watches; the scrape is parsed with prometheus_client's text-format parser
and the gauges must equal those numbers, and follow them when they change."""

import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import parser as prom_parser  # tests/clients/requirements.txt
from kazoo.client import KazooClient

from conftest import HOST, free_port


PROVIDER = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"


def metrics_config(port):
    return {"metricsProvider.className": PROVIDER, "metricsProvider.httpHost": HOST,
            "metricsProvider.httpPort": str(port)}


class Scrape:
    def __init__(self, port):
        with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, port), timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            self.text = r.read().decode()
        self.families = {f.name: f for f in prom_parser.text_string_to_metric_families(self.text)}

    def __getitem__(self, name):
        """The value of an unlabelled sample."""
        for f in self.families.values():
            for s in f.samples:
                if s.name == name and not s.labels:
                    return s.value
        raise KeyError("%s not in\n%s" % (name, self.text))

    def quantiles(self, name):
        return {s.labels["quantile"]: s.value for s in self.families[name].samples
                if s.name == name}


def client(server):
    zk = KazooClient(hosts=server.hosts, timeout=10)
    zk.start(timeout=15)
    return zk


def wait_for(check, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("%s: not within %d s" % (what, timeout))
        time.sleep(0.1)


def listening_ports(pid):
    """The TCP ports the process listens on (its sockets in /proc/net/tcp*)."""
    fd_dir = "/proc/%d/fd" % pid
    inodes = set()
    for fd in os.listdir(fd_dir):
        try:
            t = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            with open(table) as f:
                next(f)
                for line in f:
                    c = line.split()
                    if c[3] == "0A" and c[9] in inodes:
                        ports.add(int(c[1].rsplit(":", 1)[1], 16))
    return ports


def test_gauges_follow_znodes_watches_and_sessions(make_server):
    mport = free_port()
    server = make_server(metrics_config(mport))
    base = Scrape(mport)
    assert base["num_alive_connections"] == 0 and base["global_sessions"] == 0
    assert base["watch_count"] == 0 and base["ephemerals_count"] == 0
    for fam, typ in (("znode_count", "gauge"), ("watch_count", "gauge"),
                     ("num_alive_connections", "gauge"), ("outstanding_requests", "gauge"),
                     ("approximate_data_size", "gauge"), ("ephemerals_count", "gauge"),
                     ("packets_received", "gauge"), ("packets_sent", "gauge"),
                     ("readlatency", "summary"), ("updatelatency", "summary")):
        assert base.families[fam].type == typ, fam

    N, M, K = 25, 7, 4
    zks = [client(server) for _ in range(K)]
    try:
        a, b = zks[0], zks[1]
        a.create("/m", b"")
        for i in range(N):
            a.create("/m/n%d" % i, b"x" * i)
        for i, zk in enumerate(zks):
            zk.create("/e%d" % i, b"", ephemeral=True)
        fired = []
        for i in range(M):                      # M data watches of session a
            a.get("/m/n%d" % i, watch=fired.append)
        a.get_children("/m", watch=fired.append)  # one child watch
        b.exists("/m/n0", watch=fired.append)      # another session's watch on a watched path
        watches = M + 2

        s = Scrape(mport)
        assert s["znode_count"] == base["znode_count"] + 1 + N + K
        assert s["ephemerals_count"] == K
        assert s["watch_count"] == watches
        assert s["num_alive_connections"] == K
        assert s["global_sessions"] == K
        assert s["outstanding_requests"] >= 0
        # Paths and data: at least the data written and the paths made.
        data = sum(range(N))
        paths = len("/m") + sum(len("/m/n%d" % i) for i in range(N)) + sum(
            len("/e%d" % i) for i in range(K))
        assert s["approximate_data_size"] - base["approximate_data_size"] == data + paths
        # Creates are updates, gets and exists are reads.
        assert s["updatelatency_count"] - base["updatelatency_count"] >= 1 + N + K
        assert s["readlatency_count"] - base["readlatency_count"] >= M + 2
        assert s["packets_received"] - base["packets_received"] >= 1 + N + K + M + 2 + K
        q = s.quantiles("updatelatency")
        assert set(q) == {"0.5", "0.9", "0.99"} and 0 <= q["0.5"] <= q["0.99"], q
        assert s["updatelatency_sum"] > 0

        # A write fires two watches on /m/n0 (a's data watch, b's exists watch).
        a.set("/m/n0", b"changed")
        wait_for(lambda: len(fired) >= 2, "both watches on /m/n0 fired")
        s = Scrape(mport)
        assert s["watch_count"] == watches - 2

        # A session that ends takes its connection, session and ephemeral.
        zks.pop().stop()
        wait_for(lambda: Scrape(mport)["global_sessions"] == K - 1, "session closed")
        s = Scrape(mport)
        assert s["num_alive_connections"] == K - 1
        assert s["ephemerals_count"] == K - 1
        assert s["znode_count"] == base["znode_count"] + 1 + N + K - 1
    finally:
        for zk in zks:
            zk.stop()
            zk.close()


def test_cp_zookeeper_variables_turn_it_on(make_server):
    mport = free_port()
    server = make_server(env={"ZOOKEEPER_METRICS_PROVIDER_CLASS_NAME": PROVIDER,
                              "ZOOKEEPER_METRICS_PROVIDER_HTTP_HOST": HOST,
                              "ZOOKEEPER_METRICS_PROVIDER_HTTP_PORT": str(mport)})
    assert listening_ports(server.proc.pid) == {server.port, mport}
    zk = client(server)
    try:
        assert Scrape(mport)["num_alive_connections"] == 1
    finally:
        zk.stop()
        zk.close()


def test_off_without_the_provider(make_server):
    server = make_server()
    assert listening_ports(server.proc.pid) == {server.port}
    # ZooKeeper's default provider serves nothing either.
    other = make_server({"metricsProvider.className":
                         "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider",
                         "metricsProvider.httpPort": str(free_port())})
    assert listening_ports(other.proc.pid) == {other.port}


def test_bad_requests_and_unknown_provider(make_server, tmp_path):
    mport = free_port()
    server = make_server(metrics_config(mport))
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen("http://%s:%d/" % (HOST, mport), timeout=10)
    assert e.value.code == 404
    import socket
    with socket.create_connection((HOST, mport), timeout=10) as s:
        s.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        s.recv(4096)
    zk = client(server)
    try:
        zk.create("/still-here", b"")
        assert Scrape(mport)["num_alive_connections"] == 1
    finally:
        zk.stop()
        zk.close()
    # A provider class that ZooKeeper could not load either: refuse to start.
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("clientPort=%d\ndataDir=%s\nmetricsProvider.className=com.example.Nope\n"
                   % (free_port(), tmp_path / "bad-data"))
    p = subprocess.run([server.command(str(cfg))[0], str(cfg)], capture_output=True, timeout=60)
    assert p.returncode != 0
    assert b"metricsProvider.className" in p.stdout + p.stderr
