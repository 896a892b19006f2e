"""Issue 14: admin writes are answered only once the metastore (or, without
zookeeper.connect, the file in the log dir) has them. CreateAcls/DeleteAcls,
AlterUserScramCredentials and topic config changes
(IncrementalAlterConfigs/AlterConfigs) wait for the metastore's reply: when
the admin call returns success the znode is already there (read with kazoo
at once, no polling), and when the metastore does not answer (SIGSTOP) the
call fails and the change is not in effect. Once the metastore is back, what
the broker enforces is what the metastore holds (a write whose reply was lost
is read back). A client that disconnects while its write is held must not
disturb the broker (the sanitizer build checks the memory)."""

import json
import os
import signal
import socket
import struct
import time

import pytest

import kproto

from conftest import HOST, REPO, TARGET, Broker, _finish, free_port, unique_topic
from test_scram import CHROOT, java, make_server, ms  # one metastore harness, test_scram's

pytestmark = pytest.mark.skipif(TARGET != "kavka", reason="kavka's metastore and security setup")

JAAS_PLAIN = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
              "user_alice=\"alice-secret\";")


def make_broker(workdir, zk_hosts=None):
    """PLAINTEXT for the admin (User:ANONYMOUS is the super user) and a SASL
    listener where alice (PLAIN) and SCRAM users log in."""
    b = Broker(workdir)
    b.sasl_port = free_port()
    b.overrides.update({
        "listeners": "PLAINTEXT://%s:%d,SASL_PLAINTEXT://%s:%d" % (HOST, b.port, HOST, b.sasl_port),
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS_PLAIN,
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:ANONYMOUS",
        "num.partitions": "1",
    })
    if zk_hosts:
        b.overrides.update({"zookeeper.connect": zk_hosts + CHROOT,
                            # a silent metastore is given up after 2/3 of this
                            "zookeeper.session.timeout.ms": "4000",
                            "zookeeper.connection.timeout.ms": "10000"})
    return b


@pytest.fixture
def zk_pair(tmp_path, make_server, request):
    store = make_server(cls=ms.Server)
    b = make_broker(tmp_path / "b", store.hosts)
    b.start()
    yield store, b
    if store.proc and store.proc.poll() is None:
        os.kill(store.proc.pid, signal.SIGCONT)
    _finish(b, request)


def kazoo(store):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=store.hosts + CHROOT, timeout=5)
    zk.start(timeout=20)
    return zk


def admin(b):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": b.bootstrap, "socket.timeout.ms": 60000})


def sasl_conf(b, mech, user, password):
    return {"bootstrap.servers": "%s:%d" % (HOST, b.sasl_port), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password}


def visible_to(conf, topic):
    """Does this client see the topic in Metadata (DESCRIBE on it)? False
    also when it cannot log in."""
    from confluent_kafka.admin import AdminClient
    try:
        return topic in AdminClient(conf).list_topics(timeout=10).topics
    except Exception:
        return False


def can_login(conf):
    from confluent_kafka.admin import AdminClient
    errors = []
    c = dict(conf, error_cb=lambda e: errors.append(e))
    try:
        AdminClient(c).list_topics(timeout=8)
        return not errors
    except Exception:
        return False


def create_topic(ac, topic):
    from confluent_kafka.admin import NewTopic
    for f in ac.create_topics([NewTopic(topic, 1, 1)]).values():
        f.result(30)


def describe_binding(topic):
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType,
                                       ResourcePatternType, ResourceType)
    return AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "*",
                      AclOperation.DESCRIBE, AclPermissionType.ALLOW)


def topic_filter(topic):
    from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType,
                                       ResourcePatternType, ResourceType)
    return AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None, None,
                            AclOperation.ANY, AclPermissionType.ANY)


def broker_acls(ac, topic):
    return sorted((x.principal, x.operation.name) for x in
                  ac.describe_acls(topic_filter(topic)).result(30))


def node_acls(zk, topic):
    if zk.exists("/kafka-acl/Topic/" + topic) is None:
        return []
    data = json.loads(zk.get("/kafka-acl/Topic/" + topic)[0])
    return sorted((a["principal"], a["operation"].upper()) for a in data["acls"])


class Stopped:
    """The metastore process stopped (SIGSTOP) inside the block: it keeps its
    sockets, so the broker's requests are neither refused nor answered."""

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        os.kill(self.store.proc.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        os.kill(self.store.proc.pid, signal.SIGCONT)


def eventually(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last is True:
            return
        if time.monotonic() > deadline:
            pytest.fail("%s: still %r after %d s" % (what, last, timeout))
        time.sleep(0.5)


# ------------------------------------------------------------ ACLs

def test_acls_answered_after_the_metastore_has_them(zk_pair):
    from confluent_kafka import KafkaException
    store, b = zk_pair
    ac = admin(b)
    topic = unique_topic("aw-acl")
    create_topic(ac, topic)
    alice = sasl_conf(b, "PLAIN", "alice", "alice-secret")
    assert not visible_to(alice, topic)

    binding = describe_binding(topic)
    ac.create_acls([binding])[binding].result(30)
    zk = kazoo(store)
    try:
        # At once, no polling: the znode and Kafka's change notification are there.
        assert node_acls(zk, topic) == [("User:alice", "DESCRIBE")]
        notes = [zk.get("/kafka-acl-changes/" + n)[0] for n in zk.get_children("/kafka-acl-changes")]
        assert ("Topic:" + topic).encode() in notes
        assert visible_to(alice, topic)

        ac.delete_acls([topic_filter(topic)])[topic_filter(topic)].result(30)
        assert zk.exists("/kafka-acl/Topic/" + topic) is None
        assert not visible_to(alice, topic)
    finally:
        zk.stop()
        zk.close()

    # The metastore stops answering: the call fails, the ACL is not in effect.
    with Stopped(store):
        # An error, not success (a hang would end in a TimeoutError instead).
        with pytest.raises(KafkaException) as e:
            ac.create_acls([binding])[binding].result(60)
        assert "metastore" in str(e.value), str(e.value)
        assert broker_acls(ac, topic) == []
        assert not visible_to(alice, topic)
        # later writes are refused at once while the session is lost
        with pytest.raises(KafkaException):
            ac.create_acls([binding])[binding].result(60)
        assert not visible_to(alice, topic)

    # Back: the broker enforces what the metastore holds (the lost write may
    # or may not have reached it; it is read back either way).
    zk = kazoo(store)
    try:
        eventually(lambda: broker_acls(ac, topic) == node_acls(zk, topic) or
                   (broker_acls(ac, topic), node_acls(zk, topic)), "broker and metastore agree")
        assert visible_to(alice, topic) == bool(node_acls(zk, topic))

        # and writes work again, confirmed as before, once the broker has its
        # metastore session back (it reconnects on its own; until then a
        # write is refused with "session is lost; retry", as a client retries)
        def create_once():
            try:
                ac.create_acls([binding])[binding].result(30)
                return True
            except KafkaException as e:
                assert "retry" in str(e), str(e)
                return str(e)
        eventually(create_once, "CreateAcls after the metastore is back")
        assert node_acls(zk, topic) == [("User:alice", "DESCRIBE")]
    finally:
        zk.stop()
        zk.close()


def test_kafka_acls_cli_sees_the_node(zk_pair):
    """Kafka's own kafka-acls: --add returns once the metastore has the node."""
    store, b = zk_pair
    topic = unique_topic("aw-cli")
    p = java("org.apache.kafka.tools.AclCommand",
             ["--bootstrap-server", b.bootstrap, "--add", "--allow-principal", "User:alice",
              "--operation", "Read", "--topic", topic])
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
    zk = kazoo(store)
    try:
        assert node_acls(zk, topic) == [("User:alice", "READ")]
    finally:
        zk.stop()
        zk.close()


def acls_frame(topic, corr):
    """CreateAcls v1: ALLOW User:alice DESCRIBE on the literal topic."""
    s = lambda x: struct.pack(">h", len(x)) + x.encode()
    body = (struct.pack(">i", 1) + struct.pack(">b", 2) + s(topic) + struct.pack(">b", 3) +
            s("User:alice") + s("*") + struct.pack(">bb", 8, 3))
    hdr = struct.pack(">hhi", 30, 1, corr) + s("aw-test")
    return struct.pack(">i", len(hdr) + len(body)) + hdr + body


def test_client_gone_while_its_write_is_held(zk_pair):
    """Clients that disconnect while their CreateAcls waits for the metastore
    (one in flight, one still queued behind it): the broker lets go of both
    answers safely and keeps serving."""
    store, b = zk_pair
    ac = admin(b)
    topics = [unique_topic("aw-gone") for _ in range(3)]
    with Stopped(store):
        socks = []
        for i, t in enumerate(topics):
            s = socket.create_connection((HOST, b.port), timeout=10)
            s.sendall(acls_frame(t, i + 1))
            socks.append(s)
        time.sleep(0.5)
        for s in socks:
            s.close()
        time.sleep(4)      # the in-flight write fails when the session is given up
    zk = kazoo(store)
    try:
        # Whatever the metastore got is what the broker enforces.
        for t in topics:
            eventually(lambda: broker_acls(ac, t) == node_acls(zk, t) or
                       (broker_acls(ac, t), node_acls(zk, t)), "agree on " + t)
    finally:
        zk.stop()
        zk.close()
    with b.conn() as c:
        c.api_versions()


# ------------------------------------------------------------ SCRAM

def test_scram_credentials_answered_after_the_metastore_has_them(zk_pair):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialUpsertion)
    store, b = zk_pair
    ac = admin(b)
    up = UserScramCredentialUpsertion("carol", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
                                      b"carol-secret")
    ac.alter_user_scram_credentials([up])["carol"].result(30)
    zk = kazoo(store)
    try:
        node = json.loads(zk.get("/config/users/carol")[0])
        assert "SCRAM-SHA-256" in node["config"], node
        notes = [json.loads(zk.get("/config/changes/" + n)[0]) for n in zk.get_children("/config/changes")]
        assert {"version": 2, "entity_path": "users/carol"} in notes
    finally:
        zk.stop()
        zk.close()
    assert can_login(sasl_conf(b, "SCRAM-SHA-256", "carol", "carol-secret"))

    dave = UserScramCredentialUpsertion("dave", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
                                        b"dave-secret")
    with Stopped(store):
        with pytest.raises(KafkaException) as e:
            ac.alter_user_scram_credentials([dave])["dave"].result(60)
        assert "metastore" in str(e.value), str(e.value)
        assert not can_login(sasl_conf(b, "SCRAM-SHA-256", "dave", "dave-secret"))
        assert can_login(sasl_conf(b, "SCRAM-SHA-256", "carol", "carol-secret"))
    zk = kazoo(store)
    try:
        stored = lambda: zk.exists("/config/users/dave") is not None and \
            "SCRAM-SHA-256" in json.loads(zk.get("/config/users/dave")[0])["config"]
        eventually(lambda: can_login(sasl_conf(b, "SCRAM-SHA-256", "dave", "dave-secret")) == stored(),
                   "dave can log in exactly when the metastore has his credential")
    finally:
        zk.stop()
        zk.close()


# ------------------------------------------------------------ topic configs

def topic_config(ac, topic, key):
    from confluent_kafka.admin import ConfigResource, ResourceType
    r = ConfigResource(ResourceType.TOPIC, topic)
    return ac.describe_configs([r])[r].result(30)[key].value


def node_config(zk, topic):
    return json.loads(zk.get("/config/topics/" + topic)[0])["config"]


def test_topic_configs_answered_after_the_metastore_has_them(zk_pair):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
    store, b = zk_pair
    ac = admin(b)
    topic = unique_topic("aw-cfg")
    create_topic(ac, topic)

    def set_retention(ms_value):
        r = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
            ConfigEntry("retention.ms", str(ms_value), incremental_operation=AlterConfigOpType.SET)])
        return ac.incremental_alter_configs([r])[r]

    set_retention(3600000).result(30)
    zk = kazoo(store)
    try:
        assert node_config(zk, topic)["retention.ms"] == "3600000"
        notes = [json.loads(zk.get("/config/changes/" + n)[0]) for n in zk.get_children("/config/changes")]
        assert {"version": 2, "entity_path": "topics/" + topic} in notes
        # Kafka's kafka-configs (IncrementalAlterConfigs) likewise.
        p = java("kafka.admin.ConfigCommand",
                 ["--bootstrap-server", b.bootstrap, "--alter", "--entity-type", "topics",
                  "--entity-name", topic, "--add-config", "retention.bytes=1048576"])
        assert p.returncode == 0, p.stderr.decode(errors="replace")[-3000:]
        cfg = node_config(zk, topic)
        assert cfg["retention.bytes"] == "1048576" and cfg["retention.ms"] == "3600000", cfg
    finally:
        zk.stop()
        zk.close()
    assert topic_config(ac, topic, "retention.ms") == "3600000"

    with Stopped(store):
        with pytest.raises(KafkaException) as e:
            set_retention(7200000).result(60)
        assert "metastore" in str(e.value), str(e.value)
        assert topic_config(ac, topic, "retention.ms") == "3600000"
    zk = kazoo(store)
    try:
        eventually(lambda: topic_config(ac, topic, "retention.ms") ==
                   node_config(zk, topic)["retention.ms"] or
                   (topic_config(ac, topic, "retention.ms"), node_config(zk, topic)),
                   "broker and metastore agree")
        set_retention(60000).result(30)
        assert node_config(zk, topic)["retention.ms"] == "60000"
    finally:
        zk.stop()
        zk.close()


# ------------------------------------------------------------ without a metastore

ERR_KAFKA_STORAGE_ERROR = 56


def raw_delete_acls(b, topic):
    """DeleteAcls v1 for every ACL of the literal topic: [(filter error,
    [error of each matching binding])]."""
    s = lambda x: kproto.string(x)
    body = (struct.pack(">i", 1) + struct.pack(">b", 2) + s(topic) + struct.pack(">b", 3) +
            s(None) + s(None) + struct.pack(">bb", 1, 1))
    with b.conn() as c:
        r = c.request(31, 1, body)
    r.int32()   # throttle_time_ms

    def matching():
        err = r.int16()
        r.string()
        r.int8(), r.string(), r.int8(), r.string(), r.string(), r.int8(), r.int8()
        return err

    def filter_result():
        err = r.int16()
        r.string()
        return err, r.array(matching)
    return r.array(filter_result)


def test_file_store_written_before_the_answer(tmp_path, request):
    """Without zookeeper.connect: the file is replaced before the answer; a
    failed write is an error and changes nothing in memory."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialUpsertion)
    b = make_broker(tmp_path / "b")
    b.start()
    try:
        ac = admin(b)
        topic = unique_topic("aw-file")
        create_topic(ac, topic)
        alice = sasl_conf(b, "PLAIN", "alice", "alice-secret")
        binding = describe_binding(topic)
        ac.create_acls([binding])[binding].result(30)
        path = os.path.join(b.log_dirs, "kavka-acls.json")
        acls = json.load(open(path))["acls"]
        assert [(a["name"], a["principal"], a["operation"]) for a in acls] == \
            [(topic, "User:alice", "Describe")]
        assert visible_to(alice, topic)

        # The file cannot be replaced (a directory took its name): the
        # deletion fails and the ACL stays in effect.
        os.remove(path)
        os.mkdir(path)
        # (DeleteAcls reports it per matching binding, as Kafka does, which
        # confluent-kafka does not surface: read the response itself.)
        assert raw_delete_acls(b, topic) == [(0, [ERR_KAFKA_STORAGE_ERROR])]
        assert broker_acls(ac, topic) == [("User:alice", "DESCRIBE")]
        assert visible_to(alice, topic)
        # nor does a new ACL take effect
        other = unique_topic("aw-file2")
        create_topic(ac, other)
        with pytest.raises(KafkaException):
            ac.create_acls([describe_binding(other)])[describe_binding(other)].result(30)
        assert not visible_to(alice, other)
        os.rmdir(path)
        ac.delete_acls([topic_filter(topic)])[topic_filter(topic)].result(30)
        assert json.load(open(path))["acls"] == []
        assert not visible_to(alice, topic)

        # SCRAM credentials: the same.
        cpath = os.path.join(b.log_dirs, "kavka-scram-credentials.json")
        up = lambda u: UserScramCredentialUpsertion(
            u, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), (u + "-secret").encode())
        ac.alter_user_scram_credentials([up("erin")])["erin"].result(30)
        assert "SCRAM-SHA-256" in json.load(open(cpath))["users"]["erin"]
        os.remove(cpath)
        os.mkdir(cpath)
        with pytest.raises(KafkaException):
            ac.alter_user_scram_credentials([up("frank")])["frank"].result(30)
        assert not can_login(sasl_conf(b, "SCRAM-SHA-256", "frank", "frank-secret"))
        assert can_login(sasl_conf(b, "SCRAM-SHA-256", "erin", "erin-secret"))
        os.rmdir(cpath)
    finally:
        _finish(b, request)
