"""SASL DIGEST-MD5 with credentials from a JAAS Server section: zkCli with a
JAAS Client section, kazoo through pure-sasl, and requireClientAuthScheme."""

import struct
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError, NoAuthError
from kazoo.protocol.states import KeeperState

from conftest import zkcli
from zkproto import Raw, ustring

SERVER_JAAS = """
// our users' file names Kafka's login module here; any class is accepted
Server {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  user_admin="adminpw"
  user_kafka="kafkapw";
};
"""

CLIENT_JAAS = """Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="kafka"
  password="%s";
};
"""

SASL_PROVIDER = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"


def jaas_server(make_server, tmp_path, extra=None, via_env=False):
    path = tmp_path / "server_jaas.conf"
    path.write_text(SERVER_JAAS)
    cfg = {"authProvider.1": SASL_PROVIDER}
    env = {}
    if via_env:
        env["KAFKA_OPTS"] = "-Xmx1g -Djava.security.auth.login.config=%s" % path
    else:
        cfg["jaasLoginConfig"] = str(path)
    cfg.update(extra or {})
    return make_server(cfg, env)


def cli_flags(tmp_path, password):
    path = tmp_path / ("client_%s.jaas" % password)
    path.write_text(CLIENT_JAAS % password)
    # ZooKeeper 3.9 clients refuse DIGEST-MD5 in their default FIPS mode.
    return ["-Dzookeeper.fips-mode=false", "-Djava.security.auth.login.config=%s" % path]


def test_zkcli_right_and_wrong_password(make_server, tmp_path):
    srv = jaas_server(make_server, tmp_path, via_env=True)
    out = zkcli(srv.hosts, ["create /k v sasl:kafka:cdrwa", "whoami", "get /k"],
                cli_flags(tmp_path, "kafkapw"))
    assert "SaslAuthenticated" in out and "Created /k" in out and "sasl: kafka" in out
    out = zkcli(srv.hosts, ["get /k"], cli_flags(tmp_path, "nope"))
    # The server answers AUTHFAILED and drops the link; the client reports
    # AuthFailed or the lost connection, whichever its threads see first.
    assert "SaslAuthenticated" not in out and "\nv\n" not in out
    assert "AuthFailed" in out or "ConnectionLoss" in out


def kazoo_sasl(srv, password, mechanism="DIGEST-MD5"):
    zk = KazooClient(hosts=srv.hosts, timeout=5, sasl_options={
        "mechanism": mechanism, "username": "kafka", "password": password})
    zk.start(timeout=10)
    return zk


def test_kazoo_sasl_and_sasl_acl(make_server, tmp_path):
    srv = jaas_server(make_server, tmp_path)
    zk = kazoo_sasl(srv, "kafkapw")
    zk.create("/only-kafka", b"x", acl=[__import__("kazoo.security", fromlist=["x"]).make_acl(
        "sasl", "kafka", all=True)])
    assert zk.get("/only-kafka")[0] == b"x"
    zk.stop()
    anon = KazooClient(hosts=srv.hosts, timeout=5)
    anon.start(timeout=10)
    with pytest.raises(NoAuthError):
        anon.get("/only-kafka")
    anon.stop()
    bad = kazoo_sasl(srv, "wrong")
    with pytest.raises(AuthFailedError):
        bad.get("/only-kafka")
    bad.stop()


def test_sasl_required_refuses_anonymous(make_server, tmp_path):
    srv = jaas_server(make_server, tmp_path, {"requireClientAuthScheme": "sasl"})
    zk = kazoo_sasl(srv, "kafkapw")
    zk.create("/data", b"secret")
    zk.stop()
    raw = Raw(srv.port)
    raw.connect()
    raw.request(4, ustring("/data") + b"\0")
    xid, zxid, err, body = raw.reply()
    assert err == -124 and body == b""  # SESSIONCLOSEDREQUIRESASLAUTH
    with pytest.raises((EOFError, ConnectionError)):
        raw.reply()
    out = zkcli(srv.hosts, ["get /data"])
    assert "secret" not in out


def test_kazoo_plain(make_server, tmp_path):
    srv = jaas_server(make_server, tmp_path, {"requireClientAuthScheme": "sasl"})
    zk = kazoo_sasl(srv, "kafkapw", "PLAIN")
    zk.create("/plain", b"p")
    assert zk.get("/plain")[0] == b"p"
    zk.stop()
    srv2 = jaas_server(make_server, tmp_path)  # SASL optional: a failure is AUTHFAILED
    bad = KazooClient(hosts=srv2.hosts, timeout=5, sasl_options={
        "mechanism": "PLAIN", "username": "kafka", "password": "wrong"})
    # Not bad.start() and a request: kazoo's start() waits for CONNECTED (set
    # before the SASL exchange) and then reads `connected`, so an AUTH_FAILED
    # that lands in between reads as "Connection time-out" (kazoo/client.py
    # start): a race in the client that the server's reply speed decides.
    # kazoo then goes on to CLOSED, so its own state callbacks are recorded.
    seen, session_callback = [], bad._session_callback
    bad._session_callback = lambda state: (seen.append(state), session_callback(state))[1]
    bad.start_async()
    deadline = time.monotonic() + 15
    while KeeperState.AUTH_FAILED not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert KeeperState.AUTH_FAILED in seen, seen
    assert KeeperState.CONNECTED in seen  # the session itself was accepted
    bad.stop()
