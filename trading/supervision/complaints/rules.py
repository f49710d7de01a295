"""Complaints (投诉) and their statutory clocks (domain/rules.md §0.3, §1 A "Complaints", §1 C
"Challenges", table rows 19 and 32), pure.

Tender law (实施条例 Art. 60–61): a complaint within 10 days of knowing; matters of Art. 22 (documents),
44 (opening) and 54 (evaluation result) need a prior 异议, and the time the objection was pending is not
counted; the 行政监督部门 decides whether to accept within 3 WD and decides within 30 WD, time for
testing and expert review excluded. GP (94号令 Art. 17, 21, 26, 28): every 投诉 needs a prior 质疑 and
is filed within 15 WD after the reply deadline; the 财政部门 reviews within 5 WD, decides within 30 WD,
and may suspend the procurement for at most 30 days.

Counting follows reference.workdays (§0.1: the start day is not counted, a CD period whose last day is
a rest day runs on to the next working day, a year nobody loaded fails closed). Every figure is a
setting (`complaint.*`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from trading.procedures.common.awards.rules import Regime, regime_of
from trading.reference.settings import SettingDef, define, definition
from trading.reference.workdays import (
    Unit,
    WorkCalendar,
    beijing_date,
    end_of_day,
    period_end,
    period_last_day,
)

define(
    SettingDef("complaint.tender_window_cd", 10, "CD", "实施条例 Art. 60 [V]", "投诉期限（招标投标）",
               "Complaint window (tender law)", 1),
    SettingDef("complaint.gp_window_wd", 15, "WD", "94号令 Art. 17 [V]", "投诉期限（政府采购，质疑答复期满后）",
               "Complaint window after the challenge reply deadline (GP)", 1),
    SettingDef("complaint.tender_accept_wd", 3, "WD", "实施条例 Art. 61 [V]", "投诉受理审查期限（招标投标）",
               "Acceptance review (tender law)", 1),
    SettingDef("complaint.gp_accept_wd", 5, "WD", "94号令 Art. 21 [V]", "投诉受理审查期限（政府采购）",
               "Acceptance review (GP)", 1),
    SettingDef("complaint.decide_wd", 30, "WD", "实施条例 Art. 61; 94号令 Art. 26 [V]", "投诉处理决定期限",
               "Decision period", 1),
    SettingDef("complaint.suspension_max_cd", 30, "CD", "政府采购法 Art. 57; 94号令 Art. 28 [V]",
               "暂停采购活动最长期限", "Longest suspension of the procurement", 1),
    SettingDef("complaint.warn_hours", 48, "hours", "电子监察预警 [P]", "投诉时限黄灯提前量（小时）",
               "Yellow light this many hours before a complaint step is due", 1),
)

SETTINGS = ("complaint.tender_window_cd", "complaint.gp_window_wd", "complaint.tender_accept_wd",
            "complaint.gp_accept_wd", "complaint.decide_wd", "complaint.suspension_max_cd", "complaint.warn_hours",
            # the reply periods of a prior objection made off the platform (defined by the award rules)
            "award.objection_reply_cd", "award.gp_challenge_reply_wd")


def setting(settings: Mapping[str, int], code: str) -> int:
    return int(settings.get(code, definition(code).default))


class Matter(StrEnum):
    DOCUMENTS = "documents"    # 资格预审文件、招标文件 (实施条例 Art. 22)
    OPENING = "opening"        # 开标 (Art. 44)
    RESULT = "result"          # 评标结果 (Art. 54) / 采购结果
    PROCESS = "process"        # 其他违法行为（串通、资格、程序等）


MATTER_LABELS = {
    Matter.DOCUMENTS: ("招标（采购）文件", "Tender / procurement documents"),
    Matter.OPENING: ("开标", "Opening"),
    Matter.RESULT: ("评标（成交）结果", "Evaluation / award result"),
    Matter.PROCESS: ("其他违法违规行为", "Other unlawful conduct"),
}


class Status(StrEnum):
    FILED = "filed"          # 已提交，待受理审查
    ACCEPTED = "accepted"    # 已受理
    REJECTED = "rejected"    # 不予受理
    DECIDED = "decided"      # 已作出处理决定
    WITHDRAWN = "withdrawn"  # 投诉人撤回


STATUS_LABELS = {
    Status.FILED: ("待受理", "Awaiting acceptance"),
    Status.ACCEPTED: ("已受理", "Accepted"),
    Status.REJECTED: ("不予受理", "Not accepted"),
    Status.DECIDED: ("已处理", "Decided"),
    Status.WITHDRAWN: ("已撤回", "Withdrawn"),
}
OPEN_STATUSES = frozenset({Status.FILED, Status.ACCEPTED})


class Outcome(StrEnum):
    UPHELD = "upheld"        # 投诉成立
    PARTLY = "partly"        # 部分成立
    DISMISSED = "dismissed"  # 驳回投诉


OUTCOME_LABELS = {
    Outcome.UPHELD: ("投诉成立", "Upheld"),
    Outcome.PARTLY: ("投诉部分成立", "Partly upheld"),
    Outcome.DISMISSED: ("驳回投诉", "Dismissed"),
}


class PauseKind(StrEnum):
    TESTING = "testing"            # 检验、检测、鉴定
    EXPERT_REVIEW = "expert_review"  # 专家评审


PAUSE_LABELS = {
    PauseKind.TESTING: ("检验、检测、鉴定", "Testing / inspection"),
    PauseKind.EXPERT_REVIEW: ("专家评审", "Expert review"),
}

#: the competent department by regime (rules.md §0.3)
DEPARTMENTS = {
    Regime.TENDER_LAW: ("行政监督部门", "Administrative supervision department"),
    Regime.GP: ("财政部门", "Finance department"),
}

#: audit action codes; a decision (and a refusal to accept, itself a decision) ends in one of
#: audit.services.COMPLAINT_DECISIONS and so signs a checkpoint
ACTIONS = {
    "file": "complaint.filed", "accept": "complaint.accepted", "reject": "complaint.rejected",
    "suspend": "complaint.suspension_ordered", "lift": "complaint.suspension_lifted",
    "pause": "complaint.clock_paused", "resume": "complaint.clock_resumed", "decide": "complaint.decided",
    "withdraw": "complaint.withdrawn",
}


def regime_for(procedure: str) -> Regime:
    return regime_of(procedure)


def department_for(regime: Regime | str) -> tuple[str, str]:
    return DEPARTMENTS[Regime(regime)]


def needs_objection(regime: Regime | str, matter: Matter | str) -> bool:
    """GP: every 投诉 follows a 质疑 (94号令 Art. 17). Tender: Art. 22/44/54 matters (实施条例 Art. 60)."""
    if Regime(regime) == Regime.GP:
        return True
    return Matter(matter) in (Matter.DOCUMENTS, Matter.OPENING, Matter.RESULT)


@dataclass(frozen=True)
class Problem:
    code: str
    zh: str
    en: str
    field: str | None = None


@dataclass(frozen=True)
class PriorObjection:
    """What the window needs to know of the prior 异议/质疑."""
    filed_at: datetime
    reply_due_at: datetime
    answered_at: datetime | None


def last_day(instant: datetime) -> date:
    """The Beijing date a period ending at `instant` last ran on (a 24:00 end is its own day, not the next)."""
    return beijing_date(instant - timedelta(microseconds=1))


#: which prior objection each matter takes: "platform" — the 异议/质疑 filed on the platform against
#: the result (awards.objections); "declared" — a written objection made to the tenderer/buyer outside
#: the platform (documents, the opening, GP process), stated with its dates
def prior_kind(regime: Regime | str, matter: Matter | str) -> str | None:
    regime, matter = Regime(regime), Matter(matter)
    if not needs_objection(regime, matter):
        return None
    return "platform" if matter == Matter.RESULT else "declared"


@dataclass(frozen=True)
class Declared:
    """A prior objection made outside the platform, as the complainant states it."""
    note: str
    filed_on: date
    answered_on: date | None


def declared_problem(d: Declared, today: date) -> Problem | None:
    if not 4 <= len(d.note.strip()) <= 500:
        return Problem("complaint.declared_note", "请写明在先异议（质疑）的内容和提出方式（4–500 字）",
                       "Describe the prior objection and how it was made (4–500 characters)", "declared_objection")
    if d.filed_on > today:
        return Problem("complaint.declared_dates", "异议（质疑）提出之日不能晚于今天",
                       "The objection cannot be dated in the future", "declared_objection")
    if d.answered_on is not None and not d.filed_on <= d.answered_on <= today:
        return Problem("complaint.declared_dates", "答复之日须在提出之日与今天之间",
                       "The reply date must lie between the objection date and today", "declared_objection")
    return None


def declared_prior(cal: WorkCalendar, regime: Regime | str, d: Declared, settings: Mapping[str, int]) -> PriorObjection:
    """The declared objection as a PriorObjection: its reply period is the statutory one — 3 days for
    a tender-law 异议 (实施条例 Art. 22, 44, 54), 7 working days for a GP 质疑 (94号令 Art. 13)."""
    if Regime(regime) == Regime.GP:
        last = period_last_day(cal, d.filed_on, setting(settings, "award.gp_challenge_reply_wd"), Unit.WD)
    else:
        last = period_last_day(cal, d.filed_on, setting(settings, "award.objection_reply_cd"), Unit.CD)
    filed = end_of_day(d.filed_on - timedelta(days=1))  # 00:00 Beijing time of that day
    answered = end_of_day(d.answered_on - timedelta(days=1)) if d.answered_on else None
    return PriorObjection(filed, end_of_day(last), answered)


def objection_pending_days(obj: PriorObjection, now: datetime) -> int:
    """Calendar days the objection was pending (filed → answered, or → the last day of its reply period
    if it was never answered): not counted in the tender-law window (实施条例 Art. 60 ¶2)."""
    end = beijing_date(obj.answered_at) if obj.answered_at else last_day(min(obj.reply_due_at, now))
    return max(0, (end - beijing_date(obj.filed_at)).days)


def filing_window_closes(cal: WorkCalendar, regime: Regime | str, known_on: date | None, objection: PriorObjection | None,
                         now: datetime, settings: Mapping[str, int]) -> datetime:
    """The instant the complaint window closes (exclusive).

    Tender: 10 CD from the day the complainant knew (start day not counted), moved on by the days a
    prior objection was pending. GP: 15 WD after the challenge's reply deadline (答复期满后)."""
    if Regime(regime) == Regime.GP:
        if objection is None:
            raise ValueError("a GP complaint's window runs from its challenge")
        start = last_day(objection.reply_due_at)  # 答复期满后: counting starts the day after the reply period
        return end_of_day(period_last_day(cal, start, setting(settings, "complaint.gp_window_wd"), Unit.WD))
    if known_on is None:
        raise ValueError("a tender-law complaint's window runs from the day the complainant knew")
    start = known_on + timedelta(days=objection_pending_days(objection, now) if objection else 0)
    return end_of_day(period_last_day(cal, start, setting(settings, "complaint.tender_window_cd"), Unit.CD))


def filing_problem(cal: WorkCalendar, regime: Regime | str, matter: Matter | str, known_on: date | None,
                   objection: PriorObjection | None, now: datetime, settings: Mapping[str, int]) -> Problem | None:
    """Why a complaint may not be filed now, or None. Order: the prior objection, the known date, the
    objection's reply, then the window."""
    regime, matter = Regime(regime), Matter(matter)
    if needs_objection(regime, matter) and objection is None:
        if prior_kind(regime, matter) == "platform":
            what = ("质疑" if regime == Regime.GP else "异议", "challenge" if regime == Regime.GP else "objection")
            return Problem("complaint.objection_required",
                           f"就评标（成交）结果投诉的，应当先提出{what[0]}：请选择本单位在平台上提出的{what[0]}",
                           f"A complaint about the result must follow a {what[1]}: choose your {what[1]} on the platform",
                           "objection_id")
        if regime == Regime.GP:
            return Problem("complaint.objection_required", "政府采购投诉须先提出质疑：请填写本单位书面质疑的内容和日期",
                           "A GP complaint must follow a challenge: state your written challenge and its dates",
                           "declared_objection")
        return Problem("complaint.objection_required",
                       "就招标文件、开标投诉的，应当先向招标人提出异议（实施条例第六十条）：请填写本单位书面异议的内容和日期",
                       "Complaints about the documents or the opening must follow an objection to the tenderer "
                       "(Regulations Art. 60): state your written objection and its dates", "declared_objection")
    if regime == Regime.TENDER_LAW:
        if known_on is None:
            return Problem("complaint.known_on_required", "请填写知道或者应当知道违法行为之日",
                           "Give the day you knew (or should have known) of the matter", "known_on")
        if known_on > beijing_date(now):
            return Problem("complaint.known_on_future", "知道之日不能晚于今天", "The day you knew cannot be in the future",
                           "known_on")
    if objection is not None and objection.answered_at is None and now < objection.reply_due_at:
        return Problem("complaint.objection_pending", "异议（质疑）尚在答复期内：请在答复后或答复期满后投诉",
                       "The objection is still within its reply period: complain after the reply or its deadline",
                       "objection_id")
    if _certainly_closed(regime, known_on, objection, now, settings):
        return _CLOSED
    closes = filing_window_closes(cal, regime, known_on, objection, now, settings)
    if now >= closes:
        return _CLOSED
    return None


_CLOSED = Problem("complaint.window_closed", "已超过法定投诉期限，不能提出投诉", "The statutory complaint period has ended")
#: no window can outlast its nominal length by more than this many days of rest days (the longest
#: holiday runs are about 8–9 days): a start older than that closed long ago, whatever the calendar
_SLACK_DAYS = 20


def _certainly_closed(regime: Regime, known_on: date | None, objection: PriorObjection | None, now: datetime,
                      settings: Mapping[str, int]) -> bool:
    """True when the window closed long ago: decided without counting, so an old date never asks for a
    calendar year nobody loaded (which would fail closed with a misleading message)."""
    today = beijing_date(now)
    if regime == Regime.GP:
        if objection is None:
            return False
        days = 7 * (setting(settings, "complaint.gp_window_wd") // 5 + 1)  # n WD are at most this many CD
        return today > last_day(objection.reply_due_at) + timedelta(days=days + _SLACK_DAYS)
    if known_on is None:
        return False
    pending = objection_pending_days(objection, now) if objection else 0
    return today > known_on + timedelta(days=pending + setting(settings, "complaint.tender_window_cd") + _SLACK_DAYS)


def accept_due(cal: WorkCalendar, regime: Regime | str, filed_at: datetime, settings: Mapping[str, int]) -> datetime:
    code = "complaint.gp_accept_wd" if Regime(regime) == Regime.GP else "complaint.tender_accept_wd"
    return period_end(cal, filed_at, setting(settings, code), Unit.WD)


@dataclass(frozen=True)
class Pause:
    """Time excluded from the decision clock (testing, expert review): [started_at, ended_at)."""
    started_at: datetime
    ended_at: datetime | None


def excluded_days(pauses: Iterable[Pause]) -> frozenset[date]:
    """The Beijing dates a closed pause excludes: after its start day, up to and including its end day
    (the start day is not counted, as for any period). An open pause excludes nothing yet: the clock
    stands still and the decision due date is unknown until it resumes."""
    out: set[date] = set()
    for p in pauses:
        if p.ended_at is None:
            continue
        d, last = beijing_date(p.started_at), beijing_date(p.ended_at)
        while d < last:
            d += timedelta(days=1)
            out.add(d)
    return frozenset(out)


def decide_due(cal: WorkCalendar, accepted_at: datetime, pauses: Iterable[Pause],
               settings: Mapping[str, int]) -> datetime | None:
    """30 WD after acceptance, working days inside excluded time not counted; None while a pause is open."""
    pauses = list(pauses)
    if any(p.ended_at is None for p in pauses):
        return None
    skip = excluded_days(pauses)
    n = setting(settings, "complaint.decide_wd")
    d, counted = beijing_date(accepted_at), 0
    while counted < n:
        d += timedelta(days=1)
        if d not in skip and cal.is_workday(d):
            counted += 1
    return end_of_day(d)


def suspension_problem(days: object, settings: Mapping[str, int]) -> Problem | None:
    cap = setting(settings, "complaint.suspension_max_cd")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= cap:
        return Problem("complaint.suspension_days", f"暂停期限为 1–{cap} 日", f"A suspension lasts 1–{cap} days", "days")
    return None


def suspension_ends(ordered_at: datetime, days: int) -> datetime:
    """The suspension lasts `days` calendar days after the order day (no rest-day extension: it is a cap)."""
    return end_of_day(beijing_date(ordered_at) + timedelta(days=days))


def suspension_active(ordered_at: datetime | None, ends_at: datetime | None, lifted_at: datetime | None,
                      now: datetime) -> bool:
    return ordered_at is not None and ends_at is not None and lifted_at is None and ordered_at <= now < ends_at


GREEN, YELLOW, RED = "green", "yellow", "red"


def light(due_at: datetime | None, now: datetime, warn: timedelta) -> str:
    """red: due or overdue; yellow: due within `warn`; green otherwise (and while a clock stands still)."""
    if due_at is None:
        return GREEN
    if now >= due_at:
        return RED
    if due_at - now <= warn:
        return YELLOW
    return GREEN


# --- the state machine ------------------------------------------------------------------------------

#: (action) → statuses it starts from
FROM = {
    "accept": {Status.FILED}, "reject": {Status.FILED}, "withdraw": {Status.FILED, Status.ACCEPTED},
    "suspend": {Status.FILED, Status.ACCEPTED}, "lift": {Status.FILED, Status.ACCEPTED, Status.DECIDED,
                                                          Status.REJECTED, Status.WITHDRAWN},
    "pause": {Status.ACCEPTED}, "resume": {Status.ACCEPTED}, "decide": {Status.ACCEPTED},
}


def transition_problem(action: str, status: str, *, paused: bool = False, suspended: bool = False) -> Problem | None:
    if Status(status) not in FROM[action]:
        label = STATUS_LABELS[Status(status)]
        return Problem("complaint.wrong_status", f"投诉当前状态为“{label[0]}”，不能执行此操作",
                       f"The complaint is {label[1].lower()}; this step does not apply", None)
    if action == "pause" and paused:
        return Problem("complaint.already_paused", "处理期限已中止计算", "The clock is already paused", None)
    if action in ("resume",) and not paused:
        return Problem("complaint.not_paused", "处理期限未中止计算", "The clock is not paused", None)
    if action == "decide" and paused:
        return Problem("complaint.paused", "检验、检测或专家评审尚未结束：请先恢复计时", "Resume the clock before deciding",
                       None)
    if action == "suspend" and suspended:
        return Problem("complaint.already_suspended", "采购（招标）活动已暂停", "The procurement is already suspended", None)
    if action == "lift" and not suspended:
        return Problem("complaint.not_suspended", "没有生效的暂停", "No suspension is in force", None)
    return None


def new_status(action: str) -> Status | None:
    return {"accept": Status.ACCEPTED, "reject": Status.REJECTED, "decide": Status.DECIDED,
            "withdraw": Status.WITHDRAWN}.get(action)


def text_problem(value: object, field: str, lo: int, hi: int) -> Problem | None:
    text = value.strip() if isinstance(value, str) else ""
    if not lo <= len(text) <= hi:
        return Problem(f"complaint.{field}_length", f"请填写{FIELD_LABELS[field][0]}（{lo}–{hi} 字）",
                       f"Fill in the {FIELD_LABELS[field][1]} ({lo}–{hi} characters)", field)
    return None


FIELD_LABELS = {
    "facts": ("投诉事项和事实依据", "facts"), "request": ("投诉请求", "request"), "reason": ("理由", "reason"),
    "decision": ("处理决定书正文", "written decision"),
}
