"""Read-only queries of the evaluation room: the lot's panel and members, the bidders under
evaluation and the prices that count (opened price sheets; for 谈判 the final offers).

Prices: `OpeningResult` rows of the lot with part "price" and outcome "opened" (the latest one per
bidder). A 竞争性谈判 lot uses the negotiation's final offers through
`final_prices(session, lot_id)` of the negotiation package (its services module, or quotes where it
lives today); when that function is absent the evaluation refuses with a clear error instead of
silently scoring the first-round prices.

Imports: core, accounts, procedures.*, evaluation.panels."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.accounts.models import Organisation, User
from trading.core.errors import Conflict
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningResult
from trading.procedures.common.participation.models import Submission

from ..panels import MemberStatus, Panel, PanelMember, PanelStatus
from .rules import BidderIn

NEGOTIATION = "negotiation"
#: where NEGOT's final_prices may live, tried in order
FINAL_PRICES = (("trading.procedures.negotiation.services", "final_prices"),
                ("trading.procedures.negotiation.quotes", "final_prices"))


def current_panel(session: Session, lot_id: int) -> Panel | None:
    """The lot's panel that is not closed (at most one), else the newest closed one."""
    rows = list(session.execute(select(Panel).where(Panel.lot_id == lot_id).order_by(Panel.id.desc())).scalars())
    return next((p for p in rows if p.status != PanelStatus.CLOSED), rows[0] if rows else None)


def active_members(session: Session, panel_id: int) -> list[PanelMember]:
    return list(session.execute(select(PanelMember).where(PanelMember.panel_id == panel_id,
                                                          PanelMember.status == MemberStatus.ACTIVE)
                                .order_by(PanelMember.id)).scalars())


def member_of(session: Session, panel_id: int, user_id: int | None) -> PanelMember | None:
    if user_id is None:
        return None
    return session.execute(select(PanelMember).where(PanelMember.panel_id == panel_id, PanelMember.user_id == user_id,
                                                     PanelMember.status == MemberStatus.ACTIVE)).scalar_one_or_none()


def member_names(session: Session, members: list[PanelMember]) -> dict[int, str]:
    users = {u.id: u for u in session.execute(select(User).where(
        User.id.in_([m.user_id for m in members] or [-1]))).scalars()}
    return {m.id: users[m.user_id].display_name for m in members if m.user_id in users}


def _final_prices() -> Callable[[Session, int], dict[int, int]]:
    for module_name, attr in FINAL_PRICES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        fn = getattr(module, attr, None)
        if callable(fn):
            return fn
    raise Conflict("evaluation.final_prices_missing",
                   "竞争性谈判的最后报价尚不可读（谈判模块未提供 final_prices），不能评审",
                   "The negotiation's final offers cannot be read (final_prices is missing); "
                   "evaluation cannot proceed")


def opened_prices(session: Session, lot_id: int) -> dict[int, int | None]:
    """bidder org id → its opened price (None when its price part failed or was never opened), for
    every bidder with an envelope at the opening."""
    rows = session.execute(select(OpeningResult).where(OpeningResult.lot_id == lot_id)
                           .order_by(OpeningResult.opened_at, OpeningResult.id)).scalars()
    prices: dict[int, int | None] = {}
    for r in rows:
        prices.setdefault(r.bidder_org_id, None)
        if r.part == "price" and r.outcome == "opened" and r.price_fen is not None:
            prices[r.bidder_org_id] = r.price_fen
    return prices


def bidders(session: Session, trade: LotTrade) -> list[BidderIn]:
    """The bidders under evaluation with the price that counts, in a stable order (org id)."""
    if trade.procedure == NEGOTIATION:
        prices: dict[int, int | None] = dict(_final_prices()(session, trade.lot_id))
    else:
        prices = opened_prices(session, trade.lot_id)
    names = dict(session.execute(select(Organisation.id, Organisation.name)
                                 .where(Organisation.id.in_(list(prices) or [-1]))).all())
    times = price_submitted_at(session, trade.lot_id) if trade.procedure != NEGOTIATION else {}
    return [BidderIn(org_id, names.get(org_id, str(org_id)), prices[org_id], times.get(org_id))
            for org_id in sorted(prices)]


def price_submitted_at(session: Session, lot_id: int) -> dict[int, datetime]:
    """bidder org id → when its opened price envelope was accepted (server time): the earlier
    submission wins a tie of equal prices under the highest-price method."""
    rows = session.execute(select(OpeningResult.bidder_org_id, Submission.accepted_at)
                           .join(Submission, Submission.submission_id == OpeningResult.submission_id)
                           .where(OpeningResult.lot_id == lot_id, OpeningResult.part == "price",
                                  OpeningResult.outcome == "opened")).all()
    return {org: at for org, at in rows if at is not None}
