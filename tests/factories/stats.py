"""The demo county with concluded trades on top, for the statistics tests.

`flask demo` builds the county's history up to today (T0): registrations, announcements, an opened
比选 lot, a tender closing tonight — but no award and no auction outcome yet. `concluded_county` adds,
through the real services (factories of awards and auctions):
  * a 比选 lot in 龙泉镇 (budget 80万元) awarded at 11-27 00:00 to rank 1 (754,321.00 元), contracted 12-03;
  * a land auction (starting 80万元) in 龙泉镇 sold on 12-05 after three bids;
  * a land auction in 石桥镇 that ended without a bid (流拍) on 12-05.
The clock ends on 12-05 11:00 (Beijing), so 2026-11 is a completed month and 2026-12 the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tests.factories.auctions import INC, START, auction_lot, place, started
from tests.factories.awards import propose, reported_lot
from trading.core.clock import beijing
from trading.core.web import cli_context
from trading.demo import build_demo
from trading.extensions import db
from trading.procedures.auction import services as auctions
from trading.procedures.common.awards import result
from trading.procedures.common.awards import services as awards
from trading.projects.models import Project
from trading.reference.models import Region

PRICES = [754_321_00, 760_000_00, 780_000_00]  # budget 80万元: savings 5.71 %
AWARDED_AT = beijing(2026, 11, 27)
CONTRACT_AT = beijing(2026, 12, 3, 15, 0)
END = beijing(2026, 12, 5, 11, 0)


@dataclass
class County:
    award_lot: str
    sold_lot: str
    unsold_lot: str


def _move(session, lot_code_project_id: int, region: Region) -> None:
    """The auction factory registers its project in its default region; put it in a demo township."""
    session.get(Project, lot_code_project_id).region_id = region.id
    session.flush()


def concluded_county(ctx) -> County:
    build_demo(cli_context())
    db.session.commit()
    session, clock = ctx.session, ctx.clock
    longquan = session.query(Region).filter_by(name="龙泉镇").one()
    shiqiao = session.query(Region).filter_by(name="石桥镇").one()

    sold = auction_lot(ctx, procedure="land_auction", buyers=2)
    unsold = auction_lot(ctx, procedure="land_auction", buyers=1)
    _move(session, sold.auction.project_id, longquan)
    _move(session, unsold.auction.project_id, shiqiao)

    w = reported_lot(ctx, procedure="selection", bidders=3, region_row=longquan)
    propose(w, PRICES)
    awards.publish_candidates(w.c_owner, w.trade.lot_code)
    clock.set(AWARDED_AT)
    result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
    clock.set(CONTRACT_AT)
    result.record_contract(w.c_owner, w.trade.lot_code, date(2026, 12, 3), PRICES[0], "合同已签订")

    a = started(sold)
    started(unsold)
    b1, b2 = sold.buyers
    place(sold, b1, START)
    place(sold, b2, START + INC)
    place(sold, b1, START + 2 * INC)
    clock.set(a.free_until)
    auctions.tick(sold.c_op, sold.code)
    auctions.tick(unsold.c_op, unsold.code)
    while a.outcome is None:
        clock.set(a.deadline)
        auctions.tick(sold.c_op, sold.code)
    clock.set(max(END, clock.now() + timedelta(seconds=1)))
    session.commit()
    return County(w.trade.lot_code, sold.code, unsold.code)
