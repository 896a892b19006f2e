"""Free loopback ports for test daemons, unique across the test processes
that meson runs side by side.

A port the kernel hands out for bind(("127.0.0.1", 0)) is free at that
moment only: the daemon binds it later, and a test keeps it across daemon
restarts (kill -9 cycles, power cuts), when it is unbound again.  Another
test process asking the kernel in that window could get the same number.
So every port handed out here is also claimed with an flock on a file named
after it (in $TMPDIR/kavka-test-ports-<uid>/), held by this process until it
exits: no other process using this module gets that port while this one
lives, and the kernel drops the lock when it dies, however it dies.

The integration, metastore and fault harnesses all use it
(tests/integration/conftest.py, tests/metastore/conftest.py,
tests/fault/faultlib.py)."""

import fcntl
import os
import socket
import tempfile

HOST = "127.0.0.1"
LOCK_DIR = os.path.join(tempfile.gettempdir(), "kavka-test-ports-%d" % os.getuid())

_held = {}  # port -> fd holding its flock, for the life of the process


def _claim(port):
    os.makedirs(LOCK_DIR, exist_ok=True)
    fd = os.open(os.path.join(LOCK_DIR, str(port)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _held[port] = fd
    return True


def free_port(host=HOST):
    """A loopback port nothing listens on now and that no other test process
    (nor this one) has been given."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _held and _claim(port):
            return port
    raise RuntimeError("no free loopback port after 200 tries (locks in %s)" % LOCK_DIR)
