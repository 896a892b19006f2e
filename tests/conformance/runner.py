#!/usr/bin/env python3
"""Conformance runner (issue 7): starts one kavka (metastore + broker) and
runs every client adapter against it, then prints a client x scenario matrix
and a total line "N passed, N failed".

  tests/conformance/run [--build DIR] [--clients a,b,...] [--list] [--keep]

The kavka under test
  kavka-metastore  SASL DIGEST-MD5 from a JAAS Server section (optional for
                   clients: anonymous sessions work too), digest ACLs.
  kavka-broker     zookeeper.connect=<metastore>/kafka, logged in with the JAAS
                   Client section; listeners PLAINTEXT, SASL_PLAINTEXT (PLAIN,
                   SCRAM-SHA-256, SCRAM-SHA-512) and SSL (PEM keystore from a
                   CA made for this run); auto-create on, 3 partitions.
                   SCRAM users are created with AlterUserScramCredentials.

The adapter contract (docs/conformance.md has the scenario definitions)
  An adapter is a program run once per client with the environment below.
  For every scenario it prints one line on stdout:
      RESULT <scenario> PASS|FAIL|N/A [detail]
  N/A only for a feature the client does not have (the detail says which).
  Anything else it prints is kept in the log.  A scenario it does not
  report is a failure.  Names it uses for topics and groups start with
  $KC_PREFIX, so adapters never see each other's data.

  KC_BOOTSTRAP       PLAINTEXT listener, host:port
  KC_SASL_BOOTSTRAP  SASL_PLAINTEXT listener (PLAIN and SCRAM-SHA-256/512)
  KC_SSL_BOOTSTRAP   SSL listener; server certificate for 127.0.0.1/localhost
  KC_CA_PEM          the CA certificate (PEM) that signed it
  KC_PLAIN_USER, KC_PLAIN_PASSWORD   a PLAIN user
  KC_SCRAM_USER, KC_SCRAM_PASSWORD   a SCRAM user (both SHA-256 and SHA-512)
  KC_ZK              the metastore, host:port
  KC_ZK_USER, KC_ZK_PASSWORD         a DIGEST-MD5 user of the metastore
  KC_ZK_JAAS         a JAAS file whose Client section logs in as that user
  KC_PREFIX          prefix for topic, group and znode names of this adapter
  KC_WORK            a scratch directory of this adapter
  KC_REPO, KC_BUILD  the repository and the meson build directory
  KC_PYTHON          the clients' virtualenv python

Known failures (a bug not yet fixed or a feature not built) are listed in
tests/conformance/known_failures as "client scenario reason"; they show as
XFAIL, are counted apart ("expected failures (known)") and do not fail the
run.  Every one of them is in docs/conformance.md.  A known failure that now
passes (XPASS) is news, not a failure: it is printed as "KNOWN FAILURE NOW
PASSES" and counted as passed, so that its entry gets removed; it fails the
run only when its reason starts with "strict:" (known_failures says more).
Any other failure makes the run exit 1.

  --junit FILE   also write the cells as JUnit XML (one test case per
                 client x scenario), which scripts/test-summary counts
"""

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLIENTS = os.path.join(REPO, "tests", "clients")
HOST = "127.0.0.1"
VENV_PY = os.path.join(CLIENTS, ".venv", "bin", "python")

KAFKA_SCENARIOS = ["produce-consume", "gzip", "snappy", "lz4", "zstd", "group-rebalance",
                   "committed-offsets", "admin-topics", "describe-configs", "sasl-plain",
                   "sasl-scram", "tls"]
ZK_SCENARIOS = ["crud", "ephemeral", "sequential", "watch", "multi", "acl", "sasl", "recipes"]

PLAIN_USER, PLAIN_PASSWORD = "alice", "alice-secret"
SCRAM_USER, SCRAM_PASSWORD = "carol", "carol-secret"
ZK_USER, ZK_PASSWORD = "bob", "bob-secret"


def C(*p):
    return os.path.join(HERE, "clients", *p)


def jars(name):
    return os.path.join(CLIENTS, name)


# name -> (kind, argv builder(build_dir), timeout seconds, files that must exist)
# The argv builder gets the build dir; adapters run with cwd = KC_WORK.
ADAPTERS = [
    ("librdkafka", "kafka", lambda b: [os.path.join(b, "tests", "conformance", "rdkafka-adapter")], 300),
    ("kcat", "kafka", lambda b: [VENV_PY, C("kcat_adapter.py")], 300),
    ("confluent-kafka-debian", "kafka", lambda b: ["/usr/bin/python3", C("py_adapter.py"), "confluent"], 300),
    ("confluent-kafka-pypi", "kafka", lambda b: [C("latest", ".venv", "bin", "python"), C("py_adapter.py"), "confluent"], 300),
    ("kafka-python", "kafka", lambda b: [C("latest", ".venv", "bin", "python"), C("py_adapter.py"), "kafka-python"], 300),
    ("kafkajs", "kafka", lambda b: ["node", C("kafkajs_adapter.js")], 300),
    ("java-4.1", "kafka", lambda b: [C("java", "run"), "jars"], 400),
    ("java-3.9", "kafka", lambda b: [C("java", "run"), "jars-kafka39"], 400),
    ("kafka-cli-4.1", "kafka", lambda b: [VENV_PY, C("kafka_cli.py"), "jars"], 600),
    ("franz-go", "kafka", lambda b: [C("franzgo", "run")], 400),
    ("zkCli-3.8", "zk", lambda b: [VENV_PY, C("zkcli_adapter.py"), "jars-zk38"], 300),
    ("zkCli-3.9", "zk", lambda b: [VENV_PY, C("zkcli_adapter.py"), "jars"], 300),
    ("kazoo", "zk", lambda b: [VENV_PY, C("kazoo_adapter.py")], 300),
    ("zookeeper-c", "zk", lambda b: [os.path.join(b, "tests", "conformance", "zk-c-adapter")], 300),
    ("curator", "zk", lambda b: [C("curator", "run")], 400),
]

_procs = []


def _kill_all():
    for p in _procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


atexit.register(_kill_all)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_port(port, proc, log, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited (%s):\n%s" % (proc.returncode, tail(log)))
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d:\n%s" % (port, tail(log)))


# known_failures: a reason that starts with this makes a pass of the entry
# fail the run (XPASS-STRICT); otherwise a pass is only news.
STRICT = "strict:"


def known_status(status, reason):
    """The status of a test listed as a known failure: FAIL -> XFAIL, PASS ->
    XPASS (news) or XPASS-STRICT (fails the run), anything else unchanged."""
    if status == "PASS":
        return "XPASS-STRICT" if reason.startswith(STRICT) else "XPASS"
    return {"FAIL": "XFAIL", "SKIP": "XFAIL"}.get(status, status)


def write_junit(path, suite, cases):
    """cases: (name, status, detail) with status PASS, FAIL, SKIP, N/A, XFAIL,
    XPASS or XPASS-STRICT, as JUnit XML for scripts/test-summary: a known
    failure is <skipped type="xfail">, a non-strict XPASS a passing case with
    the property "xpass", a strict one a <failure type="xpass-strict">."""
    if not path:
        return
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuites><testsuite name=%s tests="%d">' % (quoteattr(suite), len(cases))]
    for name, st, detail in cases:
        head = '<testcase classname=%s name=%s' % (quoteattr(suite), quoteattr(name))
        msg = quoteattr(detail or "")
        if st == "PASS":
            out.append(head + "/>")
        elif st == "XPASS":
            out.append(head + '><properties><property name="xpass" value=%s/></properties></testcase>' % msg)
        elif st == "XPASS-STRICT":
            out.append(head + '><failure type="xpass-strict" message=%s/></testcase>' % msg)
        elif st == "XFAIL":
            out.append(head + '><skipped type="xfail" message=%s/></testcase>' % msg)
        elif st in ("N/A", "SKIPPED"):
            out.append(head + '><skipped message=%s/></testcase>' % msg)
        else:
            out.append(head + '><failure type=%s message=%s/></testcase>' % (quoteattr(st), msg))
    out.append("</testsuite></testsuites>\n")
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(out))


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def openssl(d, *args):
    p = subprocess.run(["openssl"] + list(args), cwd=d, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    if p.returncode:
        raise SystemExit("openssl %s: %s" % (args[0], p.stdout.decode(errors="replace")))


def make_pki(d):
    """A CA for this run and a server certificate for 127.0.0.1/localhost."""
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(d, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=kavka-conformance-ca")
    write(os.path.join(d, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(d, "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    with open(os.path.join(d, "keystore.pem"), "w") as out:
        for f in ("server.key", "server.pem"):
            out.write(open(os.path.join(d, f)).read())
    return os.path.join(d, "ca.pem"), os.path.join(d, "keystore.pem")


class Kavka:
    def __init__(self, build, work):
        self.build, self.work = build, work
        self.servers = []
        self.zk_port = free_port()
        self.plain_port, self.sasl_port, self.ssl_port = free_port(), free_port(), free_port()

    def start(self):
        self.ca, keystore = make_pki(os.path.join(self.work, "pki"))
        # One JAAS file, as cp-kafka/cp-zookeeper users have: Server for the
        # metastore, KafkaServer and Client for the broker.
        jaas = write(os.path.join(self.work, "jaas.conf"), """\
Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_super="super-secret" user_kafka="kafka-secret" user_%s="%s";
};
KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  username="admin" password="admin-secret"
  user_admin="admin-secret" user_%s="%s";
};
Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="kafka" password="kafka-secret";
};
""" % (ZK_USER, ZK_PASSWORD, PLAIN_USER, PLAIN_PASSWORD))
        self.client_jaas = write(os.path.join(self.work, "zk_client_jaas.conf"), """\
Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="%s" password="%s";
};
""" % (ZK_USER, ZK_PASSWORD))
        ms_dir = os.path.join(self.work, "metastore")
        os.makedirs(ms_dir)
        cfg = write(os.path.join(ms_dir, "zoo.cfg"), "\n".join([
            "clientPort=%d" % self.zk_port, "clientPortAddress=%s" % HOST,
            "dataDir=%s" % os.path.join(ms_dir, "data"), "tickTime=2000",
            "4lw.commands.whitelist=*",
            "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            "jaasLoginConfig=%s" % jaas, ""]))
        self.ms_log = os.path.join(ms_dir, "metastore.log")
        ms = self._spawn([os.path.join(self.build, "metastore", "kavka-metastore"), cfg],
                         self.ms_log, {})
        wait_port(self.zk_port, ms, self.ms_log)

        b_dir = os.path.join(self.work, "broker")
        os.makedirs(b_dir)
        props = write(os.path.join(b_dir, "server.properties"), "\n".join([
            "broker.id=1",
            "listeners=PLAINTEXT://%s:%d,SASL_PLAINTEXT://%s:%d,SSL://%s:%d" % (
                HOST, self.plain_port, HOST, self.sasl_port, HOST, self.ssl_port),
            "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "ssl.keystore.type=PEM", "ssl.keystore.location=%s" % keystore,
            "ssl.truststore.type=PEM", "ssl.truststore.location=%s" % self.ca,
            "zookeeper.connect=%s:%d/kafka" % (HOST, self.zk_port),
            "log.dirs=%s" % os.path.join(b_dir, "logs"),
            "num.partitions=3", "auto.create.topics.enable=true",
            "group.initial.rebalance.delay.ms=0", ""]))
        self.broker_log = os.path.join(b_dir, "broker.log")
        broker = self._spawn([os.path.join(self.build, "broker", "kavka-broker"), props],
                             self.broker_log,
                             {"KAFKA_OPTS": "-Djava.security.auth.login.config=%s" % jaas})
        for port in (self.plain_port, self.sasl_port, self.ssl_port):
            wait_port(port, broker, self.broker_log)
        self._scram_user()

    def _spawn(self, argv, log, env):
        e = dict(os.environ)
        e.update(env)
        with open(log, "wb") as f:
            p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=e, start_new_session=True)
        _procs.append(p)
        self.servers.append(p)
        return p

    def _scram_user(self):
        """Both SCRAM mechanisms for the SCRAM user, through the admin API
        (AlterUserScramCredentials, as kafka-configs does it)."""
        code = """
import sys
from confluent_kafka.admin import AdminClient, UserScramCredentialUpsertion, ScramCredentialInfo, ScramMechanism
a = AdminClient({"bootstrap.servers": sys.argv[1]})
ups = [UserScramCredentialUpsertion(sys.argv[2], ScramCredentialInfo(m, 4096), sys.argv[3].encode())
       for m in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)]
for f in a.alter_user_scram_credentials(ups).values():
    f.result(30)
"""
        p = subprocess.run([VENV_PY, "-c", code, self.bootstrap("plain"), SCRAM_USER, SCRAM_PASSWORD],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode:
            raise SystemExit("creating the SCRAM user failed:\n" + p.stdout.decode(errors="replace"))

    def bootstrap(self, which):
        return "%s:%d" % (HOST, {"plain": self.plain_port, "sasl": self.sasl_port,
                                 "ssl": self.ssl_port}[which])

    def env(self, build, prefix, work):
        return {
            "KC_BOOTSTRAP": self.bootstrap("plain"), "KC_SASL_BOOTSTRAP": self.bootstrap("sasl"),
            "KC_SSL_BOOTSTRAP": self.bootstrap("ssl"), "KC_CA_PEM": self.ca,
            "KC_PLAIN_USER": PLAIN_USER, "KC_PLAIN_PASSWORD": PLAIN_PASSWORD,
            "KC_SCRAM_USER": SCRAM_USER, "KC_SCRAM_PASSWORD": SCRAM_PASSWORD,
            "KC_ZK": "%s:%d" % (HOST, self.zk_port), "KC_ZK_USER": ZK_USER,
            "KC_ZK_PASSWORD": ZK_PASSWORD, "KC_ZK_JAAS": self.client_jaas,
            "KC_PREFIX": prefix, "KC_WORK": work, "KC_REPO": REPO, "KC_BUILD": build,
            "KC_PYTHON": VENV_PY,
        }

    def stop(self):
        """SIGTERM, broker first: after all the clients, both must still shut
        down cleanly (exit 0). Returns the problems found."""
        problems = []
        for p, what in zip(reversed(self.servers), ("broker", "metastore")):
            if p.poll() is not None:
                problems.append("%s had already exited (%s)" % (what, p.returncode))
                continue
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(30)
            except subprocess.TimeoutExpired:
                problems.append("%s ignored SIGTERM for 30 s" % what)
                continue
            if rc != 0:
                problems.append("%s exited %d on SIGTERM" % (what, rc))
        return problems

    def alive(self):
        return [p.returncode for p in self.servers if p.poll() is not None]


def load_known():
    known = {}
    path = os.path.join(HERE, "known_failures")
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line and not line.startswith("#"):
                client, scenario, reason = line.split(None, 2)
                known[(client, scenario)] = reason
    return known


def run_adapter(name, argv, timeout, env, work, log_path):
    """Runs one adapter; returns {scenario: (status, detail)} and its exit status."""
    results = {}
    missing = [a for a in argv[:1] if os.path.isabs(a) and not os.path.exists(a)]
    if missing:
        with open(log_path, "w") as log:
            log.write("adapter not built/installed: %s\n" % missing[0])
        return results, "missing " + missing[0]
    e = dict(os.environ)
    e.update(env)
    t0 = time.time()
    with open(log_path, "wb") as log:
        try:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                 cwd=work, env=e, start_new_session=True)
        except OSError as ex:
            log.write(("cannot start %s: %s\n" % (argv, ex)).encode())
            return results, "cannot start: %s" % ex
        _procs.append(p)
        try:
            out, _ = p.communicate(timeout=timeout)
            status = "exit %d" % p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            status = "timed out after %ds" % timeout
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        log.write(b"\n--- stdout ---\n" + out)
        log.write(("\n--- %s in %.1fs ---\n" % (status, time.time() - t0)).encode())
    for line in out.decode(errors="replace").splitlines():
        parts = line.strip().split(None, 3)
        if len(parts) >= 3 and parts[0] == "RESULT":
            results[parts[1]] = (parts[2].upper(), parts[3] if len(parts) > 3 else "")
    return results, status


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("KAVKA_BUILD", os.path.join(REPO, "build")))
    ap.add_argument("--clients", help="comma-separated adapter names (default: all)")
    ap.add_argument("--list", action="store_true", help="list the adapters and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--junit", help="write the results as JUnit XML to this file")
    args = ap.parse_args()
    if args.junit and os.path.exists(args.junit):
        os.remove(args.junit)  # never leave a previous run's cases behind
    if args.list:
        for name, kind, _, _ in ADAPTERS:
            print("%-24s %s" % (name, kind))
        return 0
    build = os.path.abspath(args.build)
    chosen = ADAPTERS
    if args.clients:
        want = args.clients.split(",")
        unknown = set(want) - {a[0] for a in ADAPTERS}
        if unknown:
            raise SystemExit("unknown client(s): %s (see --list)" % ", ".join(sorted(unknown)))
        chosen = [a for a in ADAPTERS if a[0] in want]

    work = tempfile.mkdtemp(prefix="kavka-conformance-")
    print("conformance: work dir %s" % work, flush=True)
    kavka = Kavka(build, work)
    kavka.start()
    print("conformance: kavka up (PLAINTEXT %s, SASL %s, SSL %s, metastore %s)" % (
        kavka.bootstrap("plain"), kavka.bootstrap("sasl"), kavka.bootstrap("ssl"),
        "%s:%d" % (HOST, kavka.zk_port)), flush=True)

    known = load_known()
    table = {}
    stamp = "%x" % (int(time.time()) & 0xffffff)
    for name, kind, argv_of, timeout in chosen:
        awork = os.path.join(work, "clients", name)
        os.makedirs(awork)
        prefix = "cf-%s-%s" % (name.replace(".", "").replace("_", "-"), stamp)
        t0 = time.time()
        log_path = os.path.join(work, "clients", name + ".log")
        res, status = run_adapter(name, argv_of(build), timeout, kavka.env(build, prefix, awork),
                                  awork, log_path)
        dead = kavka.alive()
        scen = KAFKA_SCENARIOS if kind == "kafka" else ZK_SCENARIOS
        row = {}
        for s in scen:
            st, detail = res.get(s, ("FAIL", "not reported (%s)" % status))
            if st not in ("PASS", "FAIL", "N/A"):
                st, detail = "FAIL", "bad status %r" % st
            if (name, s) in known:
                st = known_status(st, known[(name, s)])
            row[s] = (st, detail)
        table[name] = (kind, row, log_path)
        npass = sum(1 for v in row.values() if v[0] == "PASS")
        print("conformance: %-24s %2d/%d passed in %5.1fs (%s)" % (
            name, npass, len(scen), time.time() - t0, status), flush=True)
        if dead:
            print("conformance: kavka died while %s ran (exit %s)\n%s\n%s" % (
                name, dead, tail(kavka.ms_log), tail(kavka.broker_log)), flush=True)
            break

    passed = failed = xfail = na = 0
    failures, unexpected, news, cases = [], [], [], []
    for kind, scen in (("kafka", KAFKA_SCENARIOS), ("zk", ZK_SCENARIOS)):
        rows = [(n, t) for n, t in table.items() if t[0] == kind]
        if not rows:
            continue
        print("\n%s clients x scenarios (ok pass, XX fail, xf known failure, -- n/a)" % (
            "Kafka" if kind == "kafka" else "ZooKeeper"))
        width = max(len(n) for n, _ in rows) + 2
        print(" " * width + " ".join("%-3d" % (i + 1) for i in range(len(scen))))
        for name, (_, row, log_path) in rows:
            cells = []
            for s in scen:
                st, detail = row[s]
                cells.append({"PASS": "ok ", "FAIL": "XX ", "XFAIL": "xf ", "XPASS": "XP ",
                              "XPASS-STRICT": "XP ", "N/A": "-- "}[st])
                cases.append(("%s / %s" % (name, s), st, detail or known.get((name, s), "")))
                if st in ("PASS", "XPASS"):
                    passed += 1
                    if st == "XPASS":
                        news.append((name, s, known[(name, s)]))
                elif st == "N/A":
                    na += 1
                elif st == "XFAIL":
                    xfail += 1
                    failures.append((name, s, st, detail or known.get((name, s), ""), log_path))
                else:
                    failed += 1
                    unexpected.append((name, s, st))
                    failures.append((name, s, st, detail or known.get((name, s), ""), log_path))
            print(name.ljust(width) + " ".join(cells))
        for i, s in enumerate(scen):
            print("  %2d %s" % (i + 1, s))
    if failures:
        print("\nfailed cells:")
        for name, s, st, detail, log_path in failures:
            print("  %-5s %s / %s: %s  [log %s]" % (st, name, s, detail[:300], log_path))
    if unexpected:
        for name, _, _ in {(u[0], 0, 0) for u in unexpected}:
            print("\n--- %s (tail of %s)" % (name, table[name][2]))
            print(tail(table[name][2], 30))
    problems = kavka.stop()
    for pr in problems:
        print("conformance: kavka %s\n%s\n%s" % (pr, tail(kavka.ms_log), tail(kavka.broker_log)))
        unexpected.append(("kavka", "shutdown", pr))
        failed += 1
    for name, s, reason in news:
        print("\nKNOWN FAILURE NOW PASSES: %s / %s (tests/conformance/known_failures: %s): "
              "remove its entry" % (name, s, reason[:200]))
    for name, s, st in unexpected:
        if st == "XPASS-STRICT":
            print("\nKNOWN FAILURE NOW PASSES: %s / %s, a strict entry: fails the run" % (name, s))
    write_junit(args.junit, "conformance", cases
                + [("kavka / shutdown", "FAIL", pr) for pr in problems])
    print("\n%d passed, %d failed, %d expected failures (known, in tests/conformance/known_failures), "
          "%d n/a" % (passed, failed, xfail, na))

    _kill_all()
    if not args.keep and not unexpected:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("conformance: logs kept in %s" % work)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
