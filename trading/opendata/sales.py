"""Land, mining and asset sales (出让/转让) in OCDS: the outcome of a sale, for the local sale extension
(extensions/sale: saleMethod, saleObject, startingPrice on the tender; reserveMet and premiumRate on
the award).

`auction_outcome` is THE HOOK for auction outcome data. The auction package (procedures/auction,
拍卖/挂牌/网络竞价) sits below this package in the layer order, so it cannot call in here, and this
package does not read its internals. The wiring (trading/factory.py or the auction package's own
wiring) plugs its result in with `set_auction_outcome_provider(fn)`, where fn(session, trade)
returns a SaleOutcome (winner, deal price, whether the reserve price was met, when) or None while
there is none. Without a provider the general award rows are read: the lot's latest Award (its winner
and price); the reserve is then unknown (None: the field is left out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.procedures.common.awards.models import Award
from trading.procedures.common.models import LotTrade


@dataclass(frozen=True)
class SaleOutcome:
    #: the winning buyer (竞得人/受让方); None for a sale that ended without one
    winner_org_id: int | None
    #: 成交价 in fen
    deal_fen: int | None
    #: the sealed reserve price (保留价/底价) was met; None when the lot had none or it is unknown
    reserve_met: bool | None
    decided_at: datetime | None


OutcomeProvider = Callable[[Session, LotTrade], SaleOutcome | None]
_provider: OutcomeProvider | None = None


def set_auction_outcome_provider(fn: OutcomeProvider | None) -> None:
    """Install (or, with None, remove) the auction package's outcome reader."""
    global _provider
    _provider = fn


def auction_outcome(session: Session, trade: LotTrade) -> SaleOutcome | None:
    """The outcome of a sale lot: from the installed provider, else from the lot's latest Award."""
    if _provider is not None:
        return _provider(session, trade)
    return award_outcome(session, trade)


def award_outcome(session: Session, trade: LotTrade) -> SaleOutcome | None:
    """The general award rows' answer: the lot's latest Award (winner and price), the reserve unknown.
    A provider falls back to it for lots it does not sell."""
    row = session.execute(select(Award).where(Award.lot_id == trade.lot_id)
                          .order_by(Award.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        return None
    return SaleOutcome(winner_org_id=row.bidder_org_id, deal_fen=row.price_fen, reserve_met=None,
                       decided_at=row.determined_at)
