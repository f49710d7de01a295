"""Bids under concurrency, on PostgreSQL (each thread its own app context, so its own session and
connection, as in test_audit_trail's parallel writers): 50 threads bid the same next price at once —
exactly one is accepted, 49 refused as stale; 20 bidders × 200 random bids — the accepted sequence
strictly increases by whole increments with dense sequence numbers, every refusal has its reason,
and the bid chain is intact.

SQLite is skipped: the tests' SQLite is one in-memory connection shared by every thread, so threads
cannot race there at all (the embedded default serialises writers with the database lock, which the
service tests exercise through the same `_lock`)."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import select

from tests.conftest import _config, is_postgres
from tests.factories.auctions import INC, START, add_buyer, auction_lot, started
from trading.accounts.login import actor_for
from trading.audit.chain import chain_hash
from trading.audit.models import AuditEntry
from trading.core.context import ServiceContext
from trading.core.events import LiveEvent
from trading.extensions import db
from trading.factory import create_app
from trading.procedures.auction import rules, services
from trading.procedures.auction.models import Auction, AuctionApplication, AuctionBid
from trading.procedures.auction.services import _bid_bytes

pytestmark = pytest.mark.skipif(not is_postgres(), reason="threads race only on a server database (see docstring)")


@pytest.fixture
def app(clock, tmp_path):
    """The shared app fixture with a patient pool: more threads race than the pool holds
    connections, and a thread that has just committed may take a freed connection again before a
    waiting one wakes, so a waiter may wait long; it must not give up at the default 30 s."""
    from tests.conftest import reset_schema

    cfg = _config()
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {**cfg["SQLALCHEMY_ENGINE_OPTIONS"], "pool_timeout": 300}
    app = create_app(cfg, clock=clock)
    app.instance_path = str(tmp_path)
    with app.app_context():
        reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


def _world(ctx, n_buyers: int):
    w = auction_lot(ctx, buyers=0)
    for _ in range(n_buyers):
        add_buyer(w)
    started(w)
    actors = [actor_for(b.user) for b in w.buyers]
    db.session.commit()
    return w, actors


def _run(app, clock, n: int, body):
    """n threads, each in its own app context (own session and connection), released together."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def thread(i: int):
        with app.app_context():
            try:
                barrier.wait()
                body(i)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def _bid(clock, actor, code, answers, amount, cid):
    c = ServiceContext(session=db.session, clock=clock, actor=actor)
    r = services.place_bid(c, code, answers_price=answers, amount_fen=amount, client_bid_id=cid)
    db.session.commit()
    return r


def _rows(lot_id) -> list[AuctionBid]:
    db.session.expire_all()
    return list(db.session.execute(select(AuctionBid).where(AuctionBid.lot_id == lot_id).order_by(AuctionBid.id)).scalars())


def _chain_ok(lot_id: int, code: str) -> bool:
    nos = dict(db.session.execute(select(AuctionApplication.id, AuctionApplication.bidder_no)
                                  .where(AuctionApplication.lot_id == lot_id)).all())
    a = db.session.get(Auction, lot_id)
    prev = b"\x00" * 32
    for row in _rows(lot_id):
        if bytes(row.prev_hash) != prev or bytes(row.entry_hash) != chain_hash(prev, _bid_bytes(a, row, nos[row.application_id])):
            return False
        prev = bytes(row.entry_hash)
    return prev == bytes(a.last_bid_hash)


def test_fifty_bids_for_the_same_next_price_one_wins(app, ctx, clock):
    w, actors = _world(ctx, 50)
    results = [None] * 50

    def body(i):
        results[i] = _bid(clock, actors[i], w.code, START, START + INC, f"same-{i}")

    _run(app, clock, 50, body)
    accepted = [r for r in results if r.accepted]
    refused = [r for r in results if not r.accepted]
    assert len(accepted) == 1 and accepted[0].seq == 1
    assert len(refused) == 49 and {r.reason for r in refused} == {"auction.stale"}
    assert all(r.details["current_price"] == START + INC and r.message_zh.startswith("当前价已变化") for r in refused)
    rows = _rows(w.auction.lot_id)
    # the bids that reached the lock before the winner committed are stored with their reason; the
    # others answered a price already beaten and were refused before the lock (not stored)
    assert sum(r.accepted for r in rows) == 1 and len(rows) <= 50
    assert all(r.reason == "auction.stale" for r in rows if not r.accepted)
    a = db.session.get(Auction, w.auction.lot_id)
    assert (a.price_fen, a.bids) == (START + INC, 1)
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "auction.bid_accepted")).scalars().all().__len__() == 1
    assert _chain_ok(a.lot_id, w.code)


def test_twenty_bidders_two_hundred_random_bids_each(app, ctx, clock):
    w, actors = _world(ctx, 20)
    lot_id = w.auction.lot_id
    results: list = []   # every answer the bidders got (list.append is atomic)

    def body(i):
        rnd = random.Random(i)
        for k in range(200):
            current = db.session.execute(select(Auction.price_fen).where(Auction.lot_id == lot_id)).scalar_one()
            db.session.rollback()  # a fresh snapshot for the next read
            base = current if current is not None else START
            steps = rnd.choice([1, 1, 1, 2, 3, 5])
            amount = base + steps * INC
            if rnd.random() < 0.05:
                amount += INC // 3               # not a whole multiple
            answers = base if rnd.random() > 0.05 else base - INC  # sometimes an old price on purpose
            results.append(_bid(clock, actors[i], w.code, answers, amount, f"b{i}-{k}"))

    _run(app, clock, 20, body)
    # every attempt got an answer: accepted, or refused with a reason; the refusals decided under
    # the lock are stored, the answers to a price already beaten are not (only those may be missing)
    assert len(results) == 20 * 200
    assert all(r.accepted or (r.reason in rules.REASONS and r.message_zh) for r in results)
    rows = _rows(lot_id)
    assert sum(r.accepted for r in results) == sum(r.accepted for r in rows)
    unstored = len(results) - len(rows)
    assert 0 <= unstored <= sum(r.reason == "auction.stale" for r in results)
    accepted = [r for r in rows if r.accepted]
    assert [r.seq for r in accepted] == list(range(1, len(accepted) + 1))  # dense, in arrival order
    prices = [START] + [r.amount_fen for r in accepted]
    assert accepted[0].amount_fen >= START and (accepted[0].amount_fen - START) % INC == 0
    for prev, nxt in zip(prices[1:], prices[2:], strict=False):
        assert nxt > prev and (nxt - prev) % INC == 0           # strictly increasing by whole increments
    assert all(r.answers_fen == p for r, p in zip(accepted[1:], prices[1:], strict=False))
    times = [r.received_at for r in rows]
    assert times == sorted(times)
    refused = [r for r in rows if not r.accepted]
    assert refused and all(r.reason in rules.REASONS and r.seq is None for r in refused)
    assert {r.reason for r in refused} <= {"auction.stale", "auction.not_multiple", "auction.already_leading"}
    a = db.session.get(Auction, lot_id)
    assert (a.price_fen, a.bids) == (accepted[-1].amount_fen, len(accepted))
    events = db.session.execute(select(LiveEvent.data).where(LiveEvent.channel == f"auction:{w.code}",
                                                             LiveEvent.name == "auction:bid")
                                .order_by(LiveEvent.id)).scalars().all()
    assert [e["seq"] for e in events] == list(range(1, len(accepted) + 1))
    assert _chain_ok(lot_id, w.code)
