"""Issue 14, fail-stop durability: a simulated power loss.

kavka-metastore and kavka-broker (zookeeper.connect to it,
log.flush.interval.messages=1) run under libfaultfs.so with only
FAULTFS_SYNCLOG set: no fault, just a record of every file creation, sync,
rename and directory sync.  Load: acks=all idempotent produce to a
2-partition topic, consumer-group offset commits and kazoo creates.  At a cut
point both daemons are SIGKILLed and powercut.py rewinds each data directory
to what the synclog says was on stable storage (files cut to their last
synced size, names never made durable by a directory fsync removed).  Both
restart (under the shim again, the synclog continues) and every record,
committed offset and znode acknowledged so far must be there, once, with
valid CRCs.  Four cut points on the same data directories, the first 0.3 s
after the first acknowledgement.  The clients live across the cuts and stop
issuing requests at each cut (records queued then are retried into the
restarted broker), so the check sees what the old incarnation acknowledged.
"""

import random
import time

import faultlib
import powercut
from faultlib import Broker, Ledger, Metastore, Workload, counts, shim_env, start_both

# Seconds of load before each cut.
CUTS = [0.3, 1.0, 2.0, 1.2]


def test_power_loss(tmp_path):
    from confluent_kafka.admin import AdminClient, NewTopic
    from kazoo.client import KazooClient

    rng = random.Random(14)
    ms = Metastore(tmp_path / "ms")
    broker = Broker(tmp_path / "broker", {
        "log.flush.interval.messages": "1", "zookeeper.session.timeout.ms": "2000"})
    broker.overrides["zookeeper.connect"] = "%s:%d" % (faultlib.HOST, ms.port)
    ms_log, br_log = str(tmp_path / "ms.synclog"), str(tmp_path / "broker.synclog")
    ledger = Ledger("power", 2, "power-group", "/power")
    cut_report, problems = [], []
    numbers = dict(acknowledged=0, recovered=0, lost=0, corrupt=0, duplicated=0)
    load = None
    try:
        problems = start_both(ms, broker, shim_env(synclog=ms_log), shim_env(synclog=br_log))
        if not problems:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            admin.create_topics([NewTopic(ledger.topic, ledger.partitions, 1)],
                                request_timeout=20)[ledger.topic].result(30)
            del admin
            zk = KazooClient(hosts=ms.hosts, timeout=4)
            zk.start(timeout=15)
            zk.create(ledger.zroot)
            zk.stop()
            zk.close()
            load = Workload(ledger, broker, ms, pace=0.01)
        for i, load_s in enumerate(CUTS):
            if problems:
                break
            load.resume()
            if i == 0:
                load.wait_first_ack()
            time.sleep(load_s + rng.random() * 0.2)
            victims = [ms, broker]
            rng.shuffle(victims)
            for d in victims:
                d.kill()
            load.quiesce()
            for what, root, log in (("broker", broker.log_dirs, br_log),
                                    ("metastore", ms.data_dir, ms_log)):
                did = powercut.powercut(root, log)
                cut_report.append("cut %d, %s: %s" % (i + 1, what, "; ".join(
                    d.replace(root + "/", "") for d in did) or "nothing"))
            problems = start_both(ms, broker, shim_env(synclog=ms_log), shim_env(synclog=br_log))
            if problems:
                break
            # Records queued or in flight at the cut are retried into the
            # restarted broker.
            pending = load.drain()
            numbers, problems = faultlib.verify(ledger, broker, ms)
            if pending:
                problems.append("%d records still undelivered 60 s after the restart" % pending)
            if load.fatal:
                problems.append("fatal producer errors: %s" % load.fatal)
    finally:
        if load:
            load.close()
        broker.kill()
        ms.kill()

    cuts = len(cut_report) // 2
    counts("power_loss", cut_points=cuts, acknowledged=numbers["acknowledged"],
           recovered=numbers["recovered"], lost=numbers["lost"], corrupt=numbers["corrupt"],
           duplicated=numbers["duplicated"])
    faultlib.detail("records acknowledged %d, partitions with an acknowledged commit %d, "
                    "znodes %d" % (len(ledger.acked), len(ledger.commit_acked),
                                   len(ledger.znodes)))
    for line in cut_report:
        faultlib.detail(line)
    assert not problems, "after cut %d:\n%s" % (cuts, "\n".join(problems))
    assert cuts == len(CUTS)
