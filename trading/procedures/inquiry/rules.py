"""The 询价 stage machine, pure (财政部令74号; rules.md §1 D):

    accepting → closed → opening → opened → evaluating → reported → confirming → awarded → contracted
    → archived, and 流标 (failed) → reannounced | terminated (switch of method, cancellation).

One sealed quote per supplier; the lowest responsive price wins. Guards: ≥ 3 suppliers to open (no
two-supplier exception for 询价), an inquiry team ≥ 3 and odd with experts ≥ 2/3, the buyer confirms
within 5 working days of the report (after that only the system records rank 1: the buyer's silence).
The result notice is due 2 working days after the confirmation: `result_due` gives the instant (a
late notice is still owed, so it is a due date shown and reminded, not a refusal).

Imports: reference (settings, workdays), procedures.common (flow, phases)."""

from __future__ import annotations

from datetime import datetime

from trading.procedures.common.flow import Machine, Transition, register
from trading.procedures.common.phases import (
    PROJECT,
    RUNNERS,
    SYSTEM,
    buyer_window,
    count_at_least,
    count_below,
    failure_paths,
    panel_composition,
    sealed_phase,
    tail,
)
from trading.reference.settings import SettingDef, define
from trading.reference.workdays import Unit, WorkCalendar, period_end

PROCEDURE = "inquiry"

define(
    SettingDef("inquiry.min_suppliers", 3, "count", "74号令 Art. 12, 45 [V]", "询价供应商最少家数",
               "Fewest inquiry suppliers", 3, 10),
)

EVALUATORS = RUNNERS | frozenset({"expert"})

MACHINE = Machine(
    procedure=PROCEDURE,
    initial="accepting",
    terminal=frozenset({"archived", "terminated", "reannounced"}),
    transitions=(
        *sealed_phase(count_at_least("applicants", setting_code="inquiry.min_suppliers",
                                     code="flow.too_few_suppliers", zh="询价供应商不足", en="Too few suppliers"),
                      count_below("applicants", setting_code="inquiry.min_suppliers")),
        Transition("opened", "start_evaluation", "evaluating", RUNNERS, panel_composition("gp.team_min")),
        Transition("evaluating", "submit_report", "reported", EVALUATORS),
        Transition("evaluating", "fail", "failed", EVALUATORS,
                   count_below("qualified", setting_code="inquiry.min_suppliers")),
        Transition("reported", "confirm", "confirming", PROJECT | SYSTEM, buyer_window("gp.confirm_wd")),
        *tail("confirming", None),
        *failure_paths(("opened", "evaluating", "reported", "confirming")),
    ),
)

register(MACHINE)


def result_due(cal: WorkCalendar, confirmed_at: datetime, days: int) -> datetime:
    """When the result notice is due: `days` working days (gp.result_notice_wd) after the buyer's
    confirmation, 24:00 Beijing time; an unloaded year fails closed (CalendarYearMissing)."""
    return period_end(cal, confirmed_at, days, Unit.WD)
