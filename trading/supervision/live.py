"""Today's live trading for the supervision dashboard (监督工作台): the openings of today (or still in
progress), the evaluations under way, and the auctions of today or still running, each with its
state now and the address of its read-only live view. Counts of bidders are never given: before a
lot's deadline who or how many take part is secret from supervisors too (embargo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from trading.core.clock import to_beijing
from trading.core.context import ServiceContext
from trading.core.errors import DomainError
from trading.evaluation.panels import Panel
from trading.evaluation.scoring import services as scoring
from trading.procedures.auction import rules as auction_rules
from trading.procedures.auction.models import Auction
from trading.procedures.common.lots import LotStatus
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening import hall as halls
from trading.projects.models import Lot, Project

SUPERVISOR = "supervisor"
RUNNING_PHASES = (auction_rules.Phase.FREE, auction_rules.Phase.OPT_IN, auction_rules.Phase.TIMED)


@dataclass
class LiveToday:
    openings: list[dict]
    evaluations: list[dict]
    auctions: list[dict]


def _day(now: datetime) -> tuple[datetime, datetime]:
    start = to_beijing(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def live_today(ctx: ServiceContext) -> LiveToday:
    ctx.require(SUPERVISOR)
    return LiveToday(openings(ctx), evaluations(ctx), auctions(ctx))


def openings(ctx: ServiceContext) -> list[dict]:
    """Sealed lots opening today, or whose opening is under way."""
    return [{**r, "stage_label": halls.stage_label(r["stage"], ctx.locale)} for r in halls.list_openings(ctx)
            if r["today"] or r["status"] == LotStatus.OPENING]


def evaluations(ctx: ServiceContext) -> list[dict]:
    """Lots being evaluated now, or whose panel was formed today: submitted score sheets of expected
    (counts only, never a score)."""
    start, end = _day(ctx.now())
    rows = ctx.session.execute(
        select(LotTrade, Lot.name, Project.name).join(Lot, Lot.id == LotTrade.lot_id)
        .join(Project, Project.id == LotTrade.project_id)
        .where(or_(LotTrade.status == LotStatus.EVALUATING,
                   LotTrade.lot_id.in_(select(Panel.lot_id).where(Panel.created_at >= start, Panel.created_at < end))))
        .order_by(LotTrade.lot_code)).all()
    out = []
    for trade, lot_name, project_name in rows:
        try:
            _t, panel, members, done = scoring.progress(ctx, trade.lot_code)
        except DomainError:
            panel, members, done = None, [], False   # no panel started yet
        out.append({"lot_code": trade.lot_code, "lot_name": lot_name, "project_name": project_name,
                    "status": str(trade.status), "members": len(members),
                    "submitted": sum(m.submitted for m in members), "expected": sum(m.expected for m in members),
                    "all_submitted": done, "panel_status": panel.status if panel is not None else None})
    return out


def auctions(ctx: ServiceContext) -> list[dict]:
    """Auctions starting or ending today, or running now (paused ones included)."""
    start, end = _day(ctx.now())
    rows = ctx.session.execute(
        select(Auction, Lot.name, Project.name).join(Lot, Lot.id == Auction.lot_id)
        .join(Project, Project.id == Auction.project_id)
        .where(or_(Auction.phase.in_([str(p) for p in RUNNING_PHASES]),
                   (Auction.start_at >= start) & (Auction.start_at < end),
                   (Auction.ended_at >= start) & (Auction.ended_at < end)))
        .order_by(Auction.start_at, Auction.lot_code)).all()
    en = ctx.locale == "en"
    out = []
    for a, lot_name, project_name in rows:
        phase = auction_rules.Phase(a.phase)
        out.append({"lot_code": a.lot_code, "lot_name": lot_name, "project_name": project_name, "phase": a.phase,
                    "phase_label": auction_rules.PHASE_LABELS[phase][1 if en else 0],
                    "method_label": auction_rules.METHOD_LABELS[auction_rules.Method(a.method)][1 if en else 0],
                    "paused": a.paused_at is not None and phase != auction_rules.Phase.ENDED,
                    "price_fen": a.price_fen, "bids": a.bids, "start_at": a.start_at, "deadline": a.deadline,
                    "outcome": a.outcome})
    return out
