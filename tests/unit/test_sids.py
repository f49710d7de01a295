"""Server-issued submission ids: known answer, binding to bidder, lot and part, tamper and format."""

import pytest

from trading.procedures.common.participation import sids
from trading.procedures.common.participation.rules import is_submission_id

KEY = bytes(range(32))
LOT = "SFX2026-GC-0001-01"
KNOWN = "AAAAAAAAAAAAvkpa7vAx8vUB"  # nonce 9 zero bytes, key 00..1f, org 7, LOT, price


def test_known_answer_and_format():
    sid = sids.issue(KEY, 7, LOT, "price", nonce=bytes(9))
    assert sid == KNOWN
    assert is_submission_id(sid) and sids.issued_to(KEY, sid, 7, LOT, "price")


def test_random_ids_differ_and_verify():
    a, b = sids.issue(KEY, 7, LOT, "price"), sids.issue(KEY, 7, LOT, "price")
    assert a != b and all(is_submission_id(x) and sids.issued_to(KEY, x, 7, LOT, "price") for x in (a, b))


@pytest.mark.parametrize("org, lot, part, key", [
    (8, LOT, "price", KEY),                       # another bidder
    (7, "SFX2026-GC-0001-02", "price", KEY),      # another lot
    (7, LOT, "documents", KEY),                   # another part
    (7, LOT, "price", bytes(32)),                 # another platform key
])
def test_an_id_is_bound_to_bidder_lot_part_and_key(org, lot, part, key):
    assert not sids.issued_to(key, KNOWN, org, lot, part)


def test_every_character_change_is_refused():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, c in enumerate(KNOWN):
        other = alphabet[(alphabet.index(c) + 1) % len(alphabet)]
        assert not sids.issued_to(KEY, KNOWN[:i] + other + KNOWN[i + 1:], 7, LOT, "price"), i


@pytest.mark.parametrize("bad", ["", "A" * 23, "A" * 25, "!" * 24, "é" * 24, KNOWN + "=="])
def test_malformed_ids_are_refused_without_error(bad):
    assert not sids.issued_to(KEY, bad, 7, LOT, "price")
