"""Issue 5, authorization (acceptance item 4): with Kafka's standard
authorizer configured, ACLs created with kafka-acls decide what alice may
do; the super user admin may do everything; ACLs live in the metastore
(/kafka-acl) and survive a restart."""

import importlib.util
import os

import pytest

from conftest import HOST, REPO, TARGET, Broker, _finish, free_port, unique_topic
from test_security import JAAS, check, java, users_config, write

pytestmark = pytest.mark.skipif(TARGET != "kavka", reason="kavka's security setup")

_spec = importlib.util.spec_from_file_location(
    "ms_harness_acl", os.path.join(REPO, "tests", "metastore", "conftest.py"))
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)
if not os.environ.get("KAVKA_METASTORE") and os.environ.get("KAVKA_BROKER"):
    os.environ["KAVKA_METASTORE"] = os.path.join(
        os.path.dirname(os.path.dirname(os.environ["KAVKA_BROKER"])), "metastore", "kavka-metastore")
make_server = ms.make_server


def client_props(tmp_path, user, password):
    return write(tmp_path / ("%s.properties" % user),
                 "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                 "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                 "username=\"%s\" password=\"%s\";\n" % (user, password))


def conf(b, user, password):
    return {"bootstrap.servers": "%s:%d" % (HOST, b.sasl_user), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": password}


def acls(b, tmp_path, *args):
    return check(java("org.apache.kafka.tools.AclCommand",
                      ["--bootstrap-server", "%s:%d" % (HOST, b.sasl_user), "--command-config",
                       client_props(tmp_path, "admin", "admin-secret")] + list(args)),
                 "kafka-acls " + " ".join(args))


def produce(c, topic, n=5):
    from confluent_kafka import Producer
    errs = []
    p = Producer(dict(c, acks="all", retries=0, **{"message.timeout.ms": 15000}))
    for i in range(n):
        p.produce(topic, b"v%d" % i, on_delivery=lambda e, m: errs.append(e))
    p.flush(30)
    return errs


def consume(c, topic, n, group):
    from confluent_kafka import Consumer
    cons = Consumer(dict(c, **{"group.id": group, "auto.offset.reset": "earliest"}))
    cons.subscribe([topic])
    got = []
    try:
        for _ in range(60):
            m = cons.poll(0.5)
            if m is None:
                if len(got) >= n:
                    break
                continue
            assert m.error() is None, m.error()
            got.append(m.value())
            if len(got) >= n:
                break
        cons.commit(asynchronous=False)
    finally:
        cons.close()
    return got


def authz_broker(tmp_path, make_server):
    """A started broker with the users' three listeners, Kafka's standard
    authorizer, admin as the super user and its ACLs in a kavka-metastore."""
    store = make_server(cls=ms.Server)
    # the KafkaServer section only: the metastore here takes no SASL login
    jaas = write(tmp_path / "jaas.conf", JAAS.split("Client {")[0])
    b = Broker(tmp_path / "b", env={"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % jaas})
    b.sasl_user, b.sasl_ui = free_port(), free_port()
    b.overrides.update(users_config(b.sasl_user, b.sasl_ui, b.port))
    b.overrides.update({"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                        "super.users": "User:admin", "zookeeper.connect": store.hosts + "/kafka",
                        "zookeeper.connection.timeout.ms": "30000"})
    b.start()
    return b


def test_acls_with_kafka_acls(tmp_path, make_server, request):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient
    b = authz_broker(tmp_path, make_server)
    try:
        admin, alice = conf(b, "admin", "admin-secret"), conf(b, "alice", "alice-secret")
        a, other = unique_topic("acl-a"), unique_topic("acl-b")
        # the super user creates and fills both topics
        ac = AdminClient(admin)
        from confluent_kafka.admin import NewTopic
        for f in ac.create_topics([NewTopic(a, 1, 1), NewTopic(other, 1, 1)]).values():
            f.result(30)
        assert produce(admin, a) == [None] * 5
        assert produce(admin, other) == [None] * 5

        # alice, with no ACL: sees no topic, may not read
        md = AdminClient(alice).list_topics(timeout=20)
        assert a not in md.topics and other not in md.topics

        acls(b, tmp_path, "--add", "--allow-principal", "User:alice", "--operation", "Read",
             "--topic", a, "--group", "g")
        out = acls(b, tmp_path, "--list").stdout.decode()
        assert "User:alice" in out and a in out and "READ" in out.upper(), out

        # alice reads `a`, cannot write it, does not see `other`
        assert consume(alice, a, 5, "g") == [b"v%d" % i for i in range(5)]
        errs = produce(alice, a, 1)
        assert errs and errs[0] is not None and errs[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, errs
        md = AdminClient(alice).list_topics(timeout=20)
        assert a in md.topics and other not in md.topics
        # a group alice may not read
        with pytest.raises(Exception):
            consume(alice, a, 1, "not-g")

        # ACLs survive a restart (stored in the metastore)
        b.stop()
        b.start()
        out = acls(b, tmp_path, "--list", "--topic", a).stdout.decode()
        assert "User:alice" in out, out
        assert AdminClient(alice).list_topics(timeout=20).topics.get(a) is not None

        acls(b, tmp_path, "--remove", "--force", "--allow-principal", "User:alice", "--operation",
             "Read", "--topic", a)
        out = acls(b, tmp_path, "--list", "--topic", a).stdout.decode()
        assert "User:alice" not in out, out
        assert a not in AdminClient(alice).list_topics(timeout=20).topics
    finally:
        _finish(b, request)


def test_mtls_principal_in_acls(tmp_path, request):
    """The principal of a client certificate (User:<subject DN>, RFC 2253
    order, as Kafka's default principal builder makes it) is what ACLs
    match on an SSL listener with ssl.client.auth=required."""
    from confluent_kafka import KafkaError
    from test_security import make_pki, tls_config

    pki = make_pki(tmp_path)
    jaas = write(tmp_path / "jaas.conf", JAAS.split("Client {")[0])
    b = Broker(tmp_path / "b", env={"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % jaas})
    b.ssl_port, b.sasl_ssl_port = free_port(), free_port()
    b.overrides.update(tls_config(pki, b.ssl_port, b.sasl_ssl_port, b.port))
    b.overrides.update({"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                        # the PLAINTEXT listener (ANONYMOUS) administers this test
                        "super.users": "User:ANONYMOUS"})
    b.start()
    try:
        allowed, denied = unique_topic("mtls-ok"), unique_topic("mtls-no")
        plain = {"bootstrap.servers": b.bootstrap}
        from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType,
                                           AdminClient, NewTopic, ResourcePatternType,
                                           ResourceType)
        ac = AdminClient(plain)
        for f in ac.create_topics([NewTopic(allowed, 1, 1), NewTopic(denied, 1, 1)]).values():
            f.result(30)
        principal = "User:CN=test-client,O=kavka"
        bindings = [AclBinding(ResourceType.TOPIC, allowed, ResourcePatternType.LITERAL,
                               principal, "*", op, AclPermissionType.ALLOW)
                    for op in (AclOperation.WRITE, AclOperation.DESCRIBE)]
        for f in ac.create_acls(bindings).values():
            f.result(30)
        tls = {"bootstrap.servers": "%s:%d" % (HOST, b.ssl_port), "security.protocol": "SSL",
               "ssl.ca.location": pki["ca.pem"], "ssl.certificate.location": pki["client.pem"],
               "ssl.key.location": pki["client.key"]}
        assert produce(tls, allowed) == [None] * 5
        errs = produce(tls, denied, 1)
        assert errs and errs[0] is not None and \
            errs[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, errs
    finally:
        _finish(b, request)


def test_admin_reads_need_acls(tmp_path, make_server, request):
    """The admin requests Kafka checks beyond the everyday ones, asked by
    Kafka's own tools as alice without ACLs and then as the super user:
    kafka-log-dirs (DescribeLogDirs: DESCRIBE on the cluster),
    kafka-reassign-partitions --list (ListPartitionReassignments: DESCRIBE on
    the cluster), kafka-configs --describe --entity-type users
    (DescribeClientQuotas: DESCRIBE_CONFIGS on the cluster),
    kafka-transactions describe-producers (DescribeProducers: READ on the
    topic), kafka-consumer-groups --delete-offsets (OffsetDelete: DELETE on
    the group, READ on the topic)."""
    b = authz_broker(tmp_path, make_server)
    try:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = conf(b, "admin", "admin-secret")
        topic = unique_topic("acl-admin")
        ac = AdminClient(admin)  # kept: a collected client fails its futures
        for f in ac.create_topics([NewTopic(topic, 1, 1)]).values():
            f.result(30)
        assert produce(admin, topic) == [None] * 5
        assert consume(admin, topic, 5, "g-admin") == [b"v%d" % i for i in range(5)]
        boot = "%s:%d" % (HOST, b.sasl_user)
        cfg = {"alice": client_props(tmp_path, "alice", "alice-secret"),
               "admin": client_props(tmp_path, "admin", "admin-secret")}
        tools = [
            ("org.apache.kafka.tools.LogDirsCommand",
             ["--describe", "--topic-list", topic], "ClusterAuthorization"),
            ("org.apache.kafka.tools.reassign.ReassignPartitionsCommand", ["--list"],
             "ClusterAuthorization"),
            ("kafka.admin.ConfigCommand", ["--describe", "--entity-type", "users"],
             "ClusterAuthorization"),
            ("org.apache.kafka.tools.TransactionsCommand",
             ["describe-producers", "--topic", topic, "--partition", "0"], "TopicAuthorization"),
            ("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
             ["--delete-offsets", "--group", "g-admin", "--topic", topic + ":0"],
             "Group authorization failed"),
        ]
        for main, args, denied in tools:
            def run_as(user):
                p = java(main, ["--bootstrap-server", boot, "--command-config", cfg[user]] + args)
                return p.returncode, (p.stdout + p.stderr).decode(errors="replace")
            rc, out = run_as("alice")
            assert denied in out, "%s as alice (rc %d):\n%s" % (main, rc, out[-3000:])
            rc, out = run_as("admin")
            assert rc == 0 and "uthorization" not in out, \
                "%s as admin (rc %d):\n%s" % (main, rc, out[-3000:])

        # DescribeCluster needs no ACL (Kafka 4's describeTopics sends it
        # first): alice, allowed only DESCRIBE and DESCRIBE_CONFIGS (which
        # kafka-topics --describe also asks for) on the topic, describes it.
        acls(b, tmp_path, "--add", "--allow-principal", "User:alice", "--operation", "Describe",
             "--operation", "DescribeConfigs", "--topic", topic)
        p = check(java("org.apache.kafka.tools.TopicCommand",
                       ["--bootstrap-server", boot, "--command-config", cfg["alice"], "--describe",
                        "--topic", topic]), "kafka-topics --describe as alice")
        assert b"PartitionCount: 1" in p.stdout, p.stdout
    finally:
        _finish(b, request)
