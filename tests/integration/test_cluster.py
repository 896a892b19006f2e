"""Issue 4: the broker lives in the metastore, in Kafka's ZooKeeper layout.

Every test runs against kavka-metastore and against Apache ZooKeeper 3.9
(from the Maven jars), so the broker's half works with either metastore."""

import importlib.util
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import kproto
from clients import BY_NAME
from conftest import REPO, TARGET, Broker, _finish, unique_topic

pytestmark = pytest.mark.skipif(TARGET == "kafka", reason="kavka's metastore registration")

# The metastore harness (tests/metastore/conftest.py), loaded under its own name.
_spec = importlib.util.spec_from_file_location(
    "ms_harness", os.path.join(REPO, "tests", "metastore", "conftest.py"))
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)
if not os.environ.get("KAVKA_METASTORE") and os.environ.get("KAVKA_BROKER"):
    os.environ["KAVKA_METASTORE"] = os.path.join(
        os.path.dirname(os.path.dirname(os.environ["KAVKA_BROKER"])), "metastore", "kavka-metastore")

make_server = ms.make_server   # the harness's fixture, used here

SESSION_MS = 4000       # the harness's tickTime=200 caps sessions at 4 s
CHROOT = "/kafka"
confluent = BY_NAME["confluent-kafka"]


@pytest.fixture(params=["kavka-metastore", "zookeeper"])
def metastore(request, make_server):
    cls = ms.Server if request.param == "kavka-metastore" else ms.ZooKeeper
    return make_server(cls=cls)


@pytest.fixture
def cluster(tmp_path, metastore, request):
    """start(name, **overrides) -> Broker registered in `metastore`."""
    made = []

    def start(name="b0", overrides=None, wait=True):
        props = {"zookeeper.connect": metastore.hosts + CHROOT,
                 "zookeeper.session.timeout.ms": str(SESSION_MS),
                 "zookeeper.connection.timeout.ms": "30000"}
        props.update(overrides or {})
        b = Broker(tmp_path / name, props)
        made.append(b)
        if wait:
            b.start()
        return b

    yield start
    for b in made:
        _finish(b, request)


def kazoo(metastore):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=metastore.hosts + CHROOT, timeout=5)
    zk.start(timeout=10)
    return zk


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    pytest.fail("timed out waiting for " + what)


def test_registration_as_kafka_writes_it(cluster, metastore):
    broker = cluster()
    out = ms.zkcli(metastore.hosts, ["ls %s/brokers/ids" % CHROOT,
                                     "get %s/brokers/ids/1" % CHROOT])
    text = out
    assert "[1]" in text, text
    info = json.loads(next(l for l in text.splitlines() if l.startswith("{")))
    assert info["version"] == 5
    assert info["endpoints"] == ["PLAINTEXT://%s" % broker.bootstrap]
    assert info["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
    assert (info["host"], info["port"]) == ("127.0.0.1", broker.port)
    assert int(info["timestamp"]) > 0 and info["jmx_port"] == -1

    zk = kazoo(metastore)
    try:
        cid = json.loads(zk.get("/cluster/id")[0])
        with broker.conn() as c:
            assert c.metadata()["brokers"]  # the broker serves
        ctl = json.loads(zk.get("/controller")[0])
        assert ctl["brokerid"] == 1
        assert zk.exists("/controller_epoch")
        assert cid["version"] == "1" and len(cid["id"]) == 22

        # A topic, its assignment, partition states and configs.
        topic = unique_topic("zk")
        confluent.create_topic(broker.bootstrap, topic, 3)
        wait_for(lambda: zk.exists("/brokers/topics/%s/partitions/2/state" % topic), 10,
                 "partition state znodes")
        assign = json.loads(zk.get("/brokers/topics/" + topic)[0])
        assert assign["partitions"] == {"0": [1], "1": [1], "2": [1]}
        assert assign["version"] == 3 and len(assign["topic_id"]) == 22
        state = json.loads(zk.get("/brokers/topics/%s/partitions/0/state" % topic)[0])
        assert state["leader"] == 1 and state["isr"] == [1]
        assert zk.exists("/config/topics/" + topic)

        # Partitions added and configs altered are mirrored, with Kafka's
        # change notification.
        from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_partitions([NewPartitions(topic, 4)])[topic].result(20)
        wait_for(lambda: len(json.loads(zk.get("/brokers/topics/" + topic)[0])["partitions"]) == 4,
                 10, "4 partitions in the assignment")
        wait_for(lambda: zk.exists("/brokers/topics/%s/partitions/3/state" % topic), 10,
                 "state of the new partition")
        res = ConfigResource("topic", topic, set_config={"retention.ms": "86400000"})
        list(admin.alter_configs([res]).values())[0].result(20)
        wait_for(lambda: json.loads(zk.get("/config/topics/" + topic)[0])["config"] ==
                 {"retention.ms": "86400000"}, 10, "config override in /config/topics")
        changes = zk.get_children("/config/changes")
        assert any(json.loads(zk.get("/config/changes/" + ch)[0]) ==
                   {"version": 2, "entity_path": "topics/" + topic} for ch in changes), changes

        admin.delete_topics([topic])[topic].result(20)
        wait_for(lambda: not zk.exists("/brokers/topics/" + topic), 10, "topic znode removal")
        assert not zk.exists("/config/topics/" + topic)

        # kill -9: the ephemeral registration goes within the session timeout.
        broker.kill()
        # Eventually (the cap is for a loaded machine, not a timed bound).
        wait_for(lambda: not zk.exists("/brokers/ids/1"), SESSION_MS / 1000 + 30,
                 "/brokers/ids/1 to expire")
        # ... and the restarted broker registers again without help.
        broker.start(timeout=SESSION_MS / 1000 + 30)
        assert zk.exists("/brokers/ids/1")
    finally:
        zk.stop()


def test_topics_live_in_the_metastore(cluster, metastore):
    first = cluster("first")
    topic = unique_topic("meta")
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": first.bootstrap})
    admin.create_topics(
        [NewTopic(topic, 2, 1, config={"retention.ms": "123456789"})])[topic].result(20)
    del admin
    first.stop()
    # A broker with an empty log dir finds the topic, its partitions, its id
    # and its configs in the metastore.
    second = cluster("second")
    with second.conn() as c:
        md = c.metadata([topic])
    assert len(md["topics"][topic]["partitions"]) == 2
    zk = kazoo(metastore)
    try:
        cfg = json.loads(zk.get("/config/topics/" + topic)[0])
        assert cfg["config"] == {"retention.ms": "123456789"}
        assert json.loads(zk.get("/cluster/id")[0])["id"] in open(
            os.path.join(second.log_dirs, "meta.properties")).read()
    finally:
        zk.stop()


def test_second_live_broker_with_same_id_refused(cluster):
    cluster("live")
    dup = cluster("dup", wait=False)
    path = os.path.join(dup.workdir, "server.properties")
    os.makedirs(dup.workdir, exist_ok=True)
    with open(path, "w") as f:
        for kv in dup.properties().items():
            f.write("%s=%s\n" % kv)
    r = subprocess.run([os.environ.get("KAVKA_BROKER") or
                        os.path.join(REPO, "build", "broker", "kavka-broker"), path],
                       capture_output=True, timeout=SESSION_MS / 1000 + 40)
    assert r.returncode != 0
    log = r.stdout.decode() + r.stderr.decode()
    assert "registered by another live broker" in log, log[-2000:]


def test_metastore_restart_under_load(cluster, metastore):
    broker = cluster()
    topic = unique_topic("load")
    confluent.create_topic(broker.bootstrap, topic, 2)
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    acked = []
    stop = threading.Event()

    def produce():
        p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2})
        i = 0
        while not stop.is_set():
            p.produce(topic, value=b"v%d" % i,
                      on_delivery=lambda err, m: err is None and acked.append(m.offset()))
            p.poll(0)
            i += 1
            time.sleep(0.002)
        p.flush(30)

    t = threading.Thread(target=produce)
    t.start()
    try:
        time.sleep(1)
        metastore.stop()
        before = len(acked)
        time.sleep(2)
        assert len(acked) > before, "produce stalled while the metastore was down"
        # Metadata changes wait for the metastore: a retriable refusal.
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        fut = admin.create_topics([NewTopic(unique_topic("refused"), 1, 1)], request_timeout=5)
        with pytest.raises(Exception) as e:
            list(fut.values())[0].result(15)
        assert "NOT_CONTROLLER" in str(e.value) or "not the controller" in str(e.value).lower() \
            or "Timed out" in str(e.value), str(e.value)
        metastore.start()
        zk = kazoo(metastore)
        try:
            wait_for(lambda: zk.exists("/brokers/ids/1"), SESSION_MS / 1000 + 30,
                     "re-registration")
        finally:
            zk.stop()
        again = unique_topic("again")
        deadline = time.monotonic() + 30
        while True:
            try:
                confluent.create_topic(broker.bootstrap, again, 1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        stop.set()
        t.join(60)
    assert acked, "nothing was acknowledged"
    ends = broker.offsets(topic, [0, 1], kproto.LATEST)
    # Every acknowledged record is in the log (retries may add duplicates).
    assert sum(ends.values()) >= len(acked), (ends, len(acked))


class SaslZooKeeper(ms.ZooKeeper):
    """Apache ZooKeeper with a JAAS Server section (DIGEST-MD5)."""

    def command(self, cfg):
        cmd = super().command(cfg)
        return cmd[:1] + ["-Djava.security.auth.login.config=" + self.env["JAAS"],
                          "-Dzookeeper.fips-mode=false"] + cmd[1:]


@pytest.mark.parametrize("kind", ["kavka-metastore", "zookeeper"])
def test_sasl_login_from_jaas_client_section(kind, make_server, tmp_path, request):
    server_jaas = tmp_path / "zk_jaas.conf"
    server_jaas.write_text('Server { org.apache.zookeeper.server.auth.DigestLoginModule '
                           'required user_kafka="kafka-secret"; };\n')
    conf = {"authProvider.1": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"}
    if kind == "kavka-metastore":
        conf["requireClientAuthScheme"] = "sasl"
        srv = make_server(config=conf, env={"KAFKA_OPTS": "-Djava.security.auth.login.config=%s"
                                                         % server_jaas})
    else:
        srv = make_server(config=conf, env={"JAAS": str(server_jaas)}, cls=SaslZooKeeper)
    made = []
    for name, password in (("bad", "wrong"), ("good", "kafka-secret")):
        jaas = tmp_path / ("%s_jaas.conf" % name)
        jaas.write_text('Client { org.apache.zookeeper.server.auth.DigestLoginModule required '
                        'username="kafka" password="%s"; };\n' % password)
        b = Broker(tmp_path / name, {"zookeeper.connect": srv.hosts + CHROOT,
                                     "zookeeper.session.timeout.ms": str(SESSION_MS)},
                   env={"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % jaas})
        made.append(b)
        if name == "bad":
            with pytest.raises(BaseException):
                b.start(timeout=20)
            assert "SASL login as 'kafka' refused" in open(b.log_path).read(), b.log_tail()
        else:
            b.start()
            zk = kazoo(srv) if kind == "zookeeper" else None
            if zk:
                try:
                    assert zk.exists("/brokers/ids/1")
                finally:
                    zk.stop()
    for b in made:
        _finish(b, request)


@pytest.mark.parametrize("kind", ["kavka-metastore", "zookeeper"])
def test_zookeeper_set_acl(kind, make_server, tmp_path, request):
    """zookeeper.set.acl=true: the broker creates its znodes with Kafka's
    secure ACLs (ZkData.defaultAcls): its SASL identity may do everything,
    everyone may read, and /config/users and /config/brokers are the
    broker's alone. Without a JAAS Client login the broker refuses to start."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError
    from kazoo.security import ACL, Id
    server_jaas = tmp_path / "zk_jaas.conf"
    server_jaas.write_text('Server { org.apache.zookeeper.server.auth.DigestLoginModule '
                           'required user_kafka="kafka-secret"; };\n')
    conf = {"authProvider.1": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"}
    if kind == "kavka-metastore":
        srv = make_server(config=conf, env={"KAFKA_OPTS": "-Djava.security.auth.login.config=%s"
                                                         % server_jaas})
    else:
        srv = make_server(config=conf, env={"JAAS": str(server_jaas)}, cls=SaslZooKeeper)
    props = {"zookeeper.connect": srv.hosts + CHROOT, "zookeeper.set.acl": "true",
             "zookeeper.session.timeout.ms": str(SESSION_MS)}
    nologin = Broker(tmp_path / "nologin", props)
    jaas = tmp_path / "client_jaas.conf"
    jaas.write_text('Client { org.apache.zookeeper.server.auth.DigestLoginModule required '
                    'username="kafka" password="kafka-secret"; };\n')
    b = Broker(tmp_path / "b", props, env={"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % jaas})
    anon = KazooClient(hosts=srv.hosts + CHROOT, timeout=5)
    owner = KazooClient(hosts=srv.hosts + CHROOT, timeout=5, sasl_options={
        "mechanism": "DIGEST-MD5", "username": "kafka", "password": "kafka-secret"})
    try:
        with pytest.raises(BaseException):
            nologin.start(timeout=20)
        assert "zookeeper.set.acl is true" in open(nologin.log_path).read(), nologin.log_tail()

        b.start()
        anon.start(timeout=10)
        owner.start(timeout=10)
        mine, world_read = ACL(31, Id("sasl", "kafka")), ACL(1, Id("world", "anyone"))
        wait_for(lambda: anon.exists("/brokers/ids/1"), 20, "/brokers/ids/1")
        for path in ("/brokers/ids/1", "/brokers/topics", "/cluster/id", "/config/topics"):
            acl, _ = anon.get_acls(path)
            assert acl == [mine, world_read], (path, acl)
        anon.get("/brokers/ids/1")                       # everyone may read
        with pytest.raises(NoAuthError):
            anon.set("/brokers/ids/1", b"{}")            # only the broker may write
        for path in ("/config/users", "/config/brokers"):
            with pytest.raises(NoAuthError):
                anon.get_children(path)
            acl, _ = owner.get_acls(path)
            assert acl == [mine], (path, acl)
    finally:
        for c in (anon, owner):
            c.stop()
        for x in (nologin, b):
            if x.proc is not None:
                _finish(x, request)
