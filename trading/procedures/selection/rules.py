"""The 比选 stage machine, pure (rules.md §1 B; the Sichuan figures are unverified, so each is a
setting with the documented default):

    accepting → closed → opening → opened → evaluating → reported → publicity → awarded → contracted
    → archived, and 流标 (failed) → reannounced | terminated (switch of method, cancellation).

Guards: ≥ 3 applicants to open (else 流标), committee ≥ 3 and odd with experts ≥ 2/3 to start the
evaluation, publicity ≥ 3 calendar days, award only after the publicity ends with no objection open.
The notice period (≥ 5 calendar days, period.selection_notice_cd) and the deposit cap (≤ 2 %,
deposit.selection_cap_bp) are checked where notices and deposits are set (common.periods, deposits).

Imports: reference.settings, procedures.common (flow, phases)."""

from __future__ import annotations

from trading.procedures.common.flow import Machine, Transition, register
from trading.procedures.common.phases import (
    PROJECT,
    RUNNERS,
    count_at_least,
    count_below,
    failure_paths,
    panel_composition,
    publicity_long_enough,
    publicity_over,
    sealed_phase,
    tail,
)
from trading.reference.settings import SettingDef, define

PROCEDURE = "selection"

define(
    SettingDef("selection.min_applicants", 3, "count", "四川比选 [U]", "比选申请人最少家数",
               "Fewest 比选 applicants", 1, 10),
    SettingDef("selection.committee_min", 3, "count", "四川比选 [U]", "比选委员会最少人数（单数）",
               "Smallest 比选 committee (odd)", 3),
)

EVALUATORS = RUNNERS | frozenset({"expert"})

MACHINE = Machine(
    procedure=PROCEDURE,
    initial="accepting",
    terminal=frozenset({"archived", "terminated", "reannounced"}),
    transitions=(
        *sealed_phase(count_at_least("applicants", setting_code="selection.min_applicants",
                                     code="flow.too_few_applicants", zh="比选申请人不足", en="Too few applicants"),
                      count_below("applicants", setting_code="selection.min_applicants")),
        Transition("opened", "start_evaluation", "evaluating", RUNNERS, panel_composition("selection.committee_min")),
        Transition("evaluating", "submit_report", "reported", EVALUATORS),
        # every offer but too few rejected by the committee (e.g. missing qualifications): 流标
        Transition("evaluating", "fail", "failed", EVALUATORS,
                   count_below("qualified", setting_code="selection.min_applicants")),
        Transition("reported", "publicize", "publicity", RUNNERS,
                   publicity_long_enough("period.candidate_publicity_cd")),
        *tail("publicity", publicity_over),
        *failure_paths(("opened", "evaluating", "reported", "publicity")),
    ),
)

register(MACHINE)

__all__ = ["MACHINE", "PROCEDURE", "PROJECT"]
