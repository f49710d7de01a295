"""/api/v1 opening: share submission (refused attempts are kept although the answer is 422), the public
opening record (404 before the opening), a bidder's confirm/dispute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.conftest import Caller
from tests.factories.custodians import add_offer, ensure_custodians, sealed_lot
from trading.extensions import db
from trading.procedures.common.opening.models import ShareAttempt


@pytest.fixture
def lot(app, ctx, session, clock):
    people = ensure_custodians(ctx)
    trade, key = sealed_lot(ctx)
    by_id = {u.id: (u, p) for u, p in people}
    holders = [by_id[s.custodian_user_id] for s in key.shares]
    bidders = [add_offer(ctx, trade, key, price_fen=p)[0] for p in (1_000_00, 1_100_00, 1_200_00)]
    db.session.commit()
    return trade, holders, bidders


def _share(app, holder, trade, passphrase=None, **kw):
    user, pw = holder
    return Caller(app, user).post(f"/lots/{trade.lot_code}/shares", {"passphrase": passphrase or pw}, **kw)


def test_shares_before_the_deadline_are_refused_and_the_attempt_is_kept(app, lot):
    trade, holders, _ = lot
    resp = _share(app, holders[0], trade)
    assert resp.status_code == 422 and resp.json["error"] == "opening.too_early"
    assert db.session.execute(select(func.count()).select_from(ShareAttempt)).scalar_one() == 1


def test_wrong_passphrase_is_422_named_and_kept(app, clock, lot):
    trade, holders, _ = lot
    clock.set(trade.deadline_at)
    resp = _share(app, holders[0], trade, passphrase="wrong passphrase 1")
    assert resp.status_code == 422 and resp.json["error"] == "opening.wrong_passphrase"
    assert resp.json["details"] == {"x": 1}
    attempt = db.session.execute(select(ShareAttempt)).scalar_one()
    assert attempt.outcome == "wrong_passphrase" and attempt.user_id == holders[0][0].id


def test_the_record_is_404_before_and_public_after_the_opening(app, clock, lot):
    trade, holders, bidders = lot
    anonymous = Caller(app)
    assert anonymous.get(f"/lots/{trade.lot_code}/opening-record").status_code == 404
    clock.set(trade.deadline_at + timedelta(seconds=5))
    for i, holder in enumerate(holders[:3]):
        resp = _share(app, holder, trade)
        assert resp.status_code == 200, resp.json
        assert resp.json["accepted"] == i + 1 and resp.json["opened"] == (i == 2)
    rec = anonymous.get(f"/lots/{trade.lot_code}/opening-record")
    assert rec.status_code == 200
    body = rec.json
    assert body["outcome"] == "opened" and body["valid_offers"] == 3
    assert [b["price_fen"] for b in body["bidders"]] == [1_000_00, 1_100_00, 1_200_00]
    assert body["bidders"][0]["price_capitals"] == "人民币壹仟元整" and len(body["sha256"]) == 64
    # a bidder confirms, another disputes (reason required)
    first = Caller(app, bidders[0])
    ok = first.post(f"/lots/{trade.lot_code}/opening-record/responses", {"response": "confirm"})
    assert ok.status_code == 201 and ok.json["bidder_no"] == 1
    second = Caller(app, bidders[1])
    bad = second.post(f"/lots/{trade.lot_code}/opening-record/responses", {"response": "dispute"})
    assert bad.status_code == 422 and bad.json["error"] == "opening.dispute_reason"
    disputed = second.post(f"/lots/{trade.lot_code}/opening-record/responses",
                           {"response": "dispute", "reason": "价格唱错"})
    assert disputed.status_code == 201
    again = first.post(f"/lots/{trade.lot_code}/opening-record/responses", {"response": "confirm"})
    assert again.status_code == 409
    listed = anonymous.get(f"/lots/{trade.lot_code}/opening-record").json["responses"]
    assert [(r["bidder_no"], r["response"]) for r in listed] == [(1, "confirm"), (2, "dispute")]
    # the window closes
    clock.advance(timedelta(minutes=31))
    late = Caller(app, bidders[2]).post(f"/lots/{trade.lot_code}/opening-record/responses", {"response": "confirm"})
    assert late.status_code == 422 and late.json["error"] == "opening.response_window_closed"


def test_non_custodians_and_bidders_cannot_submit_shares(app, ctx, clock, lot):
    trade, _, bidders = lot
    clock.set(trade.deadline_at)
    resp = Caller(app, bidders[0]).post(f"/lots/{trade.lot_code}/shares", {"passphrase": "x"})
    assert resp.status_code == 403
    assert Caller(app).post(f"/lots/{trade.lot_code}/shares", {"passphrase": "x"}, csrf=False).status_code == 401
    assert Caller(app, bidders[0]).post("/lots/NOPE/shares", {"passphrase": "x"}).status_code == 403


def test_unknown_lot_record_is_404(app):
    assert Caller(app).get("/lots/NOPE-1/opening-record").status_code == 404


def test_share_body_is_validated(app, clock, lot):
    trade, holders, _ = lot
    clock.set(trade.deadline_at)
    resp = Caller(app, holders[0][0]).post(f"/lots/{trade.lot_code}/shares", {"pass": "x"})
    assert resp.status_code == 422 and resp.json["error"] == "invalid_input"
