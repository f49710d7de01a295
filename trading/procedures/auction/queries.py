"""Read-only views of an auction for the bidding room and the API: the current price with its 大写,
the increment and the quick amounts (+1× / +2× / +5×), the phase and its deadline with the server
time (milliseconds, for the clock sync), the caller's own status (leading / outbid) and 竞买号, the
accepted bids with masked bidder numbers, and the large-jump classification of an amount.

The current price is public (rules.md G3.3: "the current price updates publicly"); who bids is not:
the history shows masked numbers, the caller's own rows marked as its own. The reserve is never
shown here.

Imports: core, procedures.common (lots), this package."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from trading.core.context import ServiceContext

from . import rules
from .models import Auction, AuctionApplication, AuctionBid
from .services import auction_settings, get_auction, own_application, state_of, terms_of

HISTORY = 50
QUICK = (1, 2, 5)


def _ms(t: datetime | None) -> int | None:
    return int(t.timestamp() * 1000) if t is not None else None


def my_status(a: Auction, app: AuctionApplication | None) -> str:
    """none (not a buyer) | applied | refused | leading | outbid | no_bid (qualified, not yet bid)."""
    if app is None:
        return "none"
    if app.status != "qualified":
        return app.status
    if a.leader_id == app.id:
        return "leading"
    return "outbid" if a.bids and _has_bid(a, app) else "no_bid"


def _has_bid(a: Auction, app: AuctionApplication) -> bool:
    from sqlalchemy.orm import object_session

    return object_session(a).execute(select(AuctionBid.id).where(
        AuctionBid.lot_id == a.lot_id, AuctionBid.application_id == app.id, AuctionBid.accepted.is_(True))
        .limit(1)).first() is not None


def _can_opt_in(ctx: ServiceContext, a: Auction, app: AuctionApplication | None, terms, state, now,
                settings) -> bool:
    """The buyer may click 参加限时竞价 now (and has not yet)."""
    if app is None or app.status != "qualified" or app.wants_timed:
        return False
    eligible = not settings["auction.timed_needs_bid"] or _has_bid(a, app)
    if a.phase == rules.Phase.SCHEDULED and now >= a.free_until:
        return False
    return rules.check_opt_in(terms, state, now, eligible=eligible) is None


def _reserve_statement(a: Auction, state, now: datetime) -> str | None:
    """拍卖法 Art. 50: the lot says whether it has a reserve; 'none' once none can be entered."""
    closed = a.phase in (rules.Phase.OPT_IN, rules.Phase.TIMED, rules.Phase.ENDED) or now >= a.free_until
    got = rules.reserve_statement(a.reserve_set_at is not None, closed)
    return got[0] if got else None


def sale_of_lot(session, lot_id: int) -> dict | None:
    """The outcome of a sale for open data (opendata.sales' provider, wired in trading/factory.py): None
    for a lot with no auction; {"decided": False} while bidding runs or awaits the reserve; else the
    winner's organisation and the deal price (None, None after 流拍), whether the reserve was met (True
    when sold with an opened reserve, False below it, None without one: 拍卖法 Art. 50) and when."""
    a = session.execute(select(Auction).where(Auction.lot_id == lot_id)).scalar_one_or_none()
    if a is None:
        return None
    if a.outcome is None:
        return {"decided": False}
    sold = a.outcome == rules.Outcome.SOLD
    winner = session.get(AuctionApplication, a.leader_id) if sold and a.leader_id else None
    reserve_met = None
    if a.reserve_fen is not None:
        reserve_met = sold if a.basis in ("sold_highest", "below_reserve") else None
    return {"decided": True, "winner_org_id": winner.bidder_org_id if winner else None,
            "deal_fen": a.price_fen if sold else None, "reserve_met": reserve_met, "decided_at": a.ended_at}


def room_state(ctx: ServiceContext, lot_code: str, *, amount_fen: int | None = None) -> dict:
    a = get_auction(ctx, lot_code)
    terms, state = terms_of(a), state_of(a)
    settings = auction_settings(ctx)
    app = own_application(ctx, a)
    now = ctx.now()
    running = rules.running(state, now)
    minimum = rules.minimum_bid(terms, state)
    nos = dict(ctx.session.execute(select(AuctionApplication.id, AuctionApplication.bidder_no)
                                   .where(AuctionApplication.lot_id == a.lot_id)).all())
    rows = ctx.session.execute(select(AuctionBid).where(AuctionBid.lot_id == a.lot_id, AuctionBid.accepted.is_(True))
                               .order_by(AuctionBid.seq.desc()).limit(HISTORY)).scalars().all()
    out = {
        "lot_code": a.lot_code, "procedure": a.procedure, "method": a.method,
        "method_label": rules.METHOD_LABELS[rules.Method(a.method)][0],
        "phase": a.phase, "phase_label": rules.PHASE_LABELS[rules.Phase(a.phase)][0],
        "paused": state.paused, "pause_reason": a.pause_reason if state.paused else "",
        "starting_fen": a.starting_fen, "increment_fen": a.increment_fen,
        "price_fen": a.price_fen, "answers_price": rules.answerable_price(terms, state),
        "next_minimum_fen": minimum, "bidding_open": running,
        "quick": [{"multiple": k, "amount_fen": minimum + (k - 1) * a.increment_fen} for k in QUICK],
        "start_at": a.start_at, "free_until_at": a.free_until, "deadline_at": state.deadline,
        "deadline_ms": _ms(state.deadline), "server_now_ms": _ms(now), "server_now_at": now,
        "paused_left_ms": a.paused_left_ms, "countdown_s": a.countdown_s, "bids": a.bids, "version": a.version,
        "outcome": a.outcome, "outcome_label": rules.OUTCOME_BASIS[a.basis][0] if a.basis else None,
        "winner": rules.mask_bidder_no(nos.get(a.leader_id)) if a.outcome == rules.Outcome.SOLD else None,
        "large_jump_steps": settings["auction.large_jump_steps"], "large_jump_bp": settings["auction.large_jump_bp"],
        "me": {"status": my_status(a, app), "bidder_no": app.bidder_no if app else None,
               "wants_timed": bool(app and app.wants_timed),
               "can_opt_in": _can_opt_in(ctx, a, app, terms, state, now, settings)},
        "timed_start_fen": a.timed_start_fen,
        "floor_statement": _reserve_statement(a, state, now),
        "history": [{"seq": r.seq, "bidder": rules.mask_bidder_no(nos.get(r.application_id)), "amount_fen": r.amount_fen,
                     "at": r.received_at, "mine": bool(app and r.application_id == app.id)} for r in rows],
        "jump": None,
        "subject": {"kind": a.subject, "ref": a.subject_ref, "location": a.location,
                    "area_m2": str(a.area_m2) if a.area_m2 is not None else None,
                    "area_mu": str(rules.mu_of(a.area_m2)) if a.area_m2 is not None else None,
                    "land_use": a.land_use, "term_years": a.term_years, "plot_ratio": a.plot_ratio,
                    "description": a.description, "appraisal_fen": a.appraisal_fen},
    }
    if amount_fen is not None:
        j = rules.jump(terms, state, amount_fen, settings)
        out["jump"] = {"amount_fen": amount_fen, "steps": j.steps, "bp": j.bp, "large": j.large}
    return out
