"""Reading the expert pool: the centre's search, one expert's record, the expert's own record, and
the draws of a lot. Names of a panel are not here (draw.panel_services.panel_view decides who sees
them).

Imports: core, accounts, reference, procedures.common, evaluation (models)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from trading.accounts.models import Organisation
from trading.accounts.rules import Role, roles_for
from trading.core.context import ServiceContext
from trading.core.errors import not_found
from trading.evaluation.draw.models import ExpertDraw
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import LotTrade

from .models import Expert, ExpertRelation, ExpertSpecialty, ExpertUnavailable

PAGE = 50


@dataclass(frozen=True)
class ExpertRow:
    expert: Expert
    employer: str
    specialties: tuple[str, ...]


def _rows(ctx: ServiceContext, experts: list[Expert]) -> list[ExpertRow]:
    ids = [e.id for e in experts]
    codes: dict[int, list[str]] = {}
    for eid, code in ctx.session.execute(select(ExpertSpecialty.expert_id, ExpertSpecialty.code)
                                         .where(ExpertSpecialty.expert_id.in_(ids)).order_by(ExpertSpecialty.code)):
        codes.setdefault(eid, []).append(code)
    names = dict(ctx.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({e.employer_org_id for e in experts}))).tuples().all()) if experts else {}
    return [ExpertRow(e, names.get(e.employer_org_id, ""), tuple(codes.get(e.id, ()))) for e in experts]


def search_experts(ctx: ServiceContext, *, q: str = "", specialty: str = "", status: str = "",
                   page: int = 1) -> tuple[list[ExpertRow], int]:
    """(rows of the page, total) — by name or masked ID prefix, specialty code and status."""
    ctx.require(*roles_for("expert.read_all"))
    stmt = select(Expert)
    if q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Expert.name.like(like), Expert.id_card_masked.like(like)))
    if specialty.strip():
        stmt = stmt.where(Expert.id.in_(select(ExpertSpecialty.expert_id).where(
            ExpertSpecialty.code == specialty.strip().upper())))
    if status:
        stmt = stmt.where(Expert.status == status)
    total = ctx.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = max(1, page)
    experts = list(ctx.session.execute(stmt.order_by(Expert.id).offset((page - 1) * PAGE).limit(PAGE)).scalars())
    return _rows(ctx, experts), total


@dataclass(frozen=True)
class ExpertRecord:
    row: ExpertRow
    relations: list[tuple[ExpertRelation, str]]
    unavailable: list[ExpertUnavailable]


def expert_record(ctx: ServiceContext, expert_id: int) -> ExpertRecord:
    """One expert with relations and unavailable periods: the centre, the supervisor, or the expert."""
    expert = ctx.session.get(Expert, expert_id)
    if expert is None:
        raise not_found("专家", "Expert")
    if not (ctx.actor.has(*roles_for("expert.read_all")) or
            (ctx.actor.has(Role.EXPERT) and ctx.actor.user_id == expert.user_id)):
        raise not_found("专家", "Expert")
    rels = ctx.session.execute(select(ExpertRelation, Organisation.name).join(
        Organisation, Organisation.id == ExpertRelation.org_id).where(ExpertRelation.expert_id == expert.id)
        .order_by(ExpertRelation.id)).tuples().all()
    periods = list(ctx.session.execute(select(ExpertUnavailable).where(ExpertUnavailable.expert_id == expert.id)
                                       .order_by(ExpertUnavailable.start_on)).scalars())
    return ExpertRecord(_rows(ctx, [expert])[0], list(rels), periods)


def my_expert_id(ctx: ServiceContext) -> int | None:
    return ctx.session.execute(select(Expert.id).where(Expert.user_id == ctx.actor.user_id)).scalar_one_or_none()


def lot_draws(ctx: ServiceContext, lot_code: str) -> list[ExpertDraw]:
    """The draws of a lot, newest first (centre and supervisor); the seed stays on the row."""
    ctx.require(*roles_for("expert.read_all"))
    trade = get_trade(ctx, lot_code)
    return list(ctx.session.execute(select(ExpertDraw).where(ExpertDraw.lot_id == trade.lot_id)
                                    .order_by(ExpertDraw.id.desc())).scalars())


def recent_draws(ctx: ServiceContext, limit: int = 20) -> list[tuple[ExpertDraw, str]]:
    """The latest draws with their lot codes (centre and supervisor): a way into each lot's draw page."""
    ctx.require(*roles_for("expert.read_all"))
    return list(ctx.session.execute(select(ExpertDraw, LotTrade.lot_code).join(LotTrade, LotTrade.lot_id == ExpertDraw.lot_id)
                                    .order_by(ExpertDraw.id.desc()).limit(limit)).tuples().all())


def org_by_credit_code(ctx: ServiceContext, code: str) -> Organisation | None:
    return ctx.session.execute(select(Organisation).where(
        Organisation.credit_code == (code or "").strip().upper())).scalar_one_or_none()
