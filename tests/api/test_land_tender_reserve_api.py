"""/api/v1/land-tender/{lot}/reserve: the owner starts sealing (201, the lot's own opening key and the
context), PUTs the sealed envelope once (200, state sealed); anyone reads whether a reserve exists,
never the amount before the opening; a wrong context is 422 with nothing stored; a second choice is
409; after the deadline 409 land_tender.reserve_late; recording none is audited; after the opening the
owner reads the amount, a bidder and the public do not."""

from __future__ import annotations

import base64
from datetime import timedelta

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.auctions import seal_reserve_envelope
from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price
from tests.factories.land_tender import CRITERIA, WAN, land_lot
from trading.evaluation.criteria.services import set_criteria
from trading.extensions import db
from trading.procedures.common.opening.models import OpeningKey
from trading.procedures.land_tender.models import TenderReserve

RESERVE = 1_200 * WAN


def _body(info, fen=RESERVE, **override) -> dict:
    manifest, payload, signer = seal_reserve_envelope(info, fen, **override)
    return {"submission_id": info["submission_id"], "manifest": manifest,
            "payload": base64.b64encode(payload).decode(), "signer_public": base64.b64encode(signer).decode()}


def test_owner_seals_the_reserve_through_the_api_and_it_opens_with_the_offers(app, ctx, session, clock):
    owner, octx, trade = land_lot(ctx)
    set_criteria(octx, trade.lot_code, CRITERIA)
    db.session.commit()
    path = f"/land-tender/{trade.lot_code}/reserve"
    anonymous, api = Caller(app), Caller(app, owner)
    r = anonymous.get(path)
    assert r.status_code == 200 and r.json["state"] == "undecided" and r.json["reserve_fen"] is None

    r = api.call("POST", path + "/start", {})
    assert r.status_code == 201, r.json
    info = r.json
    key = session.query(OpeningKey).filter_by(lot_id=trade.lot_id).one()   # the key the offers are sealed to
    assert base64.b64decode(info["opening_key"]["public"]) == bytes(key.public_raw)
    assert (info["lot_id"], info["part"]) == (trade.lot_code, "reserve") and info["deadline_at"].endswith("+08:00")

    seq = audit_next_seq()
    r = api.call("PUT", path, _body(info, part="price"))
    assert r.status_code == 422 and r.json["error"] == "envelope.context_mismatch", r.json
    assert audit_next_seq() == seq and session.get(TenderReserve, trade.lot_id).payload is None

    r = api.call("PUT", path, _body(info))
    assert r.status_code == 200, r.json
    assert r.json["state"] == "sealed" and r.json["reserve_fen"] is None and len(r.json["payload_sha256"]) == 64
    assert anonymous.get(path).json["state"] == "sealed"
    r = api.call("POST", path + "/none", {})
    assert r.status_code == 409 and r.json["error"] == "land_tender.reserve_decided"

    bidders = registered_bidders(ctx, trade.lot_code, 3)
    for b, price in zip(bidders, (1_190 * WAN, 1_250 * WAN, 1_300 * WAN), strict=True):
        submit_price(b, trade.lot_code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    db.session.commit()
    got = api.get(path).json
    assert got["state"] == "opened" and got["reserve_fen"] == RESERVE and got["reserve_capitals"]
    assert anonymous.get(path).json["reserve_fen"] is None
    assert Caller(app, bidders[0].user).get(path).json["reserve_fen"] is None


def test_none_and_the_deadline(app, ctx, session, clock):
    owner, octx, trade = land_lot(ctx)
    db.session.commit()
    path = f"/land-tender/{trade.lot_code}/reserve"
    api = Caller(app, owner)
    seq = audit_next_seq()
    r = api.call("POST", path + "/none", {})
    assert r.status_code == 200 and r.json["state"] == "none" and audit_next_seq() > seq

    owner2, _octx2, late = land_lot(ctx)
    db.session.commit()
    clock.set(late.deadline_at + timedelta(seconds=1))
    r = Caller(app, owner2).call("POST", f"/land-tender/{late.lot_code}/reserve/start", {})
    assert r.status_code == 409 and r.json["error"] == "land_tender.reserve_late"
    assert session.get(TenderReserve, late.lot_id) is None
