"""A deliberately small Kafka wire client for tests that real clients cannot do.

Real clients never send a corrupt CRC or a truncated frame, and the fixtures
need a readiness probe that does not depend on any client library.  This module
encodes only what those tests use, written from the protocol spec and
independent of the broker and of every client under test:

  ApiVersions v0, Metadata v1, ListOffsets v1, Produce v3 (record batch v2),
  InitProducerId v1.

Every response is read with explicit bounds; a short or malformed response
raises ProtocolError instead of returning garbage.
"""

import socket
import struct
import time

API_PRODUCE = 0
API_LIST_OFFSETS = 2
API_METADATA = 3
API_VERSIONS = 18
API_INIT_PRODUCER_ID = 22

EARLIEST = -2
LATEST = -1


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- CRC-32C

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- encoding

def _zigzag(n):
    return (n << 1) ^ (n >> 63)


def varint(n):
    n = _zigzag(n) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _varbytes(b):
    if b is None:
        return varint(-1)
    return varint(len(b)) + b


def encode_record(offset_delta, ts_delta, key, value, headers=()):
    body = bytearray(b"\x00")  # record attributes: unused
    body += varint(ts_delta) + varint(offset_delta)
    body += _varbytes(key) + _varbytes(value)
    body += varint(len(headers))
    for hk, hv in headers:
        body += _varbytes(hk.encode()) + _varbytes(hv)
    return varint(len(body)) + bytes(body)


def record_batch(records, base_offset=0, base_ts=None, producer_id=-1, producer_epoch=-1,
                 base_sequence=-1):
    """records: list of (key, value, headers). Returns an uncompressed v2 batch."""
    if base_ts is None:
        base_ts = int(time.time() * 1000)
    recs = b"".join(encode_record(i, i, k, v, h) for i, (k, v, h) in enumerate(records))
    after_crc = struct.pack(
        ">hiqqqhii", 0, len(records) - 1, base_ts, base_ts + len(records) - 1,
        producer_id, producer_epoch, base_sequence, len(records)) + recs
    crc = crc32c(after_crc)
    # batchLength counts from partitionLeaderEpoch to the end.
    length = 4 + 1 + 4 + len(after_crc)
    return struct.pack(">qiibI", base_offset, length, -1, 2, crc) + after_crc


def batch_spans(data):
    """Yields (start, end, base_offset, last_offset_delta) of each complete
    batch in a .log segment's bytes; stops at the first incomplete one."""
    pos = 0
    while pos + 12 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        end = pos + 12 + length
        if length < 49 or end > len(data):
            return
        (last_delta,) = struct.unpack_from(">i", data, pos + 23)
        yield pos, end, base, last_delta
        pos = end


# ---------------------------------------------------------------- decoding

class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("response truncated at byte %d (need %d of %d)"
                                % (self.pos, n, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int8(self):
        return struct.unpack(">b", self.take(1))[0]

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def int64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.int16()
        return None if n < 0 else self.take(n).decode()

    def array(self, item):
        n = self.int32()
        if n < 0:
            return None
        if n > len(self.data):
            raise ProtocolError("absurd array length %d" % n)
        return [item() for _ in range(n)]


# ---------------------------------------------------------------- connection

class Conn:
    """One TCP connection speaking request header v1 / response header v0."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def frame(self, api_key, version, body, client_id="kavka-test"):
        self.corr += 1
        hdr = struct.pack(">hhi", api_key, version, self.corr) + string(client_id)
        payload = hdr + body
        return struct.pack(">i", len(payload)) + payload

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def recv_response(self):
        (size,) = struct.unpack(">i", self._recv_exact(4))
        if size < 4 or size > 64 << 20:
            raise ProtocolError("bad response size %d" % size)
        r = Reader(self._recv_exact(size))
        corr = r.int32()
        if corr != self.corr:
            raise ProtocolError("correlation id %d, expected %d" % (corr, self.corr))
        return r

    def request(self, api_key, version, body):
        self.send_raw(self.frame(api_key, version, body))
        return self.recv_response()

    def closed_by_peer(self, timeout=5.0):
        """True once the peer closes; False if it sent bytes instead.
        Raises TimeoutError if it does neither within timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            raise TimeoutError("peer neither answered nor closed within %.0fs" % timeout)
        return not data

    # -- ApiVersions v0
    def api_versions(self):
        r = self.request(API_VERSIONS, 0, b"")
        err = r.int16()
        apis = r.array(lambda: (r.int16(), r.int16(), r.int16()))
        if err:
            raise ProtocolError("ApiVersions error %d" % err)
        return {k: (lo, hi) for k, lo, hi in apis}

    # -- Metadata v1
    def metadata(self, topics=None):
        body = struct.pack(">i", -1) if topics is None else (
            struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics))
        r = self.request(API_METADATA, 1, body)
        brokers = r.array(lambda: (r.int32(), r.string(), r.int32(), r.string()))
        controller = r.int32()

        def partition():
            err, idx, leader = r.int16(), r.int32(), r.int32()
            r.array(r.int32)
            r.array(r.int32)
            return idx, err, leader

        def topic():
            err, name, _internal = r.int16(), r.string(), r.int8()
            return name, err, r.array(partition)

        topics_out = r.array(topic)
        return {"brokers": brokers, "controller": controller,
                "topics": {name: {"error": err, "partitions": sorted(parts)}
                           for name, err, parts in topics_out}}

    # -- ListOffsets v1: returns {partition: (error, offset)}
    def list_offsets(self, topic, partitions, timestamp):
        body = struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic)
        body += struct.pack(">i", len(partitions))
        for p in partitions:
            body += struct.pack(">iq", p, timestamp)
        r = self.request(API_LIST_OFFSETS, 1, body)
        out = {}
        for _name, parts in r.array(lambda: (r.string(), r.array(
                lambda: (r.int32(), r.int16(), r.int64(), r.int64())))):
            for p, err, _ts, off in parts:
                out[p] = (err, off)
        return out

    # -- Produce v3 to one partition: returns (error_code, base_offset)
    def produce(self, topic, partition, batch, acks=-1, timeout_ms=10000):
        body = string(None) + struct.pack(">hi", acks, timeout_ms)
        body += struct.pack(">i", 1) + string(topic)
        body += struct.pack(">i", 1) + struct.pack(">ii", partition, len(batch)) + batch
        r = self.request(API_PRODUCE, 3, body)
        results = r.array(lambda: (r.string(), r.array(
            lambda: (r.int32(), r.int16(), r.int64(), r.int64()))))
        r.int32()  # throttle_time_ms
        for name, parts in results:
            for p, err, base, _lat in parts:
                if name == topic and p == partition:
                    return err, base
        raise ProtocolError("produce response lacks %s-%d: %r" % (topic, partition, results))


    # -- InitProducerId v1: returns (error_code, producer_id, epoch)
    def init_producer_id(self, transactional_id=None, timeout_ms=60000):
        r = self.request(API_INIT_PRODUCER_ID, 1, string(transactional_id) +
                         struct.pack(">i", timeout_ms))
        r.int32()  # throttle_time_ms
        return r.int16(), r.int64(), r.int16()


def wait_ready(host, port, deadline, is_alive=lambda: True):
    """Waits until the broker answers ApiVersions and lists itself in Metadata."""
    last = None
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError("broker exited during startup")
        try:
            with Conn(host, port, timeout=2.0) as c:
                c.api_versions()
                if c.metadata()["brokers"]:
                    return
                last = "metadata lists no brokers"
        except (OSError, ProtocolError) as e:
            last = e
        time.sleep(0.2)
    raise TimeoutError("broker on %s:%d not ready: %s" % (host, port, last))
