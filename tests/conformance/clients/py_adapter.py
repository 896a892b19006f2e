#!/usr/bin/env python3
"""Conformance adapter for the Python Kafka clients (tests/conformance/runner.py
has the contract, docs/conformance.md the scenarios).

  py_adapter.py confluent      confluent-kafka (whichever the interpreter has:
                               Debian's python3-confluent-kafka under
                               /usr/bin/python3, the newest from PyPI in
                               tests/conformance/clients/latest/.venv)
  py_adapter.py kafka-python   kafka-python (the newest from PyPI, same venv)

Every scenario uses the library's own producer, consumer and admin APIs and
checks what comes back against what was sent.  One line per scenario on
stdout: RESULT <scenario> PASS|FAIL|N/A <detail>.  Diagnostics go to stderr.
"""

import logging
import ssl as _ssl
import os
import sys
import time
import traceback

ENV = os.environ
PREFIX = ENV.get("KC_PREFIX", "cf-py")
SCENARIOS = ["produce-consume", "gzip", "snappy", "lz4", "zstd", "group-rebalance",
             "committed-offsets", "admin-topics", "describe-configs", "sasl-plain",
             "sasl-scram", "tls"]


class Fail(Exception):
    pass


class NA(Exception):
    pass


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(fn, timeout, what, step=0.1):
    """Polls fn() until it returns a true value; Fail with `what` after timeout."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.time() > deadline:
            raise Fail("%s (after %.0fs)" % (what, timeout))
        time.sleep(step)


_n = [0]


def name(tag):
    _n[0] += 1
    return "%s-%s-%d" % (PREFIX, tag, _n[0])


# Security settings, client-neutral: ("plain",), ("sasl", mech, user, password), ("ssl", ca)
PLAINTEXT = ("plain",)


def sasl(mech, user, password):
    return ("sasl", mech, user, password)


def ssl(ca):
    return ("ssl", ca)


def bootstrap_of(sec):
    return {"plain": ENV["KC_BOOTSTRAP"], "sasl": ENV["KC_SASL_BOOTSTRAP"],
            "ssl": ENV["KC_SSL_BOOTSTRAP"]}[sec[0]]


# ---------------------------------------------------------------- records


def pc_records():
    """Scenario 1: 100 records, keys k0..k9, values v<i>, headers h1=<i>, h2=binary."""
    return [("k%d" % (i % 10), "v%d" % i,
             [("h1", str(i).encode()), ("h2", bytes([i, 0, 0xff, 0x80, 255 - i]) + b"\x00\x01")])
            for i in range(100)]


def codec_records(codec):
    return [("k%d" % (i % 10), "v%d %s payload %s" % (i, codec, "abcdefgh" * (1 + i % 7)), None)
            for i in range(200)]


def small_records(tag):
    return [("k%d" % i, "%s-v%d" % (tag, i), [("src", tag.encode())]) for i in range(10)]


def check_read_back(sent, got, with_headers, partition_order=True):
    """sent: [(key, value, headers)], got: [(partition, offset, key, value, headers)].
    Every record exactly once and intact, each key in one partition in the
    order of production, and (partition_order) within each partition the
    offsets follow the order of production."""
    by_value = {v: (k, h) for k, v, h in sent}
    index = {v: i for i, (_, v, _) in enumerate(sent)}
    seen = {}
    for p, off, k, v, h in got:
        check(v in by_value, "unexpected record p%d@%d value %r" % (p, off, v))
        check(v not in seen, "record %r read twice (p%d@%d and p%d@%d)" % (v, seen.get(v, (0, 0))[0],
                                                                             seen.get(v, (0, 0))[1], p, off))
        seen[v] = (p, off)
        k0, h0 = by_value[v]
        check(k == k0, "record %r: key %r, sent %r" % (v, k, k0))
        if with_headers:
            check(list(h or []) == list(h0), "record %r: headers %r, sent %r" % (v, h, h0))
    missing = [v for _, v, _ in sent if v not in seen]
    check(not missing, "%d of %d records missing, e.g. %r" % (len(missing), len(sent), missing[:3]))
    # per partition: offsets ascending <=> production order ascending
    parts = {}
    for p, off, k, v, h in got:
        parts.setdefault(p, []).append((off, index[v], k))
    for p, lst in parts.items():
        lst.sort()
        idx = [i for _, i, _ in lst]
        if partition_order:
            check(idx == sorted(idx), "partition %d: records out of production order" % p)
        for key in {k for _, _, k in lst}:
            kidx = [i for _, i, k in lst if k == key]
            check(kidx == sorted(kidx), "key %s: records out of production order in partition %d" % (key, p))
    # per key: one partition
    keyparts = {}
    for p, off, k, v, h in got:
        keyparts.setdefault(k, set()).add(p)
    split = {k: ps for k, ps in keyparts.items() if len(ps) > 1}
    check(not split, "keys spread over several partitions: %r" % split)
    return "%d records over %d partitions" % (len(got), len(parts))


# ---------------------------------------------------------------- confluent-kafka


class Confluent:
    def __init__(self):
        import confluent_kafka as ck
        from confluent_kafka import admin as cka
        self.ck, self.cka = ck, cka
        ver = getattr(ck, "__version__", None) or ck.version()[0]
        self.label = "confluent-kafka %s, librdkafka %s" % (ver, ck.libversion()[0])

    def conf(self, sec, **extra):
        c = {"bootstrap.servers": bootstrap_of(sec), "socket.timeout.ms": 10000}
        if sec[0] == "sasl":
            c.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": sec[1],
                      "sasl.username": sec[2], "sasl.password": sec[3]})
        elif sec[0] == "ssl":
            c.update({"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "https"})
            if sec[1]:
                c["ssl.ca.location"] = sec[1]
        c.update(extra)
        return c

    def admin(self, sec=PLAINTEXT, errors=None):
        extra = {"error_cb": errors.append} if errors is not None else {}
        return self.cka.AdminClient(self.conf(sec, **extra))

    def create_topic(self, topic, partitions, sec=PLAINTEXT, configs=None):
        errs = []
        a = self.admin(sec, errs)
        fs = a.create_topics([self.cka.NewTopic(topic, partitions, 1, config=configs or {})],
                             operation_timeout=10, request_timeout=15)
        try:
            fs[topic].result(20)
        except self.ck.KafkaException as ex:
            a.poll(0.1)  # serves error_cb: the connection's own error says why
            raise Fail("create_topics: %s; client errors: %s" % (
                ex.args[0].str(), sorted({e.str() for e in errs})[:2]))
        wait_until(lambda: topic in a.list_topics(timeout=10).topics and
                   len(a.list_topics(topic, timeout=10).topics[topic].partitions) == partitions,
                   10, "created topic %s not in metadata with %d partitions" % (topic, partitions))

    def produce(self, topic, records, sec=PLAINTEXT, **extra):
        p = self.ck.Producer(self.conf(sec, **extra))
        errs, acks = [], []

        def dr(err, msg):
            (errs if err else acks).append(err or msg.offset())
        for k, v, h in records:
            kw = {"headers": h} if h is not None else {}
            while True:
                try:
                    p.produce(topic, key=k.encode(), value=v.encode(), on_delivery=dr, **kw)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(20)
        check(left == 0, "%d records not delivered after 20s" % left)
        check(not errs, "delivery errors: %r" % errs[:3])
        check(len(acks) == len(records), "%d acks for %d records" % (len(acks), len(records)))

    def read_all(self, topic, n, sec=PLAINTEXT, timeout=20):
        c = self.ck.Consumer(self.conf(sec, **{"group.id": name("reader"), "enable.auto.commit": False,
                                                "auto.offset.reset": "earliest"}))
        try:
            md = c.list_topics(topic, timeout=10)
            parts = sorted(md.topics[topic].partitions)
            c.assign([self.ck.TopicPartition(topic, p, self.ck.OFFSET_BEGINNING) for p in parts])
            got = []
            deadline = time.time() + timeout
            while len(got) < n and time.time() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == self.ck.KafkaError._PARTITION_EOF:
                        continue
                    raise Fail("consume error: %s" % m.error())
                got.append((m.partition(), m.offset(), m.key().decode(), m.value().decode(),
                            m.headers()))
            # anything more than n would be a duplicate: read a little longer
            end = time.time() + 0.5
            while time.time() < end:
                m = c.poll(0.1)
                if m is not None and not m.error():
                    got.append((m.partition(), m.offset(), m.key().decode(), m.value().decode(),
                                m.headers()))
            check(len(got) >= n, "read %d of %d records in %ds" % (len(got), n, timeout))
            return got
        finally:
            c.close()

    # ---- scenarios

    def group_rebalance(self):
        topic, group = name("rebalance"), name("group")
        self.create_topic(topic, 4)
        cbs = {"A": [], "B": []}

        def consumer(who):
            c = self.ck.Consumer(self.conf(PLAINTEXT, **{
                "group.id": group, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
            c.subscribe([topic], on_assign=lambda cc, ps: cbs[who].append(
                sorted(tp.partition for tp in ps)))
            return c

        def owned(c):
            return {tp.partition for tp in c.assignment()}

        a = consumer("A")
        try:
            def a_all():
                a.poll(0.2)
                return owned(a) == {0, 1, 2, 3}
            wait_until(a_all, 20, "A alone never owned all 4 partitions (owns %r)" % owned(a), 0)
            step1 = cbs["A"][-1] if cbs["A"] else None
            check(step1 == [0, 1, 2, 3], "A's on_assign callback said %r" % step1)
            b = consumer("B")
            try:
                def split():
                    a.poll(0.1)
                    b.poll(0.1)
                    pa, pb = owned(a), owned(b)
                    return pa and pb and not (pa & pb) and pa | pb == {0, 1, 2, 3}
                wait_until(split, 30, "A and B never split the 4 partitions (A %r, B %r)" % (
                    owned(a), owned(b)), 0)
                share = (sorted(owned(a)), sorted(owned(b)))
                check(cbs["B"] and cbs["B"][-1] == share[1],
                      "B's on_assign callbacks %r do not match its assignment %r" % (cbs["B"], share[1]))
            finally:
                b.close()
            wait_until(a_all, 30, "after B left, A did not own all 4 again (owns %r)" % owned(a), 0)
            return "A %s, then A %s + B %s, then A %s (on_assign calls: A %d, B %d)" % (
                step1, share[0], share[1], sorted(owned(a)), len(cbs["A"]), len(cbs["B"]))
        finally:
            a.close()

    def committed_offsets(self):
        ck = self.ck
        topic, group = name("commit"), name("cgroup")
        self.create_topic(topic, 1)
        recs = [("k", "v%d" % i, None) for i in range(10)]
        self.produce(topic, recs)
        conf = self.conf(PLAINTEXT, **{"group.id": group, "enable.auto.commit": False,
                                       "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
        c1 = ck.Consumer(conf)
        try:
            c1.subscribe([topic])
            first = []
            deadline = time.time() + 20
            while len(first) < 5 and time.time() < deadline:
                m = c1.poll(0.5)
                if m is not None and not m.error():
                    first.append((m.offset(), m.value().decode()))
            check(first == [(i, "v%d" % i) for i in range(5)], "first member read %r" % first)
            res = c1.commit(offsets=[ck.TopicPartition(topic, 0, 5)], asynchronous=False)
            check(res and res[0].offset == 5 and not res[0].error, "commit answered %r" % res)
        finally:
            c1.close()
        c2 = ck.Consumer(conf)
        try:
            cm = c2.committed([ck.TopicPartition(topic, 0)], timeout=10)
            check(cm and cm[0].offset == 5, "committed() before joining answered %r" % cm)
            c2.subscribe([topic])
            rest = []
            deadline = time.time() + 20
            while len(rest) < 5 and time.time() < deadline:
                m = c2.poll(0.5)
                if m is not None and not m.error():
                    rest.append((m.offset(), m.value().decode()))
            check(rest == [(i, "v%d" % i) for i in range(5, 10)], "second member read %r" % rest)
            cm2 = c2.committed([ck.TopicPartition(topic, 0)], timeout=10)
            check(cm2[0].offset == 5, "committed() as a member answered %r" % cm2)
            return "member 2 resumed at offset 5 (v5..v9); committed() = 5"
        finally:
            c2.close()

    def _describe_partitions(self, a, topic):
        """Partition count through describe_topics if the library has it,
        else through the Metadata API (list_topics)."""
        if hasattr(a, "describe_topics"):
            d = a.describe_topics(self.ck.TopicCollection([topic]), request_timeout=10)[topic].result(15)
            check(d.name == topic, "describe_topics named %r" % d.name)
            return len(d.partitions), "describe_topics"
        md = a.list_topics(topic, timeout=10).topics[topic]
        check(md.error is None, "metadata for %s: %s" % (topic, md.error))
        return len(md.partitions), "list_topics metadata (no describe_topics in this version)"

    def admin_topics(self):
        cka = self.cka
        a = self.admin()
        topic = name("admin")
        fs = a.create_topics([cka.NewTopic(topic, 2, 1, config={"retention.ms": "3600000"})],
                             request_timeout=15)
        fs[topic].result(20)
        wait_until(lambda: topic in a.list_topics(timeout=10).topics, 10,
                   "created topic missing from list_topics")
        n, how = self._describe_partitions(a, topic)
        check(n == 2, "%s shows %d partitions, want 2" % (how, n))
        a.create_partitions([cka.NewPartitions(topic, 4)], request_timeout=15)[topic].result(20)
        wait_until(lambda: self._describe_partitions(a, topic)[0] == 4, 5,
                   "after create_partitions(4) %s shows %d" % (how, self._describe_partitions(a, topic)[0]))
        a.delete_topics([topic], request_timeout=15)[topic].result(20)
        wait_until(lambda: topic not in a.list_topics(timeout=10).topics, 10,
                   "deleted topic still in list_topics")
        return "create(2, retention.ms) / list / describe via %s = 2 / create_partitions -> 4 / delete" % how

    def describe_configs(self):
        cka = self.cka
        a = self.admin()
        topic = name("configs")
        a.create_topics([cka.NewTopic(topic, 1, 1, config={"retention.ms": "3600000"})],
                        request_timeout=15)[topic].result(20)
        res = cka.ConfigResource("topic", topic)

        def describe():
            return a.describe_configs([res], request_timeout=15)[res].result(20)
        cfg = describe()
        e = cfg.get("retention.ms")
        check(e is not None, "retention.ms missing from %d entries" % len(cfg))
        check(e.value == "3600000", "retention.ms = %r, set 3600000" % e.value)
        check(not e.is_default, "retention.ms set at creation is marked default")
        src = getattr(e, "source", None)
        src_name = getattr(src, "name", str(src))
        check(src_name in ("DYNAMIC_TOPIC_CONFIG", "4", "1"), "retention.ms source %r" % (src,))
        if hasattr(a, "incremental_alter_configs"):
            how = "incremental_alter_configs"
            r = cka.ConfigResource("topic", topic, incremental_configs=[
                cka.ConfigEntry("retention.ms", "7200000",
                                incremental_operation=cka.AlterConfigOpType.SET)])
            a.incremental_alter_configs([r])[r].result(20)
        else:
            how = "alter_configs (no incremental_alter_configs in this version)"
            r = cka.ConfigResource("topic", topic, set_config={"retention.ms": "7200000"})
            a.alter_configs([r], request_timeout=15)[r].result(20)
        cfg2 = describe()
        check(cfg2["retention.ms"].value == "7200000",
              "after %s retention.ms = %r" % (how, cfg2["retention.ms"].value))
        broker_id = sorted(a.list_topics(timeout=10).brokers)[0]
        br = cka.ConfigResource("broker", str(broker_id))
        bcfg = a.describe_configs([br], request_timeout=15)[br].result(20)
        check(len(bcfg) > 0, "broker %s: no config entries" % broker_id)
        if "num.partitions" in bcfg:
            check(bcfg["num.partitions"].value == "3",
                  "broker num.partitions = %r, started with 3" % bcfg["num.partitions"].value)
        a.delete_topics([topic])
        return "retention.ms=3600000 (non-default, %s), %s -> 7200000, broker %s: %d entries" % (
            src_name, how, broker_id, len(bcfg))

    def connects(self, sec):
        """Metadata over `sec` within 8s, or Fail with the client's own errors."""
        errs = []
        p = self.ck.Producer(self.conf(sec, error_cb=errs.append))
        try:
            p.list_topics(timeout=8)
        except self.ck.KafkaException as ex:
            p.poll(0.1)
            raise Fail("no metadata over %s %s: %s; client errors: %s" % (
                sec[0], sec[1] if sec[0] == "sasl" else "", ex.args[0].str(),
                sorted({e.str() for e in errs})[:2]))
        finally:
            p.flush(0)

    def refused(self, sec):
        """Connecting with `sec` must fail with an authentication error."""
        ck = self.ck
        errs = []
        p = ck.Producer(self.conf(sec, error_cb=lambda e: errs.append(e)))
        t0 = time.time()
        try:
            while time.time() - t0 < 10:
                try:
                    md = p.list_topics(timeout=1)
                    raise Fail("a wrong password was accepted (list_topics saw %d topics)" % len(md.topics))
                except ck.KafkaException as ex:
                    errs.append(ex.args[0])
                p.poll(0.1)
                auth = [e for e in errs if e.code() == ck.KafkaError._AUTHENTICATION]
                if auth:
                    return "refused in %.1fs: %s" % (time.time() - t0, auth[0].str())
            raise Fail("no authentication error within 10s; errors: %s" % [e.str() for e in errs[:3]])
        finally:
            p.flush(0)

    def ssl_unverified_refused(self):
        """Without the run's CA the broker's certificate must not verify."""
        ck = self.ck
        errs = []
        p = ck.Producer(self.conf(ssl(None), error_cb=lambda e: errs.append(e)))
        t0 = time.time()
        while time.time() - t0 < 10:
            try:
                p.list_topics(timeout=1)
                raise Fail("the broker's certificate verified without the run's CA")
            except ck.KafkaException as ex:
                errs.append(ex.args[0])
            p.poll(0.1)
            bad = [e for e in errs if e.code() == ck.KafkaError._SSL or "certificate verify" in e.str()]
            if bad:
                return bad[0].str()
        raise Fail("no SSL error without the CA; errors: %s" % [e.str() for e in errs[:3]])


# ---------------------------------------------------------------- kafka-python


class LogCatcher(logging.Handler):
    """kafka-python reports a failed SASL handshake through its logger (the
    bootstrap then times out): keep the records to find that error."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage())
        except Exception:
            pass


class KafkaPython:
    def __init__(self):
        import kafka
        self.kafka = kafka
        from kafka import admin as kadmin
        from kafka import errors as kerrors
        self.kadmin, self.errors = kadmin, kerrors
        from kafka import codec
        self.label = "kafka-python %s (snappy %s, lz4 %s, zstd %s)" % (
            kafka.__version__, codec.has_snappy(), codec.has_lz4(), codec.has_zstd())
        self.v3 = int(kafka.__version__.split(".")[0]) >= 3
        self.catcher = LogCatcher()
        logging.getLogger("kafka").addHandler(self.catcher)
        logging.getLogger("kafka").setLevel(logging.INFO)

    def conf(self, sec, **extra):
        c = {"bootstrap_servers": bootstrap_of(sec), "request_timeout_ms": 15000}
        if sec[0] == "sasl":
            c.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism=sec[1],
                     sasl_plain_username=sec[2], sasl_plain_password=sec[3])
        elif sec[0] == "ssl":
            c.update(security_protocol="SSL", ssl_check_hostname=True)
            if sec[1]:
                c["ssl_cafile"] = sec[1]
        c.update(extra)
        return c

    def admin(self, sec=PLAINTEXT, **extra):
        return self.kadmin.KafkaAdminClient(**self.conf(sec, **extra))

    def create_topic(self, topic, partitions, sec=PLAINTEXT, configs=None):
        a = self.admin(sec)
        try:
            r = a.create_topics([self.kadmin.NewTopic(topic, partitions, 1, topic_configs=configs or {})])
            self._check_topic_errors(r, "create_topics")
            wait_until(lambda: self._partitions(a, topic) == partitions, 10,
                       "created topic %s not described with %d partitions" % (topic, partitions))
        finally:
            a.close()

    @staticmethod
    def _get(obj, key):
        return obj[key] if isinstance(obj, dict) else getattr(obj, key)

    def _check_topic_errors(self, resp, what):
        """CreateTopics/DeleteTopics/CreatePartitions results: a dict in
        kafka-python 3, the response object (tuples) in 2.x."""
        if isinstance(resp, dict) or hasattr(resp, "topics") or hasattr(resp, "results"):
            key = "results" if hasattr(resp, "results") else "topics"
            rows = [(self._get(t, "name"), self._get(t, "error_code"), self._get(t, "error_message"))
                    for t in self._get(resp, key)]
        else:
            rows = [tuple(t) + (None,) for t in
                    getattr(resp, "topic_errors", None) or getattr(resp, "topic_error_codes")]
        check(rows, "%s answered %r" % (what, resp))
        for name_, code, msg in [r[:3] for r in rows]:
            check(code == 0, "%s: %s error %d %s" % (what, name_, code, msg))

    def _partitions(self, a, topic):
        d = a.describe_topics([topic])
        check(len(d) == 1 and d[0].get("name", d[0].get("topic")) == topic,
              "describe_topics answered %r" % d)
        if d[0]["error_code"]:
            return None
        return len(d[0]["partitions"])

    def produce(self, topic, records, sec=PLAINTEXT, **extra):
        p = self.kafka.KafkaProducer(**self.conf(sec, **extra))
        try:
            futs = [p.send(topic, key=k.encode(), value=v.encode(), headers=h)
                    for k, v, h in records]
            p.flush(20)
            for f in futs:
                f.get(10)
        finally:
            p.close(5)

    def read_all(self, topic, n, sec=PLAINTEXT, timeout=20):
        c = self.kafka.KafkaConsumer(**self.conf(sec, group_id=None, enable_auto_commit=False,
                                                 auto_offset_reset="earliest"))
        try:
            parts = wait_until(lambda: c.partitions_for_topic(topic), 10, "no partitions for " + topic)
            tps = [self.kafka.TopicPartition(topic, p) for p in sorted(parts)]
            c.assign(tps)
            c.seek_to_beginning(*tps)
            got = []
            deadline = time.time() + timeout
            while len(got) < n and time.time() < deadline:
                for tp, msgs in c.poll(timeout_ms=500).items():
                    for m in msgs:
                        got.append((m.partition, m.offset, m.key.decode(), m.value.decode(),
                                    list(m.headers or [])))
            for tp, msgs in c.poll(timeout_ms=500).items():
                for m in msgs:
                    got.append((m.partition, m.offset, m.key.decode(), m.value.decode(),
                                list(m.headers or [])))
            check(len(got) >= n, "read %d of %d records in %ds" % (len(got), n, timeout))
            return got
        finally:
            c.close()

    # ---- scenarios

    def group_rebalance(self):
        from kafka import ConsumerRebalanceListener
        topic, group = name("rebalance"), name("group")
        self.create_topic(topic, 4)
        cbs = {"A": [], "B": []}

        class L(ConsumerRebalanceListener):
            def __init__(self, who):
                self.who = who

            def on_partitions_revoked(self, revoked):
                pass

            def on_partitions_assigned(self, assigned):
                cbs[self.who].append(sorted(tp.partition for tp in assigned))

        def consumer(who):
            c = self.kafka.KafkaConsumer(**self.conf(
                PLAINTEXT, group_id=group, session_timeout_ms=6000, heartbeat_interval_ms=500,
                enable_auto_commit=False, auto_offset_reset="earliest"))
            c.subscribe([topic], listener=L(who))
            return c

        def owned(c):
            return {tp.partition for tp in c.assignment()}

        a = consumer("A")
        try:
            def a_all():
                a.poll(timeout_ms=200)
                return owned(a) == {0, 1, 2, 3}
            wait_until(a_all, 20, "A alone never owned all 4 partitions (owns %r)" % owned(a), 0)
            step1 = cbs["A"][-1] if cbs["A"] else None
            check(step1 == [0, 1, 2, 3], "A's listener said %r" % step1)
            b = consumer("B")
            try:
                def split():
                    a.poll(timeout_ms=100)
                    b.poll(timeout_ms=100)
                    pa, pb = owned(a), owned(b)
                    return pa and pb and not (pa & pb) and pa | pb == {0, 1, 2, 3}
                wait_until(split, 30, "A and B never split the 4 partitions (A %r, B %r)" % (
                    owned(a), owned(b)), 0)
                share = (sorted(owned(a)), sorted(owned(b)))
                check(cbs["B"] and cbs["B"][-1] == share[1],
                      "B's listener calls %r do not match its assignment %r" % (cbs["B"], share[1]))
            finally:
                b.close()
            wait_until(a_all, 30, "after B left, A did not own all 4 again (owns %r)" % owned(a), 0)
            return "A %s, then A %s + B %s, then A %s (listener calls: A %d, B %d)" % (
                step1, share[0], share[1], sorted(owned(a)), len(cbs["A"]), len(cbs["B"]))
        finally:
            a.close()

    def committed_offsets(self):
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata
        topic, group = name("commit"), name("cgroup")
        self.create_topic(topic, 1)
        self.produce(topic, [("k", "v%d" % i, None) for i in range(10)])
        tp = TopicPartition(topic, 0)

        def member():
            c = self.kafka.KafkaConsumer(**self.conf(
                PLAINTEXT, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                session_timeout_ms=6000, heartbeat_interval_ms=500, max_poll_records=5))
            c.subscribe([topic])
            return c

        def read(c, n):
            out = []
            deadline = time.time() + 20
            while len(out) < n and time.time() < deadline:
                for _, msgs in c.poll(timeout_ms=500).items():
                    out.extend((m.offset, m.value.decode()) for m in msgs)
            return out

        c1 = member()
        try:
            first = read(c1, 5)[:5]
            check(first == [(i, "v%d" % i) for i in range(5)], "first member read %r" % first)
            c1.commit({tp: OffsetAndMetadata(5, "", -1)})
        finally:
            c1.close()
        c2 = member()
        try:
            cm = c2.committed(tp)
            check(cm == 5, "committed() before joining answered %r" % (cm,))
            rest = read(c2, 5)
            check(rest == [(i, "v%d" % i) for i in range(5, 10)], "second member read %r" % rest)
            cm2 = c2.committed(tp)
            check(cm2 == 5, "committed() as a member answered %r" % (cm2,))
            return "member 2 resumed at offset 5 (v5..v9); committed() = 5"
        finally:
            c2.close()

    def admin_topics(self):
        ka = self.kadmin
        a = self.admin()
        try:
            topic = name("admin")
            r = a.create_topics([ka.NewTopic(topic, 2, 1, topic_configs={"retention.ms": "3600000"})])
            self._check_topic_errors(r, "create_topics")
            wait_until(lambda: topic in a.list_topics(), 10, "created topic missing from list_topics")
            n = self._partitions(a, topic)
            check(n == 2, "describe_topics shows %r partitions, want 2" % n)
            self._check_topic_errors(a.create_partitions({topic: ka.NewPartitions(4)}),
                                     "create_partitions")
            wait_until(lambda: self._partitions(a, topic) == 4, 5,
                       "after create_partitions(4) describe_topics shows %r" % self._partitions(a, topic))
            self._check_topic_errors(a.delete_topics([topic]), "delete_topics")
            wait_until(lambda: topic not in a.list_topics(), 10, "deleted topic still in list_topics")
            return "create(2, retention.ms) / list / describe_topics = 2 / create_partitions -> 4 / delete"
        finally:
            a.close()

    def describe_configs(self):
        ka = self.kadmin
        a = self.admin()
        try:
            topic = name("configs")
            self._check_topic_errors(a.create_topics([ka.NewTopic(
                topic, 1, 1, topic_configs={"retention.ms": "3600000"})]), "create_topics")
            res = ka.ConfigResource(ka.ConfigResourceType.TOPIC, topic)
            cfg = self._configs(a, res)
            e = cfg.get("retention.ms")
            check(e is not None, "retention.ms missing from %d entries" % len(cfg))
            check(e["value"] == "3600000", "retention.ms = %r, set 3600000" % e["value"])
            check(e["config_source"] == "DYNAMIC_TOPIC_CONFIG",
                  "retention.ms source %r (not a topic override)" % e["config_source"])
            dflt = [k for k, v in cfg.items() if v["config_source"] == "DEFAULT_CONFIG"]
            check(dflt, "no entry marked default among %d" % len(cfg))
            new = ka.ConfigResource(ka.ConfigResourceType.TOPIC, topic, configs={"retention.ms": "7200000"})
            if self.v3:
                how = "alter_configs (IncrementalAlterConfigs)"
                r = a.alter_configs([new], incremental=True)
                check(r["topic"][topic] == "OK", "alter_configs answered %r" % r)
            else:
                how = "alter_configs (AlterConfigs)"
                r = a.alter_configs([new])
                check([x[0] for x in r.resources] == [0], "alter_configs answered %r" % r)
            cfg2 = self._configs(a, res)
            check(cfg2["retention.ms"]["value"] == "7200000",
                  "after alter_configs retention.ms = %r" % cfg2["retention.ms"]["value"])
            bid = str(sorted(b.get("broker_id", b.get("node_id")) for b in a.describe_cluster()["brokers"])[0])
            bres = ka.ConfigResource(ka.ConfigResourceType.BROKER, bid)
            bcfg = self._configs(a, bres)
            check(len(bcfg) > 0, "broker %s: no config entries" % bid)
            if "num.partitions" in bcfg:
                check(bcfg["num.partitions"]["value"] == "3",
                      "broker num.partitions = %r, started with 3" % bcfg["num.partitions"]["value"])
            a.delete_topics([topic])
            return ("retention.ms=3600000 (DYNAMIC_TOPIC_CONFIG, %d defaults), %s "
                    "-> 7200000, broker %s: %d entries" % (len(dflt), how, bid, len(bcfg)))
        finally:
            a.close()

    SOURCES = {1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG", 3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
               4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG", 6: "DYNAMIC_BROKER_LOGGER_CONFIG"}

    def _configs(self, a, res):
        """{name: {"value", "config_source"}} of one resource, every entry."""
        if self.v3:
            kind = "topic" if res.resource_type == self.kadmin.ConfigResourceType.TOPIC else "broker"
            return a.describe_configs([res], config_filter="all")[kind][res.name]
        out = {}
        for resp in a.describe_configs([res]):
            for code, msg, _, rname, entries in resp.resources:
                check(code == 0, "describe_configs %s: error %d %s" % (rname, code, msg))
                for ent in entries:
                    src = ent[3] if resp.API_VERSION >= 1 else (5 if ent[3] else 1)
                    out[ent[0]] = {"value": ent[1], "config_source": self.SOURCES.get(src, str(src))}
        return out

    def _bootstrap_fails(self, sec, pattern):
        """An admin client with `sec` must not get through bootstrap; the
        client's own log must show the error matching `pattern`."""
        mark = len(self.catcher.lines)
        t0 = time.time()
        try:
            a = self.admin(sec, request_timeout_ms=4000,
                           **({"bootstrap_timeout_ms": 4500} if self.v3 else {"api_version_auto_timeout_ms": 6000}))
        except (self.errors.KafkaError, _ssl.SSLError) as ex:
            # kafka-python 2.x lets a certificate error escape bootstrap as
            # ssl.SSLCertVerificationError instead of wrapping it.
            lines = self.catcher.lines[mark:] + [repr(ex)]
            hit = [line for line in lines if pattern in line]
            if not hit:
                lost = [line for line in lines if "socket disconnected" in line]
                raise Fail("bootstrap failed (%s) but the client reported no %s%s; its log: %s" % (
                    ex, pattern, " (it saw only 'socket disconnected': kafka-python's transport "
                    "drops a response that arrives together with the broker's close, "
                    "kafka/net/transport.py _read_from_sock)" if lost else "", lines[-2:]))
            return "refused in %.1fs: %s" % (time.time() - t0, hit[0][-160:])
        try:
            raise Fail("connected anyway (list_topics: %d topics)" % len(a.list_topics()))
        finally:
            a.close()

    def connects(self, sec):
        a = self.admin(sec, **({"bootstrap_timeout_ms": 8000} if self.v3 else {"api_version_auto_timeout_ms": 8000}))
        a.close()

    def refused(self, sec):
        return self._bootstrap_fails(sec, "SaslAuthenticationFailedError")

    def ssl_unverified_refused(self):
        return self._bootstrap_fails(ssl(None), "CERTIFICATE_VERIFY_FAILED")


# ---------------------------------------------------------------- scenarios (client-neutral)


def sc_produce_consume(c):
    topic = name("pc")
    c.create_topic(topic, 3)
    sent = pc_records()
    c.produce(topic, sent, **({"linger.ms": 20} if isinstance(c, Confluent) else {"linger_ms": 20}))
    got = c.read_all(topic, len(sent))
    return check_read_back(sent, got, True) + ", keys/values/headers intact, per-key order kept"


def sc_codec(c, codec):
    topic = name(codec)
    c.create_topic(topic, 3)
    sent = codec_records(codec)
    if isinstance(c, Confluent):
        c.produce(topic, sent, **{"compression.type": codec, "linger.ms": 100,
                                  "batch.num.messages": 1000})
    else:
        from kafka import codec as kc
        have = {"gzip": kc.has_gzip, "snappy": kc.has_snappy, "lz4": kc.has_lz4,
                "zstd": kc.has_zstd}[codec]()
        check(have, "kafka-python has no %s codec installed" % codec)
        c.produce(topic, sent, compression_type=codec, linger_ms=100, batch_size=65536)
    got = c.read_all(topic, len(sent))
    return "%s: %s" % (codec, check_read_back(sent, got, False))


def roundtrip(c, sec, tag):
    c.connects(sec)
    topic = name(tag)
    c.create_topic(topic, 1, sec=sec)
    sent = small_records(tag)
    c.produce(topic, sent, sec=sec)
    got = c.read_all(topic, len(sent), sec=sec)
    check_read_back(sent, got, True)


def refused(c, sec, done):
    try:
        return c.refused(sec)
    except Fail as ex:
        raise Fail("%s; wrong password: %s" % (done, ex))


def sc_sasl_plain(c):
    u, pw = ENV["KC_PLAIN_USER"], ENV["KC_PLAIN_PASSWORD"]
    roundtrip(c, sasl("PLAIN", u, pw), "plain")
    done = "10 records over SASL_PLAINTEXT/PLAIN"
    return "%s; wrong password %s" % (done, refused(c, sasl("PLAIN", u, "wrong-" + pw), done))


def sc_sasl_scram(c):
    """Both mechanisms are always tried; the scenario fails if either does."""
    u, pw = ENV["KC_SCRAM_USER"], ENV["KC_SCRAM_PASSWORD"]
    out, failed = [], False
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        try:
            roundtrip(c, sasl(mech, u, pw), mech.lower())
            out.append("%s: 10 records" % mech)
        except Fail as ex:
            out.append("%s: %s" % (mech, ex))
            failed = True
            continue
        try:
            out[-1] += "; wrong password " + c.refused(sasl(mech, u, "wrong-" + pw))
        except Fail as ex:
            out[-1] += "; wrong password: %s" % ex
            failed = True
    if failed:
        raise Fail(" | ".join(out))
    return " | ".join(out)


def sc_tls(c):
    roundtrip(c, ssl(ENV["KC_CA_PEM"]), "tls")
    return "10 records over SSL verified against the run's CA (hostname checked); without the CA: %s" % (
        c.ssl_unverified_refused(),)


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if which == "confluent":
        c = Confluent()
    elif which == "kafka-python":
        c = KafkaPython()
    else:
        raise SystemExit("usage: py_adapter.py confluent|kafka-python")
    log("py_adapter: %s under %s %s" % (c.label, sys.executable, sys.version.split()[0]))
    table = {
        "produce-consume": lambda: sc_produce_consume(c),
        "gzip": lambda: sc_codec(c, "gzip"),
        "snappy": lambda: sc_codec(c, "snappy"),
        "lz4": lambda: sc_codec(c, "lz4"),
        "zstd": lambda: sc_codec(c, "zstd"),
        "group-rebalance": c.group_rebalance,
        "committed-offsets": c.committed_offsets,
        "admin-topics": c.admin_topics,
        "describe-configs": c.describe_configs,
        "sasl-plain": lambda: sc_sasl_plain(c),
        "sasl-scram": lambda: sc_sasl_scram(c),
        "tls": lambda: sc_tls(c),
    }
    only = ENV.get("KC_ONLY", "").split(",") if ENV.get("KC_ONLY") else SCENARIOS
    for sc in SCENARIOS:
        if sc not in only:
            continue
        t0 = time.time()
        try:
            detail = table[sc]()
            status = "PASS"
        except NA as ex:
            status, detail = "N/A", str(ex)
        except Fail as ex:
            status, detail = "FAIL", str(ex)
        except Exception as ex:  # the client raised: that is a failure of the scenario
            traceback.print_exc()
            status, detail = "FAIL", "%s: %s" % (type(ex).__name__, ex)
        detail = " ".join(str(detail).split())
        log("py_adapter: %s %s in %.1fs" % (sc, status, time.time() - t0))
        print("RESULT %s %s %s [%s] (%.1fs)" % (sc, status, detail, c.label, time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
