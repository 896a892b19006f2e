"""Checks on the harness itself, no broker needed: the comparison used by every
client test must notice each kind of damage, and the raw encoder must agree
with an independent implementation (kafka-python's record parser)."""

import dataclasses

import pytest

import kproto
from clients import BY_NAME, Got, parse_kcat, verify


def test_crc32c_known_vector():
    assert kproto.crc32c(b"123456789") == 0xE3069283


def test_record_batch_matches_kafka_python():
    from kafka.record.default_records import DefaultRecordBatch
    recs = [(b"k1", b"v1", [("a", b"1")]), (None, b"", []), (b"k3", None, [("x", b""), ("x", b"2")])]
    batch = DefaultRecordBatch(kproto.record_batch(recs, base_offset=7, base_ts=1000))
    assert batch.validate_crc()
    out = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in batch]
    assert out == [(7, 1000, b"k1", b"v1", [("a", b"1")]), (8, 1001, None, b"", []),
                   (9, 1002, b"k3", None, [("x", b""), ("x", b"2")])]
    spans = list(kproto.batch_spans(kproto.record_batch(recs) * 2 + b"\0" * 30))
    assert len(spans) == 2


def _sent_and_got():
    client = BY_NAME["kafka-python"]
    sent = client.make_records(300, 7, seed="harness")
    keyp = {}
    offs = {}
    got = []
    for r in sent:
        p = keyp.setdefault(r.key, len(keyp) % 3)
        offs[p] = offs.get(p, -1) + 1
        got.append(Got(p, offs[p], r.key, r.value, r.headers, r.ts))
    return sent, got


def test_verify_accepts_identical():
    sent, got = _sent_and_got()
    verify(sent, got)


@pytest.mark.parametrize("damage", ["drop", "duplicate", "key", "header-order", "header-value",
                                    "timestamp", "key-order", "offset-gap", "split-key"])
def test_verify_detects(damage):
    sent, got = _sent_and_got()
    g = got[100]
    if damage == "drop":
        del got[100]
    elif damage == "duplicate":
        got.append(dataclasses.replace(g, offset=10_000))
    elif damage == "key":
        got[100] = dataclasses.replace(g, key=g.key + b"x")
    elif damage == "header-order":
        got[100] = dataclasses.replace(g, headers=tuple(reversed(g.headers)))
    elif damage == "header-value":
        got[100] = dataclasses.replace(g, headers=g.headers[:-1] + (("dup", b"secont"),))
    elif damage == "timestamp":
        got[100] = dataclasses.replace(g, ts=g.ts + 1)
    elif damage == "key-order":
        later = next(i for i in range(101, len(got)) if got[i].key == g.key)
        got[100], got[later] = (dataclasses.replace(got[later], offset=g.offset),
                                dataclasses.replace(g, offset=got[later].offset))
    elif damage == "offset-gap":
        got[100] = dataclasses.replace(g, offset=g.offset + 100_000)
    elif damage == "split-key":
        got[100] = dataclasses.replace(g, partition=(g.partition + 1) % 3, offset=50_000)
    with pytest.raises(AssertionError):
        verify(sent, got)


def test_timestamp_window_checked():
    sent, got = _sent_and_got()
    sent = [dataclasses.replace(r, ts=None) for r in sent]
    lo = min(g.ts for g in got)
    verify(sent, got, (lo, lo + 1000))
    with pytest.raises(AssertionError):
        verify(sent, got, (lo + 1, lo + 1000))


def test_parse_kcat_binary_safe():
    out = parse_kcat(b"2 5 1700 3 a b 4 \n\t x h=1,g=2\n0 0 9 -1  -1  \n")
    assert out[0] == Got(2, 5, b"a b", b"\n\t x", (("h", b"1"), ("g", b"2")), 1700)
    assert out[1] == Got(0, 0, None, None, (), 9)
