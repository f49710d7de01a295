"""竞争性谈判 rules, pure: the stage machine over every (state, action) pair, the guards on their
boundaries (response period across the 2026 National Day, round closing instant, team, buyer's share,
minimum of suppliers with the Art. 27 ¶2 exception), and the winner (lowest final price, ties)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline import T0
from trading.core.clock import beijing
from trading.core.errors import Conflict, RuleViolation
from trading.procedures.common.flow import machine_for
from trading.procedures.negotiation import rules
from trading.procedures.negotiation.rules import FinalOffer
from trading.reference.services import builtin_days
from trading.reference.workdays import from_days

CAL = from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])
M = machine_for("negotiation")

ACTIONS = ["close", "start_opening", "open", "fail", "start_negotiation", "close_round", "call_final_offers",
           "close_final_offers", "start_evaluation", "submit_report", "report_negotiation", "reprocure", "publicize", "confirm", "award",
           "sign_contract", "archive", "reannounce", "switch_method", "cancel", "terminate"]
STATES = ["accepting", "closed", "opening", "opened", "negotiating", "final_offers", "evaluating", "reported",
          "confirming", "awarded", "contracted", "archived", "failed", "reannounced", "terminated"]

#: (state, action) → target; every other pair is refused (Conflict flow.not_allowed)
EXPECTED = {
    ("accepting", "close"): "closed", ("accepting", "terminate"): "terminated",
    ("closed", "start_opening"): "opening", ("closed", "fail"): "failed", ("closed", "terminate"): "terminated",
    ("opening", "open"): "opened", ("opening", "fail"): "failed", ("opening", "terminate"): "terminated",
    ("opened", "start_negotiation"): "negotiating", ("opened", "cancel"): "terminated",
    ("negotiating", "close_round"): "negotiating", ("negotiating", "call_final_offers"): "final_offers",
    ("negotiating", "terminate"): "terminated", ("negotiating", "cancel"): "terminated",
    ("final_offers", "close_round"): "final_offers", ("final_offers", "close_final_offers"): "evaluating",
    ("final_offers", "terminate"): "terminated", ("final_offers", "cancel"): "terminated",
    ("evaluating", "submit_report"): "reported", ("evaluating", "cancel"): "terminated",
    ("evaluating", "report_negotiation"): "reported", ("evaluating", "terminate"): "terminated",
    ("reported", "confirm"): "confirming", ("reported", "cancel"): "terminated",
    ("confirming", "award"): "awarded", ("confirming", "cancel"): "terminated",
    ("awarded", "sign_contract"): "contracted", ("awarded", "reprocure"): "failed", ("contracted", "archive"): "archived",
    ("failed", "reannounce"): "reannounced", ("failed", "switch_method"): "terminated",
    ("failed", "cancel"): "terminated",
}

#: facts under which every guard passes
GOOD = {"calendar": CAL, "settings": {}, "docs_from": beijing(2026, 11, 2, 9), "deadline_at": beijing(2026, 11, 9, 9),
        "applicants": 3, "min_valid_offers": 3, "valid_offers": 3, "panel_size": 3, "panel_experts": 2,
        "suppliers": 3, "recommended_buyer": 1, "recommended_expert": 1, "round_closes_at": T0,
        "open_round": False, "final_offers": 3, "responsive": 3, "final_quotes_opened": True, "reason": "理由",
        "approval_ref": "财采〔2026〕1号"}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_action_pair(state, action):
    t = M.find(state, action)
    expected = EXPECTED.get((state, action))
    if expected is None:
        assert t is None
        with pytest.raises(Conflict) as err:
            M.check(state, action, "system", GOOD, T0 + timedelta(days=30))
        assert err.value.code == "flow.not_allowed"
        return
    role = sorted(t.roles)[0]
    facts = {**GOOD, **({"applicants": 1, "valid_offers": 1} if action == "fail" else {})}
    assert M.check(state, action, role, facts, T0 + timedelta(days=30)).target == expected


def test_the_table_has_no_pair_the_test_does_not_know():
    assert {(t.source, t.action) for t in M.transitions} == set(EXPECTED)
    assert M.states <= set(STATES) and M.terminal == {"archived", "terminated", "reannounced"}


# --- guards ---------------------------------------------------------------------------------------

def _refused(action, state, now, **facts):
    with pytest.raises(RuleViolation) as err:
        M.check(state, action, "operator", {**GOOD, **facts}, now)
    return err.value


def test_response_period_three_working_days_across_national_day():
    issue = beijing(2026, 9, 29, 10)  # Tue; 9-30 is a working day, 10-1..7 holidays, 10-8 and 10-9 working days
    v = _refused("close", "accepting", beijing(2026, 10, 20), docs_from=issue, deadline_at=beijing(2026, 10, 8, 23, 59, 59))
    assert v.code == "period.negotiation_response" and v.details["needed"] == 3
    # 00:00 of 10-9 is 24:00 of 10-8: still short by one working day; one second later it holds
    _refused("close", "accepting", beijing(2026, 10, 20), docs_from=issue, deadline_at=beijing(2026, 10, 9))
    assert M.check("accepting", "close", "system", {**GOOD, "docs_from": issue,
                                                   "deadline_at": beijing(2026, 10, 9, 0, 0, 1)},
                   beijing(2026, 10, 20)).target == "closed"
    # the issue date unknown to the caller (stages' own facts): the publication check stands
    assert M.check("accepting", "close", "system", {**GOOD, "docs_from": None}, beijing(2026, 11, 20)).target == "closed"
    assert _refused("close", "accepting", beijing(2026, 10, 20), docs_from=issue, deadline_at=beijing(2026, 10, 9, 12),
                    calendar=None).code == "flow.fact_missing"


def test_round_closes_at_its_instant_not_a_second_before():
    assert _refused("close_round", "negotiating", T0 - timedelta(seconds=1)).code == "negotiation.round_not_due"
    assert M.check("negotiating", "close_round", "operator", GOOD, T0).target == "negotiating"
    assert _refused("close_round", "negotiating", T0, round_closes_at=None).code == "negotiation.no_open_round"


@pytest.mark.parametrize("size,experts,code", [
    (3, 2, None), (5, 4, None), (5, 3, "flow.panel_experts"), (4, 4, "flow.panel_size"), (2, 2, "flow.panel_size"),
    (3, 1, "flow.panel_experts"), (7, 5, None), (7, 4, "flow.panel_experts"),
])
def test_team_at_least_three_odd_experts_two_thirds(size, experts, code):
    facts = {**GOOD, "panel_size": size, "panel_experts": experts}
    if code is None:
        assert M.check("opened", "start_negotiation", "operator", facts, T0).target == "negotiating"
    else:
        assert _refused("start_negotiation", "opened", T0, panel_size=size, panel_experts=experts).code == code


@pytest.mark.parametrize("buyer,expert,ok", [(0, 0, True), (1, 1, True), (2, 2, True), (2, 1, False), (1, 0, False),
                                             (0, 3, True), (3, 4, True), (4, 3, False)])
def test_buyer_share_of_recommended_at_most_half(buyer, expert, ok):
    facts = {**GOOD, "recommended_buyer": buyer, "recommended_expert": expert}
    assert (rules.buyer_share_ok(facts) is None) is ok
    assert (rules.buyer_share_ok({**facts, "settings": {"negotiation.buyer_recommended_max_bp": 10000}}) is None)


@pytest.mark.parametrize("suppliers,failed,approval,ok", [
    (3, False, "", True), (2, False, "", False), (2, True, "", False), (2, False, "财采〔2026〕1号", False),
    (2, True, "财采〔2026〕1号", True), (2, True, "   ", False), (1, True, "财采〔2026〕1号", False),
])
def test_minimum_suppliers_and_the_failed_tender_exception(suppliers, failed, approval, ok):
    facts = {**GOOD, "suppliers": suppliers, "prior_tender_failed": failed, "approval_ref": approval}
    assert (rules.enough_suppliers(facts) is None) is ok
    if not ok:
        assert _refused("call_final_offers", "negotiating", T0, suppliers=suppliers, prior_tender_failed=failed,
                        approval_ref=approval).code == "negotiation.too_few_suppliers"


def test_final_offers_need_no_open_round_and_the_final_opening():
    assert _refused("call_final_offers", "negotiating", T0, open_round=True).code == "negotiation.round_open"
    assert _refused("close_final_offers", "final_offers", T0, final_quotes_opened=False).code == "negotiation.final_not_opened"
    assert _refused("close_final_offers", "final_offers", T0, final_offers=2).code == "negotiation.too_few_final_offers"


def test_round_code_never_looks_like_a_lot_code():
    assert rules.round_code("GC2026-0001-01", 2) == "GC2026-0001-01-R2"


# --- the winner ------------------------------------------------------------------------------------

AT = beijing(2026, 11, 20, 10)


def _o(org, price, seconds=0, code=None, responsive=True):
    return FinalOffer(org, price, AT + timedelta(seconds=seconds), code or f"91510000MA{org:08d}", responsive)


@pytest.mark.parametrize("offers,winner", [
    ([_o(1, 300), _o(2, 200), _o(3, 250)], 2),                                   # lowest price
    ([_o(1, 200, 5), _o(2, 200, 1), _o(3, 250)], 2),                             # tie: earlier final offer
    ([_o(1, 200, 1, "B"), _o(2, 200, 1, "A"), _o(3, 250)], 2),                   # exact tie: smaller credit code
    ([_o(1, 100, responsive=False), _o(2, 200), _o(3, 250)], 2),                 # non-responsive never wins
    ([_o(1, None), _o(2, 210), _o(3, 0)], 2),                                    # no price / zero price excluded
    ([_o(1, 100, responsive=False)], None),
    ([], None),
])
def test_winner_is_the_lowest_final_price_among_responsive(offers, winner):
    w = rules.winner(offers)
    assert (w.bidder_org_id if w else None) == winner


def test_ranking_is_complete_and_stable():
    ranked = rules.rank_final_offers([_o(3, 250), _o(1, 200, 2), _o(2, 200, 1), _o(4, 999, responsive=False)])
    assert [o.bidder_org_id for o in ranked] == [2, 1, 3]
