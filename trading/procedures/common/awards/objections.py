"""Objections: 异议 to the evaluation result (比选/tender: only during the candidate publicity, reply
within 3 days, the award waits for the reply — 实施条例 54) and 质疑 to the GP result (within 7
working days of the end of the result announcement period, reply within 7 working days — 94号令
10–13). Each has its window and reply clock; every step is audited; an objection outside its window
is refused with nothing written.

Imports: core, audit, reference, projects, accounts.rules, this package."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, not_found
from trading.reference.services import get_calendar

from ..lots import get_trade
from ..models import LotTrade
from . import rules
from .models import Award, CandidateList, Objection
from .rules import ObjectionKind, Regime
from .services import (
    acts_for,
    award_settings,
    managed_lot,
    participant_orgs,
    project_of,
    refuse,
    require_list,
)

OBJECTORS = roles_for("award.object")
TEXT_MIN, TEXT_MAX = 10, 5000


def kind_for(cl: CandidateList) -> ObjectionKind:
    return ObjectionKind.CHALLENGE if cl.regime == Regime.GP else ObjectionKind.OBJECTION


def award_of(ctx: ServiceContext, cl: CandidateList) -> Award | None:
    """The list's current award (after a re-award to the next candidate, the latest; the first one
    stays, superseded)."""
    return ctx.session.execute(select(Award).where(Award.list_id == cl.id).order_by(Award.id.desc())
                               .limit(1)).scalar_one_or_none()


def window(ctx: ServiceContext, cl: CandidateList) -> tuple[datetime | None, datetime | None]:
    """[opens, closes) of the objection window of the list: the candidate publicity (比选/tender), or
    from the result notice to 7 WD after its announcement period (GP)."""
    if cl.regime != Regime.GP:
        return cl.publicity_from, cl.publicity_until
    award = award_of(ctx, cl)
    if award is None or award.challenge_until is None:
        return None, None
    return award.determined_at, award.challenge_until


def window_open(ctx: ServiceContext, cl: CandidateList | None, now: datetime) -> bool:
    """For the bidder's page: show the form only while this is True."""
    if cl is None:
        return False
    opens, closes = window(ctx, cl)
    return rules.in_window(now, opens, closes)


def open_count(ctx: ServiceContext, list_id: int) -> int:
    return ctx.session.execute(select(func.count(Objection.id)).where(
        Objection.list_id == list_id, Objection.status == "open")).scalar_one()


def _text(value: object, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not TEXT_MIN <= len(text) <= TEXT_MAX:
        raise InvalidInput(f"award.{field}_length", f"请写明具体事项和理由（{TEXT_MIN}–{TEXT_MAX} 字）",
                           f"State the matter and the reasons ({TEXT_MIN}–{TEXT_MAX} characters)", field=field)
    return text


def file_objection(ctx: ServiceContext, lot_code: str, text: str) -> Objection:
    """A bidder that took part in the lot objects (异议) or challenges (质疑) the result, inside the
    window; the reply clock starts now."""
    ctx.require(*OBJECTORS)
    trade = get_trade(ctx, lot_code)
    if ctx.actor.org_id not in participant_orgs(ctx, trade.lot_id):
        raise Forbidden("award.objector_not_participant", "只有参加本标段的投标人（供应商）可以提出异议或质疑",
                        "Only a bidder that took part in this lot may object")
    cl = require_list(ctx, trade)
    kind = kind_for(cl)
    now = ctx.now()
    opens, closes = window(ctx, cl)
    problem = rules.objection_window_problem(kind, now, opens, closes)
    if problem is not None:
        raise refuse([problem])
    body = _text(text, "text")
    due = rules.reply_due(get_calendar(ctx), kind, now, award_settings(ctx))
    obj = Objection(lot_id=trade.lot_id, list_id=cl.id, kind=kind.value, bidder_org_id=ctx.actor.org_id,
                    filed_by=ctx.actor.user_id, filed_at=now, text=body, window_closes_at=closes, reply_due_at=due,
                    status="open")
    ctx.session.add(obj)
    ctx.session.flush()
    record(ctx, "award.objection_filed", "objection", obj.id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "list_id": cl.id, "kind": kind.value, "bidder_org_id": obj.bidder_org_id,
                    "window_closes_at": closes, "reply_due_at": due, "text_len": len(body)})
    return obj


def answer_objection(ctx: ServiceContext, objection_id: int, text: str) -> Objection:
    """The owner or agency replies; a reply after its due instant is recorded as late."""
    ctx.require(*roles_for("award.manage"))
    obj = ctx.session.get(Objection, objection_id) if isinstance(objection_id, int) else None
    trade = ctx.session.get(LotTrade, obj.lot_id) if obj is not None else None
    if obj is None or not acts_for(ctx, project_of(ctx, trade)):
        raise not_found("异议", "Objection")
    managed_lot(ctx, trade.lot_code, lock=True)  # serialise with the award
    if obj.status != "open":
        raise Conflict("award.objection_answered", "该异议（质疑）已答复", "The objection is already answered")
    body = _text(text, "reply")
    now = ctx.now()
    obj.status, obj.reply, obj.answered_by, obj.answered_at = "answered", body, ctx.actor.user_id, now
    obj.late = now >= obj.reply_due_at
    ctx.session.flush()
    record(ctx, "award.objection_answered", "objection", obj.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "reply_due_at": obj.reply_due_at, "late": obj.late,
                    "reply_len": len(body)})
    return obj


def inbox(ctx: ServiceContext, lot_code: str) -> list[Objection]:
    trade, _project = managed_lot(ctx, lot_code)
    return list(ctx.session.execute(select(Objection).where(Objection.lot_id == trade.lot_id)
                                    .order_by(Objection.id)).scalars())


def mine(ctx: ServiceContext, lot_code: str) -> list[Objection]:
    ctx.require(*OBJECTORS)
    trade = get_trade(ctx, lot_code)
    return list(ctx.session.execute(select(Objection).where(
        Objection.lot_id == trade.lot_id, Objection.bidder_org_id == ctx.actor.org_id).order_by(Objection.id)).scalars())
