#!/usr/bin/env python3
"""Conformance adapter for Kafka's own command-line tools (the 4.x jars):
kafka-topics, kafka-console-producer, kafka-console-consumer, kafka-configs,
kafka-consumer-groups and kafka-get-offsets, run as

    java -cp tests/clients/<jars>/* <their main class> ...

    kafka_cli.py <jars dir under tests/clients> [scenario ...]

Runs the Kafka scenarios of docs/conformance.md as far as the tools can do
them and prints "RESULT <scenario> PASS|FAIL|N/A [detail]" lines (contract:
tests/conformance/runner.py).  Scenarios run in parallel threads: every tool
is a JVM start.

What the tools cannot show: the console producer reads text lines, so header
values are bytes without newline, tab, ',' or ':' (the h2 header is still
non-ASCII and has a control byte); whether a batch really was compressed is
not visible to any of the tools (the scenario checks that the codec is
accepted and every record comes back intact and in order).
"""

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ.get("KC_REPO") or os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
JARS = os.path.join(REPO, "tests", "clients", sys.argv[1] if len(sys.argv) > 1 else "jars")
LOG4J = os.path.join(REPO, "tests", "clients", "log4j2.properties")
ENV = os.environ
BOOT, SASL_BOOT, SSL_BOOT = ENV["KC_BOOTSTRAP"], ENV["KC_SASL_BOOTSTRAP"], ENV["KC_SSL_BOOTSTRAP"]
PREFIX = ENV["KC_PREFIX"]
WORK = ENV.get("KC_WORK") or os.getcwd()

TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
}

_print_lock = threading.Lock()


class Fail(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Fail(what)


def log(msg):
    with _print_lock:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()


def argv(tool, args):
    return ["java", "-cp", os.path.join(JARS, "*"), "-Dlog4j2.configurationFile=" + LOG4J,
            "-XX:TieredStopAtLevel=1", "-Xshare:auto", TOOLS[tool]] + list(args)


def run(tool, *args, input=None, timeout=60, ok=True):
    """Runs one tool to its end; returns (exit code, stdout bytes, stderr text).
    With ok=True a non-zero exit is a failure of the scenario."""
    t0 = time.time()
    try:
        p = subprocess.run(argv(tool, args), input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, cwd=WORK)
    except subprocess.TimeoutExpired as e:
        raise Fail("%s %s timed out after %ds: %s" % (tool, " ".join(args[:6]), timeout,
                                                      tail(e.stderr)))
    err = p.stderr.decode(errors="replace")
    log("$ %s %s  -> exit %d in %.1fs\n%s" % (tool, " ".join(args), p.returncode,
                                              time.time() - t0, err.rstrip()))
    if ok and p.returncode != 0:
        raise Fail("%s %s exited %d: %s" % (tool, " ".join(args[:6]), p.returncode, tail(p.stderr)))
    return p.returncode, p.stdout, err


def tail(b, n=300):
    s = b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
    s = " ".join(s.split())
    return s[-n:]


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sasl_config(name, mech, module, user, password):
    return write(name, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=%s\n"
                 "sasl.jaas.config=%s required username=\"%s\" password=\"%s\";\n" % (
                     mech, module, user, password))


PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


# ------------------------------------------------------------------ helpers

def create_topic(topic, partitions, *extra, boot=BOOT, config=None):
    sec = ["--command-config", config] if config else []
    _, out, _ = run("kafka-topics", "--bootstrap-server", boot, *sec, "--create", "--topic", topic,
                    "--partitions", str(partitions), "--replication-factor", "1", *extra)
    check(b"Created topic" in out, "kafka-topics --create printed %r" % out[:200])


def produce(topic, lines, *extra, boot=BOOT, config=None):
    sec = ["--producer.config", config] if config else []
    run("kafka-console-producer", "--bootstrap-server", boot, *sec, "--topic", topic,
        "--request-required-acks", "-1", "--timeout", "100", *extra,
        input=b"".join(l + b"\n" for l in lines), timeout=90)


def consume(topic, group, count, *props, boot=BOOT, config=None, extra=()):
    """Console consumer in group `group` from the beginning, at most `count`
    records; returns the lines split on tabs: partition, offset, then the
    fields asked for with print.* properties."""
    sec = ["--consumer.config", config] if config else []
    pr = []
    for p in ("partition", "offset") + props:
        pr += ["--property", "print.%s=true" % p]
    _, out, err = run("kafka-console-consumer", "--bootstrap-server", boot, *sec, "--topic", topic,
                      "--group", group, "--from-beginning", "--max-messages", str(count),
                      "--timeout-ms", "20000", *pr, *extra, timeout=90)
    recs = []
    for line in out.split(b"\n"):
        if not line:
            continue
        f = line.split(b"\t")
        check(len(f) == 3 + len(props), "console consumer printed %r" % line[:200])
        check(f[0].startswith(b"Partition:") and f[1].startswith(b"Offset:"),
              "console consumer printed %r" % line[:200])
        recs.append([int(f[0][10:]), int(f[1][7:])] + f[2:])
    return recs


def end_offsets(topic, boot=BOOT):
    _, out, _ = run("kafka-get-offsets", "--bootstrap-server", boot, "--topic", topic)
    offs = {}
    for line in out.decode().split():
        t, p, o = line.rsplit(":", 2)
        if t == topic:
            offs[int(p)] = int(o)
    return offs


def parallel(*calls):
    """Runs the zero-argument callables in threads; returns their results."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as ex:
        futs = [ex.submit(c) for c in calls]
        return [f.result() for f in futs]


# ---------------------------------------------------------------- scenarios

def h2(i):
    # a non-ASCII, non-printable header value that a line-oriented tool can carry
    return b"\x01\x7f\xc3\xbf\xe2\x82\xac" + str(i).encode()


def produce_consume():
    topic = PREFIX + "-pc"
    create_topic(topic, 3)
    lines = [b"h1:%d,h2:%s\tk%d\tv%d" % (i, h2(i), i % 10, i) for i in range(100)]
    produce(topic, lines, "--property", "parse.key=true", "--property", "parse.headers=true")
    recs, ends = parallel(lambda: consume(topic, PREFIX + "-g-pc", 100, "headers", "key"),
                          lambda: end_offsets(topic))
    check(sum(ends.values()) == 100 and len(ends) == 3,
          "end offsets %s: the topic holds %d records, 100 were sent" % (ends, sum(ends.values())))
    check(len(recs) == 100, "read %d records, sent 100" % len(recs))
    seen, last_of_key, part_of_key, last_off = set(), {}, {}, {}
    for part, off, hdrs, key, val in recs:
        m = re.fullmatch(rb"v(\d+)", val)
        check(m, "bad value %r" % val)
        i = int(m.group(1))
        check(i < 100 and i not in seen, "record %r read twice or unknown" % val)
        seen.add(i)
        check(key == b"k%d" % (i % 10), "record v%d has key %r" % (i, key))
        hs = [tuple(h.split(b":", 1)) for h in hdrs.split(b",")]
        check(hs == [(b"h1", b"%d" % i), (b"h2", h2(i))], "record v%d headers %r" % (i, hdrs))
        check(off > last_off.get(part, -1), "partition %d offsets out of order" % part)
        last_off[part] = off
        check(i > last_of_key.get(key, -1), "key %r: v%d read after v%s" % (key, i, last_of_key.get(key)))
        last_of_key[key] = i
        check(part_of_key.setdefault(key, part) == part, "key %r in two partitions" % key)
    return "100 records (console producer parse.key/parse.headers), keys/values/headers intact, " \
           "per-key order kept, end offsets sum to 100"


def codec_value(codec, i):
    return b"%d:%s:" % (i, codec.encode()) + b" ".join(b"payload-%d-%d" % (i, j) for j in range(20))


def codec(name):
    def scenario():
        topic = PREFIX + "-" + name
        create_topic(topic, 3)
        produce(topic, [b"k%d\t%s" % (i % 3, codec_value(name, i)) for i in range(200)],
                "--property", "parse.key=true", "--compression-codec", name, "--batch-size", "65536")
        recs = consume(topic, PREFIX + "-g-" + name, 200, "key")
        check(len(recs) == 200, "read %d records, sent 200" % len(recs))
        seen, last = set(), {}
        for part, off, key, val in recs:
            i = int(val.split(b":", 1)[0])
            check(i not in seen, "record %d read twice" % i)
            seen.add(i)
            check(val == codec_value(name, i), "record %d value corrupted: %r" % (i, val[:80]))
            check(key == b"k%d" % (i % 3), "record %d has key %r" % (i, key))
            check(i > last.get(part, -1), "partition %d: record %d after %s" % (part, i, last.get(part)))
            last[part] = i
        return "200 records (--compression-codec %s, async batches, linger 100 ms) intact and in " \
               "order per partition (records per partition %s); compression itself is not observable with the CLI" % (
                   name, "/".join(str(sum(1 for r in recs if r[0] == p)) for p in sorted(last)))
    return scenario


def describe_members(group):
    """kafka-consumer-groups --describe --members --verbose: {client id: set of partitions}."""
    rc, out, err = run("kafka-consumer-groups", "--bootstrap-server", BOOT, "--describe", "--group",
                       group, "--members", "--verbose", ok=False)
    members = {}
    lines = out.decode(errors="replace").splitlines()
    hdr = None
    for line in lines:
        cols = line.split()
        if not cols:
            continue
        if cols[0] == "GROUP":
            hdr = cols
            continue
        if hdr and cols[0] == group and "CURRENT-ASSIGNMENT" in hdr:
            row = dict(zip(hdr, cols))
            parts = set()
            assignment = row.get("CURRENT-ASSIGNMENT", "-")
            if assignment != "-":
                for tp in assignment.split(";"):
                    t, ps = tp.rsplit(":", 1)
                    parts |= {(t, int(p)) for p in ps.split(",") if p}
            members[row["CLIENT-ID"]] = parts
    return members, out.decode(errors="replace") + err


def wait_members(group, want, what, timeout=25):
    deadline = time.time() + timeout
    while True:
        members, text = describe_members(group)
        if want(members):
            return members
        if time.time() > deadline:
            raise Fail("%s: kafka-consumer-groups --describe --members shows %s (%s)" % (
                what, {k: sorted(p for _, p in v) for k, v in members.items()}, tail(text, 200)))
        time.sleep(0.3)


def group_rebalance():
    topic, group = PREFIX + "-rebal", PREFIX + "-g-rebal"
    create_topic(topic, 4)
    all4 = {(topic, p) for p in range(4)}
    ca, cb = PREFIX + "-A", PREFIX + "-B"
    procs = {}

    def start(cid):
        # stderr to a file: a pipe nobody reads could fill and stall the tool
        with open(os.path.join(WORK, cid + ".stderr"), "wb") as err:
            procs[cid] = subprocess.Popen(argv("kafka-console-consumer", [
                "--bootstrap-server", BOOT, "--topic", topic, "--group", group,
                "--consumer-property", "client.id=" + cid,
                "--consumer-property", "session.timeout.ms=6000",
                "--consumer-property", "heartbeat.interval.ms=500"]),
                stdout=subprocess.DEVNULL, stderr=err, cwd=WORK, start_new_session=True)

    def stop(cid):
        p = procs.pop(cid)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # its shutdown hook closes the consumer: LeaveGroup
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        with open(os.path.join(WORK, cid + ".stderr"), "rb") as f:
            log("console consumer %s stopped (exit %s): %s" % (cid, p.returncode,
                                                               f.read().decode(errors="replace")))

    try:
        start(ca)
        wait_members(group, lambda m: set(m) == {ca} and m[ca] == all4, "A alone")
        start(cb)
        m = wait_members(group, lambda m: set(m) == {ca, cb} and m[ca] and m[cb]
                         and not (m[ca] & m[cb]) and (m[ca] | m[cb]) == all4, "A and B")
        share = "A:%s B:%s" % (sorted(p for _, p in m[ca]), sorted(p for _, p in m[cb]))
        stop(cb)
        wait_members(group, lambda m: set(m) == {ca} and m[ca] == all4, "after B left")
        return "A owns 0-3; %s; B left (SIGTERM), A owns 0-3 (seen with kafka-consumer-groups " \
               "--describe --members --verbose)" % share
    finally:
        for cid in list(procs):
            stop(cid)


def describe_offsets(group, topic):
    """kafka-consumer-groups --describe: {partition: (CURRENT-OFFSET, LOG-END-OFFSET)}."""
    _, out, _ = run("kafka-consumer-groups", "--bootstrap-server", BOOT, "--describe", "--group", group)
    hdr, res = None, {}
    for line in out.decode(errors="replace").splitlines():
        cols = line.split()
        if cols and cols[0] == "GROUP":
            hdr = cols
        elif hdr and len(cols) >= 6 and cols[0] == group and cols[1] == topic:
            row = dict(zip(hdr, cols))
            res[int(row["PARTITION"])] = (row["CURRENT-OFFSET"], row["LOG-END-OFFSET"])
    check(res, "kafka-consumer-groups --describe shows no offsets: %s" % tail(out))
    return res


def committed_offsets():
    topic, group = PREFIX + "-commit", PREFIX + "-g-commit"
    create_topic(topic, 1)
    produce(topic, [b"v%d" % i for i in range(10)])
    # one poll returns at most 5 records, so after 5 the position is 5 and
    # the consumer's close (auto-commit) commits offset 5
    first = consume(topic, group, 5, extra=("--consumer-property", "max.poll.records=5"))
    check([(o, v) for _, o, v in first] == [(i, b"v%d" % i) for i in range(5)],
          "first member read %s" % [(o, v) for _, o, v in first])
    offs = describe_offsets(group, topic)
    check(offs == {0: ("5", "10")}, "after the first member: CURRENT-OFFSET/LOG-END-OFFSET %s" % offs)
    second = consume(topic, group, 5)
    check([(o, v) for _, o, v in second] == [(i, b"v%d" % i) for i in range(5, 10)],
          "second member read %s" % [(o, v) for _, o, v in second])
    offs2 = describe_offsets(group, topic)
    check(offs2 == {0: ("10", "10")}, "after the second member: CURRENT-OFFSET/LOG-END-OFFSET %s" % offs2)
    return "first member read v0-v4 and committed, kafka-consumer-groups --describe CURRENT-OFFSET 5; " \
           "second member read v5-v9, then CURRENT-OFFSET 10"


def topics_list():
    _, out, _ = run("kafka-topics", "--bootstrap-server", BOOT, "--list")
    return out.decode().split()


def topics_describe(topic):
    _, out, _ = run("kafka-topics", "--bootstrap-server", BOOT, "--describe", "--topic", topic)
    text = out.decode(errors="replace")
    m = re.search(r"PartitionCount:\s*(\d+)", text)
    check(m, "kafka-topics --describe printed %r" % text[:300])
    rows = re.findall(r"Partition:\s*(\d+)\s+Leader:\s*(-?\d+)", text)
    check(int(m.group(1)) == len(rows), "PartitionCount %s but %d partition lines" % (m.group(1), len(rows)))
    return int(m.group(1)), text


def admin_topics():
    topic = PREFIX + "-admin"
    create_topic(topic, 2, "--config", "retention.ms=3600000")
    check(topic in topics_list(), "kafka-topics --list lacks the new topic")
    n, text = topics_describe(topic)
    check(n == 2, "described with %d partitions, created with 2" % n)
    check("retention.ms=3600000" in text, "describe lacks retention.ms=3600000: %r" % text[:300])
    run("kafka-topics", "--bootstrap-server", BOOT, "--alter", "--topic", topic, "--partitions", "4")
    deadline = time.time() + 10
    while True:
        n, _ = topics_describe(topic)
        if n == 4 or time.time() > deadline:
            break
        time.sleep(0.3)
    check(n == 4, "after --alter --partitions 4 described with %d partitions" % n)
    run("kafka-topics", "--bootstrap-server", BOOT, "--delete", "--topic", topic)
    deadline = time.time() + 15
    while topic in topics_list():
        check(time.time() < deadline, "deleted topic still listed")
        time.sleep(0.3)
    return "--create (2, retention.ms) / --list / --describe 2 / --alter --partitions 4 / " \
           "--describe 4 / --delete / gone from --list"


def configs_describe(*args):
    _, out, _ = run("kafka-configs", "--bootstrap-server", BOOT, "--describe", *args)
    return out.decode(errors="replace")


def describe_configs():
    topic = PREFIX + "-configs"
    create_topic(topic, 1, "--config", "retention.ms=3600000")
    ent = ("--entity-type", "topics", "--entity-name", topic)
    text, alltext = parallel(lambda: configs_describe(*ent), lambda: configs_describe(*ent, "--all"))
    want = "retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000"
    check(want in text, "kafka-configs --describe (dynamic configs) lacks %r: %r" % (want, text[:300]))
    check(want in alltext, "kafka-configs --describe --all lacks %r" % want)
    cp = re.search(r"^\s*cleanup\.policy=\S+ sensitive=false synonyms=\{(\S+?):", alltext, re.M)
    check(cp and cp.group(1) != "DYNAMIC_TOPIC_CONFIG", "cleanup.policy (never set) described as %s" % (
        cp and cp.group(0)))
    check("cleanup.policy" not in text, "cleanup.policy listed among the dynamic configs")
    run("kafka-configs", "--bootstrap-server", BOOT, "--alter", *ent, "--add-config", "retention.ms=7200000")
    text2, broker = parallel(lambda: configs_describe(*ent),
                             lambda: configs_describe("--entity-type", "brokers", "--all"))
    check("retention.ms=7200000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=7200000" in text2,
          "after --alter --add-config retention.ms=7200000: %r" % text2[:300])
    m = re.search(r"All configs for broker (\S+) are:", broker)
    n = len(re.findall(r"^\s+\S+=.* sensitive=", broker, re.M))
    check(m and n > 0, "kafka-configs --describe --entity-type brokers --all: %r" % broker[:300])
    return "topic retention.ms=3600000 (DYNAMIC_TOPIC_CONFIG, cleanup.policy %s) -> 7200000 via " \
           "--alter --add-config; broker %s: %d configs" % (
               cp.group(1), m.group(1), n)


def round_trip(tag, boot, config):
    topic = PREFIX + "-" + tag
    create_topic(topic, 1, boot=boot, config=config)
    produce(topic, [b"k%d\tv%d" % (i, i) for i in range(10)], "--property", "parse.key=true",
            boot=boot, config=config)
    recs = consume(topic, PREFIX + "-g-" + tag, 10, "key", boot=boot, config=config)
    got = [(k, v) for _, _, k, v in recs]
    check(got == [(b"k%d" % i, b"v%d" % i) for i in range(10)], "%s: read back %s" % (tag, got))


def refused(tag, config):
    rc, out, err = run("kafka-topics", "--bootstrap-server", SASL_BOOT, "--command-config", config,
                       "--list", ok=False, timeout=60)
    check(rc != 0, "%s with a wrong password: kafka-topics --list succeeded (%r)" % (tag, out[:100]))
    check("SaslAuthenticationException" in err,
          "%s with a wrong password: no SaslAuthenticationException (exit %d): %s" % (tag, rc, tail(err)))


def sasl_plain():
    user, pw = ENV["KC_PLAIN_USER"], ENV["KC_PLAIN_PASSWORD"]
    good = sasl_config("plain.properties", "PLAIN", PLAIN_MODULE, user, pw)
    bad = sasl_config("plain-wrong.properties", "PLAIN", PLAIN_MODULE, user, "wrong-" + pw)
    parallel(lambda: round_trip("plain", SASL_BOOT, good), lambda: refused("PLAIN", bad))
    return "10 records over SASL_PLAINTEXT/PLAIN (--command-config, --producer.config, " \
           "--consumer.config); wrong password: SaslAuthenticationException, exit 1"


def sasl_scram():
    user, pw = ENV["KC_SCRAM_USER"], ENV["KC_SCRAM_PASSWORD"]
    calls = []
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        tag = mech.lower()
        good = sasl_config(tag + ".properties", mech, SCRAM_MODULE, user, pw)
        bad = sasl_config(tag + "-wrong.properties", mech, SCRAM_MODULE, user, "wrong-" + pw)
        calls += [lambda t=tag, g=good: round_trip(t, SASL_BOOT, g), lambda m=mech, b=bad: refused(m, b)]
    parallel(*calls)
    return "10 records each over SCRAM-SHA-256 and SCRAM-SHA-512; wrong passwords: SaslAuthenticationException"


def tls():
    cfg = write("ssl.properties", "security.protocol=SSL\nssl.truststore.type=PEM\n"
                "ssl.truststore.location=%s\n" % ENV["KC_CA_PEM"])
    # the certificate really is checked: the JDK's default trust store does
    # not know the run's CA, so the handshake must fail
    untrusted = write("ssl-default-truststore.properties", "security.protocol=SSL\n")

    def refused_untrusted():
        rc, out, err = run("kafka-topics", "--bootstrap-server", SSL_BOOT, "--command-config", untrusted,
                           "--list", ok=False, timeout=60)
        check(rc != 0 and "SslAuthenticationException" in err,
              "SSL without the run's CA in the trust store: exit %d, %s" % (rc, tail(err)))

    parallel(lambda: round_trip("tls", SSL_BOOT, cfg), refused_untrusted)
    return "10 records over SSL, broker certificate verified against KC_CA_PEM (PEM truststore); " \
           "with the JDK's default trust store: SslAuthenticationException, exit 1"


SCENARIOS = [
    ("group-rebalance", group_rebalance),
    ("committed-offsets", committed_offsets),
    ("admin-topics", admin_topics),
    ("describe-configs", describe_configs),
    ("produce-consume", produce_consume),
    ("sasl-scram", sasl_scram),
    ("gzip", codec("gzip")),
    ("snappy", codec("snappy")),
    ("lz4", codec("lz4")),
    ("zstd", codec("zstd")),
    ("sasl-plain", sasl_plain),
    ("tls", tls),
]


def one(name, fn):
    t0 = time.time()
    try:
        status, detail = "PASS", fn()
    except Fail as e:
        status, detail = "FAIL", str(e)
    except Exception as e:  # a bug here or a tool that misbehaved: report, keep going
        import traceback
        log(traceback.format_exc())
        status, detail = "FAIL", "%s: %s" % (type(e).__name__, e)
    detail = " ".join(detail.split())
    with _print_lock:
        print("RESULT %s %s %s (%.1fs)" % (name, status, detail, time.time() - t0), flush=True)


def main():
    if not os.path.isdir(JARS):
        sys.exit("no jars in %s (run scripts/bootstrap)" % JARS)
    only = set(sys.argv[2:])
    chosen = [(n, f) for n, f in SCENARIOS if not only or n in only]
    # two CPUs make a JVM start take ~1 s; a few scenarios at a time keep
    # that from stretching while the slow sequential ones overlap
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for f in [ex.submit(one, n, fn) for n, fn in chosen]:
            f.result()


if __name__ == "__main__":
    main()
