"""Lots at a given stage, for the stage-machine service tests.

    lot = stage_lot(ctx, "selection", "opened")   # lot.trade (LotTrade), lot.owner, lot.octx (owner's ctx)

The lot's announcement is published through the real services (so it has its opening key); the
status is then set directly, as the stage before the one under test would have left it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import notice_project, published_notice
from trading.accounts.models import User
from trading.core.context import ServiceContext
from trading.procedures.common.models import LotTrade
from trading.procedures.common.participation.models import Participation
from trading.projects.models import Lot

#: what the router needs to allow each procedure (GP goods for 谈判/询价)
PROJECT_FOR = {"inquiry": dict(category="goods", owner_type="gov"),
               "negotiation": dict(category="goods", owner_type="gov")}

#: facts that let each guarded step pass (tests override one at a time)
PANEL_OK = {"panel_size": 5, "panel_experts": 4}


@dataclass
class StageLot:
    trade: LotTrade
    owner: User
    octx: ServiceContext

    @property
    def code(self) -> str:
        return self.trade.lot_code


def stage_lot(ctx: ServiceContext, procedure: str = "selection", status: str = "accepting") -> StageLot:
    owner = make_user(ctx, "owner")
    octx = actor_ctx(ctx.session, ctx.clock, owner)
    project = notice_project(ctx, owner, procedure=procedure, **PROJECT_FOR.get(procedure, {}))
    published_notice(octx, project)
    lot = ctx.session.execute(select(Lot).where(Lot.project_id == project.id).order_by(Lot.seq)).scalars().first()
    trade = ctx.session.get(LotTrade, lot.id)
    if status != trade.status:
        trade.status = status
        ctx.session.flush()
    return StageLot(trade, owner, octx)


def register_bidders(ctx: ServiceContext, trade: LotTrade, n: int) -> list[User]:
    """n bidder organisations registered for the lot (rows written directly)."""
    users = []
    for _ in range(n):
        user = make_user(ctx, "bidder")
        ctx.session.add(Participation(lot_id=trade.lot_id, bidder_org_id=user.org_id, registered_by=user.id,
                                      registered_at=ctx.now(), status="registered"))
        users.append(user)
    ctx.session.flush()
    return users
