"""Fixtures that start a broker on a free loopback port in a temp dir.

KAVKA_TEST_TARGET selects the broker:
  kavka (default)  KAVKA_BROKER or <repo>/build/broker/kavka-broker
  kafka            the Apache Kafka reference, tests/clients/kafka-reference
The same tests run against both: the Kafka run proves the tests can pass and
that what they check is what Kafka does.

Every broker started here is killed at teardown, and again at interpreter exit
as a last resort, so a failing test never leaves one running.
"""

import atexit
import os
import re
import signal
import subprocess
import time

import pytest

import kproto
from testports import free_port  # noqa: F401  (unique across parallel test processes)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLIENTS = os.path.join(REPO, "tests", "clients")
HOST = "127.0.0.1"

TARGET = os.environ.get("KAVKA_TEST_TARGET", "kavka")
if TARGET not in ("kavka", "kafka"):
    raise SystemExit("KAVKA_TEST_TARGET must be kavka or kafka, not %r" % TARGET)

# Sanitizer reports in a broker's output fail the test that ran it.
SANITIZER_RE = re.compile(
    rb"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error: |UndefinedBehaviorSanitizer")

_live = set()


def _kill_all_live():
    for b in list(_live):
        b.kill()


atexit.register(_kill_all_live)


def kavka_binary():
    path = os.environ.get("KAVKA_BROKER") or os.path.join(REPO, "build", "broker", "kavka-broker")
    if not os.access(path, os.X_OK):
        pytest.fail("kavka broker binary not found at %s (build it, or set KAVKA_BROKER, "
                    "or KAVKA_TEST_TARGET=kafka)" % path)
    return path


class Broker:
    """One broker process bound to a fixed port and data dir across restarts."""

    def __init__(self, workdir, overrides=None, env=None):
        self.workdir = str(workdir)
        self.env = dict(env or {})  # extra environment, e.g. KAFKA_OPTS with a JAAS file
        self.port = free_port()
        self.controller_port = free_port()
        self.log_dirs = os.path.join(self.workdir, "logs")
        self.overrides = dict(overrides or {})
        self.proc = None
        self.starts = 0
        self.log_path = None

    @property
    def bootstrap(self):
        return "%s:%d" % (HOST, self.port)

    def properties(self):
        props = {
            "listeners": "PLAINTEXT://%s:%d" % (HOST, self.port),
            "log.dirs": self.log_dirs,
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
        }
        if TARGET == "kavka":
            props["broker.id"] = "1"
        else:
            # Kafka's own listener set is written by the launcher; retention
            # checks start after a 30 s delay unless told otherwise.
            del props["listeners"]
            del props["log.dirs"]
            props["log.initial.task.delay.ms"] = "0"
            # After kill -9 the controller keeps the dead incarnation's
            # session until it times out; shorten that wait for restarts.
            props["broker.heartbeat.interval.ms"] = "500"
            props["broker.session.timeout.ms"] = "2000"
        props.update(self.overrides)
        return props

    def command(self):
        props = self.properties()
        if TARGET == "kafka":
            return [os.path.join(CLIENTS, "kafka-reference"), self.workdir, str(self.port)] + [
                "%s=%s" % kv for kv in props.items()]
        path = os.path.join(self.workdir, "server.properties")
        with open(path, "w") as f:
            for kv in props.items():
                f.write("%s=%s\n" % kv)
        return [kavka_binary(), path]

    def start(self, timeout=None):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        os.makedirs(self.workdir, exist_ok=True)
        self.starts += 1
        self.log_path = os.path.join(self.workdir, "broker-%d.log" % self.starts)
        env = dict(os.environ, CONTROLLER_PORT=str(self.controller_port))
        env.update(self.env)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir,
                                         start_new_session=True, env=env)
        _live.add(self)
        if timeout is None:
            timeout = 90 if TARGET == "kafka" else 30
        try:
            kproto.wait_ready(HOST, self.port, time.monotonic() + timeout,
                              lambda: self.proc.poll() is None)
        except Exception as e:
            self.kill()
            pytest.fail("broker did not start: %s\n--- broker output ---\n%s" % (e, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM and wait: returns the exit status; fails if it hangs."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("broker ignored SIGTERM for %ds" % timeout)
        _live.discard(self)
        return rc

    def kill(self):
        """SIGKILL the broker's own process group (it may have children)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        _live.discard(self)

    def restart(self, sig=signal.SIGTERM):
        if sig == signal.SIGKILL:
            self.kill()
        else:
            self.stop()
        self.start()

    def log_tail(self, n=60):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def sanitizer_reports(self):
        out = []
        for name in sorted(os.listdir(self.workdir)):
            if name.startswith("broker-") and name.endswith(".log"):
                with open(os.path.join(self.workdir, name), "rb") as f:
                    data = f.read()
                m = SANITIZER_RE.search(data)
                if m:
                    out.append("%s: %s" % (name, data[max(0, m.start() - 200):m.start() + 3000]
                                           .decode(errors="replace")))
        return out

    def partition_dir(self, topic, partition):
        return os.path.join(self.log_dirs, "%s-%d" % (topic, partition))

    def conn(self, timeout=10.0):
        return kproto.Conn(HOST, self.port, timeout)

    def offsets(self, topic, partitions, which):
        with self.conn() as c:
            res = c.list_offsets(topic, list(partitions), which)
        for p, (err, _off) in res.items():
            assert err == 0, "ListOffsets %s-%d: error %d" % (topic, p, err)
        return {p: off for p, (_err, off) in res.items()}


def _finish(broker, request):
    # A clean stop runs the broker's shutdown path, where leak checkers report.
    try:
        if broker.running():
            broker.stop()
    finally:
        broker.kill()
    reports = broker.sanitizer_reports()
    if reports:
        pytest.fail("sanitizer report from broker:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture
def broker_factory(tmp_path, request):
    """Returns start(**overrides) -> Broker; each started broker is stopped at teardown."""
    made = []

    def start(overrides=None, name=None):
        b = Broker(tmp_path / (name or "broker%d" % len(made)), overrides)
        made.append(b)
        b.start()
        return b

    yield start
    for b in made:
        _finish(b, request)


def module_broker(overrides=None):
    """Makes a module-scoped fixture: one broker shared by a module's tests,
    which must then use distinct topics."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory, request):
        b = Broker(tmp_path_factory.mktemp("shared"), overrides)
        b.start()
        yield b
        _finish(b, request)

    return fixture


shared_broker = module_broker()


def unique_topic(prefix):
    unique_topic.n += 1
    return "%s-%d-%d" % (prefix, os.getpid() % 10000, unique_topic.n)


unique_topic.n = 0
