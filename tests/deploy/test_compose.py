"""Issue 6 acceptance: the two images under podman-compose.

1. deploy/compose.yaml: up, healthy, confluent-kafka produces and consumes
   through the SASL_PLAINTEXT listener and a consumer group commits offsets;
   down + up keeps topics, records and offsets (volumes).
2. tests/deploy/cp-compose.yaml, written for cp-zookeeper + cp-kafka, runs with
   only the two image names changed; its kafka healthcheck is the seed's line
   `kafka-topics --bootstrap-server kafka:9092 --list` (issue 17), which must
   pass inside the broker container, and the same command with SASL through
   --command-config.
3. The prod and the test instance (deploy/instance) run side by side.

Each compose project gets a unique name and free host ports, and is taken
down with its volumes at the end, whatever happened."""

import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
CONF = os.path.join(DEPLOY, "containers.conf")
USER, PASSWORD = "alice", "CHANGE-ME-alice"   # placeholders of jaas/ and deploy/secrets.example


def env(**extra):
    e = dict(os.environ, CONTAINERS_CONF=CONF)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(cmd, timeout=600, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        pytest.fail("%s failed (%d):\n%s\n%s" % (" ".join(cmd), r.returncode,
                                                 r.stdout.decode()[-3000:],
                                                 r.stderr.decode()[-3000:]))
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def images():
    if not shutil.which("podman") or not shutil.which("podman-compose"):
        pytest.fail("podman and podman-compose are needed (scripts/bootstrap installs them)")
    run([os.path.join(DEPLOY, "build-images")], timeout=1200, env=env())


class Project:
    def __init__(self, compose_file, name, ports, extra_env=None, cwd=None):
        self.file, self.name, self.ports = compose_file, name, ports
        self.env = env(**(extra_env or {}))
        self.cwd = cwd or os.path.dirname(compose_file)

    def compose(self, *args, timeout=300):
        return run(["podman-compose", "-p", self.name, "-f", self.file] + list(args),
                   timeout=timeout, env=self.env, cwd=self.cwd)

    def containers(self):
        r = run(["podman", "ps", "-a", "--filter", "label=io.podman.compose.project=" + self.name,
                 "--format", "{{.Names}}"], env=self.env)
        return r.stdout.decode().split()

    def logs(self):
        out = []
        for c in self.containers():
            r = run(["podman", "logs", c], check=False, env=self.env)
            out.append("--- %s ---\n%s%s" % (c, r.stdout.decode()[-3000:], r.stderr.decode()[-3000:]))
        return "\n".join(out)

    def wait_healthy(self, timeout=90):
        """Polls every container's own HEALTHCHECK (podman schedules none here)."""
        deadline = time.monotonic() + timeout
        pending = set(self.containers())
        assert pending, "no containers in project %s" % self.name
        while pending and time.monotonic() < deadline:
            for c in list(pending):
                r = run(["podman", "healthcheck", "run", c], check=False, env=self.env)
                if r.returncode == 0:
                    pending.discard(c)
            time.sleep(0.5)
        if pending:
            pytest.fail("not healthy: %s\n%s" % (sorted(pending), self.logs()))

    def destroy(self):
        run(["podman-compose", "-p", self.name, "-f", self.file, "down", "-v"], check=False,
            timeout=300, env=self.env, cwd=self.cwd)
        for c in self.containers():
            run(["podman", "rm", "-f", c], check=False, env=self.env)
        # podman-compose 1.0.3's down leaves volumes (without -v) and networks.
        for kind in ("volume", "network"):
            r = run(["podman", kind, "ls", "--format", "{{.Name}}"], check=False, env=self.env)
            for v in r.stdout.decode().split():
                if v.startswith(self.name + "_"):
                    run(["podman", kind, "rm", "-f", v], check=False, env=self.env)


@pytest.fixture
def project_factory():
    made = []

    def make(*a, **kw):
        p = Project(*a, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.destroy()


def sasl_conf(port):
    return {"bootstrap.servers": "localhost:%d" % port, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": USER, "sasl.password": PASSWORD}


def produce(port, topic, n, tag):
    from confluent_kafka import Producer
    p = Producer(dict(sasl_conf(port), acks="all"))
    errors = []
    for i in range(n):
        p.produce(topic, key=b"k%d" % (i % 7), value=("%s-%d" % (tag, i)).encode(),
                  on_delivery=lambda err, _m: err and errors.append(err))
    assert p.flush(60) == 0
    assert not errors, errors[:3]


def consume_group(port, topic, group, want, commit=True):
    """Reads `want` records in consumer group `group`, committing them."""
    from confluent_kafka import Consumer
    c = Consumer(dict(sasl_conf(port), **{"group.id": group, "auto.offset.reset": "earliest",
                                          "enable.auto.commit": False,
                                          "session.timeout.ms": 6000}))
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < want and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append(m.value().decode())
    if commit and got:
        c.commit(asynchronous=False)
    c.close()
    return got


def committed(port, topic, group, partitions):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(dict(sasl_conf(port), **{"group.id": group}))
    res = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
    c.close()
    return sum(tp.offset for tp in res if tp.offset >= 0)


def sasl_roundtrip_and_restart(proj, port):
    topic, group = "orders", "user-data-service"
    produce(port, topic, 300, "first")
    got = consume_group(port, topic, group, 300)
    assert sorted(got) == sorted("first-%d" % i for i in range(300))
    assert committed(port, topic, group, 1) == 300

    proj.compose("down")
    proj.compose("up", "-d")
    proj.wait_healthy()
    # Topic, records and the group's offsets survived: only new records come.
    produce(port, topic, 10, "second")
    got = consume_group(port, topic, group, 10)
    assert sorted(got) == sorted("second-%d" % i for i in range(10)), got[:5]
    assert committed(port, topic, group, 1) == 310


def test_compose_sasl_and_volumes(project_factory):
    ports = {"KAVKA_SASL_USER_PORT": free_port(), "KAVKA_PLAINTEXT_PORT": free_port(),
             "KAVKA_METASTORE_PORT": free_port()}
    proj = project_factory(os.path.join(DEPLOY, "compose.yaml"),
                           "kavka-t%s" % uuid.uuid4().hex[:6], ports, ports)
    proj.compose("up", "-d")
    proj.wait_healthy()
    sasl_roundtrip_and_restart(proj, ports["KAVKA_SASL_USER_PORT"])
    # A wrong password gets nothing.
    from confluent_kafka.admin import AdminClient
    bad = dict(sasl_conf(ports["KAVKA_SASL_USER_PORT"]), **{"sasl.password": "wrong"})
    with pytest.raises(Exception):
        AdminClient(bad).list_topics(timeout=5)


def test_cp_compose_file_with_kavka_images(project_factory):
    ports = {"SASL_USER_PORT": free_port(), "PLAINTEXT_HOST_PORT": free_port(),
             "ZOOKEEPER_IMAGE": "localhost/kavka-metastore:latest",
             "KAFKA_IMAGE": "localhost/kavka-broker:latest"}
    proj = project_factory(os.path.join(REPO, "tests", "deploy", "cp-compose.yaml"),
                           "kavka-cp%s" % uuid.uuid4().hex[:6], ports, ports)
    proj.compose("up", "-d")
    proj.wait_healthy()
    # Data lands in cp's volume paths.
    broker = [c for c in proj.containers() if "kafka" in c][0]
    r = run(["podman", "exec", broker, "broker-entrypoint", "--print"], env=proj.env)
    assert b"log.dirs=/var/lib/kafka/data" in r.stdout, r.stdout
    check_kafka_topics_healthcheck(proj, broker)
    check_metastore_tools(proj)
    sasl_roundtrip_and_restart(proj, ports["SASL_USER_PORT"])
    # After the restart the healthcheck passes again and lists the topic made.
    broker = [c for c in proj.containers() if "kafka" in c][0]
    out = check_kafka_topics_healthcheck(proj, broker)
    assert "orders" in out.split(), out


def check_kafka_topics_healthcheck(proj, broker):
    """The compose healthcheck is the seed's kafka-topics line, podman ran it
    (wait_healthy) and marked the container healthy; the same line and its
    SASL variant (client.properties from jaas/, mounted by the compose file)
    work in the container. Returns the --list output."""
    r = run(["podman", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", broker],
            env=proj.env)
    assert "kafka-topics --bootstrap-server kafka:9092 --list" in r.stdout.decode(), r.stdout
    r = run(["podman", "healthcheck", "run", broker], check=False, env=proj.env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = run(["podman", "inspect", "--format", "{{.State.Health.Status}}", broker], env=proj.env)
    assert r.stdout.decode().strip() == "healthy", r.stdout
    plain = run(["podman", "exec", broker, "sh", "-c",
                 "kafka-topics --bootstrap-server kafka:9092 --list"], env=proj.env)
    sasl = run(["podman", "exec", broker, "kafka-topics", "--bootstrap-server", "kafka:29092",
                "--command-config", "/etc/kafka/secrets/client.properties", "--list"],
               env=proj.env)
    assert plain.stdout == sasl.stdout, (plain.stdout, sasl.stdout)
    # A wrong password fails the SASL check (exit 1), so it is not vacuous.
    bad = run(["podman", "exec", broker, "sh", "-c",
               "sed 's/CHANGE-ME-alice/wrong/' /etc/kafka/secrets/client.properties"
               " > /tmp/bad.properties && kafka-topics --bootstrap-server kafka:29092"
               " --command-config /tmp/bad.properties --list"], check=False, env=proj.env)
    assert bad.returncode == 1 and b"Authentication failed" in bad.stderr, (bad.returncode,
                                                                            bad.stderr)
    return plain.stdout.decode()


def test_prod_and_test_instances_side_by_side(project_factory, tmp_path):
    running = []
    for inst in ("prod", "test"):
        secrets = tmp_path / inst
        shutil.copytree(os.path.join(DEPLOY, "secrets.example"), secrets)
        ports = {"KAVKA_SASL_USER_PORT": free_port(), "KAVKA_PLAINTEXT_PORT": free_port(),
                 "KAVKA_METASTORE_PORT": free_port(), "KAVKA_SECRETS_DIR": str(secrets)}
        name = "kavka-%s" % inst
        proj = project_factory(os.path.join(DEPLOY, "compose.yaml"), name, ports, ports)
        proj.destroy()  # a leftover of an earlier run must not count
        r = run([os.path.join(DEPLOY, "instance"), inst, "up", "-d"], env=proj.env)
        assert r.returncode == 0
        running.append((inst, proj, ports["KAVKA_SASL_USER_PORT"]))
    for inst, proj, port in running:
        proj.wait_healthy()
        produce(port, "only-in-" + inst, 5, inst)
    for inst, proj, port in running:
        from confluent_kafka.admin import AdminClient
        topics = AdminClient(sasl_conf(port)).list_topics(timeout=10).topics
        mine = {t for t in topics if t.startswith("only-in-")}
        assert mine == {"only-in-" + inst}, (inst, mine)


def check_metastore_tools(proj):
    """What cp-zookeeper users type in the zookeeper container: zookeeper-shell
    (Kafka's convention) and zkCli.sh (-server) see the broker's registration,
    and nc sends four-letter words — srvr runs, ruok gets ZooKeeper's refusal
    (the default whitelist is srvr alone, as in cp-zookeeper); then the same
    image with the whitelist in KAFKA_OPTS, as users enable it, answers imok
    and mntr."""
    zk = [c for c in proj.containers() if "zookeeper" in c][0]
    r = run(["podman", "exec", zk, "zookeeper-shell", "localhost:2181", "ls", "/brokers/ids"],
            env=proj.env)
    assert r.stdout.decode().splitlines()[-1] == "[1]", r.stdout
    r = run(["podman", "exec", zk, "zkCli.sh", "-server", "localhost:2181", "get",
             "/brokers/ids/1"], env=proj.env)
    assert b'"SASL_USER://' in r.stdout.splitlines()[-1], r.stdout
    r = run(["podman", "exec", zk, "sh", "-c", "echo srvr | nc localhost 2181"], env=proj.env)
    assert r.stdout.startswith(b"Zookeeper version: ") and b"\nMode: standalone\n" in r.stdout
    r = run(["podman", "exec", zk, "sh", "-c", "echo ruok | nc localhost 2181"], env=proj.env)
    assert r.stdout == b"ruok is not executed because it is not in the whitelist.\n", r.stdout
    name = "kavka-4lw-%s" % uuid.uuid4().hex[:6]
    run(["podman", "run", "-d", "--name", name, "-e",
         "KAFKA_OPTS=-Dzookeeper.4lw.commands.whitelist=ruok,srvr,mntr",
         "localhost/kavka-metastore:latest"], env=proj.env)
    try:
        deadline, out = time.monotonic() + 60, b""
        while out != b"imok" and time.monotonic() < deadline:
            out = run(["podman", "exec", name, "sh", "-c", "echo ruok | nc localhost 2181"],
                      check=False, env=proj.env).stdout
            time.sleep(0.3)
        assert out == b"imok", out
        r = run(["podman", "exec", name, "sh", "-c", "echo mntr | nc localhost 2181"],
                env=proj.env)
        assert b"zk_znode_count\t" in r.stdout, r.stdout
        r = run(["podman", "exec", name, "zookeeper-shell", "localhost:2181", "ls", "/"],
                env=proj.env)
        assert r.stdout.decode().splitlines()[-1] == "[zookeeper]", r.stdout
    finally:
        run(["podman", "rm", "-f", name], check=False, env=proj.env)
