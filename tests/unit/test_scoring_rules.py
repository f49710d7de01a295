"""Sheet validation and the panel's summary (汇总), as tables of plain values."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from trading.core.errors import InvalidInput
from trading.evaluation.criteria.rules import WeightLimits, parse_criteria, template_body
from trading.evaluation.scoring.rules import (
    BidderIn,
    Decision,
    SheetIn,
    draw_key,
    subtotal,
    summarise,
    validate_sheet,
)

CRIT = parse_criteria({"method": "comprehensive", "price_weight": "40", "tie_break": "technical",
                       "items": [{"code": "T1", "name": "施工组织设计", "group": "technical", "max": "40"},
                                 {"code": "C1", "name": "企业业绩", "group": "commercial", "max": "20"}],
                       "rejections": [{"code": "R1", "name": "资格证书缺失"}, {"code": "R2", "name": "报价超过最高限价"}],
                       "max_price_fen": 1_000_000_00}, WeightLimits(10, 60))
LOW = parse_criteria(template_body("lowest_price"), WeightLimits(10, 60))


def sheet(t1, c1):
    return SheetIn(Decision.SCORE, {"T1": D(t1), "C1": D(c1)})


# --- validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, final, code", [
    ({"scores": {"T1": "41", "C1": "20"}, "comments": {"T1": "x"}}, True, "evaluation.score_out_of_range"),
    ({"scores": {"T1": "-1"}, "comments": {"T1": "x"}}, False, "evaluation.score_out_of_range"),
    ({"scores": {"T1": "40.001"}}, False, "evaluation.score_malformed"),
    ({"scores": {"T1": "abc"}}, False, "evaluation.score_malformed"),
    ({"scores": {"T1": 39.5}}, False, "evaluation.score_malformed"),          # floats are refused
    ({"scores": {"T1": "35", "C1": "20"}}, True, "evaluation.comment_required"),
    ({"scores": {"T1": "35", "C1": "20"}, "comments": {"T1": "   "}}, False, "evaluation.comment_required"),
    ({"scores": {"T1": "40"}}, True, "evaluation.score_missing"),
    ({"scores": {"X9": "1"}}, False, "evaluation.unknown_item"),
    ({"decision": "reject", "reject_code": "R9"}, True, "evaluation.reject_reason"),
    ({"decision": "reject"}, True, "evaluation.reject_reason"),
    ({"decision": "abstain"}, True, "evaluation.decision"),
])
def test_bad_sheets_are_refused(raw, final, code):
    with pytest.raises(InvalidInput) as err:
        validate_sheet(CRIT, raw, final=final)
    assert err.value.code == code


def test_good_sheets():
    s = validate_sheet(CRIT, {"scores": {"T1": "40", "C1": "12.5"}, "comments": {"C1": "业绩少两项"}}, final=True)
    assert s.scores == {"T1": D(40), "C1": D("12.5")} and subtotal(CRIT, s) == D("52.5")
    draft = validate_sheet(CRIT, {"scores": {"T1": "40"}}, final=False)   # a draft may be incomplete
    assert draft.scores == {"T1": D(40)}
    rej = validate_sheet(CRIT, {"decision": "reject", "reject_code": "R1", "scores": {"T1": "99"}}, final=True)
    assert rej.decision == Decision.REJECT and rej.reject_code == "R1" and rej.scores == {}
    resp = validate_sheet(LOW, {"decision": "score"}, final=True)          # lowest price: responsive
    assert resp.decision == Decision.SCORE and resp.scores == {}


# --- summary ----------------------------------------------------------------------------------------
A, B, C, E = 11, 12, 13, 14
BIDDERS = [BidderIn(A, "甲", 800_000_00), BidderIn(B, "乙", 900_000_00), BidderIn(C, "丙", 850_000_00),
           BidderIn(E, "丁", 700_000_00)]
M = (1, 2, 3)


def test_matrix_averages_ranking_and_rejection():
    sheets = {}
    for m in M:
        sheets[(m, A)] = sheet("35", "15")
        sheets[(m, B)] = sheet("40", "20")
        sheets[(m, C)] = sheet("30", "10")
        # 丁 (the cheapest) lacks a qualification: rejected by two of three members
        sheets[(m, E)] = SheetIn(Decision.REJECT, reject_code="R1") if m != 3 else sheet("30", "10")
    s = summarise(CRIT, "LOT-1", BIDDERS, M, sheets, deviation_threshold=D(10), max_candidates=3)
    rows = {r.org_id: r for r in s.rows}
    # 丁 is rejected (majority), so the lowest valid price is 甲's 800,000
    assert rows[E].rejected and rows[E].reject_reasons == ("R1",) and rows[E].rejected_by == (1, 2)
    assert rows[E].rank is None and rows[E].price_score is None
    assert rows[A].price_score == D("40.00")
    assert rows[B].price_score == D("35.56")        # 800/900×40 = 35.555… → 35.56
    assert rows[C].price_score == D("37.65")        # 800/850×40 = 37.647… → 37.65
    assert rows[A].totals == {1: D("90.00"), 2: D("90.00"), 3: D("90.00")}
    assert (rows[B].average, rows[A].average, rows[C].average) == (D("95.56"), D("90.00"), D("77.65"))
    assert [r.org_id for r in s.rows] == [B, A, C, E] and [r.rank for r in s.rows] == [1, 2, 3, None]
    assert s.candidates == (B, A, C)


def test_candidates_are_capped_by_the_setting():
    sheets = {(m, b.org_id): sheet("35", "15") for m in M for b in BIDDERS}
    s = summarise(CRIT, "LOT-1", BIDDERS, M, sheets, deviation_threshold=D(10), max_candidates=2)
    assert len(s.candidates) == 2 and s.candidates[0] == E   # equal technical points: the cheapest wins


def test_price_over_the_ceiling_and_missing_price_are_rejected():
    bidders = [BidderIn(A, "甲", 1_000_000_01), BidderIn(B, "乙", None), BidderIn(C, "丙", 1_000_000_00)]
    sheets = {(m, b.org_id): sheet("40", "20") for m in M for b in bidders}
    s = summarise(CRIT, "LOT-1", bidders, M, sheets, deviation_threshold=D(10), max_candidates=3)
    rows = {r.org_id: r for r in s.rows}
    assert rows[A].reject_reasons == ("over_ceiling",) and rows[B].reject_reasons == ("no_price",)
    assert s.candidates == (C,) and rows[C].price_score == D("40.00")


def test_a_minority_rejection_keeps_the_bidder_and_averages_the_others():
    sheets = {(m, A): sheet("30", "10") for m in M}
    sheets[(1, A)] = SheetIn(Decision.REJECT, reject_code="R1")
    s = summarise(CRIT, "LOT-1", [BidderIn(A, "甲", 500)], M, sheets, deviation_threshold=D(10), max_candidates=3)
    row = s.rows[0]
    assert not row.rejected and row.rejected_by == (1,) and row.totals[1] is None
    assert row.average == D("80.00") and row.rank == 1


def test_deviation_flags_against_the_median():
    sheets = {(1, A): sheet("40", "20"), (2, A): sheet("38", "19"), (3, A): sheet("25", "12")}
    # totals 100, 97, 77: median 97; 3 is 20 away (> 10); 1 is 3 away
    s = summarise(CRIT, "LOT-1", [BidderIn(A, "甲", 500)], M, sheets, deviation_threshold=D(10), max_candidates=3)
    assert s.rows[0].median == D(97) and s.rows[0].flagged == (3,)
    s = summarise(CRIT, "LOT-1", [BidderIn(A, "甲", 500)], M, sheets, deviation_threshold=D(20), max_candidates=3)
    assert s.rows[0].flagged == ()                 # exactly 20 away is not "further than" 20


def test_average_is_exact_then_rounded_half_up():
    sheets = {(1, A): sheet("40", "20"), (2, A): sheet("40", "19.99"), (3, A): sheet("40", "19.99")}
    s = summarise(CRIT, "LOT-1", [BidderIn(A, "甲", 500)], M, sheets, deviation_threshold=D(10), max_candidates=3)
    assert s.rows[0].average == D("99.99")          # 299.98 / 3 = 99.99333…


def _tie_sheets(tech_a, tech_b):
    return {(m, o): sheet(t, "20") for m in M for o, t in ((A, tech_a), (B, tech_b))}


@pytest.mark.parametrize("prices, techs, tie_break, winner", [
    ((500, 600), ("30", "30"), "technical", A),     # equal technical, A cheaper → higher price score
    ((600, 600), ("30", "30"), "technical", None),  # everything equal: the stated draw order
    ((600, 600), ("30", "30"), "draw", None),
])
def test_ties(prices, techs, tie_break, winner):
    crit = parse_criteria({**CRIT.to_body(), "tie_break": tie_break}, WeightLimits(10, 60))
    bidders = [BidderIn(A, "甲", prices[0]), BidderIn(B, "乙", prices[1])]
    s = summarise(crit, "LOT-9", bidders, M, _tie_sheets(*techs), deviation_threshold=D(10), max_candidates=3)
    if winner is None:
        winner = min((A, B), key=lambda o: draw_key("LOT-9", o))
    assert s.candidates[0] == winner


def test_tie_on_average_and_price_goes_to_the_higher_technical_subtotal():
    # same average and price: B has more technical points (40 + 10), A more commercial (30 + 20);
    # the draw order of LOT-1 would put A first, the technical rule puts B first
    bidders = [BidderIn(A, "甲", 500), BidderIn(B, "乙", 500)]
    sheets = {(m, B): sheet("40", "10") for m in M} | {(m, A): sheet("30", "20") for m in M}
    s = summarise(CRIT, "LOT-1", bidders, M, sheets, deviation_threshold=D(10), max_candidates=3)
    assert s.rows[0].average == s.rows[1].average == D(90)
    assert s.candidates == (B, A) and s.rows[0].technical_avg == D(40)
    assert draw_key("LOT-1", A) < draw_key("LOT-1", B)
    tech = parse_criteria({**CRIT.to_body(), "tie_break": "draw"}, WeightLimits(10, 60))
    s2 = summarise(tech, "LOT-1", bidders, M, sheets, deviation_threshold=D(10), max_candidates=3)
    assert s2.candidates[0] == min((A, B), key=lambda o: draw_key("LOT-1", o))


def test_lowest_price_method_ranks_responsive_bidders_by_price():
    sheets = {(m, b.org_id): SheetIn(Decision.SCORE) for m in M for b in BIDDERS}
    sheets[(1, E)] = sheets[(2, E)] = SheetIn(Decision.REJECT, reject_code="R4")
    s = summarise(LOW, "LOT-1", BIDDERS, M, sheets, deviation_threshold=D(10), max_candidates=3)
    assert s.candidates == (A, C, B)                # all responsive, low to high (74号令 Art. 35)
    assert all(r.average is None and r.price_score is None for r in s.rows)
