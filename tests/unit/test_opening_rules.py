"""Opening rules, pure: custodian choice, the strict price sheet, failure categories and Art. 31
consequences, valid offers, next steps after 流标, the response window."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest

from tests.timeline import OPENING
from trading.procedures.common.opening import rules
from trading.procedures.common.opening.rules import (
    Candidate,
    CustodianShortage,
    PriceSheetError,
    pick_custodians,
)
from trading.sealing.failures import Failure


def _pool(sizes: list[int]) -> list[Candidate]:
    out, uid = [], 0
    for org, size in enumerate(sizes, start=1):
        for _ in range(size):
            uid += 1
            out.append(Candidate(user_id=uid, org_id=org, key_id=100 + uid))
    return out


@pytest.mark.parametrize("sizes, ok", [
    ([2, 2, 1], True),           # exactly 5 with at most 2 per institution
    ([1, 1, 1, 1, 1], True),
    ([5, 5], False),              # two institutions only
    ([5, 1, 1], False),           # capacity 2 + 1 + 1 = 4 < 5
    ([3, 3, 3], True),
    ([], False),
    ([1, 1, 1], False),           # three people for five shares
])
def test_pick_custodians_feasibility(sizes, ok):
    pool = _pool(sizes)
    if ok:
        chosen = pick_custodians(pool, n=5, k=3, institutions=3)
        assert len({c.user_id for c in chosen}) == 5
        per_org = Counter(c.org_id for c in chosen)
        assert len(per_org) >= 3 and max(per_org.values()) <= 2
    else:
        with pytest.raises(CustodianShortage) as err:
            pick_custodians(pool, n=5, k=3, institutions=3)
        assert err.value.missing["available_custodians"] == sum(sizes)
        assert err.value.missing["missing_custodians"] or err.value.missing["missing_institutions"]


def test_pick_custodians_is_random_and_covers_the_pool():
    pool = _pool([4, 4, 4, 4])
    seen = Counter()
    rng = random.Random(7)
    for _ in range(200):
        seen.update(c.user_id for c in pick_custodians(pool, n=5, k=3, institutions=3, rng=rng))
    assert set(seen) == {c.user_id for c in pool}


def test_pick_custodians_ignores_duplicate_users():
    pool = _pool([1, 1, 1]) + _pool([1, 1, 1])  # the same three user ids twice
    with pytest.raises(CustodianShortage):
        pick_custodians(pool, n=5, k=3, institutions=3)


# --- the price sheet --------------------------------------------------------------------------------

GOOD = b'{"v":1,"price_fen":123456,"duration_days":90,"quality":"\xe5\x90\x88\xe6\xa0\xbc","remarks":""}'


def test_a_good_sheet():
    sheet = rules.parse_price_sheet(GOOD)
    assert (sheet.price_fen, sheet.duration_days, sheet.quality, sheet.remarks) == (123456, 90, "合格", "")
    assert rules.parse_price_sheet(GOOD.replace(b'"duration_days":90', b'"duration_days":null')).duration_days is None


@pytest.mark.parametrize("raw, code", [
    (b"\xff\xfe", "price_sheet.encoding"),
    (b"not json", "price_sheet.json"),
    (b"[1]", "price_sheet.json"),
    (b'{"v":1,"v":1,"price_fen":1,"duration_days":null,"quality":"","remarks":""}', "price_sheet.json"),
    (b'{"v":1,"price_fen":NaN,"duration_days":null,"quality":"","remarks":""}', "price_sheet.json"),
    (b'{"v":1,"price_fen":1,"duration_days":null,"quality":""}', "price_sheet.keys"),
    (b'{"v":1,"price_fen":1,"duration_days":null,"quality":"","remarks":"","x":1}', "price_sheet.keys"),
    (b'{"v":2,"price_fen":1,"duration_days":null,"quality":"","remarks":""}', "price_sheet.version"),
    (b'{"v":true,"price_fen":1,"duration_days":null,"quality":"","remarks":""}', "price_sheet.version"),
    (b'{"v":1.0,"price_fen":1,"duration_days":null,"quality":"","remarks":""}', "price_sheet.version"),
    (b'{"v":1,"price_fen":0,"duration_days":null,"quality":"","remarks":""}', "price_sheet.price"),
    (b'{"v":1,"price_fen":-5,"duration_days":null,"quality":"","remarks":""}', "price_sheet.price"),
    (b'{"v":1,"price_fen":1.0,"duration_days":null,"quality":"","remarks":""}', "price_sheet.price"),
    (b'{"v":1,"price_fen":"100","duration_days":null,"quality":"","remarks":""}', "price_sheet.price"),
    (b'{"v":1,"price_fen":true,"duration_days":null,"quality":"","remarks":""}', "price_sheet.price"),
    (b'{"v":1,"price_fen":10000000000000001,"duration_days":null,"quality":"","remarks":""}', "price_sheet.price"),
    (b'{"v":1,"price_fen":1,"duration_days":0,"quality":"","remarks":""}', "price_sheet.duration"),
    (b'{"v":1,"price_fen":1,"duration_days":"90","quality":"","remarks":""}', "price_sheet.duration"),
    (b'{"v":1,"price_fen":1,"duration_days":36501,"quality":"","remarks":""}', "price_sheet.duration"),
    (b'{"v":1,"price_fen":1,"duration_days":null,"quality":null,"remarks":""}', "price_sheet.quality"),
    (b'{"v":1,"price_fen":1,"duration_days":null,"quality":"","remarks":5}', "price_sheet.remarks"),
    (b" " * 20000, "price_sheet.too_large"),
])
def test_bad_sheets(raw, code):
    with pytest.raises(PriceSheetError) as err:
        rules.parse_price_sheet(raw)
    assert err.value.code == code


# --- failures ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, cause, consequence", [
    (Failure.WRAP.value, "bidder_cert", "revocation"),
    (Failure.CHUNK_AUTH.value, "bidder_cert", "revocation"),
    ("price_sheet.json", "bidder_cert", "revocation"),
    (Failure.PAYLOAD_DIGEST.value, "platform", "withdrawal"),
    (Failure.BAD_SIGNATURE.value, "platform", "withdrawal"),
    (Failure.KID_MISMATCH.value, "platform", "withdrawal"),
    ("platform.blob_missing", "platform", "withdrawal"),
])
def test_cause_and_consequence(kind, cause, consequence):
    assert rules.cause_of(kind) == cause
    assert rules.consequence_of(rules.cause_of(kind)) == consequence


@pytest.mark.parametrize("cause, consequence", [
    ("bidder_cert", "revocation"), ("bidder_network", "revocation"),
    ("platform", "withdrawal"), ("third_party_ca", "withdrawal"),
])
def test_art31_consequence_by_category(cause, consequence):
    assert rules.consequence_of(cause) == consequence


@pytest.mark.parametrize("parts, valid", [
    ({"price": "opened"}, True),
    ({"price": "opened", "documents": "opened"}, True),
    ({"price": "opened", "documents": "failed"}, False),
    ({"price": "failed", "documents": "opened"}, False),
    ({"documents": "opened"}, False),
    ({}, False),
])
def test_valid_offer(parts, valid):
    assert rules.is_valid_offer(parts) is valid


@pytest.mark.parametrize("procedure, codes", [
    ("tender", ["re_announce", "no_further_tender"]),
    ("gp_tender", ["re_announce", "switch_method"]),
    ("negotiation", ["re_announce", "switch_method"]),
    ("land_tender", ["re_announce"]),
    ("unknown", ["re_announce"]),
])
def test_next_steps(procedure, codes):
    assert [s.code for s in rules.next_steps(procedure)] == codes


def test_response_window():
    until = OPENING + timedelta(minutes=30)
    assert rules.may_respond(until - timedelta(microseconds=1), until)
    assert not rules.may_respond(until, until)


def test_record_digest_is_canonical():
    assert rules.record_digest({"b": 1, "a": "开"}) == rules.record_digest({"a": "开", "b": 1})
    assert rules.canonical_json({"b": 1, "a": "开"}) == '{"a":"开","b":1}'.encode()
