"""招标出让 (land / mining rights by tender) as tables of plain values: the stage machine (every
(state, action) pair, written out here independently of the code), the minimum of bidders and its
setting, the panel (≥ 5, odd), the highest-price ranking with its ties and minimum, the sale's
comprehensive price score, the allowed methods, the deposit floor without a cap, the notice periods
(land 20 calendar days, mining 20 working days), the award rule (rank 1, no publicity) and the
result's due date."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from trading.core.clock import beijing, to_beijing
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from trading.evaluation.criteria.rules import (
    Method,
    WeightLimits,
    check_method,
    methods_for,
    parse_criteria,
    price_score_high,
    template_body,
)
from trading.evaluation.scoring.rules import BidderIn, Decision, SheetIn, summarise
from trading.procedures.common.awards import rules as awards
from trading.procedures.common.deposits.rules import DepositRefused, Regime, check_deposit, refund_rule
from trading.procedures.common.flow import machine_for
from trading.procedures.common.lots import LotStatus
from trading.procedures.common.periods import check_periods, end_day
from trading.procedures.common.rules import procedure_family, required_dates
from trading.procedures.land_tender import rules as land  # noqa: F401  (registers)
from trading.reference.services import builtin_days
from trading.reference.workdays import from_days

CAL = from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])
NOW = beijing(2026, 8, 4, 9, 0)
WAN = 1_000_000

RUNNERS = {"owner", "agency", "operator", "system"}
HOST = {"operator", "system"}
SYSTEM = {"system"}
DECIDERS = {"owner", "agency", "operator"}
EVALUATORS = RUNNERS | {"expert"}
ROLES = ("owner", "agency", "operator", "bidder", "expert", "supervisor", "admin", "system")
ACTIONS = ("close", "start_opening", "open", "fail", "start_evaluation", "submit_report", "publicize", "confirm",
           "award", "sign_contract", "archive", "reannounce", "switch_method", "cancel", "terminate", "reprocure")

EXPECTED = {
    ("accepting", "close"): ("closed", HOST),
    ("closed", "start_opening"): ("opening", HOST),
    ("closed", "fail"): ("failed", HOST),
    ("opening", "open"): ("opened", SYSTEM),
    ("opening", "fail"): ("failed", SYSTEM),
    ("accepting", "terminate"): ("terminated", RUNNERS),
    ("closed", "terminate"): ("terminated", RUNNERS),
    ("opening", "terminate"): ("terminated", RUNNERS),
    ("opened", "start_evaluation"): ("evaluating", RUNNERS),
    ("evaluating", "submit_report"): ("reported", EVALUATORS),
    ("evaluating", "fail"): ("failed", EVALUATORS),
    ("reported", "award"): ("awarded", RUNNERS),          # no publicity, no confirmation
    ("awarded", "sign_contract"): ("contracted", RUNNERS),
    ("awarded", "reprocure"): ("failed", {"owner", "agency"}),
    ("contracted", "archive"): ("archived", HOST),
    ("failed", "reannounce"): ("reannounced", RUNNERS),
    ("failed", "switch_method"): ("terminated", DECIDERS),
    ("failed", "cancel"): ("terminated", DECIDERS),
    ("opened", "cancel"): ("terminated", DECIDERS),
    ("evaluating", "cancel"): ("terminated", DECIDERS),
    ("reported", "cancel"): ("terminated", DECIDERS),
}
#: facts under which every guard of the table passes
OK_FACTS = {"deadline_at": NOW - timedelta(hours=1), "applicants": 3, "valid_offers": 3, "min_valid_offers": 3,
            "panel_size": 5, "panel_experts": 5, "qualified": 0, "reason": "理由", "approval_ref": "批〔2026〕1号",
            "settings": {}, "calendar": CAL}


def facts_for(action: str) -> dict:
    """A 流标 needs too few participants; every other step enough."""
    return {**OK_FACTS, "applicants": 0, "valid_offers": 0} if action == "fail" else OK_FACTS


@pytest.mark.parametrize("procedure", ["land_tender", "mining_tender"])
def test_the_machine_is_exactly_the_table(procedure):
    m = machine_for(procedure)
    assert m.initial == "accepting" and m.terminal == {"archived", "terminated", "reannounced"}
    listed = {(t.source, t.action): (t.target, set(t.roles)) for t in m.transitions}
    assert listed == EXPECTED
    for state in LotStatus:
        for action in ACTIONS:
            for role in ROLES:
                want = EXPECTED.get((state.value, action))
                if want is None:
                    with pytest.raises(Conflict):
                        m.check(state, action, role, facts_for(action), NOW)
                elif role not in want[1]:
                    with pytest.raises(Forbidden):
                        m.check(state, action, role, facts_for(action), NOW)
                else:
                    assert m.check(state, action, role, facts_for(action), NOW).target == want[0]


@pytest.mark.parametrize("applicants, settings, opens", [
    (3, {}, True), (2, {}, False), (0, {}, False), (5, {}, True),
    (2, {"land_tender.min_bidders": 2}, True), (3, {"land_tender.min_bidders": 4}, False),
])
def test_fewer_bidders_than_the_setting_fail_the_tender_instead_of_opening(applicants, settings, opens):
    m = machine_for("land_tender")
    facts = {**OK_FACTS, "applicants": applicants, "settings": settings}
    if opens:
        assert m.check("closed", "start_opening", "operator", facts, NOW).target == "opening"
        with pytest.raises(RuleViolation) as err:
            m.check("closed", "fail", "operator", facts, NOW)
        assert err.value.code == "flow.enough_participants"
    else:
        with pytest.raises(RuleViolation) as err:
            m.check("closed", "start_opening", "operator", facts, NOW)
        assert err.value.code == "flow.too_few_bidders"
        assert m.check("closed", "fail", "operator", facts, NOW).target == "failed"


@pytest.mark.parametrize("size, experts, code", [
    (5, 5, None), (7, 5, None), (5, 4, None), (3, 3, "flow.panel_size"), (4, 4, "flow.panel_size"),
    (6, 6, "flow.panel_size"), (5, 3, "flow.panel_experts"),
])
def test_the_panel_has_at_least_five_members_an_odd_number_two_thirds_experts(size, experts, code):
    m = machine_for("mining_tender")
    facts = {**OK_FACTS, "panel_size": size, "panel_experts": experts}
    if code is None:
        assert m.check("opened", "start_evaluation", "operator", facts, NOW).target == "evaluating"
    else:
        with pytest.raises(RuleViolation) as err:
            m.check("opened", "start_evaluation", "operator", facts, NOW)
        assert err.value.code == code


# --- the highest-price method -------------------------------------------------------------------------
HIGH = parse_criteria({**template_body("highest_price"), "min_price_fen": 1000 * WAN}, WeightLimits(10, 60))
AT = beijing(2026, 8, 20, 9, 0)


def _ranked(offers, criteria=HIGH, members=(1, 2, 3), rejected=()):
    bidders = [BidderIn(org, f"单位{org}", price, AT + timedelta(minutes=minutes) if minutes is not None else None)
               for org, price, minutes in offers]
    sheets = {(m, b.org_id): SheetIn(Decision.REJECT, reject_code="R1") if b.org_id in rejected else SheetIn(Decision.SCORE)
              for m in members for b in bidders}
    s = summarise(criteria, "TD-1-01", bidders, list(members), sheets, deviation_threshold=D(10), max_candidates=3,
                  sale=True)
    return [r.org_id for r in s.rows if r.rank is not None], {r.org_id: r.reject_reasons for r in s.rows if r.rejected}


@pytest.mark.parametrize("offers, rejected, order, out", [
    # the highest price wins
    ([(1, 1100 * WAN, 1), (2, 1300 * WAN, 2), (3, 1200 * WAN, 3)], (), [2, 3, 1], {}),
    # equal prices: the earlier submission first, whatever the org ids
    ([(1, 1200 * WAN, 9), (2, 1200 * WAN, 3), (3, 1100 * WAN, 1)], (), [2, 1, 3], {}),
    ([(7, 1200 * WAN, 1), (5, 1200 * WAN, 2)], (), [7, 5], {}),
    # below the starting price: rejected, whatever it offers
    ([(1, 999 * WAN, 1), (2, 1000 * WAN, 2)], (), [2], {1: ("below_minimum",)}),
    # the highest offer does not meet the requirements (the panel's majority rejects it): the next wins
    ([(1, 1500 * WAN, 1), (2, 1200 * WAN, 2)], (1,), [2], {1: ("R1",)}),
    # no valid price opened
    ([(1, None, None), (2, 1001 * WAN, 2)], (), [2], {1: ("no_price",)}),
])
def test_highest_price_ranking(offers, rejected, order, out):
    assert _ranked(offers, rejected=rejected) == (order, out)


def test_highest_price_method_rules():
    assert HIGH.method == Method.HIGHEST_PRICE and not HIGH.scored and HIGH.min_price_fen == 1000 * WAN
    assert HIGH.to_body()["min_price_fen"] == 1000 * WAN
    for bad, code in [({"items": [{"code": "T1", "name": "x", "group": "technical", "max": "10"}]},
                       "criteria.items_not_allowed"),
                      ({"max_price_fen": 5}, "criteria.max_price_not_allowed"),
                      ({"min_price_fen": 0}, "criteria.min_price"), ({"min_price_fen": "100"}, "criteria.min_price")]:
        with pytest.raises(InvalidInput) as err:
            parse_criteria({**template_body("highest_price"), **bad}, WeightLimits(10, 60))
        assert err.value.code == code
    # the other methods' bodies keep their form (no min_price_fen key)
    assert "min_price_fen" not in parse_criteria(template_body(), WeightLimits(10, 60)).to_body()


@pytest.mark.parametrize("procedure, method, ok", [
    ("land_tender", "highest_price", True), ("land_tender", "comprehensive", True), ("land_tender", "lowest_price", False),
    ("mining_tender", "highest_price", True), ("mining_tender", "lowest_price", False),
    ("selection", "highest_price", False), ("selection", "comprehensive", True), ("selection", "lowest_price", True),
    ("inquiry", "highest_price", False), ("negotiation", "comprehensive", False),
])
def test_methods_by_procedure(procedure, method, ok):
    criteria = parse_criteria(template_body(method), WeightLimits(10, 60))
    assert (method in methods_for(procedure)) == ok
    if ok:
        check_method(criteria, procedure)
    else:
        with pytest.raises(InvalidInput) as err:
            check_method(criteria, procedure)
        assert err.value.code == "criteria.method_not_allowed"


@pytest.mark.parametrize("highest, offer, weight, score", [
    (1000, 1000, "40", "40.00"), (1200, 1000, "40", "33.33"), (300, 200, "30", "20.00"), (3, 2, "10", "6.67"),
])
def test_a_sales_price_score_favours_the_higher_offer(highest, offer, weight, score):
    assert price_score_high(highest, offer, D(weight)) == D(score)
    with pytest.raises(ValueError):
        price_score_high(offer - 1, offer, D(weight))


def test_comprehensive_sale_ranks_the_higher_price_first_on_equal_scores():
    crit = parse_criteria({"method": "comprehensive", "price_weight": "40", "tie_break": "draw",
                           "items": [{"code": "T1", "name": "开发建设方案", "group": "technical", "max": "60"}],
                           "rejections": [{"code": "R1", "name": "资格不符"}]}, WeightLimits(10, 60))
    bidders = [BidderIn(1, "甲", 1000 * WAN), BidderIn(2, "乙", 1250 * WAN)]
    sheets = {(m, 1): SheetIn(Decision.SCORE, {"T1": D("60")}) for m in (1, 2, 3)}
    sheets |= {(m, 2): SheetIn(Decision.SCORE, {"T1": D("50")}, {"T1": "方案一般"}) for m in (1, 2, 3)}
    s = summarise(crit, "TD-1-01", bidders, [1, 2, 3], sheets, deviation_threshold=D(10), max_candidates=3, sale=True)
    rows = {r.org_id: r for r in s.rows}
    assert rows[2].price_score == D("40.00") and rows[1].price_score == D("32.00")
    assert (rows[1].average, rows[2].average) == (D("92.00"), D("90.00")) and s.candidates == (1, 2)
    # the same sheets for a purchase: the lower price scores the full weight
    buy = summarise(crit, "TD-1-01", bidders, [1, 2, 3], sheets, deviation_threshold=D(10), max_candidates=3)
    assert {r.org_id: r.price_score for r in buy.rows} == {1: D("40.00"), 2: D("32.00")}


# --- deposits, periods, the award -----------------------------------------------------------------
@pytest.mark.parametrize("procedure, base, deposit, ok", [
    ("land_tender", 1000 * WAN, 200 * WAN, True),          # exactly 20 %
    ("land_tender", 1000 * WAN, 199 * WAN, False),
    ("land_tender", 1000 * WAN, 0, False),                 # no deposit is below the floor too
    ("land_tender", 1000 * WAN, 1000 * WAN, True),         # no cap
    ("mining_tender", 333, 67, True),                      # 20 % of 333 fen is 66.6: rounded up to 67
    ("mining_tender", 333, 66, False),
    ("selection", 1000 * WAN, 21 * WAN, False),            # procurement keeps its 2 % cap
])
def test_deposit_floor_and_no_cap(procedure, base, deposit, ok):
    if ok:
        limits = check_deposit(procedure, "land", base, deposit, {})
        assert limits.regime == Regime.LAND and limits.cap is None
    else:
        with pytest.raises(DepositRefused):
            check_deposit(procedure, "land", base, deposit, {})


def test_refunds_losers_within_five_working_days_of_the_result_never_on_the_contract():
    assert refund_rule("land_tender", "result", {}).days == 5 and refund_rule("land_tender", "result", {}).unit == "WD"
    assert refund_rule("mining_tender", "contract", {}) is None
    assert refund_rule("land_tender", "termination", {}).days == 5


@pytest.mark.parametrize("procedure, days, codes", [
    ("land_tender", 20, []), ("land_tender", 19, ["period.land_notice"]),
    # 2026-08-04 + 28 calendar days = 20 working days (Tuesday to Tuesday, four weekends)
    ("mining_tender", 28, []), ("mining_tender", 27, ["period.mining_notice"]),
    ("mining_tender", 21, ["period.mining_notice"]),
])
def test_notice_periods(procedure, days, codes):
    family = procedure_family(procedure)
    assert required_dates(family, "land_grant") == ("deadline_at", "opening_at")
    at = NOW + timedelta(days=days)
    found = [v.code for v in check_periods(family, "land_grant",
                                           {"published_at": NOW, "deadline_at": at, "opening_at": at}, CAL, {})]
    assert found == codes


@pytest.mark.parametrize("rank, passed, chosen, problems", [
    (1, (), 1, []),
    (2, (), 2, ["award.rank_one_required"]),
    (2, (1,), 2, []),
])
def test_award_goes_to_rank_one_without_publicity(rank, passed, chosen, problems):
    cands = tuple(awards.CandidateFacts(org, org, "waived" if org in passed else None) for org in (1, 2, 3))
    facts = awards.AwardFacts(regime=awards.regime_of("land_tender"), candidates=cands, state_funded=False)
    assert facts.regime == awards.Regime.LAND and awards.regime_of("mining_tender") == awards.Regime.LAND
    assert [p.code for p in awards.award_problems(facts, chosen, NOW)] == problems


def test_the_result_is_due_ten_working_days_after_the_report():
    due = awards.land_result_due(CAL, beijing(2026, 9, 28, 15, 0), {})
    # Mon 28 Sep → 29, 30 Sep, (1–7 Oct off) 8, 9, the make-up Saturday 10, 12, 13, 14, 15, 16 Oct
    assert end_day(due).isoformat() == "2026-10-16" and to_beijing(due).time().hour == 0   # 24:00 of the 16th
    assert awards.land_result_due(CAL, beijing(2026, 8, 4, 9, 0), {"award.land_result_wd": 5}) == \
        awards.land_result_due(CAL, beijing(2026, 8, 4, 9, 0), {}) - timedelta(days=7)



@pytest.mark.parametrize("regime, deal, settings, due", [
    # 招标出让: the grant contract within 10 WD of the deal (国土资发〔2010〕34号), 24:00 of the last day
    (awards.Regime.LAND, beijing(2026, 11, 27, 9, 0), {}, beijing(2026, 12, 12)),        # Fri → Fri 11 Dec
    (awards.Regime.LAND, beijing(2026, 9, 28, 15, 0), {}, beijing(2026, 10, 17)),        # across 国庆 → 16 Oct
    (awards.Regime.LAND, beijing(2026, 11, 27, 9, 0), {"award.land_contract_wd": 5}, beijing(2026, 12, 5)),
    # the procurement 30-day clock is not used by land (and land's setting not by procurement)
    (awards.Regime.LAND, beijing(2026, 11, 27, 9, 0), {"award.contract_cd": 3}, beijing(2026, 12, 12)),
    (awards.Regime.TENDER_LAW, beijing(2026, 11, 27, 9, 0), {"award.land_contract_wd": 5}, beijing(2026, 12, 29)),
    (awards.Regime.GP, beijing(2026, 11, 27, 9, 0), {}, beijing(2026, 12, 29)),
])
def test_the_grant_contract_is_due_ten_working_days_after_the_deal(regime, deal, settings, due):
    assert awards.contract_due(CAL, deal, settings, regime) == due

# --- the parcel ------------------------------------------------------------------------------------------
LAND_PARCEL = {"subject_ref": "城区2026-21号", "location": "城区滨江路北侧", "area_m2": "12,345.67",
               "land_use": "城镇住宅用地", "term_years": "70", "plot_ratio": "1.0–2.5", "mineral": ""}


@pytest.mark.parametrize("procedure, change, field", [
    ("land_tender", {}, None),
    ("land_tender", {"area_m2": "0"}, "area_m2"),
    ("land_tender", {"area_m2": "12.345"}, "area_m2"),
    ("land_tender", {"area_m2": "abc"}, "area_m2"),
    ("land_tender", {"area_m2": ""}, "area_m2"),              # a land parcel needs its area
    ("land_tender", {"area_m2": 12.5}, "area_m2"),            # floats are refused
    ("land_tender", {"term_years": "71"}, "term_years"),
    ("land_tender", {"term_years": "0"}, "term_years"),
    ("land_tender", {"term_years": "4.5"}, "term_years"),
    ("land_tender", {"subject_ref": " "}, "subject_ref"),
    ("land_tender", {"location": ""}, "location"),
    ("land_tender", {"plot_ratio": "x" * 41}, "plot_ratio"),
    ("land_tender", {"land_use": 5}, "land_use"),
    ("mining_tender", {"area_m2": "", "location": "", "mineral": "建筑用砂岩"}, None),
    ("mining_tender", {"mineral": ""}, "mineral"),
])
def test_parcel_validation(procedure, change, field):
    raw = {**LAND_PARCEL, **change}
    if field is None:
        p = land.parse_parcel(raw, procedure)
        assert p.subject_ref == raw["subject_ref"].strip()
        if procedure == "land_tender":
            assert (p.area_m2, p.term_years, land.mu_of(p.area_m2)) == (D("12345.67"), 70, D("18.52"))
    else:
        with pytest.raises(InvalidInput) as err:
            land.parse_parcel(raw, procedure)
        assert (err.value.code, err.value.field) == (f"parcel.{field}", field)
