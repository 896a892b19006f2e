"""Issue 14: every key docs/configuration.md calls honoured has a behaviour
test, one that sets the key and watches the broker act on it (not one that
only parses it).

HONOURED_TESTS names that test for each honoured key, and
test_every_honoured_key_has_a_behaviour_test keeps the list honest: the
honoured keys of the docs must be exactly its keys (a key newly marked
honoured fails it until its test is named here), and every test named must
exist in a file a meson.build runs.  The keys no other suite exercised are
tested below, each against a real broker with a non-default value; waits
are polled with generous bounds and nothing asserts how fast something
happens (the one lower bound is the failed-login delay, which is the
behaviour itself)."""

import importlib.util
import os
import re
import struct
import subprocess
import time

import pytest

import kproto
from conftest import HOST, REPO, TARGET, Broker, _finish, free_port, kavka_binary, unique_topic

# Each honoured key -> the test of its behaviour:
#   "tests/<dir>/<file>.py::<test function>"   (pytest; parametrized ones by name)
#   "tests/unit/<file>.c:<suite>/<test>"        (Criterion Test(suite, test))
HERE = "tests/integration/test_config_behaviour.py::"
HONOURED_TESTS = {
    # identity
    "broker.id": "tests/integration/test_cluster.py::test_registration_as_kafka_writes_it",
    "node.id": HERE + "test_node_id_names_the_broker",
    # listeners
    "listeners": "tests/integration/test_security.py::test_metadata_answers_with_each_listeners_address",
    "advertised.listeners":
        "tests/integration/test_security.py::test_metadata_answers_with_each_listeners_address",
    "listener.security.protocol.map":
        "tests/integration/test_security.py::test_request_before_login_closes_unanswered",
    # storage
    "log.dirs": HERE + "test_log_dirs_first_directory_holds_the_data",
    "log.dir": HERE + "test_log_dir_without_log_dirs",
    "num.partitions": HERE + "test_num_partitions_of_auto_created_topics",
    "default.replication.factor": HERE + "test_default_replication_factor_of_new_topics",
    "auto.create.topics.enable":
        "tests/integration/test_api_traps.py::test_metadata_never_creates_when_the_broker_forbids_it",
    "delete.topic.enable": HERE + "test_delete_topic_enable_false_refuses_deletes",
    "log.segment.bytes": "tests/integration/test_retention.py::test_size_retention",
    "log.roll.ms": HERE + "test_log_roll_ms_rolls_segments",
    "log.roll.hours": "tests/unit/test_config_behaviour.c:config_behaviour/log_roll_hours_rolls_the_segment",
    "log.retention.ms": HERE + "test_log_retention_by_time",
    "log.retention.minutes": HERE + "test_log_retention_by_time",
    "log.retention.hours": HERE + "test_log_retention_by_time",
    "log.retention.bytes": "tests/integration/test_retention.py::test_size_retention",
    "log.retention.check.interval.ms": "tests/integration/test_retention.py::test_size_retention",
    "log.flush.interval.messages": "tests/fault/test_power_loss.py::test_power_loss",
    "log.flush.interval.ms": HERE + "test_log_flush_by_time",
    "log.flush.scheduler.interval.ms": HERE + "test_log_flush_by_time",
    "log.index.interval.bytes": HERE + "test_log_index_interval_bytes",
    "log.index.size.max.bytes": HERE + "test_log_index_size_max_bytes_rolls_segments",
    "message.max.bytes": HERE + "test_message_max_bytes",
    "min.insync.replicas":
        "tests/integration/test_durability.py::test_broker_min_insync_replicas_and_topic_override",
    # network
    "socket.request.max.bytes": "tests/integration/test_bad_input.py::test_frame_larger_than_max",
    "connections.max.idle.ms": "tests/integration/test_connection_limits.py::test_idle_connections_closed",
    "max.connections": "tests/integration/test_connection_limits.py::test_max_connections_waits_for_a_slot",
    "max.connections.per.ip": "tests/integration/test_connection_limits.py::test_max_connections_per_ip",
    "max.connections.per.ip.overrides":
        "tests/integration/test_connection_limits.py::test_max_connections_per_ip_overrides",
    "metrics.listener": "tests/integration/test_metrics.py::test_metrics_listener_serves_and_moves_with_load",
    # metastore
    "zookeeper.connect": "tests/integration/test_cluster.py::test_registration_as_kafka_writes_it",
    "zookeeper.session.timeout.ms": HERE + "test_zookeeper_session_timeout_ms",
    "zookeeper.connection.timeout.ms": HERE + "test_zookeeper_connection_timeout_ms",
    "zookeeper.set.acl": "tests/integration/test_cluster.py::test_zookeeper_set_acl",
    # groups and offsets
    "group.initial.rebalance.delay.ms": HERE + "test_group_initial_rebalance_delay_collects_members",
    "group.min.session.timeout.ms": "tests/unit/test_group.c:group/join_validation",
    "group.max.session.timeout.ms": HERE + "test_group_max_session_timeout_ms",
    "group.max.size": "tests/unit/test_group.c:group/join_validation",
    "offsets.retention.minutes": "tests/unit/test_group.c:group/offsets_retention_minutes_from_the_config",
    "offsets.retention.check.interval.ms": HERE + "test_offsets_retention_check_interval_ms",
    "offset.metadata.max.bytes": HERE + "test_offset_metadata_max_bytes",
    # security
    "sasl.enabled.mechanisms": "tests/integration/test_security.py::test_unsupported_mechanism",
    "connection.failed.authentication.delay.ms":
        HERE + "test_connection_failed_authentication_delay_ms",
    "connections.max.reauth.ms": "tests/integration/test_security.py::test_session_lifetime_from_reauth_config",
    "authorizer.class.name": "tests/integration/test_acl.py::test_acls_with_kafka_acls",
    "super.users": "tests/integration/test_acl.py::test_acls_with_kafka_acls",
    "allow.everyone.if.no.acl.found": HERE + "test_allow_everyone_if_no_acl_found",
}


# ------------------------------------------------------------ the mapping

def docs_statuses():
    """{key: status} from the key tables of docs/configuration.md."""
    out = {}
    with open(os.path.join(REPO, "docs", "configuration.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\| `([^`]+)` \|", line)
            if not m:
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            assert len(cells) >= 6, "malformed key row: %r" % line
            assert cells[3] in ("honoured", "recorded"), "row of %s: status %r" % (m.group(1), cells[3])
            assert m.group(1) not in out, "%s has two rows" % m.group(1)
            out[m.group(1)] = cells[3]
    return out


def check_reference(ref):
    """None if `ref` names an existing test that a meson.build runs, else why not."""
    m = re.fullmatch(r"(tests/[\w/]+\.py)::(test_\w+)", ref)
    if m:
        path, name = m.groups()
        full = os.path.join(REPO, path)
        if not os.path.isfile(full):
            return "no file %s" % path
        if not re.search(r"^(async )?def %s\(" % name, open(full, encoding="utf-8").read(), re.M):
            return "%s has no test function %s" % (path, name)
        build = os.path.join(os.path.dirname(full), "meson.build")
        if not os.path.isfile(build) or "'%s'" % os.path.basename(path) not in open(build).read():
            return "%s is not registered in %s" % (path, os.path.relpath(build, REPO))
        return None
    m = re.fullmatch(r"(tests/unit/test_(\w+)\.c):(\w+)/(\w+)", ref)
    if m:
        path, unit, suite, name = m.groups()
        full = os.path.join(REPO, path)
        if not os.path.isfile(full):
            return "no file %s" % path
        if not re.search(r"^(Parameterized)?Test\(\s*%s\s*,\s*%s\s*[,)]" % (suite, name),
                         open(full, encoding="utf-8").read(), re.M):
            return "%s has no Test(%s, %s)" % (path, suite, name)
        build = open(os.path.join(REPO, "tests", "meson.build")).read()
        if "'%s'" % (unit[3:] if unit.startswith("ms_") else unit) not in build:
            return "%s is not built by tests/meson.build" % path
        return None
    return "not a test reference (tests/...py::test_x or tests/unit/test_x.c:suite/name)"


def test_every_honoured_key_has_a_behaviour_test():
    statuses = docs_statuses()
    assert len(statuses) > 60, "docs/configuration.md lists only %d keys" % len(statuses)
    honoured = {k for k, s in statuses.items() if s == "honoured"}
    untested = sorted(honoured - set(HONOURED_TESTS))
    assert not untested, "honoured in the docs but without a behaviour test in HONOURED_TESTS: %s" % untested
    stale = sorted(set(HONOURED_TESTS) - honoured)
    assert not stale, "HONOURED_TESTS names keys the docs do not call honoured: %s" % stale
    bad = {k: why for k, why in ((k, check_reference(r)) for k, r in HONOURED_TESTS.items()) if why}
    assert not bad, "behaviour tests that do not exist or do not run: %s" % bad


def test_reference_checker_rejects_what_does_not_exist():
    here = "tests/integration/test_config_behaviour.py"
    assert check_reference(here + "::test_every_honoured_key_has_a_behaviour_test") is None
    assert check_reference(here + "::test_no_such_thing")
    assert check_reference("tests/integration/no_such_file.py::test_x")
    assert check_reference("tests/unit/test_group.c:group/join_validation") is None
    assert check_reference("tests/unit/test_group.c:group/no_such_test")
    assert check_reference("tests/unit/test_group.c:nosuite/join_validation")
    assert check_reference("somewhere else")


# ------------------------------------------------------------ brokers

KAVKA_ONLY = pytest.mark.skipif(TARGET != "kavka", reason="kavka's configuration and files")

ERR_NONE = 0
ERR_LEADER_NOT_AVAILABLE = 5
ERR_MESSAGE_TOO_LARGE = 10
ERR_OFFSET_METADATA_TOO_LARGE = 12
ERR_INVALID_SESSION_TIMEOUT = 26
ERR_TOPIC_AUTHORIZATION_FAILED = 29
ERR_INVALID_REPLICATION_FACTOR = 38
ERR_SASL_AUTHENTICATION_FAILED = 58
ERR_TOPIC_DELETION_DISABLED = 73

API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_JOIN_GROUP = 11
API_DELETE_TOPICS = 20


@pytest.fixture
def make(tmp_path, request):
    """start(overrides, env=None, broker=None) -> a started Broker, stopped
    (and checked for sanitizer reports) at teardown."""
    made = []

    def start(overrides=None, env=None, broker=None):
        b = broker or Broker(tmp_path / ("b%d" % len(made)), overrides, env)
        made.append(b)
        b.start()
        return b

    yield start
    for b in made:
        _finish(b, request)


def wait_for(check, what, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail("%s: not within %d s" % (what, timeout))
        time.sleep(0.2)


def topic_metadata(b, topic):
    with b.conn() as c:
        return c.metadata([topic])["topics"][topic]


def make_topic(b, topic):
    """Auto-creates `topic` (Metadata v1) and waits until it is served."""
    wait_for(lambda: topic_metadata(b, topic)["error"] == ERR_NONE, "topic %s created" % topic)


def produce(b, topic, value=b"v", ts=None, partition=0):
    with b.conn() as c:
        return c.produce(topic, partition, kproto.record_batch([(b"k", value, ())], base_ts=ts), acks=1)


def files(b, topic, ext, partition=0):
    d = b.partition_dir(topic, partition)
    return {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(ext)}


# ------------------------------------------------------------ identity, storage

@KAVKA_ONLY
def test_node_id_names_the_broker(make):
    # broker.id=-1 is "unset": node.id names the broker, in Metadata and as controller.
    b = make({"broker.id": "-1", "node.id": "5"})
    with b.conn() as c:
        md = c.metadata()
    assert [n for n, _h, _p, _r in md["brokers"]] == [5]
    assert md["controller"] == 5
    topic = unique_topic("nodeid")
    make_topic(b, topic)
    assert all(leader == 5 for _i, _e, leader in topic_metadata(b, topic)["partitions"])


@KAVKA_ONLY
def test_log_dirs_first_directory_holds_the_data(make, tmp_path):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    b = make({"log.dirs": "%s,%s" % (first, second)})
    b.log_dirs = first
    topic = unique_topic("logdirs")
    make_topic(b, topic)
    assert produce(b, topic) == (ERR_NONE, 0)
    assert files(b, topic, ".log"), "no segment under the first of log.dirs"
    assert os.path.exists(os.path.join(first, "meta.properties"))
    assert not os.path.exists(os.path.join(second, "%s-0" % topic))


class LogDirBroker(Broker):
    """A broker configured with log.dir only (the harness sets log.dirs)."""

    def properties(self):
        props = super().properties()
        del props["log.dirs"]
        props["log.dir"] = self.log_dirs
        return props


@KAVKA_ONLY
def test_log_dir_without_log_dirs(make, tmp_path):
    b = LogDirBroker(tmp_path / "b")
    b.log_dirs = str(tmp_path / "only-log-dir")
    make(broker=b)
    topic = unique_topic("logdir")
    make_topic(b, topic)
    assert produce(b, topic) == (ERR_NONE, 0)
    assert files(b, topic, ".log"), "no segment under log.dir"
    assert os.path.exists(os.path.join(b.log_dirs, "meta.properties"))


@KAVKA_ONLY
def test_num_partitions_of_auto_created_topics(make):
    from confluent_kafka.admin import AdminClient, NewTopic
    b = make({"num.partitions": "5"})
    auto = unique_topic("nparts-auto")
    make_topic(b, auto)
    assert [i for i, _e, _l in topic_metadata(b, auto)["partitions"]] == [0, 1, 2, 3, 4]
    # CreateTopics without a partition count (-1) takes it too.
    created = unique_topic("nparts-admin")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(created)], request_timeout=20)[created].result(30)
    assert len(topic_metadata(b, created)["partitions"]) == 5


@KAVKA_ONLY
def test_default_replication_factor_of_new_topics(make):
    from confluent_kafka.admin import AdminClient, NewTopic
    # Two replicas on a one-broker cluster: neither auto-creation nor a
    # CreateTopics without a replication factor can make the topic.
    b = make({"default.replication.factor": "2"})
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = unique_topic("rf")
    with pytest.raises(Exception) as e:
        admin.create_topics([NewTopic(topic, 1)], request_timeout=20)[topic].result(30)
    assert e.value.args[0].code() == ERR_INVALID_REPLICATION_FACTOR, e.value
    auto = unique_topic("rf-auto")
    assert topic_metadata(b, auto)["error"] == ERR_LEADER_NOT_AVAILABLE
    assert "Replication factor: 2 larger than available brokers: 1" in b.log_tail(200)
    with b.conn() as c:
        assert auto not in c.metadata()["topics"] and topic not in c.metadata()["topics"]
    # An explicit factor of 1 is still fine.
    ok = unique_topic("rf-one")
    admin.create_topics([NewTopic(ok, 1, 1)], request_timeout=20)[ok].result(30)


@KAVKA_ONLY
def test_delete_topic_enable_false_refuses_deletes(make):
    b = make({"delete.topic.enable": "false"})
    topic = unique_topic("nodelete")
    make_topic(b, topic)
    with b.conn() as c:
        r = c.request(API_DELETE_TOPICS, 0, struct.pack(">i", 1) + kproto.string(topic) +
                      struct.pack(">i", 10000))
        results = r.array(lambda: (r.string(), r.int16()))
    assert results == [(topic, ERR_TOPIC_DELETION_DISABLED)]
    assert topic_metadata(b, topic)["error"] == ERR_NONE, "the topic went anyway"


@KAVKA_ONLY
def test_log_roll_ms_rolls_segments(make):
    b = make({"log.roll.ms": "1000", "num.partitions": "1"})
    topic = unique_topic("rollms")
    make_topic(b, topic)
    sent = []

    def rolled():
        err, off = produce(b, topic, b"v%d" % len(sent))
        assert err == ERR_NONE
        sent.append(off)
        return len(files(b, topic, ".log")) >= 2
    wait_for(rolled, "a second segment after log.roll.ms")
    assert sent == list(range(len(sent)))


@KAVKA_ONLY
@pytest.mark.parametrize("key,value", [("log.retention.ms", "3600000"),
                                       ("log.retention.minutes", "60"),
                                       ("log.retention.hours", "1")])
def test_log_retention_by_time(make, key, value):
    # One batch per segment; the first one's records are two hours old, so
    # a one-hour retention deletes its segment (the default, 168 h, would not).
    b = make({key: value, "log.segment.bytes": "200", "log.retention.check.interval.ms": "300",
              "num.partitions": "1"})
    topic = unique_topic("rettime")
    make_topic(b, topic)
    now = int(time.time() * 1000)
    assert produce(b, topic, b"o" * 100, ts=now - 2 * 3600 * 1000) == (ERR_NONE, 0)
    assert produce(b, topic, b"n" * 100, ts=now) == (ERR_NONE, 1)
    wait_for(lambda: b.offsets(topic, [0], kproto.EARLIEST)[0] == 1,
             "the two-hour-old segment deleted by %s=%s" % (key, value))
    assert b.offsets(topic, [0], kproto.LATEST)[0] == 2
    assert sorted(files(b, topic, ".log")) == ["%020d.log" % 1]


def faultfs_env(synclog):
    """libfaultfs.so (tests/fault) recording every sync of the broker's files."""
    broker = kavka_binary()
    with open(broker, "rb") as f:
        if b"__asan_init" in f.read():
            pytest.skip("an LD_PRELOAD shim cannot run ahead of ASan's runtime (tests/fault does not either)")
    lib = os.environ.get("KAVKA_FAULTFS") or os.path.join(
        os.path.dirname(os.path.dirname(broker)), "tests", "fault", "libfaultfs.so")
    if not os.access(lib, os.R_OK):
        pytest.fail("libfaultfs.so not found at %s (build tests/fault, or set KAVKA_FAULTFS)" % lib)
    return {"LD_PRELOAD": lib, "FAULTFS_SYNCLOG": str(synclog)}


def synced_sizes(synclog, suffix):
    """Sizes at which files whose path ends in `suffix` were synced."""
    if not os.path.exists(synclog):
        return []
    out = []
    with open(synclog) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "sync" and parts[1].endswith(suffix):
                out.append(int(parts[2]))
    return out


@KAVKA_ONLY
@pytest.mark.parametrize("key", ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"])
def test_log_flush_by_time(make, tmp_path, key):
    # Alone, log.flush.scheduler.interval.ms is also the flush interval (its
    # default). With neither set (never), appended records are not synced.
    synclog = tmp_path / "synclog"
    b = make({key: "300", "num.partitions": "1"}, env=faultfs_env(synclog))
    topic = unique_topic("flushms")
    make_topic(b, topic)
    assert produce(b, topic, b"x" * 100) == (ERR_NONE, 0)
    size = files(b, topic, ".log")["%020d.log" % 0]
    suffix = "/%s-0/%020d.log" % (topic, 0)
    wait_for(lambda: any(s >= size for s in synced_sizes(synclog, suffix)),
             "an fsync of the segment after %s=300" % key)


@KAVKA_ONLY
@pytest.mark.parametrize("value", ["0", "1"])
def test_log_index_interval_bytes(make, value):
    # 0 and 1 both index every batch but a segment's first; the default
    # (4096) would index none of these six small batches.
    b = make({"log.index.interval.bytes": value, "num.partitions": "1"})
    topic = unique_topic("idxint")
    make_topic(b, topic)
    for i in range(6):
        assert produce(b, topic, b"v%d" % i) == (ERR_NONE, i)
    assert files(b, topic, ".index") == {"%020d.index" % 0: 5 * 8}


@KAVKA_ONLY
def test_log_index_size_max_bytes_rolls_segments(make):
    # 40 bytes: 5 offset index entries or 3 time index entries per segment.
    b = make({"log.index.size.max.bytes": "40", "log.index.interval.bytes": "1",
              "num.partitions": "1"})
    topic = unique_topic("idxmax")
    make_topic(b, topic)
    for i in range(20):
        assert produce(b, topic, b"value-%d" % i) == (ERR_NONE, i)
    assert len(files(b, topic, ".log")) >= 4
    assert all(size <= 40 for size in files(b, topic, ".index").values())
    assert b.offsets(topic, [0], kproto.LATEST)[0] == 20


@KAVKA_ONLY
def test_message_max_bytes(make):
    b = make({"message.max.bytes": "2000", "num.partitions": "1"})
    topic = unique_topic("maxbytes")
    make_topic(b, topic)
    assert produce(b, topic, b"x" * 3000) == (ERR_MESSAGE_TOO_LARGE, -1)
    assert produce(b, topic, b"x" * 1500) == (ERR_NONE, 0)
    assert b.offsets(topic, [0], kproto.LATEST)[0] == 1


# ------------------------------------------------------------ metastore

def _metastore_harness():
    """tests/metastore/conftest.py under its own name, as test_cluster.py loads it."""
    spec = importlib.util.spec_from_file_location(
        "ms_harness", os.path.join(REPO, "tests", "metastore", "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not os.environ.get("KAVKA_METASTORE") and os.environ.get("KAVKA_BROKER"):
        os.environ["KAVKA_METASTORE"] = os.path.join(
            os.path.dirname(os.path.dirname(os.environ["KAVKA_BROKER"])), "metastore", "kavka-metastore")
    return mod


ms = _metastore_harness()
make_server = ms.make_server   # the harness's fixture, used here


@KAVKA_ONLY
def test_zookeeper_session_timeout_ms(make, make_server):
    # The harness's tickTime (200 ms) allows sessions of 0.4-4 s, so the
    # default (18 s) would be cut to 4 s: 2.5 s is the broker's own value.
    srv = make_server()
    b = make({"zookeeper.connect": srv.hosts + "/kafka", "zookeeper.session.timeout.ms": "2500",
              "zookeeper.connection.timeout.ms": "30000"})

    def broker_session():
        dump = ms.four_letter(srv.port, "dump")
        m = re.search(r"^(0x[0-9a-f]+):\n(?:\t.*\n)*?\t/kafka/brokers/ids/1\n", dump, re.M)
        if not m:
            return None
        t = re.search(r"^%s\t(\d+)ms" % m.group(1), dump, re.M)
        assert t, dump
        return int(t.group(1))
    assert wait_for(broker_session, "the broker's registration in the metastore") == 2500
    assert b.running()


@KAVKA_ONLY
def test_zookeeper_connection_timeout_ms(tmp_path):
    # Nothing listens at the metastore address: the broker gives up after
    # zookeeper.connection.timeout.ms (not the 18 s session timeout).
    port = free_port()
    b = Broker(tmp_path / "b", {"zookeeper.connect": "%s:%d" % (HOST, port),
                                "zookeeper.connection.timeout.ms": "1500"})
    os.makedirs(b.workdir)
    p = subprocess.run(b.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                       cwd=b.workdir)
    out = p.stdout.decode(errors="replace")
    assert p.returncode != 0, out[-2000:]
    assert "no session with %s:%d within 1500 ms" % (HOST, port) in out, out[-2000:]


# ------------------------------------------------------------ groups and offsets

def join_group_frame(c, group, session_ms, topic="t"):
    """JoinGroup v0 (rebalance timeout = session timeout) of a new member."""
    subscription = struct.pack(">hi", 0, 1) + kproto.string(topic) + struct.pack(">i", -1)
    body = (kproto.string(group) + struct.pack(">i", session_ms) + kproto.string("") +
            kproto.string("consumer") + struct.pack(">i", 1) + kproto.string("range") +
            struct.pack(">i", len(subscription)) + subscription)
    return c.frame(API_JOIN_GROUP, 0, body)


def join_group_response(c):
    r = c.recv_response()
    err, gen, _proto, leader, member = r.int16(), r.int32(), r.string(), r.string(), r.string()
    members = r.array(lambda: (r.string(), r.take(r.int32())))
    return {"error": err, "generation": gen, "leader": leader, "member": member,
            "members": sorted(m for m, _meta in members)}


def join_group(b, group, session_ms):
    with kproto.Conn(HOST, b.port, timeout=60) as c:
        c.send_raw(join_group_frame(c, group, session_ms))
        return join_group_response(c)


@KAVKA_ONLY
def test_group_initial_rebalance_delay_collects_members(make):
    # With a delay, the first generation waits for more members: two that
    # join one after the other both land in generation 1 (with 0, the first
    # would be alone in it and the second would start generation 2).
    b = make({"group.initial.rebalance.delay.ms": "3000"})
    a, c = kproto.Conn(HOST, b.port, timeout=60), kproto.Conn(HOST, b.port, timeout=60)
    try:
        a.send_raw(join_group_frame(a, "delayed", 30000))
        c.send_raw(join_group_frame(c, "delayed", 30000))
        ra, rc = join_group_response(a), join_group_response(c)
    finally:
        a.close()
        c.close()
    assert ra["error"] == rc["error"] == ERR_NONE, (ra, rc)
    assert ra["generation"] == rc["generation"] == 1, (ra, rc)
    assert ra["leader"] == rc["leader"]
    leader = ra if ra["member"] == ra["leader"] else rc
    assert leader["members"] == sorted([ra["member"], rc["member"]])


@KAVKA_ONLY
def test_group_max_session_timeout_ms(make):
    b = make({"group.max.session.timeout.ms": "10000", "group.initial.rebalance.delay.ms": "0"})
    assert join_group(b, "bounded", 10001)["error"] == ERR_INVALID_SESSION_TIMEOUT
    r = join_group(b, "bounded", 10000)
    assert (r["error"], r["generation"]) == (ERR_NONE, 1), r


def offset_commit_v2(b, group, topic, offset, retention_ms=-1, metadata=""):
    """OffsetCommit v2 of partition 0 by a group without members -> error code."""
    body = (kproto.string(group) + struct.pack(">i", -1) + kproto.string("") +
            struct.pack(">q", retention_ms) + struct.pack(">i", 1) + kproto.string(topic) +
            struct.pack(">i", 1) + struct.pack(">iq", 0, offset) + kproto.string(metadata))
    with b.conn() as c:
        r = c.request(API_OFFSET_COMMIT, 2, body)
        res = r.array(lambda: (r.string(), r.array(lambda: (r.int32(), r.int16()))))
    assert len(res) == 1 and len(res[0][1]) == 1, res
    return res[0][1][0][1]


def offset_fetch_v1(b, group, topic):
    """OffsetFetch v1 of partition 0 -> committed offset (-1: none)."""
    body = (kproto.string(group) + struct.pack(">i", 1) + kproto.string(topic) +
            struct.pack(">ii", 1, 0))
    with b.conn() as c:
        r = c.request(API_OFFSET_FETCH, 1, body)
        res = r.array(lambda: (r.string(), r.array(
            lambda: (r.int32(), r.int64(), r.string(), r.int16()))))
    (_p, off, _meta, err), = res[0][1]
    assert err == ERR_NONE, res
    return off


@KAVKA_ONLY
def test_offsets_retention_check_interval_ms(make):
    # A commit with a 1 s retention (OffsetCommit v2) expires at the next
    # check; the default check interval (10 min) would keep it past the wait.
    b = make({"offsets.retention.check.interval.ms": "300", "num.partitions": "1"})
    topic = unique_topic("offret")
    make_topic(b, topic)
    assert offset_commit_v2(b, "expiring", topic, 5, retention_ms=1000) == ERR_NONE
    assert offset_commit_v2(b, "kept", topic, 7) == ERR_NONE
    wait_for(lambda: offset_fetch_v1(b, "expiring", topic) == -1, "the offset expired")
    assert offset_fetch_v1(b, "kept", topic) == 7


@KAVKA_ONLY
def test_offset_metadata_max_bytes(make):
    b = make({"offset.metadata.max.bytes": "16", "num.partitions": "1"})
    topic = unique_topic("offmeta")
    make_topic(b, topic)
    assert offset_commit_v2(b, "g", topic, 3, metadata="m" * 17) == ERR_OFFSET_METADATA_TOO_LARGE
    assert offset_fetch_v1(b, "g", topic) == -1
    assert offset_commit_v2(b, "g", topic, 4, metadata="m" * 16) == ERR_NONE
    assert offset_fetch_v1(b, "g", topic) == 4


# ------------------------------------------------------------ security

@KAVKA_ONLY
def test_connection_failed_authentication_delay_ms(make, tmp_path):
    from test_security import authenticate, handshake, make_broker, plain_token
    b = make(broker=make_broker(tmp_path / "sec",
                                extra={"connection.failed.authentication.delay.ms": "2000"}))
    with kproto.Conn(HOST, b.sasl_user, timeout=60) as c:
        assert handshake(c) == (0, ["PLAIN"])
        t0 = time.monotonic()
        err = authenticate(c, plain_token("alice", "wrong"), 1)[0]
        held = time.monotonic() - t0
        assert err == ERR_SASL_AUTHENTICATION_FAILED
        assert c.closed_by_peer(30)
    # The first failure from a host is answered after the delay itself (the
    # default is 100 ms); only a lower bound is checked.
    assert held >= 1.9, "failed login answered after %.2f s" % held
    assert "closing in 2000 ms" in b.log_tail(200)


@KAVKA_ONLY
@pytest.mark.parametrize("allow", ["true", "false"])
def test_allow_everyone_if_no_acl_found(make, allow):
    # An authorizer, no ACLs, no super users: the PLAINTEXT listener's
    # User:ANONYMOUS may create and write topics only if the key allows it.
    b = make({"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
              "allow.everyone.if.no.acl.found": allow, "num.partitions": "1"})
    topic = unique_topic("noacl")
    if allow == "true":
        make_topic(b, topic)
        assert produce(b, topic) == (ERR_NONE, 0)
    else:
        assert topic_metadata(b, topic)["error"] == ERR_TOPIC_AUTHORIZATION_FAILED
        with b.conn() as c:
            assert topic not in c.metadata()["topics"]
