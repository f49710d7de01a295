"""The remote opening hall (不见面开标大厅): who may enter, check-in (签到), host announcements, the
hall's state snapshot per viewer, and the list of openings.

Secrecy (招标投标法 Art. 22): before the deadline nothing here tells anyone but a bidder about
itself whether or how many bidders registered or checked in — no count in the snapshot, no event,
no different error. Check-in opens at the deadline. After it, the checked-in count is public in the
hall and the staff (owner side of the project, operator, supervisors) also see who.

Live updates go through core.events.publish on the channel `hall:<lot_code>`; the event names are
the ones the opening services publish too (notes/interfaces.md): opening:stage, custody:progress,
decrypt:status, opening:record, hall:checkin, opening:confirmed / opening:disputed, and here
hall:message (host announcements) and hall:attendee (staff only: who checked in).

Imports: core, audit, accounts, projects, procedures.common (lots, participation, opening models)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.clock import to_beijing
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.core.events import LiveEvent, last_event_id, publish
from trading.projects.models import Lot, Project

from ..lots import LotStatus, before_deadline, effective_status, get_trade
from ..models import LotTrade
from ..participation.models import Participation
from .models import CustodianShare, OpeningKey, OpeningRecord, RecordResponse

#: stages in the order a lot goes through them; failed and terminated end it
STAGES = ("waiting", "custodians", "decrypting", "record", "completed")
END_STAGES = ("failed", "terminated")
STAGE_LABELS = {
    "waiting": ("等待开标", "Waiting for the opening"),
    "custodians": ("密钥保管人解密授权", "Custodians unlocking"),
    "decrypting": ("解密中", "Decrypting"),
    "record": ("开标记录确认", "Record under confirmation"),
    "completed": ("开标完成", "Opening completed"),
    "failed": ("流标", "Failed (the tender did not succeed)"),  # too few valid offers, or none reaching a reserve
    "terminated": ("已终止", "Terminated"),
}
#: the stage names the opening services announce ("opening:stage"), as the hall's stages
STAGE_ALIASES = {"custody": "custodians", "opened": "record"}
MESSAGE_MAX = 500
#: host announcements kept in the snapshot (older ones stay in the audit trail)
MESSAGES_SHOWN = 30
STAFF_ROLES = frozenset({"operator", "supervisor"})
PROJECT_SIDE = frozenset({"owner", "agency"})


def channel_of(lot_code: str) -> str:
    return f"hall:{lot_code}"


def stage_label(stage: str, locale: str = "zh") -> str:
    zh, en = STAGE_LABELS.get(STAGE_ALIASES.get(stage, stage), (stage, stage))
    return en if locale.startswith("en") else zh


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a hall: decides the snapshot's fields and which events reach them."""
    role: str
    org_id: int | None
    #: owner side of the project, operator, supervisors (audience "staff")
    staff: bool
    #: the bidder organisation's registration (bidders only)
    participation_id: int | None = None
    #: holds a share of the lot's opening key
    custodian: bool = False

    @property
    def is_bidder(self) -> bool:
        return self.role == "bidder"


def hall_viewer(ctx: ServiceContext, trade: LotTrade) -> Viewer:
    """Who may enter the hall of a lot: operators and supervisors; the owner or agency of its
    project; a bidder organisation registered for it; a custodian of its key. Everyone else gets
    the same 404 as for a lot that does not exist (nothing to learn from the difference)."""
    actor = ctx.actor
    role = actor.acting_role or next(iter(actor.roles), "public")
    if not trade.sealed:
        raise not_found("标段", "Lot")
    if role in STAFF_ROLES:
        return Viewer(role, actor.org_id, True, custodian=_is_custodian(ctx, trade, actor.user_id))
    if role in PROJECT_SIDE:
        project = ctx.session.get(Project, trade.project_id)
        if actor.org_id is not None and actor.org_id in (project.owner_org_id, project.agency_org_id):
            return Viewer(role, actor.org_id, True)
        raise not_found("标段", "Lot")
    if role == "bidder" and actor.org_id is not None:
        part = _participation(ctx, trade, actor.org_id)
        if part is not None:
            return Viewer(role, actor.org_id, False, participation_id=part.id)
        raise not_found("标段", "Lot")
    if role == "expert" and _is_custodian(ctx, trade, actor.user_id):
        return Viewer(role, actor.org_id, False, custodian=True)
    raise not_found("标段", "Lot")


def _participation(ctx: ServiceContext, trade: LotTrade, org_id: int, *, lock: bool = False) -> Participation | None:
    stmt = select(Participation).where(Participation.lot_id == trade.lot_id, Participation.bidder_org_id == org_id,
                                       Participation.status == "registered")
    if lock:
        stmt = stmt.with_for_update()
    return ctx.session.execute(stmt).scalar_one_or_none()


def _is_custodian(ctx: ServiceContext, trade: LotTrade, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return ctx.session.execute(
        select(CustodianShare.id).join(OpeningKey, OpeningKey.id == CustodianShare.opening_key_id)
        .where(OpeningKey.lot_id == trade.lot_id, CustodianShare.custodian_user_id == user_id).limit(1)
    ).first() is not None


# --- actions ----------------------------------------------------------------------------------------

def check_in(ctx: ServiceContext, lot_code: str) -> tuple[Participation, bool]:
    """签到: a registered bidder marks itself present, from the deadline until the lot is opened.
    (participation, newly checked in); checking in again changes nothing."""
    ctx.require(*roles_for("offer.participate"))
    trade = get_trade(ctx, lot_code)
    if not trade.sealed or ctx.actor.org_id is None:
        raise not_found("标段", "Lot")
    part = _participation(ctx, trade, ctx.actor.org_id, lock=True)
    if part is None:
        raise not_found("标段", "Lot")  # the same answer as an unknown lot
    now = ctx.now()
    if before_deadline(trade, now):
        raise RuleViolation("hall.checkin_not_open", "签到在投标截止时间到达后开放",
                            "Check-in opens at the offer deadline")
    if effective_status(trade, now) not in (LotStatus.CLOSED, LotStatus.OPENING):  # opened or any later stage
        raise Conflict("hall.checkin_closed", "本标段开标已结束，不能再签到",
                       "The opening of this lot is over; check-in is closed")
    if part.checked_in_at is not None:
        return part, False
    part.checked_in_at = now
    ctx.session.flush()
    record(ctx, "opening.checked_in", "participation", part.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "bidder_org_id": part.bidder_org_id})
    channel = channel_of(trade.lot_code)
    publish(ctx, channel, "hall:checkin", {"count": checked_in_count(ctx, trade)})
    org = ctx.session.get(Organisation, part.bidder_org_id)
    publish(ctx, channel, "hall:attendee", {"bidder": org.name, "at": now.isoformat()}, audience="staff")
    return part, True


def post_message(ctx: ServiceContext, lot_code: str, text: str) -> int:
    """A host announcement (主持人公告) to everyone in the hall; returns its event id."""
    ctx.require(*roles_for("opening.host"))
    trade = get_trade(ctx, lot_code)
    if not trade.sealed:
        raise not_found("标段", "Lot")
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("hall.message_empty", "公告内容不能为空", "The announcement is empty", field="text")
    if len(text) > MESSAGE_MAX:
        raise InvalidInput("hall.message_too_long", f"公告不能超过 {MESSAGE_MAX} 字",
                           f"An announcement has at most {MESSAGE_MAX} characters", field="text")
    now = ctx.now()
    record(ctx, "opening.hall_message", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "text": text})
    return publish(ctx, channel_of(trade.lot_code), "hall:message", {"text": text, "at": now.isoformat()})


# --- reading -----------------------------------------------------------------------------------------

def checked_in_count(ctx: ServiceContext, trade: LotTrade) -> int:
    return ctx.session.execute(select(func.count()).select_from(Participation).where(
        Participation.lot_id == trade.lot_id, Participation.status == "registered",
        Participation.checked_in_at.is_not(None))).scalar_one()


def _last_event_data(ctx: ServiceContext, channel: str, name: str) -> dict | None:
    row = ctx.session.execute(select(LiveEvent.data).where(LiveEvent.channel == channel, LiveEvent.name == name,
                                                           LiveEvent.audience == "all")
                              .order_by(LiveEvent.id.desc()).limit(1)).first()
    return row[0] if row else None


def _custody(ctx: ServiceContext, trade: LotTrade) -> dict | None:
    key = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one_or_none()
    if key is None:
        return None
    accepted = ctx.session.execute(select(func.count()).select_from(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.status == "accepted")).scalar_one()
    return {"accepted": accepted, "k": key.k, "n": key.n}


def _record(ctx: ServiceContext, trade: LotTrade, now: datetime) -> dict | None:
    rec = ctx.session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one_or_none()
    if rec is None:
        return None
    counts = dict(ctx.session.execute(select(RecordResponse.response, func.count()).where(
        RecordResponse.record_id == rec.id).group_by(RecordResponse.response)).all())
    return {"id": rec.id, "outcome": rec.outcome, "valid_offers": rec.valid_offers, "sha256": rec.sha256,
            "respond_until": rec.respond_until.isoformat(), "open_for_responses": now < rec.respond_until,
            "confirmed": counts.get("confirm", 0), "disputed": counts.get("dispute", 0)}


def record_rows(ctx: ServiceContext, trade: LotTrade) -> list[dict]:
    """唱标 rows of the opening record as published (its bidder numbers, figures and validity), with
    each bidder's confirmation or dispute. Empty until the record exists (never before the deadline)."""
    if before_deadline(trade, ctx.now()):
        return []
    rec = ctx.session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one_or_none()
    if rec is None:
        return []
    responses = dict(ctx.session.execute(
        select(Organisation.credit_code, RecordResponse.response)
        .join(Organisation, Organisation.id == RecordResponse.bidder_org_id)
        .where(RecordResponse.record_id == rec.id)).all())
    return [{"no": row.get("no"), "bidder": row.get("name", ""), "valid": bool(row.get("valid")),
             "price_fen": row.get("price_fen"), "duration_days": row.get("duration_days"),
             "quality": row.get("quality") or "", "response": responses.get(row.get("credit_code")),
             "failures": [p["failure"] for p in row.get("parts", []) if p.get("failure")]}
            for row in rec.body.get("bidders", [])]


def _stage(trade: LotTrade, now: datetime, record_info: dict | None, custody: dict | None, announced: str | None) -> str:
    status = effective_status(trade, now)
    if status == LotStatus.TERMINATED:
        return "terminated"
    if status in (LotStatus.FAILED, LotStatus.REANNOUNCED) or (record_info and record_info["outcome"] == "failed"):
        return "failed"
    if record_info is not None or status not in (LotStatus.ACCEPTING, LotStatus.CLOSED, LotStatus.OPENING):
        return "record" if record_info and record_info["open_for_responses"] else "completed"
    if status == LotStatus.ACCEPTING:
        return "waiting"
    derived = "custodians"
    if announced in STAGES and STAGES.index(announced) > STAGES.index(derived):
        return announced
    if custody and custody["accepted"] >= custody["k"]:
        return "decrypting"
    return derived


def hall_state(ctx: ServiceContext, lot_code: str, viewer: Viewer | None = None) -> dict:
    """The snapshot a page renders and a stream sends first ("hall:state"): JSON-able, per viewer.
    `last_event_id` is the id it stands at (read first, so any later event arrives as a delta)."""
    trade = get_trade(ctx, lot_code)
    viewer = viewer or hall_viewer(ctx, trade)
    channel = channel_of(trade.lot_code)
    at_id = last_event_id(ctx.session, channel)
    now = ctx.now()
    lot = ctx.session.get(Lot, trade.lot_id)
    project = ctx.session.get(Project, trade.project_id)
    open_hall = not before_deadline(trade, now)
    custody = _custody(ctx, trade)
    record_info = _record(ctx, trade, now) if open_hall else None
    announced = (_last_event_data(ctx, channel, "opening:stage") or {}).get("stage")
    announced = STAGE_ALIASES.get(announced, announced)
    stage = _stage(trade, now, record_info, custody, announced)
    decrypt = _last_event_data(ctx, channel, "decrypt:status") if open_hall else None
    state = {
        "lot_code": trade.lot_code, "lot_name": lot.name, "project_name": project.name,
        "project_code": project.trade_code, "procedure": trade.procedure,
        "server_now": now.isoformat(), "deadline_at": _iso(trade.deadline_at), "opening_at": _iso(trade.opening_at),
        "status": str(effective_status(trade, now)), "stage": stage, "before_deadline": not open_hall,
        "custody": custody, "decrypt": decrypt, "record": record_info,
        "messages": _messages(ctx, channel),
        "checkin": {"open": effective_status(trade, now) in (LotStatus.CLOSED, LotStatus.OPENING),
                    # counts exist only once the deadline has passed (Art. 22)
                    "count": checked_in_count(ctx, trade) if open_hall else None},
        "me": None, "attendees": None, "registered": None,
        "last_event_id": at_id,
    }
    if viewer.is_bidder and viewer.participation_id is not None:
        part = ctx.session.get(Participation, viewer.participation_id)
        state["me"] = {"registered": True, "checked_in_at": _iso(part.checked_in_at)}
    if viewer.staff and open_hall:
        rows = ctx.session.execute(
            select(Organisation.name, Participation.checked_in_at)
            .join(Organisation, Organisation.id == Participation.bidder_org_id)
            .where(Participation.lot_id == trade.lot_id, Participation.status == "registered")
            .order_by(Participation.checked_in_at.is_(None), Participation.checked_in_at, Organisation.name)).all()
        state["registered"] = len(rows)
        state["attendees"] = [{"bidder": name, "at": _iso(at)} for name, at in rows if at is not None]
    return state


def _messages(ctx: ServiceContext, channel: str) -> list[dict]:
    rows = ctx.session.execute(select(LiveEvent.id, LiveEvent.data).where(
        LiveEvent.channel == channel, LiveEvent.name == "hall:message", LiveEvent.audience == "all")
        .order_by(LiveEvent.id.desc()).limit(MESSAGES_SHOWN)).all()
    return [{"id": i, **d} for i, d in reversed(rows)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- the list of openings ------------------------------------------------------------------------------

def list_openings(ctx: ServiceContext, *, days_back: int = 1) -> list[dict]:
    """Sealed lots whose opening is today or later, or still in progress (newest ended ones since
    `days_back` Beijing days): for operators and supervisors every such lot; for the owner side the
    lots of its projects; for a bidder the lots its organisation registered for. No counts."""
    actor = ctx.actor
    role = actor.acting_role or next(iter(actor.roles), "public")
    now = ctx.now()
    start_today = to_beijing(now).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_back - 1)
    moment = func.coalesce(LotTrade.opening_at, LotTrade.deadline_at)
    stmt = (select(LotTrade, Lot.name, Project.name).join(Lot, Lot.id == LotTrade.lot_id)
            .join(Project, Project.id == LotTrade.project_id)
            .where(LotTrade.sealed.is_(True),
                   or_(moment >= start_today,
                       LotTrade.status.in_([LotStatus.ACCEPTING, LotStatus.CLOSED, LotStatus.OPENING])))
            .order_by(moment, LotTrade.lot_code))
    if role in STAFF_ROLES:
        pass
    elif role in PROJECT_SIDE and actor.org_id is not None:
        stmt = stmt.where(or_(Project.owner_org_id == actor.org_id, Project.agency_org_id == actor.org_id))
    elif role == "bidder" and actor.org_id is not None:
        stmt = stmt.join(Participation, Participation.lot_id == LotTrade.lot_id).where(
            Participation.bidder_org_id == actor.org_id, Participation.status == "registered")
    else:
        ctx.require("operator", "supervisor", "owner", "agency", "bidder")
        return []
    out = []
    for trade, lot_name, project_name in ctx.session.execute(stmt).all():
        status = effective_status(trade, now)
        rec = (_record(ctx, trade, now) if status not in (LotStatus.ACCEPTING, LotStatus.CLOSED, LotStatus.OPENING)
               else None)  # opened, failed and every later stage have their record
        when = trade.opening_at or trade.deadline_at
        out.append({"lot_code": trade.lot_code, "lot_name": lot_name, "project_name": project_name,
                    "deadline_at": trade.deadline_at, "opening_at": trade.opening_at, "status": str(status),
                    "stage": _stage(trade, now, rec, None, None),
                    "today": when is not None and to_beijing(when).date() == to_beijing(now).date()})
    return out
