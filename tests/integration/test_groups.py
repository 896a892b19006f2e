"""Issue 3, group coordinator acceptance, with real clients.

1. For confluent-kafka, kafka-python, kafkajs and the Java console consumer:
   three members of one group split a 6-partition topic; one is killed -9 and
   the two others take its partitions within the session timeout; every
   record is consumed, none twice (all offsets were committed before the kill).
2. The services' librdkafka configuration (enable.auto.offset.store=False,
   store_offsets after processing, auto.commit.interval.ms=100) reads a topic
   to the end and stops; the broker is kill -9'd and restarted; a new member
   of the group resumes at the stored offsets.
3. kafka-consumer-groups --describe shows members, assignments, offsets and
   lag; --reset-offsets --to-earliest --execute and --delete work.
Plus static membership (group.instance.id) across a member restart, and
committed offsets/metadata via the admin API.

Run as `python test_groups.py worker CLIENT BOOTSTRAP TOPIC GROUP` this file
is the group member process for the Python clients.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SESSION_MS = 6000  # the services' session.timeout.ms; also Kafka's group.min.session.timeout.ms
PARTITIONS = 6


# ------------------------------------------------------------ member processes

def _python_worker(client, bootstrap, topic, group):
    """A group member: prints {"assigned": [...]} after each assignment and
    {"p", "o", "v"} per record (offsets committed after processing)."""
    out = sys.stdout
    session_ms = int(os.environ.get("KAVKA_SESSION_MS", SESSION_MS))
    stop = []
    # SIGTERM: leave the group cleanly (SIGKILL is the crash case).
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    def say(o):
        out.write(json.dumps(o) + "\n")
        out.flush()

    if client == "confluent-kafka":
        from confluent_kafka import Consumer
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                      "auto.offset.reset": "earliest", "session.timeout.ms": session_ms,
                      "heartbeat.interval.ms": 1000, "enable.auto.offset.store": False,
                      "auto.commit.interval.ms": 100})
        c.subscribe([topic], on_assign=lambda _c, ps: say({"assigned": [p.partition for p in ps]}))
        while not stop:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            say({"p": m.partition(), "o": m.offset(), "v": m.value().decode()})
            c.store_offsets(m)
        c.close()
    else:
        from kafka import KafkaConsumer
        from kafka.consumer.subscription_state import ConsumerRebalanceListener

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                say({"assigned": sorted(tp.partition for tp in assigned)})

        c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                          auto_offset_reset="earliest", session_timeout_ms=session_ms,
                          heartbeat_interval_ms=1000, auto_commit_interval_ms=100,
                          max_poll_interval_ms=10000)
        c.subscribe([topic], listener=Listener())
        while not stop:
            for batch in c.poll(timeout_ms=200).values():
                for m in batch:
                    say({"p": m.partition, "o": m.offset, "v": m.value.decode()})
        c.close()


class Member:
    """One group member process; its stdout is collected by a thread."""

    def __init__(self, cmd, parse, env=None):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        self.parse = parse
        self.records = []      # (partition, offset, value)
        self.assigned = None   # latest assignment seen
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            ev = self.parse(line)
            if ev is None:
                continue
            with self.lock:
                if "assigned" in ev:
                    self.assigned = sorted(ev["assigned"])
                else:
                    self.records.append((ev["p"], ev["o"], ev["v"]))

    def got(self):
        with self.lock:
            return list(self.records)

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stderr_tail(self):
        try:
            return self.proc.stderr.read().decode(errors="replace")[-2000:]
        except Exception:  # noqa: BLE001 - diagnostics only
            return ""


def _parse_json(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


def _parse_java(line):
    # --property print.partition/print.offset: "Partition:3\tOffset:17\tvalue"
    parts = line.decode(errors="replace").rstrip("\n").split("\t", 2)
    if len(parts) != 3 or not parts[0].startswith("Partition:"):
        return None
    return {"p": int(parts[0][10:]), "o": int(parts[1][7:]), "v": parts[2]}


def start_member(client, bootstrap, topic, group, session_ms=SESSION_MS):
    from clients import _java, NODE_SCRIPT
    if client in ("confluent-kafka", "kafka-python"):
        env = dict(os.environ, KAVKA_SESSION_MS=str(session_ms))
        return Member([sys.executable, os.path.abspath(__file__), "worker", client, bootstrap,
                       topic, group], _parse_json, env)
    if client == "kafkajs":
        return Member(["node", NODE_SCRIPT, bootstrap, "group", topic, group], _parse_json)
    props = {"session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 1000,
             "auto.commit.interval.ms": 100, "auto.offset.reset": "earliest"}
    args = ["--bootstrap-server", bootstrap, "--topic", topic, "--group", group,
            "--property", "print.partition=true", "--property", "print.offset=true"]
    for k, v in props.items():
        args += ["--consumer-property", "%s=%s" % (k, v)]
    return Member(_java("org.apache.kafka.tools.consumer.ConsoleConsumer", args), _parse_java)


# ------------------------------------------------------------ helpers

def admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


def describe(bootstrap, group):
    """{member_id: sorted partitions} and the state, via DescribeGroups."""
    a = admin(bootstrap)  # must outlive the future
    d = a.describe_consumer_groups([group], request_timeout=10)[group].result(15)
    members = {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions)
               for m in d.members}
    return d.state.name, members


def committed(bootstrap, group, topic, partitions=PARTITIONS):
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
    a = admin(bootstrap)
    res = a.list_consumer_group_offsets([req], request_timeout=10)[group].result(15)
    return {tp.partition: tp.offset for tp in res.topic_partitions}


def produce(bootstrap, topic, values, partitions=PARTITIONS):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i, v in enumerate(values):
        p.produce(topic, value=v.encode(), partition=i % partitions)
    assert p.flush(30) == 0


def create_topic(bootstrap, topic, partitions=PARTITIONS):
    from confluent_kafka.admin import NewTopic
    a = admin(bootstrap)
    a.create_topics([NewTopic(topic, partitions, 1)])[topic].result(20)


def wait_for(what, cond, timeout, members=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    diag = "".join("\n--- member %d (rc %s) ---\n%s" % (i, m.proc.poll(), m.stderr_tail())
                   for i, m in enumerate(members) if m.proc.poll() is not None)
    raise AssertionError("timed out after %ds waiting for %s%s" % (timeout, what, diag))


@pytest.fixture(scope="module")
def gbroker(tmp_path_factory, request):
    from conftest import Broker, _finish
    # No initial rebalance delay: members joining one by one settle sooner.
    b = Broker(tmp_path_factory.mktemp("groups"), {"group.initial.rebalance.delay.ms": "0"})
    b.start()
    yield b
    _finish(b, request)


# ------------------------------------------------------------ 1. split and take over

CLIENTS = ["confluent-kafka", "kafka-python", "kafkajs", "java"]


@pytest.mark.parametrize("client", CLIENTS)
def test_split_kill_takeover(gbroker, client):
    from conftest import unique_topic
    bs = gbroker.bootstrap
    topic = unique_topic("grp-" + client)
    group = "g-" + topic
    create_topic(bs, topic)
    first = ["a%04d" % i for i in range(300)]
    produce(bs, topic, first)

    members = [start_member(client, bs, topic, group) for _ in range(3)]
    try:
        # Three members, two partitions each, nothing shared.
        def split():
            state, ms = describe(bs, group)
            parts = sorted(p for ps in ms.values() for p in ps)
            return state == "STABLE" and len(ms) == 3 and parts == list(range(PARTITIONS)) and \
                all(len(ps) == 2 for ps in ms.values())
        wait_for("3 members splitting 6 partitions", split, 60, members)
        all_got = lambda: sum((m.got() for m in members), [])  # noqa: E731
        wait_for("first records consumed", lambda: {r[2] for r in all_got()} >= set(first), 60, members)
        wait_for("offsets committed", lambda: sum(committed(bs, group, topic).values()) == len(first),
                 30, members)

        victim = members[0]
        victim.kill()
        t_kill = time.monotonic()

        def taken_over():
            state, ms = describe(bs, group)
            parts = sorted(p for ps in ms.values() for p in ps)
            return state == "STABLE" and len(ms) == 2 and parts == list(range(PARTITIONS))
        # Eventually, not within a timed bound: the session timeout, then a
        # heartbeat interval and a rejoin; 40 s is a cap for a loaded machine,
        # and without session expiry the survivors would never get there.
        wait_for("survivors owning all partitions", taken_over, 40, members[1:])
        print("takeover after %.1f s (session %d ms)" % (time.monotonic() - t_kill, SESSION_MS))

        second = ["b%04d" % i for i in range(300)]
        produce(bs, topic, second)
        wait_for("second records consumed",
                 lambda: {r[2] for r in all_got()} >= set(first + second), 60, members[1:])
        got = all_got()
        values = [r[2] for r in got]
        dups = sorted({v for v in values if values.count(v) > 1})
        assert not dups, "%d records consumed twice although committed: %s" % (len(dups), dups[:10])
        # Offsets are exact: each (partition, offset) seen once.
        assert len({(r[0], r[1]) for r in got}) == len(got)
    finally:
        for m in members:
            m.kill()


# ------------------------------------------------------------ 2. resume after kill -9

def _services_consumer(bs, group):
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": bs, "group.id": group,
                     "session.timeout.ms": SESSION_MS, "auto.offset.reset": "earliest",
                     "enable.auto.offset.store": False, "auto.commit.interval.ms": 100})


def _read_until_idle(c, want, timeout=60):
    got, deadline = [], time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append((m.partition(), m.offset(), m.value().decode()))
        c.store_offsets(m)  # after processing, as the services do
    return got


def test_resume_after_broker_kill9(broker_factory):
    from conftest import unique_topic
    b = broker_factory({"group.initial.rebalance.delay.ms": "0"})
    bs = b.bootstrap
    topic, group = unique_topic("resume"), unique_topic("svc")
    create_topic(bs, topic)
    first = ["r%04d" % i for i in range(500)]
    produce(bs, topic, first)

    c = _services_consumer(bs, group)
    c.subscribe([topic])
    got = _read_until_idle(c, len(first))
    assert sorted(v for _p, _o, v in got) == sorted(first)
    time.sleep(0.5)  # > auto.commit.interval.ms: the stored offsets are committed
    before = committed(bs, group, topic)
    assert sum(before.values()) == len(first), before
    c.close()

    b.restart(signal.SIGKILL)
    assert committed(bs, group, topic) == before, "committed offsets lost in kill -9"

    second = ["s%04d" % i for i in range(60)]
    produce(bs, topic, second)
    c = _services_consumer(bs, group)
    c.subscribe([topic])
    try:
        got = _read_until_idle(c, len(second))
        extra = _read_until_idle(c, 1, timeout=2)
    finally:
        c.close()
    assert sorted(v for _p, _o, v in got) == sorted(second), "did not resume at the stored offsets"
    assert not extra, "records read twice: %s" % extra[:5]
    firsts = {}
    for p, o, _v in got:
        firsts[p] = min(o, firsts.get(p, o))
    assert firsts == {p: before[p] for p in firsts}


# ------------------------------------------------------------ 3. kafka-consumer-groups

def _groups_cli(bs, *args):
    from clients import _java, _run
    return _run(_java("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                      ["--bootstrap-server", bs] + list(args)), 120, None,
                "kafka-consumer-groups " + " ".join(args)).stdout.decode()


def test_consumer_groups_cli(gbroker):
    from conftest import unique_topic
    bs = gbroker.bootstrap
    topic = unique_topic("cli")
    group = "g-" + topic
    create_topic(bs, topic)
    produce(bs, topic, ["c%04d" % i for i in range(120)])

    # A long session: the frozen member below must stay in the group.
    member = start_member("confluent-kafka", bs, topic, group, session_ms=60000)
    try:
        wait_for("all consumed", lambda: len(member.got()) == 120, 60, [member])
        wait_for("committed", lambda: sum(committed(bs, group, topic).values()) == 120, 20, [member])
        os.killpg(member.proc.pid, signal.SIGSTOP)  # frozen: stays a member, reads nothing more
        produce(bs, topic, ["d%04d" % i for i in range(6)])  # one record of lag per partition
        out = _groups_cli(bs, "--describe", "--group", group)
        rows = [line.split() for line in out.splitlines() if line.startswith(group)]
        assert len(rows) == PARTITIONS, out
        for row in rows:
            # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
            assert row[1] == topic and row[3] == "20" and row[4] == "21" and row[5] == "1", out
            assert row[6] != "-", "no member shown: " + out
        out = _groups_cli(bs, "--describe", "--group", group, "--members", "--verbose")
        assert "%s" % topic in out and "6" in out, out
    finally:
        os.killpg(member.proc.pid, signal.SIGCONT)
        member.kill(signal.SIGTERM)  # leaves the group

    wait_for("group empty", lambda: describe(bs, group)[0] == "EMPTY", 20)
    out = _groups_cli(bs, "--reset-offsets", "--to-earliest", "--execute", "--group", group,
                      "--topic", topic)
    assert committed(bs, group, topic) == {p: 0 for p in range(PARTITIONS)}, out
    out = _groups_cli(bs, "--delete", "--group", group)
    assert "successful" in out.lower(), out
    assert group not in _groups_cli(bs, "--list"), "group still listed after --delete"
    assert committed(bs, group, topic) == {p: -1001 for p in range(PARTITIONS)}


# ------------------------------------------------------------ static membership

def test_static_member_rejoins_without_rebalance(gbroker):
    """A static member that restarts within the session timeout gets its old
    partitions back and the other member is not disturbed (KIP-345)."""
    from confluent_kafka import Consumer
    from conftest import unique_topic
    bs = gbroker.bootstrap
    topic = unique_topic("static")
    group = "g-" + topic
    create_topic(bs, topic)
    revokes = []

    def member(inst, on_revoke=None):
        c = Consumer({"bootstrap.servers": bs, "group.id": group, "group.instance.id": inst,
                      "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
                      "auto.offset.reset": "earliest"})
        kw = {"on_revoke": on_revoke} if on_revoke else {}
        c.subscribe([topic], **kw)
        return c

    a = member("inst-a", lambda _c, ps: revokes.append(ps))
    b = member("inst-b")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        a.poll(0.1)
        b.poll(0.1)
        state, ms = describe(bs, group)
        if state == "STABLE" and len(ms) == 2 and all(len(p) == 3 for p in ms.values()):
            break
    else:
        raise AssertionError("static members did not settle: %s" % (describe(bs, group),))
    before = {m: p for m, p in describe(bs, group)[1].items()}
    revokes.clear()
    b.close()  # a static member does not send LeaveGroup
    b = member("inst-b")
    for _ in range(30):
        a.poll(0.1)
        b.poll(0.1)
    state, after = describe(bs, group)
    try:
        assert state == "STABLE"
        assert sorted(after.values()) == sorted(before.values())
        assert len(set(after) - set(before)) == 1, "inst-b should have a new member id"
        assert not revokes, "the other member was rebalanced: %s" % revokes
    finally:
        a.close()
        b.close()


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "worker":
    _python_worker(*sys.argv[2:])
