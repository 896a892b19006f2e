#!/usr/bin/env python3
"""A power loss, after the fact: rewinds a data directory to what the
synclog of libfaultfs.so (FAULTFS_SYNCLOG) says reached stable storage.

  powercut.py ROOT SYNCLOG [--content-only]

Run it after every process writing under ROOT was killed with SIGKILL (the
page cache then still holds everything, so the files show more than a real
power loss would leave).  It replays the log and then:

  * cuts every regular file back to its size at its last successful
    fsync/fdatasync (0 if it was never synced);
  * after a failed sync of a file ("syncfail"), nothing written to it later
    counts: the kernel may have dropped the dirty pages of the failed
    writeback and marked them clean, so a later sync that succeeds says
    nothing about them ("fsyncgate").  The file's durable size stays at its
    last good sync until the file is cut back to at most that size (which
    discards the lost pages);
  * removes every file and directory whose creation, or the rename that gave
    it its name, was not followed by an fsync of its directory (and
    recursively of the directories above it, up to ROOT);
  * puts back a file renamed away without a directory sync under its old
    name, and likewise a file whose deletion was not synced when its content
    still exists under the new name.

--content-only does only the first two (the names stay as they are): the
fault tests use it to model lost writeback without also testing directory
syncs, which test_power_loss.py covers.

Limits, plainly:

  * Files are modelled as append-only logs: a sync covers the file's first
    SIZE bytes.  Data overwritten in place after a sync (pwrite into the
    middle) is not rolled back; the daemons do that only to files they
    replace whole (temp file + rename), which the name rules cover.
  * A rename over an existing file that was not followed by a directory sync:
    a real disk would show the old file, but its content is gone (the rename
    replaced it), so the model removes the name altogether.  That is the
    conservative direction: everything the old content lacked is lost too,
    and more besides, so no loss is hidden; it can report a loss a real disk
    would not have.
  * Likewise a file deleted without a directory sync would come back after a
    real power loss; its content is gone, so it is not recreated (reported as
    "cannot restore").  A daemon that needs such a file back is not tested.
  * Only what goes through the preloaded shim is seen: writes made by other
    processes, or through syscalls the shim does not wrap (fopen for
    writing, mkstemp, io_uring, mmap), are not modelled.  Files under ROOT
    the log never names are left alone (reported as untracked).
  * Paths are compared as the shim logged them: the tests hand the daemons
    absolute, symlink-free directories (os.path.realpath).
  * The root itself and every path outside it are assumed durable.
"""

import os
import shutil
import sys


class Node:
    """One file or directory (an inode), whatever its names over time."""

    __slots__ = ("kind", "synced", "poisoned", "tracked")

    def __init__(self, kind, tracked=True):
        self.kind = kind          # "file" or "dir"
        self.synced = 0           # durable size of a file's content
        self.poisoned = False     # a sync failed: synced can no longer grow
        self.tracked = tracked    # False: it predates the log (content unknown)


class Model:
    def __init__(self, root):
        self.root = os.path.normpath(root)
        self.live = {}      # path -> Node: the names as the daemon sees them
        self.durable = {}   # dir -> {name: Node}: its entries at its last fsync
        self.pre = {}       # dir -> {name: Node}: entries older than the log
        self.notes = []

    def inside(self, path):
        return path == self.root or path.startswith(self.root + "/")

    def node(self, path, kind="file"):
        """The node behind a name the log mentions; one older than the log is
        adopted as durable, with unknown content."""
        n = self.live.get(path)
        if n is None:
            kind = "dir" if os.path.isdir(path) else kind
            n = Node(kind, tracked=False)
            n.synced = None
            self.live[path] = n
            self.pre.setdefault(os.path.dirname(path), {})[os.path.basename(path)] = n
        return n

    def _children(self, d):
        return {os.path.basename(p): n for p, n in self.live.items()
                if os.path.dirname(p) == d}

    def apply(self, line):
        parts = line.rstrip("\n").split(" ")
        op, args = parts[0], parts[1:]
        want = {"create": 1, "mkdir": 1, "sync": 2, "syncfail": 2, "dirsync": 1,
                "dirsyncfail": 1, "rename": 2, "unlink": 1, "trunc": 2}
        if op not in want or len(args) != want[op]:
            raise ValueError("powercut: cannot read synclog line %r (paths with spaces are "
                             "not supported)" % line)
        paths = [os.path.normpath(a) for a in args[:2 if op == "rename" else 1]]
        if not any(self.inside(p) for p in paths):
            return
        p = paths[0]
        if op in ("create", "mkdir"):
            self.live[p] = Node("dir" if op == "mkdir" else "file")
        elif op == "sync":
            n, size = self.node(p), int(args[1])
            if n.synced is not None and not n.poisoned:
                n.synced = size
        elif op == "syncfail":
            self.node(p).poisoned = True
        elif op == "trunc":
            n, size = self.node(p), int(args[1])
            if n.synced is not None:
                if size <= n.synced:
                    n.poisoned = False    # the pages that may be lost are cut off
                n.synced = min(n.synced, size)
        elif op == "dirsync":
            if self.inside(p):
                self.durable[p] = self._children(p)
        elif op == "unlink":
            self.live.pop(p, None)
        elif op == "rename":
            old, new = paths
            if not self.inside(old):
                n = Node("dir" if os.path.isdir(new) else "file", tracked=False)
                n.synced = None
                self.live[new] = n
                self.notes.append("%s came from outside the root: content left alone" % new)
                return
            n = self.node(old)
            del self.live[old]
            for q in [q for q in self.live if q.startswith(old + "/")]:
                self.live[new + q[len(old):]] = self.live.pop(q)
            for d in [d for d in self.durable if d == old or d.startswith(old + "/")]:
                self.durable[new + d[len(old):]] = self.durable.pop(d)
            if self.inside(new):
                self.live[new] = n

    def view(self, d):
        """The entries of directory d that a power loss leaves."""
        if d in self.durable:
            return self.durable[d]
        return self.pre.get(d, {})

    def entry_durable(self, path, node):
        if path == self.root or not self.inside(path):
            return True
        d = os.path.dirname(path)
        if self.view(d).get(os.path.basename(path)) is not node:
            return False
        parent = self.live.get(d)
        return d == self.root or parent is None or self.entry_durable(d, parent)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def powercut(root, synclog, content_only=False):
    """Applies the model to root; returns the list of what it did."""
    m = Model(root)
    if os.path.exists(synclog):
        with open(synclog) as f:
            for line in f:
                if line.strip():
                    m.apply(line)
    did = list(m.notes)
    final = dict(m.live)   # path -> node after the cut

    if not content_only:
        where = {}
        for p, n in m.live.items():
            where.setdefault(id(n), []).append(p)
        # Names a rename or unlink took away without a directory sync.
        for d in sorted(set(m.durable) | set(m.pre)):
            if not os.path.isdir(d) or (d != m.root and d in m.live
                                        and not m.entry_durable(d, m.live[d])):
                continue
            for name, n in sorted(m.view(d).items()):
                path = os.path.join(d, name)
                if m.live.get(path) is n:
                    continue
                now = [q for q in where.get(id(n), []) if os.path.lexists(q)]
                if os.path.lexists(path):
                    _remove(path)   # a newer file renamed over it; its old content is gone
                    final.pop(path, None)
                    did.append("removed %s: the rename over it was not followed by a "
                               "directory sync, and its old content cannot be restored" % path)
                    continue
                if not now:
                    did.append("cannot restore %s: removed without a directory sync (after a "
                               "real power loss it could come back)" % path)
                    continue
                src = now[0]
                if m.entry_durable(src, n):
                    if n.kind == "file":
                        shutil.copyfile(src, path)
                        final[path] = n
                        did.append("copied %s back to %s: the rename was not durable" % (src, path))
                else:
                    os.rename(src, path)
                    final.pop(src, None)
                    final[path] = n
                    did.append("moved %s back to %s: the rename was not durable" % (src, path))
        # Names created without a directory sync, shallowest first.
        gone = []
        for p in sorted(final, key=lambda q: (q.count("/"), q)):
            n = final[p]
            if not m.inside(p) or p == m.root or m.entry_durable(p, n):
                continue
            if any(p.startswith(g + "/") for g in gone):
                continue
            if os.path.lexists(p):
                _remove(p)
                gone.append(p)
                did.append("removed %s %s: not followed by a sync of its directory" % (
                    "directory" if n.kind == "dir" else "file", p))
        for p in list(final):
            if p in gone or any(p.startswith(g + "/") for g in gone):
                del final[p]

    for p, n in sorted(final.items()):
        if n.kind != "file" or not m.inside(p) or not os.path.isfile(p):
            continue
        if n.synced is None:
            continue
        size = os.path.getsize(p)
        if size > n.synced:
            os.truncate(p, n.synced)
            did.append("cut %s from %d to %d bytes%s" % (
                p, size, n.synced, " (a sync of it failed)" if n.poisoned else ""))
        elif size < n.synced:
            did.append("note: %s is %d bytes, shorter than its last sync (%d)" % (
                p, size, n.synced))

    tracked = set(final) | set(m.live)
    for d, dirs, files in os.walk(m.root):
        for name in dirs + files:
            p = os.path.join(d, name)
            if p not in tracked:
                did.append("untracked %s: the log never names it; left alone" % p)
    return did


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2 or any(a not in ("--content-only",) for a in argv if a.startswith("--")):
        sys.exit(__doc__)
    for line in powercut(args[0], args[1], content_only="--content-only" in argv):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
