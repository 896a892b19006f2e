"""Issue 14, fail-stop durability: kavka-metastore under I/O faults on its
transaction log (libfaultfs.so, FAULTFS_PATH = <dataDir>/log.).

Each case runs the metastore under the shim and has kazoo create up to 300
sequential znodes with distinct data, one at a time, until the fault stops
them.  Then:

  * the metastore must exit by itself with a non-zero status (never 0, and
    never keep running once a txn log write or fsync failed; ZooKeeper stops
    too) — also in the "once" case, where the disk works again right after:
    a failed fsync is never retried (fsyncgate);
  * the writeback lost to the failed sync is dropped (powercut.py
    --content-only: nothing written to a file after its last good sync
    survives), so a create whose reply went out although its txn was in the
    failed write shows up as lost;
  * a metastore without the shim must hold every znode kazoo saw created,
    with its data, and no data twice.
"""

import random

import pytest

import faultlib
import powercut
from faultlib import Metastore, counts, shim_env

N_ZNODES = 300

# FAULTFS_AFTER counts calls on the txn log files: one fdatasync when a log
# is created, then one write and one fdatasync per group commit (here: per
# create, as kazoo waits for each reply).
CASES = {
    "fsync_eio": dict(ops="fsync", errno="EIO", after=100),
    "fsync_eio_once": dict(ops="fsync", errno="EIO", after=100, count=1),
    "write_enospc": dict(ops="write", errno="ENOSPC", after=100),
    "partial_write": dict(ops="write", errno="ENOSPC", after=100, mode="partial"),
}


def data(i):
    return b"znode-%06d;" % i + random.Random(i).randbytes(10 + i % 50)


@pytest.mark.parametrize("case", sorted(CASES))
def test_metastore_fault(case, tmp_path):
    from kazoo.client import KazooClient

    events = str(tmp_path / "events")
    synclog = str(tmp_path / "synclog")
    ms = Metastore(tmp_path / "ms")
    ms.start(shim_env(path=ms.data_dir + "/log.", events=events, synclog=synclog,
                      **CASES[case]))
    acked, failures = {}, []
    zk = KazooClient(hosts=ms.hosts, timeout=6)
    try:
        zk.start(timeout=15)
        zk.create("/f")
        for i in range(N_ZNODES):
            try:
                path = zk.create_async("/f/n-", data(i), sequence=True).get(timeout=8)
                acked[path] = data(i)
            except Exception as e:  # noqa: BLE001 (any failure: the outcome is unknown)
                failures.append("create %d: %r" % (i, e))
                if len(failures) >= 3 or not ms.running():
                    break
        rc = ms.wait_exit(20)
    finally:
        zk.stop()
        zk.close()
        still_running = ms.running()
        ms.kill()

    injected = faultlib.lines(events)
    cut = powercut.powercut(ms.data_dir, synclog, content_only=True)

    ms.start()   # no shim
    zk = KazooClient(hosts=ms.hosts, timeout=6)
    try:
        zk.start(timeout=15)
        stored = {}
        for name in zk.get_children("/f") if zk.exists("/f") else []:
            stored["/f/" + name] = zk.get("/f/" + name)[0]
    finally:
        zk.stop()
        zk.close()
        rc_clean = ms.stop()

    lost = sorted(p for p in acked if p not in stored)
    wrong = sorted(p for p in acked if p in stored and stored[p] != acked[p])
    by_data = {}
    for p, d in stored.items():
        by_data.setdefault(d, []).append(p)
    dups = sorted(d[:12].decode(errors="replace") for d, ps in by_data.items() if len(ps) > 1)

    counts("metastore " + case, faults_injected=len(injected), acknowledged=len(acked),
           recovered=len(acked) - len(lost), lost=len(lost), duplicated=len(dups))
    faultlib.detail("metastore %s; first failures %s; power cut: %s; restart without the "
                    "shim stopped with %s" % (
                        "still running 20 s after the fault (killed)" if still_running
                        else "exited by itself with status %s" % rc, failures[:2],
                        "; ".join(c.replace(ms.data_dir + "/", "") for c in cut) or "nothing",
                        rc_clean))

    assert injected, "no fault was injected: FAULTFS_AFTER too high for this load"
    assert acked, "nothing was acknowledged before the faults"
    bad = []
    if lost:
        bad.append("%d acknowledged znodes missing after restart (replies sent for txns that "
                   "were not durable): %s" % (len(lost), lost[:10]))
    if wrong:
        bad.append("%d znodes with the wrong data: %s" % (len(wrong), wrong[:10]))
    if dups:
        bad.append("%d znode data stored twice: %s" % (len(dups), dups[:10]))
    if still_running:
        bad.append("the metastore kept running after its txn log failed (it must exit "
                   "non-zero)")
    elif rc == 0:
        bad.append("the metastore exited 0 after its txn log failed")
    if rc_clean != 0:
        bad.append("the metastore without the shim did not stop cleanly (%s):\n%s" % (
            rc_clean, ms.log_tail()))
    assert not bad, "\n".join(bad)
