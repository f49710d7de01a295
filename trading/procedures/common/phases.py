"""What every sealed procedure's stage machine shares, pure: the sealed phase (deadline → opening →
opened | 流标), the tail (award → contract → archive), the failure paths (re-announce, switch of
method, cancellation, termination notice) and the guards they use. Each kind's rules module composes
these with its own middle part (evaluation, publicity, confirmation, negotiation rounds).

Guards read only the facts and the clock. `stages.advance` supplies the standard facts (documented
in FACTS below); a calling service adds what it alone knows (the panel, the publicity notice, the
objections). A fact a guard needs and nobody supplied refuses the step (fail closed).

Imports: core, reference (settings, workdays), this package (flow, periods)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from trading.core.clock import rfc3339
from trading.reference.settings import SettingDef, define, definition
from trading.reference.workdays import Unit, WorkCalendar, period_end

from .flow import Guard, Transition, Violation

#: the facts stages.advance supplies itself (a caller's facts are laid over them)
FACTS = {
    "role": "the role the actor takes this step in",
    "reason": "the reason given with the step (cancel)",
    "settings": "the centre's rule settings (code → value)",
    "calendar": "the working-day calendar (reference.workdays.WorkCalendar)",
    "deadline_at": "the lot's deadline", "status_changed_at": "when the lot entered its current state",
    "min_valid_offers": "the lot's 流标 threshold", "applicants": "registrations still standing",
    "valid_offers": "valid offers in the opening record, when it exists",
}

define(
    SettingDef("gp.team_min", 3, "count", "74号令 Art. 7 [V]", "谈判/询价小组最少人数（单数）",
               "Smallest negotiation / inquiry team (odd)", 3),
    SettingDef("panel.expert_thirds", 2, "count", "招标投标法 Art. 37; 74号令 Art. 7 [V] (≥ 2/3)",
               "评审专家占评审组织成员的最低比例（三分之几）", "Experts' least share of a panel (thirds)", 0, 3),
    SettingDef("gp.confirm_wd", 5, "WD", "74号令 Art. 36 [V]", "采购人确定成交供应商时限（收到评审报告后）",
               "Buyer decides the supplier within (after the report)", 1),
    SettingDef("gp.result_notice_wd", 2, "WD", "74号令 Art. 37 [V]", "成交结果公告时限（确定成交供应商后）",
               "Result published within (after the decision)", 1),
)

SYSTEM = frozenset({"system"})
HOST = frozenset({"operator", "system"})
PROJECT = frozenset({"owner", "agency"})
RUNNERS = PROJECT | HOST


def setting(facts: Mapping[str, Any], code: str) -> int:
    return int((facts.get("settings") or {}).get(code, definition(code).default))


def _missing(name: str) -> Violation:
    return Violation("flow.fact_missing", f"缺少判断条件：{name}", f"A fact this step needs is missing: {name}",
                     rule=name)


# --- guards -------------------------------------------------------------------------------------------

def deadline_passed(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    deadline = facts.get("deadline_at")
    if deadline is None:
        return _missing("deadline_at")
    if now < deadline:
        return Violation("flow.before_deadline", "截止时间（服务器时间）未到", "The deadline (server time) has not passed",
                         rule="deadline_at", proposed=deadline)
    return None


def count_at_least(fact: str, *, setting_code: str | None = None, min_fact: str | None = None,
                   code: str, zh: str, en: str) -> Guard:
    """facts[fact] ≥ the setting (or facts[min_fact]); a missing count refuses."""
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        have = facts.get(fact)
        need = facts.get(min_fact) if min_fact else setting(facts, setting_code)
        if have is None or need is None:
            return _missing(fact if have is None else str(min_fact))
        if have < need:
            return Violation(code, f"{zh}：需要至少 {need} 家，实有 {have} 家", f"{en}: at least {need} needed, {have} found",
                             rule=setting_code or min_fact or fact, needed=int(need), actual=int(have))
        return None
    return guard


def count_below(fact: str, *, setting_code: str | None = None, min_fact: str | None = None) -> Guard:
    """The 流标 side of count_at_least: only when there are fewer than the minimum."""
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        have = facts.get(fact)
        need = facts.get(min_fact) if min_fact else setting(facts, setting_code)
        if have is None or need is None:
            return _missing(fact if have is None else str(min_fact))
        if have >= need:
            return Violation("flow.enough_participants", f"实有 {have} 家，不少于 {need} 家，不能按流标处理",
                             f"{have} present, not fewer than {need}: the lot cannot be failed",
                             rule=setting_code or min_fact or fact, needed=int(need), actual=int(have))
        return None
    return guard


def panel_composition(min_setting: str) -> Guard:
    """Panel size ≥ the setting and odd; experts ≥ thirds/3 of the members. Facts panel_size and
    panel_experts come from the caller (the active panel's members)."""
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        size, experts = facts.get("panel_size"), facts.get("panel_experts")
        if size is None or experts is None:
            return _missing("panel_size" if size is None else "panel_experts")
        least = setting(facts, min_setting)
        if size < least or size % 2 == 0:
            return Violation("flow.panel_size", f"评审组织须为 {least} 人以上单数，现为 {size} 人",
                             f"The panel must have an odd number of at least {least} members; it has {size}",
                             rule=min_setting, needed=least, actual=size)
        thirds = setting(facts, "panel.expert_thirds")
        if experts * 3 < size * thirds:
            return Violation("flow.panel_experts", f"评审专家不得少于成员总数的 {thirds}/3（{experts}/{size}）",
                             f"Experts must be at least {thirds}/3 of the panel ({experts} of {size})",
                             rule="panel.expert_thirds", needed=thirds, actual=experts)
        return None
    return guard


def text_given(fact: str, code: str, zh: str, en: str) -> Guard:
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        if not str(facts.get(fact) or "").strip():
            return Violation(code, zh, en, field=fact)
        return None
    return guard


reason_given = text_given("reason", "flow.reason_required", "请写明理由", "Give a reason")
approval_given = text_given("approval_ref", "flow.approval_required", "变更采购方式须填写批准文号",
                            "Switching the method needs the approval's reference number")


def calendar_of(facts: Mapping[str, Any]) -> WorkCalendar | None:
    cal = facts.get("calendar")
    return cal if isinstance(cal, WorkCalendar) else None


def due(facts: Mapping[str, Any], start_fact: str, setting_code: str, unit: Unit) -> datetime | Violation:
    """The end of a period of `setting` units from facts[start_fact] (24:00 Beijing of its last day);
    an unloaded year raises CalendarYearMissing (fail closed)."""
    start, cal = facts.get(start_fact), calendar_of(facts)
    if start is None:
        return _missing(start_fact)
    if cal is None:
        return _missing("calendar")
    return period_end(cal, start, setting(facts, setting_code), unit)


def publicity_over(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    """Award after 公示: the publicity end has passed and no objection is open (facts from the caller)."""
    until, open_objections = facts.get("publicity_until"), facts.get("open_objections")
    if until is None or open_objections is None:
        return _missing("publicity_until" if until is None else "open_objections")
    if now < until:
        return Violation("flow.publicity_running", "公示期未满，不能确定中选人", "The publicity period has not ended",
                         rule="publicity_until", proposed=until)
    if open_objections:
        return Violation("flow.objection_open", f"有 {open_objections} 件异议尚未答复", f"{open_objections} objection(s) still open",
                         actual=int(open_objections))
    return None


def publicity_long_enough(setting_code: str) -> Guard:
    """公示 ≥ n calendar days from publication (rules.md §0.1: a rest last day runs on)."""
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        until = facts.get("publicity_until")
        if until is None:
            return _missing("publicity_until")
        end = due({**facts, "publicity_from": facts.get("publicity_from") or now}, "publicity_from", setting_code, Unit.CD)
        if isinstance(end, Violation):
            return end
        if until < end:
            n = setting(facts, setting_code)
            return Violation("flow.publicity_too_short", f"公示期不得少于 {n} 日，最早可至 {rfc3339(end)}",
                             f"The publicity must last at least {n} days, until {rfc3339(end)} or later",
                             rule=setting_code, needed=n, proposed=end)
        return None
    return guard


def buyer_window(setting_code: str = "gp.confirm_wd", start_fact: str = "status_changed_at") -> Guard:
    """The buyer confirms within n working days after the report (entering "reported" = the lot's
    status_changed_at); once they have passed, only the system records the recommended rank 1 (the
    buyer's silence). The role fact comes from stages.advance."""
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        end = due(facts, start_fact, setting_code, Unit.WD)
        if isinstance(end, Violation):
            return end
        if facts.get("role") == "system":
            if now < end:
                return Violation("flow.buyer_still_deciding", "采购人确认期限未届满", "The buyer's time to decide has not run out",
                                 rule=setting_code, proposed=end)
            return None
        if now >= end:
            return Violation("flow.confirm_window_closed", f"确认期限（{rfc3339(end)}）已过，按排名第一的成交候选人确定",
                             f"The time to decide ended at {rfc3339(end)}; the rank 1 candidate stands",
                             rule=setting_code, proposed=end)
        return None
    return guard


# --- transition sets ----------------------------------------------------------------------------------

def sealed_phase(participants: Guard, too_few: Guard) -> tuple[Transition, ...]:
    """accepting → closed → opening → opened | failed, as the opening code (issue 3) moves a lot; the
    termination notice ends a lot before it is opened."""
    valid = count_at_least("valid_offers", min_fact="min_valid_offers", code="flow.too_few_offers",
                           zh="有效报价不足", en="Too few valid offers")
    return (
        Transition("accepting", "close", "closed", HOST, deadline_passed),
        Transition("closed", "start_opening", "opening", HOST, participants),
        Transition("closed", "fail", "failed", HOST, too_few),
        Transition("opening", "open", "opened", SYSTEM, valid),
        Transition("opening", "fail", "failed", SYSTEM, count_below("valid_offers", min_fact="min_valid_offers")),
        *(Transition(s, "terminate", "terminated", RUNNERS) for s in ("accepting", "closed", "opening")),
    )


def tail(award_from: str, award_guard: Guard | None) -> tuple[Transition, ...]:
    return (
        Transition(award_from, "award", "awarded", RUNNERS, award_guard),
        Transition("awarded", "sign_contract", "contracted", RUNNERS),
        # the winner refused, did not sign or gave up and the buyer re-procures instead of awarding the
        # next candidate (实施条例 55; GP 实施条例 49): this attempt fails, a re-announcement follows
        Transition("awarded", "reprocure", "failed", PROJECT),
        Transition("contracted", "archive", "archived", HOST),
    )


def failure_paths(cancellable: Iterable[str]) -> tuple[Transition, ...]:
    """流标 → re-announce (a new attempt, stages.reannounce) | switch of method (approval reference) |
    cancellation (reason); cancellation also from every stage between the opening and the award."""
    return (
        Transition("failed", "reannounce", "reannounced", RUNNERS),
        Transition("failed", "switch_method", "terminated", PROJECT | frozenset({"operator"}), approval_given),
        *(Transition(s, "cancel", "terminated", PROJECT | frozenset({"operator"}), reason_given)
          for s in ("failed", *cancellable)),
    )
