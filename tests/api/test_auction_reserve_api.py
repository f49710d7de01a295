"""/api/v1/auctions/{lot}/reserve: the owner starts, seals (Python envelope code) and submits the
reserve; the public state says a sealed reserve exists without its amount; a wrong context is 422 with
nothing stored; after bidding ends the custodians' shares open it (a wrong passphrase 422 and kept)
and the outcome follows."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tests.api.conftest import Caller
from tests.factories.auctions import (
    INC,
    START,
    auction_lot,
    close_listing,
    place,
    seal_reserve_envelope,
    started,
)
from tests.factories.custodians import ensure_custodians
from trading.accounts.models import User
from trading.extensions import db
from trading.procedures.auction.models import Auction
from trading.procedures.common.opening.models import CustodianShare, OpeningKey, ShareAttempt

RESERVE = START + 5 * INC


def _put(caller, w, info, **override):
    manifest, payload, signer = seal_reserve_envelope(info, RESERVE, **override)
    return caller.call("PUT", f"/auctions/{w.code}/reserve", {
        "submission_id": info["submission_id"], "manifest": manifest,
        "payload": base64.b64encode(payload).decode(), "signer_public": base64.b64encode(signer).decode()})


def test_owner_seals_the_reserve_and_custodians_open_it_after_the_end(app, ctx):
    w = auction_lot(ctx)
    people = ensure_custodians(ctx)
    owner = Caller(app, db.session.get(User, w.owner.id))
    r = owner.post(f"/auctions/{w.code}/reserve/start", {})
    assert r.status_code == 201, r.json
    info = r.json
    assert (info["lot_id"], info["part"]) == (w.code, "reserve") and info["submission_id"].startswith("rsv-")
    bad = _put(owner, w, info, part="price")
    assert bad.status_code == 422 and bad.json["error"] == "envelope.context_mismatch"
    r = _put(owner, w, info)
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["reserve_fen"]) == ("sealed", None)
    public = Caller(app).get(f"/auctions/{w.code}/reserve").json
    assert public["status"] == "sealed" and public["reserve_fen"] is None and str(RESERVE) not in str(public)
    assert _put(owner, w, info).status_code == 409  # write-once

    a = started(w)
    place(w, w.buyers[0], START)
    place(w, w.buyers[1], START + 6 * INC)
    close_listing(w)  # nobody opted in: the opt-in window runs out, bidding ends awaiting the reserve
    db.session.commit()
    key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == a.lot_id)).scalar_one()
    shares = db.session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                .order_by(CustodianShare.x)).scalars().all()
    by_id = {u.id: (u, p) for u, p in people}
    user, _ = by_id[shares[0].custodian_user_id]
    wrong = Caller(app, user).post(f"/auctions/{w.code}/reserve/shares", {"passphrase": "not-it"})
    assert wrong.status_code == 422 and wrong.json["error"] == "opening.wrong_passphrase"
    assert db.session.execute(select(ShareAttempt.outcome)).scalars().all() == ["wrong_passphrase"]
    for share in shares[:key.k]:
        user, pw = by_id[share.custodian_user_id]
        r = Caller(app, user).post(f"/auctions/{w.code}/reserve/shares", {"passphrase": pw})
        assert r.status_code == 200, r.json
    assert r.json["opened"] and r.json["lot_status"] == "awarded"
    public = Caller(app).get(f"/auctions/{w.code}/reserve").json
    assert (public["status"], public["reserve_fen"]) == ("opened", RESERVE)
    db.session.expire_all()
    assert db.session.get(Auction, a.lot_id).outcome == "sold"


def test_a_bidder_cannot_start_a_reserve(app, ctx):
    w = auction_lot(ctx, buyers=1)
    r = Caller(app, w.buyers[0].user).post(f"/auctions/{w.code}/reserve/start", {})
    assert r.status_code == 403
