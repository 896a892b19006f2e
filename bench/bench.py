"""kavka benchmarks against Apache Kafka and Apache ZooKeeper on this machine.

Run through bench/run (it builds kavka and the load tool first). Every server
is started here, measured, and stopped before the next one starts, so the
two brokers (and the two metastores) never share the CPU with each other.
Writes docs/benchmarks.md and docs/benchmarks.png; raw tool output stays in
the work directory (printed at the end; kept with --keep).
"""

import argparse
import datetime
import json
import os
import platform
import re
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

log_lines = []


def say(msg):
    line = "[bench %s] %s" % (time.strftime("%H:%M:%S"), msg)
    print(line, flush=True)
    log_lines.append(line)


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
        model = ""
        for p in ("/sys/class/block/%s/device/model" % dev,):
            if os.path.exists(p):
                model = open(p).read().strip()
        m["disk"] = "%s (%s, %s, %d GiB%s)" % (src[0], src[1], "reported rotational" if rot == "1" else "non-rotational",
                                              size >> 30, ", " + model if model else "")
        if dev.startswith("vd"):
            m["disk"] += ", a virtio disk of a VM"
    except Exception as e:  # noqa: BLE001 - description only
        m["disk"] = "unknown (%s)" % e
    m["java"] = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    m["loadavg"] = open("/proc/loadavg").read().split()[:3]
    return m


# ------------------------------------------------------------ ceilings ----

def ceiling_loopback(work):
    if not shutil.which("iperf3"):
        return None, "iperf3 not installed (apt-get install iperf3); skipped"
    port = free_port()
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", HOST, "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = subprocess.run(["iperf3", "-c", HOST, "-p", str(port), "-t", "3", "-J"],
                             capture_output=True, text=True, timeout=30).stdout
        bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
        return bps / 8 / 1e6, "iperf3, one TCP stream, 3 s"
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.wait()


def ceiling_disk(work):
    """Sequential 1 MiB writes each followed by fdatasync (what acks with a
    flush per batch could reach), and 100-byte appends each followed by
    fdatasync (the ceiling of a transaction log that syncs every write)."""
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
        while time.time() - t0 < 2:
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


class Server:
    def __init__(self, name, argv, cwd, log_path, ready, env=None):
        self.name, self.argv, self.cwd, self.log_path, self.ready = name, argv, cwd, log_path, ready
        self.env = env
        self.proc = None

    def start(self, timeout=90):
        """Starts the process; returns seconds from spawn to the first
        successful readiness probe (ApiVersions or ruok)."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, stdout=open(self.log_path, "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        LIVE.append(self)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log %s:\n%s" % (
                    self.name, self.proc.returncode, self.log_path, open(self.log_path, errors="replace").read()[-3000:]))
            if self.ready():
                return time.monotonic() - t0
            time.sleep(0.01)
        raise RuntimeError("%s not ready after %d s (log %s)" % (self.name, timeout, self.log_path))

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in LIVE:
            LIVE.remove(self)


LIVE = []


def stop_all():
    for s in list(LIVE):
        s.stop()


def kafka_server(work, port):
    d = os.path.join(work, "kafka")
    os.makedirs(d)
    cport = free_port()
    props = os.path.join(d, "server.properties")
    # The properties of tests/clients/kafka-reference: a single KRaft node.
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
    return Server("kafka", jvm + ["kafka.Kafka", props], d, os.path.join(d, "server.log"),
                  lambda: api_versions_ok(port))


def kavka_server(work, port, binary):
    d = os.path.join(work, "kavka")
    os.makedirs(d)
    props = os.path.join(d, "server.properties")
    out = []
    with open(os.path.join(REPO, "broker", "default.properties")) as f:
        for line in f:
            if line.startswith("zookeeper."):
                continue  # no metastore: the broker runs on its own
            if line.startswith("listeners="):
                line = "listeners=PLAINTEXT://%s:%d\n" % (HOST, port)
            elif line.startswith("log.dirs="):
                line = "log.dirs=%s/data\n" % d
            out.append(line)
    with open(props, "w") as f:
        f.writelines(out)
    return Server("kavka", [binary, props], d, os.path.join(d, "server.log"), lambda: api_versions_ok(port))


def zk_cfg(d, port, extra=""):
    path = os.path.join(d, "zoo.cfg")
    with open(path, "w") as f:
        # ZooKeeper's conf/zoo_sample.cfg, on a free port and with no limit of
        # connections per client address (the 64-session run needs more than 60).
        f.write("tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s/data\nclientPort=%d\n"
                "clientPortAddress=%s\nmaxClientCnxns=0\n4lw.commands.whitelist=ruok,srvr,mntr\n%s"
                % (d, port, HOST, extra))
    return path


def zookeeper_server(work, port):
    d = os.path.join(work, "zookeeper")
    os.makedirs(d)
    cfg = zk_cfg(d, port)
    return Server("zookeeper", ["java", "-cp", classpath()] + ZK_JVM +
                  ["org.apache.zookeeper.server.ZooKeeperServerMain", cfg], d,
                  os.path.join(d, "server.log"), lambda: ruok_ok(port))


def zookeeper38_server(work, port):
    """ZooKeeper 3.8 from tests/clients/jars-zk38 (fetched for the conformance
    run's zkCli 3.8), when present: the older line many deployments still run."""
    d = os.path.join(work, "zookeeper38")
    os.makedirs(d)
    cfg = zk_cfg(d, port)
    return Server("zookeeper-3.8", ["java", "-cp", os.path.join(JARS38, "*")] + ZK_JVM +
                  ["org.apache.zookeeper.server.ZooKeeperServerMain", cfg], d,
                  os.path.join(d, "server.log"), lambda: ruok_ok(port))


def metastore_server(work, port, binary):
    d = os.path.join(work, "metastore")
    os.makedirs(d)
    cfg = zk_cfg(d, port)
    return Server("kavka-metastore", [binary, cfg], d, os.path.join(d, "server.log"), lambda: ruok_ok(port))


# ----------------------------------------------------------------- load ----

PROD_RE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                     r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th")


def run_logged(argv, log_path, timeout):
    with open(log_path, "w") as f:
        f.write("$ %s\n" % " ".join(argv))
        f.flush()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=f, text=True, timeout=timeout)
        f.write(r.stdout)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d); see %s" % (argv[0], r.returncode, log_path))
    return r.stdout


def create_topics(port, topics):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": "%s:%d" % (HOST, port)})
    fs = a.create_topics([NewTopic(t, n, 1) for t, n in topics], operation_timeout=30, request_timeout=30)
    for t, f in fs.items():
        f.result(60)
    # Wait until the metadata shows every partition with a leader.
    deadline = time.time() + 30
    while time.time() < deadline:
        md = a.list_topics(timeout=10).topics
        if all(t in md and len(md[t].partitions) == n and all(p.leader >= 0 for p in md[t].partitions.values())
               for t, n in topics):
            return
        time.sleep(0.1)
    raise RuntimeError("topics not ready")


def producer_perf(port, topic, records, acks, log_path):
    argv = ["java", "-cp", classpath()] + KAFKA_TOOL_HEAP + KAFKA_JVM + [
        "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", str(records),
        "--record-size", "1024", "--throughput", "-1",
        "--producer-props", "bootstrap.servers=%s:%d" % (HOST, port), "acks=%s" % acks]
    out = run_logged(argv, log_path, timeout=600)
    m = None
    for m in PROD_RE.finditer(out):
        pass
    if not m:
        raise RuntimeError("no summary line in %s" % log_path)
    return {"records": int(m.group(1)), "rec_s": float(m.group(2)), "mb_s": float(m.group(3)),
            "avg_ms": float(m.group(4)), "max_ms": float(m.group(5)), "p50_ms": int(m.group(6)),
            "p95_ms": int(m.group(7)), "p99_ms": int(m.group(8)), "p999_ms": int(m.group(9))}


def consumer_perf(port, topic, records, log_path):
    argv = ["java", "-cp", classpath()] + KAFKA_TOOL_HEAP + KAFKA_JVM + [
        "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", "%s:%d" % (HOST, port),
        "--topic", topic, "--messages", str(records), "--timeout", "30000"]
    out = run_logged(argv, log_path, timeout=600)
    rows = [l for l in out.splitlines() if l.count(",") >= 9 and not l.startswith("start.time")]
    if not rows:
        raise RuntimeError("no result line in %s" % log_path)
    f = [x.strip() for x in rows[-1].split(",")]
    return {"mb": float(f[2]), "mb_s": float(f[3]), "records": int(f[4]), "rec_s": float(f[5]),
            "rebalance_ms": float(f[6]), "fetch_ms": float(f[7]), "fetch_mb_s": float(f[8]),
            "fetch_rec_s": float(f[9])}


PRODUCE_CASES = [("acks=all", "all", 1), ("acks=all", "all", 8), ("acks=1", "1", 1), ("acks=1", "1", 8)]


def bench_broker(srv, port, work, args):
    r = {"produce": {}, "consume": {}}
    srv.start()
    say("%s: first start (warms the page cache of the binary/jars); stopping it" % srv.name)
    srv.stop()
    time.sleep(1)
    r["startup_s"] = srv.start()
    say("%s: ready in %.3f s (process start to first ApiVersions)" % (srv.name, r["startup_s"]))
    time.sleep(2)
    r["rss_idle_kb"] = status_kb(srv.pid, "VmRSS")
    topics = [("warmup", 1), ("latency", 1), ("rdtput", 8)] + [("p%d-acks%s" % (n, a), n) for _, a, n in PRODUCE_CASES]
    create_topics(port, topics)
    say("%s: warm-up run (%d records, not measured)" % (srv.name, args.warmup))
    producer_perf(port, "warmup", args.warmup, "all", os.path.join(work, "%s-warmup.log" % srv.name))
    bytes_total = cpu_total = 0.0
    for label, acks, parts in PRODUCE_CASES:
        key = "%s p%d" % (label, parts)
        c0 = cpu_seconds(srv.pid)
        res = producer_perf(port, "p%d-acks%s" % (parts, acks), args.records, acks,
                            os.path.join(work, "%s-produce-%s-p%d.log" % (srv.name, acks, parts)))
        dcpu = cpu_seconds(srv.pid) - c0
        gb = res["records"] * 1024 / 1e9
        res["cpu_s"] = dcpu
        res["cpu_s_per_gb"] = dcpu / gb
        bytes_total += gb
        cpu_total += dcpu
        r["produce"][key] = res
        say("%s: produce %s: %.0f rec/s, %.1f MB/s, p99 %d ms, broker CPU %.1f s/GB" % (
            srv.name, key, res["rec_s"], res["mb_s"], res["p99_ms"], res["cpu_s_per_gb"]))
    r["produce_cpu_s_per_gb"] = cpu_total / bytes_total
    bytes_total = cpu_total = 0.0
    for parts in (1, 8):
        key = "p%d" % parts
        c0 = cpu_seconds(srv.pid)
        res = consumer_perf(port, "p%d-acksall" % parts, args.records,
                            os.path.join(work, "%s-consume-p%d.log" % (srv.name, parts)))
        dcpu = cpu_seconds(srv.pid) - c0
        gb = res["mb"] * 1048576 / 1e9
        res["cpu_s"] = dcpu
        res["cpu_s_per_gb"] = dcpu / gb if gb else 0
        bytes_total += gb
        cpu_total += dcpu
        r["consume"][key] = res
        say("%s: consume %s: %.0f rec/s, fetch %.1f MB/s (join %.0f ms), broker CPU %.1f s/GB" % (
            srv.name, key, res["fetch_rec_s"], res["fetch_mb_s"], res["rebalance_ms"], res["cpu_s_per_gb"]))
    r["consume_cpu_s_per_gb"] = cpu_total / bytes_total if bytes_total else 0
    if args.rdlat:
        out = run_logged([args.rdlat, "%s:%d" % (HOST, port), "latency", str(args.lat_rate), str(args.lat_seconds)],
                         os.path.join(work, "%s-rdlat.log" % srv.name), timeout=120)
        m = RDLAT_RE.search(out)
        if not m:
            raise RuntimeError("rdlat printed no result")
        r["e2e"] = {k: int(v) if k != "rate" else float(v) for k, v in m.groupdict().items()}
        say("%s: end-to-end at %d rec/s (1 KiB, acks=all): p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms" % (
            srv.name, args.lat_rate, r["e2e"]["p50_us"] / 1000, r["e2e"]["p99_us"] / 1000, r["e2e"]["p999_us"] / 1000))
        out = run_logged([args.rdlat, "--throughput", "%s:%d" % (HOST, port), "rdtput", str(args.records)],
                         os.path.join(work, "%s-rdtput.log" % srv.name), timeout=300)
        m = RDTPUT_RE.search(out)
        if not m:
            raise RuntimeError("rdlat --throughput printed no result")
        r["rdtput"] = {k: float(v) for k, v in m.groupdict().items()}
        say("%s: librdkafka throughput (8 partitions, 1 KiB, acks=all): produce %.0f rec/s %.1f MB/s, "
            "fetch %.0f rec/s %.1f MB/s" % (srv.name, r["rdtput"]["produce_rps"], r["rdtput"]["produce_mbps"],
                                            r["rdtput"]["fetch_rps"], r["rdtput"]["fetch_mbps"]))
    r["rss_end_kb"] = status_kb(srv.pid, "VmRSS")
    r["rss_peak_kb"] = status_kb(srv.pid, "VmHWM")
    r["threads"] = status_kb(srv.pid, "Threads")
    srv.stop()
    return r


RDLAT_RE = re.compile(r"sent=(?P<sent>\d+) received=(?P<received>\d+) rate=(?P<rate>[\d.]+) p50_us=(?P<p50_us>\d+) "
                      r"p99_us=(?P<p99_us>\d+) p999_us=(?P<p999_us>\d+) max_us=(?P<max_us>\d+) "
                      r"ack_p50_us=(?P<ack_p50_us>\d+) ack_p99_us=(?P<ack_p99_us>\d+) errors=(?P<errors>\d+)")
RDTPUT_RE = re.compile(r"produced=(?P<produced>\d+) produce_rps=(?P<produce_rps>[\d.]+) "
                       r"produce_mbps=(?P<produce_mbps>[\d.]+) fetched=(?P<fetched>\d+) "
                       r"fetch_rps=(?P<fetch_rps>[\d.]+) fetch_mbps=(?P<fetch_mbps>[\d.]+) errors=(?P<errors>\d+)")
ZK_RE = re.compile(r"op=(\w+) sessions=(\d+) value=(\d+) ops=(\d+) secs=([\d.]+) ops_per_s=([\d.]+) "
                   r"p50_us=(\d+) p99_us=(\d+) p999_us=(\d+) errors=(\d+)")


def bench_metastore(srv, port, work, args):
    r = {"runs": {}}
    srv.start()
    srv.stop()
    time.sleep(0.5)
    r["startup_s"] = srv.start()
    say("%s: ready in %.3f s (process start to first ruok)" % (srv.name, r["startup_s"]))
    time.sleep(1)
    r["rss_idle_kb"] = status_kb(srv.pid, "VmRSS")
    say("%s: warm-up zkbench run (8 sessions, 1 s per op, not measured)" % srv.name)
    run_logged([args.zkbench, "%s:%d" % (HOST, port), "8", "100", "1"],
               os.path.join(work, "%s-zkbench-warmup.log" % srv.name), timeout=300)
    cpu0 = cpu_seconds(srv.pid)
    ops_total = 0
    for sessions, value in args.zk_cases:
        out = run_logged([args.zkbench, "%s:%d" % (HOST, port), str(sessions), str(value), str(args.zk_seconds)],
                         os.path.join(work, "%s-zkbench-%d-%d.log" % (srv.name, sessions, value)), timeout=300)
        for m in ZK_RE.finditer(out):
            op = m.group(1)
            res = {"ops": int(m.group(4)), "secs": float(m.group(5)), "ops_s": float(m.group(6)),
                   "p50_us": int(m.group(7)), "p99_us": int(m.group(8)), "p999_us": int(m.group(9)),
                   "errors": int(m.group(10))}
            ops_total += res["ops"]
            r["runs"]["%s %d %d" % (op, sessions, value)] = res
            say("%s: %-6s sessions=%-2d value=%-5d %8.0f ops/s  p99 %6.2f ms%s" % (
                srv.name, op, sessions, value, res["ops_s"], res["p99_us"] / 1000,
                "  errors=%d" % res["errors"] if res["errors"] else ""))
    r["cpu_us_per_op"] = (cpu_seconds(srv.pid) - cpu0) * 1e6 / ops_total if ops_total else 0
    r["rss_end_kb"] = status_kb(srv.pid, "VmRSS")
    r["rss_peak_kb"] = status_kb(srv.pid, "VmHWM")
    srv.stop()
    return r


# --------------------------------------------------------------- report ----

def ratio(k, ref):
    if not ref or k is None:
        return "—"
    x = k / ref
    return "%.2f" % x if x >= 0.1 else "%.3f" % x


def geomean(xs):
    xs = [x for x in xs if x > 0]
    if not xs:
        return 0
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1 / len(xs))


def fmt_mb(kb):
    return "%.0f MiB" % (kb / 1024)


def write_report(res, args, path):
    m = res["machine"]
    L = []
    w = L.append
    w("# Benchmarks: kavka beside Apache Kafka and Apache ZooKeeper")
    w("")
    w("Written by `bench/run` on %s (%.0f s wall time). Do not edit by hand: run `bench/run` again."
      % (res["date"], res["wall_s"]))
    w("")
    w("**Read these figures with care.** They were taken on a *shared %d-core machine* where other work"
      " (builds, test runs) may run beside the benchmark; load average (which counts the benchmark's own"
      " servers and load tools) at the start: %s."
      " Each measurement lasts seconds, not minutes: enough to compare the two implementations run"
      " back to back in one run, not to give absolute capacity figures. The servers and the load tools"
      " share the same %d cores, so the load tool's own CPU use is part of every figure. Each server"
      " was measured %d time%s (reference, kavka, reference, kavka, ...; one server running at a time);"
      " the tables give the median of each figure over the rounds (taken figure by figure), the log at"
      " the end every single figure, so the spread can be seen there."
      % (m["nproc"], " ".join(m["loadavg"]) + (", at the end: " + " ".join(res["loadavg_end"]) if res.get("loadavg_end") else ""),
         m["nproc"], args.rounds, "s" if args.rounds > 1 else ""))
    w("")
    K, R = res["broker"].get("kavka"), res["broker"].get("kafka")
    Z, M = res["metastore"].get("zookeeper"), res["metastore"].get("kavka-metastore")
    w("## Headline (kavka ÷ reference, geometric mean over the cases below)")
    w("")
    if K and R:
        keys = ["%s p%d" % (label, parts) for label, _, parts in PRODUCE_CASES]
        w("- Produce throughput, 4 cases: **%.2f×** Kafka (range %s–%s)" % (
            geomean([K["produce"][k]["mb_s"] / R["produce"][k]["mb_s"] for k in keys]),
            ratio(min(K["produce"][k]["mb_s"] / R["produce"][k]["mb_s"] for k in keys), 1),
            ratio(max(K["produce"][k]["mb_s"] / R["produce"][k]["mb_s"] for k in keys), 1)))
        w("- Consume throughput, 2 cases: **%.2f×** Kafka" % geomean(
            [K["consume"][k]["fetch_mb_s"] / R["consume"][k]["fetch_mb_s"] for k in ("p1", "p8")]))
        if "rdtput" in K and "rdtput" in R:
            w("- librdkafka produce throughput **%s×**, fetch throughput **%s×** Kafka" % (
                ratio(K["rdtput"]["produce_mbps"], R["rdtput"]["produce_mbps"]),
                ratio(K["rdtput"]["fetch_mbps"], R["rdtput"]["fetch_mbps"])))
        if "e2e" in K and "e2e" in R:
            w("- End-to-end p99 at %d records/s: %.1f ms vs %.1f ms (**%s×**)" % (
                res["lat_rate"], K["e2e"]["p99_us"] / 1000, R["e2e"]["p99_us"] / 1000,
                ratio(K["e2e"]["p99_us"], R["e2e"]["p99_us"])))
        w("- Broker CPU per GB produced **%s×**, peak RSS **%s×**, start-up **%s×** Kafka's" % (
            ratio(K["produce_cpu_s_per_gb"], R["produce_cpu_s_per_gb"]), ratio(K["rss_peak_kb"], R["rss_peak_kb"]),
            ratio(K["startup_s"], R["startup_s"])))
    if Z and M:
        keys = [k for k in Z["runs"] if k in M["runs"]]
        rs = [M["runs"][k]["ops_s"] / Z["runs"][k]["ops_s"] for k in keys]
        w("- Metastore ops/s, %d cases: **%.2f×** ZooKeeper (range %s–%s); p99 latency **%.2f×**;"
          " peak RSS **%s×**" % (len(keys), geomean(rs), ratio(min(rs), 1), ratio(max(rs), 1),
                                  geomean([M["runs"][k]["p99_us"] / Z["runs"][k]["p99_us"] for k in keys
                                           if Z["runs"][k]["p99_us"]]),
                                  ratio(M["rss_peak_kb"], Z["rss_peak_kb"])))
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w("| CPU | %d × %s |" % (m["nproc"], m["cpu"]))
    w("| RAM | %s GiB |" % m["ram_gib"])
    w("| Kernel | Linux %s |" % m["kernel"])
    w("| Disk (data dirs) | %s |" % m["disk"])
    w("| Java | %s |" % m["java"])
    w("| Reference versions | Apache Kafka %s (KRaft, one node), Apache ZooKeeper %s (standalone)%s |"
      % (res["kafka_version"], res["zk_version"],
         " and %s" % res["zk38_version"] if res.get("zk38_version") else ""))
    w("| kavka | commit %s%s, release build (`build-bench/`) |" % (
        res["commit"], " plus uncommitted changes in the working tree" if res["dirty"] else ""))
    w("")
    w("## Physical ceiling")
    w("")
    c = res["ceiling"]
    w("| | |")
    w("|---|---|")
    if c.get("loopback_mb_s"):
        w("| Loopback TCP | %.0f MB/s (%s) |" % (c["loopback_mb_s"], c["loopback_note"]))
    else:
        w("| Loopback TCP | not measured: %s |" % c["loopback_note"])
    w("| Disk, sequential 1 MiB writes + fdatasync each | %.0f MB/s |" % c["disk_mb_s"])
    w("| Disk, 100-byte appends + fdatasync each | %.0f syncs/s |" % c["disk_syncs_s"])
    w("")
    if K and R:
        w("## Broker: kavka-broker vs Apache Kafka")
        w("")
        w("Load: Kafka's own `ProducerPerformance` (`kafka-producer-perf-test`): %d records of 1 KiB,"
          " `--throughput -1` (as fast as it goes), default producer settings apart from `acks`;"
          " one topic per case, replication factor 1. Then `ConsumerPerformance`"
          " (`kafka-consumer-perf-test`) reads %d records back from the acks=all topics with a fresh"
          " consumer group. Each broker first gets a %d-record warm-up run (not measured). Both brokers"
          " with their default configuration (no fsync per write: `log.flush.*` unset in both);"
          " Kafka with the JVM options of its `kafka-server-start.sh` (1 GiB heap, G1)."
          % (args.records, args.records, args.warmup))
        w("")
        w("Ratio = kavka ÷ Kafka: above 1 means kavka is faster for throughput, below 1 means kavka"
          " is lower (better) for latency, memory and CPU.")
        w("")
        w("| Produce | Kafka MB/s | kavka MB/s | ratio | Kafka p99 ms | kavka p99 ms | ratio |"
          " Kafka CPU s/GB | kavka CPU s/GB | ratio |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, _, parts in PRODUCE_CASES:
            key = "%s p%d" % (label, parts)
            k, r = K["produce"][key], R["produce"][key]
            w("| %s, %d partition%s | %.1f | %.1f | %s | %.0f | %.0f | %s | %.1f | %.1f | %s |" % (
                label, parts, "s" if parts > 1 else "", r["mb_s"], k["mb_s"], ratio(k["mb_s"], r["mb_s"]),
                r["p99_ms"], k["p99_ms"], ratio(k["p99_ms"], r["p99_ms"]),
                r["cpu_s_per_gb"], k["cpu_s_per_gb"], ratio(k["cpu_s_per_gb"], r["cpu_s_per_gb"])))
        w("")
        w("p99 here is ProducerPerformance's send-to-acknowledgement latency with an unbounded send rate,"
          " so it mostly measures queueing in the producer's buffer; it is not the latency at a"
          " fixed rate.")
        w("")
        w("| Consume | Kafka MB/s | kavka MB/s | ratio | Kafka group join ms | kavka group join ms |"
          " Kafka CPU s/GB | kavka CPU s/GB | ratio |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for parts in (1, 8):
            k, r = K["consume"]["p%d" % parts], R["consume"]["p%d" % parts]
            w("| %d partition%s | %.1f | %.1f | %s | %.0f | %.0f | %.1f | %.1f | %s |" % (
                parts, "s" if parts > 1 else "", r["fetch_mb_s"], k["fetch_mb_s"],
                ratio(k["fetch_mb_s"], r["fetch_mb_s"]), r["rebalance_ms"], k["rebalance_ms"],
                r["cpu_s_per_gb"], k["cpu_s_per_gb"], ratio(k["cpu_s_per_gb"], r["cpu_s_per_gb"])))
        w("")
        w("Consume MB/s is ConsumerPerformance's `fetch.MB.sec` (after the group join; MiB per second);"
          " the join time is shown beside it.")
        w("")
        if "e2e" in K and "e2e" in R:
            w("End-to-end latency at a fixed rate: `bench/rdlat` (C, librdkafka %s) produces %d records/s of 1 KiB"
              " with acks=all to one partition for %g s (librdkafka's default `linger.ms`=5) and consumes them in"
              " the same process; latency is receive time minus send time. This is the figure to read for"
              " latency; the p99 above is at an unbounded rate." % (res.get("librdkafka", "?"), args.lat_rate,
                                                                     args.lat_seconds))
            w("")
            w("| End-to-end | Kafka ms | kavka ms | ratio |")
            w("|---|---:|---:|---:|")
            for key, lab in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"), ("max_us", "max"),
                             ("ack_p99_us", "produce acknowledgement p99")):
                w("| %s | %.2f | %.2f | %s |" % (lab, R["e2e"][key] / 1000, K["e2e"][key] / 1000,
                                                ratio(K["e2e"][key], R["e2e"][key])))
            w("")
        if "rdtput" in K and "rdtput" in R:
            w("Throughput through librdkafka: `bench/rdlat --throughput` produces %d records of 1 KiB as fast as"
              " librdkafka takes them (acks=all, librdkafka's default batching, its default partitioner over 8"
              " partitions) and waits for every acknowledgement, then one consumer assigned all 8 partitions"
              " fetches them back from the beginning (timed from the first record). MB = 10^6 bytes of values."
              % args.records)
            w("")
            w("| librdkafka | Kafka | kavka | ratio |")
            w("|---|---:|---:|---:|")
            for key, lab in (("produce_rps", "produce records/s"), ("produce_mbps", "produce MB/s"),
                             ("fetch_rps", "fetch records/s"), ("fetch_mbps", "fetch MB/s")):
                w("| %s | %.0f | %.0f | %s |" % (lab, R["rdtput"][key], K["rdtput"][key],
                                                ratio(K["rdtput"][key], R["rdtput"][key])))
            w("")
        w("| Resources | Kafka | kavka | ratio |")
        w("|---|---:|---:|---:|")
        w("| Start-up (process start to first ApiVersions answer) | %.2f s | %.3f s | %s |" % (
            R["startup_s"], K["startup_s"], ratio(K["startup_s"], R["startup_s"])))
        w("| RSS idle after start-up | %s | %s | %s |" % (fmt_mb(R["rss_idle_kb"]), fmt_mb(K["rss_idle_kb"]),
                                                        ratio(K["rss_idle_kb"], R["rss_idle_kb"])))
        w("| RSS peak (VmHWM) over the run | %s | %s | %s |" % (fmt_mb(R["rss_peak_kb"]), fmt_mb(K["rss_peak_kb"]),
                                                              ratio(K["rss_peak_kb"], R["rss_peak_kb"])))
        w("| Broker CPU per GB produced (all four cases) | %.1f s | %.1f s | %s |" % (
            R["produce_cpu_s_per_gb"], K["produce_cpu_s_per_gb"],
            ratio(K["produce_cpu_s_per_gb"], R["produce_cpu_s_per_gb"])))
        w("| Broker CPU per GB consumed | %.1f s | %.1f s | %s |" % (
            R["consume_cpu_s_per_gb"], K["consume_cpu_s_per_gb"],
            ratio(K["consume_cpu_s_per_gb"], R["consume_cpu_s_per_gb"])))
        w("")
        w("CPU is the broker process's utime+stime from `/proc/<pid>/stat` over each run (a JVM's includes"
          " its JIT compiler and garbage collector threads); RSS from `/proc/<pid>/status`.")
        w("")
    if Z and M:
        w("## Metastore: kavka-metastore vs Apache ZooKeeper")
        w("")
        w("Load: `bench/zkbench` (C, on the ZooKeeper C client libzookeeper-mt). N sessions each keep"
          " one asynchronous request in flight (a closed loop); %g s of creates, then %g s of gets and"
          " %g s of sets on the znodes created, %g s of watch ops (getData with a watch, then setData of"
          " that znode; the op ends when the NodeDataChanged notification arrives), then deletes of all"
          " of them. Latency is request to completion callback (for watch ops: to the notification) in the client. Both servers from ZooKeeper's `zoo_sample.cfg` settings"
          " (fsync of the transaction log on: `forceSync` defaults to yes), standalone; ZooKeeper with"
          " `zkServer.sh`'s 1000 MB heap."
          % (args.zk_seconds, args.zk_seconds, args.zk_seconds, args.zk_seconds))
        w("")
        w("| Op | Sessions | Value | ZooKeeper ops/s | kavka ops/s | ratio | ZooKeeper p99 ms | kavka p99 ms | ratio |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for sessions, value in args.zk_cases:
            for op in ("create", "get", "set", "watch", "delete"):
                key = "%s %d %d" % (op, sessions, value)
                z, k = Z["runs"].get(key), M["runs"].get(key)
                if not z or not k:
                    continue
                err = ""
                if z["errors"] or k["errors"]:
                    err = " (errors: ZooKeeper %g, kavka %g)" % (z["errors"], k["errors"])
                w("| %s%s | %d | %s | %.0f | %.0f | %s | %.2f | %.2f | %s |" % (
                    op, err, sessions, "%d B" % value if value < 1024 else "%d KiB" % (value // 1024),
                    z["ops_s"], k["ops_s"], ratio(k["ops_s"], z["ops_s"]),
                    z["p99_us"] / 1000, k["p99_us"] / 1000, ratio(k["p99_us"], z["p99_us"])))
        w("")
        Z38 = res["metastore"].get("zookeeper-3.8")
        if Z38:
            w("The same load against ZooKeeper %s (Maven Central jars, same settings), one row per op,"
              " geometric mean over the session/value cases:" % res["zk38_version"])
            w("")
            w("| Op | ZooKeeper %s ops/s (geomean) | kavka ops/s (geomean) | ratio | ZooKeeper %s p99 ms | kavka p99 ms | ratio |"
              % (res["zk38_version"], res["zk38_version"]))
            w("|---|---:|---:|---:|---:|---:|---:|")
            for op in ("create", "get", "set", "watch", "delete"):
                keys = [k for k in Z38["runs"] if k.split()[0] == op and k in M["runs"]]
                if not keys:
                    continue
                zo = geomean([Z38["runs"][k]["ops_s"] for k in keys])
                ko = geomean([M["runs"][k]["ops_s"] for k in keys])
                zl = geomean([Z38["runs"][k]["p99_us"] / 1000 for k in keys])
                kl = geomean([M["runs"][k]["p99_us"] / 1000 for k in keys])
                w("| %s | %.0f | %.0f | %s | %.2f | %.2f | %s |" % (op, zo, ko, ratio(ko, zo), zl, kl, ratio(kl, zl)))
            w("")
        w("| Resources | ZooKeeper | kavka | ratio |")
        w("|---|---:|---:|---:|")
        w("| Start-up (process start to first `ruok` → `imok`) | %.2f s | %.3f s | %s |" % (
            Z["startup_s"], M["startup_s"], ratio(M["startup_s"], Z["startup_s"])))
        w("| RSS idle after start-up | %s | %s | %s |" % (fmt_mb(Z["rss_idle_kb"]), fmt_mb(M["rss_idle_kb"]),
                                                        ratio(M["rss_idle_kb"], Z["rss_idle_kb"])))
        w("| RSS peak (VmHWM) over the run | %s | %s | %s |" % (fmt_mb(Z["rss_peak_kb"]), fmt_mb(M["rss_peak_kb"]),
                                                              ratio(M["rss_peak_kb"], Z["rss_peak_kb"])))
        w("| Server CPU per operation | %.0f µs | %.0f µs | %s |" % (
            Z["cpu_us_per_op"], M["cpu_us_per_op"], ratio(M["cpu_us_per_op"], Z["cpu_us_per_op"])))
        w("")
    w("## Chart")
    w("")
    if res.get("chart"):
        w("![throughput and latency](benchmarks.png)")
    else:
        w("No chart: %s" % res.get("chart_note", "gnuplot not installed"))
    w("")
    w("## Not measured yet")
    w("")
    if not args.rdlat:
        w("- End-to-end latency at a fixed rate: bench/rdlat was not built (librdkafka-dev missing).")
    w("- End-to-end latency at more than one rate, and with 8 partitions.")
    w("- Pipelines deeper than one request per session"
      " (`zkbench ... WINDOW` supports it; `bench/run` does not use it).")
    w("- CPU seconds per GB counts only the broker process; the load tools run on the same two cores.")
    w("- Longer runs: every figure is the median of %d runs of a few seconds each; on this shared machine"
      " single runs of the same case differ by up to a factor of two (see the log), so ratios near 1"
      " mean \"no measurable difference\"." % args.rounds)
    w("")
    w("## Log of the run")
    w("")
    w("```")
    L.extend(log_lines)
    w("```")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def write_chart(res, work, png):
    if not shutil.which("gnuplot"):
        return False, "gnuplot not installed (apt-get install gnuplot-nox)"
    K, R = res["broker"].get("kavka"), res["broker"].get("kafka")
    Z, M = res["metastore"].get("zookeeper"), res["metastore"].get("kavka-metastore")
    files = {}

    def dat(name, rows):
        p = os.path.join(work, name + ".dat")
        with open(p, "w") as f:
            for row in rows:
                f.write(" ".join('"%s"' % x if isinstance(x, str) else "%g" % x for x in row) + "\n")
        files[name] = p

    plots = []
    if K and R:
        rows = []
        for label, _, parts in PRODUCE_CASES:
            key = "%s p%d" % (label, parts)
            rows.append(("produce\\n%s p%d" % (label, parts), R["produce"][key]["mb_s"], K["produce"][key]["mb_s"]))
        for parts in (1, 8):
            rows.append(("consume\\np%d" % parts, R["consume"]["p%d" % parts]["fetch_mb_s"],
                         K["consume"]["p%d" % parts]["fetch_mb_s"]))
        dat("broker_tput", rows)
        dat("broker_lat", [("%s p%d" % (label, parts), R["produce"]["%s p%d" % (label, parts)]["p99_ms"],
                            K["produce"]["%s p%d" % (label, parts)]["p99_ms"]) for label, _, parts in PRODUCE_CASES])
        plots.append(("broker_tput", "Broker throughput (MB/s, higher is better)", "Kafka 4", "kavka"))
        plots.append(("broker_lat", "Producer p99 latency, unbounded rate (ms, lower is better)", "Kafka 4", "kavka"))
        if "e2e" in K and "e2e" in R:
            dat("broker_e2e", [(lab, R["e2e"][key] / 1000, K["e2e"][key] / 1000)
                               for key, lab in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"))])
            plots.append(("broker_e2e", "End-to-end latency at %d rec/s, 1 KiB, acks=all (ms, lower is better)"
                          % res["lat_rate"], "Kafka 4", "kavka"))
    if Z and M:
        rows, lrows = [], []
        for sessions, value in args_zk_cases(res):
            for op in ("create", "get", "set", "watch", "delete"):
                key = "%s %d %d" % (op, sessions, value)
                if key in Z["runs"] and key in M["runs"]:
                    lab = "%s\\n%d%s" % (op, sessions, "" if value < 1024 else " 10K")
                    rows.append((lab, Z["runs"][key]["ops_s"], M["runs"][key]["ops_s"]))
                    lrows.append((lab, Z["runs"][key]["p99_us"] / 1000, M["runs"][key]["p99_us"] / 1000))
        dat("zk_tput", rows)
        dat("zk_lat", lrows)
        plots.append(("zk_tput", "Metastore ops/s by op and sessions (higher is better)", "ZooKeeper 3.9", "kavka"))
        plots.append(("zk_lat", "Metastore p99 latency (ms, lower is better)", "ZooKeeper 3.9", "kavka"))
    if not plots:
        return False, "nothing to plot"
    gp = ["set terminal pngcairo size 1400,%d font 'sans,9'" % (450 * len(plots)),
          "set output '%s'" % png,
          "set multiplot layout %d,1" % len(plots),
          "set style data histogram", "set style histogram clustered gap 1",
          "set style fill solid 0.8 border -1", "set boxwidth 0.9", "set grid ytics",
          "set yrange [0:*]", "set key top left", "set xtics nomirror", "set bmargin 4"]
    for name, title, ref, kav in plots:
        gp.append("set title '%s'" % title)
        gp.append("plot '%s' using 2:xtic(1) title '%s' lc rgb '#888888', '' using 3 title '%s' lc rgb '#d9480f'"
                  % (files[name], ref, kav))
    gp.append("unset multiplot")
    script = os.path.join(work, "chart.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode != 0:
        return False, "gnuplot failed: %s" % r.stderr[-500:]
    return True, ""


def median(results):
    """The median of every number across rounds (same shape in every round);
    the mean of the middle two for an even count."""
    first = results[0]
    if isinstance(first, dict):
        return {k: median([r[k] for r in results]) for k in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        v = sorted(results)
        n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return first


def args_zk_cases(res):
    return [tuple(x) for x in res["zk_cases"]]


# ----------------------------------------------------------------- main ----

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kavka-broker", required=True)
    ap.add_argument("--kavka-metastore", required=True)
    ap.add_argument("--zkbench", required=True)
    ap.add_argument("--rdlat", help="the librdkafka latency tool (bench/rdlat.c); skipped when not given")
    ap.add_argument("--lat-rate", type=int, default=5000)
    ap.add_argument("--lat-seconds", type=float, default=5)
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--warmup", type=int, default=50000)
    ap.add_argument("--zk-seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3,
                    help="measure each server this many times, alternating reference and kavka; report the median")
    ap.add_argument("--only", choices=["broker", "metastore"], help="run one half only")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--report-from", metavar="RESULTS_JSON",
                    help="only rewrite the report and chart from the results.json of an earlier run")
    args = ap.parse_args()
    if args.report_from:
        with open(args.report_from) as f:
            res = json.load(f)
        for k, v in res["args"].items():
            if k not in ("out", "report_from"):
                setattr(args, k, v)
        args.zk_cases = [tuple(x) for x in args.zk_cases]
        log_lines[:] = res["log"]
        work = tempfile.mkdtemp(prefix="kavka-bench-report-")
        png = os.path.join(os.path.dirname(args.out), "benchmarks.png")
        res["chart"], res["chart_note"] = write_chart(res, work, png)
        write_report(res, args, args.out)
        shutil.rmtree(work)
        return
    args.zk_cases = [(1, 100), (8, 100), (64, 100), (8, 10240)]

    t_start = time.time()
    work = tempfile.mkdtemp(prefix="kavka-bench-")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: (stop_all(), sys.exit(128 + s)))
    res = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip(),
           "machine": machine(), "broker": {}, "lat_rate": args.lat_rate, "metastore": {}, "zk_cases": args.zk_cases,
           "commit": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip(),
           "kafka_version": "?", "zk_version": "?", "zk38_version": None,
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
    for j in os.listdir(JARS38) if os.path.isdir(JARS38) else []:
        m = re.match(r"zookeeper-(3\.8[\d.]*)\.jar$", j)
        if m:
            res["zk38_version"] = m.group(1)
    if args.rdlat:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "librdkafka1"], capture_output=True, text=True)
        res["librdkafka"] = r.stdout.strip() or "?"
    say("work directory %s; machine: %d cores, %s GiB RAM, Linux %s; load average %s" % (
        work, res["machine"]["nproc"], res["machine"]["ram_gib"], res["machine"]["kernel"],
        " ".join(res["machine"]["loadavg"])))
    try:
        c = res["ceiling"] = {}
        c["loopback_mb_s"], c["loopback_note"] = ceiling_loopback(work)
        c["disk_mb_s"], c["disk_syncs_s"] = ceiling_disk(work)
        say("ceiling: loopback %s MB/s; disk %.0f MB/s with fdatasync per 1 MiB, %.0f fdatasync/s of 100 B" % (
            "%.0f" % c["loopback_mb_s"] if c["loopback_mb_s"] else "n/a", c["disk_mb_s"], c["disk_syncs_s"]))
        rounds = {"kafka": [], "kavka": [], "zookeeper": [], "kavka-metastore": [], "zookeeper-3.8": []}
        for n in range(args.rounds):
            rw = os.path.join(work, "round%d" % (n + 1))
            os.makedirs(rw)
            say("round %d of %d" % (n + 1, args.rounds))
            if args.only in (None, "broker"):
                port = free_port()
                rounds["kafka"].append(bench_broker(kafka_server(rw, port), port, rw, args))
                port = free_port()
                rounds["kavka"].append(bench_broker(kavka_server(rw, port, args.kavka_broker), port, rw, args))
            if args.only in (None, "metastore"):
                port = free_port()
                rounds["zookeeper"].append(bench_metastore(zookeeper_server(rw, port), port, rw, args))
                if res["zk38_version"]:
                    port = free_port()
                    rounds["zookeeper-3.8"].append(bench_metastore(zookeeper38_server(rw, port), port, rw, args))
                port = free_port()
                rounds["kavka-metastore"].append(bench_metastore(
                    metastore_server(rw, port, args.kavka_metastore), port, rw, args))
        res["rounds"] = rounds
        for name in ("kafka", "kavka"):
            if rounds[name]:
                res["broker"][name] = median(rounds[name])
        for name in ("zookeeper", "kavka-metastore", "zookeeper-3.8"):
            if rounds[name]:
                res["metastore"][name] = median(rounds[name])
    finally:
        stop_all()
    res["wall_s"] = time.time() - t_start
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res["log"] = log_lines
    res["args"] = {k: v for k, v in vars(args).items()}
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    png = os.path.join(os.path.dirname(args.out), "benchmarks.png")
    res["chart"], res["chart_note"] = write_chart(res, work, png)
    write_report(res, args, args.out)
    say("wrote %s%s; raw results in %s" % (args.out, " and " + png if res["chart"] else "", work))
    if not args.keep:
        # Drop the data, keep the logs.
        for n in range(args.rounds):
            for sub in ("kafka/logs", "kavka/data", "zookeeper/data", "metastore/data"):
                shutil.rmtree(os.path.join(work, "round%d" % (n + 1), sub), ignore_errors=True)


if __name__ == "__main__":
    main()
