"""zookeeper-shell (zkshell/, the C zkCli of the metastore image) judged by the
real thing: the same commands through Apache ZooKeeper's own zkCli
(ZooKeeperMain 3.8 and 3.9 from the Maven jars) and through our shell, on the
same server — kavka-metastore and Apache ZooKeeper — must print the same
(timestamps, zxids and session ids aside); kazoo checks what the commands
did; SASL (DIGEST-MD5 from a JAAS Client section) against both servers; and
the four-letter words cp-zookeeper users send with nc."""

import os
import re
import subprocess
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import make_acl

from conftest import HOST, REPO, ZooKeeper, four_letter

JARS38 = os.path.join(REPO, "tests", "clients", "jars-zk38", "*")
JARS39 = os.path.join(REPO, "tests", "clients", "jars", "*")


def shell_binary():
    path = os.environ.get("KAVKA_ZKSHELL") or os.path.join(REPO, "build", "zkshell",
                                                           "zookeeper-shell")
    if not os.access(path, os.X_OK):
        pytest.fail("zookeeper-shell not found at %s (build it or set KAVKA_ZKSHELL)" % path)
    return path


@pytest.fixture(scope="module")
def quiet_logging(tmp_path_factory):
    """Logging configs that silence the Java clients' loggers (3.8 logs with
    logback, 3.9 here with log4j2), so only what ZooKeeperMain prints is left."""
    d = tmp_path_factory.mktemp("logcfg")
    (d / "logback.xml").write_text('<configuration><root level="OFF"/></configuration>\n')
    (d / "log4j2.properties").write_text("status = error\nrootLogger.level = OFF\n")
    return ["-Dlogback.configurationFile=%s" % (d / "logback.xml"),
            "-Dlog4j2.configurationFile=%s" % (d / "log4j2.properties")]


def run_zkcli(jars, hosts, args=(), stdin=None, jvm=(), env=None, flags=()):
    cmd = ["java", "-Xmx128m", *flags, *jvm, "-cp", jars, "org.apache.zookeeper.ZooKeeperMain",
           "-server", hosts, *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def run_shell(hosts, args=(), stdin=None, env=None, name="zookeeper-shell"):
    """Our shell as cp-zookeeper users call it: zookeeper-shell HOST:PORT cmd..."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("KAFKA_OPTS", "JVMFLAGS", "CLIENT_JVMFLAGS", "SERVER_JVMFLAGS")}
    e.update(env or {})
    p = subprocess.run([shell_binary(), hosts, *args], input=stdin or "", capture_output=True,
                       text=True, timeout=60, env=e)
    return p.returncode, p.stdout, p.stderr


CONNECTED = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"
CLOSED = "\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n"


def norm(text):
    """What may differ between two runs of the same commands: times, zxids,
    session ids (ephemeralOwner), 3.9's " zxid: N" in events; the Java
    client's SyncConnected event is printed by another thread, so where it
    lands differs from run to run, and so does whether its Closed event at
    quit is printed before the JVM exits — both are taken out (and counted
    apart)."""
    text = re.sub(r" zxid: -?\d+", "", text)
    text = text.replace(CONNECTED, "\n").replace(CLOSED, "\n")
    text = re.sub(r"^(c|m)time = .*$", r"\1time = T", text, flags=re.M)
    text = re.sub(r"^(c|m|p)Zxid = 0x[0-9a-f]+$", r"\1Zxid = Z", text, flags=re.M)
    text = re.sub(r"^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$", "ephemeralOwner = SID",
                  text, flags=re.M)
    # The usage listing names every zkCli command; ours lists its subset.
    text = re.sub(r"^ZooKeeper -server host:port.*\n(\t.*\n)*", "USAGE\n", text, flags=re.M)
    return text


SCRIPT = """\
create /t
create /t/a hello
create /t/a again
create /t/b
create /t/c "with space"
create /t/e ''
create -e /t/eph e
create -s /t/seq- s
create -s -e /t/es- x
create -c /t/cont
create /t/x/y z
create t
create /t//bad
create /t/acl x world:anyone:r
create /t/nacl x bogus
create -e -c /t/bad
create
ls /t
ls -s /t
ls -R /t
ls /nope
ls
ls -q /t
get /t/a
get -s /t/a
get /t/b
get /t/c
get /t/e
get -b /t/c
get -x /t/c
get /nope
get
stat /t/a
stat /nope
stat
set /t/a world
set -s /t/a again2
set /t/a x -v 99
set /t/acl y
set /nope x
set /t/a
create /t/x
create /t/x/y
create /t/x/y/z deep
create /t/x/w
delete /t/b
delete /t/nope
delete /t
delete -v 5 /t/c
delete /t/x
deleteall /t/x
deleteall /nope
ls -R /t
bogus
get /t/a
"""


def reset(server):
    zk = KazooClient(hosts=server.hosts, timeout=5)
    zk.start(timeout=10)
    zk.delete("/t", recursive=True) if zk.exists("/t") else None
    zk.stop()
    zk.close()


SERVERS = ["kavka", "zookeeper"]


def serving(server):
    """Apache ZooKeeper listens before it serves ("This ZooKeeper instance is
    not currently serving requests"): wait until srvr answers properly."""
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if four_letter(server.port, "srvr").startswith("Zookeeper version: "):
                return server
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail("server on port %d not serving" % server.port)


@pytest.fixture(params=SERVERS)
def any_server(request, make_server):
    return serving(make_server(cls=ZooKeeper) if request.param == "zookeeper" else make_server())


@pytest.mark.parametrize("jars", [JARS38, JARS39], ids=["zkcli38", "zkcli39"])
def test_script_same_output_as_zkcli(any_server, jars, quiet_logging):
    """A session's worth of commands on stdin: every line of stdout and stderr
    and the exit status the same as ZooKeeperMain's."""
    reset(any_server)
    want = run_zkcli(jars, any_server.hosts, stdin=SCRIPT + "quit\n", flags=quiet_logging)
    reset(any_server)
    have = run_shell(any_server.hosts, stdin=SCRIPT + "quit\n")
    assert have[1].count(CONNECTED) == 1 and have[1].endswith(CLOSED), have[1]
    assert norm(have[1]) == norm(want[1])
    assert norm(have[2]) == norm(want[2])
    assert have[0] == want[0]
    # and the script really did things (not two empty outputs)
    assert re.search(r"^Created /t/seq-\d{10}$", have[2], re.M) and "Node not empty: /t" in have[2]
    assert re.search(r"^\[a, acl, b, c, cont, e, eph, es-\d{10}, seq-\d{10}\]$", have[1], re.M)


ONE_SHOT = [
    ["ls", "/"], ["ls", "-s", "/t"], ["get", "/t/a"], ["get", "/nope"], ["stat", "/t"],
    ["create", "/t/new", "v"], ["create", "/t/a", "dup"], ["set", "/t/a", "z"],
    ["delete", "/t"], ["delete", "/t/new"], ["deleteall", "/t"], ["ls", "/t"],
    ["bogus"], ["ls"],
]


def test_one_shot_commands_same_output_and_status(any_server, quiet_logging):
    """zookeeper-shell HOST:PORT cmd args — one command, exit status as zkCli.
    (Not compared: an ephemeral node made this way. zkCli exits without
    closing its session, so the node stays until the session expires; the
    shell closes its session, and the node goes at once.)"""
    for phase in ("zkcli", "ours"):
        reset(any_server)
        zk = KazooClient(hosts=any_server.hosts, timeout=5)
        zk.start(timeout=10)
        zk.create("/t/a", b"hello", makepath=True)
        zk.stop()
        outs = []
        for args in ONE_SHOT:
            if phase == "zkcli":
                outs.append(run_zkcli(JARS38, any_server.hosts, args, flags=quiet_logging))
            else:
                outs.append(run_shell(any_server.hosts, args))
        if phase == "zkcli":
            want = outs
        else:
            have = outs
    for args, w, h in zip(ONE_SHOT, want, have):
        assert (h[0], norm(h[1]), norm(h[2])) == (w[0], norm(w[1]), norm(w[2])), args
    assert have[0][0] == 0 and "[t, zookeeper]" in have[0][1]
    assert have[3][0] == 1 and "Node does not exist: /nope" in have[3][2]
    assert have[12][0] == 127


def test_effects_seen_by_kazoo(any_server, tmp_path):
    hosts = any_server.hosts
    zk = KazooClient(hosts=hosts, timeout=5)
    zk.start(timeout=10)
    try:
        assert run_shell(hosts, ["create", "/app", "hello"])[2] == "Created /app\n"
        assert zk.get("/app")[0] == b"hello"
        run_shell(hosts, ["create", "/app/b", "with space"])
        assert zk.get("/app/b")[0] == b"with space"
        rc, _, err = run_shell(hosts, ["create", "-s", "/app/seq-", "x"])
        assert rc == 0 and err.startswith("Created /app/seq-")
        assert zk.exists(err.split()[1])
        run_shell(hosts, ["set", "/app", "world"])
        data, st = zk.get("/app")
        assert data == b"world" and st.version == 1
        # version check: -v 0 is stale now
        rc, _, err = run_shell(hosts, ["set", "/app", "again", "-v", "0"])
        assert rc == 1 and err == "version No is not valid : /app\n"
        assert zk.get("/app")[0] == b"world"
        # an ephemeral node lives as long as the shell's session
        rc, out, err = run_shell(hosts, stdin="create -e /app/eph x\nls /app\n")
        assert "eph" in out and not zk.exists("/app/eph")
        # stat's numbers are the node's
        zk.create("/app/b/c", b"12345", makepath=True)
        out = run_shell(hosts, ["stat", "/app/b/c"])[1]
        st = zk.exists("/app/b/c")
        assert "cZxid = 0x%x\n" % st.czxid in out and "dataLength = 5\n" in out
        assert "mZxid = 0x%x\n" % st.mzxid in out and "numChildren = 0\n" in out
        # a chroot in the connect string, as in zookeeper.connect
        rc, out, err = run_shell(hosts + "/app", ["create", "/inroot", "r"])
        assert err == "Created /inroot\n" and zk.get("/app/inroot")[0] == b"r"
        assert "inroot" in run_shell(hosts + "/app", ["ls", "/"])[1]
        # delete refuses a parent; deleteall removes the subtree
        rc, _, err = run_shell(hosts, ["delete", "/app"])
        assert rc == 1 and err == "Node not empty: /app\n" and zk.exists("/app")
        for i in range(30):
            zk.create("/app/many/n%02d/leaf" % i, b"", makepath=True)
        assert run_shell(hosts, ["deleteall", "/app"])[0] == 0
        assert zk.exists("/app") is None
        # zkCli.sh's convention: -server host:port
        os.symlink(shell_binary(), tmp_path / "zkCli.sh")
        p = subprocess.run([str(tmp_path / "zkCli.sh"), "-server", hosts, "ls", "/"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.endswith("[zookeeper]\n"), p
    finally:
        zk.stop()
        zk.close()


def test_unreachable_server_is_connection_loss():
    import socket
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]   # bound, not listening: refused
        rc, out, err = run_shell("%s:%d" % (HOST, port), ["ls", "/brokers/ids"])
    assert rc == 1 and err == "KeeperErrorCode = ConnectionLoss for /brokers/ids\n"
    assert out == "Connecting to %s:%d\n" % (HOST, port)


# ---------------- SASL ----------------

SERVER_JAAS = """Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
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


class SaslZooKeeper(ZooKeeper):
    jaas = None

    def command(self, cfg):
        cmd = super().command(cfg)
        return cmd[:1] + ["-Djava.security.auth.login.config=%s" % self.jaas,
                          "-Dzookeeper.fips-mode=false"] + cmd[1:]


@pytest.fixture(params=SERVERS)
def sasl_server(request, make_server, tmp_path):
    jaas = tmp_path / "server.jaas"
    jaas.write_text(SERVER_JAAS)
    cfg = {"authProvider.1": SASL_PROVIDER}
    if request.param == "zookeeper":
        SaslZooKeeper.jaas = str(jaas)
        return serving(make_server(cfg, cls=SaslZooKeeper))
    return serving(make_server(cfg, {"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % jaas}))


def client_jaas(tmp_path, password):
    path = tmp_path / ("client-%s.jaas" % password)
    path.write_text(CLIENT_JAAS % password)
    return str(path)


def test_sasl_client_section(sasl_server, tmp_path, quiet_logging):
    hosts = sasl_server.hosts
    good = {"KAFKA_OPTS": "-Xmx1g -Djava.security.auth.login.config=%s" % client_jaas(tmp_path,
                                                                                    "kafkapw")}
    rc, out, err = run_shell(hosts, ["create", "/k", "v", "sasl:kafka:cdrwa"], env=good)
    assert rc == 0 and err == "Created /k\n", (out, err)
    assert "WatchedEvent state:SaslAuthenticated type:None path:null" in out
    anon = KazooClient(hosts=hosts, timeout=5)
    anon.start(timeout=10)
    with pytest.raises(NoAuthError):
        anon.get("/k")           # only the SASL identity "kafka" may read it
    anon.stop()
    anon.close()
    rc, out, err = run_shell(hosts, ["get", "/k"], env=good)
    assert rc == 0 and out.endswith("\nv\n")
    # zkCli's JVMFLAGS convention works too, and so does the real zkCli on
    # the same node (same identity), printing the same.
    flags = {"JVMFLAGS": "-Djava.security.auth.login.config=%s" % client_jaas(tmp_path,
                                                                            "kafkapw")}
    assert run_shell(hosts, ["get", "/k"], env=flags)[1] == out
    want = run_zkcli(JARS38, hosts, ["get", "/k"], flags=quiet_logging,
                     jvm=["-Djava.security.auth.login.config=%s" % client_jaas(tmp_path,
                                                                               "kafkapw")])
    assert want[0] == 0 and "SaslAuthenticated" in want[1] and want[1].endswith("\nv\n")
    # Without credentials: no access; a wrong password: AuthFailed, no data.
    rc, out, err = run_shell(hosts, ["get", "/k"])
    assert rc == 1 and err == "Insufficient permission : /k\n"
    bad = {"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % client_jaas(tmp_path, "nope")}
    rc, out, err = run_shell(hosts, ["get", "/k"], env=bad)
    assert rc == 1 and "\nv\n" not in out
    assert "WatchedEvent state:AuthFailed type:None path:null" in out
    assert err == "KeeperErrorCode = AuthFailed for /k\n"
    # -Dzookeeper.sasl.client=false turns the login off, as in the Java client
    off = {"KAFKA_OPTS": good["KAFKA_OPTS"] + " -Dzookeeper.sasl.client=false"}
    assert run_shell(hosts, ["get", "/k"], env=off)[2] == "Insufficient permission : /k\n"


# ---------------- four-letter words ----------------

def test_four_letter_words(any_server):
    port = any_server.port
    assert four_letter(port, "ruok") == "imok"
    srvr = four_letter(port, "srvr")
    assert srvr.startswith("Zookeeper version: ") and "\nMode: standalone\n" in srvr
    for key in ("Latency min/avg/max:", "Received:", "Sent:", "Connections:", "Outstanding:",
                "Zxid:", "Node count:"):
        assert "\n" + key in srvr, key
    mntr = dict(line.split("\t", 1) for line in four_letter(port, "mntr").splitlines())
    zk = KazooClient(hosts=any_server.hosts, timeout=5)
    zk.start(timeout=10)
    zk.create("/fourlw/a", b"x", makepath=True)
    zk.create("/fourlw/e", b"x", ephemeral=True)
    mntr2 = dict(line.split("\t", 1) for line in four_letter(port, "mntr").splitlines())
    zk.stop()
    zk.close()
    assert mntr["zk_server_state"] == "standalone"
    assert int(mntr2["zk_znode_count"]) == int(mntr["zk_znode_count"]) + 3
    assert int(mntr2["zk_ephemerals_count"]) == int(mntr["zk_ephemerals_count"]) + 1
    for key in ("zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
                "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections",
                "zk_outstanding_requests", "zk_watch_count", "zk_approximate_data_size"):
        assert key in mntr, key


@pytest.mark.parametrize("kind", SERVERS)
def test_four_letter_whitelist(make_server, kind):
    """4lw.commands.whitelist: only the listed words run; the others get
    ZooKeeper's refusal line (the default list is srvr alone)."""
    cfg = {"4lw.commands.whitelist": "srvr, mntr"}
    srv = serving(make_server(cfg, cls=ZooKeeper) if kind == "zookeeper" else make_server(cfg))
    assert four_letter(srv.port, "ruok") == "ruok is not executed because it is not in the whitelist.\n"
    assert four_letter(srv.port, "srvr").startswith("Zookeeper version: ")
    assert "zk_znode_count\t" in four_letter(srv.port, "mntr")
