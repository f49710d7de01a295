"""Awards for tests: a published lot with registered bidders whose evaluation report is in.

    w = reported_lot(ctx, procedure="selection", bidders=3)   # w.owner, w.c_owner, w.trade, w.bidders, w.c_bidders
    cl = propose(w, prices=[900_000_00, 950_000_00, 980_000_00])   # ranked candidates from "the report"

The lot reaches "reported" by a direct status write: opening and scoring belong to other packages
and their own tests; everything from the report on goes through the real award services."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.deposits import deposit_lot, registered_account
from trading.core.clock import beijing
from trading.core.context import ServiceContext
from trading.procedures.common.awards import services
from trading.procedures.common.awards.rules import CandidateIn

#: after the default deadline (12 days after T0 = 2026-11-22 09:30): Monday morning
REPORTED_AT = beijing(2026, 11, 23, 10, 0)


@dataclass
class World:
    owner: object
    c_owner: ServiceContext
    trade: object
    bidders: list = field(default_factory=list)
    c_bidders: list = field(default_factory=list)
    accounts: list = field(default_factory=list)


def reported_lot(ctx: ServiceContext, *, procedure: str = "selection", bidders: int = 3, deposit_yuan: int | None = 10_000,
                 at=REPORTED_AT, **project) -> World:
    if procedure in ("negotiation", "inquiry"):
        project = {"category": "goods", "owner_type": "gov", **project}
    owner, trade = deposit_lot(ctx, procedure=procedure, deposit_yuan=deposit_yuan, **project)
    w = World(owner, actor_ctx(ctx.session, ctx.clock, owner), trade)
    for _ in range(bidders):
        b = make_user(ctx, "bidder")
        w.bidders.append(b)
        w.c_bidders.append(actor_ctx(ctx.session, ctx.clock, b))
        w.accounts.append(registered_account(ctx, trade, b))
    ctx.clock.set(at)
    trade.status, trade.status_changed_at = "reported", at  # opening and evaluation: see the docstring
    ctx.session.flush()
    return w


def propose(w: World, prices: list[int], *, report_id: int | None = 1):
    cands = [CandidateIn(b.org_id, i, p) for i, (b, p) in enumerate(zip(w.bidders, prices, strict=False), start=1)]
    return services.propose_candidates(w.c_owner, w.trade.lot_code, cands, report_id=report_id)
