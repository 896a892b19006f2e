"""Fail-stop durability (docs/metastore.md, "Failure model").

Snapshots are written by a forked child: the server keeps answering while
one is written (even while the child is stopped), a SIGKILL during a snapshot
loses nothing and leaves no partial snapshot. A txn log write that fails stops
the server with a non-zero status, and no write it could not make durable is
acknowledged. Corruption in a log file that is not the newest stops startup
with an error naming the file and offset."""

import glob
import os
import re
import resource
import signal
import threading
import time

import pytest
from kazoo.client import KazooClient

from zkproto import Raw, create_body

KIB = b"k" * 1024


def kazoo(srv):
    zk = KazooClient(hosts=srv.hosts, timeout=10)
    zk.start(timeout=15)
    return zk


def children(pid):
    """Live (not zombie) child processes of pid."""
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            cands = [int(x) for x in f.read().split()]
    except OSError:
        cands = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    for c in cands:
        try:
            with open("/proc/%d/stat" % c) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if int(rest[1]) == pid and rest[0] != "Z":
            out.append(c)
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2:].split()[0] != "Z"


def snapshots(srv, suffix=""):
    pat = os.path.join(srv.data_dir, "snapshot." + "[0-9a-f]" * 16 + suffix)
    return sorted(glob.glob(pat))


def load(srv, first, count, data=KIB, batch=500):
    """Creates /z<first>.. /z<first+count-1> pipelined; returns their zxids."""
    raw = Raw(srv.port, timeout=60)
    raw.connect(timeout_ms=30000)
    zxids = []
    for start in range(first, first + count, batch):
        n = min(batch, first + count - start)
        for i in range(start, start + n):
            raw.request(1, create_body("/z%06d" % i, data))
        for _ in range(n):
            xid, zxid, err, _ = raw.reply()
            assert err == 0
            zxids.append(zxid)
    raw.close()
    return zxids


class ChildCatcher(threading.Thread):
    """Watches, from before a snapshot is triggered, for the server's snapshot
    child and SIGSTOPs it as soon as it is seen, so the test does not depend
    on how long writing takes."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.pid = None
        self.done = False
        self.before = set(snapshots(srv))

    def run(self):
        while not self.done:
            kids = children(self.srv.proc.pid)
            if kids:
                os.kill(kids[0], signal.SIGSTOP)
                self.pid = kids[0]
                return
            time.sleep(0.0002)

    def wait(self, timeout=60):
        """The stopped child's pid, or None when the snapshot came and went
        unseen."""
        deadline = time.time() + timeout
        while time.time() < deadline and self.is_alive():
            if set(snapshots(self.srv)) - self.before and not children(self.srv.proc.pid):
                break
            time.sleep(0.01)
        self.done = True
        self.join(5)
        if self.pid is None and not set(snapshots(self.srv)) - self.before:
            pytest.fail("no snapshot child appeared:\n" +
                        self.srv.log().decode(errors="replace")[-3000:])
        return self.pid


def snapshot_caught(srv, trigger, attempts=3):
    """Runs trigger() (writes that cross snapCount) until a snapshot child is
    caught stopped; returns its pid."""
    for _ in range(attempts):
        catcher = ChildCatcher(srv)
        catcher.start()
        trigger()
        pid = catcher.wait()
        if pid is not None:
            return pid
    pytest.fail("every snapshot finished before the test could stop its child")


def stop_mid_write(pid, srv):
    """Lets the stopped child run in small steps until its temp file exists;
    returns the temp file's path (the child is stopped again), or None."""
    for _ in range(20000):
        tmps = snapshots(srv, ".tmp")
        if tmps:
            return tmps[0]
        if not alive(pid):
            return None
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.0002)
        os.kill(pid, signal.SIGSTOP)
    return None


def wait_for(cond, timeout=120, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    pytest.fail("timed out waiting for " + what)


def test_replies_while_a_large_snapshot_is_written(make_server):
    # 20000 znodes of 1 KiB: the snapshot starts when the log reaches snapCount
    srv = make_server({"snapCount": "20000"})
    load(srv, 0, 19990)
    zk = kazoo(srv)
    before = set(snapshots(srv))
    made = [19990]

    def trigger():
        # crosses snapCount (the first time; then snapCount more): the log
        # rolls, the child forks
        n = 20 if made[0] == 19990 else 20000
        load(srv, made[0], n)
        made[0] += n

    pid = snapshot_caught(srv, trigger)
    try:
        # The child is stopped mid-snapshot: the server must answer anyway.
        for i in range(200):
            p = "/during%03d" % i
            zk.create(p, b"x")
            zk.set(p, b"y")
            assert zk.get(p)[0] == b"y"
        assert len(zk.get_children("/")) >= made[0] + 200
        zk.delete("/during000")
        assert zk.exists("/during000") is None
        assert zk.exists("/z%06d" % (made[0] - 1)).dataLength == 1024
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: set(snapshots(srv)) - before and not snapshots(srv, ".tmp")
             and not children(srv.proc.pid), what="the snapshot file")
    new = sorted(set(snapshots(srv)) - before)[-1]
    zxid = int(new.rsplit(".", 1)[1], 16)
    assert zxid >= 20000
    assert os.path.getsize(new) > 20000 * 1024
    # The server logs the snapshot once it has reaped the child, a moment
    # after the child is gone from /proc (seen under ASan, two tests at once).
    wait_for(lambda: re.search(rb"snapshot: wrote \S+snapshot\.%016x" % zxid, srv.log()),
             what="the snapshot's log line")
    # a log file starts right after the snapshot's zxid
    assert os.path.exists(os.path.join(srv.data_dir, "log.%016x" % (zxid + 1)))
    zk.stop()
    assert srv.stop() == 0
    srv.start()
    assert b"loaded %s" % new.encode() in srv.log()
    zk = kazoo(srv)
    assert zk.exists("/during199") is not None
    assert len(zk.get_children("/")) >= 20000 + 199
    zk.stop()


def test_kill9_during_snapshot_recovers(make_server):
    srv = make_server({"snapCount": "3000"})
    acked = load(srv, 0, 2990, data=b"s" * 4096)
    first_snaps = snapshots(srv)
    tmp = None
    for attempt in range(3):  # normally the first attempt

        def trigger():
            # crosses snapCount: the log rolls and the child forks
            acked.extend(load(srv, len(acked), 20 if attempt == 0 else 3000, data=b"s" * 4096))

        pid = snapshot_caught(srv, trigger)
        tmp = stop_mid_write(pid, srv)
        if tmp:
            break
        os.kill(pid, signal.SIGCONT)
    # Writes go on while the snapshot is half written: they are acknowledged
    # and must survive the crash too.
    zk = kazoo(srv)
    for i in range(50):
        zk.create("/mid%02d" % i, b"m")
    zk.stop()
    srv.kill()  # SIGKILL the server; its child dies with it (PDEATHSIG)
    assert srv.proc.returncode == -9
    wait_for(lambda: not alive(pid), timeout=10, what="the snapshot child to die with the server")
    assert os.path.exists(tmp), "the crash left the partial snapshot"
    srv.start()
    log = srv.log()
    assert b"removed the unfinished" in log
    assert not snapshots(srv, ".tmp")
    zk = kazoo(srv)
    kids = set(zk.get_children("/"))
    for i in range(len(acked)):
        assert "z%06d" % i in kids, "acknowledged create /z%06d lost" % i
    assert {"mid%02d" % i for i in range(50)} <= kids
    assert zk.exists("/z%06d" % (len(acked) - 1)).czxid == acked[-1]
    zk.stop()
    # every snapshot in place loads (startup wrote a new one, at the last zxid)
    assert len(snapshots(srv)) > len(first_snaps)
    assert srv.stop() == 0


def test_log_write_failure_is_fatal_and_unacknowledged(make_server):
    srv = make_server(start=False)
    limit = 1 << 20

    def small_files():
        # Files may not grow past 1 MiB: a log write past it fails with EFBIG
        # (SIGXFSZ ignored), part of it written first, as with a full disk.
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    srv.preexec = small_files
    srv.start()
    raw = Raw(srv.port, timeout=30)
    raw.connect()
    total = 2000  # 2000 x 2 KiB is well past the limit
    acked = []
    try:
        # batches of 20 (one group commit each, or a few): the batch whose
        # write fails is never acknowledged
        for start in range(0, total, 20):
            for i in range(start, start + 20):
                raw.request(1, create_body("/w%05d" % i, b"w" * 2048))
            for _ in range(20):
                xid, zxid, err, _ = raw.reply()
                assert err == 0
                acked.append(xid - 1)
    except (EOFError, ConnectionError, OSError):
        pass  # the connection drops: never a success for what is not durable
    raw.close()
    srv.proc.wait(30)
    assert srv.proc.returncode == 1, "fail-stop exits non-zero"
    log = srv.log()
    assert b"fatal: txn log write failed: File too large" in log
    assert b"stopped after a fatal error" in log
    assert 0 < len(acked) < total
    srv.preexec = None
    srv.start()
    log = srv.log()
    assert b"torn tail" not in log, "the failed write was cut back before the stop"
    zk = kazoo(srv)
    present = {int(k[1:]) for k in zk.get_children("/") if k.startswith("w")}
    zk.stop()
    assert set(acked) <= present, "an acknowledged write was lost"
    # what is on disk is a prefix of what was sent: the failed batch is gone
    # whole, nothing after it was written
    assert present == set(range(len(present)))
    assert len(present) < total
    assert srv.stop() == 0


def test_corrupt_older_log_stops_startup(make_server):
    srv = make_server()
    zk = kazoo(srv)
    for i in range(10):
        zk.create("/a%d" % i, b"x" * 50)
    zk.stop()
    assert srv.stop() == 0
    srv.start()  # recovery, snapshot, a new log file
    zk = kazoo(srv)
    zk.create("/later")
    zk.stop()
    assert srv.stop() == 0
    logs = [p for p in sorted(glob.glob(os.path.join(srv.data_dir, "log.*")))
            if os.path.getsize(p) > 8]
    assert len(logs) >= 2
    older = logs[0]
    # the snapshots would let recovery skip the older file: remove them so
    # the older log must be read
    for p in snapshots(srv):
        os.unlink(p)
    size = os.path.getsize(older)
    with open(older, "r+b") as f:
        f.seek(size - 3)
        b = f.read(1)
        f.seek(size - 3)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(RuntimeError):
        srv.start()
    assert srv.proc.returncode == 1
    log = srv.log()
    name = os.path.basename(older).encode()
    assert re.search(rb"%s: offset \d+: record fails its CRC" % re.escape(name), log), log
    assert os.path.getsize(older) == size, "corruption is not truncated away"
