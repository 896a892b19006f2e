"""kavka-admin, the JVM-free healthcheck client of the broker image (issue 6):
health and topic listing against a running broker, failure when none runs."""

import os
import subprocess

from clients import BY_NAME
from conftest import REPO, free_port, unique_topic


def admin_binary():
    broker = os.environ.get("KAVKA_BROKER") or os.path.join(REPO, "build", "broker", "kavka-broker")
    return os.path.join(os.path.dirname(broker), "kavka-admin")


def admin(*args):
    return subprocess.run([admin_binary(), "-t", "5"] + list(args), capture_output=True,
                          timeout=30)


def test_health_and_topics(broker_factory):
    broker = broker_factory()
    topics = sorted(unique_topic("adm") for _ in range(3))
    for t in topics:
        BY_NAME["confluent-kafka"].create_topic(broker.bootstrap, t, 2)
    r = admin("-b", broker.bootstrap, "health")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"ok: "), r.stdout
    r = admin("-b", broker.bootstrap, "topics")
    assert r.returncode == 0, r.stderr
    listed = r.stdout.decode().split()
    assert sorted(t for t in listed if t.startswith("adm-")) == topics


def test_health_fails_without_broker():
    r = admin("-b", "127.0.0.1:%d" % free_port(), "health")
    assert r.returncode == 1
    assert b"cannot connect" in r.stderr


def test_usage_errors():
    assert admin("bogus").returncode == 2
    assert admin("-b", "nocolon", "health").returncode == 1
