#!/usr/bin/env python3
"""Writes the committed seed corpus of the broker's own fuzz targets
(tests/fuzz/corpus/<target>/seed-*): a handful of small, valid inputs each,
in the input layout documented at the top of each target.

    python3 tests/fuzz/corpus/make_seeds.py

Deterministic: running it again rewrites the same files."""

import base64
import hashlib
import hmac
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- Kafka framing

def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def string(s):
    if s is None:
        return i16(-1)
    s = s.encode() if isinstance(s, str) else s
    return i16(len(s)) + s


def cstring(s):          # compact string
    s = s.encode() if isinstance(s, str) else s
    return uvarint(len(s) + 1) + s


def bytes32(b): return i32(len(b)) + b
def cbytes(b): return uvarint(len(b) + 1) + b
TAGS = b"\x00"             # no tagged fields


def frame(key, ver, corr, body, flexible=False, client="fuzz"):
    hdr = i16(key) + i16(ver) + i32(corr) + string(client)
    if flexible:
        hdr += TAGS
    msg = hdr + body
    return i32(len(msg)) + msg


def api_versions(corr, ver=3):
    if ver >= 3:
        return frame(18, ver, corr, cstring("fuzz") + cstring("1.0") + TAGS, True)
    return frame(18, ver, corr, b"")


def metadata_v1(corr, topics=("t",)):
    return frame(3, 1, corr, i32(len(topics)) + b"".join(string(t) for t in topics))


def metadata_v12(corr):
    # topics [] (compact, null = 0 means all), allow_auto_topic_creation,
    # include_topic_authorized_operations, tags
    topic = b"\x00" * 16 + cstring("t") + TAGS     # topic_id, name, tags
    return frame(3, 12, corr, uvarint(2) + topic + b"\x01" + b"\x00" + TAGS, True)


def fetch_v4(corr):
    part = i32(0) + i64(0) + i32(1048576)
    topic = string("t") + i32(1) + part
    return frame(1, 4, corr, i32(-1) + i32(500) + i32(1) + i32(52428800) + i8(0) + i32(1) + topic)


def create_acls(corr, ver):
    c = (i8(2) + (cstring("t") if ver >= 2 else string("t")) + (i8(3) if ver >= 1 else b"") +
         (cstring("User:alice") if ver >= 2 else string("User:alice")) +
         (cstring("*") if ver >= 2 else string("*")) + i8(3) + i8(3))
    if ver >= 2:
        return frame(30, ver, corr, uvarint(2) + c + TAGS + TAGS, True)
    return frame(30, ver, corr, i32(1) + c)


def sasl_handshake(corr, mech, ver=1):
    return frame(17, ver, corr, string(mech))


def sasl_authenticate(corr, token, ver=2):
    if ver >= 2:
        return frame(36, ver, corr, cbytes(token) + TAGS, True)
    return frame(36, ver, corr, bytes32(token))


def frame_seeds():
    t = "fuzz_frame"
    write(t, "apiversions-metadata", b"\x00\x00" + api_versions(1) + metadata_v1(2) + metadata_v12(3))
    # a parked Fetch, then a request answered at once: answers leave in order
    write(t, "fetch-parked-answered", b"\x02\x00" + fetch_v4(1) + api_versions(2, 0))
    write(t, "fetch-parked-closed", b"\x00\x00" + fetch_v4(1) + metadata_v1(2))
    # two admin writes held on the queue, fed in two chunks split mid-frame
    write(t, "acls-held", b"\x05\x80" + create_acls(1, 1) + create_acls(2, 2) + api_versions(3))
    write(t, "acls-held-closed", b"\x01\x30" + create_acls(1, 0) + create_acls(2, 3))
    # unknown API key, unsupported version, then a good request
    write(t, "unsupported", b"\x00\x00" + frame(999, 0, 1, b"") + frame(3, 99, 2, b"") +
          api_versions(3, 2))


def sasl_seeds():
    t = "fuzz_sasl"
    plain = b"\x00alice\x00alice-secret"
    write(t, "plain-v1-then-metadata", b"\x00\x00" + api_versions(1) + sasl_handshake(2, "PLAIN") +
          sasl_authenticate(3, plain, 2) + metadata_v1(4))
    write(t, "plain-v0-authenticate", b"\x01\x60" + sasl_handshake(1, "PLAIN") +
          sasl_authenticate(2, plain, 0) + fetch_v4(3))
    # SaslHandshake v0: the next frame is the bare token, answered bare
    write(t, "plain-bare-token", b"\x00\x00" + sasl_handshake(1, "PLAIN", 0) + bytes32(plain) +
          api_versions(2, 0))
    write(t, "plain-wrong-password", b"\x00\x00" + sasl_handshake(1, "PLAIN") +
          sasl_authenticate(2, b"\x00alice\x00nope", 1) + metadata_v1(3))
    write(t, "scram-client-first", b"\x00\x00" + sasl_handshake(1, "SCRAM-SHA-256") +
          sasl_authenticate(2, b"n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL", 2))
    # a login, then KIP-368 re-authentication on the same connection
    write(t, "plain-reauth", b"\x04\x00" + sasl_handshake(1, "PLAIN") + sasl_authenticate(2, plain, 1) +
          create_acls(3, 1) + sasl_handshake(4, "PLAIN") + sasl_authenticate(5, plain, 2))
    write(t, "unknown-mechanism", b"\x00\x00" + sasl_handshake(1, "GSSAPI"))


# ---------------------------------------------------------------- SCRAM

SALT = b"0123456789abcdef"
NONCE = "fuzznonce"


def scram_exchange(mech, user, password, cnonce, gs2="n,,", ext=""):
    h = "sha256" if mech == 256 else "sha512"
    first_bare = "n=%s,r=%s%s" % (user, cnonce, ext)
    first = gs2 + first_bare
    server_first = "r=%s%s,s=%s,i=4096" % (cnonce, NONCE, base64.b64encode(SALT).decode())
    final_wo_proof = "c=%s,r=%s%s" % (base64.b64encode(gs2.encode()).decode(), cnonce, NONCE)
    salted = hashlib.pbkdf2_hmac(h, password.encode(), SALT, 4096)
    client_key = hmac.new(salted, b"Client Key", h).digest()
    stored = hashlib.new(h, client_key).digest()
    auth = ",".join([first_bare, server_first, final_wo_proof]).encode()
    sig = hmac.new(stored, auth, h).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    final = final_wo_proof + ",p=" + base64.b64encode(proof).decode()
    return first.encode(), final.encode()


def scram_credential(mech, password):
    h = "sha256" if mech == 256 else "sha512"
    salted = hashlib.pbkdf2_hmac(h, password.encode(), SALT, 4096)
    stored = hashlib.new(h, hmac.new(salted, b"Client Key", h).digest()).digest()
    server = hmac.new(salted, b"Server Key", h).digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return ("salt=%s,stored_key=%s,server_key=%s,iterations=4096" %
            (b64(SALT), b64(stored), b64(server))).encode()


def scram_seeds():
    t = "fuzz_scram"
    for sel, mech in ((0, 256), (1, 512)):
        first, final = scram_exchange(mech, "alice", "alice-secret", "clientnonce")
        write(t, "valid-%d" % mech, bytes([sel]) + struct.pack(">H", len(first)) + first + final)
    first, final = scram_exchange(256, "alice", "alice-secret", "c2", gs2="n,a=alice,",
                                  ext=",ext=1")
    write(t, "authzid-extension", b"\x00" + struct.pack(">H", len(first)) + first + final)
    first, final = scram_exchange(256, "bob", "x", "c3")
    write(t, "unknown-user", b"\x02" + struct.pack(">H", len(first)) + first + final)
    first = b"y,,n=a=2Cb=3Dc,r=c4,tokenauth=false"
    write(t, "escaped-name-first-only", b"\x00" + struct.pack(">H", len(first)) + first)
    write(t, "credential-256", b"\x04" + scram_credential(256, "alice-secret"))
    write(t, "credential-512", b"\x05" + scram_credential(512, "alice-secret"))


# ---------------------------------------------------------------- group store

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def gs_record(payload):
    return struct.pack(">I", len(payload)) + struct.pack(">I", crc32c(payload)) + payload


def gs_offset(group, topic, part, off):
    return gs_record(i8(0) + i8(1) + string(group) + string(topic) + i32(part) + i64(off) +
                     i32(0) + string("meta") + i64(1700000000000) + i64(-1))


def gs_offset_del(group, topic, part):
    return gs_record(i8(0) + i8(2) + string(group) + string(topic) + i32(part))


def gs_group(group, members):
    body = (i8(0) + i8(3) + string(group) + string("consumer") + string("range") +
            string(members[0] if members else None) + i32(3) + i8(0 if members else 1) +
            i64(1700000000000) + i32(len(members)))
    for m in members:
        body += (string(m) + string(None) + string("client-" + m) + string("/127.0.0.1") +
                 i32(10000) + i32(300000) + bytes32(b"\x00\x01sub") + bytes32(b"\x00\x01asg"))
    return gs_record(body)


def gs_group_del(group):
    return gs_record(i8(0) + i8(4) + string(group))


def group_store_seeds():
    t = "fuzz_group_store"
    write(t, "offsets", b"\x01" + gs_offset("g", "t", 0, 42) + gs_offset("g", "t", 1, 7) +
          gs_offset_del("g", "t", 1))
    write(t, "group-members", b"\x01" + gs_group("g", ["m1", "m2"]) + gs_offset("g", "t", 0, 1))
    write(t, "group-deleted", b"\x01" + gs_group("g", []) + gs_offset("g", "t", 0, 5) +
          gs_group_del("g"))
    # a torn tail after a good record, CRCs as written
    write(t, "torn-tail", b"\x00" + gs_offset("g", "t", 0, 9) + gs_offset("h", "u", 2, 3)[:17])
    write(t, "empty", b"\x00")


if __name__ == "__main__":
    frame_seeds()
    sasl_seeds()
    scram_seeds()
    group_store_seeds()
