"""Issue 13: the README's first command on a fresh Debian 12 machine.

A container of debian:bookworm-slim (the base image scripts/bootstrap makes
with debootstrap: Debian's minbase, nothing else installed) gets the checkout
copied in and runs `scripts/quickstart` as root, as the README says.  From
outside, real clients then check that it serves: kcat produces and consumes a
record on 127.0.0.1:9092 and kazoo lists /brokers/ids on 127.0.0.1:2181.
Then SIGTERM must stop quickstart with exit 0, and the container must hold no
JVM, Node, Go or pip: quickstart installs what building and running need,
from Debian only.

The container shares the host's network (quickstart serves on the loopback,
as it does for a user), so ports 2181 and 9092 must be free on this machine.
How long quickstart took is printed, never asserted."""

import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONF = os.path.join(REPO, "deploy", "containers.conf")
IMAGE = "docker.io/library/debian:bookworm-slim"
ENV = dict(os.environ, CONTAINERS_CONF=CONF)
STARTED = "kavka broker 0 started"


def run(cmd, timeout=120, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, env=ENV, **kw)
    if check and r.returncode != 0:
        pytest.fail("%s failed (%d):\n%s\n%s" % (" ".join(cmd), r.returncode,
                                                 r.stdout.decode()[-3000:], r.stderr.decode()[-3000:]))
    return r


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def checkout_tar(path):
    """The files of the checkout as git sees them (tracked and new, not ignored):
    what a fresh clone plus this change holds, without build dirs or venvs."""
    names = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=True).stdout
    with tarfile.open(path, "w") as tar:
        for name in sorted(set(names.decode().split("\0"))):
            if name and os.path.lexists(os.path.join(REPO, name)):
                tar.add(os.path.join(REPO, name), arcname=name, recursive=False)


@pytest.fixture
def container():
    for tool in ("podman", "kcat", "git"):
        if not shutil.which(tool):
            pytest.fail("%s is needed (scripts/bootstrap installs it)" % tool)
    if run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        pytest.fail("no %s image (scripts/bootstrap makes it with debootstrap)" % IMAGE)
    busy = [p for p in (2181, 9092) if not port_free(p)]
    if busy:
        pytest.fail("127.0.0.1 port(s) %s in use on this machine: quickstart serves there" % busy)
    name = "kavka-fresh-" + uuid.uuid4().hex[:8]
    run(["podman", "run", "-d", "--network", "host", "--name", name, IMAGE, "sleep", "infinity"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tar = os.path.join(tmp, "src.tar")
            checkout_tar(tar)
            run(["podman", "cp", tar, name + ":/tmp/src.tar"])
        run(["podman", "exec", name, "sh", "-c", "mkdir /src && tar -xf /tmp/src.tar -C /src"])
        yield name
    finally:
        run(["podman", "rm", "-f", "-t", "0", name], check=False)


def test_quickstart_on_fresh_debian(container, tmp_path):
    log_path = tmp_path / "quickstart.log"
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        qs = subprocess.Popen(["podman", "exec", container, "bash", "-c",
                               "cd /src && echo $$ >/tmp/quickstart.pid && exec scripts/quickstart"],
                              stdout=log, stderr=subprocess.STDOUT, env=ENV)
    try:
        # apt + build on 2 cores take one to three minutes; the bound is generous
        # so a slow mirror shows up as a printed time, not a failure.
        deadline = time.monotonic() + 900
        while STARTED not in log_path.read_text(errors="replace"):
            if qs.poll() is not None:
                pytest.fail("quickstart exited %d before serving:\n%s" % (qs.returncode, log_path.read_text()[-5000:]))
            if time.monotonic() > deadline:
                pytest.fail("quickstart did not serve within 900 s:\n%s" % log_path.read_text()[-5000:])
            time.sleep(1)
        print("quickstart on a fresh debian:bookworm-slim served after %.0f s" % (time.monotonic() - t0))

        # A Kafka client: produce one record, read it back.
        topic, value = "fresh-" + uuid.uuid4().hex[:8], "hello from a fresh machine " + uuid.uuid4().hex
        run(["kcat", "-b", "127.0.0.1:9092", "-t", topic, "-P", "-K", ":"], input=("k1:" + value + "\n").encode())
        out = run(["kcat", "-b", "127.0.0.1:9092", "-t", topic, "-C", "-e", "-o", "beginning",
                   "-f", "%k=%s\\n", "-m", "30"]).stdout.decode()
        assert out.splitlines() == ["k1=" + value]

        # A ZooKeeper client: the broker registered itself in the metastore.
        from kazoo.client import KazooClient
        zk = KazooClient(hosts="127.0.0.1:2181", timeout=10)
        zk.start(timeout=15)
        try:
            assert zk.get_children("/brokers/ids") == ["0"]
            assert zk.exists("/brokers/topics/" + topic) is not None
        finally:
            zk.stop()
            zk.close()

        # Only Debian's build dependencies: no test tooling or other registry.
        found = run(["podman", "exec", container, "bash", "-c",
                     "for c in java mvn node npm go pip pip3 kcat; do command -v $c; done;"
                     " ls -d /root/.m2 /root/.npm /root/go /src/tests/clients/.venv 2>/dev/null; true"]).stdout.decode()
        assert found.split() == [], "quickstart installed test tooling: %s" % found

        # Ctrl-C / SIGTERM stops both daemons cleanly.
        run(["podman", "exec", container, "bash", "-c", "kill -TERM $(cat /tmp/quickstart.pid)"])
        assert qs.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    finally:
        if qs.poll() is None:
            qs.kill()
            qs.wait()
        print(log_path.read_text()[-2000:])
