"""kavka beside Apache Kafka and Apache ZooKeeper, measured in one run.

Run through bench/run (it installs the tools, builds kavka and the load
tools first). The method (docs/benchmarks.md repeats it in the report):

- Servers and load tools on separate cores: every server process (Kafka with
  its KRaft controller; kavka-broker with its kavka-metastore; ZooKeeper;
  kavka-metastore) runs under `taskset -c SERVER_CPUS`, every load tool under
  `taskset -c LOAD_CPUS`; one server under test at a time.
- Rounds interleaved: round 1 reference then kavka, round 2 kavka then
  reference, and so on, so that drift of the machine hits both sides.
- Every round starts each server afresh, runs every case once as a warm-up
  (not recorded: JIT, page cache, group coordinator, connection set-up),
  then every case again, measured, for at least --seconds (30 by default)
  or --min-records records, whichever is longer.
- Each figure is reported as min / median / max over the rounds, and each
  ratio (kavka / reference, paired within a round) likewise; a ratio whose
  spread crosses 1 (or the goal) is called inconclusive.
- The load tools' own CPU use is measured; a case whose load tool used its
  whole core is marked load-bound (the figure is then a floor for both).
- Instruction counts (valgrind --tool=callgrind) for fixed kavka workloads,
  repeatable on a noisy machine, close the report.

Writes docs/benchmarks.md; raw tool output stays in the work directory
(printed at the end; kept with --keep).
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
JARS = os.path.join(REPO, "tests", "clients", "jars")
JARS38 = os.path.join(REPO, "tests", "clients", "jars-zk38")
LOG4J = os.path.join(REPO, "tests", "clients", "log4j2.properties")
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The JVM options of Kafka's own bin/kafka-server-start.sh and
# kafka-run-class.sh (heap 1 GiB for the broker, 256 MiB for the tools).
KAFKA_JVM = ["-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
             "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
             "-Dlog4j2.configurationFile=" + LOG4J]
KAFKA_BROKER_HEAP = ["-Xmx1G", "-Xms1G"]
KAFKA_TOOL_HEAP = ["-Xmx256M"]
# bin/zkServer.sh: ZK_SERVER_HEAP=1000 (MB).
ZK_JVM = ["-Xmx1000m", "-Dzookeeper.admin.enableServer=false", "-Dlog4j2.configurationFile=" + LOG4J]

CPUS = {"server": "0", "load": "1"}   # set from --server-cpus / --load-cpus
log_lines = []


def say(msg):
    line = "[bench %s] %s" % (time.strftime("%H:%M:%S"), msg)
    print(line, flush=True)
    log_lines.append(line)


def pinned(role, argv):
    return ["taskset", "-c", CPUS[role]] + list(argv)


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def classpath():
    return os.path.join(JARS, "*")


# ---------------------------------------------------------------- /proc ----

def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine():
    m = {"nproc": os.cpu_count(), "kernel": platform.release()}
    with open("/proc/meminfo") as f:
        m["ram_gib"] = round(int(f.readline().split()[1]) / 1048576, 1)
    m["cpu"] = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
    try:
        src = subprocess.run(["df", "--output=source,fstype", tempfile.gettempdir()],
                             capture_output=True, text=True).stdout.splitlines()[1].split()
        dev = os.path.basename(src[0])
        rot = open("/sys/class/block/%s/queue/rotational" % dev).read().strip()
        size = int(open("/sys/class/block/%s/size" % dev).read()) * 512
        m["disk"] = "%s (%s, %s, %d GiB)" % (src[0], src[1], "reported rotational" if rot == "1"
                                             else "non-rotational", size >> 30)
        if dev.startswith("vd"):
            m["disk"] += ", a virtio disk of a VM"
    except Exception as e:  # noqa: BLE001 - description only
        m["disk"] = "unknown (%s)" % e
    m["java"] = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    m["loadavg"] = open("/proc/loadavg").read().split()[:3]
    return m


# ------------------------------------------------------------ ceilings ----

def ceiling_loopback():
    """One TCP stream over loopback, iperf3 server and client on the same
    cores as the servers and load tools below."""
    port = free_port()
    srv = subprocess.Popen(pinned("server", ["iperf3", "-s", "-1", "-B", HOST, "-p", str(port)]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = subprocess.run(pinned("load", ["iperf3", "-c", HOST, "-p", str(port), "-t", "5", "-J"]),
                             capture_output=True, text=True, timeout=60).stdout
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 8 / 1e6
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.wait()


def ceiling_page_cache(work):
    """The rate at which one process on the server CPU can append to a file
    without syncing (the kernel's copy into the page cache and ext4's
    delayed allocation): what any broker's log append costs before the
    disk is involved. 1 GiB in 16 KiB writes (the default batch size), dd
    from /dev/zero; the file is removed after."""
    path = os.path.join(work, "page-cache-probe")
    try:
        t0 = time.time()
        subprocess.run(pinned("server", ["dd", "if=/dev/zero", "of=" + path, "bs=16384", "count=65536"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return (1 << 30) / 1e6 / (time.time() - t0)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def ceiling_disk(work):
    """Sequential 1 MiB writes each followed by fdatasync, and 100-byte
    appends each followed by fdatasync (a transaction log syncing every
    write)."""
    path = os.path.join(work, "disk-probe")
    block = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        n, t0 = 0, time.time()
        while time.time() - t0 < 3 and n < 1024:
            os.write(fd, block)
            os.fdatasync(fd)
            n += 1
        mbps = n * len(block) / 1e6 / (time.time() - t0)
        os.ftruncate(fd, 0)
        os.fsync(fd)
        small = b"x" * 100
        n, t0 = 0, time.time()
        while time.time() - t0 < 3:
            os.write(fd, small)
            os.fdatasync(fd)
            n += 1
        syncs = n / (time.time() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return mbps, syncs


# -------------------------------------------------------------- servers ----

def api_versions_ok(port):
    """One ApiVersions v0 round trip; True when it answers error_code 0."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as s:
            client = b"bench"
            body = struct.pack(">hhih", 18, 0, 7, len(client)) + client
            s.sendall(struct.pack(">i", len(body)) + body)
            hdr = b""
            while len(hdr) < 10:
                chunk = s.recv(10 - len(hdr))
                if not chunk:
                    return False
                hdr += chunk
            _size, corr, err = struct.unpack(">iih", hdr)
            return corr == 7 and err == 0
    except OSError:
        return False


def ruok_ok(port):
    try:
        with socket.create_connection((HOST, port), timeout=1) as s:
            s.sendall(b"ruok")
            return s.recv(4) == b"imok"
    except OSError:
        return False


class Proc:
    def __init__(self, name, argv, cwd, ready):
        self.name, self.argv, self.cwd, self.ready = name, argv, cwd, ready
        self.log_path = os.path.join(cwd, "%s.log" % name)
        self.proc = None


class Server:
    """One server under test: one process (Kafka, ZooKeeper, kavka-metastore)
    or two (kavka-broker with its kavka-metastore), started in order, all
    pinned to the server CPUs. CPU and memory figures are summed over its
    processes."""

    def __init__(self, name, procs):
        self.name, self.procs = name, procs
        self.dir = procs[0].cwd

    def start(self, timeout=120, wrap=None):
        """Starts every process; returns seconds from the first spawn to the
        last one's first successful readiness probe."""
        t0 = time.monotonic()
        for p in self.procs:
            argv = pinned("server", (wrap(p) if wrap else []) + p.argv)
            p.proc = subprocess.Popen(argv, cwd=p.cwd, stdout=open(p.log_path, "ab"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
            LIVE.append(self)
            while True:
                if p.proc.poll() is not None:
                    raise RuntimeError("%s exited with %s; log %s:\n%s" % (
                        p.name, p.proc.returncode, p.log_path,
                        open(p.log_path, errors="replace").read()[-3000:]))
                if p.ready():
                    break
                if time.monotonic() - t0 > timeout:
                    raise RuntimeError("%s not ready after %d s (log %s)" % (p.name, timeout, p.log_path))
                time.sleep(0.01)
        return time.monotonic() - t0

    def cpu(self):
        return sum(cpu_seconds(p.proc.pid) for p in self.procs)

    def kb(self, key):
        return sum(status_kb(p.proc.pid, key) for p in self.procs)

    def stop(self):
        for p in reversed(self.procs):
            if p.proc and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
                try:
                    p.proc.wait(60)
                except subprocess.TimeoutExpired:
                    p.proc.kill()
                    p.proc.wait()
        while self in LIVE:
            LIVE.remove(self)


LIVE = []


def stop_all():
    for s in list(LIVE):
        s.stop()


def fresh_dir(work, name):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def kafka_server(work, port):
    d = fresh_dir(work, "kafka")
    cport = free_port()
    props = os.path.join(d, "server.properties")
    # The properties of tests/clients/kafka-reference: a single KRaft node
    # (broker and controller in one process, as kavka runs broker + metastore).
    with open(props, "w") as f:
        f.write("""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{h}:{c}
listeners=PLAINTEXT://{h}:{p},CONTROLLER://{h}:{c}
advertised.listeners=PLAINTEXT://{h}:{p}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={d}/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
""".format(h=HOST, c=cport, p=port, d=d))
    jvm = ["java", "-cp", classpath()] + KAFKA_BROKER_HEAP + KAFKA_JVM
    cluster_id = subprocess.run(jvm + ["kafka.tools.StorageTool", "random-uuid"],
                                capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(jvm + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", props],
                   check=True, stdout=subprocess.DEVNULL)
    return Server("kafka", [Proc("kafka", jvm + ["kafka.Kafka", props], d, lambda: api_versions_ok(port))])


def zk_cfg(d, port, extra=""):
    path = os.path.join(d, "zoo.cfg")
    with open(path, "w") as f:
        # ZooKeeper's conf/zoo_sample.cfg (forceSync on: fsync before every
        # acknowledgement), on a free port and with no limit of connections
        # per client address (the 64-session case needs more than 60).
        f.write("tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s/data\nclientPort=%d\n"
                "clientPortAddress=%s\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr,mntr\n%s"
                % (d, port, HOST, extra))
    return path


def kavka_server(work, port, args):
    """kavka-broker with its kavka-metastore, as deployed (the metastore
    holds /brokers/ids, topics and configs; Kafka keeps them in its KRaft
    controller, which runs in its process)."""
    d = fresh_dir(work, "kavka")
    zport = free_port()
    cfg = zk_cfg(d, zport)
    props = os.path.join(d, "server.properties")
    out = []
    with open(os.path.join(REPO, "broker", "default.properties")) as f:
        for line in f:
            if line.startswith("listeners="):
                line = "listeners=PLAINTEXT://%s:%d\n" % (HOST, port)
            elif line.startswith("log.dirs="):
                line = "log.dirs=%s/broker\n" % d
            elif line.startswith("zookeeper.connect="):
                line = "zookeeper.connect=%s:%d\n" % (HOST, zport)
            out.append(line)
    with open(props, "w") as f:
        f.writelines(out)
    return Server("kavka", [
        Proc("kavka-metastore", [args.kavka_metastore, cfg], d, lambda: ruok_ok(zport)),
        Proc("kavka-broker", [args.kavka_broker, props], d, lambda: api_versions_ok(port))])


def zookeeper_server(work, port, args, jars=JARS, name="zookeeper"):
    d = fresh_dir(work, name)
    cfg = zk_cfg(d, port)
    return Server(name, [Proc(name, ["java", "-cp", os.path.join(jars, "*")] + ZK_JVM +
                              ["org.apache.zookeeper.server.ZooKeeperServerMain", cfg], d, lambda: ruok_ok(port))])


def metastore_server(work, port, args):
    d = fresh_dir(work, "metastore")
    cfg = zk_cfg(d, port)
    return Server("kavka-metastore", [Proc("kavka-metastore", [args.kavka_metastore, cfg], d,
                                           lambda: ruok_ok(port))])


# ----------------------------------------------------------------- load ----

class LoadBound(Exception):
    pass


def run_load(argv, log_path, timeout):
    """Runs a load tool on the load CPUs; returns (stdout, seconds, the
    tool's CPU seconds)."""
    argv = pinned("load", argv)
    c0, t0 = children_cpu(), time.monotonic()
    with open(log_path, "a") as f:
        f.write("$ %s\n" % " ".join(argv))
        f.flush()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=f, text=True, timeout=timeout)
        f.write(r.stdout)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d); see %s" % (argv[3], r.returncode, log_path))
    return r.stdout, time.monotonic() - t0, children_cpu() - c0


def admin(port):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": "%s:%d" % (HOST, port)})


def create_topics(port, topics):
    from confluent_kafka.admin import NewTopic
    a = admin(port)
    fs = a.create_topics([NewTopic(t, n, 1) for t, n in topics], operation_timeout=60, request_timeout=60)
    for f in fs.values():
        f.result(120)
    deadline = time.time() + 60
    while time.time() < deadline:
        md = a.list_topics(timeout=10).topics
        if all(t in md and len(md[t].partitions) == n and all(p.leader >= 0 for p in md[t].partitions.values())
               for t, n in topics):
            return
        time.sleep(0.1)
    raise RuntimeError("topics not ready")


PROD_RE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                     r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")
RDLAT_RE = re.compile(r"sent=(?P<sent>\d+) received=(?P<received>\d+) rate=(?P<rate>[\d.]+) p50_us=(?P<p50_us>\d+) "
                      r"p99_us=(?P<p99_us>\d+) p999_us=(?P<p999_us>\d+) max_us=(?P<max_us>\d+) "
                      r"ack_p50_us=(?P<ack_p50_us>\d+) ack_p99_us=(?P<ack_p99_us>\d+) errors=(?P<errors>\d+)")
RDTPUT_RE = re.compile(r"produced=(?P<produced>\d+) produce_rps=(?P<produce_rps>[\d.]+) "
                       r"produce_mbps=(?P<produce_mbps>[\d.]+) fetched=(?P<fetched>\d+) "
                       r"fetch_rps=(?P<fetch_rps>[\d.]+) fetch_mbps=(?P<fetch_mbps>[\d.]+) errors=(?P<errors>\d+)")
FANOUT_RE = re.compile(r"groups=(?P<groups>\d+) fetched=(?P<fetched>\d+) secs=(?P<secs>[\d.]+) "
                       r"fetch_rps=(?P<fetch_rps>[\d.]+) fetch_mbps=(?P<fetch_mbps>[\d.]+) "
                       r"join_ms=(?P<join_ms>[\d.]+) errors=(?P<errors>\d+)")
ZK_RE = re.compile(r"op=(\w+) sessions=(\d+) value=(\d+) ops=(\d+) secs=([\d.]+) ops_per_s=([\d.]+) "
                   r"p50_us=(\d+) p99_us=(\d+) p999_us=(\d+) errors=(\d+)")
FILL_RE = re.compile(r"filled=(\d+) path_bytes=(\d+) data_bytes=(\d+) secs=([\d.]+) errors=(\d+)")


def java_tool(cls):
    return ["java", "-cp", classpath()] + KAFKA_TOOL_HEAP + KAFKA_JVM + [cls]


class Ctx:
    """What a case needs: the server, where to log, how long to run, and the
    rates the warm-up pass saw (to size the measured pass)."""

    def __init__(self, srv, port, work, args, warm, est):
        self.srv, self.port, self.work, self.args, self.warm, self.est = srv, port, work, args, warm, est
        self.boot = "%s:%d" % (HOST, port)
        self.seconds = args.warm_seconds if warm else args.seconds
        self.pass_ = "w" if warm else "m"

    def log(self, case):
        return os.path.join(self.work, "%s-%s-%s.log" % (self.srv.name, self.pass_, re.sub(r"[^A-Za-z0-9=.]+", "_", case)))

    def records(self, case, floor):
        """Records for a run of `case`: enough for self.seconds at the rate
        the warm-up saw, at least `floor`, at most --max-records."""
        rate = self.est.get(case)
        n = int(rate * self.seconds * 1.1) if rate else 0
        return int(min(max(n, floor), self.args.max_records))


def producer_perf(ctx, case, topic, acks, size):
    floor = ctx.args.warm_records if ctx.warm else ctx.args.min_records
    n = ctx.records(case, floor)
    out, wall, lcpu = run_load(java_tool("org.apache.kafka.tools.ProducerPerformance") + [
        "--topic", topic, "--num-records", str(n), "--record-size", str(size), "--throughput", "-1",
        "--producer-props", "bootstrap.servers=" + ctx.boot, "acks=%s" % acks], ctx.log(case), timeout=1800)
    m = None
    for m in PROD_RE.finditer(out):
        pass
    if not m:
        raise RuntimeError("no summary line in %s" % ctx.log(case))
    return {"records": int(m.group(1)), "rec_s": float(m.group(2)), "mb_s": float(m.group(3)),
            "p99_ms": int(m.group(8)), "secs": wall, "load_cpu": lcpu / wall}


def consumer_perf(ctx, case, topic, records):
    """ConsumerPerformance with a fresh group reads the whole topic; again
    (another fresh group) until the fetch time adds up to the case's
    seconds. MB/s = all MB over all fetch time (group joins excluded and
    reported apart)."""
    mb = fetch_ms = join_ms = lcpu = wall = 0.0
    runs = 0
    while runs == 0 or (fetch_ms / 1000 < ctx.seconds and runs < 50):
        out, w, c = run_load(java_tool("org.apache.kafka.tools.ConsumerPerformance") + [
            "--bootstrap-server", ctx.boot, "--topic", topic, "--messages", str(records), "--timeout", "60000"],
            ctx.log(case), timeout=1800)
        rows = [line for line in out.splitlines() if line.count(",") >= 9 and not line.startswith("start.time")]
        if not rows:
            raise RuntimeError("no result line in %s" % ctx.log(case))
        f = [x.strip() for x in rows[-1].split(",")]
        if int(f[4]) < records:
            raise RuntimeError("consumer read %s of %d records; see %s" % (f[4], records, ctx.log(case)))
        mb += float(f[2])
        join_ms += float(f[6])
        fetch_ms += float(f[7])
        lcpu += c
        wall += w
        runs += 1
    return {"mb_s": mb / (fetch_ms / 1000), "join_ms": join_ms / runs, "runs": runs, "secs": fetch_ms / 1000,
            "load_cpu": lcpu / wall}


def rdlat_latency(ctx, case, topic, rate, linger_ms):
    out, wall, lcpu = run_load([ctx.args.rdlat, ctx.boot, topic, str(rate), str(ctx.seconds), "1024", "all",
                                str(linger_ms)],
                               ctx.log(case), timeout=ctx.seconds * 3 + 120)
    m = RDLAT_RE.search(out)
    if not m:
        raise RuntimeError("rdlat printed no result; see %s" % ctx.log(case))
    g = {k: float(v) for k, v in m.groupdict().items()}
    if g["errors"]:
        raise RuntimeError("rdlat: %d errors; see %s" % (g["errors"], ctx.log(case)))
    if g["received"] < g["sent"]:
        say("%s: %s: only %d of %d records sent were received" % (ctx.srv.name, case, g["received"], g["sent"]))
    return {"p50_ms": g["p50_us"] / 1000, "p99_ms": g["p99_us"] / 1000, "p999_ms": g["p999_us"] / 1000,
            "max_ms": g["max_us"] / 1000, "achieved_rec_s": g["received"] / ctx.seconds,
            "received_share": g["received"] / g["sent"] if g["sent"] else 0,
            "load_cpu": lcpu / wall}


def rdlat_throughput(ctx, case, topic):
    floor = ctx.args.warm_records if ctx.warm else ctx.args.min_records
    n = ctx.records(case, floor)
    out, wall, lcpu = run_load([ctx.args.rdlat, "--throughput", ctx.boot, topic, str(n)], ctx.log(case),
                               timeout=1800)
    m = RDTPUT_RE.search(out)
    if not m:
        raise RuntimeError("rdlat --throughput printed no result; see %s" % ctx.log(case))
    g = {k: float(v) for k, v in m.groupdict().items()}
    if g["errors"] or g["fetched"] < g["produced"]:
        raise RuntimeError("rdlat --throughput: %d produced, %d fetched, %d errors" % (
            g["produced"], g["fetched"], g["errors"]))
    return {"produce_mb_s": g["produce_mbps"], "fetch_mb_s": g["fetch_mbps"], "records": g["produced"],
            "rec_s": g["produce_rps"], "load_cpu": lcpu / wall}


KLOAD_PROD_RE = re.compile(r"produced=(?P<produced>\d+) secs=(?P<secs>[\d.]+) produce_rps=(?P<rps>[\d.]+) "
                           r"produce_mbps=(?P<mbps>[\d.]+) requests=(?P<requests>\d+) errors=(?P<errors>\d+)")
KLOAD_FETCH_RE = re.compile(r"fetched=(?P<fetched>\d+) secs=(?P<secs>[\d.]+) fetch_rps=(?P<rps>[\d.]+) "
                            r"fetch_mbps=(?P<mbps>[\d.]+) requests=(?P<requests>\d+) errors=(?P<errors>\d+)")


def kload_produce(ctx, case, topic, partitions):
    """bench/kload produce: one prebuilt Produce request (a 16-record batch
    of 1 KiB values per partition, acks=all) resent with 5 in flight."""
    floor = ctx.args.warm_records if ctx.warm else ctx.args.min_records
    n = ctx.records(case, floor)
    out, wall, lcpu = run_load([ctx.args.kload, "produce", ctx.boot, topic, str(partitions), str(n)],
                               ctx.log(case), timeout=1800)
    m = KLOAD_PROD_RE.search(out)
    if not m or int(m.group("errors")):
        raise RuntimeError("kload produce failed; see %s" % ctx.log(case))
    return {"mb_s": float(m.group("mbps")), "rec_s": float(m.group("rps")), "records": int(m.group("produced")),
            "load_cpu": lcpu / wall}


def kload_fetch(ctx, case, topic, partitions, conns):
    """bench/kload fetch: the filled topic read over and over, one Fetch in
    flight per connection, only batch headers looked at."""
    secs = ctx.args.warm_seconds if ctx.warm else ctx.seconds
    out, wall, lcpu = run_load([ctx.args.kload, "fetch", ctx.boot, topic, str(partitions), str(secs),
                                str(1 << 20), str(conns)],
                               ctx.log(case), timeout=secs * 3 + 120)
    m = KLOAD_FETCH_RE.search(out)
    if not m or int(m.group("errors")):
        raise RuntimeError("kload fetch failed; see %s" % ctx.log(case))
    return {"fetch_mb_s": float(m.group("mbps")), "rec_s": float(m.group("rps")), "load_cpu": lcpu / wall}


def rdlat_fanout(ctx, case, topic, groups):
    out, wall, lcpu = run_load([ctx.args.rdlat, "--fanout", ctx.boot, topic, str(groups), str(ctx.seconds)],
                               ctx.log(case), timeout=ctx.seconds * 3 + 180)
    m = FANOUT_RE.search(out)
    if not m:
        raise RuntimeError("rdlat --fanout printed no result; see %s" % ctx.log(case))
    g = {k: float(v) for k, v in m.groupdict().items()}
    if g["errors"]:
        raise RuntimeError("rdlat --fanout: %d errors; see %s" % (g["errors"], ctx.log(case)))
    return {"fetch_mb_s": g["fetch_mbps"], "join_ms": g["join_ms"], "load_cpu": lcpu / wall}


# Broker cases: (id, kind, parameters). Topics are created per pass
# (w- for the warm-up, m- for the measured pass) so that a consume case
# reads exactly what the produce case of its own pass wrote.
E2E_RATES = (1000, 10000, 50000)
BROKER_CASES = (
    [("produce acks=all p1", "produce", ("all", 1, 1024)),
     ("produce acks=all p8", "produce", ("all", 8, 1024)),
     ("produce acks=1 p1", "produce", ("1", 1, 1024)),
     ("produce acks=1 p8", "produce", ("1", 8, 1024)),
     ("produce 100 B acks=1 p8", "produce", ("1", 8, 100)),
     ("consume p1", "consume", ("produce acks=all p1",)),
     ("consume p8", "consume", ("produce acks=all p8",)),
     ("fetch 8 groups p8", "fanout", ("produce acks=all p8", 8)),
     ("librdkafka produce+fetch p8", "rdtput", (8,)),
     ("kload produce p1", "kload_produce", (1,)),
     ("kload produce p8", "kload_produce", (8,)),
     ("kload fetch p8", "kload_fetch", ("kload produce p8", 8, 1)),
     ("kload fetch 8 conns p8", "kload_fetch", ("kload produce p8", 8, 8))]
    + [("end-to-end %dk/s p%d" % (r // 1000, p), "e2e", (r, p, 5)) for p in (1, 8) for r in E2E_RATES]
    + [("end-to-end linger0 %dk/s p1" % (r // 1000), "e2e", (r, 1, 0)) for r in E2E_RATES])


def topic_of(pass_, case):
    return "%s-%s" % (pass_, re.sub(r"[^A-Za-z0-9]+", "-", case).strip("-"))


def broker_topics(pass_):
    out = []
    for case, kind, p in BROKER_CASES:
        if kind == "produce":
            out.append((topic_of(pass_, case), p[1]))
        elif kind in ("rdtput", "kload_produce"):
            out.append((topic_of(pass_, case), p[0]))
        elif kind == "e2e":
            out.append((topic_of(pass_, case), p[1]))
    return out


def run_broker_case(ctx, case, kind, p, produced):
    t = topic_of(ctx.pass_, case)
    if kind == "produce":
        r = producer_perf(ctx, case, t, p[0], p[2])
        produced[case] = r["records"]
        return r
    if kind == "consume":
        return consumer_perf(ctx, case, topic_of(ctx.pass_, p[0]), produced[p[0]])
    if kind == "fanout":
        return rdlat_fanout(ctx, case, topic_of(ctx.pass_, p[0]), p[1])
    if kind == "rdtput":
        return rdlat_throughput(ctx, case, t)
    if kind == "e2e":
        return rdlat_latency(ctx, case, t, p[0], p[2])
    if kind == "kload_produce":
        r = kload_produce(ctx, case, t, p[0])
        produced[case] = r["records"]
        return r
    if kind == "kload_fetch":
        return kload_fetch(ctx, case, topic_of(ctx.pass_, p[0]), p[1], p[2])
    raise ValueError(kind)


def selected(args, case):
    return not args.cases or any(re.search(c, case) for c in args.cases)


def bench_broker(make, work, args):
    """One round of one broker: start, warm every case, measure every case,
    stop; then a fresh start for the 1,000-partition memory figure."""
    port = free_port()
    srv = make(work, port)
    r = {"cases": {}}
    r["startup_s"] = srv.start()
    say("%s: ready in %.3f s (pinned to CPU %s)" % (srv.name, r["startup_s"], CPUS["server"]))
    time.sleep(2)
    r["rss_idle_kb"] = srv.kb("VmRSS")
    cases = [c for c in BROKER_CASES if selected(args, c[0])]
    create_topics(port, broker_topics("w") + broker_topics("m"))
    est = {}
    for warm in (True, False):
        ctx = Ctx(srv, port, work, args, warm, est)
        produced = {}
        for case, kind, p in cases:
            if kind in ("consume", "fanout", "kload_fetch") and p[0] not in produced:
                # its produce case was filtered out: produce for it anyway
                c2 = next(c for c in BROKER_CASES if c[0] == p[0])
                run_broker_case(ctx, c2[0], c2[1], c2[2], produced)
            c0 = srv.cpu()
            res = run_broker_case(ctx, case, kind, p, produced)
            dcpu = srv.cpu() - c0
            if warm:
                if "rec_s" in res:
                    est[case] = res["rec_s"]
                say("%s: warm-up %s done" % (srv.name, case))
                continue
            res["server_cpu_s"] = dcpu
            if kind == "produce":
                res["cpu_s_per_gb"] = dcpu / (res["records"] * p[2] / 1e9)
            r["cases"][case] = res
            say("%s: %s: %s" % (srv.name, case, fmt_res(res)))
    r["rss_peak_kb"] = srv.kb("VmHWM")
    srv.stop()
    if selected(args, "memory 1000 partitions"):
        srv = make(work, port)
        srv.start()
        create_topics(port, [("many", 1000)])
        ctx = Ctx(srv, port, work, args, True, {})
        run_load(java_tool("org.apache.kafka.tools.ProducerPerformance") + [
            "--topic", "many", "--num-records", "100000", "--record-size", "1024", "--throughput", "-1",
            "--producer-props", "bootstrap.servers=" + ctx.boot, "acks=1"], ctx.log("many"), timeout=600)
        time.sleep(2)
        r["rss_1000p_kb"] = srv.kb("VmRSS")
        r["hwm_1000p_kb"] = srv.kb("VmHWM")
        say("%s: 1000 partitions, 100000 records: RSS %s, peak %s" % (
            srv.name, fmt_mib(r["rss_1000p_kb"]), fmt_mib(r["hwm_1000p_kb"])))
        srv.stop()
    if not args.keep:
        shutil.rmtree(srv.dir, ignore_errors=True)
    return r


def fmt_res(res):
    parts = []
    for k in ("mb_s", "fetch_mb_s", "produce_mb_s", "rec_s", "p50_ms", "p99_ms", "achieved_rec_s", "join_ms",
              "cpu_s_per_gb", "load_cpu"):
        if k in res:
            parts.append("%s %.4g" % (k, res[k]))
    return ", ".join(parts)


def zk_cases(args):
    """(label, sessions, value bytes, window)"""
    return [("closed 1x100B", 1, 100, 1), ("closed 8x100B", 8, 100, 1), ("closed 64x100B", 64, 100, 1),
            ("closed 8x10KiB", 8, 10240, 1), ("window16 8x100B", 8, 100, 16)]


# The same phases with bench/zkload (raw protocol, one thread, epoll): the
# server, not the ZooKeeper C client, should set these figures.
ZKLOAD_CASES = [("zkload closed 64x100B", 64, 100, 1), ("zkload window16 8x100B", 8, 100, 16)]


def zkbench(ctx, label, sessions, value, window, seconds):
    tool = ctx.args.zkload if label.startswith("zkload") else ctx.args.zkbench
    out, wall, lcpu = run_load([tool, ctx.boot, str(sessions), str(value), str(seconds), str(window)],
                               ctx.log(label), timeout=seconds * 6 + 600)
    runs = {}
    for m in ZK_RE.finditer(out):
        runs[m.group(1)] = {"ops": int(m.group(4)), "ops_s": float(m.group(6)), "p50_ms": int(m.group(7)) / 1000,
                            "p99_ms": int(m.group(8)) / 1000, "p999_ms": int(m.group(9)) / 1000,
                            "errors": int(m.group(10))}
    if len(runs) != 5:
        raise RuntimeError("zkbench printed %d of 5 result lines; see %s" % (len(runs), ctx.log(label)))
    errs = sum(x["errors"] for x in runs.values())
    if errs:
        raise RuntimeError("zkbench: %d errors; see %s" % (errs, ctx.log(label)))
    for x in runs.values():
        x["load_cpu"] = lcpu / wall
    return runs


def zk_fill(make, work, args, count, value):
    """A fresh server, COUNT znodes of VALUE bytes created and kept; its
    peak RSS and that minus the bytes of paths and data it holds."""
    port = free_port()
    srv = make(work, port)
    srv.start()
    ctx = Ctx(srv, port, work, args, True, {})
    out, _, _ = run_load([args.zkbench, "--fill", ctx.boot, "8", str(value), str(count)],
                         ctx.log("fill-%d-%d" % (count, value)), timeout=1200)
    m = FILL_RE.search(out)
    if not m or int(m.group(5)):
        raise RuntimeError("zkbench --fill failed; see %s" % ctx.log("fill"))
    time.sleep(1)
    payload = int(m.group(2)) + int(m.group(3))
    hwm = srv.kb("VmHWM") * 1024
    srv.stop()
    return {"payload_mib": payload / 1048576, "peak_mib": hwm / 1048576, "beyond_mib": (hwm - payload) / 1048576}


def bench_metastore(make, work, args):
    port = free_port()
    srv = make(work, port)
    r = {"cases": {}}
    r["startup_s"] = srv.start()
    say("%s: ready in %.3f s (pinned to CPU %s)" % (srv.name, r["startup_s"], CPUS["server"]))
    time.sleep(1)
    r["rss_idle_kb"] = srv.kb("VmRSS")
    cases = [c for c in zk_cases(args) + ZKLOAD_CASES if selected(args, "metastore " + c[0])]
    ctx = Ctx(srv, port, work, args, True, {})
    for label, sessions, value, window in cases:
        zkbench(ctx, label, sessions, value, window, min(args.warm_seconds, 3))
        say("%s: warm-up %s done" % (srv.name, label))
    ctx = Ctx(srv, port, work, args, False, {})
    c0, ops = srv.cpu(), 0
    for label, sessions, value, window in cases:
        runs = zkbench(ctx, label, sessions, value, window, args.seconds)
        for op, x in runs.items():
            r["cases"]["%s %s" % (op, label)] = x
            ops += x["ops"]
            say("%s: %-6s %-16s %8.0f ops/s  p99 %6.2f ms" % (srv.name, op, label, x["ops_s"], x["p99_ms"]))
    r["cpu_us_per_op"] = (srv.cpu() - c0) * 1e6 / ops if ops else 0
    r["rss_peak_kb"] = srv.kb("VmHWM")
    srv.stop()
    for key, count, value in (("memory 100k x 1 KiB", args.fill_small, 1024),
                              ("memory 20k x 10 KiB", args.fill_large, 10240)):
        if selected(args, "metastore " + key):
            r[key] = zk_fill(make, work, args, count, value)
            say("%s: %s: payload %.0f MiB, peak RSS %.0f MiB, beyond the payload %.0f MiB" % (
                srv.name, key, r[key]["payload_mib"], r[key]["peak_mib"], r[key]["beyond_mib"]))
    if not args.keep:
        shutil.rmtree(srv.dir, ignore_errors=True)
    return r


# ------------------------------------------------------------ callgrind ----

def callgrind_totals(path):
    total = None
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
    return total


def callgrind_top(path, n=12):
    r = subprocess.run(["callgrind_annotate", "--threshold=99", path], capture_output=True, text=True)
    rows = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S.*)", line)
        if m and "PROGRAM TOTALS" not in line:
            rows.append("%s %5s%%  %s" % (m.group(1).rjust(16), m.group(2), m.group(3)[:110]))
        if len(rows) >= n:
            break
    return rows


def callgrind_run(srv, target, work, tag, workload):
    """Starts srv with `target` (one of its processes) under callgrind with
    collection off (start-up and symbol binding are not counted: LD_BIND_NOW
    binds every symbol at start), switches collection on, runs the workload,
    switches it off and stops the server (callgrind writes its file at
    exit); returns the file and the workload's unit count."""
    out = os.path.join(work, "cg-%s.out" % tag)
    wrap = lambda p: (["env", "LD_BIND_NOW=1", "valgrind", "--tool=callgrind", "--instr-atstart=no",
                       "--callgrind-out-file=" + out] if p.name == target else [])
    srv.start(timeout=300, wrap=wrap)
    pid = next(p.proc.pid for p in srv.procs if p.name == target)
    subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, stdout=subprocess.DEVNULL)
    try:
        units = workload()
        # off before the shutdown: its clean-up (OpenSSL's alone is ~1M
        # instructions) is not the workload's
        subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, stdout=subprocess.DEVNULL)
    finally:
        srv.stop()
    return out, units


def bench_callgrind(work, args):
    """kavka only (a JVM under valgrind would count its interpreter): fixed
    workloads, the server's instructions counted while the load tool runs."""
    res = {}
    port = free_port()

    def produce_fetch():
        create_topics(port, [("cg", 8)])
        run_load([args.rdlat, "--throughput", "%s:%d" % (HOST, port), "cg", str(args.cg_records)],
                 os.path.join(work, "cg-broker.log"), timeout=1800)
        return args.cg_records
    f, n = callgrind_run(kavka_server(work, port, args), "kavka-broker", work, "broker", produce_fetch)
    res["broker"] = {"records": n, "ir": callgrind_totals(f), "top": callgrind_top(f)}
    res["broker"]["ir_per_record"] = res["broker"]["ir"] / n

    def pingpong():
        create_topics(port, [("pp", 8)])
        run_load([args.rdlat, "--pingpong", "%s:%d" % (HOST, port), "pp", str(args.cg_pingpong)],
                 os.path.join(work, "cg-pingpong.log"), timeout=1800)
        return args.cg_pingpong
    port = free_port()
    f, n = callgrind_run(kavka_server(work, port, args), "kavka-broker", work, "pingpong", pingpong)
    res["pingpong"] = {"records": n, "ir": callgrind_totals(f), "top": callgrind_top(f)}
    res["pingpong"]["ir_per_record"] = res["pingpong"]["ir"] / n

    def zk_ops():
        o, _, _ = run_load([args.zkbench, "--ops", "%s:%d" % (HOST, port), "8", "100", str(args.cg_ops)],
                           os.path.join(work, "cg-metastore.log"), timeout=3600)
        return sum(int(m.group(4)) for m in ZK_RE.finditer(o))
    port = free_port()
    f, n = callgrind_run(metastore_server(work, port, args), "kavka-metastore", work, "metastore", zk_ops)
    res["metastore"] = {"ops": n, "ir": callgrind_totals(f), "top": callgrind_top(f)}
    res["metastore"]["ir_per_op"] = res["metastore"]["ir"] / n if n else 0
    say("callgrind: broker %.0f instructions per record (produce + fetch, %d records), %.0f per record one at a"
        " time (%d records); metastore %.0f per op (%d ops)" % (
            res["broker"]["ir_per_record"], args.cg_records, res["pingpong"]["ir_per_record"], args.cg_pingpong,
            res["metastore"]["ir_per_op"], n))
    return res


# --------------------------------------------------------------- report ----

def spread(xs):
    v = sorted(x for x in xs if x is not None)
    if not v:
        return None
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return v[0], med, v[-1]


def fnum(x):
    if x is None:
        return "—"
    a = abs(x)
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    if a >= 0.1:
        return "%.2f" % x
    return "%.3f" % x


def fspread(xs):
    s = spread(xs)
    if not s:
        return "—"
    if len(xs) == 1:
        return fnum(s[1])
    return "%s (%s–%s)" % (fnum(s[1]), fnum(s[0]), fnum(s[2]))


def ratios(k_rounds, r_rounds, get):
    """Per-round ratios kavka/reference (paired by round)."""
    out = []
    for k, r in zip(k_rounds, r_rounds):
        try:
            a, b = get(k), get(r)
        except (KeyError, TypeError):
            continue
        if a is not None and b:
            out.append(a / b)
    return out


def fratio(rs, higher_better):
    s = spread(rs)
    if not s:
        return "—"
    text = "%s (%s–%s)" % (fnum(s[1]), fnum(s[0]), fnum(s[2])) if len(rs) > 1 else fnum(s[1])
    if len(rs) > 1 and s[0] < 1 < s[2]:
        text += " inconclusive"
    return text


def load_note(rounds_k, rounds_r, get):
    """' load-bound' when the load tool used ≥ 90% of its core in any round."""
    vals = []
    for rr in (rounds_k, rounds_r):
        for r in rr:
            try:
                vals.append(get(r))
            except (KeyError, TypeError):
                pass
    return " ⚠" if vals and max(vals) >= 0.9 * len(CPUS["load"].split(",")) else ""


def goal_row(name, target, rs, higher_better, note=""):
    s = spread(rs)
    if not s:
        return "| %s | %s | not measured | |" % (name, target)
    lo, med, hi = s
    t = float(target.split("×")[0].lstrip("≥≤ "))
    ok = (lambda x: x >= t) if higher_better else (lambda x: x <= t)
    if ok(lo) and ok(hi):
        verdict = "met in every round"
    elif ok(med):
        verdict = "met at the median, not in every round"
    elif ok(lo) or ok(hi):
        verdict = "not met at the median (met in some round)"
    else:
        verdict = "not met"
    return "| %s | %s | %s (%s–%s)%s | %s |" % (name, target, fnum(med), fnum(lo), fnum(hi), note, verdict)


def write_report(res, args, path):
    m = res["machine"]
    L = []
    w = L.append
    R, K = res["rounds"].get("kafka", []), res["rounds"].get("kavka", [])
    Z, M = res["rounds"].get("zookeeper", []), res["rounds"].get("kavka-metastore", [])
    w("# Benchmarks: kavka beside Apache Kafka and Apache ZooKeeper")
    w("")
    w("Written by `bench/run%s` on %s (%.0f min wall time). Do not edit by hand: run `bench/run` again."
      % (" --quick" if args.quick else "", res["date"], res["wall_s"] / 60))
    w("")
    if args.quick:
        w("**Quick mode**: every case ran %g s (warm-up %g s), not the %g s of the full method; these"
          " figures are for trying changes, not for quoting." % (args.seconds, args.warm_seconds, 30))
        w("")
    w("## Method")
    w("")
    w("- **Separate cores.** Every server process runs under `taskset -c %s`, every load tool under"
      " `taskset -c %s`, on both sides: Kafka %s as one KRaft node (broker and controller in one JVM), kavka as"
      " kavka-broker *with* its kavka-metastore (both on the server core; the metastore holds what"
      " Kafka's controller holds); ZooKeeper %s standalone and kavka-metastore. One server under test"
      " at a time; nothing else of the benchmark runs meanwhile."
      % (CPUS["server"], CPUS["load"], res["kafka_version"], res["zk_version"]))
    w("- **Warm.** Each round starts each server afresh, runs every case once as a warm-up (%g s or"
      " %d records; not recorded), then every case measured. The warm-up pass covers produce, fetch,"
      " consume with groups, the fan-out, end-to-end at every rate, and every metastore case."
      % (args.warm_seconds, args.warm_records))
    w("- **Long enough.** Each measured case runs at least %g s or %d records (1 KiB unless said),"
      " whichever is longer (records sized from the rate its warm-up saw; at most %d records);"
      " metastore cases %g s per operation."
      % (args.seconds, args.min_records, args.max_records, args.seconds))
    w("- **Rounds.** %d rounds, interleaved (round 1: reference then kavka; round 2: kavka then"
      " reference; ...). Every figure is *median (min–max)* over the rounds; every ratio is kavka ÷"
      " reference paired within a round, shown the same way. A ratio whose min–max crosses 1 is marked"
      " **inconclusive**; a goal met by the median but not in every round says so." % args.rounds)
    w("- **Load tools' own limits.** The load tool's CPU use is measured in each case; ⚠ marks a case"
      " where it used ≥ 90%% of its core, so the load tool, not the server, may set the figure (for"
      " both sides).")
    w("- Both servers with their default configuration (Kafka: `kafka-server-start.sh`'s JVM options,"
      " 1 GiB heap; no `log.flush.*` in either; ZooKeeper's `zoo_sample.cfg`, fsync before every"
      " acknowledgement, and the same config for kavka-metastore).")
    w("")
    w("## Headline: the goals of issue 15 (ratio kavka ÷ reference, median (min–max) over the rounds)")
    w("")
    w("| Goal | target | measured | verdict |")
    w("|---|---|---|---|")
    if K and R:
        for case in ("consume p1", "consume p8"):
            w(goal_row("Consume (ConsumerPerformance) %s" % case.split()[1], "≥ 2×",
                       ratios(K, R, lambda x: x["cases"][case]["mb_s"]), True,
                       load_note(K, R, lambda x: x["cases"][case]["load_cpu"])))
        w(goal_row("Fetch by 8 groups reading one topic", "≥ 2×",
                   ratios(K, R, lambda x: x["cases"]["fetch 8 groups p8"]["fetch_mb_s"]), True,
                   load_note(K, R, lambda x: x["cases"]["fetch 8 groups p8"]["load_cpu"])))
        w(goal_row("librdkafka fetch", "≥ 2×",
                   ratios(K, R, lambda x: x["cases"]["librdkafka produce+fetch p8"]["fetch_mb_s"]), True))
        for c, label in (("kload fetch p8", "one connection"), ("kload fetch 8 conns p8", "8 connections")):
            w(goal_row("Fetch with bench/kload (raw protocol), 8 partitions, %s" % label, "≥ 2×",
                       ratios(K, R, lambda x, c=c: x["cases"][c]["fetch_mb_s"]), True,
                       load_note(K, R, lambda x, c=c: x["cases"][c]["load_cpu"])))
        for p in (1, 8):
            for rate in E2E_RATES:
                case = "end-to-end %dk/s p%d" % (rate // 1000, p)
                w(goal_row("End-to-end p99 at %d rec/s, %d partition%s" % (rate, p, "s" if p > 1 else ""),
                           "≤ 0.5×", ratios(K, R, lambda x: x["cases"][case]["p99_ms"]), False))
        for rate in E2E_RATES:
            case = "end-to-end linger0 %dk/s p1" % (rate // 1000)
            w(goal_row("End-to-end p99 at %d rec/s, 1 partition, linger.ms=0" % rate,
                       "≤ 0.5×", ratios(K, R, lambda x: x["cases"][case]["p99_ms"]), False))
        loop = res["ceiling"].get("loopback_mb_s")
        if loop:
            w(goal_row("librdkafka produce, share of the loopback ceiling (%.0f MB/s)" % loop, "≥ 0.35×",
                       [k["cases"]["librdkafka produce+fetch p8"]["produce_mb_s"] / loop for k in K
                        if "librdkafka produce+fetch p8" in k["cases"]], True))
            w(goal_row("bench/kload produce p8, share of the loopback ceiling (%.0f MB/s)" % loop, "≥ 0.35×",
                       [k["cases"]["kload produce p8"]["mb_s"] / loop for k in K if "kload produce p8" in k["cases"]],
                       True))
        pc = res["ceiling"].get("page_cache_mb_s")
        if pc:
            w(goal_row("bench/kload produce p8, share of the page-cache append ceiling (%.0f MB/s)" % pc,
                       "≥ 0.35×", [k["cases"]["kload produce p8"]["mb_s"] / pc for k in K
                                   if "kload produce p8" in k["cases"]], True))
        prod = [c for c, kind, _ in BROKER_CASES if kind == "produce"]
        w(goal_row("Produce (ProducerPerformance), geometric mean of %d cases" % len(prod), "≥ 2×",
                   [geomean(x) for x in zip(*[ratios(K, R, lambda x: x["cases"][c]["mb_s"]) for c in prod])],
                   True))
    if Z and M:
        both = sorted(set(Z[0]["cases"]) & set(M[0]["cases"]))
        keys = [k for k in both if "zkload" not in k]
        zl = [k for k in both if "zkload" in k]
        if zl:
            w(goal_row("Metastore ops/s with bench/zkload (raw protocol), geometric mean of %d op × case figures"
                       % len(zl), "≥ 3×",
                       [geomean(x) for x in zip(*[ratios(M, Z, lambda x: x["cases"][k]["ops_s"]) for k in zl])],
                       True, load_note(M, Z, lambda x: max(x["cases"][k]["load_cpu"] for k in zl))))
        w(goal_row("Metastore ops/s, geometric mean of %d op × case figures" % len(keys), "≥ 3×",
                   [geomean(x) for x in zip(*[ratios(M, Z, lambda x: x["cases"][k]["ops_s"]) for k in keys])],
                   True))
        if zl:
            w(goal_row("Metastore p99 with bench/zkload, geometric mean", "≤ 0.5×",
                       [geomean(x) for x in zip(*[ratios(M, Z, lambda x: x["cases"][k]["p99_ms"]) for k in zl])],
                       False))
        w(goal_row("Metastore p99, geometric mean", "≤ 0.5×",
                   [geomean(x) for x in zip(*[ratios(M, Z, lambda x: x["cases"][k]["p99_ms"]) for k in keys])],
                   False))
        for key in ("memory 100k x 1 KiB", "memory 20k x 10 KiB"):
            w(goal_row("Metastore memory beyond the payload, %s" % key[7:], "≤ 0.2×",
                       ratios(M, Z, lambda x: x[key]["beyond_mib"]), False))
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w("| CPU | %d × %s; servers on CPU %s, load tools on CPU %s |" % (m["nproc"], m["cpu"], CPUS["server"],
                                                                   CPUS["load"]))
    w("| RAM | %s GiB |" % m["ram_gib"])
    w("| Kernel | Linux %s |" % m["kernel"])
    w("| Disk (data dirs) | %s |" % m["disk"])
    w("| Java | %s |" % m["java"])
    w("| Load average | at the start %s, at the end %s |" % (" ".join(m["loadavg"]), " ".join(res["loadavg_end"])))
    w("| Reference versions | Apache Kafka %s (KRaft, one node), Apache ZooKeeper %s (standalone) |"
      % (res["kafka_version"], res["zk_version"]))
    w("| Load tools | Kafka's ProducerPerformance / ConsumerPerformance %s; bench/rdlat on librdkafka %s;"
      " bench/kload (raw Kafka protocol, prebuilt requests); bench/zkbench on the ZooKeeper C client"
      " (libzookeeper-mt) |" % (res["kafka_version"], res["librdkafka"]))
    w("| kavka | commit %s%s, release build (`build-bench/`) |" % (
        res["commit"], " plus uncommitted changes in the working tree" if res["dirty"] else ""))
    c = res["ceiling"]
    w("| Loopback TCP ceiling | %s MB/s (iperf3, one stream, 5 s, same pinning) |" % fnum(c.get("loopback_mb_s")))
    w("| Disk | %.0f MB/s with fdatasync per 1 MiB write; %.0f fdatasync/s of 100-byte appends |"
      % (c["disk_mb_s"], c["disk_syncs_s"]))
    if c.get("page_cache_mb_s"):
        w("| Page-cache append ceiling | %.0f MB/s (`dd` of 1 GiB in 16 KiB writes to a new file in the data"
          " directory's file system, no sync, on the server CPU): a broker's log append cannot beat it |"
          % c["page_cache_mb_s"])
    w("")
    if K and R:
        broker_tables(w, K, R)
    if Z and M:
        metastore_tables(w, M, Z)
    cg = res.get("callgrind")
    if cg:
        w("## Instruction counts (callgrind, kavka only)")
        w("")
        w("Repeatable on a noisy machine: `valgrind --tool=callgrind` counts the instructions the server"
          " process executes for a fixed workload: collection is switched on with `callgrind_control -i on` once the server is"
          " ready and off when the load tool has finished, so start-up, symbol binding and shutdown are"
          " not counted. A change's effect shows here without timing noise. (A JVM"
          " under valgrind would count its interpreter, so Kafka and ZooKeeper have no such figure.)")
        w("")
        w("| Workload | instructions | per unit |")
        w("|---|---:|---:|")
        b, mm = cg["broker"], cg["metastore"]
        w("| kavka-broker (its metastore runs natively): `rdlat --throughput`, %d records of 1 KiB produced"
          " (acks=all, 8 partitions) and fetched back | %d | **%.0f per record** |"
          % (b["records"], b["ir"], b["ir_per_record"]))
        pp = cg["pingpong"]
        w("| kavka-broker: `rdlat --pingpong`, %d records of 1 KiB one at a time (acks=all, round robin over 8"
          " partitions; each record produced, then delivered to the consumer's waiting fetch) | %d |"
          " **%.0f per record** |" % (pp["records"], pp["ir"], pp["ir_per_record"]))
        w("| kavka-metastore: `zkbench --ops`, 8 sessions, 100 B, %d ops of each kind (%d in all) | %d |"
          " **%.0f per op** |" % (args.cg_ops, mm["ops"], mm["ir"], mm["ir_per_op"]))
        w("")
        for name, d in (("kavka-broker, produce+fetch", b), ("kavka-broker, one at a time", pp),
                        ("kavka-metastore", mm)):
            w("Top functions by own instructions, %s (loaded run):" % name)
            w("")
            w("```")
            L.extend(d["top"])
            w("```")
            w("")
    w("## Log of the run")
    w("")
    w("```")
    L.extend(log_lines)
    w("```")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1 / len(xs))


def fmt_mib(kb):
    return "%.0f MiB" % (kb / 1024)


def row(w, label, K, R, get, higher_better, unit_fmt=fnum, note=lambda: ""):
    kv = [v for v in (safe(get, x) for x in K) if v is not None]
    rv = [v for v in (safe(get, x) for x in R) if v is not None]
    if not kv or not rv:
        return
    w("| %s%s | %s | %s | %s |" % (label, note(), fspread(rv), fspread(kv),
                                   fratio(ratios(K, R, get), higher_better)))


def safe(get, x):
    try:
        return get(x)
    except (KeyError, TypeError):
        return None


def broker_tables(w, K, R):
    w("## Broker: kavka-broker (+ kavka-metastore) vs Apache Kafka (KRaft)")
    w("")
    w("Each cell: median (min–max) over the rounds. Ratio = kavka ÷ Kafka per round: above 1 is faster for"
      " throughput; below 1 is better for latency, CPU and memory.")
    w("")
    w("**Produce** with Kafka's `ProducerPerformance` (`kafka-producer-perf-test`), `--throughput -1`,"
      " default producer settings apart from `acks`, one topic per case. p99 is its send-to-acknowledgement"
      " latency at an unbounded rate (mostly queueing in the producer); read the end-to-end table for"
      " latency. CPU is the server processes' utime+stime per GB produced.")
    w("")
    w("| Case | Kafka | kavka | ratio |")
    w("|---|---:|---:|---:|")
    for case, kind, p in BROKER_CASES:
        if kind != "produce":
            continue
        ln = lambda c=case: load_note(K, R, lambda x: x["cases"][c]["load_cpu"])
        row(w, "%s MB/s" % case[8:], K, R, lambda x, c=case: x["cases"][c]["mb_s"], True, note=ln)
        row(w, "%s p99 ms" % case[8:], K, R, lambda x, c=case: x["cases"][c]["p99_ms"], False)
        row(w, "%s CPU s/GB" % case[8:], K, R, lambda x, c=case: x["cases"][c]["cpu_s_per_gb"], False)
    w("")
    w("**Consume and fetch.** `ConsumerPerformance` (`kafka-consumer-perf-test`) with a fresh group reads"
      " the acks=all topic of the produce case, again with another fresh group until the fetch time adds"
      " up to the case's length; MB/s (MiB) over fetch time, group join apart. *8 groups*: `bench/rdlat"
      " --fanout`, eight librdkafka consumers in eight groups read the 8-partition topic from the"
      " beginning, over and over (MB = 10^6 bytes of values). *librdkafka*: `bench/rdlat --throughput`"
      " produces (acks=all, librdkafka's default batching, 8 partitions) and waits for every"
      " acknowledgement, then one consumer assigned all partitions fetches everything back.")
    w("")
    w("| Case | Kafka | kavka | ratio |")
    w("|---|---:|---:|---:|")
    for case in ("consume p1", "consume p8"):
        ln = lambda c=case: load_note(K, R, lambda x: x["cases"][c]["load_cpu"])
        row(w, "%s MB/s" % case, K, R, lambda x, c=case: x["cases"][c]["mb_s"], True, note=ln)
        row(w, "%s group join ms" % case, K, R, lambda x, c=case: x["cases"][c]["join_ms"], False)
        row(w, "%s server CPU s" % case, K, R, lambda x, c=case: x["cases"][c]["server_cpu_s"], False)
    c = "fetch 8 groups p8"
    row(w, "8 groups, fetch MB/s", K, R, lambda x: x["cases"][c]["fetch_mb_s"], True,
        note=lambda: load_note(K, R, lambda x: x["cases"][c]["load_cpu"]))
    c = "librdkafka produce+fetch p8"
    ln = lambda: load_note(K, R, lambda x: x["cases"][c]["load_cpu"])
    row(w, "librdkafka produce MB/s", K, R, lambda x: x["cases"][c]["produce_mb_s"], True, note=ln)
    row(w, "librdkafka fetch MB/s", K, R, lambda x: x["cases"][c]["fetch_mb_s"], True, note=ln)
    w("")
    w("**With a load tool that costs almost nothing.** `bench/kload` speaks the protocol itself (Produce v3,"
      " Fetch v4) from requests built once: *produce* resends one Produce request holding a 16-record batch"
      " of 1 KiB values per partition (acks=all, 5 in flight) and checks every partition's error code;"
      " *fetch* reads the filled 8-partition topic over and over (one Fetch in flight, 1 MiB per partition,"
      " max_wait 0), looking only at batch headers (MB = 10^6 bytes of batches); *8 conns*: eight such"
      " readers at once, each on its own connection (as consumers of eight groups). Here the server, not"
      " the load tool, should set the figure; the load tool's CPU share shows whether it did.")
    w("")
    w("| Case | Kafka | kavka | ratio |")
    w("|---|---:|---:|---:|")
    for c in ("kload produce p1", "kload produce p8"):
        ln = lambda c=c: load_note(K, R, lambda x: x["cases"][c]["load_cpu"])
        row(w, "%s MB/s" % c[6:], K, R, lambda x, c=c: x["cases"][c]["mb_s"], True, note=ln)
        row(w, "%s server CPU s/GB" % c[6:], K, R,
            lambda x, c=c: x["cases"][c]["server_cpu_s"] / (x["cases"][c]["records"] * 1024 / 1e9), False)
        row(w, "%s load tool CPU share" % c[6:], K, R, lambda x, c=c: x["cases"][c]["load_cpu"], False)
    for c in ("kload fetch p8", "kload fetch 8 conns p8"):
        ln = lambda c=c: load_note(K, R, lambda x: x["cases"][c]["load_cpu"])
        row(w, "%s MB/s" % c[6:], K, R, lambda x, c=c: x["cases"][c]["fetch_mb_s"], True, note=ln)
        row(w, "%s server CPU s" % c[6:], K, R, lambda x, c=c: x["cases"][c]["server_cpu_s"], False)
        row(w, "%s load tool CPU share" % c[6:], K, R, lambda x, c=c: x["cases"][c]["load_cpu"], False)
    w("")
    w("**End-to-end latency at a fixed rate**: `bench/rdlat` (librdkafka, default `linger.ms` 5) sends"
      " records of 1 KiB at the rate with acks=all, round robin over the topic's partitions, and a consumer in"
      " the same process assigned every partition receives them; latency = receive time − send time."
      " The producer's own wait for a batch (up to `linger.ms`) is in every figure, on both sides, so the"
      " *linger0* rows run the same with `linger.ms=0`: what is left is the broker, the network and the"
      " consumer's fetch.")
    w("")
    w("| Case | Kafka | kavka | ratio |")
    w("|---|---:|---:|---:|")
    for case, kind, (rate, p, linger) in [c for c in BROKER_CASES if c[1] == "e2e"]:
        label = "%d rec/s, %d partition%s%s" % (rate, p, "s" if p > 1 else "", ", linger0" if linger == 0 else "")
        for key in ("p50_ms", "p99_ms", "p999_ms"):
            row(w, "%s, %s" % (label, key.replace("_", " ")), K, R, lambda x, c=case, k=key: x["cases"][c][k],
                False)
        row(w, "%s, achieved rec/s" % label, K, R, lambda x, c=case: x["cases"][c]["achieved_rec_s"], True)
    w("")
    w("**Resources.** RSS summed over the server's processes (kavka: broker + metastore).")
    w("")
    w("| | Kafka | kavka | ratio |")
    w("|---|---:|---:|---:|")
    row(w, "Start-up s (spawn to first ApiVersions answer)", K, R, lambda x: x["startup_s"], False)
    row(w, "RSS idle after start-up, MiB", K, R, lambda x: x["rss_idle_kb"] / 1024, False)
    row(w, "Peak RSS over all cases, MiB", K, R, lambda x: x["rss_peak_kb"] / 1024, False)
    row(w, "RSS with 1,000 partitions and 100k records, MiB", K, R, lambda x: x["rss_1000p_kb"] / 1024, False)
    row(w, "Peak RSS with 1,000 partitions, MiB", K, R, lambda x: x["hwm_1000p_kb"] / 1024, False)
    w("")


def metastore_tables(w, M, Z):
    w("## Metastore: kavka-metastore vs Apache ZooKeeper")
    w("")
    w("`bench/zkbench` (C, on the ZooKeeper C client): N sessions; *closed* = one request in flight per"
      " session, *window16* = 16 pipelined per session. Per case: creates for the case's length, then gets,"
      " sets, watch ops (getData with a watch, then setData; done at the notification), then deletes of"
      " every znode created. Latency: request to completion in the client. The *zkload* rows run the same"
      " phases with `bench/zkload`, which speaks the protocol itself from one thread (epoll over all"
      " sessions, no per-request allocation), so that the server rather than the C client's threads sets"
      " the figure.")
    w("")
    w("| Case | ZooKeeper | kavka | ratio |")
    w("|---|---:|---:|---:|")
    for label, _, _, _ in zk_cases(None) + ZKLOAD_CASES:
        for op in ("create", "get", "set", "watch", "delete"):
            k = "%s %s" % (op, label)
            ln = lambda k=k: load_note(M, Z, lambda x: x["cases"][k]["load_cpu"])
            row(w, "%s %s ops/s" % (label, op), M, Z, lambda x, k=k: x["cases"][k]["ops_s"], True, note=ln)
            row(w, "%s %s p99 ms" % (label, op), M, Z, lambda x, k=k: x["cases"][k]["p99_ms"], False)
    w("")
    w("**Memory.** A fresh server; `zkbench --fill` creates the znodes and leaves them; *beyond the"
      " payload* = peak RSS − the bytes of the paths and data held.")
    w("")
    w("| | ZooKeeper | kavka | ratio |")
    w("|---|---:|---:|---:|")
    for key in ("memory 100k x 1 KiB", "memory 20k x 10 KiB"):
        row(w, "%s: payload MiB" % key[7:], M, Z, lambda x, k=key: x[k]["payload_mib"], False)
        row(w, "%s: peak RSS MiB" % key[7:], M, Z, lambda x, k=key: x[k]["peak_mib"], False)
        row(w, "%s: beyond the payload MiB" % key[7:], M, Z, lambda x, k=key: x[k]["beyond_mib"], False)
    row(w, "Start-up s (spawn to first `ruok`)", M, Z, lambda x: x["startup_s"], False)
    row(w, "RSS idle, MiB", M, Z, lambda x: x["rss_idle_kb"] / 1024, False)
    row(w, "Peak RSS over the op cases, MiB", M, Z, lambda x: x["rss_peak_kb"] / 1024, False)
    row(w, "Server CPU µs per op", M, Z, lambda x: x["cpu_us_per_op"], False)
    w("")


# ----------------------------------------------------------------- main ----

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kavka-broker", required=True)
    ap.add_argument("--kavka-metastore", required=True)
    ap.add_argument("--zkbench", required=True)
    ap.add_argument("--rdlat", required=True)
    ap.add_argument("--kload", required=True)
    ap.add_argument("--zkload", required=True)
    ap.add_argument("--quick", action="store_true",
                    help="5 s cases, 2 s warm-up, 100k records: for trying changes; the report says so")
    ap.add_argument("--seconds", type=float, default=30, help="length of each measured case")
    ap.add_argument("--warm-seconds", type=float, default=8, help="length of each warm-up case")
    ap.add_argument("--min-records", type=int, default=1000000)
    ap.add_argument("--warm-records", type=int, default=200000)
    ap.add_argument("--max-records", type=int, default=6000000)
    ap.add_argument("--fill-small", type=int, default=100000, help="znodes of 1 KiB for the memory figure")
    ap.add_argument("--fill-large", type=int, default=20000, help="znodes of 10 KiB for the memory figure")
    ap.add_argument("--cg-records", type=int, default=20000)
    ap.add_argument("--cg-ops", type=int, default=2000)
    ap.add_argument("--cg-pingpong", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--server-cpus", default="0")
    ap.add_argument("--load-cpus", default="1")
    ap.add_argument("--only", choices=["broker", "metastore", "callgrind"], help="run one part only")
    ap.add_argument("--cases", action="append", metavar="REGEX",
                    help="run only the cases whose name matches (repeatable); for trying things")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory's data")
    ap.add_argument("--report-from", metavar="RESULTS_JSON",
                    help="only rewrite the report from the results.json of an earlier run")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.warm_seconds = min(args.seconds, 5), min(args.warm_seconds, 2)
        args.min_records, args.warm_records = min(args.min_records, 100000), min(args.warm_records, 30000)
        args.fill_small, args.fill_large = min(args.fill_small, 20000), min(args.fill_large, 4000)
    CPUS["server"], CPUS["load"] = args.server_cpus, args.load_cpus
    if args.report_from:
        with open(args.report_from) as f:
            res = json.load(f)
        for k, v in res["args"].items():
            if k not in ("out", "report_from"):
                setattr(args, k, v)
        CPUS["server"], CPUS["load"] = args.server_cpus, args.load_cpus
        log_lines[:] = res["log"]
        write_report(res, args, args.out)
        return

    t_start = time.time()
    work = tempfile.mkdtemp(prefix="kavka-bench-")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: (stop_all(), sys.exit(128 + s)))
    res = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip(),
           "machine": machine(), "rounds": {},
           "commit": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip(),
           "kafka_version": "?", "zk_version": "?",
           "librdkafka": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "librdkafka1"],
                                        capture_output=True, text=True).stdout.strip() or "?",
           "dirty": bool(subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no",
                                         "--", "broker", "metastore", "common", "meson.build"],
                                        capture_output=True, text=True).stdout.strip())}
    for j in os.listdir(JARS):
        m = re.match(r"kafka_2\.13-([\d.]+)\.jar$", j)
        if m:
            res["kafka_version"] = m.group(1)
        m = re.match(r"zookeeper-([\d.]+)\.jar$", j)
        if m:
            res["zk_version"] = m.group(1)
    say("work directory %s; %d cores, %s GiB RAM, Linux %s; load average %s; servers on CPU %s, load on CPU %s"
        % (work, res["machine"]["nproc"], res["machine"]["ram_gib"], res["machine"]["kernel"],
           " ".join(res["machine"]["loadavg"]), CPUS["server"], CPUS["load"]))
    try:
        c = res["ceiling"] = {}
        c["loopback_mb_s"] = ceiling_loopback()
        c["disk_mb_s"], c["disk_syncs_s"] = ceiling_disk(work)
        c["page_cache_mb_s"] = ceiling_page_cache(work)
        say("ceiling: loopback %.0f MB/s; disk %.0f MB/s with fdatasync per 1 MiB, %.0f fdatasync/s of 100 B;"
            " page-cache appends %.0f MB/s" % (c["loopback_mb_s"], c["disk_mb_s"], c["disk_syncs_s"],
                                              c["page_cache_mb_s"]))
        rounds = res["rounds"] = {"kafka": [], "kavka": [], "zookeeper": [], "kavka-metastore": []}
        for n in range(args.rounds):
            rw = os.path.join(work, "round%d" % (n + 1))
            os.makedirs(rw)
            say("round %d of %d" % (n + 1, args.rounds))
            order = (0, 1) if n % 2 == 0 else (1, 0)
            if args.only in (None, "broker"):
                makers = [("kafka", lambda wk, p: kafka_server(wk, p)),
                          ("kavka", lambda wk, p: kavka_server(wk, p, args))]
                for i in order:
                    name, make = makers[i]
                    rounds[name].append(bench_broker(make, rw, args))
            if args.only in (None, "metastore"):
                makers = [("zookeeper", lambda wk, p: zookeeper_server(wk, p, args)),
                          ("kavka-metastore", lambda wk, p: metastore_server(wk, p, args))]
                for i in order:
                    name, make = makers[i]
                    rounds[name].append(bench_metastore(make, rw, args))
        if args.only in (None, "callgrind"):
            cw = os.path.join(work, "callgrind")
            os.makedirs(cw)
            res["callgrind"] = bench_callgrind(cw, args)
    finally:
        stop_all()
    res["wall_s"] = time.time() - t_start
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res["log"] = log_lines
    res["args"] = {k: v for k, v in vars(args).items()}
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    write_report(res, args, args.out)
    say("wrote %s; raw results in %s" % (args.out, work))


if __name__ == "__main__":
    main()
