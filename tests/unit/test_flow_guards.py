"""Guard boundaries of the 比选 and 询价 machines, on the instant (one second before and at the
limit), with working days across the 2026 National Day block (10-01..07, make-up day 10-10 Sat) and
an unloaded year failing closed; participant minimums, panel composition and publicity."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.timeline import BEFORE_NATIONAL_DAY, T0
from trading.core.clock import beijing
from trading.core.errors import RuleViolation
from trading.procedures.common.flow import machine_for
from trading.procedures.inquiry import rules as inquiry
from trading.procedures.selection import rules as selection  # noqa: F401  (registers)
from trading.reference.services import builtin_days
from trading.reference.workdays import CalendarYearMissing, from_days

CAL = from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])
SEL, INQ = machine_for("selection"), machine_for("inquiry")
SECOND = timedelta(seconds=1)


def _code(machine, state, action, role, facts, now):
    try:
        machine.check(state, action, role, {"settings": {}, "calendar": CAL, "role": role, **facts}, now)
    except RuleViolation as err:
        return err.code
    return None


# --- 询价: the buyer decides within 5 working days of the report --------------------------------------

#: reported Tue 09-29 10:00; 5 WD = 09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12 → ends 10-13 00:00
CONFIRM_END = beijing(2026, 10, 13, 0, 0)


def test_buyer_confirms_until_the_fifth_working_day_across_national_day():
    facts = {"status_changed_at": BEFORE_NATIONAL_DAY}
    assert _code(INQ, "reported", "confirm", "owner", facts, CONFIRM_END - SECOND) is None
    assert _code(INQ, "reported", "confirm", "owner", facts, CONFIRM_END) == "flow.confirm_window_closed"


def test_silence_is_recorded_by_the_system_only_once_the_window_has_ended():
    facts = {"status_changed_at": BEFORE_NATIONAL_DAY}
    assert _code(INQ, "reported", "confirm", "system", facts, CONFIRM_END - SECOND) == "flow.buyer_still_deciding"
    assert _code(INQ, "reported", "confirm", "system", facts, CONFIRM_END) is None


def test_the_window_is_a_setting():
    facts = {"status_changed_at": BEFORE_NATIONAL_DAY, "settings": {"gp.confirm_wd": 2}}
    end = beijing(2026, 10, 9, 0, 0)  # 09-30, 10-08
    assert _code(INQ, "reported", "confirm", "owner", facts, end - SECOND) is None
    assert _code(INQ, "reported", "confirm", "owner", facts, end) == "flow.confirm_window_closed"


def test_an_unloaded_year_fails_closed():
    facts = {"status_changed_at": beijing(2026, 12, 28, 10, 0)}  # the window runs into 2027
    with pytest.raises(CalendarYearMissing):
        INQ.check("reported", "confirm", "owner", {"settings": {}, "calendar": CAL, "role": "owner", **facts},
                  beijing(2026, 12, 29, 10, 0))
    assert _code(INQ, "reported", "confirm", "owner", {**facts, "calendar": None}, T0) == "flow.fact_missing"


def test_the_result_notice_is_due_two_working_days_after_the_confirmation():
    assert inquiry.result_due(CAL, BEFORE_NATIONAL_DAY, 2) == beijing(2026, 10, 9, 0, 0)
    assert inquiry.result_due(CAL, beijing(2026, 10, 9, 16, 0), 2) == beijing(2026, 10, 13, 0, 0)  # 10-10, 10-12


# --- 比选: publicity ≥ 3 calendar days; award after it ends with no objection open -------------------

def test_publicity_of_three_calendar_days_ending_in_the_holiday_runs_to_the_next_working_day():
    # published Tue 09-29: +3 days = 10-02 (holiday) → runs on to 10-08 → ends 10-09 00:00
    end = beijing(2026, 10, 9, 0, 0)
    base = {"publicity_from": BEFORE_NATIONAL_DAY}
    assert _code(SEL, "reported", "publicize", "owner", {**base, "publicity_until": end - SECOND},
                 BEFORE_NATIONAL_DAY) == "flow.publicity_too_short"
    assert _code(SEL, "reported", "publicize", "owner", {**base, "publicity_until": end}, BEFORE_NATIONAL_DAY) is None


def test_publicity_starts_now_when_the_caller_gives_no_start():
    end = beijing(2026, 11, 14, 0, 0)  # T0 Tue 11-10 + 3 = Fri 11-13 → 24:00
    assert _code(SEL, "reported", "publicize", "owner", {"publicity_until": end - SECOND}, T0) == "flow.publicity_too_short"
    assert _code(SEL, "reported", "publicize", "owner", {"publicity_until": end}, T0) is None
    assert _code(SEL, "reported", "publicize", "owner", {}, T0) == "flow.fact_missing"


def test_award_waits_for_the_end_of_publicity_and_every_objection_answered():
    until = beijing(2026, 11, 14, 0, 0)
    assert _code(SEL, "publicity", "award", "owner", {"publicity_until": until, "open_objections": 0},
                 until - SECOND) == "flow.publicity_running"
    assert _code(SEL, "publicity", "award", "owner", {"publicity_until": until, "open_objections": 0}, until) is None
    assert _code(SEL, "publicity", "award", "owner", {"publicity_until": until, "open_objections": 1},
                 until) == "flow.objection_open"
    assert _code(SEL, "publicity", "award", "owner", {"publicity_until": until}, until) == "flow.fact_missing"


# --- deadlines, minimums and panels -------------------------------------------------------------------

@pytest.mark.parametrize("machine", [SEL, INQ], ids=["selection", "inquiry"])
def test_close_at_the_deadline_not_a_second_before(machine):
    assert _code(machine, "accepting", "close", "system", {"deadline_at": T0}, T0 - SECOND) == "flow.before_deadline"
    assert _code(machine, "accepting", "close", "system", {"deadline_at": T0}, T0) is None
    assert _code(machine, "accepting", "close", "system", {"deadline_at": None}, T0) == "flow.fact_missing"


@pytest.mark.parametrize("machine, setting, too_few", [
    (SEL, "selection.min_applicants", "flow.too_few_applicants"),
    (INQ, "inquiry.min_suppliers", "flow.too_few_suppliers"),
], ids=["selection", "inquiry"])
def test_three_participants_open_two_fail_and_the_minimum_is_a_setting(machine, setting, too_few):
    assert _code(machine, "closed", "start_opening", "system", {"applicants": 2}, T0) == too_few
    assert _code(machine, "closed", "start_opening", "system", {"applicants": 3}, T0) is None
    assert _code(machine, "closed", "fail", "system", {"applicants": 2}, T0) is None
    assert _code(machine, "closed", "fail", "system", {"applicants": 3}, T0) == "flow.enough_participants"
    assert _code(machine, "closed", "start_opening", "system",
                 {"applicants": 3, "settings": {setting: 4}}, T0) == too_few


def test_inquiry_has_no_two_supplier_exception():
    facts = {"applicants": 2, "prior_tender_failed": True, "approval_ref": "县财采〔2026〕15号"}
    assert _code(INQ, "closed", "start_opening", "system", facts, T0) == "flow.too_few_suppliers"


def test_opening_outcome_follows_the_lots_threshold():
    assert _code(SEL, "opening", "open", "system", {"valid_offers": 3, "min_valid_offers": 3}, T0) is None
    assert _code(SEL, "opening", "open", "system", {"valid_offers": 2, "min_valid_offers": 3}, T0) == "flow.too_few_offers"
    assert _code(SEL, "opening", "fail", "system", {"valid_offers": 2, "min_valid_offers": 3}, T0) is None


@pytest.mark.parametrize("size, experts, code", [
    (3, 2, None), (5, 4, None), (7, 5, None), (3, 1, "flow.panel_experts"), (5, 3, "flow.panel_experts"),
    (4, 4, "flow.panel_size"), (6, 6, "flow.panel_size"), (1, 1, "flow.panel_size"),
])
@pytest.mark.parametrize("machine", [SEL, INQ], ids=["selection", "inquiry"])
def test_panel_at_least_three_odd_two_thirds_experts(machine, size, experts, code):
    assert _code(machine, "opened", "start_evaluation", "owner",
                 {"panel_size": size, "panel_experts": experts}, T0) == code


def test_committee_minimum_is_a_setting():
    facts = {"panel_size": 3, "panel_experts": 3, "settings": {"selection.committee_min": 5}}
    assert _code(SEL, "opened", "start_evaluation", "owner", facts, T0) == "flow.panel_size"
    assert _code(INQ, "opened", "start_evaluation", "owner", {**facts, "settings": {"gp.team_min": 5}}, T0) \
        == "flow.panel_size"


def test_switch_and_cancel_need_their_text():
    assert _code(SEL, "failed", "switch_method", "owner", {"approval_ref": "  "}, T0) == "flow.approval_required"
    assert _code(SEL, "failed", "cancel", "owner", {"reason": ""}, T0) == "flow.reason_required"
    assert _code(SEL, "failed", "cancel", "owner", {"reason": "需求取消"}, T0) is None


def test_the_unverified_figures_are_settings_with_the_documented_defaults():
    """rules.md marks the Sichuan 比选 figures [U]: each is a setting (one definition, reused where the
    notice period and the deposit cap are checked), with the issue's defaults."""
    import trading.procedures.common.deposits.rules  # noqa: F401  (defines the deposit caps)
    from trading.reference.settings import definition

    expected = {"period.selection_notice_cd": 5, "selection.min_applicants": 3, "selection.committee_min": 3,
                "period.candidate_publicity_cd": 3, "deposit.selection_cap_bp": 200, "inquiry.min_suppliers": 3,
                "gp.team_min": 3, "panel.expert_thirds": 2, "gp.confirm_wd": 5, "gp.result_notice_wd": 2}
    assert {code: definition(code).default for code in expected} == expected
    assert definition("gp.confirm_wd").unit == "WD" and definition("period.selection_notice_cd").unit == "CD"
