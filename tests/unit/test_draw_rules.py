"""The pure draw: every avoidance filter (table tests, boundary days), the DRBG known answers,
determinism, unbiased sampling, the snapshot round trip and the verification of a draw."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest

from trading.core.errors import RuleViolation
from trading.evaluation.draw import rules
from trading.evaluation.draw.rules import Candidate, DrawRequest, Exclusion, Relation
from trading.evaluation.draw.verification import check

OWNER, AGENCY, BIDDER, OTHER = 1, 2, 3, 9
EVAL = date(2026, 12, 10)
SEED = bytes(range(32))


def req(**kw) -> DrawRequest:
    base = dict(count=1, evaluation_on=EVAL, avoid_org_ids=frozenset({OWNER, AGENCY, BIDDER}), owner_region_id=50,
                regional_avoidance=False, employment_lookback_years=3, frequency_cap=3)
    return DrawRequest(**{**base, **kw})


def cand(**kw) -> Candidate:
    base = dict(id=7, status="active", employer_org_id=OTHER, region_id=60)
    return Candidate(**{**base, **kw})


# --- avoidance, one row per filter and its boundaries ------------------------------------------------

@pytest.mark.parametrize("candidate, request_kw, expected", [
    (cand(), {}, None),
    (cand(id=7), {"exclude_expert_ids": frozenset({7})}, Exclusion.EXCLUDED),
    (cand(status="suspended"), {}, Exclusion.STATUS),
    (cand(status="blacklisted"), {}, Exclusion.STATUS),
    (cand(employer_org_id=OWNER), {}, Exclusion.EMPLOYER),
    (cand(employer_org_id=AGENCY), {}, Exclusion.EMPLOYER),
    (cand(employer_org_id=BIDDER), {}, Exclusion.EMPLOYER),
    # declared relations with an organisation to avoid, every kind
    (cand(relations=(Relation(BIDDER, "directorship"),)), {}, Exclusion.RELATION),
    (cand(relations=(Relation(BIDDER, "shareholding"),)), {}, Exclusion.RELATION),
    (cand(relations=(Relation(BIDDER, "relative"),)), {}, Exclusion.RELATION),
    (cand(relations=(Relation(OWNER, "other"),)), {}, Exclusion.RELATION),
    (cand(relations=(Relation(OTHER, "directorship"),)), {}, None),   # a relation with nobody in the lot
    # employment: current, ended inside the 3-year look-back (boundary day), ended the day before it
    (cand(relations=(Relation(BIDDER, "employment", date(2015, 1, 1), None),)), {}, Exclusion.RELATION),
    (cand(relations=(Relation(BIDDER, "employment", date(2015, 1, 1), date(2023, 12, 10)),)), {}, Exclusion.RELATION),
    (cand(relations=(Relation(BIDDER, "employment", date(2015, 1, 1), date(2023, 12, 9)),)), {}, None),
    (cand(relations=(Relation(BIDDER, "employment", date(2015, 1, 1), date(2023, 12, 9)),)),
     {"employment_lookback_years": 5}, Exclusion.RELATION),
    # regional avoidance: only when the setting is on
    (cand(region_id=50), {}, None),
    (cand(region_id=50), {"regional_avoidance": True}, Exclusion.REGION),
    (cand(region_id=51), {"regional_avoidance": True}, None),
    (cand(region_id=None), {"regional_avoidance": True}, None),
    # unavailable periods include both ends
    (cand(unavailable=((date(2026, 12, 10), date(2026, 12, 10)),)), {}, Exclusion.UNAVAILABLE),
    (cand(unavailable=((date(2026, 12, 1), date(2026, 12, 9)),)), {}, None),
    (cand(unavailable=((date(2026, 12, 11), date(2026, 12, 20)),)), {}, None),
    # frequency cap: at the cap is out, one below is in, 0 turns the cap off
    (cand(recent_panels=2), {}, None),
    (cand(recent_panels=3), {}, Exclusion.FREQUENCY),
    (cand(recent_panels=30), {"frequency_cap": 0}, None),
])
def test_every_avoidance_filter(candidate, request_kw, expected):
    assert rules.exclusion_of(candidate, req(**request_kw)) == expected


def test_the_first_reason_is_recorded_and_counted():
    pool = [cand(id=1), cand(id=2, status="suspended", employer_org_id=BIDDER), cand(id=3, employer_org_id=OWNER),
            cand(id=4, recent_panels=9)]
    ids, excluded = rules.eligible(pool, req())
    assert ids == [1]
    assert excluded == {2: "status", 3: "employer", 4: "frequency"}
    outcome = rules.draw(pool, req(), SEED)
    assert outcome.excluded_counts() == {"employer": 1, "frequency": 1, "status": 1}


def test_lookback_start_on_29_february():
    assert rules.lookback_start(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert rules.lookback_start(date(2026, 12, 10), 3) == date(2023, 12, 10)


# --- the DRBG and the sampler -----------------------------------------------------------------------

def test_drbg_known_answers():
    words = rules.drbg_words(SEED)
    first = [next(words) for _ in range(3)]
    assert first == [5938399407373526544, 17856453849707654495, 4818548767550039477]
    block0 = hmac.new(SEED, b"trading.expert-draw.v1" + (0).to_bytes(8, "big"), hashlib.sha256).digest()
    assert first[0] == int.from_bytes(block0[:8], "big")     # the documented construction
    assert rules.sample_indexes(SEED, 100, 5) == [44, 18, 83, 86, 30]
    assert rules.sample_indexes(b"\xff" * 32, 20000, 7) == [10198, 3076, 13802, 8582, 15131, 11976, 9399]
    assert rules.sample_indexes(SEED, 3, 3) == [0, 2, 1]


def test_uniform_rejects_the_biased_tail():
    limit_n = 3  # 2^64 mod 3 == 1: the largest word is rejected
    words = iter([(1 << 64) - 1, 5])
    assert rules.uniform(words, limit_n) == 5 % 3


def test_a_seed_must_be_32_bytes():
    with pytest.raises(ValueError):
        next(rules.drbg_words(b"short"))


def test_same_inputs_same_panel_and_another_seed_another_panel():
    pool = [cand(id=i) for i in range(1, 201)]
    a = rules.draw(pool, req(count=5), SEED)
    assert a == rules.draw(list(reversed(pool)), req(count=5), SEED)   # order of the pool does not matter
    assert a.chosen_ids != rules.draw(pool, req(count=5), b"\x01" * 32).chosen_ids
    assert len(set(a.chosen_ids)) == 5


def test_sampling_is_close_to_uniform_over_many_seeds():
    """Chi-square over 12 candidates, 3 drawn, 4,000 seeds derived from a fixed one (deterministic):
    each candidate expects 1,000 draws; 11 degrees of freedom, 0.999 quantile ≈ 31.3."""
    n, k, trials = 12, 3, 4000
    counts = [0] * n
    for t in range(trials):
        seed = hashlib.sha256(b"uniformity" + t.to_bytes(4, "big")).digest()
        for i in rules.sample_indexes(seed, n, k):
            counts[i] += 1
    expected = trials * k / n
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    assert chi2 < 31.3, (chi2, counts)
    # and the first seat alone is uniform too (order of draw is not biased)
    first = [0] * n
    for t in range(trials):
        first[rules.sample_indexes(hashlib.sha256(b"first" + t.to_bytes(4, "big")).digest(), n, k)[0]] += 1
    assert sum((c - trials / n) ** 2 / (trials / n) for c in first) < 31.3


def test_a_conflicted_expert_is_never_drawn_over_many_seeds():
    pool = [cand(id=i) for i in range(1, 11)] + [cand(id=99, relations=(Relation(BIDDER, "shareholding"),)),
                                                   cand(id=98, employer_org_id=BIDDER)]
    for t in range(500):
        seed = hashlib.sha256(t.to_bytes(4, "big")).digest()
        chosen = rules.draw(pool, req(count=10), seed).chosen_ids
        assert 99 not in chosen and 98 not in chosen and len(chosen) == 10


def test_too_few_eligible_is_a_rule_violation():
    with pytest.raises(RuleViolation) as exc:
        rules.draw([cand(id=1), cand(id=2, status="suspended")], req(count=2), SEED)
    assert exc.value.code == "draw.too_few_experts" and exc.value.details == {"needed": 2, "available": 1}


def test_plain_sample_uses_the_same_sampler():
    assert rules.plain_sample([5, 3, 9, 1], 2, SEED) == [[1, 3, 5, 9][i] for i in rules.sample_indexes(SEED, 4, 2)]


# --- snapshot and verification ------------------------------------------------------------------------

POOL = [cand(id=3, relations=(Relation(BIDDER, "employment", date(2010, 1, 1), date(2024, 6, 30)),)),
        cand(id=1, unavailable=((date(2026, 12, 1), date(2026, 12, 31)),)), cand(id=2), cand(id=4), cand(id=5)]


def test_snapshot_round_trip_and_digest_ignores_input_order():
    data = rules.snapshot_bytes(POOL)
    assert rules.snapshot_bytes(list(reversed(POOL))) == data
    assert rules.snapshot_from_bytes(data) == sorted(POOL, key=lambda c: c.id)
    assert rules.request_from_record(rules.request_record(req(count=2))) == req(count=2)


def _entries(seed: bytes, count: int = 2):
    r = req(count=count)
    outcome = rules.draw(POOL, r, seed)
    snap = rules.snapshot_bytes(POOL)
    request_entry = {"seq": 10, "action": "expert_draw.requested",
                     "payload": {"request": rules.request_record(r), "seed_sha256": hashlib.sha256(seed).hexdigest(),
                                 "snapshot_sha256": rules.sha256_hex(snap),
                                 "eligible_sha256": rules.ids_sha256(outcome.eligible_ids)}}
    run_entry = {"seq": 11, "action": "expert_draw.run",
                 "payload": {"seed": seed.hex(), "snapshot_sha256": rules.sha256_hex(snap),
                             "eligible_count": len(outcome.eligible_ids), "result": list(outcome.chosen_ids)}}
    return request_entry, run_entry, snap


def test_verification_accepts_an_honest_draw():
    request_entry, run_entry, snap = _entries(SEED)
    v = check(1, request_entry, run_entry, snap)
    assert v.ok and v.recomputed == v.recorded and set(v.checks) == {"order", "commitment", "snapshot", "result"}


@pytest.mark.parametrize("tamper, failed", [
    (lambda q, r, s: r["payload"].update(seed=("00" * 32)), {"commitment", "result"}),
    (lambda q, r, s: r["payload"].update(result=list(reversed(r["payload"]["result"]))), {"result"}),
    (lambda q, r, s: r["payload"].update(result=[2, 99]), {"result"}),
    (lambda q, r, s: q["payload"].update(seed_sha256="ab" * 32), {"commitment"}),
    (lambda q, r, s: q["payload"]["request"].update(avoid_org_ids=[OWNER]), {"result"}),
    (lambda q, r, s: r.update(seq=9), {"order"}),
    (lambda q, r, s: q["payload"].update(eligible_sha256="cd" * 32), {"result"}),
    (lambda q, r, s: q["payload"].update(snapshot_sha256="ef" * 32), {"snapshot"}),
])
def test_verification_reports_any_tampering(tamper, failed):
    request_entry, run_entry, snap = _entries(SEED)
    tamper(request_entry, run_entry, snap)
    v = check(1, request_entry, run_entry, snap)
    assert not v.ok
    assert {name for name, ok in v.checks.items() if not ok} >= failed


def test_verification_reports_a_changed_snapshot():
    request_entry, run_entry, _ = _entries(SEED)
    changed = rules.snapshot_bytes([*POOL[:-1], cand(id=5, status="suspended")])
    v = check(1, request_entry, run_entry, changed)
    assert not v.ok and v.checks["snapshot"] is False


def test_snapshot_bytes_are_plain_compact_json_of_the_records():
    import json
    pool = [*POOL, cand(id=8, region_id=None, status="blacklisted", recent_panels=4)]
    expected = json.dumps([rules.candidate_record(c) for c in sorted(pool, key=lambda c: c.id)],
                          separators=(",", ":"), ensure_ascii=True).encode()
    assert rules.snapshot_bytes(pool) == expected
