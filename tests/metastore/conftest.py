"""Fixtures that start kavka-metastore (or Apache ZooKeeper, for the
differential test) on a free loopback port in a temp dir.

KAVKA_METASTORE names the binary (default <repo>/build/metastore/kavka-metastore).
Every server started here is killed at teardown, and again at interpreter
exit, so a failing test leaves nothing running."""

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from testports import free_port  # noqa: E402,F401  (unique across parallel test processes)
JARS = os.path.join(REPO, "tests", "clients", "jars", "*")
HOST = "127.0.0.1"
SANITIZER_RE = re.compile(
    rb"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error: |UndefinedBehaviorSanitizer")

_live = set()
atexit.register(lambda: [s.kill() for s in list(_live)])


def wait_port(port, proc, log_path, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s:\n%s" % (proc.returncode, open(log_path).read()[-3000:]))
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d" % port)


def metastore_binary():
    path = os.environ.get("KAVKA_METASTORE") or os.path.join(REPO, "build", "metastore", "kavka-metastore")
    if not os.access(path, os.X_OK):
        pytest.fail("kavka-metastore not found at %s (build it or set KAVKA_METASTORE)" % path)
    return path


class Server:
    """A server process with a fixed port and data dir across restarts."""

    def __init__(self, workdir, config=None, env=None):
        self.workdir = str(workdir)
        self.port = free_port()
        self.data_dir = os.path.join(self.workdir, "data")
        self.config = {"tickTime": "200", "4lw.commands.whitelist": "*"}
        self.config.update(config or {})
        self.env = dict(env or {})
        self.proc = None
        self.preexec = None  # run in the child before exec (e.g. setrlimit)
        self.starts = 0
        self.log_path = None

    @property
    def hosts(self):
        return "%s:%d" % (HOST, self.port)

    def write_config(self):
        path = os.path.join(self.workdir, "zoo.cfg")
        with open(path, "w") as f:
            f.write("clientPort=%d\ndataDir=%s\n" % (self.port, self.data_dir))
            for k, v in self.config.items():
                f.write("%s=%s\n" % (k, v))
        return path

    def command(self, cfg):
        return [metastore_binary(), cfg]

    def start(self):
        cfg = self.write_config()
        self.starts += 1
        self.log_path = os.path.join(self.workdir, "server-%d.log" % self.starts)
        env = dict(os.environ)
        env.update(self.env)
        self.proc = subprocess.Popen(self.command(cfg), stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                     preexec_fn=self.preexec)
        _live.add(self)
        wait_port(self.port, self.proc, self.log_path)
        return self

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _live.discard(self)

    def stop(self):
        """SIGTERM; returns the exit code (a clean stop is 0)."""
        self.kill(signal.SIGTERM)
        return self.proc.returncode

    def check_sanitizers(self):
        if self.log_path and os.path.exists(self.log_path) and SANITIZER_RE.search(self.log()):
            pytest.fail("sanitizer report in %s:\n%s" % (self.log_path, self.log().decode(errors="replace")[-4000:]))


class ZooKeeper(Server):
    """Apache ZooKeeper from the Maven jars (the reference)."""

    def command(self, cfg):
        return ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false",
                "-Dzookeeper.4lw.commands.whitelist=*", "-cp", JARS,
                "org.apache.zookeeper.server.ZooKeeperServerMain", cfg]


@pytest.fixture
def make_server(tmp_path):
    made = []

    def make(config=None, env=None, cls=Server, start=True):
        d = tmp_path / ("srv%d" % len(made))
        d.mkdir()
        s = cls(d, config, env)
        made.append(s)
        return s.start() if start else s

    yield make
    for s in made:
        s.kill()
    for s in made:
        if not isinstance(s, ZooKeeper):
            s.check_sanitizers()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def kazoo_client(server):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=server.hosts, timeout=5)
    zk.start(timeout=10)
    yield zk
    zk.stop()
    zk.close()


def four_letter(port, word):
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode()
            out += b


def zkcli(hosts, commands, jvm_flags=(), timeout=60):
    """Runs zkCli (ZooKeeperMain) feeding `commands` on stdin, one JVM."""
    cmd = ["java", "-Xmx128m", *jvm_flags, "-cp", JARS, "org.apache.zookeeper.ZooKeeperMain",
           "-server", hosts]
    p = subprocess.run(cmd, input="\n".join(commands) + "\nquit\n", capture_output=True,
                       text=True, timeout=timeout)
    return p.stdout + p.stderr
