"""Issue 17: kavka's C command-line tools (cli/, kavka-cli called as
kafka-topics, kafka-configs, kafka-consumer-groups, kafka-broker-api-versions,
kafka-console-producer, kafka-console-consumer), judged against Apache
Kafka's own tools (the 4.x jars, run with java) on the same broker, and by
their effects as real clients (kafka-python, confluent-kafka) see them.

The same tests run against kavka and, with KAVKA_TEST_TARGET=kafka, against
the Apache Kafka reference broker: the expected output is the same, and
wherever Kafka's tool prints the same thing, our tool's output is compared
with it line by line (as sets where Kafka's order is a hash map's)."""

import os
import re
import signal
import subprocess
import time

import pytest

from clients import JAVA_CP, JAVA_LOG
from conftest import HOST, REPO, TARGET, Broker, _finish, free_port, shared_broker, unique_topic

broker = shared_broker

BUILD = os.path.dirname(os.path.dirname(
    os.environ.get("KAVKA_BROKER") or os.path.join(REPO, "build", "broker", "kavka-broker")))
CLI = os.path.join(BUILD, "cli")

JAVA_TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
}


def ours(tool, *args, input=None, timeout=60):
    path = os.path.join(CLI, tool)
    assert os.access(path, os.X_OK), "%s not built" % path
    return subprocess.run([path] + list(args), input=input, capture_output=True, timeout=timeout)


def kafkas(tool, *args, timeout=120):
    """Kafka's own tool (JVM)."""
    return subprocess.run(["java", "-cp", JAVA_CP, JAVA_LOG, "-XX:TieredStopAtLevel=1",
                           "-Xshare:auto", JAVA_TOOLS[tool]] + list(args),
                          capture_output=True, timeout=timeout)


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stdout.decode()[-2000:], r.stderr.decode()[-2000:])
    return r.stdout.decode()


def lines(text):
    return [ln for ln in text.split("\n") if ln.strip()]


def wait_for(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    pytest.fail("timed out waiting for " + what)


_admins = {}


def admin(bootstrap):
    """One AdminClient per broker, kept alive: a future of a client that is
    garbage-collected never completes."""
    from confluent_kafka.admin import AdminClient
    if bootstrap not in _admins:
        _admins[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _admins[bootstrap]


def partitions_of(bootstrap, topic):
    md = admin(bootstrap).list_topics(timeout=10)   # all topics: naming one may auto-create it
    t = md.topics.get(topic)
    return None if t is None or t.error is not None else len(t.partitions)


def describe_blocks(text):
    """kafka-topics --describe output as {topic: [its lines]} (Kafka prints the
    topics in hash-map order, ours sorted)."""
    blocks, cur = {}, None
    for ln in lines(text):
        if ln.startswith("Topic: "):
            cur = ln.split("\t")[0][len("Topic: "):]
            blocks[cur] = [ln]
        else:
            blocks[cur].append(ln)
    return blocks


# ------------------------------------------------------------ kafka-topics

def test_topics_create_describe_alter_delete_beside_kafkas_tool(broker):
    b = broker.bootstrap
    topic = unique_topic("cli.topics")     # '.' gets Kafka's metric-name warning
    out = ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
                  "--partitions", "2", "--replication-factor", "1",
                  "--config", "retention.ms=123456", "--config", "cleanup.policy=delete"))
    assert out.endswith("Created topic %s.\n" % topic), out
    assert out.startswith("WARNING: Due to limitations in metric names"), out
    # A real client sees it, with its partitions and configs.
    assert wait_for(lambda: partitions_of(b, topic), "topic in metadata") == 2
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    cfg = admin(b).describe_configs([res])[res].result(timeout=15)
    assert cfg["retention.ms"].value == "123456" and cfg["cleanup.policy"].value == "delete"

    # --list and --describe print what Kafka's tool prints on the same broker.
    mine = ok(ours("kafka-topics", "--bootstrap-server", b, "--list"))
    assert topic in mine.split("\n")
    assert mine == ok(kafkas("kafka-topics", "--bootstrap-server", b, "--list"))
    d = ok(ours("kafka-topics", "--bootstrap-server", b, "--describe", "--topic", topic))
    assert d == ok(kafkas("kafka-topics", "--bootstrap-server", b, "--describe", "--topic", topic))
    first = d.split("\n")[0].split("\t")
    assert first[0] == "Topic: " + topic and first[1].startswith("TopicId: ")
    assert first[2:4] == ["PartitionCount: 2", "ReplicationFactor: 1"]
    assert "retention.ms=123456" in first[4] and first[4].startswith("Configs: ")
    assert [ln.split("\t")[1:3] for ln in d.split("\n")[1:3]] == [
        ["Topic: " + topic, "Partition: 0"], ["Topic: " + topic, "Partition: 1"]]
    all_mine = ok(ours("kafka-topics", "--bootstrap-server", b, "--describe"))
    all_theirs = ok(kafkas("kafka-topics", "--bootstrap-server", b, "--describe"))
    assert describe_blocks(all_mine) == describe_blocks(all_theirs)

    # Creating it again fails as Kafka's tool fails; --if-not-exists is quiet.
    again = ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic)
    theirs = kafkas("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic)
    assert again.returncode == theirs.returncode == 1
    assert lines(again.stdout.decode()) == lines(theirs.stdout.decode())
    assert "Error while executing topic command : Topic '%s' already exists." % topic in \
        again.stdout.decode()
    assert ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
                "--if-not-exists").returncode == 0

    # --alter --partitions: the partitions exist for a real client.
    ok(ours("kafka-topics", "--bootstrap-server", b, "--alter", "--topic", topic,
            "--partitions", "4"))
    wait_for(lambda: partitions_of(b, topic) == 4, "4 partitions")
    shrink = ours("kafka-topics", "--bootstrap-server", b, "--alter", "--topic", topic,
                  "--partitions", "2")
    theirs = kafkas("kafka-topics", "--bootstrap-server", b, "--alter", "--topic", topic,
                    "--partitions", "2")
    assert shrink.returncode == theirs.returncode == 1
    assert lines(shrink.stdout.decode()) == lines(theirs.stdout.decode())

    # --delete; then describing or deleting it fails unless --if-exists.
    ok(ours("kafka-topics", "--bootstrap-server", b, "--delete", "--topic", topic))
    wait_for(lambda: partitions_of(b, topic) is None, "topic deleted")
    wait_for(lambda: topic not in ok(ours("kafka-topics", "--bootstrap-server", b, "--list")),
             "topic gone from --list")
    for action in ("--describe", "--delete"):
        r = ours("kafka-topics", "--bootstrap-server", b, action, "--topic", topic)
        assert r.returncode == 1
        assert r.stdout.decode() == "Error while executing topic command : Topic '%s' does not " \
                                    "exist as expected\n" % topic
        assert ours("kafka-topics", "--bootstrap-server", b, action, "--topic", topic,
                    "--if-exists").returncode == 0


def test_topics_regex_and_exclude_internal(broker):
    b = broker.bootstrap
    prefix = unique_topic("rx")
    names = ["%s-a" % prefix, "%s-b" % prefix, "%s-c" % prefix]
    for n in names:
        ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", n,
                "--partitions", "1"))
    pattern = "%s-[ab]" % prefix
    mine = ok(ours("kafka-topics", "--bootstrap-server", b, "--list", "--topic", pattern))
    assert mine.split() == names[:2]
    assert mine == ok(kafkas("kafka-topics", "--bootstrap-server", b, "--list", "--topic",
                             pattern))
    mine = ok(ours("kafka-topics", "--bootstrap-server", b, "--list", "--exclude-internal"))
    assert mine == ok(kafkas("kafka-topics", "--bootstrap-server", b, "--list",
                             "--exclude-internal"))
    assert not [t for t in mine.split() if t.startswith("__")]


def test_usage_errors_like_kafkas_tools(broker):
    b = broker.bootstrap
    cases = [
        ("kafka-topics", ["--bootstrap-server", b, "--list", "--bogus"]),
        ("kafka-topics", ["--bootstrap-server"]),
        ("kafka-topics", ["--list"]),
        ("kafka-topics", ["--bootstrap-server", b, "--create"]),
        ("kafka-topics", ["--bootstrap-server", b]),
        ("kafka-topics", ["--bootstrap-server", b, "--describe", "--partitions", "3"]),
        ("kafka-consumer-groups", ["--bootstrap-server", b, "--list", "--nope"]),
        ("kafka-configs", ["--bootstrap-server", b, "--describe", "--wrong", "x"]),
    ]
    for tool, args in cases:
        mine, theirs = ours(tool, *args), kafkas(tool, *args)
        assert mine.returncode == theirs.returncode == 1, (tool, args, mine, theirs)
        # Kafka's message (its stack trace and option table follow; some tools
        # let the exception escape, prefixed 'Exception in thread "main" <class>: ').
        first = lines(mine.stderr.decode())[0]
        assert first and lines(theirs.stderr.decode())[0].endswith(first), (tool, args, mine.stderr)
    for tool in ("kafka-console-producer", "kafka-console-consumer", "kafka-broker-api-versions"):
        r = ours(tool, "--bootstrap-server", b, "--no-such-flag")
        assert r.returncode == 1 and r.stderr.decode() == "no-such-flag is not a recognized option\n"
    r = ours("kafka-console-producer", "--bootstrap-server", b)
    assert r.returncode == 1 and r.stderr.decode().startswith('Missing required argument "[topic]"')


# ------------------------------------------------------------ kafka-broker-api-versions

def test_broker_api_versions(broker):
    mine = ok(ours("kafka-broker-api-versions", "--bootstrap-server", broker.bootstrap))
    theirs = ok(kafkas("kafka-broker-api-versions", "--bootstrap-server", broker.bootstrap))
    # "usable" is each client's own maximum; the broker's ranges are the same.
    strip = lambda t: [re.sub(r" \[(usable|unusable)[^]]*\]", "", ln) for ln in lines(t)]
    assert strip(mine) == strip(theirs)
    assert mine.startswith("%s (id: 1 rack: null isFenced: false) -> (\n" % broker.bootstrap)
    assert re.search(r"\tApiVersions\(18\): 0 to \d+ \[usable: \d+\],\n", mine)
    # For the APIs the tools speak, usable = min(the tools' codec, the broker).
    produce = re.search(r"\tProduce\(0\): (\d+) to (\d+) \[usable: (\d+)\]", mine)
    assert int(produce.group(3)) == min(11, int(produce.group(2)))


# ------------------------------------------------------------ kafka-configs

def test_configs_topics_and_brokers(broker):
    b = broker.bootstrap
    topic = unique_topic("cfg")
    ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
            "--partitions", "1", "--config", "cleanup.policy=delete"))
    out = ok(ours("kafka-configs", "--bootstrap-server", b, "--alter", "--entity-type", "topics",
                  "--entity-name", topic, "--add-config",
                  "retention.ms=5000,segment.bytes=2097152,max.message.bytes=300000"))
    assert out == "Completed updating config for topic %s.\n" % topic
    out = ok(ours("kafka-configs", "--bootstrap-server", b, "--alter", "--topic", topic,
                  "--delete-config", "max.message.bytes"))
    assert out == "Completed updating config for topic %s.\n" % topic
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    cfg = admin(b).describe_configs([res])[res].result(timeout=15)
    assert cfg["retention.ms"].value == "5000" and cfg["segment.bytes"].value == "2097152"
    from confluent_kafka.admin import ConfigSource
    assert cfg["max.message.bytes"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value  # default again
    for args in (["--describe", "--entity-type", "topics", "--entity-name", topic],
                 ["--describe", "--topic", topic],
                 ["--describe", "--entity-type", "brokers", "--entity-name", "1"],
                 ["--describe", "--broker", "1"]):
        mine = ok(ours("kafka-configs", "--bootstrap-server", b, *args))
        assert mine == ok(kafkas("kafka-configs", "--bootstrap-server", b, *args)), args
    mine = ok(ours("kafka-configs", "--bootstrap-server", b, "--describe", "--topic", topic))
    assert mine.split("\n")[0] == "Dynamic configs for topic %s are:" % topic
    assert "  retention.ms=5000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=5000" \
        in mine
    assert "max.message.bytes" not in mine
    # Deleting a config that is no topic config at all is refused, as by Kafka's tool.
    r = ours("kafka-configs", "--bootstrap-server", b, "--alter", "--topic", topic,
             "--delete-config", "no.such.config")
    assert r.returncode == 1 and b"Invalid config(s): no.such.config" in r.stderr
    # A broker config change: both tools succeed or fail alike on this broker.
    args = ["--alter", "--entity-type", "brokers", "--entity-name", "1", "--add-config",
            "log.cleaner.threads=2"]
    mine, theirs = ours("kafka-configs", "--bootstrap-server", b, *args), \
        kafkas("kafka-configs", "--bootstrap-server", b, *args)
    assert mine.returncode == theirs.returncode
    if mine.returncode == 0:
        assert mine.stdout == theirs.stdout == b"Completed updating config for broker 1.\n"
    else:
        assert lines(mine.stderr.decode())[0] == lines(theirs.stderr.decode())[0]


# ------------------------------------------------------------ console producer / consumer

def test_console_producer_to_a_real_consumer(broker):
    from kafka import KafkaConsumer
    from kafka.partitioner.default import murmur2
    b = broker.bootstrap
    topic = unique_topic("cprod")
    ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
            "--partitions", "3"))
    recs = [("key-%d" % i, "value %d with spaces" % i) for i in range(60)]
    text = "".join("%s|%s\n" % kv for kv in recs) + "nokey-line-without-separator\n"
    r = ours("kafka-console-producer", "--bootstrap-server", b, "--topic", topic,
             "--property", "parse.key=true", "--property", "key.separator=|",
             "--producer-property", "acks=all", input=text.encode())
    # Kafka's LineMessageReader refuses a line without the separator.
    assert r.returncode == 1
    assert b"No key separator found on line number 61: 'nokey-line-without-separator'" in r.stderr
    # Unkeyed lines, acks=0 (fire and forget: nothing to wait for, still delivered).
    ok(ours("kafka-console-producer", "--bootstrap-server", b, "--topic", topic,
            "--producer-property", "acks=0", input=b"plain-1\nplain-2\n"))
    c = KafkaConsumer(topic, bootstrap_servers=b, auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=10000)
    got = []
    for m in c:
        got.append(m)
        if len(got) == 62:
            break
    c.close()
    keyed = [(m.key.decode(), m.value.decode(), m.partition) for m in got if m.key]
    # Each keyed record is where Kafka's default partitioner puts it.
    assert sorted(keyed) == sorted((k, v, (murmur2(k.encode()) & 0x7fffffff) % 3) for k, v in recs)
    assert sorted(m.value for m in got if m.key is None) == [b"plain-1", b"plain-2"]
    assert all(m.timestamp_type == 0 and abs(m.timestamp / 1000 - time.time()) < 300 for m in got)


def test_console_consumer_from_a_real_producer(broker):
    from kafka import KafkaProducer
    b = broker.bootstrap
    topic = unique_topic("ccons")
    ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
            "--partitions", "1"))
    p = KafkaProducer(bootstrap_servers=b, acks="all")
    ts0 = 1700000000000
    for i in range(5):
        p.send(topic, key=b"k%d" % i if i != 3 else None, value=b"v%d" % i,
               headers=[("h", b"x%d" % i), ("n", b"")] if i % 2 == 0 else [],
               timestamp_ms=ts0 + i)
    p.flush()
    p.close()
    props = ["--property", "print.key=true", "--property", "print.headers=true",
             "--property", "print.timestamp=true"]
    r = ours("kafka-console-consumer", "--bootstrap-server", b, "--topic", topic,
             "--from-beginning", "--max-messages", "5", "--timeout-ms", "20000", *props)
    out = ok(r)
    assert out.split("\n")[:-1] == [
        "CreateTime:%d\th:x0,n:\tk0\tv0" % ts0,
        "CreateTime:%d\tNO_HEADERS\tk1\tv1" % (ts0 + 1),
        "CreateTime:%d\th:x2,n:\tk2\tv2" % (ts0 + 2),
        "CreateTime:%d\tNO_HEADERS\tnull\tv3" % (ts0 + 3),
        "CreateTime:%d\th:x4,n:\tk4\tv4" % (ts0 + 4)]
    assert r.stderr.decode().endswith("Processed a total of 5 messages\n")
    # --partition/--offset, and a custom separator with the partition shown.
    out = ok(ours("kafka-console-consumer", "--bootstrap-server", b, "--topic", topic,
                  "--partition", "0", "--offset", "3", "--max-messages", "2",
                  "--property", "print.partition=true", "--property", "print.offset=true",
                  "--property", "print.key=true", "--property", "key.separator=|",
                  "--timeout-ms", "20000"))
    assert out == "Partition:0|Offset:3|null|v3\nPartition:0|Offset:4|k4|v4\n"
    # --timeout-ms ends a consumer that gets nothing.
    r = ours("kafka-console-consumer", "--bootstrap-server", b, "--topic", topic,
             "--timeout-ms", "1500")
    assert r.returncode == 0 and r.stdout == b""
    assert r.stderr.decode().endswith("Processed a total of 0 messages\n")


def start_group_consumer(b, topic, group, *extra):
    return subprocess.Popen([os.path.join(CLI, "kafka-console-consumer"), "--bootstrap-server",
                             b, "--topic", topic, "--group", group, "--from-beginning",
                             "--property", "print.key=true"] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def describe_rows(text):
    """Data rows of a --describe table, whitespace-split."""
    rows = [ln.split() for ln in lines(text)]
    assert rows and rows[0][:6] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                    "LOG-END-OFFSET", "LAG"], text
    return sorted(rows[1:])


def test_console_consumer_group_seen_by_kafkas_tool(broker):
    from kafka import KafkaProducer
    b = broker.bootstrap
    topic, group = unique_topic("cgrp"), unique_topic("cli-group")
    ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
            "--partitions", "4"))
    p = KafkaProducer(bootstrap_servers=b, acks="all")
    for i in range(40):
        p.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 4)
    p.flush()
    first = start_group_consumer(b, topic, group)
    procs = [first]
    try:
        # Kafka's tool sees our consumer as the group's one member, owning all
        # four partitions, committed up to the end (lag 0) within the 5 s commit.
        def settled(n_members):
            r = kafkas("kafka-consumer-groups", "--bootstrap-server", b, "--describe",
                       "--group", group)
            if r.returncode != 0 or b"GROUP" not in r.stdout:
                return None
            rows = describe_rows(r.stdout.decode())
            members = {row[6] for row in rows}
            if len(rows) == 4 and "-" not in members and len(members) == n_members and \
                    all(row[5] == "0" and row[3] == "10" for row in rows):
                return r
            return None
        theirs = wait_for(lambda: settled(1), "one member owning 4 partitions, lag 0", 60)
        assert sorted(int(row[2]) for row in describe_rows(theirs.stdout.decode())) == [0, 1, 2, 3]
        mine = ok(ours("kafka-consumer-groups", "--bootstrap-server", b, "--describe",
                       "--group", group))
        assert describe_rows(mine) == describe_rows(theirs.stdout.decode())
        # A second member: the leader (one of ours) assigns ranges, two each.
        procs.append(start_group_consumer(b, topic, group))
        theirs = wait_for(lambda: settled(2), "two members", 90)
        by_member = {}
        for row in describe_rows(theirs.stdout.decode()):
            by_member.setdefault(row[6], []).append(int(row[2]))
        assert sorted(sorted(v) for v in by_member.values()) == [[0, 1], [2, 3]]
        mine = ok(ours("kafka-consumer-groups", "--bootstrap-server", b, "--describe",
                       "--group", group))
        assert describe_rows(mine) == describe_rows(theirs.stdout.decode())
        assert group in ok(ours("kafka-consumer-groups", "--bootstrap-server", b, "--list")).split()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outs = [proc.communicate(timeout=30) for proc in procs]
    # Both left the group on SIGTERM (LeaveGroup: no session timeout to wait
    # out) and every record was printed once between them.
    assert all(proc.returncode == 0 for proc in procs), outs
    printed = sorted(ln for out, _err in outs for ln in out.decode().split("\n") if ln)
    assert printed == sorted("k%d\tv%d" % (i, i) for i in range(40))
    r = wait_for(lambda: (lambda r: r if b"has no active members" in r.stderr else None)(
        kafkas("kafka-consumer-groups", "--bootstrap-server", b, "--describe", "--group", group)),
        "the group to be empty", 20)
    assert all(row[3] == "10" for row in describe_rows(r.stdout.decode()))


# ------------------------------------------------------------ kafka-consumer-groups

def committed(b, group, topic, parts):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=b, group_id=group, enable_auto_commit=False)
    got = {p: c.committed(TopicPartition(topic, p)) for p in range(parts)}
    c.close()
    return got


def test_consumer_groups_describe_reset_delete(broker):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    b = broker.bootstrap
    topic, group = unique_topic("grp"), unique_topic("g")
    ok(ours("kafka-topics", "--bootstrap-server", b, "--create", "--topic", topic,
            "--partitions", "2"))
    p = KafkaProducer(bootstrap_servers=b, acks="all")
    for i in range(10):
        p.send(topic, value=b"v%d" % i, partition=i % 2)
    p.flush()
    c = KafkaConsumer(bootstrap_servers=b, group_id=group, enable_auto_commit=False)
    from kafka.structs import OffsetAndMetadata
    c.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, ""),
              TopicPartition(topic, 1): OffsetAndMetadata(5, "")})
    c.close()

    base = ["--bootstrap-server", b]
    mine = ours("kafka-consumer-groups", *base, "--describe", "--group", group)
    theirs = kafkas("kafka-consumer-groups", *base, "--describe", "--group", group)
    assert mine.returncode == theirs.returncode == 0
    assert describe_rows(ok(mine)) == describe_rows(theirs.stdout.decode())
    assert describe_rows(ok(mine)) == [
        [group, topic, "0", "3", "5", "2", "-", "-", "-"],
        [group, topic, "1", "5", "5", "0", "-", "-", "-"]]
    assert mine.stdout.decode().split("\n")[1] == theirs.stdout.decode().split("\n")[1]  # header
    assert mine.stderr == theirs.stderr == \
        ("\nConsumer group '%s' has no active members.\n" % group).encode()
    assert group in ok(ours("kafka-consumer-groups", *base, "--list")).split()
    assert sorted(ok(ours("kafka-consumer-groups", *base, "--list")).split()) == \
        sorted(ok(kafkas("kafka-consumer-groups", *base, "--list")).split())

    # --reset-offsets: a dry run (the default) prints the plan and changes nothing.
    reset = ["--reset-offsets", "--group", group, "--topic", topic]
    mine = ours("kafka-consumer-groups", *base, *reset, "--to-earliest")
    theirs = kafkas("kafka-consumer-groups", *base, *reset, "--to-earliest")
    assert ok(mine).split("\n")[:2] == ok(theirs).split("\n")[:2]   # "", the header
    assert sorted(lines(ok(mine))) == sorted(lines(ok(theirs)))
    assert lines(mine.stderr.decode())[0].startswith("WARN: No action will be performed")
    assert lines(mine.stderr.decode())[0] == lines(theirs.stderr.decode())[0]
    assert committed(b, group, topic, 2) == {0: 3, 1: 5}
    for how, want in ((["--to-earliest"], {0: 0, 1: 0}), (["--to-offset", "2"], {0: 2, 1: 2}),
                      (["--to-latest"], {0: 5, 1: 5}), (["--shift-by", "-1"], {0: 4, 1: 4})):
        mine = ok(ours("kafka-consumer-groups", *base, *reset, *how, "--execute"))
        rows = sorted(ln.split() for ln in lines(mine)[1:])
        assert lines(mine)[0].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
        assert rows == [[group, topic, str(q), str(want[q])] for q in (0, 1)], mine
        assert committed(b, group, topic, 2) == want, how
    # Kafka's tool prints the same plan for the same reset.
    mine = ok(ours("kafka-consumer-groups", *base, *reset, "--to-offset", "1", "--dry-run"))
    theirs = ok(kafkas("kafka-consumer-groups", *base, *reset, "--to-offset", "1", "--dry-run"))
    assert sorted(lines(mine)) == sorted(lines(theirs))

    # --delete, as Kafka's tool words it; the group is gone.
    out = ok(ours("kafka-consumer-groups", *base, "--delete", "--group", group))
    assert out == "Deletion of requested consumer groups ('%s') was successful.\n" % group
    assert group not in ok(ours("kafka-consumer-groups", *base, "--list")).split()
    assert committed(b, group, topic, 2) == {0: None, 1: None}
    r = ours("kafka-consumer-groups", *base, "--describe", "--group", group)
    assert r.returncode == 0 and r.stdout == b""
    assert r.stderr == ("\nError: Consumer group '%s' does not exist.\n" % group).encode()


# ------------------------------------------------------------ SASL via --command-config

@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory, request):
    """PLAIN and SCRAM on a SASL_PLAINTEXT listener beside PLAINTEXT, set up
    with properties both brokers read (listener.name.*.sasl.jaas.config)."""
    b = Broker(tmp_path_factory.mktemp("sasl"))
    b.sasl_port = free_port()
    listeners = "PLAINTEXT://%s:%d,SASL_PLAINTEXT://%s:%d" % (HOST, b.port, HOST, b.sasl_port)
    protocols = "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
    b.overrides.update({
        "advertised.listeners": listeners,
        "listeners": listeners + (",CONTROLLER://%s:%d" % (HOST, b.controller_port)
                                  if TARGET == "kafka" else ""),
        "listener.security.protocol.map": protocols + (",CONTROLLER:PLAINTEXT"
                                                       if TARGET == "kafka" else ""),
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required '
            'username="admin" password="admin-secret" user_admin="admin-secret" '
            'user_alice="alice-secret";',
        "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "num.partitions": "1",
    })
    b.start()
    yield b
    _finish(b, request)


def client_config(tmp_path, name, mech, module, user, password):
    path = tmp_path / name
    path.write_text("# client properties, as for Kafka's tools\nsecurity.protocol=SASL_PLAINTEXT\n"
                    "sasl.mechanism=%s\nsasl.jaas.config=%s required \\\n"
                    '    username="%s" password="%s";\n' % (mech, module, user, password))
    return str(path)


PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"


def test_sasl_plain_and_scram_with_command_config(sasl_broker, tmp_path):
    b = sasl_broker
    sasl = "%s:%d" % (HOST, b.sasl_port)
    topic = unique_topic("sasl")
    plain_cfg = client_config(tmp_path, "plain.properties", "PLAIN", PLAIN, "alice",
                              "alice-secret")
    out = ok(ours("kafka-topics", "--bootstrap-server", sasl, "--command-config", plain_cfg,
                  "--create", "--topic", topic, "--partitions", "1"))
    assert out == "Created topic %s.\n" % topic
    listed = ok(ours("kafka-topics", "--bootstrap-server", sasl, "--command-config", plain_cfg,
                     "--list"))
    assert topic in listed.split()
    assert listed == ok(ours("kafka-topics", "--bootstrap-server", b.bootstrap, "--list"))
    assert listed == ok(kafkas("kafka-topics", "--bootstrap-server", sasl, "--command-config",
                               plain_cfg, "--list"))
    bad_cfg = client_config(tmp_path, "bad.properties", "PLAIN", PLAIN, "alice", "wrong")
    r = ours("kafka-topics", "--bootstrap-server", sasl, "--command-config", bad_cfg, "--list")
    assert r.returncode == 1 and b"SaslAuthenticationException" in r.stderr, r.stderr
    assert b"Authentication failed" in r.stderr
    # Without --command-config the SASL listener gives nothing.
    r = ours("kafka-topics", "--bootstrap-server", sasl, "--list", timeout=90)
    assert r.returncode == 1

    # SCRAM users made through the admin API; both hashes log in.
    from confluent_kafka.admin import (ScramCredentialInfo, ScramMechanism,
                                       UserScramCredentialUpsertion)
    for m in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
        # One mechanism per request: Kafka refuses a user twice in one request.
        up = UserScramCredentialUpsertion("carol", ScramCredentialInfo(m, 4096), b"carol-secret")
        for f in admin(b.bootstrap).alter_user_scram_credentials([up]).values():
            f.result(timeout=20)
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        cfg = client_config(tmp_path, mech + ".properties", mech, SCRAM, "carol", "carol-secret")
        # Credentials reach the broker's authenticator asynchronously in KRaft.
        r = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(
            ours("kafka-topics", "--bootstrap-server", sasl, "--command-config", cfg, "--list")),
            mech + " login", 30)
        assert r.stdout.decode() == listed
        ok(ours("kafka-console-producer", "--bootstrap-server", sasl, "--command-config", cfg,
                "--topic", topic, input=("via-%s\n" % mech).encode()))
        wrong = client_config(tmp_path, "w.properties", mech, SCRAM, "carol", "nope")
        r = ours("kafka-topics", "--bootstrap-server", sasl, "--command-config", wrong, "--list")
        assert r.returncode == 1 and b"SaslAuthenticationException" in r.stderr
    out = ok(ours("kafka-console-consumer", "--bootstrap-server", sasl, "--command-config",
                  plain_cfg, "--topic", topic, "--from-beginning", "--max-messages", "2",
                  "--timeout-ms", "20000"))
    assert out == "via-SCRAM-SHA-256\nvia-SCRAM-SHA-512\n"
    mine = ok(ours("kafka-configs", "--bootstrap-server", sasl, "--command-config", plain_cfg,
                   "--describe", "--topic", topic))
    assert mine == ok(kafkas("kafka-configs", "--bootstrap-server", sasl, "--command-config",
                             plain_cfg, "--describe", "--topic", topic))
