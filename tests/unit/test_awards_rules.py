"""Award rules (procedures/common/awards/rules.py) at their boundary instants: the candidate
publicity (one second before and at its end), the objection and challenge windows, the buyer's
5-working-day confirmation across the 2026 National Day holiday with silence → rank 1, who may be
awarded (rank 1 of a state-funded lot unless a reason is recorded), the contract light."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trading.core.clock import beijing
from trading.procedures.common.awards import rules
from trading.procedures.common.awards.rules import (
    AwardFacts,
    CandidateFacts,
    CandidateIn,
    Confirmation,
    ObjectionKind,
    Regime,
)
from trading.reference.services import builtin_days
from trading.reference.workdays import CalendarYearMissing, from_days

CAL = from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])
S: dict[str, int] = {}  # catalogue defaults
SEC = timedelta(seconds=1)


# --- candidates ------------------------------------------------------------------------------------
def _codes(cands, regime=Regime.TENDER_LAW, n=3):
    return [p.code for p in rules.candidate_problems(cands, n, regime)]


def test_candidate_lists_valid_and_invalid():
    ok = [CandidateIn(11, 1, 100_00), CandidateIn(12, 2, 90_00), CandidateIn(13, 3, 120_00)]
    assert _codes(ok) == []
    assert _codes([]) == ["award.candidate_count"]
    assert _codes(ok + [CandidateIn(14, 4, 1)]) == ["award.candidate_count"]
    assert _codes([CandidateIn(11, 1, 5), CandidateIn(12, 3, 6)]) == ["award.candidate_ranks"]
    assert _codes([CandidateIn(11, 1, 5), CandidateIn(11, 2, 6)]) == ["award.candidate_duplicate"]
    assert _codes([CandidateIn(11, 1, 0)]) == ["award.candidate_price"]
    assert _codes([CandidateIn(11, 1, 1.5)]) == ["award.candidate_price"]
    # GP: ranked by price from low to high (74号令 35, 48); 比选 ranks by score, any price order
    assert _codes(ok, Regime.GP) == ["award.candidate_price_order"]
    assert _codes([CandidateIn(11, 1, 90_00), CandidateIn(12, 2, 90_00), CandidateIn(13, 3, 91_00)], Regime.GP) == []


def test_regime_of_procedures():
    assert rules.regime_of("selection") == Regime.TENDER_LAW
    assert rules.regime_of("tender") == Regime.TENDER_LAW
    assert rules.regime_of("negotiation") == Regime.GP
    assert rules.regime_of("inquiry") == Regime.GP


# --- publicity ---------------------------------------------------------------------------------------
def test_publicity_three_calendar_days_start_day_not_counted():
    published = beijing(2026, 11, 23, 10, 0)  # Monday
    until = rules.publicity_until(CAL, published, S)
    assert until == beijing(2026, 11, 27)     # Thursday 26th, 24:00
    assert rules.in_window(until - SEC, published, until)
    assert not rules.in_window(until, published, until)
    assert rules.in_window(published, published, until)
    assert not rules.in_window(published - SEC, published, until)


def test_publicity_ending_on_a_rest_day_runs_on():
    published = beijing(2026, 9, 28, 16, 0)   # 3 CD → 10-01, National Day: runs on to Thu 10-08, 24:00
    assert rules.publicity_until(CAL, published, S) == beijing(2026, 10, 9)


def test_publish_candidates_within_three_days_of_the_report():
    assert rules.publish_candidates_due(CAL, beijing(2026, 11, 23, 18, 0), S) == beijing(2026, 11, 27)


# --- objections --------------------------------------------------------------------------------------
def test_objection_window_edges():
    opens, closes = beijing(2026, 11, 23, 10, 0), beijing(2026, 11, 27)
    assert rules.objection_window_problem(ObjectionKind.OBJECTION, opens, opens, closes) is None
    assert rules.objection_window_problem(ObjectionKind.OBJECTION, closes - SEC, opens, closes) is None
    late = rules.objection_window_problem(ObjectionKind.OBJECTION, closes, opens, closes)
    assert late.code == "award.objection_window_closed" and "异议期已于" in late.zh and "closed" in late.en
    early = rules.objection_window_problem(ObjectionKind.OBJECTION, opens - SEC, opens, closes)
    assert early.code == "award.objection_not_open"
    assert rules.objection_window_problem(ObjectionKind.CHALLENGE, opens, None, None).code == "award.objection_not_open"


def test_objection_reply_three_days_challenge_reply_seven_working_days():
    filed = beijing(2026, 11, 24, 15, 0)  # Tuesday
    assert rules.reply_due(CAL, ObjectionKind.OBJECTION, filed, S) == beijing(2026, 11, 28)
    assert rules.reply_due(CAL, ObjectionKind.CHALLENGE, filed, S) == beijing(2026, 12, 4)  # Thu 12-03 24:00


def test_challenge_window_seven_working_days_after_the_result_publicity_across_national_day():
    # result published Mon 09-28; 1 WD announcement period ends Tue 09-29 24:00
    publicity_end = rules.result_publicity_until(CAL, beijing(2026, 9, 28, 10, 0), S)
    assert publicity_end == beijing(2026, 9, 30)
    closes = rules.challenge_closes(CAL, publicity_end, S)
    # WD after 09-29: 09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13, 10-14
    assert closes == beijing(2026, 10, 15)
    assert rules.objection_window_problem(ObjectionKind.CHALLENGE, closes - SEC, publicity_end, closes) is None
    assert rules.objection_window_problem(ObjectionKind.CHALLENGE, closes, publicity_end, closes).code \
        == "award.objection_window_closed"


# --- the buyer's confirmation ------------------------------------------------------------------------
def test_five_working_days_across_national_day():
    report = beijing(2026, 9, 29, 10, 0)  # Tuesday before the holiday
    due = rules.confirm_due(CAL, report, S)
    # 09-30 (1), holiday 10-01..07, 10-08 (2), 10-09 (3), 10-10 make-up Saturday (4), 10-12 (5)
    assert due == beijing(2026, 10, 13)
    assert rules.effective_confirmation(None, 11, due, due - SEC) is None
    assert rules.effective_confirmation(None, 11, due, due) == Confirmation(11, True)
    assert rules.effective_confirmation(12, 11, due, due + timedelta(days=3)) == Confirmation(12, False)


def test_confirmation_into_an_unloaded_year_fails_closed():
    with pytest.raises(CalendarYearMissing):
        rules.confirm_due(CAL, beijing(2026, 12, 28, 10, 0), S)


def test_result_due_two_working_days_and_contract_thirty_days():
    assert rules.result_due(CAL, beijing(2026, 9, 30, 9, 0), S) == beijing(2026, 10, 10)  # 10-08, 10-09
    assert rules.contract_due(CAL, beijing(2026, 11, 27, 9, 0), S) == beijing(2026, 12, 29)  # 12-27 Sun → 12-28


# --- the award ---------------------------------------------------------------------------------------
CANDS = (CandidateFacts(11, 1), CandidateFacts(12, 2), CandidateFacts(13, 3))
UNTIL = beijing(2026, 11, 27)


def _award(bidder=11, now=UNTIL, **kw):
    facts = dict(regime=Regime.TENDER_LAW, candidates=CANDS, state_funded=True, publicity_until=UNTIL)
    facts.update(kw)
    return [p.code for p in rules.award_problems(AwardFacts(**facts), bidder, now)]


def test_award_at_the_publicity_end_not_one_second_before():
    assert _award(now=UNTIL - SEC) == ["award.publicity_running"]
    assert _award(now=UNTIL) == []
    assert _award(publicity_until=None) == ["award.not_publicized"]


def test_award_blocked_by_an_open_objection():
    assert _award(open_objections=1) == ["award.objection_open"]


def test_state_funded_rank_one_unless_a_reason_is_recorded():
    assert _award(bidder=12) == ["award.rank_one_required"]
    passed = (CandidateFacts(11, 1, "waived"), CandidateFacts(12, 2), CandidateFacts(13, 3))
    assert _award(bidder=12, candidates=passed) == []
    assert _award(bidder=13, candidates=passed) == ["award.rank_one_required"]
    assert _award(bidder=11, candidates=passed) == ["award.candidate_passed"]
    assert _award(bidder=12, state_funded=False) == []        # not state-funded: the owner chooses
    assert _award(bidder=99) == ["award.not_a_candidate"]
    assert _award(already_awarded=True) == ["award.already_awarded"]


def test_gp_award_needs_the_confirmation_or_the_silence():
    gp = dict(regime=Regime.GP, publicity_until=None, state_funded=False)
    assert _award(confirmation=None, **gp) == ["award.not_confirmed"]
    assert _award(confirmation=Confirmation(11, True), **gp) == []
    assert _award(bidder=12, confirmation=Confirmation(11, True), **gp) == ["award.not_confirmed_supplier"]


def test_contract_light():
    due = beijing(2026, 12, 28)
    assert rules.contract_light(due, due - timedelta(days=6), signed=False, warn_days=5) == rules.Light.GREEN
    assert rules.contract_light(due, due - timedelta(days=5), signed=False, warn_days=5) == rules.Light.YELLOW
    assert rules.contract_light(due, due - SEC, signed=False, warn_days=5) == rules.Light.YELLOW
    assert rules.contract_light(due, due, signed=False, warn_days=5) == rules.Light.RED
    assert rules.contract_light(due, due, signed=True, warn_days=5) == rules.Light.DONE
