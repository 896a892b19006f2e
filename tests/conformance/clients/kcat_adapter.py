#!/usr/bin/env python3
"""Conformance adapter for kcat (Debian's, on Debian's librdkafka); see
tests/conformance/runner.py for the contract and docs/conformance.md for the
scenarios.

Every Kafka operation is done by a kcat process: produce with -P, -K (key
delimiter) and -H (headers), consume with -C/-G and an -f format that prints
partition, offset, key, value and headers, -L for metadata, -X for
compression, SASL and SSL.  kcat has no admin API, so admin-topics and
describe-configs are N/A, and the two topics whose partition count is not
the broker's default (4 for group-rebalance, 1 for committed-offsets) are
made beforehand with confluent-kafka's AdminClient.  The same AdminClient
observes the consumer group (DescribeGroups, OffsetFetch) to cross-check what
kcat itself logs and reads; the group members are always kcat processes.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_adapter import Fail, check, check_read_back, wait_until  # noqa: E402

ENV = os.environ
PREFIX = ENV.get("KC_PREFIX", "cf-kcat")
KCAT = shutil.which("kcat") or "/usr/bin/kcat"
SCENARIOS = ["produce-consume", "gzip", "snappy", "lz4", "zstd", "group-rebalance",
             "committed-offsets", "admin-topics", "describe-configs", "sasl-plain",
             "sasl-scram", "tls"]
REC_END = b"\x1e\n"
FMT = "%p|%o|%K|%k|%S|%s|%h\x1e\n"  # kcat -f: sizes let the parser check key and value

_procs = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


_n = [0]


def name(tag):
    _n[0] += 1
    return "%s-%s-%d" % (PREFIX, tag, _n[0])


def sec_args(sec):
    kind = sec[0]
    if kind == "plain":
        return ["-b", ENV["KC_BOOTSTRAP"]]
    if kind == "sasl":
        _, mech, user, pw = sec
        return ["-b", ENV["KC_SASL_BOOTSTRAP"], "-X", "security.protocol=SASL_PLAINTEXT",
                "-X", "sasl.mechanisms=" + mech, "-X", "sasl.username=" + user,
                "-X", "sasl.password=" + pw]
    a = ["-b", ENV["KC_SSL_BOOTSTRAP"], "-X", "security.protocol=SSL",
         "-X", "ssl.endpoint.identification.algorithm=https"]
    if sec[1]:
        a += ["-X", "ssl.ca.location=" + sec[1]]
    return a


PLAINTEXT = ("plain",)


def kcat(args, sec=PLAINTEXT, stdin=b"", timeout=30):
    argv = [KCAT] + sec_args(sec) + args
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p


def errlines(p, n=1):
    """kcat's first error lines, without librdkafka's log prefix."""
    lines = [ln for ln in p.stderr.decode(errors="replace").splitlines()
             if "ERROR" in ln or "FAIL" in ln or "error" in ln]
    lines = lines[:n] or p.stderr.decode(errors="replace").splitlines()[-n:]
    return [ln[ln.find("]: ") + 3:] if "]: " in ln else ln for ln in lines]


def produce(topic, records, sec=PLAINTEXT, extra=()):
    """records: [(key, value, headers)].  Records without headers go in one
    kcat -P -K: run (librdkafka batches them); with headers, one run per record
    (kcat's -H applies to every record of a run), keys in parallel chains so
    each key's records stay in order."""
    base = ["-P", "-t", topic, "-K", ":", "-X", "message.timeout.ms=15000"] + list(extra)
    if all(h is None for _, _, h in records):
        data = b"".join(b"%s:%s\n" % (k.encode(), v.encode()) for k, v, _ in records)
        p = kcat(base, sec, data)
        check(p.returncode == 0, "kcat -P exited %d: %s" % (p.returncode, errlines(p)))
        return
    chains = {}
    for r in records:
        chains.setdefault(r[0], []).append(r)
    errors = []

    def chain(recs):
        for k, v, h in recs:
            hargs = []
            for hk, hv in h:
                hargs += ["-H", os.fsdecode(hk.encode() + b"=" + hv)]
            p = kcat(base + hargs, sec, b"%s:%s\n" % (k.encode(), v.encode()))
            if p.returncode:
                errors.append("kcat -P exited %d: %s" % (p.returncode, errlines(p)))
                return
    # the first record alone: it auto-creates the topic
    first = records[0]
    chain([first])
    check(not errors, errors[:1])
    rest = {k: [r for r in rs if r is not first] for k, rs in chains.items()}
    ts = [threading.Thread(target=chain, args=(rs,)) for rs in rest.values()]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, errors[:1])


def parse_records(out):
    got = []
    for chunk in out.split(REC_END):
        if not chunk:
            continue
        parts = chunk.split(b"|", 6)
        check(len(parts) == 7, "kcat printed %r" % chunk[:80])
        p, off, klen, key, vlen, val, hdrs = parts
        check(int(klen) == len(key) and int(vlen) == len(val),
              "kcat sizes %s/%s for key %r value %r" % (klen, vlen, key, val))
        headers = []
        if hdrs:
            for h in hdrs.split(b","):
                hk, _, hv = h.partition(b"=")
                headers.append((hk.decode(), hv))
        got.append((int(p), int(off), key.decode(), val.decode(), headers))
    return got


def consume_all(topic, n, sec=PLAINTEXT):
    p = kcat(["-C", "-t", topic, "-o", "beginning", "-e", "-u", "-f", FMT], sec)
    check(p.returncode == 0, "kcat -C exited %d: %s" % (p.returncode, errlines(p)))
    got = parse_records(p.stdout)
    check(len(got) >= n, "kcat -C -e read %d of %d records" % (len(got), n))
    return got


def partitions(topic, sec=PLAINTEXT):
    p = kcat(["-L", "-t", topic, "-m", "10"], sec)
    check(p.returncode == 0, "kcat -L exited %d: %s" % (p.returncode, errlines(p)))
    m = re.search(r'topic "%s" with (\d+) partitions' % re.escape(topic), p.stdout.decode())
    check(m, "kcat -L does not list %s: %r" % (topic, p.stdout.decode()[-200:]))
    return int(m.group(1))


# ---------------------------------------------------------------- the observer

_observer = []


def observer():
    if not _observer:
        from confluent_kafka.admin import AdminClient
        _observer.append(AdminClient({"bootstrap.servers": ENV["KC_BOOTSTRAP"]}))
    return _observer[0]


def fixture_topic(topic, n):
    from confluent_kafka.admin import NewTopic
    observer().create_topics([NewTopic(topic, n, 1)], request_timeout=15)[topic].result(20)
    wait_until(lambda: partitions(topic) == n, 10, "topic %s not listed with %d partitions" % (topic, n))


def group_members(group):
    """{member_id: set(partitions)} from DescribeGroups."""
    a = observer()
    d = a.describe_consumer_groups([group], request_timeout=10)[group].result(15)
    return {m.member_id: {tp.partition for tp in m.assignment.topic_partitions}
            for m in d.members}, str(d.state)


# ---------------------------------------------------------------- scenarios


def sc_produce_consume():
    topic = name("pc")
    sent = [("k%d" % (i % 10), "v%d" % i,
             [("h1", str(i).encode()), ("h2", bytes([0xff, 0x80, 0x01, 0xa0 + i % 64]))])
            for i in range(100)]
    produce(topic, sent)
    n = partitions(topic)
    check(n == 3, "kcat -L shows %d partitions for the new topic, want 3" % n)
    got = consume_all(topic, len(sent))
    # the keys were produced in parallel kcat runs: only per-key order is defined
    return "-P -K: -H: " + check_read_back(sent, got, True, partition_order=False) + \
        ", keys/values/headers intact, per-key order kept; -L lists 3 partitions"


def sc_codec(codec):
    topic = name(codec)
    sent = [("k%d" % (i % 10), "v%d %s payload %s" % (i, codec, "abcdefgh" * (1 + i % 7)), None)
            for i in range(200)]
    produce(topic, sent, extra=["-X", "compression.codec=" + codec, "-X", "linger.ms=100"])
    got = consume_all(topic, len(sent))
    return "-X compression.codec=%s: %s" % (codec, check_read_back(sent, got, False))


class Member:
    """A kcat -G balanced consumer; follows its own rebalance log lines."""
    RE = re.compile(r"Group (\S+) rebalanced \(memberid (\S+)\): (assigned|revoked): (.*)")

    def __init__(self, who, group, topic):
        self.who, self.owned, self.member_id, self.events = who, set(), None, []
        self.lock = threading.Lock()
        argv = [KCAT] + sec_args(PLAINTEXT) + [
            "-G", group, topic, "-u", "-f", "%p %o\n",
            "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
            "-X", "auto.offset.reset=earliest"]
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _procs.append(self.p)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stderr:
            line = raw.decode(errors="replace").rstrip()
            log("kcat %s: %s" % (self.who, line))
            m = self.RE.search(line)
            if not m:
                continue
            parts = {int(x) for x in re.findall(r"\[(\d+)\]", m.group(4))}
            with self.lock:
                self.member_id = m.group(2)
                self.events.append((m.group(3), sorted(parts)))
                if m.group(3) == "assigned":
                    self.owned = parts
                else:
                    self.owned = self.owned - parts

    def now(self):
        with self.lock:
            return set(self.owned)

    def leave(self):
        self.p.send_signal(signal.SIGTERM)  # kcat closes the consumer: LeaveGroup
        self.p.wait(15)
        self.t.join(5)


def sc_group_rebalance():
    topic, group = name("rebalance"), name("group")
    fixture_topic(topic, 4)
    ALL = {0, 1, 2, 3}
    a = Member("A", group, topic)
    b = None
    try:
        wait_until(lambda: a.now() == ALL, 20, "kcat A alone never owned all 4 (log: %r)" % a.events)
        wait_until(lambda: group_members(group)[0] == {a.member_id: ALL}, 10,
                   "DescribeGroups does not show A (%s) owning all 4: %r" % (a.member_id, group_members(group)))
        b = Member("B", group, topic)

        def split():
            pa, pb = a.now(), b.now()
            return pa and pb and not (pa & pb) and pa | pb == ALL
        wait_until(split, 30, "kcat A and B never split the 4 partitions (A %r, B %r)" % (a.now(), b.now()))
        share = (sorted(a.now()), sorted(b.now()))
        wait_until(lambda: group_members(group)[0] == {a.member_id: set(share[0]), b.member_id: set(share[1])},
                   10, "DescribeGroups %r disagrees with kcat's logs A %s %s, B %s %s" % (
                       group_members(group), a.member_id, share[0], b.member_id, share[1]))
        b.leave()
        check(b.p.returncode == 0, "kcat B exited %s on SIGTERM" % b.p.returncode)
        wait_until(lambda: a.now() == ALL, 30, "after B left, A did not own all 4 again (log: %r)" % a.events[-3:])
        wait_until(lambda: group_members(group)[0] == {a.member_id: ALL}, 10,
                   "after B left DescribeGroups shows %r" % (group_members(group),))
        return ("kcat -G: A %s, then A %s + B %s, then A %s (from kcat's rebalance log, "
                "confirmed by DescribeGroups)" % (sorted(ALL), share[0], share[1], sorted(a.now())))
    finally:
        for m in (a, b):
            if m and m.p.poll() is None:
                m.p.kill()
                m.p.wait()


def sc_committed_offsets():
    topic, group = name("commit"), name("cgroup")
    fixture_topic(topic, 1)
    produce(topic, [("k", "v%d" % i, None) for i in range(10)])
    member = ["-G", group, topic, "-o", "stored", "-c", "5", "-u", "-f", "%o %s\n",
              "-X", "auto.offset.reset=earliest", "-X", "enable.auto.commit=true",
              "-X", "session.timeout.ms=6000"]
    p1 = kcat(member)
    check(p1.returncode == 0, "first kcat -G member exited %d: %s" % (p1.returncode, errlines(p1)))
    first = p1.stdout.decode().split("\n")[:-1]
    check(first == ["%d v%d" % (i, i) for i in range(5)], "first member (-c 5) read %r" % first)
    # what the group committed when kcat closed its consumer
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    a = observer()
    req = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])
    res = a.list_consumer_group_offsets([req])[group].result(15)
    off = res.topic_partitions[0].offset
    check(off == 5, "OffsetFetch for the group answers %r after the first member closed" % off)
    p2 = kcat(member)
    check(p2.returncode == 0, "second kcat -G member exited %d: %s" % (p2.returncode, errlines(p2)))
    rest = p2.stdout.decode().split("\n")[:-1]
    check(rest == ["%d v%d" % (i, i) for i in range(5, 10)], "second member (-o stored) read %r" % rest)
    return ("kcat -G -c 5 read v0..v4 and committed on close (OffsetFetch = 5); "
            "a new kcat -G -o stored member read v5..v9")


def roundtrip(sec, tag):
    topic = name(tag)
    sent = [("k%d" % i, "%s-v%d" % (tag, i), None) for i in range(10)]
    data = b"".join(b"%s:%s\n" % (k.encode(), v.encode()) for k, v, _ in sent)
    p = kcat(["-P", "-t", topic, "-K", ":", "-H", "src=" + tag, "-X", "message.timeout.ms=15000"],
             sec, data)
    check(p.returncode == 0, "kcat -P over %s exited %d: %s" % (tag, p.returncode, errlines(p)))
    got = consume_all(topic, len(sent), sec)
    check_read_back([(k, v, [("src", tag.encode())]) for k, v, _ in sent], got, True)


def connects(sec, what):
    """kcat -L must work with `sec` (fails fast with kcat's own error)."""
    p = kcat(["-L", "-m", "8"], sec)
    check(p.returncode == 0, "%s: kcat -L exited %d: %s" % (what, p.returncode, errlines(p)))


def refused(sec, pattern):
    """kcat -L with `sec` must log `pattern` (its error for the refused
    connection) and list nothing.  kcat prints librdkafka's log lines only when
    -L returns, so -m 5 (the broker holds a failed login's answer up to 3.2s)."""
    t0 = time.time()
    p = subprocess.Popen([KCAT] + sec_args(sec) + ["-L", "-m", "5"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    _procs.append(p)
    hit, lines = [], []
    for raw in p.stderr:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        if pattern in line:
            hit.append(line)
            p.terminate()
            break
    out = p.communicate(timeout=15)[0].decode(errors="replace")
    check("Metadata for" not in out, "kcat -L listed metadata: %r" % out[:100])
    check(hit, "kcat -L exited %s without %r: %s" % (p.returncode, pattern, lines[-2:]))
    return "refused in %.1fs: %s" % (time.time() - t0, hit[0][hit[0].find("]: ") + 3:][:200])


def sc_sasl_plain():
    u, pw = ENV["KC_PLAIN_USER"], ENV["KC_PLAIN_PASSWORD"]
    sec = ("sasl", "PLAIN", u, pw)
    connects(sec, "PLAIN")
    roundtrip(sec, "plain")
    return "10 records over SASL_PLAINTEXT/PLAIN; wrong password " + \
        refused(("sasl", "PLAIN", u, "wrong-" + pw), "SASL authentication error")


def sc_sasl_scram():
    """Both mechanisms are always tried; the scenario fails if either does."""
    u, pw = ENV["KC_SCRAM_USER"], ENV["KC_SCRAM_PASSWORD"]
    out, failed = [], False
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        try:
            sec = ("sasl", mech, u, pw)
            connects(sec, mech)
            roundtrip(sec, mech.lower())
            out.append("%s: 10 records, wrong password %s" % (
                mech, refused(("sasl", mech, u, "wrong-" + pw), "SASL authentication error")))
        except Fail as ex:
            out.append(str(ex))
            failed = True
    if failed:
        raise Fail(" | ".join(out))
    return " | ".join(out)


def sc_tls():
    sec = ("ssl", ENV["KC_CA_PEM"])
    connects(sec, "SSL")
    roundtrip(sec, "tls")
    return ("10 records over SSL, ssl.ca.location = the run's CA, hostname checked; without it "
            + refused(("ssl", None), "certificate verify failed"))


def na_admin():
    raise NAError("kcat has no admin API (no CreateTopics/CreatePartitions/DeleteTopics/"
                  "DescribeConfigs/AlterConfigs); metadata listing with -L is checked in produce-consume")


class NAError(Exception):
    pass


def main():
    ver = subprocess.run([KCAT, "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    m = re.search(r"Version (\S+) .*librdkafka (\S+)", ver)
    label = "kcat %s, librdkafka %s" % (m.group(1), m.group(2)) if m else "kcat"
    log("kcat_adapter: " + label)
    table = {
        "produce-consume": sc_produce_consume,
        "gzip": lambda: sc_codec("gzip"),
        "snappy": lambda: sc_codec("snappy"),
        "lz4": lambda: sc_codec("lz4"),
        "zstd": lambda: sc_codec("zstd"),
        "group-rebalance": sc_group_rebalance,
        "committed-offsets": sc_committed_offsets,
        "admin-topics": na_admin,
        "describe-configs": na_admin,
        "sasl-plain": sc_sasl_plain,
        "sasl-scram": sc_sasl_scram,
        "tls": sc_tls,
    }
    only = ENV.get("KC_ONLY", "").split(",") if ENV.get("KC_ONLY") else SCENARIOS
    for sc in SCENARIOS:
        if sc not in only:
            continue
        t0 = time.time()
        try:
            detail, status = table[sc](), "PASS"
        except NAError as ex:
            detail, status = str(ex), "N/A"
        except Fail as ex:
            detail, status = str(ex), "FAIL"
        except Exception as ex:
            import traceback
            traceback.print_exc()
            detail, status = "%s: %s" % (type(ex).__name__, ex), "FAIL"
        detail = " ".join(str(detail).split())
        log("kcat_adapter: %s %s in %.1fs" % (sc, status, time.time() - t0))
        print("RESULT %s %s %s [%s] (%.1fs)" % (sc, status, detail, label, time.time() - t0), flush=True)
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
