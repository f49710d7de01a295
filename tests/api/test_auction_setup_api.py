"""/api/v1 doors to the steps before the bidding: the listing terms (PUT …/listing), the buyer's
application with its deposit sub-account, the operator's decision, the start. Bad input is 422 (or
409 for a step out of time) and changes nothing; the 竞买号 reaches only its buyer."""

from __future__ import annotations

import pytest

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import make_user
from tests.factories.auctions import auction_lot, pay_deposit
from trading.accounts.models import User
from trading.extensions import db
from trading.procedures.auction.models import Auction, AuctionApplication


@pytest.fixture
def lot(app, ctx):
    w = auction_lot(ctx, buyers=0)
    db.session.commit()
    op = Caller(app, db.session.get(User, w.c_op.actor.user_id))
    return w, Caller(app, w.owner), op


def fresh(w) -> Auction:
    db.session.expire_all()
    return db.session.get(Auction, w.auction.lot_id)


BODY = {"starting_fen": 90_000_000, "increment_fen": 1_000_000, "deposit_fen": 18_000_000, "countdown_s": 240,
        "subject_ref": "城东2026-07号", "area_m2": "6666.67", "land_use": "城镇住宅用地", "term_years": 70,
        "plot_ratio": "1.0–2.5"}


def test_listing_terms_by_the_owner(lot):
    w, owner, _ = lot
    r = owner.call("PUT", f"/auctions/{w.code}/listing", BODY)
    assert r.status_code == 200, r.json
    assert r.json["starting_capitals"] == "人民币玖拾万元整" and r.json["countdown_s"] == 240
    assert r.json["reserve_sealed"] is False and "reserve_fen" not in r.json
    a = fresh(w)
    assert (a.starting_fen, a.term_years, str(a.area_m2)) == (90_000_000, 70, "6666.67")


@pytest.mark.parametrize("bad", [{"starting_fen": "900000"}, {"starting_fen": 0}, {"increment_fen": 1.5},
                                 {"deposit_fen": 1_000}, {"countdown_s": "5 分钟"}, {"area_m2": "很大"},
                                 {"start_at": "2026-12-05 09:00"}, {"term_years": 0}])
def test_bad_listing_terms_change_nothing(lot, bad):
    w, owner, _ = lot
    before, seq = fresh(w).version, audit_next_seq()
    r = owner.call("PUT", f"/auctions/{w.code}/listing", {**BODY, **bad})
    assert r.status_code == 422 and r.json["error"], r.json
    assert fresh(w).version == before and audit_next_seq() == seq


def test_apply_decide_and_start(app, ctx, lot, clock):
    w, _, op = lot
    users = [make_user(ctx, "bidder") for _ in range(3)]
    db.session.commit()
    buyers = [Caller(app, u) for u in users]
    first = buyers[0].call("POST", f"/auctions/{w.code}/applications")
    assert first.status_code == 201 and first.json["status"] == "applied" and first.json["virtual_account"]
    assert first.json["deposit_capitals"] == "人民币壹拾陆万元整" and first.json["bidder_no"] is None
    again = buyers[0].call("POST", f"/auctions/{w.code}/applications")
    assert again.status_code == 200 and again.json["id"] == first.json["id"] and not again.json["created"]
    ids = [first.json["id"]] + [b.call("POST", f"/auctions/{w.code}/applications").json["id"] for b in buyers[1:]]

    path = f"/auction-applications/{ids[0]}/decision"
    seq = audit_next_seq()
    assert op.call("POST", path, {"decision": "qualify"}).status_code == 422          # no deposit yet
    assert op.call("POST", path, {"decision": "refuse"}).status_code == 422           # no reason
    assert op.call("POST", path, {"decision": "perhaps"}).status_code == 422
    assert op.call("POST", "/auction-applications/999999/decision", {"decision": "qualify"}).status_code == 404
    assert audit_next_seq() == seq and db.session.get(AuctionApplication, ids[0]).status == "applied"

    from tests.factories.auctions import Buyer
    for i in (0, 1):
        pay_deposit(w, Buyer(users[i], None, db.session.get(AuctionApplication, ids[i])))
    db.session.commit()
    ok = op.call("POST", path, {"decision": "qualify"})
    assert ok.status_code == 200 and ok.json["status"] == "qualified" and ok.json["bidder_no"] is None
    assert op.call("POST", path, {"decision": "qualify"}).status_code == 409         # decided once
    assert op.call("POST", f"/auction-applications/{ids[1]}/decision", {"decision": "qualify"}).status_code == 200
    refused = op.call("POST", f"/auction-applications/{ids[2]}/decision", {"decision": "refuse", "note": "材料不全"})
    assert refused.status_code == 200 and refused.json["status"] == "refused"
    state = buyers[0].call("GET", f"/auctions/{w.code}").json
    assert state["me"]["status"] == "no_bid" and len(state["me"]["bidder_no"]) == 6

    assert op.call("POST", f"/auctions/{w.code}/start").status_code == 409           # before the announced start
    assert fresh(w).phase == "scheduled"
    clock.set(w.auction.start_at)
    started = op.call("POST", f"/auctions/{w.code}/start")
    assert started.status_code == 200 and started.json["phase"] == "free"
    assert buyers[0].call("PUT", f"/auctions/{w.code}/listing", BODY).status_code == 403
    assert op.call("PUT", f"/auctions/{w.code}/listing", BODY).status_code == 409    # started: terms fixed


def test_the_doors_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"put"} <= set(paths["/api/v1/auctions/{lot_code}/listing"])
    assert "post" in paths["/api/v1/auctions/{lot_code}/applications"]
    assert "post" in paths["/api/v1/auction-applications/{application_id}/decision"]
    assert "post" in paths["/api/v1/auctions/{lot_code}/start"]
