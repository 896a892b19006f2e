"""Issue 5, SCRAM-SHA-256/512: credentials made with Kafka's own kafka-configs
(AlterUserScramCredentials), stored in the metastore in Kafka's layout (or
in the log dir without one), used by librdkafka, kafka-python and the Java
client, and still there after a restart; wrong passwords refused."""

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import subprocess

import pytest

from clients import JAVA_CP, JAVA_LOG
from conftest import HOST, REPO, TARGET, Broker, _finish, free_port, unique_topic

pytestmark = pytest.mark.skipif(TARGET != "kavka", reason="kavka's SCRAM setup")

_spec = importlib.util.spec_from_file_location(
    "ms_harness", os.path.join(REPO, "tests", "metastore", "conftest.py"))
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)
if not os.environ.get("KAVKA_METASTORE") and os.environ.get("KAVKA_BROKER"):
    os.environ["KAVKA_METASTORE"] = os.path.join(
        os.path.dirname(os.path.dirname(os.environ["KAVKA_BROKER"])), "metastore", "kavka-metastore")
make_server = ms.make_server
CHROOT = "/kafka"
MECHS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def java(main, args, timeout=120, input=None):
    p = subprocess.run(["java", "-cp", JAVA_CP, JAVA_LOG, "-XX:TieredStopAtLevel=1",
                        "-Xshare:auto", main] + args, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd=REPO)
    return p


def scram_broker(workdir, extra=None):
    b = Broker(workdir)
    b.sasl_port = free_port()
    b.overrides.update({
        "listeners": "SASL_PLAINTEXT://%s:%d,PLAINTEXT://%s:%d" % (HOST, b.sasl_port, HOST, b.port),
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        "num.partitions": "1",
    })
    b.overrides.update(extra or {})
    return b


def sasl_bootstrap(b):
    return "%s:%d" % (HOST, b.sasl_port)


def kafka_configs(b, args):
    p = java("kafka.admin.ConfigCommand", ["--bootstrap-server", b.bootstrap] + args)
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    return p.stdout.decode()


def add_users(b, users):
    """users: {name: (password, iterations-256)}; SCRAM-SHA-512 with the default."""
    for name, (pw, it) in users.items():
        out = kafka_configs(b, ["--alter", "--add-config",
                                "SCRAM-SHA-256=[iterations=%d,password=%s],SCRAM-SHA-512=[password=%s]"
                                % (it, pw, pw), "--entity-type", "users", "--entity-name", name])
        assert "Completed updating config for user %s" % name in out


def confluent_produce(b, mech, user, pw, topic, n=20):
    """Delivered count, and the first error seen (None when all went well).
    Returns at the first error: a refused login fails the first attempt."""
    import time
    from confluent_kafka import Producer
    errors = []
    p = Producer({"bootstrap.servers": sasl_bootstrap(b), "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": pw,
                  "acks": "all", "message.timeout.ms": 10000,
                  "error_cb": lambda e: errors.append(e)})
    ok = []
    for i in range(n):
        p.produce(topic, b"v%d" % i, key=b"k%d" % i,
                  on_delivery=lambda e, m: ok.append(m) if e is None else errors.append(e))
    deadline = time.monotonic() + 15
    while len(ok) < n and not errors and time.monotonic() < deadline:
        p.poll(0.1)
    p.purge()
    p.flush(1)
    return len(ok), (errors[0] if errors else None)


def confluent_consume(b, mech, user, pw, topic, n):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": sasl_bootstrap(b), "security.protocol": "SASL_PLAINTEXT",
                  "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": pw,
                  "group.id": "g-" + topic, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(60):
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
        if len(got) >= n:
            break
    c.close()
    return got


def kafka_python_roundtrip(b, mech, user, pw, topic):
    from kafka import KafkaConsumer, KafkaProducer
    kw = dict(bootstrap_servers=sasl_bootstrap(b), security_protocol="SASL_PLAINTEXT",
              sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=pw)
    p = KafkaProducer(acks="all", **kw)
    for i in range(10):
        p.send(topic, b"kp%d" % i).get(timeout=15)
    p.close()
    c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=10000, **kw)
    got = [m.value for m in c]
    c.close()
    return got


def expected_keys(mech, password, salt, iterations):
    """StoredKey and ServerKey computed here, independently of the broker."""
    h = "sha256" if mech == "SCRAM-SHA-256" else "sha512"
    salted = hashlib.pbkdf2_hmac(h, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    return hashlib.new(h, client_key).digest(), hmac.new(salted, b"Server Key", h).digest()


def check_credential(text, mech, password, iterations):
    fields = dict(kv.split("=", 1) for kv in text.split(","))
    assert set(fields) == {"salt", "stored_key", "server_key", "iterations"}
    assert int(fields["iterations"]) == iterations
    salt = base64.b64decode(fields["salt"])
    assert len(salt) >= 16
    stored, server = expected_keys(mech, password, salt, iterations)
    assert base64.b64decode(fields["stored_key"]) == stored
    assert base64.b64decode(fields["server_key"]) == server
    return salt


# ------------------------------------------------------------ with the metastore

@pytest.fixture
def zk_broker(tmp_path, make_server, request):
    metastore = make_server(cls=ms.Server)
    b = scram_broker(tmp_path / "b", {"zookeeper.connect": metastore.hosts + CHROOT,
                                      "zookeeper.session.timeout.ms": "4000",
                                      "zookeeper.connection.timeout.ms": "10000"})
    b.metastore = metastore
    b.start()
    yield b
    _finish(b, request)


def test_scram_credentials_in_the_metastore_all_clients_and_restart(zk_broker, tmp_path):
    b = zk_broker
    add_users(b, {"alice": ("alice-secret", 8192), "bob": ("bob-secret", 4096)})

    out = kafka_configs(b, ["--describe", "--entity-type", "users", "--entity-name", "alice"])
    assert "SCRAM-SHA-256=iterations=8192" in out and "SCRAM-SHA-512=iterations=4096" in out, out

    # Kafka's layout in the metastore, with keys that match the password.
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=b.metastore.hosts + CHROOT, timeout=5)
    zk.start(timeout=10)
    try:
        assert sorted(zk.get_children("/config/users")) == ["alice", "bob"]
        node = json.loads(zk.get("/config/users/alice")[0])
        assert node["version"] == 1
        salts = [check_credential(node["config"]["SCRAM-SHA-256"], "SCRAM-SHA-256", "alice-secret", 8192),
                 check_credential(node["config"]["SCRAM-SHA-512"], "SCRAM-SHA-512", "alice-secret", 4096)]
        bob = json.loads(zk.get("/config/users/bob")[0])
        salts.append(check_credential(bob["config"]["SCRAM-SHA-256"], "SCRAM-SHA-256", "bob-secret", 4096))
        assert len(set(salts)) == 3, "salts must be random"
        changes = zk.get_children("/config/changes")
        assert any(json.loads(zk.get("/config/changes/" + c)[0]).get("entity_path") == "users/alice"
                   for c in changes)
    finally:
        zk.stop()

    # librdkafka, both mechanisms, and a wrong password.
    for mech in MECHS:
        topic = unique_topic("scram")
        assert confluent_produce(b, mech, "alice", "alice-secret", topic) == (20, None)
        assert len(confluent_consume(b, mech, "alice", "alice-secret", topic, 20)) == 20
        n, err = confluent_produce(b, mech, "alice", "wrong-secret", topic, n=1)
        assert n == 0 and err is not None
        assert "Authentication failed" in str(err), str(err)
        n, err = confluent_produce(b, mech, "mallory", "alice-secret", topic, n=1)
        assert n == 0 and "Authentication failed" in str(err), str(err)

    # kafka-python.
    for mech in MECHS:
        topic = unique_topic("scram-kp")
        assert len(kafka_python_roundtrip(b, mech, "bob", "bob-secret", topic)) == 10

    # Survives a restart: the broker reads them back from the metastore.
    b.stop()
    b.start()
    topic = unique_topic("scram-restart")
    assert confluent_produce(b, "SCRAM-SHA-512", "alice", "alice-secret", topic) == (20, None)
    n, err = confluent_produce(b, "SCRAM-SHA-256", "bob", "alice-secret", topic, n=1)
    assert n == 0 and err is not None

    # Deleting a credential: the mechanism is refused afterwards.
    kafka_configs(b, ["--alter", "--delete-config", "SCRAM-SHA-256", "--entity-type", "users",
                      "--entity-name", "bob"])
    out = kafka_configs(b, ["--describe", "--entity-type", "users", "--entity-name", "bob"])
    assert "SCRAM-SHA-256" not in out and "SCRAM-SHA-512=iterations=4096" in out, out
    n, err = confluent_produce(b, "SCRAM-SHA-256", "bob", "bob-secret", topic, n=1)
    assert n == 0 and err is not None
    assert confluent_produce(b, "SCRAM-SHA-512", "bob", "bob-secret", topic, n=1) == (1, None)


def test_java_client_scram(zk_broker, tmp_path):
    b = zk_broker
    add_users(b, {"carol": ("carol-secret", 4096)})
    topic = unique_topic("scram-java")
    for mech in MECHS:
        cfg = tmp_path / ("client-%s.properties" % mech)
        cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=%s\n"
                       "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                       "required username=\"carol\" password=\"carol-secret\";\n" % mech)
        p = java("org.apache.kafka.tools.ConsoleProducer",
                 ["--bootstrap-server", sasl_bootstrap(b), "--topic", topic,
                  "--producer.config", str(cfg), "--request-required-acks", "-1"],
                 input=b"".join(b"%s-%d\n" % (mech.encode(), i) for i in range(5)))
        assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    got = confluent_consume(b, "SCRAM-SHA-256", "carol", "carol-secret", topic, 10)
    assert sorted(got) == sorted(b"%s-%d" % (m.encode(), i) for m in MECHS for i in range(5))
    # A wrong password: the Java producer reports the authentication failure.
    cfg = tmp_path / "client-wrong.properties"
    cfg.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                   "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
                   "required username=\"carol\" password=\"nope\";\n")
    p = java("org.apache.kafka.tools.ConsoleProducer",
             ["--bootstrap-server", sasl_bootstrap(b), "--topic", topic, "--producer.config",
              str(cfg), "--request-required-acks", "-1"], input=b"x\n")
    assert b"Authentication failed" in p.stdout + p.stderr


# ------------------------------------------------------------ without a metastore

def test_scram_credentials_in_the_log_dir(tmp_path, request):
    b = scram_broker(tmp_path / "b")
    b.start()
    try:
        add_users(b, {"dave": ("dave-secret", 4096)})
        path = os.path.join(b.log_dirs, "kavka-scram-credentials.json")
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        data = json.load(open(path))
        check_credential(data["users"]["dave"]["SCRAM-SHA-256"], "SCRAM-SHA-256", "dave-secret", 4096)
        b.stop()
        b.start()
        topic = unique_topic("scram-file")
        assert confluent_produce(b, "SCRAM-SHA-256", "dave", "dave-secret", topic) == (20, None)
        n, err = confluent_produce(b, "SCRAM-SHA-256", "dave", "dave-wrong", topic, n=1)
        assert n == 0 and err is not None
        # Too few iterations is refused by the broker, as Kafka does (kafka-configs
        # checks it first, so librdkafka's admin API sends it).
        from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                           UserScramCredentialUpsertion)
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        fut = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
            "eve", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), b"pw", b"salt")])
        with pytest.raises(Exception, match="Too few iterations"):
            fut["eve"].result(timeout=15)
        n, err = confluent_produce(b, "SCRAM-SHA-256", "eve", "pw", topic, n=1)
        assert n == 0 and err is not None
    finally:
        _finish(b, request)
