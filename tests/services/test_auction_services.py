"""拍卖 / 挂牌 / 网络竞价 services: configuration (terms, schedule, deposit floor), applications and
qualification (deposit received), start, bids (accepted, stale, idempotent retries, refusals stored
with their reason), the timed phase and its countdown, outcomes (sold, 流拍, one bidder), pause and
resume by a supervisor, the bid chain, the audit entries and live events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.auctions import (
    INC,
    START,
    add_buyer,
    after,
    auction_lot,
    open_reserve_by_custodians,
    pay_deposit,
    place,
    seal_reserve,
    started,
)
from trading.audit.chain import chain_hash
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.core.events import LiveEvent
from trading.procedures.auction import services
from trading.procedures.auction.models import AuctionBid
from trading.procedures.auction.services import _bid_bytes
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.lots import get_trade

MS = timedelta(milliseconds=1)


def actions(session) -> list[str]:
    return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def bids(session, lot_id) -> list[AuctionBid]:
    return list(session.execute(select(AuctionBid).where(AuctionBid.lot_id == lot_id).order_by(AuctionBid.id)).scalars())


def events(session, code) -> list[tuple[str, dict]]:
    return [(e.name, e.data) for e in session.execute(
        select(LiveEvent).where(LiveEvent.channel == f"auction:{code}").order_by(LiveEvent.id)).scalars()]


# --- configuration -------------------------------------------------------------------------------
def test_configure_a_land_listing_from_its_grant_notice(ctx, session):
    w = auction_lot(ctx, buyers=0, area_m2="13340.02", land_use="城镇住宅用地", term_years=70, plot_ratio="1.0–2.5")
    a = w.auction
    assert (a.method, a.subject, a.phase, a.starting_fen, a.increment_fen, a.countdown_s) == (
        "listing", "parcel", "scheduled", START, INC, 300)
    assert str(a.area_m2) == "13340.02" and str(services.rules.mu_of(a.area_m2)) == "20.01"
    assert get_trade(ctx, w.code).deposit_fen == START * 20 // 100
    assert "auction.configured" in actions(session)


def test_land_deposit_below_20_percent_is_refused(ctx):
    w = auction_lot(ctx, buyers=0)
    with pytest.raises(RuleViolation) as e:
        services.configure_listing(w.c_owner, w.code, starting_fen=START, increment_fen=INC,
                                   deposit_fen=START * 20 // 100 - 1)
    assert e.value.code == "deposit.under_floor" and e.value.field == "deposit_fen"


def test_listing_shorter_than_10_working_days_is_refused(ctx):
    w = auction_lot(ctx, buyers=0)
    with pytest.raises(RuleViolation) as e:
        services.configure_listing(w.c_owner, w.code, starting_fen=START, increment_fen=INC, deposit_fen=START // 5,
                                   free_until=w.auction.start_at + timedelta(days=5))
    assert e.value.code == "period.land_listing" and "挂牌期" in e.value.message_zh


def test_only_the_project_side_configures_and_not_after_the_start(ctx, session, clock):
    w = auction_lot(ctx, buyers=2)
    stranger = actor_ctx(session, clock, make_user(ctx, "owner"))
    with pytest.raises(NotFound):
        services.configure_listing(stranger, w.code, starting_fen=START, increment_fen=INC, deposit_fen=START // 5)
    started(w)
    with pytest.raises(Conflict) as e:
        services.configure_listing(w.c_owner, w.code, starting_fen=START, increment_fen=2 * INC, deposit_fen=START // 5)
    assert e.value.code == "auction.started"


# --- buyers ----------------------------------------------------------------------------------------
def test_qualification_needs_the_deposit_and_gives_a_random_bidder_number(ctx, session):
    w = auction_lot(ctx, buyers=0)
    b = add_buyer(w, qualify=False, pay=False)
    again, created = services.apply(b.ctx, w.code)
    assert again.id == b.app.id and not created
    with pytest.raises(RuleViolation) as e:
        services.qualify(w.c_op, b.app.id)
    assert e.value.code == "auction.deposit_missing"
    pay_deposit(w, b, amount_fen=START // 5 - 100)  # partly paid
    with pytest.raises(RuleViolation):
        services.qualify(w.c_op, b.app.id)
    pay_deposit(w, b, amount_fen=100)
    app = services.qualify(w.c_op, b.app.id)
    assert app.status == "qualified" and len(app.bidder_no) == 6 and app.bidder_no.isdigit()
    with pytest.raises(Conflict):
        services.qualify(w.c_op, b.app.id)
    other = add_buyer(w)
    assert other.app.bidder_no != app.bidder_no
    with pytest.raises(Forbidden):
        services.qualify(b.ctx, other.app.id)


def test_refusal_needs_a_note(ctx):
    w = auction_lot(ctx, buyers=0)
    b = add_buyer(w, qualify=False, pay=False)
    with pytest.raises(InvalidInput):
        services.qualify(w.c_op, b.app.id, approve=False)
    assert services.qualify(w.c_op, b.app.id, approve=False, note="营业执照过期").status == "refused"


def test_applications_close_at_the_application_deadline(ctx, clock):
    w = auction_lot(ctx, buyers=0)
    clock.set(get_trade(ctx, w.code).deadline_at)
    with pytest.raises(RuleViolation) as e:
        add_buyer(w)
    assert e.value.code == "auction.applications_closed"


# --- start ----------------------------------------------------------------------------------------
def test_start_not_before_the_announced_time(ctx, clock):
    w = auction_lot(ctx)
    clock.set(w.auction.start_at - MS)
    with pytest.raises(Conflict) as e:
        services.start_bidding(w.c_op, w.code)
    assert e.value.code == "auction.start_too_early"
    a = started(w)
    assert a.phase == "free" and a.deadline == a.free_until and get_trade(ctx, w.code).status == "bidding"


def test_an_auction_with_one_buyer_ends_in_no_sale(ctx, session):
    w = auction_lot(ctx, procedure="land_auction", buyers=1)
    a = started(w)
    assert (a.phase, a.outcome, a.basis) == ("ended", "no_sale", "too_few_bidders")
    assert get_trade(ctx, w.code).status == "failed"
    assert "auction.no_sale" in actions(session)


# --- bids ------------------------------------------------------------------------------------------
def test_accepted_bid_moves_price_leader_and_is_audited_and_published(ctx, session):
    w = auction_lot(ctx)
    started(w)
    b1, b2 = w.buyers
    r = place(w, b1, START)
    assert r.accepted and r.seq == 1 and w.auction.price_fen == START and w.auction.leader_id == b1.app.id
    r = place(w, b2, START + 3 * INC)
    assert r.accepted and r.seq == 2 and r.price_fen == START + 3 * INC
    assert actions(session).count("auction.bid_accepted") == 2
    evs = [d for n, d in events(session, w.code) if n == "auction:bid"]
    assert [e["seq"] for e in evs] == [1, 2] and evs[1]["price_fen"] == START + 3 * INC
    assert evs[1]["bidder"] == "****" + b2.app.bidder_no[-2:] and "捌拾叁万" in evs[1]["capitals"]


def test_a_bid_on_a_beaten_price_is_refused_with_its_reason_before_the_lock_and_not_stored(ctx, session):
    w = auction_lot(ctx)
    started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    n_audit = len(actions(session))
    r = place(w, b1, START + 2 * INC, answers=START)   # answers a price b2 has already beaten
    assert not r.accepted and not r.replay and r.reason == "auction.stale"
    assert r.details == {"answers_price": START, "current_price": START + INC} and r.price_fen == START + INC
    assert "当前价已变化" in r.message_zh and r.message_en
    assert w.auction.price_fen == START + INC and w.auction.leader_id == b2.app.id
    rows = bids(session, w.auction.lot_id)
    assert [(x.accepted, x.seq, x.reason) for x in rows] == [(True, 1, None), (True, 2, None)]
    assert len(actions(session)) == n_audit


def test_a_stale_bid_the_price_could_still_reach_is_decided_under_the_lock_and_stored(ctx, session):
    w = auction_lot(ctx)
    started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    n_audit = len(actions(session))
    r = place(w, b2, START + 5 * INC, answers=START + 2 * INC)   # names a price not reached yet
    assert not r.accepted and r.reason == "auction.stale" and r.details["current_price"] == START
    assert w.auction.price_fen == START and w.auction.leader_id == b1.app.id
    rows = bids(session, w.auction.lot_id)
    assert [(x.accepted, x.seq, x.reason) for x in rows] == [(True, 1, None), (False, None, "auction.stale")]
    assert len(actions(session)) == n_audit


def test_a_beaten_answer_from_a_bidder_not_qualified_or_after_a_pause_keeps_the_locked_reason(ctx, session, clock):
    w = auction_lot(ctx)
    pending = add_buyer(w, qualify=False)
    started(w)
    b1, b2 = w.buyers[:2]
    place(w, b1, START)
    place(w, b2, START + INC)
    r = place(w, pending, START + 2 * INC, answers=START)
    assert r.reason == "auction.not_qualified"      # not a stale answer: the bidder may not bid at all
    clock.advance(timedelta(days=30))               # the free phase is over, nothing moved it on yet
    r = place(w, b1, START + 2 * INC, answers=START)
    assert r.reason in ("auction.phase_over", "auction.deadline_passed")


def test_a_retry_returns_the_first_answer_and_writes_nothing(ctx, session):
    w = auction_lot(ctx)
    started(w)
    b1, b2 = w.buyers
    first = place(w, b1, START, cid="retry-1")
    place(w, b2, START + INC)
    again = place(w, b1, START, answers=START, cid="retry-1")
    assert again.replay and again.accepted and again.seq == first.seq == 1
    assert len(bids(session, w.auction.lot_id)) == 2 and w.auction.leader_id == b2.app.id
    with pytest.raises(Conflict) as e:
        place(w, b1, START + 5 * INC, cid="retry-1")
    assert e.value.code == "auction.bid_id_reused"
    refused = place(w, b1, START + INC, answers=START, cid="retry-2")
    assert refused.reason == "auction.stale"
    again = place(w, b1, START + INC, answers=START, cid="retry-2")   # answered again, the same way
    assert (again.accepted, again.reason, again.details) == (False, "auction.stale", refused.details)
    assert len(bids(session, w.auction.lot_id)) == 2


def test_not_qualified_and_strangers(ctx, session, clock):
    w = auction_lot(ctx)
    pending = add_buyer(w, qualify=False)
    started(w)
    r = place(w, pending, START)
    assert not r.accepted and r.reason == "auction.not_qualified"
    stranger = actor_ctx(session, clock, make_user(ctx, "bidder"))
    with pytest.raises(NotFound):
        services.place_bid(stranger, w.code, answers_price=START, amount_fen=START, client_bid_id="x")


@pytest.mark.parametrize("answers, amount, cid", [
    (START, "800000.00", "a"), (START, 1.5, "a"), (START, True, "a"), (START, -1, "a"), (None, START, "a"),
    (START, START, ""), (START, START, "x" * 65), (START, START, None),
])
def test_malformed_bids_store_nothing(ctx, session, answers, amount, cid):
    w = auction_lot(ctx)
    started(w)
    with pytest.raises(InvalidInput):
        services.place_bid(w.buyers[0].ctx, w.code, answers_price=answers, amount_fen=amount, client_bid_id=cid)
    assert bids(session, w.auction.lot_id) == []


def test_bid_attempts_are_chained(ctx, session):
    w = auction_lot(ctx)
    started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC, answers=START - INC)
    place(w, b2, START + INC)
    rows = bids(session, w.auction.lot_id)
    prev = b"\x00" * 32
    for row in rows:
        app = next(b.app for b in w.buyers if b.app.id == row.application_id)
        assert bytes(row.prev_hash) == prev
        assert bytes(row.entry_hash) == chain_hash(prev, _bid_bytes(w.auction, row, app.bidder_no))
        prev = bytes(row.entry_hash)
    assert bytes(w.auction.last_bid_hash) == prev


# --- the listing through its timed phase -----------------------------------------------------------
def test_listing_goes_to_the_timed_phase_and_the_countdown_restarts(ctx, session, clock):
    w = auction_lot(ctx)
    a = started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    services.opt_in(b1.ctx, w.code)
    services.opt_in(b2.ctx, w.code)
    seal_reserve(w, START + 2 * INC)
    clock.set(a.free_until - MS)
    with pytest.raises(Conflict):
        services.end_free_phase(w.c_op, w.code)
    clock.set(a.free_until)
    assert place(w, b1, START + 2 * INC).reason == "auction.phase_over"
    services.tick(w.c_op, w.code)
    assert a.phase == "timed" and a.deadline == a.free_until + timedelta(minutes=5)
    after(w, minutes=5, milliseconds=-1)  # 1 ms before the end: accepted, extends
    r = place(w, b1, START + 2 * INC)
    assert r.accepted and a.deadline == clock.now() + timedelta(minutes=5)
    clock.set(a.deadline)                 # at the deadline: refused
    r = place(w, b2, START + 3 * INC)
    assert r.reason == "auction.deadline_passed" and a.price_fen == START + 2 * INC
    services.tick(w.c_op, w.code)
    assert (a.phase, a.outcome, a.basis) == ("ended", None, "awaiting_reserve")  # the sealed reserve opens now
    open_reserve_by_custodians(w)
    assert (a.phase, a.outcome, a.basis) == ("ended", "sold", "sold_highest")
    assert get_trade(ctx, w.code).status == "awarded"
    winner = {b.app.participation_id: b for b in w.buyers}
    flags = dict(session.execute(select(DepositAccount.participation_id, DepositAccount.is_winner)).all())
    assert flags == {b1.app.participation_id: True, b2.app.participation_id: False} and len(winner) == 2
    sold = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.sold")).scalar_one()
    assert b'"reserve_fen":' + str(START + 2 * INC).encode() in bytes(sold.body)
    assert events(session, w.code)[-1][0] == "auction:ended"


def test_listing_with_one_buyer_continuing_takes_the_highest_listing_bid(ctx, clock):
    w = auction_lot(ctx)
    a = started(w)
    place(w, w.buyers[0], START + 4 * INC)
    services.opt_in(w.buyers[0].ctx, w.code)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    assert (a.phase, a.outcome, a.leader_id) == ("ended", "sold", w.buyers[0].app.id)


def test_listing_below_the_reserve_is_no_sale_with_next_steps(ctx, session, clock):
    w = auction_lot(ctx)
    seal_reserve(w, START + 10 * INC)
    with pytest.raises(Conflict):
        seal_reserve(w, START)  # write-once
    a = started(w)
    place(w, w.buyers[0], START + INC)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    open_reserve_by_custodians(w)
    assert (a.outcome, a.basis) == ("no_sale", "below_reserve") and get_trade(ctx, w.code).status == "failed"
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.no_sale")).scalar_one()
    assert b'"next_steps":["relist","terminate"]' in bytes(entry.body)
    reserve_set = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.reserve_sealed")).scalar_one()
    assert str(START + 10 * INC).encode() not in bytes(reserve_set.body)


def test_online_bidding_with_one_buyer_sells_at_its_bid(ctx, clock):
    w = auction_lot(ctx, procedure="online_bidding", buyers=1, starting_fen=500 * 1_000_000)
    a = started(w)
    place(w, w.buyers[0], a.starting_fen)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    assert (a.outcome, a.basis, a.price_fen) == ("sold", "sold_one_bidder", a.starting_fen)


def test_online_bidding_with_two_buyers_is_competitive(ctx, clock):
    w = auction_lot(ctx, procedure="online_bidding", buyers=2, starting_fen=500 * 1_000_000)
    a = started(w)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    assert a.phase == "timed"
    clock.set(a.deadline)
    services.close_timed_phase(w.c_op, w.code)
    assert (a.outcome, a.basis) == ("no_sale", "no_bid")


# --- pause / resume --------------------------------------------------------------------------------
def test_supervisor_pauses_and_resumes_with_the_countdown_frozen(ctx, session, clock):
    w = auction_lot(ctx)
    a = started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    for b in (b1, b2):
        services.opt_in(b.ctx, w.code)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    after(w, minutes=2)
    with pytest.raises(InvalidInput):
        services.pause(w.c_sup, w.code, "  ")
    with pytest.raises(Forbidden):
        services.pause(w.c_op, w.code, "系统故障")
    services.pause(w.c_sup, w.code, "网络故障，暂停交易")
    assert a.paused_left_ms == 3 * 60 * 1000 and a.deadline is None
    after(w, hours=1)
    assert place(w, b1, START + 2 * INC).reason == "auction.paused"
    services.tick(w.c_op, w.code)
    assert a.phase == "timed"  # nothing closes while paused
    with pytest.raises(Conflict):
        services.pause(w.c_sup, w.code, "again")
    services.resume(w.c_sup, w.code, "故障排除")
    assert a.deadline == clock.now() + timedelta(minutes=3) and a.paused_left_ms is None
    assert place(w, b1, START + 2 * INC).accepted
    assert [n for n, _ in events(session, w.code)][-3:] == ["auction:paused", "auction:resumed", "auction:bid"]
    assert {"auction.paused", "auction.resumed"} <= set(actions(session))
    paused = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.paused")).scalar_one()
    assert "网络故障".encode() in bytes(paused.body)


def test_nothing_to_resume(ctx):
    w = auction_lot(ctx)
    started(w)
    with pytest.raises(DomainError) as e:
        services.resume(w.c_sup, w.code, "x")
    assert e.value.code == "auction.not_paused"


def test_bid_count(ctx, session):
    w = auction_lot(ctx)
    started(w)
    place(w, w.buyers[0], START)
    assert services.bid_count(ctx, w.code) == 1 == session.execute(select(func.count()).select_from(AuctionBid)).scalar()


# --- the clock's steps (flask auction tick) ----------------------------------------------------------
def test_tick_command_moves_what_is_due_and_keeps_a_paused_lot(app, ctx, session, clock):
    from trading.procedures.auction.models import Auction

    listing = auction_lot(ctx)
    other = auction_lot(ctx)
    session.commit()
    clock.set(listing.auction.start_at)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["auction", "tick"])
    assert out.exit_code == 0 and "2 auction(s) moved" in out.output and "scheduled → free" in out.output
    services.pause(other.c_sup, other.code, "系统维护")
    place(listing, listing.buyers[0], START)
    session.commit()
    clock.set(listing.auction.free_until)
    out = runner.invoke(args=["auction", "tick"])
    assert "1 auction(s) moved" in out.output and f"{listing.code}: free → ended" in out.output
    session.expire_all()
    assert session.get(Auction, other.auction.lot_id).phase == "free"
    assert session.get(Auction, listing.auction.lot_id).outcome == "sold"


def test_a_restart_loses_no_bid_and_the_countdown_resumes_from_the_stored_deadline(app, ctx, session, clock):
    """A worker restart: the session and every pooled connection go away; what a new one reads is what
    was committed — the accepted bids, the price, the stored deadline the countdown runs to."""
    from trading.extensions import db
    from trading.procedures.auction.models import Auction

    w = auction_lot(ctx)
    a = started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    for b in (b1, b2):
        services.opt_in(b.ctx, w.code)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    after(w, minutes=1)
    place(w, b1, START + 2 * INC)
    deadline, lot_id = a.deadline, a.lot_id
    session.commit()
    db.session.remove()
    if session.get_bind().dialect.name != "sqlite":  # the tests' SQLite lives in its one connection
        db.engine.dispose()
    fresh = db.session
    again = fresh.get(Auction, lot_id)
    assert (again.phase, again.price_fen, again.bids, again.deadline) == ("timed", START + 2 * INC, 3, deadline)
    assert [r.seq for r in bids(fresh, lot_id) if r.accepted] == [1, 2, 3]
    clock.set(deadline - MS)
    assert services.tick(w.c_op, w.code).phase == "timed"  # not before the stored deadline
    clock.set(deadline)
    assert services.tick(w.c_op, w.code).outcome == "sold"


# --- 挂牌: the opt-in window after the close (汕头) ---------------------------------------------------
def _three_bidders_listing(ctx):
    w = auction_lot(ctx, buyers=3)
    a = started(w)
    b1, b2, b3 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    return w, a, (b1, b2, b3)


def test_opt_in_window_two_eligible_buyers_join_and_the_timed_phase_starts(ctx, session, clock):
    w, a, (b1, b2, b3) = _three_bidders_listing(ctx)
    clock.set(a.free_until)
    services.tick(w.c_op, w.code)
    assert (a.phase, a.deadline) == ("opt_in", a.free_until + timedelta(minutes=5))
    assert place(w, b1, START + 2 * INC).reason == "auction.opt_in_window"
    with pytest.raises(Forbidden) as e:  # b3 never bid in the listing (auction.timed_needs_bid)
        services.opt_in(b3.ctx, w.code)
    assert e.value.code == "auction.not_eligible_timed" and "有效报价" in e.value.message_zh
    after(w, minutes=4)
    services.opt_in(b1.ctx, w.code)
    services.opt_in(b1.ctx, w.code)  # again: nothing new
    services.opt_in(b2.ctx, w.code)
    assert actions(session).count("auction.opted_in") == 2
    clock.set(a.deadline - MS)
    assert services.tick(w.c_op, w.code).phase == "opt_in"  # not before the window ends
    clock.set(a.deadline)
    with pytest.raises(Conflict) as e:
        services.opt_in(b2.ctx, w.code)
    assert e.value.code == "auction.not_opt_in"
    services.tick(w.c_op, w.code)
    assert (a.phase, a.deadline, a.timed_start_fen) == ("timed", clock.now() + timedelta(minutes=5), START + INC)
    assert place(w, b3, START + 2 * INC).accepted  # qualified: bids like everyone (the opt-in picks the phase)
    assert place(w, b1, START + 3 * INC).accepted
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.timed_phase")).scalar_one()
    assert b'"old":"opt_in"' in bytes(entry.body) and b'"continuing":2' in bytes(entry.body)
    assert [n for n, d in events(session, w.code) if n == "auction:phase"][-2:] == ["auction:phase"] * 2
    assert "auction.opt_in_window" in actions(session)


def test_opt_in_window_with_one_buyer_opting_in_leaves_the_listing_result(ctx, clock):
    w, a, (b1, b2, b3) = _three_bidders_listing(ctx)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    services.opt_in(b1.ctx, w.code)
    clock.set(a.deadline)
    services.end_opt_in(w.c_op, w.code)
    assert (a.phase, a.outcome, a.basis, a.price_fen, a.leader_id) == (
        "ended", "sold", "sold_no_reserve", START + INC, b2.app.id)
    assert get_trade(ctx, w.code).status == "awarded"


def test_early_opt_ins_of_every_eligible_buyer_skip_the_window(ctx, clock):
    w, a, (b1, b2, b3) = _three_bidders_listing(ctx)
    services.opt_in(b3.ctx, w.code)  # during the listing any qualified buyer may ask; counted at the close
    services.opt_in(b1.ctx, w.code)
    services.opt_in(b2.ctx, w.code)
    clock.set(a.free_until)
    services.tick(w.c_op, w.code)
    assert a.phase == "timed" and a.deadline == a.free_until + timedelta(minutes=5)


def _setting(w, code: str, value: int) -> None:
    from trading.reference.services import update_setting

    update_setting(actor_ctx(w.ctx.session, w.clock, make_user(w.ctx, "admin")), code, value)
    for c in (w.c_op, *(b.ctx for b in w.buyers)):
        c.cache.pop("settings", None)


def test_opt_in_window_settings_any_registered_and_start_plus_increment(ctx, session, clock):
    w, a, (b1, b2, b3) = _three_bidders_listing(ctx)
    _setting(w, "auction.timed_needs_bid", 0)  # eligibility: any_registered
    _setting(w, "auction.timed_start_plus_increment", 1)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    services.opt_in(b3.ctx, w.code)  # any registered (qualified) buyer may join now
    services.opt_in(b2.ctx, w.code)  # the listing leader
    clock.set(a.deadline)
    services.end_opt_in(w.c_op, w.code)
    assert (a.phase, a.timed_start_fen) == ("timed", START + 2 * INC)
    assert place(w, b2, START + 2 * INC).accepted  # the leader may take the announced start price
    assert place(w, b2, START + 3 * INC).reason == "auction.already_leading"


def test_no_opt_in_window_decides_at_the_close(ctx, clock):
    w, a, (b1, b2, b3) = _three_bidders_listing(ctx)
    _setting(w, "auction.optin_window_s", 0)
    services.opt_in(b1.ctx, w.code)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    assert (a.phase, a.outcome) == ("ended", "sold")


def test_an_opt_in_window_pauses_with_its_time_left(ctx, clock):
    w, a, (b1, b2, b3) = _three_bidders_listing(ctx)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    after(w, minutes=1)
    services.pause(w.c_sup, w.code, "系统故障")
    assert a.paused_left_ms == 4 * 60 * 1000
    after(w, hours=1)
    with pytest.raises(Conflict) as e:
        services.opt_in(b1.ctx, w.code)
    assert e.value.code == "auction.paused"
    assert services.tick(w.c_op, w.code).phase == "opt_in"
    services.resume(w.c_sup, w.code, "已恢复")
    assert a.deadline == clock.now() + timedelta(minutes=4)
    services.opt_in(b1.ctx, w.code)


def test_opt_in_is_for_listings_only(ctx, clock):
    w = auction_lot(ctx, procedure="online_bidding", buyers=2, starting_fen=500 * 1_000_000)
    started(w)
    with pytest.raises(Conflict) as e:
        services.opt_in(w.buyers[0].ctx, w.code)
    assert e.value.code == "auction.not_opt_in"


# --- the increment adjusted during bidding ------------------------------------------------------------
def test_the_host_adjusts_the_increment_with_a_reason(ctx, session, clock):
    w = auction_lot(ctx)
    a = started(w)
    b1, b2 = w.buyers
    place(w, b1, START)
    with pytest.raises(InvalidInput):
        services.adjust_increment(w.c_op, w.code, 2 * INC, " ")
    with pytest.raises(Forbidden):
        services.adjust_increment(b1.ctx, w.code, 2 * INC, "竞价激烈")
    with pytest.raises(Forbidden):
        services.adjust_increment(w.c_owner, w.code, 2 * INC, "竞价激烈")
    with pytest.raises(Conflict) as e:
        services.adjust_increment(w.c_op, w.code, INC, "不变")
    assert e.value.code == "auction.increment_same"
    version = a.version
    services.adjust_increment(w.c_op, w.code, 2 * INC, "竞价激烈，提高加价幅度")
    assert a.increment_fen == 2 * INC and a.version == version + 1
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.increment_adjusted")).scalar_one()
    assert f'"old":{INC}'.encode() in bytes(entry.body) and f'"new":{2 * INC}'.encode() in bytes(entry.body)
    assert "竞价激烈".encode() in bytes(entry.body)
    name, data = events(session, w.code)[-1]
    assert name == "auction:increment" and data["increment_fen"] == 2 * INC and data["old_increment_fen"] == INC
    assert data["next_minimum_fen"] == START + 2 * INC and "贰万" in data["capitals"]
    # a bid in flight computed with the old increment: refused with the reason, stored, price unchanged
    r = services.place_bid(b2.ctx, w.code, answers_price=START, amount_fen=START + INC, client_bid_id="old-inc",
                           answers_increment=INC)
    assert not r.accepted and r.reason == "auction.increment_changed" and "加价幅度已调整" in r.message_zh
    assert r.details == {"answers_increment": INC, "increment_fen": 2 * INC} and a.price_fen == START
    assert bids(session, a.lot_id)[-1].reason == "auction.increment_changed"
    r = services.place_bid(b2.ctx, w.code, answers_price=START, amount_fen=START + 2 * INC, client_bid_id="new-inc",
                           answers_increment=2 * INC)
    assert r.accepted
    assert place(w, b1, START + 3 * INC).reason == "auction.below_minimum"  # no increment stated: the new one
    with pytest.raises(InvalidInput):
        services.place_bid(b1.ctx, w.code, answers_price=START, amount_fen=START, client_bid_id="x", answers_increment=0)


def test_the_increment_cannot_change_before_the_start_or_after_the_end(ctx, clock):
    w = auction_lot(ctx)
    with pytest.raises(Conflict) as e:
        services.adjust_increment(w.c_op, w.code, 2 * INC, "x")
    assert e.value.code == "auction.not_started"
    a = started(w)
    clock.set(a.free_until)
    services.end_free_phase(w.c_op, w.code)
    assert a.phase == "ended"
    with pytest.raises(Conflict) as e:
        services.adjust_increment(w.c_op, w.code, 2 * INC, "x")
    assert e.value.code == "auction.ended"


# --- 矿业权 (rules.md H): the same engine, to a deal -------------------------------------------------
def test_a_mining_right_listing_runs_to_a_deal(ctx, session, clock):
    from trading.core.clock import beijing
    from trading.procedures.auction.rules import METHOD_LABELS, Method, check_schedule
    from trading.reference.services import get_calendar

    clock.set(beijing(2026, 6, 1, 9))  # 20 working days' notice and the listing fall inside the loaded 2026
    w = auction_lot(ctx, procedure="mining_listing", buyers=2, subject_ref="采矿权-2026-01", location="某县某乡",
                    description="建筑用花岗岩矿，开采规模 10 万吨/年")
    a = w.auction
    assert (a.procedure, a.method, a.subject) == ("mining_listing", "listing", "parcel")
    assert METHOD_LABELS[Method(a.method)] == ("挂牌", "Listing")
    # the announcement lead is 20 working days (period.mining_notice_wd), not land's 20 calendar days
    trade = get_trade(ctx, w.code)
    from trading.procedures.common.models import Notice
    notice = session.get(Notice, trade.notice_id)
    short = check_schedule("mining_listing", published_at=notice.published_at,
                           start_at=notice.published_at + timedelta(days=21), close_at=a.free_until,
                           starting_fen=START, cal=get_calendar(ctx), settings=services.auction_settings(ctx))
    assert [p.code for p in short][:1] == ["period.mining_notice_wd"] and "20个工作日" in short[0].zh
    b1, b2 = w.buyers
    started(w)
    place(w, b1, START)
    place(w, b2, START + INC)
    for b in (b1, b2):
        services.opt_in(b.ctx, w.code)
    clock.set(a.free_until)
    services.tick(w.c_op, w.code)
    assert a.phase == "timed"
    after(w, minutes=1)
    assert place(w, b1, START + 3 * INC).accepted
    clock.set(a.deadline)
    services.tick(w.c_op, w.code)
    assert (a.outcome, a.basis, a.price_fen, a.leader_id) == ("sold", "sold_no_reserve", START + 3 * INC, b1.app.id)
    assert get_trade(ctx, w.code).status == "awarded"
    sold = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.sold")).scalar_one()
    assert b'"basis":"sold_no_reserve"' in bytes(sold.body)


def test_a_mining_right_auction_notice_needs_twenty_working_days(ctx, session, clock):
    """A mining auction's grant notice is checked as a mining notice (20 WD), not land's 20 CD: 25
    calendar days ahead (18 working days) is refused at publication; the factory's 35 days pass."""
    from tests.factories.auctions import CATEGORY
    from tests.factories.notices import bj_at, make_notice, notice_project
    from trading.core.clock import beijing
    from trading.procedures.common import services as notices

    clock.set(beijing(2026, 6, 1, 9))
    owner = make_user(ctx, "owner")
    octx = actor_ctx(session, clock, owner)
    project = notice_project(ctx, owner, category=CATEGORY["mining_auction"], owner_type="gov",
                             procedure="mining_auction", total_investment_fen=START,
                             lots=[{"name": "采矿权", "budget_fen": START}])
    notice = make_notice(octx, project, kind="land_grant", deadline_at=bj_at(clock.now(), 24, 17, 0),
                         opening_at=bj_at(clock.now(), 25, 9, 0))
    with pytest.raises(DomainError) as early:
        notices.publish_notice(octx, notice.id)
    assert early.value.code == "period.mining_notice"
    [v] = early.value.details["violations"]
    assert (v["needed"], v["actual"], v["unit"]) == (20, 18, "WD")
    w = auction_lot(ctx, procedure="mining_auction", buyers=1)
    assert w.auction.procedure == "mining_auction" and w.auction.method == "auction"
