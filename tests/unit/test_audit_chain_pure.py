"""The pure parts of the audit trail: canonical bytes and chain verification over plain tuples."""

import hashlib

import pytest

from trading.audit.canonical import canonical_bytes
from trading.audit.chain import GENESIS, chain_hash, leaf_hash, verify_chain


def _rows(n):
    prev, rows = GENESIS, []
    for i in range(n):
        body = canonical_bytes({"seq": i, "action": "x", "payload": {"i": i}})
        prev = chain_hash(prev, body)
        rows.append((i, body, prev))
    return rows


def test_canonical_sorted_compact_utf8():
    assert canonical_bytes({"b": 1, "a": {"d": [1, "二"], "c": None}}) == '{"a":{"c":null,"d":[1,"二"]},"b":1}'.encode()


def test_leaf_and_chain_hash_definitions():
    body = b'{"seq":0}'
    assert leaf_hash(body) == hashlib.sha256(b"\x00" + body).digest()
    assert chain_hash(GENESIS, body) == hashlib.sha256(GENESIS + leaf_hash(body)).digest()


def test_intact_chain_verifies_with_head():
    rows = _rows(6)
    assert verify_chain(rows, head=(6, rows[-1][2])).ok


@pytest.mark.parametrize("mutate,bad", [
    (lambda r: r[:2] + r[3:], 2),                                        # deleted
    (lambda r: [r[0], r[2], r[1]] + r[3:], 1),                           # reordered
    (lambda r: r[:3] + [(3, r[3][1].replace(b'"i":3', b'"i":4'), r[3][2])] + r[4:], 3),  # edited
    (lambda r: r[:3] + [(3, r[3][1], bytes(32))] + r[4:], 3),            # hash replaced
    (lambda r: r[:5], 5),                                                # truncated (head says 6)
    (lambda r: r[:3] + [(3, canonical_bytes({"seq": 3, "x": 1}), r[3][2])] + r[3:], 3),  # inserted
])
def test_tampering_names_first_bad_seq(mutate, bad):
    rows = _rows(6)
    result = verify_chain(mutate(rows), head=(6, rows[-1][2]))
    assert not result.ok and result.bad_seq == bad, result.describe()
