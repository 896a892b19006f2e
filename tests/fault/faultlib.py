"""Shared pieces of the fault-injection tests: the daemons (started on free
loopback ports in a temp dir, optionally under libfaultfs.so), the records
the producers send and the counts line each test prints.

Environment (set by tests/fault/meson.build):
  KAVKA_BROKER, KAVKA_METASTORE  the daemons (default <repo>/build/...)
  KAVKA_FAULTFS                  libfaultfs.so (default <repo>/build/tests/fault/)
"""

import atexit
import copy
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import kproto  # noqa: E402  (the integration suite's small Kafka wire client)
from testports import free_port  # noqa: E402,F401  (unique across parallel test processes)

HOST = "127.0.0.1"
KAFKA_STORAGE_ERROR = 56
API_OFFSET_COMMIT = 8

COUNTS = []   # the counts lines, repeated in the terminal summary (conftest.py)
_live = set()
atexit.register(lambda: [d.kill() for d in list(_live)])


def _die_with_test():
    """In the daemon, before exec: SIGKILL it when the test process dies, even
    by a signal or an abort in a client library, so no daemon outlives it."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def binary(env, *default):
    path = os.environ.get(env) or os.path.join(REPO, "build", *default)
    if not os.access(path, os.R_OK):
        pytest.fail("%s not found at %s (build it, or set %s)" % (env, path, env))
    return path


def faultfs():
    return binary("KAVKA_FAULTFS", "tests", "fault", "libfaultfs.so")


def counts(name, **kv):
    """Prints the counts line of a case and keeps it for the summary."""
    line = "%s: %s" % (name, ", ".join("%s %s" % (k.replace("_", " "), v) for k, v in kv.items()))
    COUNTS.append(line)
    print(line, flush=True)
    return line


def detail(line):
    """A line of detail under the last counts line, in the summary too."""
    COUNTS.append("    " + line)
    print(line, flush=True)


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l for l in f.read().splitlines() if l.strip()]


def shim_env(path=None, ops=None, after=None, count=None, errno=None, mode=None, events=None,
             synclog=None):
    """The environment that runs a daemon under libfaultfs.so."""
    env = {"LD_PRELOAD": faultfs()}
    for k, v in (("FAULTFS_PATH", path), ("FAULTFS_OP", ops), ("FAULTFS_AFTER", after),
                 ("FAULTFS_COUNT", count), ("FAULTFS_ERRNO", errno), ("FAULTFS_MODE", mode),
                 ("FAULTFS_EVENTS", events), ("FAULTFS_SYNCLOG", synclog)):
        if v is not None:
            env[k] = str(v)
    return env


class Daemon:
    """A process with a fixed port and data dir across restarts; every start
    gets its own log file, and may get its own extra environment (the shim)."""

    name = "daemon"

    def __init__(self, workdir):
        self.workdir = os.path.realpath(str(workdir))
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.starts = 0
        self.log_path = None

    def command(self):
        raise NotImplementedError

    def ready(self, deadline):
        raise NotImplementedError

    def start(self, env=None, timeout=60):
        assert not self.running(), "%s already running" % self.name
        self.starts += 1
        self.log_path = os.path.join(self.workdir, "%s-%d.log" % (self.name, self.starts))
        full = {k: v for k, v in os.environ.items()
                if not k.startswith("FAULTFS_") and k != "LD_PRELOAD"}
        full.update(env or {})
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir, env=full,
                                         start_new_session=True, preexec_fn=_die_with_test)
        _live.add(self)
        try:
            self.ready(time.monotonic() + timeout)
        except Exception as e:
            self.kill()
            pytest.fail("%s did not start: %s\n--- its output ---\n%s" % (
                self.name, e, self.log_tail()), pytrace=False)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (the process group: nothing of it survives) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(30)
        _live.discard(self)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status (negative: a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail("%s ignored SIGTERM for %ds" % (self.name, timeout), pytrace=False)
        _live.discard(self)
        return self.proc.returncode

    def wait_exit(self, timeout):
        """The exit status if it exits within timeout, else None."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, n=40):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])


class Metastore(Daemon):
    name = "metastore"

    def __init__(self, workdir, config=None):
        super().__init__(workdir)
        self.data_dir = os.path.join(self.workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.config = {"tickTime": "200", "4lw.commands.whitelist": "*"}
        self.config.update(config or {})

    @property
    def hosts(self):
        return "%s:%d" % (HOST, self.port)

    def command(self):
        path = os.path.join(self.workdir, "zoo.cfg")
        with open(path, "w") as f:
            f.write("clientPort=%d\ndataDir=%s\n" % (self.port, self.data_dir))
            for kv in self.config.items():
                f.write("%s=%s\n" % kv)
        return [binary("KAVKA_METASTORE", "metastore", "kavka-metastore"), path]

    def ready(self, deadline):
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("exited with status %s" % self.proc.returncode)
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as s:
                    s.sendall(b"ruok")
                    if s.recv(4) == b"imok":
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError("no answer to ruok on port %d" % self.port)


class Broker(Daemon):
    name = "broker"

    def __init__(self, workdir, overrides=None):
        super().__init__(workdir)
        self.log_dirs = os.path.join(self.workdir, "logs")
        os.makedirs(self.log_dirs, exist_ok=True)
        self.overrides = dict(overrides or {})

    @property
    def bootstrap(self):
        return "%s:%d" % (HOST, self.port)

    def command(self):
        props = {"broker.id": "1", "listeners": "PLAINTEXT://%s:%d" % (HOST, self.port),
                 "log.dirs": self.log_dirs, "num.partitions": "1",
                 "auto.create.topics.enable": "true"}
        props.update(self.overrides)
        path = os.path.join(self.workdir, "server.properties")
        with open(path, "w") as f:
            for kv in props.items():
                f.write("%s=%s\n" % kv)
        return [binary("KAVKA_BROKER", "broker", "kavka-broker"), path]

    def ready(self, deadline):
        kproto.wait_ready(HOST, self.port, deadline, lambda: self.proc.poll() is None)

    def probe_produce(self, topic, partition=0):
        """One plain (non-idempotent) acks=all Produce: its error code, or None
        when the broker does not answer at all."""
        batch = kproto.record_batch([(b"probe", b"probe", ())])
        try:
            with kproto.Conn(HOST, self.port, timeout=10) as c:
                return c.produce(topic, partition, batch)[0]
        except (OSError, kproto.ProtocolError):
            return None


def start_both(ms, broker, ms_env=None, broker_env=None):
    """Starts the pair; a start that fails (after a kill or a cut) is a
    finding, returned as a list of problems rather than raised, so that the
    test still prints its counts."""
    try:
        ms.start(ms_env)
        broker.start(broker_env)
    except pytest.fail.Exception as e:
        return [str(e)]
    return []


# ---------------------------------------------------------------- records

def value(seq):
    """Record value carrying its sequence number, with a payload checkable
    byte for byte (a torn or mixed-up record shows as corrupt)."""
    return b"seq=%08d;" % seq + random.Random(seq).randbytes(20 + seq % 180)


def parse_value(v):
    """seq, or None when the value is not one of ours or is damaged."""
    if not v or not v.startswith(b"seq=") or len(v) < 13 or v[12:13] != b";":
        return None
    try:
        seq = int(v[4:12])
    except ValueError:
        return None
    return seq if v == value(seq) else None


def checker(bootstrap, group="fault-verify"):
    """A consumer for consume_all and for reading the committed offsets of
    its group (it commits nothing itself): one can serve a whole test, across
    broker restarts (creating and closing one costs up to a second)."""
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "enable.auto.commit": False, "check.crcs": True,
                     "auto.offset.reset": "earliest", "enable.partition.eof": True,
                     "fetch.error.backoff.ms": 50, "reconnect.backoff.max.ms": 200,
                     "topic.metadata.refresh.interval.ms": 1000})


def consume_all(cons, topic, partitions, timeout=60):
    """Every record of the partitions, from the log start to the high
    watermark at the time of the call, CRCs checked by librdkafka.  cons is
    a checker() or a bootstrap address.  Returns (values, errors)."""
    from confluent_kafka import KafkaError, TopicPartition
    if isinstance(cons, str):
        cons = checker(cons)
        try:
            return consume_all(cons, topic, partitions, timeout)
        finally:
            cons.close()
    values, errors = [], []
    ends = {}
    deadline = time.monotonic() + timeout
    for p in partitions:
        while True:
            try:
                lo, hi = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                break
            except Exception as e:  # noqa: BLE001 (the broker may still be loading)
                if time.monotonic() > deadline:
                    raise AssertionError("no watermarks for %s-%d: %s" % (topic, p, e))
                time.sleep(0.1)
        if hi > lo:
            ends[p] = (lo, hi)
    cons.assign([TopicPartition(topic, p, lo) for p, (lo, _hi) in ends.items()])
    try:
        pos = {p: lo for p, (lo, _hi) in ends.items()}
        ends = {p: hi for p, (_lo, hi) in ends.items()}
        while any(pos[p] < ends[p] for p in ends):
            if time.monotonic() > deadline:
                raise AssertionError("consuming %s stalled at %s of %s" % (topic, pos, ends))
            for m in cons.consume(500, 0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        pos[m.partition()] = max(pos[m.partition()], m.offset())
                        continue
                    errors.append(str(m.error()))
                    if len(errors) > 20:
                        return values, errors
                    continue
                p = m.partition()
                if p in pos and m.offset() < ends[p]:
                    values.append(m.value())
                    pos[p] = m.offset() + 1
        return values, errors
    finally:
        cons.unassign()


def tally(values):
    """(seqs present -> count, corrupt count)"""
    seen, corrupt = {}, 0
    for v in values:
        seq = parse_value(v)
        if seq is None:
            if v != b"probe":
                corrupt += 1
            continue
        seen[seq] = seen.get(seq, 0) + 1
    return seen, corrupt


# ---------------------------------------------------------------- workload

def offset_commit(conn, group, topic, offsets):
    """OffsetCommit v2 (generation -1, no member: a standalone commit) of
    {partition: offset}; returns {partition: error code}."""
    body = kproto.string(group) + struct.pack(">i", -1) + kproto.string("") + struct.pack(">q", -1)
    body += struct.pack(">i", 1) + kproto.string(topic) + struct.pack(">i", len(offsets))
    for p, off in sorted(offsets.items()):
        body += struct.pack(">iq", p, off) + kproto.string("")
    r = conn.request(API_OFFSET_COMMIT, 2, body)
    out = {}
    for _name, parts in r.array(lambda: (r.string(), r.array(lambda: (r.int32(), r.int16())))):
        for p, err in parts:
            out[p] = err
    return out


class Ledger:
    """What the clients were told succeeded, across daemon restarts."""

    def __init__(self, topic, partitions, group, zroot):
        self.topic, self.partitions, self.group, self.zroot = topic, partitions, group, zroot
        self.next_seq = 0
        self.acked = set()        # record seqs acknowledged (acks=all)
        self.commit_acked = {}    # partition -> highest offset whose commit was acknowledged
        self.commit_tried = {}    # partition -> highest offset ever sent in a commit
        self.commit_acks = 0      # commits acknowledged
        self.next_commit = 1
        self.znodes = {}          # path -> data, creates acknowledged
        self.next_znode = 0


def znode_data(i):
    return b"z%08d;" % i + random.Random(-1 - i).randbytes(8 + i % 40)


class Workload:
    """acks=all idempotent produce, consumer-group offset commits (OffsetCommit
    with generation -1, as a tool or an assign() consumer sends it) and kazoo
    creates, each from its own thread.  The
    clients live as long as the workload, across daemon kills and restarts,
    as applications do: an unacknowledged record is retried to the next
    incarnation, which must not store it twice (the broker rebuilds the
    producers' state from its log).  An outcome enters the ledger only when
    the client reports success.  quiesce() and drain() stop it for a check."""

    def __init__(self, ledger, broker, ms, pace=0.02):
        from confluent_kafka import Producer
        from kazoo.client import KazooClient
        self.l, self.pace = ledger, pace
        self.stop_ev = threading.Event()
        self.run_ev = threading.Event()
        self.prod = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                              "acks": "all", "linger.ms": 2, "message.timeout.ms": 60000,
                              "retry.backoff.ms": 50, "reconnect.backoff.max.ms": 200})
        # Commits go over a raw connection (kproto): librdkafka's admin
        # client aborts (an assertion in rd_kafka_admin_coord_response_parse,
        # 2.6.1) when its requests time out across broker restarts.
        self.port, self.conn = broker.port, None
        self.zk = KazooClient(hosts=ms.hosts, timeout=4,
                              connection_retry=dict(max_tries=-1, delay=0.05, max_delay=0.2))
        self.zk.start(timeout=15)
        steps = (self._produce, self._commit, self._create)
        self.idle = [threading.Event() for _ in steps]
        self.threads = [threading.Thread(target=self._loop, args=(f, ev), daemon=True)
                        for f, ev in zip(steps, self.idle)]
        self.fatal = []
        for t in self.threads:
            t.start()

    def _loop(self, step, idle):
        while not self.stop_ev.is_set():
            if not self.run_ev.is_set():
                idle.set()
                self.run_ev.wait(0.05)
                continue
            idle.clear()
            if self.run_ev.is_set():
                step()

    def resume(self):
        self.run_ev.set()

    def quiesce(self, timeout=30):
        """Stops issuing requests; returns once no thread is inside one.  Called
        right after a kill, before the restart, so that the check after the
        restart sees what the old incarnation acknowledged, not newer commits
        or znodes."""
        self.run_ev.clear()
        deadline = time.monotonic() + timeout
        for ev in self.idle:
            ev.wait(max(0, deadline - time.monotonic()))

    def drain(self, timeout=60):
        """Waits for the producer's queued and retried records to be answered
        by the restarted broker; returns how many are still undelivered."""
        return self.prod.flush(timeout)

    def wait_first_ack(self, timeout=30):
        """A freshly created topic takes the producer a metadata refresh."""
        deadline = time.monotonic() + timeout
        n = len(self.l.acked)
        while len(self.l.acked) == n and time.monotonic() < deadline:
            time.sleep(0.02)

    # -- producer: about 10 / (5 ms + pace) records a second
    def _delivered(self, seq):
        def cb(err, msg):
            if err is None:
                self.l.acked.add(seq)
            elif err.fatal() and len(self.fatal) < 5:
                self.fatal.append(str(err))
        return cb

    def _produce(self):
        for _ in range(10):
            seq = self.l.next_seq
            try:
                self.prod.produce(self.l.topic, value=value(seq),
                                  partition=seq % self.l.partitions,
                                  on_delivery=self._delivered(seq))
            except BufferError:
                self.prod.poll(0.05)
                return
            except Exception as e:  # noqa: BLE001 (a fatal producer error)
                if len(self.fatal) < 5:
                    self.fatal.append("produce: %r" % e)
                time.sleep(0.1)
                return
            self.l.next_seq += 1
            self.prod.poll(0)
        time.sleep(0.005 + self.pace)   # a steady stream, not one burst

    # -- offset commits: one at a time, so none can overtake another
    def _commit(self):
        off = self.l.next_commit
        self.l.next_commit += 1
        for p in range(self.l.partitions):
            self.l.commit_tried[p] = off
        try:
            if self.conn is None:
                self.conn = kproto.Conn(HOST, self.port, timeout=5)
            errs = offset_commit(self.conn, self.l.group, self.l.topic,
                                 {p: off for p in range(self.l.partitions)})
        except (OSError, kproto.ProtocolError):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            time.sleep(0.05)
            return
        for p, err in errs.items():
            if err == 0 and off > self.l.commit_acked.get(p, -1):
                self.l.commit_acked[p] = off
        self.l.commit_acks += 1
        time.sleep(self.pace)

    # -- znodes
    def _create(self):
        i = self.l.next_znode
        self.l.next_znode += 1
        try:
            path = self.zk.create_async(self.l.zroot + "/n-", znode_data(i),
                                        sequence=True).get(timeout=2)
        except Exception:  # noqa: BLE001 (outcome unknown: not acknowledged)
            time.sleep(0.05)
            return
        self.l.znodes[path] = znode_data(i)
        time.sleep(self.pace)

    def close(self):
        self.stop_ev.set()
        self.run_ev.set()
        for t in self.threads:
            t.join(30)
        self.prod.purge(in_queue=True, in_flight=True, blocking=False)
        self.prod.flush(0)
        self.zk.stop()
        self.zk.close()
        if self.conn is not None:
            self.conn.close()
        self.prod = self.zk = self.conn = None


def verify(ledger, broker, ms, cons=None):
    """Checks everything in the ledger against running daemons (cons: a
    checker() of the ledger's group, to reuse).  Returns (numbers, problems):
    numbers has acknowledged, recovered, lost, corrupt, duplicated (records,
    last committed offsets and znodes together)."""
    problems = []
    # A snapshot: an acknowledgement arriving during the check cannot count.
    ledger = copy.copy(ledger)
    ledger.acked, ledger.znodes = set(ledger.acked), dict(ledger.znodes)
    ledger.commit_acked, ledger.commit_tried = dict(ledger.commit_acked), dict(ledger.commit_tried)
    own = cons is None
    if own:
        cons = checker(broker.bootstrap, ledger.group)
    try:
        return _verify(ledger, ms, cons, problems)
    finally:
        if own:
            cons.close()


def _verify(ledger, ms, cons, problems):
    from confluent_kafka import TopicPartition
    from kazoo.client import KazooClient
    values, errors = consume_all(cons, ledger.topic, range(ledger.partitions))
    seen, corrupt = tally(values)
    corrupt += len(errors)
    if errors:
        problems.append("consume errors (CRC or otherwise): %s" % errors[:5])
    lost_recs = sorted(s for s in ledger.acked if s not in seen)
    dup_recs = sorted(s for s, n in seen.items() if n > 1)
    if lost_recs:
        problems.append("%d acknowledged records lost: %s" % (len(lost_recs), lost_recs[:10]))
    if dup_recs:
        problems.append("%d records stored twice: %s" % (len(dup_recs), dup_recs[:10]))
    if corrupt:
        problems.append("%d corrupt records" % corrupt)

    got = cons.committed([TopicPartition(ledger.topic, p) for p in range(ledger.partitions)],
                         timeout=30)
    lost_commits = 0
    for tp in got:
        want = ledger.commit_acked.get(tp.partition)
        tried = ledger.commit_tried.get(tp.partition, -1)
        if want is not None and (tp.error is not None or tp.offset < want):
            lost_commits += 1
            problems.append("committed offset of partition %d is %s (error %s), but %d was "
                            "acknowledged" % (tp.partition, tp.offset, tp.error, want))
        elif tp.offset > tried:
            corrupt += 1
            problems.append("committed offset of partition %d is %d, never sent (highest "
                            "sent %d)" % (tp.partition, tp.offset, tried))

    zk = KazooClient(hosts=ms.hosts, timeout=4)
    zk.start(timeout=15)
    try:
        stored = {}
        if zk.exists(ledger.zroot):
            # Pipelined: thousands of znodes in one round trip's time.
            gets = [(ledger.zroot + "/" + name, zk.get_async(ledger.zroot + "/" + name))
                    for name in zk.get_children(ledger.zroot)]
            for path, g in gets:
                stored[path] = g.get(timeout=30)[0]
    finally:
        zk.stop()
        zk.close()
    lost_z = sorted(p for p in ledger.znodes if p not in stored)
    bad_z = sorted(p for p in ledger.znodes if p in stored and stored[p] != ledger.znodes[p])
    by_data = {}
    for d in stored.values():
        by_data[d] = by_data.get(d, 0) + 1
    dup_z = sum(1 for n in by_data.values() if n > 1)
    if lost_z:
        problems.append("%d acknowledged znodes lost: %s" % (len(lost_z), lost_z[:5]))
    if bad_z:
        problems.append("%d znodes with wrong data: %s" % (len(bad_z), bad_z[:5]))
    if dup_z:
        problems.append("%d znode data stored twice" % dup_z)

    # Commits count once per partition: its last acknowledged offset.
    acknowledged = len(ledger.acked) + len(ledger.commit_acked) + len(ledger.znodes)
    lost = len(lost_recs) + lost_commits + len(lost_z)
    numbers = dict(acknowledged=acknowledged, recovered=acknowledged - lost, lost=lost,
                   corrupt=corrupt + len(bad_z), duplicated=len(dup_recs) + dup_z)
    return numbers, problems
