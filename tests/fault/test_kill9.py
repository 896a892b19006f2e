"""Issue 14, fail-stop durability: a kill -9 campaign.

One kavka-metastore and one kavka-broker (zookeeper.connect to it) on the
same data directories for the whole run.  Each cycle: start both, run
acks=all idempotent produce to a 2-partition topic, consumer-group offset
commits and kazoo creates for a random 0.2-1.5 s, SIGKILL both at that
moment (random order), restart them and check that everything acknowledged
so far is there: every record once, readable with valid CRCs (consumed in
full every cycle), the last acknowledged committed offset of each partition,
every znode with its data.  No shim: a killed process loses nothing the
kernel has, so nothing acknowledged may be lost, whatever the fsync policy.

KAVKA_KILL9_CYCLES (default 100) sets the number of cycles (the long mode);
KAVKA_KILL9_SEED replays a run (the seed is printed).  The load time shrinks
when the cycles run late, so the default run stays within about 6 minutes on
2 busy cores (KAVKA_KILL9_BUDGET seconds, default 330).
"""

import os
import random
import time

import faultlib
from faultlib import Broker, Ledger, Metastore, Workload, counts, start_both

CYCLES = int(os.environ.get("KAVKA_KILL9_CYCLES", "100"))
BUDGET = float(os.environ.get("KAVKA_KILL9_BUDGET", str(max(330, 3.3 * CYCLES))))


def test_kill9(tmp_path):
    from confluent_kafka.admin import AdminClient, NewTopic
    from kazoo.client import KazooClient

    seed = int(os.environ.get("KAVKA_KILL9_SEED") or random.SystemRandom().randrange(10**6))
    print("seed %d (KAVKA_KILL9_SEED=%d makes the same random choices)" % (seed, seed))
    rng = random.Random(seed)
    ms = Metastore(tmp_path / "ms")
    broker = Broker(tmp_path / "broker", {"zookeeper.session.timeout.ms": "500",
                                          "num.partitions": "2"})
    broker.overrides["zookeeper.connect"] = "%s:%d" % (faultlib.HOST, ms.port)
    ledger = Ledger("kill9", 2, "kill9-group", "/kill9")
    numbers = dict(acknowledged=0, recovered=0, lost=0, corrupt=0, duplicated=0)
    problems, cycles, t0 = [], 0, time.monotonic()
    load = cons = None
    try:
        ms.start()
        broker.start()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(ledger.topic, ledger.partitions, 1)],
                            request_timeout=20)[ledger.topic].result(30)
        del admin
        zk = KazooClient(hosts=ms.hosts, timeout=4)
        zk.start(timeout=15)
        zk.create(ledger.zroot)
        zk.stop()
        zk.close()

        cons = faultlib.checker(broker.bootstrap, ledger.group)
        load = Workload(ledger, broker, ms, pace=0.02)
        load.resume()
        load.wait_first_ack()
        while cycles < CYCLES:
            # Load time: 0.2-1.5 s, less when the run is behind its budget.
            spent = time.monotonic() - t0
            overhead = spent / cycles - 0.85 if cycles else 2.0
            room = (BUDGET - spent) / (CYCLES - cycles) - overhead
            time.sleep(rng.uniform(0.2, min(1.5, max(0.2, 2 * room - 0.2))))
            victims = [ms, broker]
            rng.shuffle(victims)
            for d in victims:
                d.kill()
            cycles += 1
            load.quiesce()
            problems = start_both(ms, broker)
            if problems:
                break
            # Records queued or in flight at the kill are retried into the
            # restarted broker, which must not store them twice.
            pending = load.drain()
            numbers, problems = faultlib.verify(ledger, broker, ms, cons)
            if pending:
                problems.append("%d records still undelivered 60 s after the restart" % pending)
            if load.fatal:
                problems.append("fatal producer errors: %s" % load.fatal)
            if problems:
                break
            load.resume()
    finally:
        if load:
            load.close()
        if cons:
            cons.close()
        broker.kill()
        ms.kill()

    elapsed = time.monotonic() - t0
    counts("kill9", cycles=cycles, acknowledged=numbers["acknowledged"],
           recovered=numbers["recovered"], lost=numbers["lost"], corrupt=numbers["corrupt"],
           duplicated=numbers["duplicated"])
    faultlib.detail("seed %d, %.0f s; records %d acknowledged of %d sent, %d commits "
                    "acknowledged, znodes %d" % (
                        seed, elapsed, len(ledger.acked), ledger.next_seq, ledger.commit_acks,
                        len(ledger.znodes)))
    assert not problems, "after kill %d (seed %d):\n%s" % (cycles, seed, "\n".join(problems))
    assert numbers["lost"] == numbers["corrupt"] == numbers["duplicated"] == 0
    assert cycles == CYCLES
    assert ledger.acked and ledger.znodes and ledger.commit_acked, "the load did not get going"
