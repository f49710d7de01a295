"""Complaints (投诉): filing by a bidder/supplier inside its statutory window, routing to the competent
department, and the supervisor's workflow — accept or refuse to accept within the acceptance clock,
suspend the procurement (暂停, at most complaint.suspension_max_cd days), pause the decision clock for
testing or expert review, decide (upheld / partly / dismissed) in writing — and withdrawal by the
complainant. Every step is one audited transaction (`complaint.*`; decisions and refusals sign a
checkpoint); a refused step writes nothing.

Who sees what: supervisors every complaint; the complainant its own; the project's owner and agency
(the respondent) complaints about their projects once accepted; everyone the decisions (公开投诉处理决定).

While a suspension is in force the lot's stage machine refuses every step (`stages.ADVANCE_GUARDS`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from trading.procedures.common import stages
from trading.procedures.common.awards.models import Objection
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import LotTrade
from trading.projects.models import Project
from trading.reference.services import get_calendar
from trading.reference.settings import get_setting
from trading.reference.workdays import CalendarYearMissing

from . import rules
from .models import Complaint, ComplaintFile, ComplaintPause
from .rules import Matter, Outcome, PauseKind, Problem, Status

FILERS = roles_for("complaint.file")
HANDLERS = roles_for("complaint.handle")
RESPONDENTS = roles_for("complaint.respond_read")
FACTS_MIN, FACTS_MAX = 10, 5000
REQUEST_MIN, REQUEST_MAX = 4, 2000
REASON_MIN, REASON_MAX = 4, 2000
DECISION_MIN, DECISION_MAX = 10, 10000
FILES_MAX = 5
FILE_MAX_BYTES = 10 * 1024 * 1024
#: evidence files: PDF or pictures, known by their first bytes
FILE_TYPES = (b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def settings_of(ctx: ServiceContext) -> dict[str, int]:
    return {code: get_setting(ctx, code) for code in rules.SETTINGS}


def _refuse(problem: Problem, cls=RuleViolation):
    return cls(problem.code, problem.zh, problem.en, field=problem.field)


def _text(value: object, field: str, lo: int, hi: int) -> str:
    problem = rules.text_problem(value, field, lo, hi)
    if problem is not None:
        raise _refuse(problem, InvalidInput)
    return value.strip()


def _files(files) -> list[tuple[str, bytes]]:
    out = []
    for name, data in files or ():
        if not data:
            continue
        if not isinstance(data, bytes | bytearray) or len(data) > FILE_MAX_BYTES:
            raise InvalidInput("complaint.file_size", "每个证据文件不超过 10 MB", "Each evidence file is at most 10 MB",
                               field="files")
        if not bytes(data).startswith(FILE_TYPES):
            raise InvalidInput("complaint.file_type", "证据文件须为 PDF、PNG 或 JPEG", "Evidence files must be PDF, PNG or JPEG",
                               field="files")
        clean = (name if isinstance(name, str) else "").replace("/", "_").replace("\\", "_").strip()[:200]
        out.append((clean or "evidence", bytes(data)))
    if len(out) > FILES_MAX:
        raise InvalidInput("complaint.files_count", f"证据文件最多 {FILES_MAX} 个", f"At most {FILES_MAX} evidence files",
                           field="files")
    return out


def _prior(obj: Objection | None) -> rules.PriorObjection | None:
    if obj is None:
        return None
    return rules.PriorObjection(obj.filed_at, obj.reply_due_at, obj.answered_at)


def _objection(ctx: ServiceContext, trade: LotTrade, objection_id: int | None) -> Objection | None:
    if objection_id is None:
        return None
    obj = ctx.session.get(Objection, objection_id) if isinstance(objection_id, int) else None
    if obj is None or obj.lot_id != trade.lot_id or obj.bidder_org_id != ctx.actor.org_id:
        raise InvalidInput("complaint.objection_unknown", "所选异议（质疑）不是本单位就该标段提出的",
                           "The objection is not one your organisation filed on this lot", field="objection_id")
    return obj


def _prior_for(ctx: ServiceContext, regime, matter: Matter, obj: Objection | None,
               declared: rules.Declared | None) -> rules.PriorObjection | None:
    """The prior objection the matter takes: the platform's 异议/质疑 for the result, a declared
    written one otherwise; the wrong kind is refused with what to give instead."""
    kind = rules.prior_kind(regime, matter)
    if obj is not None and declared is not None:
        raise InvalidInput("complaint.prior_both", "请只选择平台上的异议（质疑）或只填写书面异议，不要同时提供",
                           "Give either the platform objection or a written one, not both", field="objection_id")
    if obj is not None and kind != "platform":
        raise InvalidInput("complaint.objection_kind", "平台上的异议（质疑）针对评标（成交）结果；该事项请填写书面异议，或无需在先异议",
                           "Platform objections concern the result; for this matter state a written objection, "
                           "or none is needed", field="objection_id")
    if declared is not None and kind != "declared":
        raise InvalidInput("complaint.declared_kind", "该事项的在先异议（质疑）须选择平台上的记录，或无需在先异议",
                           "For this matter choose the objection recorded on the platform, or none is needed",
                           field="declared_objection")
    if declared is not None:
        problem = rules.declared_problem(declared, rules.beijing_date(ctx.now()))
        if problem is not None:
            raise _refuse(problem, InvalidInput)
        return rules.declared_prior(get_calendar(ctx), regime, declared, settings_of(ctx))
    return _prior(obj)


def file_complaint(ctx: ServiceContext, lot_code: str, *, matter: str, facts: str, request: str,
                   known_on: date | None = None, objection_id: int | None = None,
                   declared: rules.Declared | None = None,
                   files: list[tuple[str, bytes]] | None = None) -> Complaint:
    """A bidder/supplier complains about a lot to the competent department, inside the statutory
    window; the acceptance clock starts now. A matter that needs a prior objection names it: the
    platform's 异议/质疑 (`objection_id`, the result) or a written one made elsewhere (`declared`)."""
    ctx.require(*FILERS)
    trade = get_trade(ctx, lot_code)
    try:
        matter = Matter(matter)
    except ValueError:
        raise InvalidInput("complaint.matter", "请选择投诉事项类别", "Choose what the complaint is about",
                           field="matter") from None
    regime = rules.regime_for(trade.procedure)
    obj = _objection(ctx, trade, objection_id)
    prior = _prior_for(ctx, regime, matter, obj, declared)
    facts = _text(facts, "facts", FACTS_MIN, FACTS_MAX)
    request = _text(request, "request", REQUEST_MIN, REQUEST_MAX)
    evidence = _files(files)
    now, cal, settings = ctx.now(), get_calendar(ctx), settings_of(ctx)
    if regime == rules.Regime.GP:
        known_on = None  # the GP window runs from the challenge's reply deadline
    problem = rules.filing_problem(cal, regime, matter, known_on, prior, now, settings)
    if problem is not None:
        raise _refuse(problem)
    closes = rules.filing_window_closes(cal, regime, known_on, prior, now, settings)
    c = Complaint(lot_id=trade.lot_id, project_id=trade.project_id, regime=regime.value, matter=matter.value,
                  complainant_org_id=ctx.actor.org_id, filed_by=ctx.actor.user_id, filed_at=now, known_on=known_on,
                  objection_id=obj.id if obj else None, declared_objection=declared.note.strip() if declared else "",
                  declared_filed_on=declared.filed_on if declared else None,
                  declared_answered_on=declared.answered_on if declared else None, facts=facts, request=request, window_closes_at=closes,
                  accept_due_at=rules.accept_due(cal, regime, now, settings), status=Status.FILED.value)
    ctx.session.add(c)
    ctx.session.flush()
    store = get_store() if evidence else None
    for name, data in evidence:
        sha = store.put_bytes(data)
        ctx.session.add(ComplaintFile(complaint_id=c.id, name=name, sha256=sha, size=len(data)))
    ctx.session.flush()
    record(ctx, rules.ACTIONS["file"], "complaint", c.id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "regime": regime.value, "department": rules.department_for(regime)[0],
                    "matter": matter.value, "complainant_org_id": c.complainant_org_id, "objection_id": c.objection_id,
                    "declared_objection": {"filed_on": declared.filed_on.isoformat(),
                                           "answered_on": declared.answered_on.isoformat() if declared.answered_on
                                           else None} if declared else None,
                    "known_on": known_on.isoformat() if known_on else None, "window_closes_at": closes,
                    "accept_due_at": c.accept_due_at, "facts_len": len(facts),
                    "files": [{"name": n, "size": len(d)} for n, d in evidence]})
    return c


# --- reading -----------------------------------------------------------------------------------------

def _project(ctx: ServiceContext, c: Complaint) -> Project:
    return ctx.session.get(Project, c.project_id)


def can_see(ctx: ServiceContext, c: Complaint) -> bool:
    actor = ctx.actor
    if actor.has(*HANDLERS):
        return True
    if actor.has(*FILERS) and actor.org_id == c.complainant_org_id:
        return True
    if actor.has(*RESPONDENTS) and c.accepted_at is not None:
        p = _project(ctx, c)
        return actor.org_id is not None and actor.org_id in (p.owner_org_id, p.agency_org_id)
    return False


def get_complaint(ctx: ServiceContext, complaint_id: int, *, lock: bool = False) -> Complaint:
    stmt = select(Complaint).where(Complaint.id == complaint_id)
    if lock:
        stmt = stmt.with_for_update()
    c = ctx.session.execute(stmt).scalar_one_or_none() if isinstance(complaint_id, int) else None
    if c is None or not can_see(ctx, c):
        raise not_found("投诉", "Complaint")
    return c


def list_complaints(ctx: ServiceContext, *, status: str | None = None) -> list[Complaint]:
    """The caller's complaints: all (supervisor), its own (complainant), its projects' accepted ones
    (owner/agency); anyone else is refused."""
    actor = ctx.actor
    stmt = select(Complaint).order_by(Complaint.id.desc())
    if actor.has(*HANDLERS):
        pass
    elif actor.has(*FILERS):
        stmt = stmt.where(Complaint.complainant_org_id == actor.org_id)
    elif actor.has(*RESPONDENTS):
        stmt = stmt.join(Project, Project.id == Complaint.project_id).where(
            Complaint.accepted_at.is_not(None),
            or_(Project.owner_org_id == actor.org_id, Project.agency_org_id == actor.org_id))
    else:
        ctx.require(*HANDLERS, *FILERS, *RESPONDENTS)
    if status:
        stmt = stmt.where(Complaint.status == status)
    return list(ctx.session.execute(stmt).scalars())


def public_decisions(session: Session, *, limit: int = 100) -> list[Complaint]:
    """公开投诉处理决定: decided complaints, newest first."""
    return list(session.execute(select(Complaint).where(Complaint.status == Status.DECIDED.value)
                                .order_by(Complaint.decided_at.desc(), Complaint.id.desc()).limit(limit)).scalars())


def my_objections(ctx: ServiceContext, lot_code: str) -> list[Objection]:
    """The caller's 异议/质疑 on the lot, for the filing form's choice."""
    ctx.require(*FILERS)
    trade = get_trade(ctx, lot_code)
    return list(ctx.session.execute(select(Objection).where(
        Objection.lot_id == trade.lot_id, Objection.bidder_org_id == ctx.actor.org_id).order_by(Objection.id)).scalars())


def lot_code_of(session: Session, c: Complaint) -> str:
    return session.get(LotTrade, c.lot_id).lot_code


def file_data(ctx: ServiceContext, complaint_id: int, file_id: int) -> tuple[ComplaintFile, bytes]:
    c = get_complaint(ctx, complaint_id)
    f = next((f for f in c.files if f.id == file_id), None)
    if f is None:
        raise not_found("文件", "File")
    return f, get_store().read(f.sha256)


# --- clocks ------------------------------------------------------------------------------------------

def _pauses(c: Complaint) -> list[rules.Pause]:
    return [rules.Pause(p.started_at, p.ended_at) for p in c.pauses]


def paused(c: Complaint) -> bool:
    return any(p.ended_at is None for p in c.pauses)


def suspended(c: Complaint, now: datetime) -> bool:
    return rules.suspension_active(c.suspended_at, c.suspension_ends_at, c.suspension_lifted_at, now)


def decide_due(ctx: ServiceContext, c: Complaint) -> datetime | None:
    """The decision due instant: None before acceptance and while the clock is paused. A year nobody
    loaded fails closed (CalendarYearMissing)."""
    if c.accepted_at is None:
        return None
    return rules.decide_due(get_calendar(ctx), c.accepted_at, _pauses(c), settings_of(ctx))


def decide_due_or_none(ctx: ServiceContext, c: Complaint) -> datetime | None:
    """For records and pages: None (shown as unknown, red on the clock list) when the calendar year the
    period runs into is not loaded yet; the step itself does not depend on it."""
    try:
        return decide_due(ctx, c)
    except CalendarYearMissing:
        return None


@dataclass(frozen=True)
class ClockRow:
    complaint: Complaint
    step: str           # accept | decide | suspension
    due_at: datetime | None
    light: str
    paused: bool = False
    #: the period runs into a calendar year nobody loaded: the due instant cannot be computed
    calendar_missing: bool = False


STEP_LABELS = {
    "accept": ("受理审查", "Acceptance review"),
    "decide": ("作出处理决定", "Decision"),
    "suspension": ("暂停期满", "Suspension ends"),
}


def clocks_of(ctx: ServiceContext, c: Complaint, now: datetime) -> list[ClockRow]:
    """The running clocks of one complaint: acceptance (filed), decision (accepted; None while paused),
    suspension end (while one is in force)."""
    warn = timedelta(hours=get_setting(ctx, "complaint.warn_hours"))
    out = []
    if c.status == Status.FILED.value:
        out.append(ClockRow(c, "accept", c.accept_due_at, rules.light(c.accept_due_at, now, warn)))
    elif c.status == Status.ACCEPTED.value:
        try:
            due = decide_due(ctx, c)
        except CalendarYearMissing:
            out.append(ClockRow(c, "decide", None, rules.RED, calendar_missing=True))
        else:
            out.append(ClockRow(c, "decide", due, rules.light(due, now, warn), paused=paused(c)))
    if suspended(c, now):
        out.append(ClockRow(c, "suspension", c.suspension_ends_at, rules.light(c.suspension_ends_at, now, warn)))
    return out


def open_complaint_clocks(session: Session, now: datetime) -> list[ClockRow]:
    """Every open complaint's running clocks (complaint, step, due_at, light), soonest first: for the
    platform's time-limit list."""
    ctx = ServiceContext(session=session)
    rows = session.execute(select(Complaint).where(
        or_(Complaint.status.in_([s.value for s in rules.OPEN_STATUSES]),
            Complaint.suspension_lifted_at.is_(None) & (Complaint.suspension_ends_at > now)))
        .order_by(Complaint.id)).scalars()
    out = [row for c in rows for row in clocks_of(ctx, c, now)]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(out, key=lambda r: (r.due_at or far, r.complaint.id))


# --- the supervisor's steps ----------------------------------------------------------------------------

def _handled(ctx: ServiceContext, complaint_id: int, action: str) -> Complaint:
    ctx.require(*HANDLERS)
    c = get_complaint(ctx, complaint_id, lock=True)
    problem = rules.transition_problem(action, c.status, paused=paused(c), suspended=suspended(c, ctx.now()))
    if problem is not None:
        raise _refuse(problem, Conflict)
    return c


def _audit(ctx: ServiceContext, c: Complaint, action: str, **payload) -> None:
    ctx.session.flush()
    record(ctx, rules.ACTIONS[action], "complaint", c.id, project_id=c.project_id,
           payload={"lot_code": lot_code_of(ctx.session, c), "status": c.status, **payload})


def accept(ctx: ServiceContext, complaint_id: int) -> Complaint:
    c = _handled(ctx, complaint_id, "accept")
    now = ctx.now()
    c.status, c.accepted_at, c.handled_by = Status.ACCEPTED.value, now, ctx.actor.user_id
    _audit(ctx, c, "accept", late=now >= c.accept_due_at, accept_due_at=c.accept_due_at,
           decide_due_at=decide_due_or_none(ctx, c))
    return c


def reject(ctx: ServiceContext, complaint_id: int, reason: str) -> Complaint:
    """不予受理, with the reason (a decision: it signs a checkpoint)."""
    c = _handled(ctx, complaint_id, "reject")
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX)
    now = ctx.now()
    c.status, c.rejected_at, c.reject_reason, c.handled_by = Status.REJECTED.value, now, reason, ctx.actor.user_id
    _audit(ctx, c, "reject", reason=reason, late=now >= c.accept_due_at, accept_due_at=c.accept_due_at)
    return c


def suspend(ctx: ServiceContext, complaint_id: int, days: int, reason: str) -> Complaint:
    """暂停 the procurement of the lot for `days` calendar days (at most the setting)."""
    c = _handled(ctx, complaint_id, "suspend")
    problem = rules.suspension_problem(days, settings_of(ctx))
    if problem is not None:
        raise _refuse(problem, InvalidInput)
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX)
    now = ctx.now()
    c.suspended_at, c.suspension_ends_at, c.suspension_lifted_at = now, rules.suspension_ends(now, days), None
    c.suspension_reason = reason
    _audit(ctx, c, "suspend", days=days, ends_at=c.suspension_ends_at, reason=reason)
    return c


def lift(ctx: ServiceContext, complaint_id: int, reason: str) -> Complaint:
    c = _handled(ctx, complaint_id, "lift")
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX)
    c.suspension_lifted_at = ctx.now()
    _audit(ctx, c, "lift", ends_at=c.suspension_ends_at, reason=reason)
    return c


def pause(ctx: ServiceContext, complaint_id: int, kind: str, reason: str) -> Complaint:
    """Testing, inspection or expert review starts: its time is not counted in the decision period."""
    c = _handled(ctx, complaint_id, "pause")
    try:
        kind = PauseKind(kind)
    except ValueError:
        raise InvalidInput("complaint.pause_kind", "请选择中止计时的事由（检验检测鉴定或专家评审）",
                           "Choose why the clock stops (testing or expert review)", field="kind") from None
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX)
    c.pauses.append(ComplaintPause(complaint_id=c.id, kind=kind.value, reason=reason, started_at=ctx.now()))
    _audit(ctx, c, "pause", kind=kind.value, reason=reason)
    return c


def resume(ctx: ServiceContext, complaint_id: int) -> Complaint:
    c = _handled(ctx, complaint_id, "resume")
    p = next(p for p in c.pauses if p.ended_at is None)
    p.ended_at = ctx.now()
    ctx.session.flush()
    _audit(ctx, c, "resume", pause_id=p.id, started_at=p.started_at, decide_due_at=decide_due_or_none(ctx, c))
    return c


def decide(ctx: ServiceContext, complaint_id: int, outcome: str, decision: str) -> Complaint:
    """The written decision (投诉处理决定书): upheld, partly upheld or dismissed; a late one is recorded late."""
    c = _handled(ctx, complaint_id, "decide")
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise InvalidInput("complaint.outcome", "请选择处理结果：投诉成立、部分成立或驳回",
                           "Choose the outcome: upheld, partly upheld or dismissed", field="outcome") from None
    decision = _text(decision, "decision", DECISION_MIN, DECISION_MAX)
    now = ctx.now()
    due = decide_due_or_none(ctx, c)
    c.status, c.outcome, c.decision, c.decided_at, c.decide_due_at = Status.DECIDED.value, outcome.value, decision, now, due
    c.handled_by = ctx.actor.user_id
    _audit(ctx, c, "decide", outcome=outcome.value, decide_due_at=due, late=due is not None and now >= due,
           decision_len=len(decision))
    return c


def withdraw(ctx: ServiceContext, complaint_id: int, reason: str) -> Complaint:
    """The complainant withdraws (before the decision)."""
    ctx.require(*FILERS)
    c = get_complaint(ctx, complaint_id, lock=True)
    if c.complainant_org_id != ctx.actor.org_id:
        raise Forbidden("complaint.not_complainant", "只有投诉人可以撤回投诉", "Only the complainant may withdraw")
    problem = rules.transition_problem("withdraw", c.status)
    if problem is not None:
        raise _refuse(problem, Conflict)
    reason = _text(reason, "reason", REASON_MIN, REASON_MAX)
    c.status, c.withdrawn_at, c.withdraw_reason = Status.WITHDRAWN.value, ctx.now(), reason
    _audit(ctx, c, "withdraw", reason=reason)
    return c


# --- the suspension refuses the lot's stage steps -------------------------------------------------------

def suspension_in_force(session: Session, lot_id: int, now: datetime) -> Complaint | None:
    return session.execute(select(Complaint).where(
        Complaint.lot_id == lot_id, Complaint.suspended_at.is_not(None), Complaint.suspended_at <= now,
        Complaint.suspension_lifted_at.is_(None), Complaint.suspension_ends_at > now)
        .order_by(Complaint.id).limit(1)).scalar_one_or_none()


def _suspension_guard(ctx: ServiceContext, trade: LotTrade, action: str) -> None:
    c = suspension_in_force(ctx.session, trade.lot_id, ctx.now())
    if c is not None:
        dept = rules.department_for(c.regime)
        raise Conflict("complaint.suspended",
                       f"{dept[0]}因投诉（第 {c.id} 号）已暂停本标段的采购（招标）活动，暂停期间不能办理此步骤",
                       f"The {dept[1].lower()} suspended this lot over complaint no. {c.id}; no step may be taken "
                       "while the suspension is in force", details={"complaint_id": c.id})


if _suspension_guard not in stages.ADVANCE_GUARDS:
    stages.ADVANCE_GUARDS.append(_suspension_guard)
