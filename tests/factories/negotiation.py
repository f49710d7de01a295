"""竞争性谈判 fixtures: a negotiation lot published through the real services (its opening key made by
the custodians' ceremony), moved past its opening with n valid first responses written as opening
results (the opening itself is tested in test_opening.py), and helpers that seal a round quote to a
round's own key and let the round's custodians open it.

    neg = opened_negotiation(ctx, suppliers=3)     # neg.code, neg.trade, neg.suppliers[i].org/.ctx/.key
    rnd = services.open_round(neg.team, neg.code, closes_at=...)
    quote_for(neg, rnd, neg.suppliers[0], 1_000_000_00)      # sealed, submitted, accepted
    open_round_by_custodians(ctx, rnd)                        # k custodians submit their round shares"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import ensure_custodians, price_sheet
from tests.factories.notices import notice_project, published_notice
from tests.factories.offers import Bidder, bidder_with_key
from trading.accounts.models import User
from trading.core.context import ServiceContext
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningResult
from trading.procedures.negotiation import quotes
from trading.procedures.negotiation.models import NegotiationRound, RoundKeyShare
from trading.sealing import envelope as env


@dataclass
class Negotiation:
    code: str
    trade: LotTrade
    owner: User
    owner_ctx: ServiceContext
    team: ServiceContext                 # an operator of the centre records the team's steps
    suppliers: list[Bidder] = field(default_factory=list)


def opened_negotiation(ctx: ServiceContext, *, suppliers: int = 3) -> Negotiation:
    """A published negotiation lot, past its deadline, status "opened" with `suppliers` valid first
    responses (price parts opened)."""
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, category="goods", owner_type="gov", procedure="negotiation")
    published_notice(actor_ctx(ctx.session, ctx.clock, owner), project)
    trade = ctx.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalars().first()
    bidders = [bidder_with_key(ctx) for _ in range(suppliers)]
    ctx.clock.set(trade.deadline_at + timedelta(minutes=5))
    now = ctx.now()
    for i, b in enumerate(bidders):
        ctx.session.add(OpeningResult(lot_id=trade.lot_id, submission_id=f"first-{trade.lot_id}-{i}",
                                      bidder_org_id=b.org.id, part="price", payload_sha256="0" * 64,
                                      outcome="opened", price_fen=1_000_000_00 + i, opened_at=now))
    trade.status, trade.status_changed_at = "opened", now
    ctx.session.flush()
    op = ctx.session.execute(select(User).where(User.role == "operator", User.username.not_like("custodian%"))
                             .limit(1)).scalar_one_or_none() or make_user(ctx, "operator")
    return Negotiation(trade.lot_code, trade, owner, actor_ctx(ctx.session, ctx.clock, owner),
                       actor_ctx(ctx.session, ctx.clock, op), bidders)


def quote_for(rnd: NegotiationRound, bidder: Bidder, price_fen: int):
    """The supplier seals its price sheet to the round's key and submits it (start + put)."""
    q = quotes.start_quote(bidder.ctx, rnd.code)
    manifest, payload = seal_quote(rnd, bidder, q.submission_id, price_sheet(price_fen))
    return quotes.put_quote(bidder.ctx, q.submission_id, manifest, payload)


def seal_quote(rnd: NegotiationRound, bidder: Bidder, sid: str, plaintext: bytes, *, code: str | None = None):
    context = env.Context(code or rnd.code, bidder.org.credit_code, "price", sid)
    return env.seal(plaintext, context, env.load_public(bytes(rnd.public_raw)), bidder.key, chunk_log2=10)


def round_holders(ctx: ServiceContext, rnd: NegotiationRound) -> list[tuple[User, str]]:
    """The round's custodians (user, passphrase) in x order."""
    people = {u.id: (u, p) for u, p in ensure_custodians(ctx)}
    shares = ctx.session.execute(select(RoundKeyShare).where(RoundKeyShare.round_id == rnd.id)
                                 .order_by(RoundKeyShare.x)).scalars()
    return [people[s.custodian_user_id] for s in shares]


def open_round_by_custodians(ctx: ServiceContext, rnd: NegotiationRound) -> dict:
    out = {}
    for user, passphrase in round_holders(ctx, rnd)[:rnd.k]:
        out = quotes.submit_round_share(actor_ctx(ctx.session, ctx.clock, user), rnd.code, passphrase)
    return out


def register_suppliers(ctx: ServiceContext, neg: Negotiation) -> None:
    """Participation rows for the suppliers (they registered before the deadline; the factory wrote
    their opened first responses directly), so the awards package sees them as the lot's bidders."""
    from trading.procedures.common.participation.models import Participation

    for s in neg.suppliers:
        ctx.session.add(Participation(lot_id=neg.trade.lot_id, bidder_org_id=s.org.id, registered_by=s.user.id,
                                      registered_at=neg.trade.deadline_at - timedelta(days=1), status="registered"))
    ctx.session.flush()


def final_offers_closed(ctx: ServiceContext, finals: list[int | None], *, close: bool = True) -> Negotiation:
    """A negotiation with len(finals) registered suppliers, started by the team, straight to the final
    offers (a None price: that supplier sends none); the final round closed and opened by its
    custodians, and — with close — the final-offer stage closed (the lot evaluating)."""
    from trading.procedures.negotiation import services

    neg = opened_negotiation(ctx, suppliers=len(finals))
    register_suppliers(ctx, neg)
    services.start_negotiation(neg.team, neg.code, team_size=3, team_experts=2)
    final = services.call_final_offers(neg.team, neg.code, closes_at=ctx.now() + timedelta(hours=1))
    for s, price in zip(neg.suppliers, finals, strict=True):
        if price is not None:
            quote_for(final, s, price)
    ctx.clock.set(final.closes_at)
    services.close_round(neg.team, neg.code)
    open_round_by_custodians(ctx, final)
    if close:
        services.close_final_offers(neg.team, neg.code)
    return neg
