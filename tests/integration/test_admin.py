"""Admin and introspection APIs as the tools teams use drive them (issue 4):
kafka-topics, kafka-configs, kafka-broker-api-versions, kafka-log-dirs,
kafka-delete-records, kafka-acls, and the AdminClient calls Kafka UI makes on
connect and on every refresh (through confluent-kafka and kafka-python).

Run against the Apache Kafka reference too (KAVKA_TEST_TARGET=kafka): every
expectation here is what Kafka does.
"""

import json
import re
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType,
                                   AdminClient, ConfigResource, OffsetSpec, ResourcePatternType,
                                   ResourceType)
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicCollection

from clients import BY_NAME, _java, _run
from conftest import TARGET, module_broker, unique_topic

admin_broker = module_broker()

TOPICS = "org.apache.kafka.tools.TopicCommand"
CONFIGS = "kafka.admin.ConfigCommand"


def tool(main, broker, *args, ok=True, timeout=120):
    """Run one of Kafka's CLI tools; returns (exit code, stdout+stderr text)."""
    cmd = _java(main, ["--bootstrap-server", broker.bootstrap] + list(args))
    if ok:
        p = _run(cmd, timeout, None, "%s %s" % (main.rsplit(".", 1)[-1], " ".join(args[:3])))
    else:
        import subprocess
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def listed(broker):
    _, out = tool(TOPICS, broker, "--list")
    return set(out.split())


def wait_for(pred, what, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


# ---------------------------------------------------------------- kafka-topics

def test_kafka_topics_lifecycle(admin_broker):
    t = unique_topic("adm-topics")
    tool(TOPICS, admin_broker, "--create", "--topic", t, "--partitions", "3",
         "--replication-factor", "1", "--config", "retention.ms=3600000")
    assert t in listed(admin_broker)
    _, out = tool(TOPICS, admin_broker, "--describe", "--topic", t)
    assert re.search(r"PartitionCount:\s*3\b", out), out
    assert "retention.ms=3600000" in out, out
    assert len(re.findall(r"Partition: \d+\s+Leader: 1\s+Replicas: 1\s+Isr: 1", out)) == 3, out

    tool(TOPICS, admin_broker, "--alter", "--topic", t, "--partitions", "5")
    _, out = tool(TOPICS, admin_broker, "--describe", "--topic", t)
    assert re.search(r"PartitionCount:\s*5\b", out), out
    # Shrinking is refused with Kafka's INVALID_PARTITIONS.
    rc, out = tool(TOPICS, admin_broker, "--alter", "--topic", t, "--partitions", "2", ok=False)
    assert rc != 0 and "InvalidPartitionsException" in out, out

    # The new partitions take records.
    BY_NAME["confluent-kafka"].produce(admin_broker, t, BY_NAME["confluent-kafka"].make_records(
        50, 50, 1))
    ends = admin_broker.offsets(t, range(5), -1)
    assert sum(ends.values()) == 50 and ends[4] >= 0

    tool(TOPICS, admin_broker, "--delete", "--topic", t)
    wait_for(lambda: t not in listed(admin_broker), "topic deletion")


# ---------------------------------------------------------------- kafka-configs

def describe_cfg(broker, *entity, all_=False):
    _, out = tool(CONFIGS, broker, "--describe", *entity, *(["--all"] if all_ else []))
    return out


def test_kafka_configs_topic_and_broker_survive_restart(broker_factory):
    broker = broker_factory({"log.retention.hours": "100"})
    t = unique_topic("adm-cfg")
    BY_NAME["confluent-kafka"].create_topic(broker.bootstrap, t, 2)
    topic = ["--entity-type", "topics", "--entity-name", t]
    one = ["--entity-type", "brokers", "--entity-name", "1"]
    dflt = ["--entity-type", "brokers", "--entity-default"]

    # Defaults as Kafka reports them: retention.ms derived from the static
    # log.retention.hours; the synonym chain starts at the primary broker
    # synonym (log.retention.ms), unset here, so it is empty.
    out = describe_cfg(broker, *topic, all_=True)
    assert "retention.ms=360000000 sensitive=false synonyms={}" in out, out
    assert re.search(r"segment.bytes=1073741824 sensitive=false synonyms=\{DEFAULT_CONFIG:"
                     r"log.segment.bytes=1073741824\}", out), out

    tool(CONFIGS, broker, "--alter", *topic, "--add-config", "retention.ms=12345,max.message.bytes=200000")
    tool(CONFIGS, broker, "--alter", *one, "--add-config",
         "log.retention.bytes=987654321,sasl.kerberos.min.time.before.relogin=58000")
    tool(CONFIGS, broker, "--alter", *dflt, "--add-config", "log.retention.ms=7200000")
    # Invalid values and read-only keys are refused.
    rc, out = tool(CONFIGS, broker, "--alter", *topic, "--add-config", "retention.ms=soon", ok=False)
    assert rc != 0, out
    rc, out = tool(CONFIGS, broker, "--alter", *one, "--add-config", "broker.id=7", ok=False)
    assert rc != 0, out

    def check():
        out = describe_cfg(broker, *topic)
        assert "retention.ms=12345 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=12345, " \
               "DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000, STATIC_BROKER_CONFIG:" \
               "log.retention.hours=100, DEFAULT_CONFIG:log.retention.hours=168}" in out, out
        assert "max.message.bytes=200000" in out, out
        out = describe_cfg(broker, *one)
        assert "log.retention.bytes=987654321 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:" \
               "log.retention.bytes=987654321, DEFAULT_CONFIG:log.retention.bytes=-1}" in out, out
        # A listener SASL setting is dynamic per broker (librdkafka's 0081_admin sets it).
        assert "sasl.kerberos.min.time.before.relogin=58000 sensitive=false synonyms={" \
               "DYNAMIC_BROKER_CONFIG:sasl.kerberos.min.time.before.relogin=58000, DEFAULT_CONFIG:" \
               "sasl.kerberos.min.time.before.relogin=60000}" in out, out
        out = describe_cfg(broker, *dflt)
        assert "log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:" \
               "log.retention.ms=7200000}" in out, out
        # The topic default follows the dynamic broker default.
        out = describe_cfg(broker, *topic, all_=True)
        assert "retention.bytes=987654321 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:" \
               "log.retention.bytes=987654321" in out, out

    check()
    broker.restart()
    check()

    tool(CONFIGS, broker, "--alter", *topic, "--delete-config", "retention.ms")
    tool(CONFIGS, broker, "--alter", *dflt, "--delete-config", "log.retention.ms")
    out = describe_cfg(broker, *topic)
    assert "retention.ms=" not in out.replace("max.message.bytes", ""), out
    assert "log.retention.ms" not in describe_cfg(broker, *dflt)


def test_describe_configs_flags(admin_broker):
    """Read-only and type flags, documentation, inter.broker.protocol.version."""
    t = unique_topic("adm-flags")
    BY_NAME["confluent-kafka"].create_topic(admin_broker.bootstrap, t, 1)
    a = admin(admin_broker)
    res = a.describe_configs([ConfigResource(ResourceType.BROKER, "1"),
                              ConfigResource(ResourceType.TOPIC, t)], request_timeout=30)
    got = {r.restype: f.result() for r, f in res.items()}
    b, tc = got[ResourceType.BROKER], got[ResourceType.TOPIC]
    if TARGET == "kavka":
        # Kafka 4 dropped it; kavka reports it as a 3.9 broker does (issue 4).
        assert b["inter.broker.protocol.version"].is_read_only
        assert b["inter.broker.protocol.version"].value
    assert b["broker.id"].is_read_only and b["broker.id"].value == "1"
    assert not b["log.retention.bytes"].is_read_only       # dynamic in Kafka
    assert b["num.partitions"].value == "3"
    assert b["num.partitions"].source == 4                 # STATIC_BROKER_CONFIG
    assert b["log.segment.bytes"].is_default
    assert not tc["cleanup.policy"].is_read_only and tc["cleanup.policy"].value == "delete"
    assert tc["retention.ms"].source == 5                  # DEFAULT_CONFIG
    # An unknown topic is an error for that resource only.
    res = a.describe_configs([ConfigResource(ResourceType.TOPIC, t + "-nope")], request_timeout=30)
    with pytest.raises(KafkaException) as ei:
        list(res.values())[0].result()
    assert ei.value.args[0].code() == 3  # UNKNOWN_TOPIC_OR_PARTITION


def test_kafka_python_describe_configs_documentation(admin_broker):
    from kafka.admin import ConfigResource as KPResource, ConfigResourceType, KafkaAdminClient
    a = KafkaAdminClient(bootstrap_servers=admin_broker.bootstrap, request_timeout_ms=30000)
    try:
        resp = a.describe_configs([KPResource(ConfigResourceType.BROKER, "1")],
                                  include_synonyms=True)
        res = resp[0].resources[0]
        assert res[0] == 0, res
        entries = {e[0]: e for e in res[4]}
        if TARGET == "kavka":
            assert "inter.broker.protocol.version" in entries
        assert "log.retention.hours" in entries
    finally:
        a.close()


# ---------------------------------------------------------------- other tools

def test_broker_api_versions(admin_broker):
    _, out = tool("org.apache.kafka.tools.BrokerApiVersionsCommand", admin_broker)
    for name, key in [("DescribeConfigs", 32), ("AlterConfigs", 33), ("IncrementalAlterConfigs", 44),
                      ("CreatePartitions", 37), ("DeleteRecords", 21), ("DescribeCluster", 60),
                      ("DescribeLogDirs", 35), ("DescribeProducers", 61), ("DescribeAcls", 29),
                      ("ListPartitionReassignments", 46), ("OffsetForLeaderEpoch", 23),
                      ("CreateTopics", 19), ("Metadata", 3)]:
        assert re.search(r"%s\(%d\): \d+( to \d+)? \[usable: \d+\]" % (name, key), out), (name, out)


def test_log_dirs_and_delete_records(admin_broker, tmp_path):
    t = unique_topic("adm-del")
    c = BY_NAME["confluent-kafka"]
    c.create_topic(admin_broker.bootstrap, t, 2)
    c.produce(admin_broker, t, c.make_records(200, 200, 2))
    ends = admin_broker.offsets(t, range(2), -1)
    assert sum(ends.values()) == 200

    _, out = tool("org.apache.kafka.tools.LogDirsCommand", admin_broker, "--describe",
                  "--topic-list", t)
    doc = json.loads(out.strip().splitlines()[-1])
    parts = {p["partition"]: p for b in doc["brokers"] for d in b["logDirs"] for p in d["partitions"]}
    assert set(parts) == {"%s-0" % t, "%s-1" % t}
    assert all(p["size"] > 0 for p in parts.values()), parts

    spec = tmp_path / "offsets.json"
    spec.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": t, "partition": 0, "offset": ends[0] // 2},
        {"topic": t, "partition": 1, "offset": -1}]}))
    _, out = tool("org.apache.kafka.tools.DeleteRecordsCommand", admin_broker,
                  "--offset-json-file", str(spec))
    assert "low_watermark: %d" % (ends[0] // 2) in out, out
    starts = admin_broker.offsets(t, range(2), -2)
    assert starts == {0: ends[0] // 2, 1: ends[1]}


def test_kafka_acls_list_security_disabled(admin_broker):
    rc, out = tool("org.apache.kafka.tools.AclCommand", admin_broker, "--list", ok=False)
    assert rc != 0 and "SecurityDisabledException" in out, out


# ------------------------------------------------- the AdminClient calls of Kafka UI

def test_kafka_ui_admin_calls(admin_broker):
    t = unique_topic("adm-ui")
    group = unique_topic("adm-ui-group")
    c = BY_NAME["confluent-kafka"]
    c.create_topic(admin_broker.bootstrap, t, 2)
    c.produce(admin_broker, t, c.make_records(20, 20, 3))
    cons = Consumer({"bootstrap.servers": admin_broker.bootstrap, "group.id": group,
                     "enable.auto.commit": False})
    cons.commit(offsets=[TopicPartition(t, 0, 5), TopicPartition(t, 1, 3)], asynchronous=False)
    cons.close()

    a = admin(admin_broker)
    cl = a.describe_cluster(include_authorized_operations=True, request_timeout=30).result()
    assert [n.id for n in cl.nodes] == [1] and cl.controller.id == 1 and cl.cluster_id
    assert AclOperation.DESCRIBE in cl.authorized_operations
    assert AclOperation.ALTER_CONFIGS in cl.authorized_operations

    md = a.list_topics(timeout=30)
    assert t in md.topics and len(md.topics[t].partitions) == 2
    td = a.describe_topics(TopicCollection([t]), request_timeout=30)[t].result()
    assert [p.id for p in td.partitions] == [0, 1]
    assert all(p.leader.id == 1 for p in td.partitions)

    groups = a.list_consumer_groups(request_timeout=30).result()
    assert group in [g.group_id for g in groups.valid]
    gd = a.describe_consumer_groups([group], request_timeout=30)[group].result()
    assert gd.group_id == group
    off = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                        request_timeout=30)[group].result()
    assert {(p.topic, p.partition, p.offset) for p in off.topic_partitions} >= {(t, 0, 5), (t, 1, 3)}

    lo = a.list_offsets({TopicPartition(t, 0): OffsetSpec.latest(),
                         TopicPartition(t, 1): OffsetSpec.earliest()}, request_timeout=30)
    latest0 = lo[TopicPartition(t, 0)].result().offset
    assert latest0 == admin_broker.offsets(t, [0], -1)[0]
    assert lo[TopicPartition(t, 1)].result().offset == 0

    # Without an authorizer Kafka answers DescribeAcls with SECURITY_DISABLED,
    # which Kafka UI takes as "ACLs off"; librdkafka reports it as an error
    # or as no ACLs, depending on the version.
    f = a.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                         AclOperation.ANY, AclPermissionType.ANY), request_timeout=30)
    try:
        assert f.result() == []
    except KafkaException as e:
        assert e.args[0].code() == 54, e  # SECURITY_DISABLED
