"""招标出让 (land / mining rights by tender) for tests.

    owner, octx, trade = land_lot(ctx)                         # a published land tender (grant notice)
    lot = reported_land_lot(ctx)                               # … through offers, opening, panel, report

Everything goes through the real services; the clock is set to 2026-08-04 so every later period
ends within the loaded 2026 calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.journeys import (
    draw_panel,
    make_pool,
    open_by_custodians,
    registered_bidders,
    submit_price,
)
from tests.factories.notices import bj_at, notice_project, published_notice
from trading.core.clock import beijing
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.reports import services as reports
from trading.evaluation.scoring import services as scoring
from trading.procedures.common.deposits import services as deposits
from trading.procedures.common.lots import get_trade

WAN = 1_000_000                       # fen in 10,000 yuan
START = 1_000 * WAN                   # 起始价 10,000,000 yuan
CRITERIA = {"method": "highest_price", "min_price_fen": START,
            "rejections": [{"code": "R1", "name": "投标人资格不符合出让公告要求"},
                           {"code": "R2", "name": "报价低于起始价"}]}


def land_lot(ctx, *, procedure: str = "land_tender", category: str = "land", days: int = 25):
    """(owner, owner ctx, LotTrade) of a published 招标出让 lot: the grant notice with the bid
    deadline and the opening `days` Beijing days ahead."""
    ctx.clock.set(beijing(2026, 8, 4, 9, 0))     # a Tuesday: every period after it ends within 2026
    ensure_custodians(ctx)
    owner = make_user(ctx, "owner")
    octx = actor_ctx(ctx.session, ctx.clock, owner)
    project = notice_project(ctx, owner, procedure=procedure, category=category, owner_type="gov",
                             funding_source="self_raised", total_investment_fen=START,
                             name="城区2026-21号地块国有建设用地使用权招标出让",
                             lots=[{"name": "城区2026-21号宗地", "budget_fen": START}])
    at = bj_at(ctx.now(), days, 9, 0)
    published_notice(octx, project, deadline_at=at, opening_at=at, closing_at=None)
    return owner, octx, get_trade(ctx, project.lots[0].code)


@dataclass
class ReportedLot:
    owner: object
    owner_ctx: object
    trade: object
    bidders: list
    members: list


def reported_land_lot(ctx, prices=(1_180 * WAN, 1_250 * WAN, 1_100 * WAN)) -> ReportedLot:
    """A land tender with a 20 % deposit and the highest-price criteria, one sealed offer per price
    (7 minutes apart), opened by the custodians, a panel of five, every sheet in, the report signed:
    the lot is `reported` with its candidate list."""
    owner, octx, trade = land_lot(ctx)
    code = trade.lot_code
    deposits.set_lot_deposit(octx, code, 200 * WAN)
    set_criteria(octx, code, CRITERIA)
    make_pool(ctx, 6)
    bidders = registered_bidders(ctx, code, len(prices))
    for b, price in zip(bidders, prices, strict=True):
        ctx.clock.advance(timedelta(minutes=7))
        submit_price(b, code, price)
    ctx.clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    _draw, members = draw_panel(ctx, code, size=5)
    for m in members:
        for b in bidders:
            scoring.declare(m.ctx, code, b.org.id, conflict=False)
        for b in bidders:
            scoring.submit_sheet(m.ctx, code, b.org.id, {"decision": "score"})
    ctx.clock.advance(timedelta(hours=1))
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        ctx.clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(ctx.clock), report_sha256=report.sha256)
    return ReportedLot(owner, octx, trade, bidders, members)
