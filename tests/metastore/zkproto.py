"""A raw ZooKeeper protocol client (jute framing) for tests that need
exact bytes: malformed input, session handling without a library."""

import socket
import struct

HOST = "127.0.0.1"


def ustring(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">i", len(b)) + b


def buffer(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def open_acl():
    return struct.pack(">i", 1) + struct.pack(">i", 31) + ustring("world") + ustring("anyone")


class Raw:
    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.xid = 0

    def send_frame(self, payload):
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            b = self.sock.recv(n - len(out))
            if not b:
                raise EOFError("connection closed after %d of %d bytes" % (len(out), n))
            out += b
        return out

    def recv_frame(self):
        (n,) = struct.unpack(">i", self.recv_exact(4))
        return self.recv_exact(n)

    def connect(self, timeout_ms=5000, session=0, passwd=b"\0" * 16, readonly=None):
        req = struct.pack(">iqiq", 0, 0, timeout_ms, session) + buffer(passwd)
        if readonly is not None:
            req += bytes([1 if readonly else 0])
        self.send_frame(req)
        resp = self.recv_frame()
        proto, to, sid = struct.unpack(">iiq", resp[:16])
        (plen,) = struct.unpack(">i", resp[16:20])
        return to, sid, resp[20:20 + plen], resp[20 + plen:]

    def request(self, op, body=b"", xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send_frame(struct.pack(">ii", xid, op) + body)
        return xid

    def reply(self):
        """Next non-notification reply: (xid, zxid, err, body)."""
        while True:
            f = self.recv_frame()
            xid, zxid, err = struct.unpack(">iqi", f[:16])
            if xid != -1:
                return xid, zxid, err, f[16:]

    def close(self):
        self.sock.close()


def create_body(path, data=b"", flags=0):
    return ustring(path) + buffer(data) + open_acl() + struct.pack(">i", flags)
