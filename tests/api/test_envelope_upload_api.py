"""The one-request upload PUT /submissions/{sid}/envelope (payload in the body, manifest base64 in the
X-Envelope-Manifest header): a receipt on success; each refusal leaves nothing stored, accepted or
audited; another organisation's id is the same 404 as an unknown one."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import actor_ctx
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.accounts import services as accounts
from trading.core.blobs import get_store
from trading.extensions import db
from trading.procedures.common.participation.models import Submission, UploadChunk
from trading.sealing import envelope as env
from trading.sealing import receipts as sig

U = 1 << 20


@pytest.fixture
def lot(ctx, cast):
    lot = sealed_lot(ctx, owner=cast["owner"])
    db.session.commit()
    return lot


def _bidder(ctx, app, lot):
    b = bidder_with_key(ctx)
    db.session.commit()
    b.caller = Caller(app, b.user)
    assert b.caller.post(f"/lots/{lot.code}/registration").status_code == 201
    return b


@pytest.fixture
def bidder(ctx, app, lot):
    return _bidder(ctx, app, lot)


def _start(b, lot, part="price", plaintext=None):
    sid = b.caller.post(f"/lots/{lot.code}/submissions", {"part": part}).json["submission_id"]
    manifest, payload = seal_for(lot, b, part, sid, plaintext or price_sheet())
    return sid, manifest, payload


def _send(caller, sid, manifest, payload):
    header = base64.b64encode(manifest if isinstance(manifest, bytes) else manifest_bytes(manifest)).decode()
    return caller.call("PUT", f"/submissions/{sid}/envelope", data=payload,
                       headers={"Content-Type": "application/octet-stream", "X-Envelope-Manifest": header})


def _blobs() -> set[str]:
    root = get_store().root / "sha256"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _nothing_accepted(b, sid, seq_before, blobs_before):
    assert audit_next_seq() == seq_before
    assert _blobs() == blobs_before
    # the id was issued without a row (start writes nothing) and its first use was refused: no row,
    # no chunk row, and reading it answers the initial state
    assert db.session.execute(select(Submission).where(Submission.submission_id == sid)).first() is None
    assert db.session.execute(select(UploadChunk).join(Submission, Submission.id == UploadChunk.submission_pk)
                              .where(Submission.submission_id == sid)).first() is None
    state = b.caller.get(f"/submissions/{sid}").json
    assert (state["status"], state["payload_len"], state["received"], state["receipt"]) == ("uploading", None, [], None)


def test_one_request_gives_the_signed_receipt(app, session, clock, lot, bidder):
    _, token = accounts.create_api_token(actor_ctx(session, clock, bidder.user), name="tool")
    db.session.commit()
    tool = Caller(app, token=token)
    sid, manifest, payload = _start(bidder, lot, "documents", b"z" * 5000)
    seq = audit_next_seq()
    done = _send(tool, sid, manifest, payload)
    assert done.status_code == 201, done.json
    r = done.json["receipt"]
    assert (r["kind"], r["submission_id"], r["payload_len"], r["part"]) == ("submitted", sid, len(payload), "documents")
    assert r["payload_sha256"] == manifest["payload_sha256"] and r["audit_seq"] == seq
    key = tool.get("/receipt-key").json
    assert sig.verify(base64.b64decode(key["public"]), r, base64.b64decode(done.json["signature"]))
    assert audit_next_seq() == seq + 1
    assert get_store().read(r["payload_sha256"]) == payload
    state = tool.get(f"/submissions/{sid}").json
    assert state["status"] == "accepted" and state["received"] == [0] and state["receipt"] == done.json
    assert tool.post(f"/submissions/{sid}/complete").json == done.json  # completing again: the same receipt
    assert tool.post(f"/submissions/{sid}/selftest").json["ok"] is True
    # a second envelope of the same part supersedes the first
    sid2, manifest2, payload2 = _start(bidder, lot, "documents", b"y" * 10)
    again = _send(bidder.caller, sid2, manifest2, payload2)
    assert again.status_code == 201 and again.json["receipt"]["supersedes"] == sid
    assert bidder.caller.get(f"/submissions/{sid}").json["status"] == "superseded"


def test_after_the_chunked_protocol_started_the_same_bytes_complete(app, lot, bidder):
    sid, manifest, payload = _start(bidder, lot)
    assert bidder.caller.call("PUT", f"/submissions/{sid}/manifest", data=manifest_bytes(manifest)).status_code == 200
    assert bidder.caller.call("PUT", f"/submissions/{sid}/chunks/0", data=payload,
                              headers={"Content-Type": "application/octet-stream"}).status_code == 200
    assert _send(bidder.caller, sid, manifest, payload).status_code == 201
    assert _send(bidder.caller, sid, manifest, payload).json["error"] == "upload.closed"


def _bad_signature(m):
    return dict(m, sig=dict(m["sig"], value=env.b64(bytes(63) + b"\x01")))


@pytest.mark.parametrize("case, status, code", [
    ("bad_manifest", 422, "envelope.manifest"),
    ("unknown_suite", 422, "envelope.unsupported_suite"),
    ("context", 422, "envelope.context_mismatch"),
    ("no_header", 422, "upload.manifest_header"),
    ("header_too_long", 413, "upload.manifest_too_large"),
    ("oversize_body", 413, "upload.too_large"),
    ("wrong_size", 422, "upload.chunk_size"),
    ("over_one_chunk", 422, "upload.use_chunks"),
    ("over_lot_limit", 422, "envelope.manifest"),
    ("digest", 422, "envelope.payload_digest"),
    ("bad_signature", 422, "envelope.bad_signature"),
    ("late_1us", 422, "offer.deadline_passed"),
])
def test_each_refusal_leaves_nothing_accepted_and_no_audit_entry(app, ctx, clock, lot, bidder, case, status, code):
    plaintext = b"q" * (2 * U) if case == "over_one_chunk" else None
    if case == "over_lot_limit":
        lot.trade.max_part_bytes = 1000
        db.session.commit()
        plaintext = b"q" * 2000
    sid, manifest, payload = _start(bidder, lot, "price", plaintext)
    good, body = payload, manifest
    if case == "bad_manifest":
        body = b"[]"
    elif case == "unknown_suite":
        body = {**manifest, "suite": 2}
    elif case == "context":
        body = {**manifest, "part": "documents"}
    elif case == "oversize_body":
        payload = payload + b"x" * U
    elif case == "wrong_size":
        payload = payload + b"x"
    elif case == "digest":
        flipped = bytearray(payload)
        flipped[-1] ^= 1
        payload = bytes(flipped)
    elif case == "bad_signature":
        body = _bad_signature(manifest)
    elif case == "late_1us":
        clock.set(lot.deadline + timedelta(microseconds=1))
    seq, blobs = audit_next_seq(), _blobs()
    if case in ("no_header", "header_too_long"):
        headers = {"Content-Type": "application/octet-stream"}
        if case == "header_too_long":
            headers["X-Envelope-Manifest"] = "A" * (7 * 1024)
        resp = bidder.caller.call("PUT", f"/submissions/{sid}/envelope", data=payload, headers=headers)
    else:
        resp = _send(bidder.caller, sid, body, payload)
    assert (resp.status_code, resp.json["error"]) == (status, code), resp.json
    _nothing_accepted(bidder, sid, seq, blobs)
    if case not in ("late_1us", "over_one_chunk", "over_lot_limit"):  # the refused upload can still be done right
        assert _send(bidder.caller, sid, manifest, good).status_code == 201


def test_the_deadline_is_the_servers_to_the_microsecond(app, clock, lot, bidder):
    sid, manifest, payload = _start(bidder, lot)
    late_sid, late_manifest, late_payload = _start(bidder, lot)
    clock.set(lot.deadline - timedelta(microseconds=1))
    assert _send(bidder.caller, sid, manifest, payload).status_code == 201
    clock.set(lot.deadline)
    seq, blobs = audit_next_seq(), _blobs()
    late = _send(bidder.caller, late_sid, late_manifest, late_payload)
    assert (late.status_code, late.json["error"]) == (422, "offer.deadline_passed")
    _nothing_accepted(bidder, late_sid, seq, blobs)


def test_another_organisations_id_is_the_same_404_as_an_unknown_one(app, ctx, lot, bidder):
    sid, manifest, payload = _start(bidder, lot)
    other = _bidder(ctx, app, lot)
    seq, blobs = audit_next_seq(), _blobs()
    real = _send(other.caller, sid, manifest, payload)
    fake = _send(other.caller, "B" * 24, manifest, payload)
    assert real.status_code == fake.status_code == 404 and real.json == fake.json
    _nothing_accepted(bidder, sid, seq, blobs)
