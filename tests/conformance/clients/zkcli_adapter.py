#!/usr/bin/env python3
"""Conformance adapter: zkCli (org.apache.zookeeper.ZooKeeperMain) against
kavka's metastore.

  zkcli_adapter.py <jarsdir>     # tests/clients/<jarsdir>: jars (3.9), jars-zk38 (3.8)

zkCli reads commands on stdin when it has no terminal. Each session here is
one long-lived zkCli JVM: a command is written, then a marker command (a get
of a node that never exists), and the output up to the marker's "Node does
not exist" line is that command's answer. Watch events are printed by zkCli
asynchronously and are counted over the whole output of the session.

The scenarios are those of docs/conformance.md (ZooKeeper table). zkCli has
no multi command and no recipes: those two are N/A.
"""

import base64
import glob
import hashlib
import os
import re
import subprocess
import sys
import threading
import time
import traceback

REPO = os.environ.get("KC_REPO") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
ZK = os.environ["KC_ZK"]
PREFIX = "/" + os.environ["KC_PREFIX"]
WORK = os.environ.get("KC_WORK", ".")
MARK = PREFIX + "-mark"  # never created: "get MARK/n" answers NoNode, naming the path
STEP_TIMEOUT = 20


class Failed(Exception):
    pass


def check(cond, what, out=None):
    if not cond:
        if out is not None:
            what += " [zkCli said: %s]" % " | ".join(l.strip() for l in out.splitlines() if l.strip())[:300]
        raise Failed(what)


def java_argv(jars, flags):
    return ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            # ZooKeeper 3.9 clients refuse DIGEST-MD5 in their default FIPS mode.
            "-Dzookeeper.fips-mode=false",
            # 3.9 (tests/clients/jars) logs with log4j2, 3.8 with logback: warnings only.
            "-Dlog4j2.configurationFile=%s" % os.path.join(REPO, "tests", "clients", "log4j2.properties"),
            "-Dlogback.configurationFile=%s" % os.path.join(REPO, "tests", "conformance", "clients",
                                                            "zk38", "logback.xml"),
            *flags, "-cp", os.path.join(jars, "*"), "org.apache.zookeeper.ZooKeeperMain",
            "-server", ZK, "-timeout", "10000"]


class ZkCli:
    """One zkCli JVM (one ZooKeeper session) driven line by line."""
    count = 0

    def __init__(self, jars, name, flags=()):
        ZkCli.count += 1
        self.name = "%s#%d" % (name, ZkCli.count)
        self.lines = []
        self.pos = 0
        self.marks = 0
        self.cond = threading.Condition()
        self.p = subprocess.Popen(java_argv(jars, flags), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  bufsize=1, cwd=WORK)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            sys.stderr.write("[%s] %s" % (self.name, line))
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # EOF
            self.cond.notify_all()

    def run(self, cmd):
        """Runs one command; returns what zkCli printed for it."""
        self.marks += 1
        mark = "%s/%d" % (MARK, self.marks)
        sys.stderr.write("[%s] > %s\n" % (self.name, cmd))
        self.p.stdin.write("%s\nget %s\n" % (cmd, mark))
        self.p.stdin.flush()
        deadline = time.time() + STEP_TIMEOUT
        with self.cond:
            while True:
                for i in range(self.pos, len(self.lines)):
                    line = self.lines[i]
                    if line is None:
                        raise Failed("zkCli %s exited during %r" % (self.name, cmd))
                    if line.rstrip().endswith(mark):
                        out = "\n".join(self.lines[self.pos:i])
                        self.pos = i + 1
                        return out
                left = deadline - time.time()
                if left <= 0:
                    raise Failed("zkCli %s: no answer to %r within %ds" % (self.name, cmd, STEP_TIMEOUT))
                self.cond.wait(left)

    def output(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def wait_for(self, regex, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(regex, self.output()):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.t.join(5)


def batch(jars, cmds, flags=(), timeout=60):
    """One zkCli JVM fed all of cmds at once; its whole output."""
    p = subprocess.run(java_argv(jars, flags), input="\n".join(cmds) + "\nquit\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, cwd=WORK)
    for line in p.stdout.splitlines():
        sys.stderr.write("[batch] %s\n" % line)
    return p.stdout


def event_count(out, etype, path):
    return len(re.findall(r"type:%s path:%s(?=\s|$)" % (etype, re.escape(path)), out))


# ---------------------------------------------------------------- scenarios

def crud(s):
    p = PREFIX + "/crud"
    out = s.run("create %s hello" % p)
    check("Created %s" % p in out, "create", out)
    out = s.run("get -s %s" % p)
    check(re.search(r"^hello$", out, re.M), "get returns the data", out)
    check(re.search(r"dataVersion = 0$", out, re.M) and re.search(r"dataLength = 5$", out, re.M)
          and re.search(r"numChildren = 0$", out, re.M), "stat of the new node", out)
    out = s.run("create %s again" % p)
    check("Node already exists: %s" % p in out, "second create is NodeExists", out)
    out = s.run("set -v 0 %s world" % p)
    check(out.strip() == "", "set with the right version answers nothing (no error)", out)
    out = s.run("set -v 0 %s stale" % p)
    check("version No is not valid : %s" % p in out, "set with a stale version is BadVersion", out)
    out = s.run("get -s %s" % p)
    check(re.search(r"^world$", out, re.M) and re.search(r"dataVersion = 1$", out, re.M),
          "data and version after set", out)
    for c in ("a", "b"):
        out = s.run("create %s/%s %s" % (p, c, c))
        check("Created %s/%s" % (p, c) in out, "create child " + c, out)
    out = s.run("ls %s" % p)
    check(re.search(r"^\[a, b\]$", out, re.M), "ls lists the children", out)
    out = s.run("delete %s" % p)
    check("Node not empty: %s" % p in out, "deleting a parent is NotEmpty", out)
    for c in ("a", "b"):
        s.run("delete %s/%s" % (p, c))
    out = s.run("delete %s" % p)
    check(out.strip() == "", "delete", out)
    out = s.run("get %s" % p)
    check("Node does not exist: %s" % p in out, "get after delete is NoNode", out)
    out = s.run("delete %s" % p)
    check("Node does not exist: %s" % p in out, "second delete is NoNode", out)
    return "create/get/stat/set(version)/ls/delete, NodeExists, BadVersion, NotEmpty, NoNode"


def ephemeral(s, jars):
    p = PREFIX + "/eph"
    owner = ZkCli(jars, "eph-owner")
    try:
        out = owner.run("create -e %s e" % p)
        check("Created %s" % p in out, "create -e", out)
        out = owner.run("stat %s" % p)
        m = re.search(r"ephemeralOwner = (0x[0-9a-f]+)", out)
        check(m and int(m.group(1), 16) != 0, "ephemeralOwner is the session", out)
        out = s.run("stat %s" % p)
        check("ephemeralOwner = %s" % m.group(1) in out, "another session sees it while the owner lives", out)
    finally:
        owner.close()
    out = s.run("stat %s" % p)
    check("Node does not exist: %s" % p in out, "gone for another session after the owner quit", out)
    return "seen by another session, gone after the owner's session closed"


def sequential(s):
    p = PREFIX + "/seq"
    s.run("create %s x" % p)
    made = []
    for flags, base in (("-s", "n-"), ("-s", "n-"), ("-e -s", "e-"), ("-s", "n-"), ("-e -s", "e-")):
        out = s.run("create %s %s/%s d" % (flags, p, base))
        m = re.search(r"Created %s/%s(\d+)$" % (re.escape(p), base), out, re.M)
        check(m, "create %s answers the sequential name" % flags, out)
        check(len(m.group(1)) == 10, "10-digit suffix", out)
        made.append((base, m.group(1)))
    nums = [int(n) for _, n in made]
    check(all(a < b for a, b in zip(nums, nums[1:])), "suffixes increase: %s" % nums)
    out = s.run("ls %s" % p)
    for base, n in made:
        check(base + n in out, "ls shows " + base + n, out)
    out = s.run("stat %s/e-%s" % (p, made[2][1]))
    m = re.search(r"ephemeralOwner = (0x[0-9a-f]+)", out)
    check(m and int(m.group(1), 16) != 0, "ephemeral-sequential node is ephemeral", out)
    return "suffixes %s" % ",".join(n for _, n in made)


def watch(s, other):
    p, pn = PREFIX + "/w", PREFIX + "/wn"
    s.run("create %s v0" % p)
    out = s.run("get -w %s" % p)
    check(re.search(r"^v0$", out, re.M), "get -w", out)
    s.run("ls -w %s" % p)
    out = s.run("stat -w %s" % pn)
    check("Node does not exist: %s" % pn in out, "stat -w on a missing node", out)
    other.run("set %s v1" % p)
    other.run("create %s/c c" % p)
    other.run("create %s y" % pn)
    want = [("NodeDataChanged", p), ("NodeChildrenChanged", p), ("NodeCreated", pn)]
    for etype, path in want:
        check(s.wait_for(r"type:%s path:%s(?=\s|$)" % (etype, re.escape(path))),
              "%s on %s fired" % (etype, path))
    # The watches are one-shot: more changes fire nothing.
    other.run("set %s v2" % p)
    other.run("create %s/c2 c" % p)
    other.run("set %s z" % pn)
    s.run("sync /")
    time.sleep(0.5)
    s.run("ls /")
    out = s.output()
    for etype, path in want:
        n = event_count(out, etype, path)
        check(n == 1, "%s on %s fired %d times (want once)" % (etype, path, n))
    check(event_count(out, "NodeDataChanged", pn) == 0, "a consumed exists-watch fired again")
    return "NodeDataChanged, NodeChildrenChanged, NodeCreated once each"


def acl(jars):
    p = PREFIX + "/acl"
    user, pw = "cfuser", "cfpass"
    digest = base64.b64encode(hashlib.sha1(("%s:%s" % (user, pw)).encode()).digest()).decode()
    c = ZkCli(jars, "acl")
    try:
        out = c.run("create %s secret digest:%s:%s:cdrwa" % (p, user, digest))
        check("Created %s" % p in out, "create with a digest ACL", out)
        out = c.run("get %s" % p)
        check("Insufficient permission : %s" % p in out and "secret" not in out,
              "get without credentials is NoAuth", out)
        out = c.run("set %s x" % p)
        check("Insufficient permission : %s" % p in out, "set without credentials is NoAuth", out)
        c.run("addauth digest %s:wrong" % user)
        out = c.run("get %s" % p)
        check("Insufficient permission : %s" % p in out, "a wrong password gives no access", out)
        c.run("addauth digest %s:%s" % (user, pw))
        out = c.run("get %s" % p)
        check(re.search(r"^secret$", out, re.M), "get after addauth digest", out)
        out = c.run("set %s changed" % p)
        check("Insufficient permission" not in out, "set after addauth digest", out)
        out = c.run("getAcl %s" % p)
        check("'digest,'%s:%s" % (user, digest) in out and re.search(r"^: cdrwa$", out, re.M),
              "getAcl shows the digest ACL", out)
    finally:
        c.close()
    return "NoAuth without/with wrong credentials, allowed after addauth, getAcl digest:%s" % user


def sasl(jars, anon):
    p = PREFIX + "/sasl"
    user, jaas = os.environ["KC_ZK_USER"], os.environ["KC_ZK_JAAS"]
    s = ZkCli(jars, "sasl", ["-Djava.security.auth.login.config=%s" % jaas])
    try:
        check(s.wait_for(r"state:SaslAuthenticated", 15), "SaslAuthenticated event", s.output())
        out = s.run("create %s sdata sasl:%s:cdrwa" % (p, user))
        check("Created %s" % p in out, "create with a sasl ACL", out)
        out = s.run("get %s" % p)
        check(re.search(r"^sdata$", out, re.M), "the SASL session reads it", out)
        out = s.run("getAcl %s" % p)
        check("'sasl,'%s" % user in out and re.search(r"^: cdrwa$", out, re.M), "getAcl shows sasl:" + user, out)
        out = s.run("whoami")
        check(re.search(r"^sasl: %s$" % re.escape(user), out, re.M), "whoami shows the sasl identity", out)
    finally:
        s.close()
    out = anon.run("get %s" % p)
    check("Insufficient permission : %s" % p in out and "sdata" not in out,
          "an anonymous session is refused", out)
    bad = os.path.join(WORK, "bad_jaas.conf")
    with open(bad, "w") as f:
        f.write('Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n'
                '  username="%s" password="not-the-password";\n};\n' % user)
    out = batch(jars, ["get %s" % p], ["-Djava.security.auth.login.config=%s" % bad])
    check("SaslAuthenticated" not in out and not re.search(r"^sdata$", out, re.M),
          "a wrong password must not authenticate", out)
    check("state:AuthFailed" in out and "AuthFailed for %s" % p in out,
          "a wrong password is refused with AuthFailed", out)
    return "DIGEST-MD5 as %s via JAAS; sasl ACL; anonymous NoAuth; wrong password AuthFailed" % user


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: zkcli_adapter.py <jars dir under tests/clients>")
    jars = os.path.join(REPO, "tests", "clients", sys.argv[1])
    zkjar = [os.path.basename(j) for j in glob.glob(os.path.join(jars, "zookeeper-3*.jar"))
             if "jute" not in j]
    sys.stderr.write("zkCli from %s: %s\n" % (jars, zkjar))
    if not zkjar:
        for sc in ("crud", "ephemeral", "sequential", "watch", "multi", "acl", "sasl", "recipes"):
            print("RESULT %s FAIL no ZooKeeper jar in %s (run tests/conformance/setup.d)" % (sc, jars))
        return 1
    t0 = time.time()
    a = ZkCli(jars, "main")
    b = ZkCli(jars, "other")
    try:
        out = a.run("create %s root" % PREFIX)
        check("Created %s" % PREFIX in out, "creating the adapter's root node", out)
        scenarios = [
            ("crud", lambda: crud(a)),
            ("ephemeral", lambda: ephemeral(b, jars)),
            ("sequential", lambda: sequential(a)),
            ("watch", lambda: watch(a, b)),
            ("multi", None),
            ("acl", lambda: acl(jars)),
            ("sasl", lambda: sasl(jars, b)),
            ("recipes", None),
        ]
        for name, fn in scenarios:
            if fn is None:
                why = {"multi": "zkCli has no multi/transaction command",
                       "recipes": "zkCli has no recipes (lock, election, ...)"}[name]
                print("RESULT %s N/A %s" % (name, why), flush=True)
                continue
            t = time.time()
            try:
                detail = fn()
                print("RESULT %s PASS %s (%.1fs)" % (name, detail, time.time() - t), flush=True)
            except Exception as e:  # noqa: BLE001 - a scenario's failure is its result
                if not isinstance(e, Failed):
                    traceback.print_exc()
                print("RESULT %s FAIL %s" % (name, str(e) or type(e).__name__), flush=True)
    finally:
        a.close()
        b.close()
    sys.stderr.write("zkCli adapter done in %.1fs\n" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
