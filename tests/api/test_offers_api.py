"""The upload protocol over /api/v1 (interfaces 1–11): session + CSRF and bearer token, error codes,
body-size caps, the same 404 for others' submissions, 403 lists before the deadline, receipts."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import actor_ctx
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.accounts import services as accounts
from trading.extensions import db
from trading.sealing import receipts as sig

OCTET = {"Content-Type": "application/octet-stream"}
U = 1 << 20


@pytest.fixture
def lot(ctx, cast):
    lot = sealed_lot(ctx, owner=cast["owner"])
    db.session.commit()
    return lot


@pytest.fixture
def bidder(ctx, app, lot):
    b = bidder_with_key(ctx)
    db.session.commit()
    b.caller = Caller(app, b.user)
    return b


def _start(b, lot, part="price", plaintext=None):
    resp = b.caller.post(f"/lots/{lot.code}/submissions", {"part": part})
    assert resp.status_code == 201, resp.json
    sid = resp.json["submission_id"]
    assert resp.json["context"] == {"lot_id": lot.code, "bidder_id": b.org.credit_code, "part": part,
                                    "submission_id": sid}
    manifest, payload = seal_for(lot, b, part, sid, plaintext or price_sheet())
    return sid, manifest, payload


def _put(b, path, data):
    return b.caller.call("PUT", path, data=data, headers=OCTET)


def test_the_whole_protocol_with_a_session(app, lot, bidder):
    c = bidder.caller
    resp = c.post(f"/lots/{lot.code}/registration")
    assert resp.status_code == 201 and resp.json["status"] == "registered"
    assert c.post(f"/lots/{lot.code}/registration").status_code == 200
    info = c.get(f"/lots/{lot.code}/sealing").json
    assert info["lot_id"] == lot.code and info["bidder_id"] == bidder.org.credit_code
    assert base64.b64decode(info["opening_key"]["public"])[0] == 4 and info["upload_chunk_bytes"] == U
    assert info["parts"] == ["price", "documents"] and info["max_part_bytes"] == lot.trade.max_part_bytes

    sid, manifest, payload = _start(bidder, lot, "documents", b"d" * (U + 100))
    resp = _put(bidder, f"/submissions/{sid}/manifest", manifest_bytes(manifest))
    assert resp.status_code == 200 and resp.json == {"payload_len": len(payload), "chunks_expected": 2,
                                                     "upload_chunk_bytes": U}
    assert _put(bidder, f"/submissions/{sid}/chunks/1", payload[U:]).json == {
        "index": 1, "chunks_received": 1, "chunks_expected": 2}
    assert _put(bidder, f"/submissions/{sid}/chunks/1", payload[U:]).status_code == 200
    conflict = _put(bidder, f"/submissions/{sid}/chunks/1", b"\0" + payload[U + 1:])
    assert conflict.status_code == 409 and conflict.json["error"] == "upload.chunk_conflict"
    state = c.get(f"/submissions/{sid}").json
    assert state["received"] == [1] and state["status"] == "uploading" and state["receipt"] is None
    assert c.post(f"/submissions/{sid}/complete").status_code == 409
    assert _put(bidder, f"/submissions/{sid}/chunks/0", payload[:U]).json["chunks_received"] == 2
    done = c.post(f"/submissions/{sid}/complete")
    assert done.status_code == 201, done.json
    assert done.json["receipt"]["payload_len"] == len(payload) and done.json["receipt"]["kind"] == "submitted"
    assert c.post(f"/submissions/{sid}/complete").status_code == 200
    key = c.get("/receipt-key").json
    assert key["alg"] == "Ed25519" and key["key_id"] == done.json["key_id"]
    assert sig.verify(base64.b64decode(key["public"]), done.json["receipt"], base64.b64decode(done.json["signature"]))
    assert c.get(f"/submissions/{sid}/receipt").json == done.json
    assert c.get(f"/submissions/{sid}").json["status"] == "accepted"
    test = c.post(f"/submissions/{sid}/selftest").json
    assert test["ok"] is True
    withdrawn = c.post(f"/submissions/{sid}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json["receipt"]["kind"] == "withdrawn"


def test_bearer_token_needs_no_csrf_and_the_receipt_key_is_public(app, session, clock, lot, bidder):
    _, token = accounts.create_api_token(actor_ctx(session, clock, bidder.user), name="tool")
    db.session.commit()
    tool = Caller(app, token=token)
    assert tool.post(f"/lots/{lot.code}/registration").status_code == 201
    sid = tool.post(f"/lots/{lot.code}/submissions", {"part": "price"}).json["submission_id"]
    manifest, payload = seal_for(lot, bidder, "price", sid, price_sheet())
    assert tool.call("PUT", f"/submissions/{sid}/manifest", data=manifest_bytes(manifest)).status_code == 200
    assert tool.call("PUT", f"/submissions/{sid}/chunks/0", data=payload, headers=OCTET).status_code == 200
    assert tool.post(f"/submissions/{sid}/complete").status_code == 201
    assert Caller(app).get("/receipt-key").status_code == 200


def test_manifest_failures_are_422_with_envelope_codes_and_write_nothing(app, lot, bidder):
    bidder.caller.post(f"/lots/{lot.code}/registration")
    sid, manifest, _ = _start(bidder, lot)
    before = audit_next_seq()
    for body, code in [(b"[]", "envelope.manifest"), (manifest_bytes({**manifest, "suite": 2}), "envelope.unsupported_suite"),
                       (manifest_bytes({**manifest, "part": "documents"}), "envelope.context_mismatch"),
                       (b"{" + b" " * (70 * 1024) + b"}", "upload.too_large")]:
        resp = _put(bidder, f"/submissions/{sid}/manifest", body)
        assert resp.json["error"] == code, resp.json
        assert resp.status_code == (413 if code == "upload.too_large" else 422)
    assert audit_next_seq() == before
    assert bidder.caller.get(f"/submissions/{sid}").json["payload_len"] is None


def test_chunk_body_caps(app, lot, bidder):
    bidder.caller.post(f"/lots/{lot.code}/registration")
    sid, manifest, payload = _start(bidder, lot)
    _put(bidder, f"/submissions/{sid}/manifest", manifest_bytes(manifest))
    too_big = _put(bidder, f"/submissions/{sid}/chunks/0", b"x" * (U + 1))
    assert too_big.status_code == 413 and too_big.json["error"] == "upload.too_large"
    assert _put(bidder, f"/submissions/{sid}/chunks/0", payload + b"x").json["error"] == "upload.chunk_size"
    assert _put(bidder, f"/submissions/{sid}/chunks/x1", payload).json["error"] == "upload.chunk_index"


def test_one_microsecond_late_is_refused(app, clock, lot, bidder):
    bidder.caller.post(f"/lots/{lot.code}/registration")
    ready = []
    for _ in range(2):
        sid, manifest, payload = _start(bidder, lot)
        _put(bidder, f"/submissions/{sid}/manifest", manifest_bytes(manifest))
        _put(bidder, f"/submissions/{sid}/chunks/0", payload)
        ready.append(sid)
    clock.set(lot.deadline - timedelta(microseconds=1))
    assert bidder.caller.post(f"/submissions/{ready[0]}/complete").status_code == 201
    clock.set(lot.deadline)
    late = bidder.caller.post(f"/submissions/{ready[1]}/complete")
    assert late.status_code == 422 and late.json["error"] == "offer.deadline_passed"
    assert bidder.caller.get(f"/submissions/{ready[1]}").json["status"] == "uploading"


ALL = ("owner", "agency", "other_owner", "bidder", "expert", "operator", "supervisor", "admin")


def test_others_cannot_tell_an_existing_submission_from_none(app, caller, lot, bidder):
    bidder.caller.post(f"/lots/{lot.code}/registration")
    sid, _, _ = _start(bidder, lot)
    for role in ALL:
        c = caller(role)
        for path in ("/submissions/{}", "/submissions/{}/receipt"):
            real, fake = c.get(path.format(sid)), c.get(path.format("B" * 24))
            assert real.status_code == fake.status_code == 404, role
            assert real.json == fake.json
        for action in ("complete", "withdraw", "selftest"):
            real, fake = c.post(f"/submissions/{sid}/{action}"), c.post(f"/submissions/{'B' * 24}/{action}")
            assert (real.status_code, real.json) == (fake.status_code, fake.json) == (404, real.json), (role, action)


def test_lists_are_403_before_the_deadline_for_everyone_and_readable_after(app, caller, clock, ctx, lot, bidder):
    empty = sealed_lot(ctx)
    db.session.commit()
    bidder.caller.post(f"/lots/{lot.code}/registration")
    for role in ALL:
        for code in (lot.code, empty.code):
            for what in ("participants", "downloads"):
                resp = caller(role).get(f"/lots/{code}/{what}")
                assert resp.status_code == 403 and resp.json["error"] == "participation.sealed_until_deadline", role
    assert caller("anonymous").get(f"/lots/{lot.code}/participants").status_code == 401
    clock.set(lot.deadline)
    got = caller("owner").get(f"/lots/{lot.code}/participants")
    assert got.status_code == 200 and got.json["total"] == 1
    assert got.json["items"][0]["credit_code"] == bidder.org.credit_code
    assert caller("supervisor").get(f"/lots/{lot.code}/downloads").json == {"items": [], "total": 0}
    for role in ("other_owner", "bidder", "expert", "admin"):
        assert caller(role).get(f"/lots/{lot.code}/participants").status_code == 403


def test_non_bidders_cannot_register_or_start(app, caller, lot):
    for role in ("owner", "agency", "operator", "supervisor", "expert", "admin"):
        assert caller(role).post(f"/lots/{lot.code}/registration").status_code == 403
        assert caller(role).post(f"/lots/{lot.code}/submissions", {"part": "price"}).status_code == 403
        sealing = caller(role).get(f"/lots/{lot.code}/sealing")
        assert sealing.status_code == 200 and sealing.json["bidder_id"] is None
    assert caller("owner").get("/lots/SFX2099-NONE-01/sealing").status_code == 404
