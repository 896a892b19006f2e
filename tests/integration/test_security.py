"""Issue 5, listeners and authentication: the users' three-listener setup
(two SASL_PLAINTEXT listeners with PLAIN users from a JAAS file named in
KAFKA_OPTS, one PLAINTEXT listener), driven by real clients and by raw
protocol requests for what clients never do (a request before logging in,
the legacy bare-token flow, Metadata per listener)."""

import json
import os
import socket
import struct
import subprocess
import time

import pytest

import kproto
from clients import JAVA_CP, JAVA_LOG, NODE_SCRIPT, Confluent, verify
from conftest import HOST, REPO, TARGET, Broker, _finish, free_port, unique_topic

pytestmark = pytest.mark.skipif(TARGET != "kavka", reason="kavka's security setup")

KAVKA_BROKER = os.environ.get("KAVKA_BROKER") or os.path.join(REPO, "build", "broker", "kavka-broker")

# The users' JAAS file, verbatim in layout.
JAAS = """KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret"; };
Client { org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret"; };
"""
N = 300  # records per client round trip: enough to span batches, fast with the JVM

API_SASL_HANDSHAKE = 17
API_SASL_AUTHENTICATE = 36
ERR_UNSUPPORTED_SASL_MECHANISM = 33
ERR_ILLEGAL_SASL_STATE = 34
ERR_SASL_AUTHENTICATION_FAILED = 58


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def users_config(sasl_user, sasl_ui, plain, bind=HOST):
    """The users' server.properties, on free ports, advertising loopback."""
    return {
        "listeners": "SASL_USER://%s:%d,SASL_UI://%s:%d,PLAINTEXT_HOST://%s:%d" % (
            bind, sasl_user, bind, sasl_ui, bind, plain),
        "advertised.listeners": "SASL_USER://%s:%d,SASL_UI://%s:%d,PLAINTEXT_HOST://%s:%d" % (
            HOST, sasl_user, HOST, sasl_ui, HOST, plain),
        "listener.security.protocol.map":
            "SASL_USER:SASL_PLAINTEXT,SASL_UI:SASL_PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "inter.broker.listener.name": "SASL_USER",
        "num.partitions": "1",
    }


def make_broker(workdir, jaas_text=JAAS, extra=None):
    """A broker with the users' listeners; .sasl_user/.sasl_ui are the SASL ports."""
    os.makedirs(str(workdir), exist_ok=True)
    jaas = write(os.path.join(str(workdir), "kafka_server_jaas.conf"), jaas_text)
    b = Broker(workdir, env={"KAFKA_OPTS": "-Xmx1g -Djava.security.auth.login.config=%s" % jaas})
    b.sasl_user, b.sasl_ui = free_port(), free_port()
    b.overrides.update(users_config(b.sasl_user, b.sasl_ui, b.port))
    b.overrides.update(extra or {})
    return b


@pytest.fixture(scope="module")
def users_broker(tmp_path_factory, request):
    b = make_broker(tmp_path_factory.mktemp("sec"))
    b.start()
    yield b
    _finish(b, request)


# ------------------------------------------------------------ raw protocol

def handshake(c, mech="PLAIN", version=1):
    r = c.request(API_SASL_HANDSHAKE, version, kproto.string(mech))
    return r.int16(), r.array(r.string)


def plain_token(user, password, authzid=""):
    return ("%s\0%s\0%s" % (authzid, user, password)).encode()


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(r):
    n = shift = 0
    while True:
        b = r.int8() & 0xFF
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n
        shift += 7


def authenticate(c, token, version=1):
    """SaslAuthenticate v0-2 -> (error, message, auth_bytes, session_lifetime_ms|None)."""
    if version < 2:
        r = c.request(API_SASL_AUTHENTICATE, version, struct.pack(">i", len(token)) + token)
        err, msg = r.int16(), r.string()
        auth = r.take(r.int32())
        return err, msg, auth, r.int64() if version >= 1 else None
    # v2 is flexible: request header v2 (tags), compact bytes, response header v1.
    c.corr += 1
    hdr = struct.pack(">hhi", API_SASL_AUTHENTICATE, 2, c.corr) + kproto.string("kavka-test") + b"\0"
    payload = hdr + uvarint(len(token) + 1) + token + b"\0"
    c.send_raw(struct.pack(">i", len(payload)) + payload)
    r = c.recv_response()
    assert read_uvarint(r) == 0, "response header tags"
    err = r.int16()
    n = read_uvarint(r)
    msg = None if n == 0 else r.take(n - 1).decode()
    auth = r.take(read_uvarint(r) - 1)
    return err, msg, auth, r.int64()


def login(port, user="alice", password="alice-secret", hs_version=1, auth_version=1):
    c = kproto.Conn(HOST, port)
    assert handshake(c, version=hs_version) == (0, ["PLAIN"])
    res = authenticate(c, plain_token(user, password), auth_version)
    assert res[0] == 0, res
    return c


def broker_addresses(c):
    return [(host, port) for _node, host, port, _rack in c.metadata()["brokers"]]


def test_api_versions_before_login_lists_sasl(users_broker):
    with kproto.Conn(HOST, users_broker.sasl_user) as c:
        apis = c.api_versions()
        assert apis[API_SASL_HANDSHAKE] == (0, 1)
        assert apis[API_SASL_AUTHENTICATE] == (0, 2)
        # Still allowed to log in afterwards on the same connection.
        assert handshake(c) == (0, ["PLAIN"])
        assert authenticate(c, plain_token("alice", "alice-secret"))[0] == 0


@pytest.mark.parametrize("api", ["metadata", "produce"])
def test_request_before_login_closes_unanswered(users_broker, api):
    with kproto.Conn(HOST, users_broker.sasl_ui) as c:
        if api == "metadata":
            c.send_raw(c.frame(kproto.API_METADATA, 1, struct.pack(">i", -1)))
        else:
            batch = kproto.record_batch([(b"k", b"v", ())])
            c.send_raw(c.frame(kproto.API_PRODUCE, 3, struct.pack(">hhi", -1, 1, 5000) +
                               struct.pack(">i", 1) + kproto.string("pre-auth") +
                               struct.pack(">ii", 1, 0) + struct.pack(">i", len(batch)) + batch))
        assert c.closed_by_peer(), "a request before SASL authentication must not be answered"
    with users_broker.conn() as c:
        assert "pre-auth" not in c.metadata()["topics"], "pre-auth Produce was served"


def test_request_after_handshake_before_authenticate_closes(users_broker):
    with kproto.Conn(HOST, users_broker.sasl_ui) as c:
        assert handshake(c) == (0, ["PLAIN"])
        c.send_raw(c.frame(kproto.API_METADATA, 1, struct.pack(">i", -1)))
        assert c.closed_by_peer()


@pytest.mark.parametrize("version", [0, 1, 2])
def test_authenticate_versions(users_broker, version):
    with kproto.Conn(HOST, users_broker.sasl_user) as c:
        assert handshake(c) == (0, ["PLAIN"])
        err, msg, auth, lifetime = authenticate(c, plain_token("admin", "admin-secret"), version)
        assert (err, msg, auth) == (0, None, b"")
        # connections.max.reauth.ms defaults to 0: no session expiry, lifetime 0.
        assert lifetime == (None if version == 0 else 0)
        assert broker_addresses(c) == [(HOST, users_broker.sasl_user)]


def test_session_lifetime_from_reauth_config(broker_factory_sec):
    b = broker_factory_sec(extra={"connections.max.reauth.ms": "600000"})
    with kproto.Conn(HOST, b.sasl_user) as c:
        assert handshake(c) == (0, ["PLAIN"])
        err, _msg, _auth, lifetime = authenticate(c, plain_token("alice", "alice-secret"), 1)
        assert err == 0 and lifetime == 600000
        # KIP-368: re-authentication on the same connection, same principal.
        assert handshake(c) == (0, ["PLAIN"])
        assert authenticate(c, plain_token("alice", "alice-secret"), 1)[0] == 0
        assert broker_addresses(c) == [(HOST, b.sasl_user)]


def test_legacy_v0_bare_token_flow(users_broker):
    with kproto.Conn(HOST, users_broker.sasl_ui) as c:
        assert handshake(c, version=0) == (0, ["PLAIN"])
        tok = plain_token("alice", "alice-secret")
        c.send_raw(struct.pack(">i", len(tok)) + tok)   # no request header
        assert c._recv_exact(4) == b"\0\0\0\0", "PLAIN's answer is an empty bare token"
        assert broker_addresses(c) == [(HOST, users_broker.sasl_ui)]


def test_frames_before_login_capped_at_sasl_max_receive_size(users_broker):
    with kproto.Conn(HOST, users_broker.sasl_user) as c:
        # 600 KiB is far below socket.request.max.bytes but above Kafka's
        # sasl.server.max.receive.size (512 KiB): refused on the size alone.
        c.send_raw(struct.pack(">i", 600 * 1024))
        assert c.closed_by_peer()
    with login(users_broker.sasl_user) as c:  # after login the ordinary limit applies
        c.send_raw(c.frame(kproto.API_METADATA, 1, struct.pack(">i", 1) +
                           kproto.string("x" * 30000) + b"\0" * (600 * 1024)))
        assert c.recv_response() is not None


def test_legacy_v0_short_bare_token_is_checked(users_broker):
    # "\0a\0b" is 4 bytes, shorter than any request header: still a login attempt.
    with kproto.Conn(HOST, users_broker.sasl_ui) as c:
        assert handshake(c, version=0) == (0, ["PLAIN"])
        c.send_raw(struct.pack(">i", 4) + b"\0a\0b")
        assert c.closed_by_peer()
    time.sleep(0.1)
    with open(users_broker.log_path, "rb") as f:
        log = f.read()
    assert log.count(b"Failed authentication") >= 1 and b"invalid request size 4 " not in log


def test_legacy_v0_wrong_password_closes(users_broker):
    with kproto.Conn(HOST, users_broker.sasl_ui) as c:
        assert handshake(c, version=0) == (0, ["PLAIN"])
        tok = plain_token("alice", "not-her-password")
        c.send_raw(struct.pack(">i", len(tok)) + tok)
        assert c.closed_by_peer()


@pytest.mark.parametrize("user,password,authzid,message", [
    ("alice", "wrong", "", "Authentication failed: Invalid username or password"),
    ("mallory", "alice-secret", "", "Authentication failed: Invalid username or password"),
    ("alice", "alice-secret" + "x", "", "Authentication failed: Invalid username or password"),
    ("alice", "alice-secret", "admin", "authorization id that is different from username"),
    ("", "alice-secret", "", "username not specified"),
])
def test_failed_login_refused_and_closed(users_broker, user, password, authzid, message):
    with kproto.Conn(HOST, users_broker.sasl_user) as c:
        assert handshake(c) == (0, ["PLAIN"])
        t0 = time.monotonic()
        err, msg, _auth, _life = authenticate(c, plain_token(user, password, authzid), 1)
        assert err == ERR_SASL_AUTHENTICATION_FAILED
        assert message in (msg or ""), msg
        assert time.monotonic() - t0 >= 0.09, "failed logins are delayed"
        # Nothing else is answered on that connection.
        try:
            c.send_raw(c.frame(kproto.API_METADATA, 1, struct.pack(">i", -1)))
        except OSError:
            pass
        assert c.closed_by_peer()
    with open(users_broker.log_path, "rb") as f:
        log = f.read().decode(errors="replace")
    assert "Failed authentication with 127.0.0.1:" in log
    assert "alice-secret" not in log and "not-her-password" not in log, "a password reached the log"


def test_unsupported_mechanism(users_broker):
    with kproto.Conn(HOST, users_broker.sasl_user) as c:
        assert handshake(c, "SCRAM-SHA-512") == (ERR_UNSUPPORTED_SASL_MECHANISM, ["PLAIN"])
        assert c.closed_by_peer()


def test_sasl_on_plaintext_listener_is_illegal_state(users_broker):
    with users_broker.conn() as c:
        assert handshake(c)[0] == ERR_ILLEGAL_SASL_STATE
        assert broker_addresses(c) == [(HOST, users_broker.port)], "connection stays usable"


def test_metadata_answers_with_each_listeners_address(broker_factory_sec):
    """Bound on all interfaces, each listener advertises its own name and port."""
    b = broker_factory_sec(bind="0.0.0.0", extra=lambda b: {"advertised.listeners": (
        "SASL_USER://kafka-user.example:29092,SASL_UI://ui.example:%d,PLAINTEXT_HOST://%s:%d" % (
            b.sasl_ui, HOST, b.port))})
    with b.conn() as c:
        assert broker_addresses(c) == [(HOST, b.port)]
    with login(b.sasl_user) as c:
        assert broker_addresses(c) == [("kafka-user.example", 29092)]
    with login(b.sasl_ui) as c:
        assert broker_addresses(c) == [("ui.example", b.sasl_ui)]


def test_inline_listener_jaas_config_wins(broker_factory_sec):
    b = broker_factory_sec(extra={
        "listener.name.sasl_ui.plain.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required '
            'user_ui="ui-secret";'})
    login(b.sasl_ui, "ui", "ui-secret").close()
    with kproto.Conn(HOST, b.sasl_ui) as c:
        handshake(c)
        assert authenticate(c, plain_token("alice", "alice-secret"))[0] == ERR_SASL_AUTHENTICATION_FAILED
    login(b.sasl_user, "alice", "alice-secret").close()  # the other listener keeps the file


def test_example_jaas_file_works(broker_factory_sec):
    with open(os.path.join(REPO, "jaas", "kafka_server_jaas.conf")) as f:
        b = broker_factory_sec(jaas_text=f.read())
    login(b.sasl_user, "alice", "CHANGE-ME-alice").close()
    login(b.sasl_ui, "admin", "CHANGE-ME-admin").close()


def test_per_listener_jaas_section(broker_factory_sec):
    with open(os.path.join(REPO, "jaas", "kafka_server_jaas_per_listener.conf")) as f:
        b = broker_factory_sec(jaas_text=f.read())
    login(b.sasl_ui, "ui", "CHANGE-ME-ui").close()
    with kproto.Conn(HOST, b.sasl_ui) as c:
        handshake(c)
        assert authenticate(c, plain_token("alice", "CHANGE-ME-alice"))[0] == \
            ERR_SASL_AUTHENTICATION_FAILED, "sasl_ui.KafkaServer replaces KafkaServer on SASL_UI"
    login(b.sasl_user, "alice", "CHANGE-ME-alice").close()


@pytest.mark.parametrize("jaas,extra,message", [
    ("KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required\n"
     "  user_alice=\"x\" };\n", {}, "line 2: login module"),
    ("Client { org.apache.kafka.common.security.plain.PlainLoginModule required; };\n", {},
     "Could not find a 'KafkaServer'"),
    (JAAS, {"sasl.enabled.mechanisms": "GSSAPI"}, "names no mechanism kavka supports"),
    (JAAS, {"sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256"},
     "sasl.mechanism.inter.broker.protocol"),
])
def test_bad_security_config_refused_at_startup(tmp_path, jaas, extra, message):
    b = make_broker(tmp_path, jaas, extra)
    cmd = b.command()
    p = subprocess.run(cmd, env=dict(os.environ, **b.env), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20, cwd=str(tmp_path))
    out = p.stdout.decode(errors="replace")
    assert p.returncode != 0, out
    assert message in out, out


def test_no_jaas_configuration_refused(tmp_path):
    b = make_broker(tmp_path)
    p = subprocess.run(b.command(), env={k: v for k, v in os.environ.items() if k != "KAFKA_OPTS"},
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    assert p.returncode != 0
    assert b"java.security.auth.login.config" in p.stdout, p.stdout


@pytest.fixture
def broker_factory_sec(tmp_path, request):
    made = []

    def start(jaas_text=JAAS, extra=None, bind=HOST):
        b = make_broker(tmp_path / ("b%d" % len(made)), jaas_text, None)
        if bind != HOST:
            b.overrides.update(users_config(b.sasl_user, b.sasl_ui, b.port, bind))
        if callable(extra):
            extra = extra(b)
        for k, v in (extra or {}).items():
            if v is None:
                b.overrides.pop(k, None)
            else:
                b.overrides[k] = v
        made.append(b)
        b.start()
        return b

    yield start
    for b in made:
        _finish(b, request)


# ------------------------------------------------------------ real clients

def run(cmd, timeout=120, input=None, env=None):
    p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=dict(os.environ, **(env or {})), cwd=REPO)
    return p


def check(p, what):
    assert p.returncode == 0, "%s exited %d:\n%s" % (what, p.returncode,
                                                     p.stderr.decode(errors="replace")[-3000:])
    return p


def sasl_bootstrap(b, listener):
    return "%s:%d" % (HOST, b.sasl_user if listener == "SASL_USER" else b.sasl_ui)


def text_records(name, n=N):
    return [(b"k%d" % (i % 7), b"%s-%06d-%s" % (name.encode(), i, b"x" * (i % 50))) for i in range(n)]


def consume_plaintext(b, topic, n):
    """Reads a topic back over the PLAINTEXT listener (confluent-kafka, assign())."""
    got = Confluent().consume(b, topic, n)
    return sorted((g.key, g.value) for g in got)


def kcat_sasl(b, listener, user="alice", password="alice-secret"):
    return ["kcat", "-b", sasl_bootstrap(b, listener), "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=" + user,
            "-X", "sasl.password=" + password]


@pytest.mark.parametrize("listener", ["SASL_USER", "SASL_UI"])
def test_kcat_produce_consume(users_broker, listener):
    topic = unique_topic("kcat-" + listener.lower())
    recs = text_records("kcat")
    data = b"".join(k + b"\t" + v + b"\n" for k, v in recs)
    p = check(run(kcat_sasl(users_broker, listener) + ["-P", "-t", topic, "-K", "\t",
                                                       "-X", "acks=all"], input=data), "kcat -P")
    assert b"ERROR" not in p.stderr, p.stderr
    p = check(run(kcat_sasl(users_broker, listener) + ["-C", "-t", topic, "-o", "beginning", "-e",
                                                       "-q", "-f", "%k\t%s\n"]), "kcat -C")
    got = sorted(tuple(line.split(b"\t", 1)) for line in p.stdout.splitlines())
    assert got == sorted(recs)


def test_kcat_wrong_password(users_broker):
    p = run(kcat_sasl(users_broker, "SASL_USER", password="nope") + ["-L", "-m", "5"], timeout=30)
    assert p.returncode != 0
    assert b"Authentication failed: Invalid username or password" in p.stderr, p.stderr


def confluent_conf(b, listener, user="alice", password="alice-secret"):
    return {"bootstrap.servers": sasl_bootstrap(b, listener), "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": password}


def test_confluent_kafka_produce_consume(users_broker):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
    topic = unique_topic("ck-sasl")
    recs = text_records("ck")
    prod = Producer(dict(confluent_conf(users_broker, "SASL_USER"), acks="all"))
    errors = []
    for k, v in recs:
        prod.produce(topic, key=k, value=v, on_delivery=lambda e, _m: e and errors.append(e))
    assert prod.flush(60) == 0 and not errors, errors[:3]
    cons = Consumer(dict(confluent_conf(users_broker, "SASL_UI"), **{
        "group.id": "unused", "enable.auto.commit": False}))
    try:
        cons.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got, deadline = [], time.monotonic() + 60
        while len(got) < len(recs) and time.monotonic() < deadline:
            for m in cons.consume(500, 0.5):
                assert not m.error(), m.error()
                got.append((m.key(), m.value()))
    finally:
        cons.close()
    assert sorted(got) == sorted(recs)


def test_confluent_kafka_wrong_password(users_broker):
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient
    admin = AdminClient(confluent_conf(users_broker, "SASL_UI", "alice", "bad"))
    with pytest.raises(KafkaException) as e:
        admin.list_topics(timeout=5)
    # librdkafka surfaces the broker's SASL error as _AUTHENTICATION on its error callback;
    # list_topics reports the failed transport. The broker log proves the refusal.
    assert e.value.args[0].code() in (KafkaError._TRANSPORT, KafkaError._AUTHENTICATION,
                                      KafkaError._TIMED_OUT)
    with open(users_broker.log_path, "rb") as f:
        assert b"Failed authentication with" in f.read()


def test_kafka_python_produce_consume(users_broker):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    topic = unique_topic("kp-sasl")
    recs = text_records("kp")
    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                sasl_plain_username="alice", sasl_plain_password="alice-secret")
    prod = KafkaProducer(bootstrap_servers=sasl_bootstrap(users_broker, "SASL_UI"), acks="all",
                         **sasl)
    try:
        futs = [prod.send(topic, key=k, value=v) for k, v in recs]
        prod.flush(60)
        for f in futs:
            f.get(timeout=1)
    finally:
        prod.close(10)
    cons = KafkaConsumer(bootstrap_servers=sasl_bootstrap(users_broker, "SASL_USER"),
                         group_id=None, enable_auto_commit=False, consumer_timeout_ms=1000, **sasl)
    try:
        tp = TopicPartition(topic, 0)
        cons.assign([tp])
        cons.seek_to_beginning(tp)
        got, deadline = [], time.monotonic() + 60
        while len(got) < len(recs) and time.monotonic() < deadline:
            for batch in cons.poll(timeout_ms=500).values():
                got += [(m.key, m.value) for m in batch]
    finally:
        cons.close()
    assert sorted(got) == sorted(recs)


def test_kafka_python_wrong_password(users_broker):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    with pytest.raises(KafkaError) as e:
        KafkaProducer(bootstrap_servers=sasl_bootstrap(users_broker, "SASL_UI"),
                      security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                      sasl_plain_username="alice", sasl_plain_password="bad",
                      api_version_auto_timeout_ms=5000, max_block_ms=5000)
    assert "NoBrokersAvailable" in type(e.value).__name__ or "Authentication" in str(e.value), e.value


def kafkajs(b, listener, cmd, topic, *args, password="alice-secret", input=None):
    env = {"KAVKA_KAFKAJS_SASL": json.dumps({"mechanism": "plain", "username": "alice",
                                             "password": password})}
    return run(["node", NODE_SCRIPT, sasl_bootstrap(b, listener), cmd, topic] + [str(a) for a in args],
               timeout=90, input=input, env=env)


def test_kafkajs_produce(users_broker):
    import base64
    topic = unique_topic("kjs-sasl")
    recs = text_records("kjs")
    data = "".join(json.dumps({"k": base64.b64encode(k).decode(), "v": base64.b64encode(v).decode(),
                               "h": [], "ts": None}) + "\n" for k, v in recs)
    check(kafkajs(users_broker, "SASL_USER", "produce", topic, input=data.encode()), "kafkajs produce")
    assert consume_plaintext(users_broker, topic, len(recs)) == sorted(recs)


def test_kafkajs_wrong_password(users_broker):
    p = kafkajs(users_broker, "SASL_UI", "create", unique_topic("kjs-bad"), 1, password="bad")
    assert p.returncode != 0
    assert b"SASL PLAIN authentication failed" in p.stderr or b"Authentication failed" in p.stderr, \
        p.stderr[-2000:]


def java(main, args, timeout=120, input=None):
    return run(["java", "-cp", JAVA_CP, JAVA_LOG, "-XX:TieredStopAtLevel=1", "-Xshare:auto", main] +
               args, timeout=timeout, input=input)


def java_client_config(tmp_path, user="alice", password="alice-secret"):
    return write(tmp_path / ("client-%s.properties" % password),
                 "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                 "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                 "username=\"%s\" password=\"%s\";\n" % (user, password))


def test_java_console_produce_consume(users_broker, tmp_path):
    topic = unique_topic("java-sasl")
    recs = text_records("java")
    cfg = java_client_config(tmp_path)
    check(java("org.apache.kafka.tools.ConsoleProducer",
               ["--bootstrap-server", sasl_bootstrap(users_broker, "SASL_USER"), "--topic", topic,
                "--producer.config", cfg, "--request-required-acks", "-1",
                "--property", "parse.key=true"],
               input=b"".join(k + b"\t" + v + b"\n" for k, v in recs)), "kafka-console-producer")
    p = check(java("org.apache.kafka.tools.consumer.ConsoleConsumer",
                   ["--bootstrap-server", sasl_bootstrap(users_broker, "SASL_UI"), "--topic", topic,
                    "--consumer.config", cfg, "--partition", "0", "--offset", "earliest",
                    "--max-messages", str(len(recs)), "--timeout-ms", "30000",
                    "--property", "print.key=true"]), "kafka-console-consumer")
    got = sorted(tuple(line.split(b"\t", 1)) for line in p.stdout.splitlines())
    assert got == sorted(recs)


def test_java_topics_list_plaintext_and_wrong_password(users_broker, tmp_path):
    topic = unique_topic("java-list")
    with users_broker.conn() as c:
        c.metadata([topic])  # auto-created
    p = check(java("org.apache.kafka.tools.TopicCommand",
                   ["--bootstrap-server", users_broker.bootstrap, "--list"]), "kafka-topics --list")
    assert topic.encode() in p.stdout.split()
    p = java("org.apache.kafka.tools.TopicCommand",
             ["--bootstrap-server", sasl_bootstrap(users_broker, "SASL_USER"), "--list",
              "--command-config", java_client_config(tmp_path, password="wrong")], timeout=90)
    assert p.returncode != 0
    assert b"Authentication failed: Invalid username or password" in p.stdout + p.stderr, \
        (p.stdout + p.stderr)[-3000:]


# ------------------------------------------------------------------- TLS

def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    assert p.returncode == 0, "openssl %s: %s" % (args[0], p.stdout.decode(errors="replace"))


def make_pki(d):
    """A test CA, a server certificate for 127.0.0.1 whose key is encrypted
    (keystore = key + chain, Kafka's PEM keystore), a client certificate from
    the CA and a self-signed rogue one. Made fresh for each run, never committed."""
    d = str(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=kavka-test-ca", cwd=d)
    write(os.path.join(d, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subj in (("server", "/CN=localhost"), ("client", "/O=kavka/CN=test-client")):
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2",
                *(["-extfile", "server.ext"] if name == "server" else []), cwd=d)
    openssl("req", "-x509", *ec, "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2",
            "-subj", "/CN=rogue", cwd=d)
    openssl("pkcs8", "-topk8", "-in", "server.key", "-out", "server-enc.key", "-v2", "aes-256-cbc",
            "-passout", "pass:key-pass", cwd=d)
    with open(os.path.join(d, "keystore.pem"), "w") as out:
        for f in ("server-enc.key", "server.pem"):
            out.write(open(os.path.join(d, f)).read())
    return {n: os.path.join(d, n) for n in ("ca.pem", "keystore.pem", "client.pem", "client.key",
                                            "rogue.pem", "rogue.key")}


def tls_config(pki, ssl_port, sasl_ssl_port, plain_port):
    return {
        "listeners": "SSL://%s:%d,SASL_SSL://%s:%d,PLAINTEXT://%s:%d" % (
            HOST, ssl_port, HOST, sasl_ssl_port, HOST, plain_port),
        "sasl.enabled.mechanisms": "PLAIN",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": pki["keystore.pem"],
        "ssl.key.password": "key-pass",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki["ca.pem"],
        "ssl.client.auth": "required",
        "listener.name.sasl_ssl.ssl.client.auth": "none",
        "num.partitions": "1",
    }


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory, request):
    d = tmp_path_factory.mktemp("tls")
    pki = make_pki(d)
    jaas = write(os.path.join(str(d), "jaas.conf"), JAAS)
    b = Broker(d / "broker", env={"KAFKA_OPTS": "-Djava.security.auth.login.config=" + jaas})
    b.ssl_port, b.sasl_ssl_port, b.pki = free_port(), free_port(), pki
    b.overrides.update(tls_config(pki, b.ssl_port, b.sasl_ssl_port, b.port))
    b.start()
    yield b
    _finish(b, request)


def tls_conn(b, port, cert=None):
    import ssl
    ctx = ssl.create_default_context(cafile=b.pki["ca.pem"])
    if cert:
        ctx.load_cert_chain(b.pki[cert + ".pem"], b.pki[cert + ".key"])
    c = kproto.Conn(HOST, port)
    c.sock = ctx.wrap_socket(c.sock, server_hostname=HOST)
    return c


def refused(b, port, cert):
    """True if the TLS connection or its first request fails."""
    import ssl
    try:
        with tls_conn(b, port, cert) as c:
            c.api_versions()  # TLS 1.3: a client certificate is checked after the handshake
    except (ssl.SSLError, OSError, kproto.ProtocolError):
        return True
    return False


def test_tls_mutual_auth_metadata_and_principal(tls_broker):
    with tls_conn(tls_broker, tls_broker.ssl_port, "client") as c:
        assert broker_addresses(c) == [(HOST, tls_broker.ssl_port)]
    time.sleep(0.2)
    with open(tls_broker.log_path, "rb") as f:
        log = f.read()
    # Kafka's default principal: the subject DN in RFC 2253 order.
    assert b"on listener SSL, principal User:CN=test-client,O=kavka" in log


@pytest.mark.parametrize("cert", [None, "rogue"])
def test_tls_untrusted_or_missing_client_certificate_refused(tls_broker, cert):
    assert refused(tls_broker, tls_broker.ssl_port, cert)
    time.sleep(0.2)
    with open(tls_broker.log_path, "rb") as f:
        assert b"TLS failure on listener SSL" in f.read()


def test_sasl_ssl_raw_login_and_refusal(tls_broker):
    with tls_conn(tls_broker, tls_broker.sasl_ssl_port) as c:
        c.send_raw(c.frame(kproto.API_METADATA, 1, struct.pack(">i", -1)))
        assert c.closed_by_peer(), "SASL_SSL still needs a SASL login"
    with tls_conn(tls_broker, tls_broker.sasl_ssl_port) as c:
        assert handshake(c) == (0, ["PLAIN"])
        assert authenticate(c, plain_token("alice", "alice-secret"), 2)[0] == 0
        assert broker_addresses(c) == [(HOST, tls_broker.sasl_ssl_port)]


def test_kcat_ssl_client_certificate(tls_broker):
    topic = unique_topic("kcat-ssl")
    recs = text_records("kcat-ssl", 100)
    base = ["kcat", "-b", "%s:%d" % (HOST, tls_broker.ssl_port), "-X", "security.protocol=SSL",
            "-X", "ssl.ca.location=" + tls_broker.pki["ca.pem"]]
    mine = base + ["-X", "ssl.certificate.location=" + tls_broker.pki["client.pem"],
                   "-X", "ssl.key.location=" + tls_broker.pki["client.key"]]
    check(run(mine + ["-P", "-t", topic, "-K", "\t"],
              input=b"".join(k + b"\t" + v + b"\n" for k, v in recs)), "kcat -P")
    p = check(run(mine + ["-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"]),
              "kcat -C")
    assert sorted(tuple(l.split(b"\t", 1)) for l in p.stdout.splitlines()) == sorted(recs)
    rogue = base + ["-X", "ssl.certificate.location=" + tls_broker.pki["rogue.pem"],
                    "-X", "ssl.key.location=" + tls_broker.pki["rogue.key"]]
    p = run(rogue + ["-L", "-m", "5"], timeout=30)
    assert p.returncode != 0, p.stdout


def test_confluent_kafka_sasl_ssl(tls_broker):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
    conf = {"bootstrap.servers": "%s:%d" % (HOST, tls_broker.sasl_ssl_port),
            "security.protocol": "SASL_SSL", "ssl.ca.location": tls_broker.pki["ca.pem"],
            "sasl.mechanisms": "PLAIN", "sasl.username": "alice", "sasl.password": "alice-secret"}
    topic = unique_topic("ck-sasl-ssl")
    recs = text_records("ck-ssl", 100)
    prod = Producer(dict(conf, acks="all"))
    for k, v in recs:
        prod.produce(topic, key=k, value=v)
    assert prod.flush(60) == 0
    cons = Consumer(dict(conf, **{"group.id": "unused", "enable.auto.commit": False}))
    try:
        cons.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got, deadline = [], time.monotonic() + 60
        while len(got) < len(recs) and time.monotonic() < deadline:
            for m in cons.consume(500, 0.5):
                assert not m.error(), m.error()
                got.append((m.key(), m.value()))
    finally:
        cons.close()
    assert sorted(got) == sorted(recs)


def test_java_sasl_ssl_pem_truststore(tls_broker, tmp_path):
    topic = unique_topic("java-sasl-ssl")
    recs = text_records("java-ssl", 100)
    cfg = write(tmp_path / "client.properties",
                "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
                "ssl.truststore.type=PEM\nssl.truststore.location=%s\n"
                "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                "username=\"alice\" password=\"alice-secret\";\n" % tls_broker.pki["ca.pem"])
    bs = "%s:%d" % (HOST, tls_broker.sasl_ssl_port)
    check(java("org.apache.kafka.tools.ConsoleProducer",
               ["--bootstrap-server", bs, "--topic", topic, "--producer.config", cfg,
                "--property", "parse.key=true"],
               input=b"".join(k + b"\t" + v + b"\n" for k, v in recs)), "kafka-console-producer")
    p = check(java("org.apache.kafka.tools.consumer.ConsoleConsumer",
                   ["--bootstrap-server", bs, "--topic", topic, "--consumer.config", cfg,
                    "--partition", "0", "--offset", "earliest", "--max-messages", str(len(recs)),
                    "--timeout-ms", "30000", "--property", "print.key=true"]), "kafka-console-consumer")
    assert sorted(tuple(l.split(b"\t", 1)) for l in p.stdout.splitlines()) == sorted(recs)


@pytest.mark.parametrize("change,message", [
    ({"ssl.key.password": "wrong"}, "cannot read the private key"),
    ({"ssl.keystore.type": "JKS"}, "ssl.keystore.type JKS is not supported"),
    ({"ssl.truststore.location": "/nonexistent.pem"}, "no certificate in the truststore"),
    ({"listener.name.ssl.ssl.client.auth": "sometimes"}, "invalid ssl.client.auth"),
])
def test_bad_tls_config_refused_at_startup(tmp_path, change, message):
    pki = make_pki(tmp_path)
    b = Broker(tmp_path / "b", env={"KAFKA_OPTS": "-Djava.security.auth.login.config=" +
                                    write(tmp_path / "jaas.conf", JAAS)})
    b.overrides.update(tls_config(pki, free_port(), free_port(), b.port))
    b.overrides.update(change)
    os.makedirs(b.workdir, exist_ok=True)
    p = subprocess.run(b.command(), env=dict(os.environ, **b.env), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    assert p.returncode != 0
    assert message.encode() in p.stdout, p.stdout
