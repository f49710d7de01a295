"""Alert use cases: raise (idempotent per rule + subject, audited, announced live), the supervisor's
workflow (acknowledge → investigate → close with a finding, each audited), and who may read which
alert.

Who reads: supervisors every alert; operators every alert except those whose evidence is their own
action (AlertSubjectUser). Nobody reads an alert whose evidence reveals a lot's bidders before that
lot's deadline (embargo_lot_id; 招标投标法 Art. 22, rules.md §2.4): it is stored at the event and
announced when the deadline has passed (`announce_released`, run by the sweep).

Who works: supervisors only, and never an alert whose evidence is their own action (回避: a supervisor
who paused an auction does not close the alert about it). So an operator can neither close an alert
about itself nor see that it was closed: the alert, its status and finding stay out of its list,
its detail (404) and its actions (403) — issue 6's acceptance item."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_, select

from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.audit.services import record
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, not_found
from trading.core.events import publish
from trading.procedures.common.lots import LotStatus
from trading.procedures.common.models import LotTrade

from . import rules
from .models import AlertSubjectUser, SupervisionAlert

SUPERVISOR, OPERATOR = "supervisor", "operator"
READERS = (SUPERVISOR, OPERATOR)
CHANNEL = "supervision:alerts"
STATUSES = ("open", "acknowledged", "investigating", "closed")
OUTCOMES = ("confirmed", "unfounded", "referred")
#: status → the statuses it may move to
TRANSITIONS = {"open": ("acknowledged",), "acknowledged": ("investigating", "closed"),
               "investigating": ("closed",), "closed": ()}
#: evidence entries whose actor only carried data in (a statement import, the opening itself): they
#: do not make their actor a subject of the alert
NEUTRAL_ACTIONS = ("deposit.statement_imported", "opening.opened")
FINDING_MAX = 2000
NOTE_MAX = 1000


# --- raising -------------------------------------------------------------------------------------

def raise_finding(ctx: ServiceContext, f: rules.Finding, *, project_id: int | None, lot_id: int | None,
                  embargo_lot_id: int | None, trigger_seq: int | None) -> SupervisionAlert | None:
    """Store a finding as an alert unless one exists for its rule + subject (then None)."""
    session = ctx.session
    if session.execute(select(SupervisionAlert.id).where(SupervisionAlert.rule == f.rule,
                                                         SupervisionAlert.subject == f.subject)).first():
        return None
    alert = SupervisionAlert(rule=f.rule, subject=f.subject[:200], severity=f.severity, status="open",
                             project_id=project_id, lot_id=lot_id, embargo_lot_id=embargo_lot_id,
                             summary_zh=f.zh[:400], summary_en=f.en[:400],
                             evidence={"seqs": list(f.seqs), "lots": list(f.lots), "orgs": list(f.orgs),
                                       "facts": f.facts},
                             raised_at=ctx.now(), trigger_seq=trigger_seq, notes=[])
    session.add(alert)
    session.flush()
    users = set(session.execute(select(AuditEntry.actor_user_id).where(
        AuditEntry.seq.in_(list(f.seqs)), AuditEntry.actor_user_id.is_not(None),
        AuditEntry.action.not_in(NEUTRAL_ACTIONS))).scalars()) if f.seqs else set()
    for user_id in sorted(users):
        session.add(AlertSubjectUser(alert_id=alert.id, user_id=user_id))
    record(ctx, "alert.raised", "supervision_alert", alert.id, project_id=project_id, embargo_lot_id=embargo_lot_id,
           payload={"rule": f.rule, "severity": f.severity, "subject": alert.subject, "evidence_seqs": list(f.seqs),
                    "trigger_seq": trigger_seq})
    if _visible_now(session, alert, ctx.now()):
        _announce(ctx, alert)
    session.flush()
    return alert


def _announce(ctx: ServiceContext, alert: SupervisionAlert) -> None:
    alert.announced_at = ctx.now()
    publish(ctx, CHANNEL, "alert:new", alert_event(ctx.session, alert), audience="staff")


def announce_released(ctx: ServiceContext) -> int:
    """Announce the alerts held back by a lot's secrecy whose deadline has now passed."""
    pending = ctx.session.execute(select(SupervisionAlert).where(SupervisionAlert.announced_at.is_(None),
                                                                 visible_clause(ctx.now()))
                                  .order_by(SupervisionAlert.id)).scalars().all()
    for alert in pending:
        _announce(ctx, alert)
    ctx.session.flush()
    return len(pending)


def alert_event(session, alert: SupervisionAlert) -> dict:
    """What the dashboard's live stream carries: no evidence, only the row it shows."""
    trade = session.get(LotTrade, alert.lot_id) if alert.lot_id else None
    basis = rules.RULES.get(alert.rule)
    return {"id": alert.id, "rule": alert.rule, "severity": alert.severity, "status": alert.status,
            "summary": alert.summary_zh, "summary_en": alert.summary_en,
            "rule_name": basis.zh if basis else alert.rule, "rule_name_en": basis.en if basis else alert.rule,
            "lot_code": trade.lot_code if trade else "", "raised_at": rfc3339(alert.raised_at)}


# --- reading -------------------------------------------------------------------------------------

def visible_clause(now) -> ColumnElement[bool]:
    """Not embargoed, or its lot is past its deadline (the audit trail's own rule)."""
    open_lots = select(LotTrade.lot_id).where(or_(LotTrade.status != LotStatus.ACCEPTING, LotTrade.deadline_at <= now))
    return or_(SupervisionAlert.embargo_lot_id.is_(None), SupervisionAlert.embargo_lot_id.in_(open_lots))


def _visible_now(session, alert: SupervisionAlert, now) -> bool:
    if alert.embargo_lot_id is None:
        return True
    trade = session.get(LotTrade, alert.embargo_lot_id)
    return trade is None or trade.status != LotStatus.ACCEPTING or (trade.deadline_at is not None
                                                                     and trade.deadline_at <= now)


def is_subject(session, alert_id: int, user_id: int | None) -> bool:
    """True when the user's own action is part of the alert's evidence."""
    if user_id is None:
        return False
    return session.execute(select(AlertSubjectUser.alert_id).where(
        AlertSubjectUser.alert_id == alert_id, AlertSubjectUser.user_id == user_id)).first() is not None


def can_work(ctx: ServiceContext, alert: SupervisionAlert) -> bool:
    """Whether `ctx` may take the alert's workflow steps: a supervisor, not about its own action."""
    return ctx.actor.has(SUPERVISOR) and not is_subject(ctx.session, alert.id, ctx.actor.user_id)


def _reader_clause(ctx: ServiceContext) -> ColumnElement[bool]:
    if not ctx.actor.has(*READERS):
        raise Forbidden("alert.forbidden", "无权查看电子监察预警", "You may not read supervision alerts")
    clause = visible_clause(ctx.now())
    if not ctx.actor.has(SUPERVISOR):  # an operator: not the alerts about their own actions
        own = exists().where(AlertSubjectUser.alert_id == SupervisionAlert.id,
                             AlertSubjectUser.user_id == ctx.actor.user_id)
        clause = clause & ~own
    return clause


@dataclass(frozen=True)
class AlertFilters:
    status: str = ""        # "" = not closed; "all"; or one status
    severity: str = ""
    rule: str = ""
    lot_code: str = ""
    project_id: int | None = None


def list_alerts(ctx: ServiceContext, f: AlertFilters = AlertFilters(), limit: int = 200, *,
                newest_first: bool = False, before_id: int | None = None) -> list[SupervisionAlert]:
    """The alerts `ctx` may read that match `f`: the dashboard's order (red first, then newest), or
    `newest_first` by id with `before_id` as the cursor of the next page (the API's pagination)."""
    q = select(SupervisionAlert).where(_reader_clause(ctx))
    if f.status == "":
        q = q.where(SupervisionAlert.status != "closed")
    elif f.status in STATUSES:
        q = q.where(SupervisionAlert.status == f.status)
    elif f.status != "all":
        raise InvalidInput("alert.filter_status", "状态筛选无效", "Unknown status filter", field="status")
    if f.severity:
        if f.severity not in rules.SEVERITIES:
            raise InvalidInput("alert.filter_severity", "等级筛选无效", "Unknown severity filter", field="severity")
        q = q.where(SupervisionAlert.severity == f.severity)
    if f.rule:
        if f.rule not in rules.RULES:
            raise InvalidInput("alert.filter_rule", "规则筛选无效", "Unknown rule filter", field="rule")
        q = q.where(SupervisionAlert.rule == f.rule)
    if f.lot_code:
        q = q.where(SupervisionAlert.lot_id.in_(select(LotTrade.lot_id).where(LotTrade.lot_code == f.lot_code)))
    if f.project_id is not None:
        q = q.where(SupervisionAlert.project_id == f.project_id)
    if before_id is not None:
        q = q.where(SupervisionAlert.id < before_id)
    order = ((SupervisionAlert.id.desc(),) if newest_first
             else (SupervisionAlert.severity.asc(), SupervisionAlert.id.desc()))  # "red" < "yellow"
    return list(ctx.session.execute(q.order_by(*order).limit(limit)).scalars())


def get_alert(ctx: ServiceContext, alert_id: int, *, lock: bool = False) -> SupervisionAlert:
    q = select(SupervisionAlert).where(SupervisionAlert.id == alert_id, _reader_clause(ctx))
    if lock:
        q = q.with_for_update()
    alert = ctx.session.execute(q).scalar_one_or_none()
    if alert is None:  # the same answer for a hidden alert as for a missing one
        raise not_found("预警", "Alert")
    return alert


def evidence_entries(ctx: ServiceContext, alert: SupervisionAlert) -> list[dict]:
    """The audit entries the alert cites, as the trail stores them (seq, hash, parsed body)."""
    seqs = [int(s) for s in alert.evidence.get("seqs", [])]
    if not seqs:
        return []
    rows = ctx.session.execute(select(AuditEntry).where(AuditEntry.seq.in_(seqs)).order_by(AuditEntry.seq)).scalars()
    return [{"seq": e.seq, "at": e.created_at, "action": e.action, "entry_hash": bytes(e.entry_hash).hex(),
             "entry": json.loads(bytes(e.body).decode("utf-8"))} for e in rows]


def alert_notes(alert: SupervisionAlert) -> list[dict]:
    """The investigation notes, oldest first, with their instants as aware datetimes."""
    return [{"at": datetime.fromisoformat(n["at"].replace("Z", "+00:00")), "by": n.get("by"), "text": n["text"]}
            for n in alert.notes or []]


def evidence_context(ctx: ServiceContext, alert: SupervisionAlert) -> dict:
    """The lot, the organisations and the other lots an alert links to."""
    lot_ids = [int(x) for x in alert.evidence.get("lots", [])]
    org_ids = [int(x) for x in alert.evidence.get("orgs", [])]
    lots = list(ctx.session.execute(select(LotTrade).where(LotTrade.lot_id.in_(lot_ids))
                                    .order_by(LotTrade.lot_id)).scalars()) if lot_ids else []
    orgs = list(ctx.session.execute(select(Organisation).where(Organisation.id.in_(org_ids))
                                    .order_by(Organisation.id)).scalars()) if org_ids else []
    return {"lot": ctx.session.get(LotTrade, alert.lot_id) if alert.lot_id else None, "orgs": orgs,
            "evidence_lots": lots}


def lot_codes(session, alerts: Sequence[SupervisionAlert]) -> dict[int, str]:
    ids = {a.lot_id for a in alerts if a.lot_id}
    if not ids:
        return {}
    return dict(session.execute(select(LotTrade.lot_id, LotTrade.lot_code).where(LotTrade.lot_id.in_(ids))).all())


# --- the workflow --------------------------------------------------------------------------------

def _transition(ctx: ServiceContext, alert_id: int, to: str) -> tuple[SupervisionAlert, str]:
    ctx.require(SUPERVISOR)
    alert = get_alert(ctx, alert_id, lock=True)
    if is_subject(ctx.session, alert.id, ctx.actor.user_id):  # nobody works an alert about their own action
        raise Forbidden("alert.own_action", "该预警涉及您本人的操作，须由其他监督人员处理（回避）",
                        "This alert is about your own action: another supervisor must handle it")
    if to not in TRANSITIONS[alert.status]:
        raise Conflict("alert.transition", f"预警当前状态不能执行此操作（{alert.status} → {to}）",
                       f"The alert cannot move from {alert.status} to {to}", details={"status": alert.status})
    old, alert.status = alert.status, to
    return alert, old


def _publish_status(ctx: ServiceContext, alert: SupervisionAlert) -> None:
    publish(ctx, CHANNEL, "alert:status", {"id": alert.id, "status": alert.status}, audience="staff")


def acknowledge_alert(ctx: ServiceContext, alert_id: int) -> SupervisionAlert:
    alert, old = _transition(ctx, alert_id, "acknowledged")
    alert.acknowledged_at, alert.acknowledged_by = ctx.now(), ctx.actor.user_id
    record(ctx, "alert.acknowledged", "supervision_alert", alert.id, project_id=alert.project_id,
           payload={"status": [old, alert.status], "rule": alert.rule})
    _publish_status(ctx, alert)
    ctx.session.flush()
    return alert


def _text(value: str | None, field: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"alert.{field}_required", "请填写处理说明", "Write what was found", field=field)
    if len(text) > limit:
        raise InvalidInput(f"alert.{field}_too_long", f"说明不能超过 {limit} 字", f"At most {limit} characters",
                           field=field)
    return text


def investigate_alert(ctx: ServiceContext, alert_id: int, note: str | None = None) -> SupervisionAlert:
    text = _text(note, "note", NOTE_MAX, required=False)
    alert, old = _transition(ctx, alert_id, "investigating")
    alert.investigating_at, alert.investigating_by = ctx.now(), ctx.actor.user_id
    if text:
        alert.notes = [*alert.notes, {"at": rfc3339(ctx.now()), "by": ctx.actor.user_id, "text": text}]
    record(ctx, "alert.investigating", "supervision_alert", alert.id, project_id=alert.project_id,
           payload={"status": [old, alert.status], "rule": alert.rule, "note": text})
    _publish_status(ctx, alert)
    ctx.session.flush()
    return alert


def close_alert(ctx: ServiceContext, alert_id: int, outcome: str, finding: str) -> SupervisionAlert:
    if outcome not in OUTCOMES:
        raise InvalidInput("alert.outcome", "请选择处理结论", "Choose the outcome", field="outcome")
    text = _text(finding, "finding", FINDING_MAX, required=True)
    alert, old = _transition(ctx, alert_id, "closed")
    alert.closed_at, alert.closed_by, alert.outcome, alert.finding = ctx.now(), ctx.actor.user_id, outcome, text
    record(ctx, "alert.closed", "supervision_alert", alert.id, project_id=alert.project_id,
           payload={"status": [old, alert.status], "rule": alert.rule, "outcome": outcome, "finding": text})
    _publish_status(ctx, alert)
    ctx.session.flush()
    return alert
