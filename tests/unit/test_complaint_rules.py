"""Complaint clocks (supervision.complaints.rules) as tables: filing windows, working days across a
holiday with a make-up working day, excluded time, the suspension cap, lights and the state machine.

The calendar is a small one made here (2026, with a 国庆-like break Thu 1 – Wed 7 October and a make-up
working day on Saturday 10 October), so every expected date below is counted by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from trading.core.clock import beijing
from trading.procedures.common.awards.rules import Regime
from trading.reference.workdays import CalendarYearMissing, WorkCalendar
from trading.supervision.complaints import rules
from trading.supervision.complaints.rules import Matter, Pause, PriorObjection, Status

CAL = WorkCalendar(frozenset({2026}), holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
                   workdays=frozenset({date(2026, 10, 10)}))
S: dict[str, int] = {}  # catalogue defaults
TENDER, GP = Regime.TENDER_LAW, Regime.GP


def eod(y, m, d) -> datetime:
    """24:00 Beijing time of that day."""
    return beijing(y, m, d) + timedelta(days=1)


@pytest.mark.parametrize("regime, filed, due", [
    # tender: 3 WD, start day not counted
    (TENDER, beijing(2026, 9, 25, 10), eod(2026, 9, 30)),     # Fri → Mon, Tue, Wed
    (TENDER, beijing(2026, 9, 29, 16), eod(2026, 10, 9)),     # Tue → Wed 30, (holiday), Thu 8, Fri 9
    (TENDER, beijing(2026, 9, 30, 9), eod(2026, 10, 10)),     # Wed → Thu 8, Fri 9, Sat 10 (make-up day)
    (TENDER, beijing(2026, 10, 3, 9), eod(2026, 10, 10)),     # filed on a holiday → 8, 9, 10
    # GP: 5 WD
    (GP, beijing(2026, 9, 25, 10), eod(2026, 10, 9)),         # Fri → 28, 29, 30 Sep, 8, 9 Oct
    (GP, beijing(2026, 11, 2, 23, 59), eod(2026, 11, 9)),     # Mon late → Tue … Mon
])
def test_acceptance_due_counts_working_days(regime, filed, due):
    assert rules.accept_due(CAL, regime, filed, S) == due


@pytest.mark.parametrize("known, objection, closes", [
    (date(2026, 9, 14), None, eod(2026, 9, 24)),              # Mon + 10 CD = Thu 24 Sep
    (date(2026, 9, 18), None, eod(2026, 9, 28)),              # Fri + 10 = Mon 28
    (date(2026, 9, 16), None, eod(2026, 9, 28)),              # + 10 = Sat 26 → next working day Mon 28
    (date(2026, 9, 21), None, eod(2026, 10, 8)),              # + 10 = Thu 1 Oct (holiday) → Thu 8 Oct
    # a prior objection filed 20 Sep, answered 23 Sep: 3 days not counted
    (date(2026, 9, 14), PriorObjection(beijing(2026, 9, 20, 9), eod(2026, 9, 23), beijing(2026, 9, 23, 15)),
     eod(2026, 9, 28)),                                        # 14 + 3 + 10 = Sun 27 → Mon 28
    # never answered: pending until the end of its reply period (filed 20, due 24:00 of 23)
    (date(2026, 9, 14), PriorObjection(beijing(2026, 9, 20, 9), eod(2026, 9, 23), None), eod(2026, 9, 28)),
])
def test_tender_window_is_ten_days_from_knowing_plus_the_objection_time(known, objection, closes):
    now = beijing(2026, 9, 25, 9)
    assert rules.filing_window_closes(CAL, TENDER, known, objection, now, S) == closes


@pytest.mark.parametrize("reply_due, closes", [
    (eod(2026, 9, 4), eod(2026, 9, 25)),    # reply period ends Fri 4 Sep → 15 WD: 7 Sep … Fri 25 Sep
    # Wed 16 Sep → 17, 18 (2); 21–25 (7); 28–30 (10); 8, 9 Oct (12); Sat 10 Oct make-up (13); 12, 13 Oct (15)
    (eod(2026, 9, 16), eod(2026, 10, 13)),
])
def test_gp_window_is_fifteen_working_days_after_the_reply_deadline(reply_due, closes):
    obj = PriorObjection(reply_due - timedelta(days=7), reply_due, None)
    assert rules.filing_window_closes(CAL, GP, None, obj, reply_due, S) == closes


def test_settings_change_the_figures():
    filed = beijing(2026, 11, 2, 10)
    assert rules.accept_due(CAL, TENDER, filed, {"complaint.tender_accept_wd": 1}) == eod(2026, 11, 3)
    assert rules.filing_window_closes(CAL, TENDER, date(2026, 11, 2), None, filed,
                                      {"complaint.tender_window_cd": 3}) == eod(2026, 11, 5)


def test_a_long_closed_window_is_refused_without_counting_in_unloaded_years():
    now = beijing(2026, 11, 4, 10)
    for regime, known, obj in [(TENDER, date(2019, 5, 1), None), (TENDER, date(1, 1, 1), None),
                               (GP, None, PriorObjection(beijing(2019, 5, 1), eod(2019, 5, 10), None))]:
        problem = rules.filing_problem(CAL, regime, Matter.RESULT if obj else Matter.PROCESS, known, obj, now, S)
        assert problem is not None and problem.code == "complaint.window_closed"


def test_an_unloaded_year_fails_closed():
    with pytest.raises(CalendarYearMissing):
        rules.accept_due(CAL, TENDER, beijing(2026, 12, 30, 10), S)


@pytest.mark.parametrize("regime, matter, needed", [
    (TENDER, Matter.DOCUMENTS, True), (TENDER, Matter.OPENING, True), (TENDER, Matter.RESULT, True),
    (TENDER, Matter.PROCESS, False),
    (GP, Matter.DOCUMENTS, True), (GP, Matter.PROCESS, True), (GP, Matter.RESULT, True),
])
def test_which_matters_need_a_prior_objection(regime, matter, needed):
    assert rules.needs_objection(regime, matter) is needed


ANSWERED = PriorObjection(beijing(2026, 11, 2, 9), eod(2026, 11, 5), beijing(2026, 11, 3, 9))
PENDING = PriorObjection(beijing(2026, 11, 2, 9), eod(2026, 11, 5), None)
NOW = beijing(2026, 11, 4, 10)


@pytest.mark.parametrize("regime, matter, known, objection, now, code", [
    (TENDER, Matter.RESULT, date(2026, 11, 2), None, NOW, "complaint.objection_required"),
    (GP, Matter.PROCESS, None, None, NOW, "complaint.objection_required"),
    (TENDER, Matter.PROCESS, None, None, NOW, "complaint.known_on_required"),
    (TENDER, Matter.PROCESS, date(2026, 11, 5), None, NOW, "complaint.known_on_future"),
    (TENDER, Matter.RESULT, date(2026, 11, 2), PENDING, NOW, "complaint.objection_pending"),
    (GP, Matter.RESULT, None, PENDING, NOW, "complaint.objection_pending"),
    (TENDER, Matter.PROCESS, date(2026, 10, 20), None, NOW, "complaint.window_closed"),  # closed end of 30 Oct
    (TENDER, Matter.PROCESS, date(2026, 10, 25), None, NOW, None),                     # open until 24:00 4 Nov
    (TENDER, Matter.PROCESS, date(2026, 10, 25), None, eod(2026, 11, 4), "complaint.window_closed"),  # at 24:00
    (TENDER, Matter.RESULT, date(2026, 11, 2), ANSWERED, NOW, None),
    (GP, Matter.RESULT, None, ANSWERED, NOW, None),                                     # answered: may complain now
    (GP, Matter.RESULT, None, PENDING, eod(2026, 11, 5), None),                         # unanswered, reply period over
    (GP, Matter.RESULT, None, PENDING, eod(2026, 11, 26), "complaint.window_closed"),  # 15 WD after 5 Nov = 26 Nov
])
def test_filing_refusals(regime, matter, known, objection, now, code):
    problem = rules.filing_problem(CAL, regime, matter, known, objection, now, S)
    assert (problem.code if problem else None) == code


ACCEPTED = beijing(2026, 11, 2, 10)  # Monday; November has no holiday


@pytest.mark.parametrize("pauses, due", [
    ([], eod(2026, 12, 14)),                                                    # 30 WD: 3 Nov … 14 Dec
    ([Pause(beijing(2026, 11, 10, 10), beijing(2026, 11, 12, 15))], eod(2026, 12, 16)),   # 11, 12 Nov excluded
    ([Pause(beijing(2026, 11, 13, 10), beijing(2026, 11, 16, 9))], eod(2026, 12, 15)),    # 14, 15 (weekend), 16
    ([Pause(beijing(2026, 11, 10, 10), beijing(2026, 11, 10, 15))], eod(2026, 12, 14)),   # same day: nothing
    ([Pause(beijing(2026, 11, 3, 9), beijing(2026, 11, 5, 9)),
      Pause(beijing(2026, 11, 9, 9), beijing(2026, 11, 10, 9))], eod(2026, 12, 17)),      # 4, 5 and 10 Nov
    ([Pause(beijing(2026, 11, 10, 10), None)], None),                          # the clock stands still
])
def test_decision_due_excludes_testing_and_expert_review(pauses, due):
    assert rules.decide_due(CAL, ACCEPTED, pauses, S) == due


@pytest.mark.parametrize("days, ok", [(1, True), (30, True), (31, False), (0, False), (-2, False), (True, False),
                                      ("30", False), (None, False)])
def test_suspension_is_capped_at_thirty_days(days, ok):
    assert (rules.suspension_problem(days, S) is None) is ok


def test_suspension_ends_and_is_active_only_inside_its_days():
    ordered = beijing(2026, 11, 2, 10)
    ends = rules.suspension_ends(ordered, 30)
    assert ends == eod(2026, 12, 2)
    assert rules.suspension_active(ordered, ends, None, ordered)
    assert rules.suspension_active(ordered, ends, None, ends - timedelta(seconds=1))
    assert not rules.suspension_active(ordered, ends, None, ends)
    assert not rules.suspension_active(ordered, ends, beijing(2026, 11, 5), beijing(2026, 11, 6))
    assert not rules.suspension_active(None, None, None, ordered)


@pytest.mark.parametrize("now, light", [
    (beijing(2026, 11, 1, 0), rules.GREEN), (eod(2026, 11, 5) - timedelta(hours=49), rules.GREEN),
    (eod(2026, 11, 5) - timedelta(hours=48), rules.YELLOW), (eod(2026, 11, 5) - timedelta(seconds=1), rules.YELLOW),
    (eod(2026, 11, 5), rules.RED), (eod(2026, 11, 9), rules.RED),
])
def test_lights(now, light):
    assert rules.light(eod(2026, 11, 5), now, timedelta(hours=48)) == light
    assert rules.light(None, now, timedelta(hours=48)) == rules.GREEN


@pytest.mark.parametrize("action, status, kw, code", [
    ("accept", Status.FILED, {}, None), ("accept", Status.ACCEPTED, {}, "complaint.wrong_status"),
    ("reject", Status.FILED, {}, None), ("reject", Status.DECIDED, {}, "complaint.wrong_status"),
    ("decide", Status.FILED, {}, "complaint.wrong_status"), ("decide", Status.ACCEPTED, {}, None),
    ("decide", Status.ACCEPTED, {"paused": True}, "complaint.paused"),
    ("pause", Status.ACCEPTED, {"paused": True}, "complaint.already_paused"),
    ("pause", Status.FILED, {}, "complaint.wrong_status"),
    ("resume", Status.ACCEPTED, {}, "complaint.not_paused"), ("resume", Status.ACCEPTED, {"paused": True}, None),
    ("suspend", Status.FILED, {}, None), ("suspend", Status.ACCEPTED, {"suspended": True}, "complaint.already_suspended"),
    ("suspend", Status.REJECTED, {}, "complaint.wrong_status"),
    ("lift", Status.DECIDED, {"suspended": True}, None), ("lift", Status.ACCEPTED, {}, "complaint.not_suspended"),
    ("withdraw", Status.FILED, {}, None), ("withdraw", Status.ACCEPTED, {}, None),
    ("withdraw", Status.DECIDED, {}, "complaint.wrong_status"), ("withdraw", Status.WITHDRAWN, {}, "complaint.wrong_status"),
])
def test_state_machine(action, status, kw, code):
    problem = rules.transition_problem(action, status, **kw)
    assert (problem.code if problem else None) == code


def test_decisions_and_refusals_are_milestone_codes_and_other_steps_are_not():
    from trading.audit.services import COMPLAINT_DECISIONS
    milestones = {a for a, code in rules.ACTIONS.items() if code.endswith(COMPLAINT_DECISIONS)}
    assert milestones == {"decide", "reject"}
    assert all(code.startswith("complaint.") for code in rules.ACTIONS.values())


def test_departments_by_regime():
    assert rules.department_for("tender_law")[0] == "行政监督部门"
    assert rules.department_for("gp")[0] == "财政部门"
    assert rules.regime_for("selection") == TENDER and rules.regime_for("inquiry") == GP


@pytest.mark.parametrize("regime, matter, kind", [
    (TENDER, Matter.RESULT, "platform"), (TENDER, Matter.DOCUMENTS, "declared"), (TENDER, Matter.OPENING, "declared"),
    (TENDER, Matter.PROCESS, None), (GP, Matter.RESULT, "platform"), (GP, Matter.DOCUMENTS, "declared"),
    (GP, Matter.PROCESS, "declared"),
])
def test_which_prior_objection_each_matter_takes(regime, matter, kind):
    assert rules.prior_kind(regime, matter) == kind


def test_a_declared_objection_has_the_statutory_reply_period():
    d = rules.Declared("书面异议，邮寄送达招标人", date(2026, 9, 29), None)
    tender = rules.declared_prior(CAL, TENDER, d, S)     # 3 days: 2 Oct, a holiday → Thu 8 Oct
    assert tender.filed_at == beijing(2026, 9, 29) and tender.reply_due_at == eod(2026, 10, 8)
    gp = rules.declared_prior(CAL, GP, d, S)             # 7 WD: 30 Sep, 8, 9, 10 (make-up), 12, 13, 14 Oct
    assert gp.reply_due_at == eod(2026, 10, 14) and gp.answered_at is None
    answered = rules.declared_prior(CAL, TENDER, rules.Declared("书面异议", date(2026, 9, 20), date(2026, 9, 23)), S)
    assert rules.objection_pending_days(answered, beijing(2026, 9, 25)) == 3


@pytest.mark.parametrize("note, filed, answered, code", [
    ("书面异议，邮寄送达", date(2026, 11, 2), None, None),
    ("书面异议，邮寄送达", date(2026, 11, 2), date(2026, 11, 4), None),
    ("短", date(2026, 11, 2), None, "complaint.declared_note"),
    ("书面异议，邮寄送达", date(2026, 11, 5), None, "complaint.declared_dates"),            # future
    ("书面异议，邮寄送达", date(2026, 11, 2), date(2026, 11, 1), "complaint.declared_dates"),  # before filing
    ("书面异议，邮寄送达", date(2026, 11, 2), date(2026, 11, 5), "complaint.declared_dates"),  # future reply
])
def test_declared_objection_checks(note, filed, answered, code):
    problem = rules.declared_problem(rules.Declared(note, filed, answered), date(2026, 11, 4))
    assert (problem.code if problem else None) == code
