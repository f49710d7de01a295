"""Round quotes through /api/v1/negotiation, the protocol the browser sealing widget speaks (sealing
parameters → start → manifest → chunk → complete → signed receipt), with a round code as the lot;
refusals change nothing; a round closed twice is a 409 with nothing changed."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.conftest import Caller
from tests.factories.custodians import price_sheet
from tests.factories.negotiation import open_round_by_custodians, opened_negotiation, seal_quote
from trading.audit.models import AuditEntry
from trading.extensions import db
from trading.procedures.negotiation import services
from trading.procedures.negotiation.models import NegotiationRound, RoundQuote
from trading.sealing import receipts as sig


@pytest.fixture
def neg(app, ctx, clock):
    neg = opened_negotiation(ctx)
    services.start_negotiation(neg.team, neg.code, team_size=3, team_experts=2)
    rnd = services.open_round(neg.team, neg.code, closes_at=clock.now() + timedelta(hours=1))
    db.session.commit()
    return neg, rnd


def _audit(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def test_widget_protocol_round_trip_with_a_signed_receipt(app, session, ctx, clock, neg):
    neg, rnd = neg
    s = neg.suppliers[0]
    api = Caller(app, s.user)
    info = api.get(f"/negotiation/lots/{rnd.code}/sealing")
    assert info.status_code == 200 and info.json["lot_id"] == rnd.code and info.json["bidder_id"] == s.org.credit_code
    started = api.post(f"/negotiation/lots/{rnd.code}/submissions", {"part": "price"})
    assert started.status_code == 201 and started.json["context"]["lot_id"] == rnd.code
    sid = started.json["submission_id"]
    manifest, payload = seal_quote(rnd, s, sid, price_sheet(777_000_00))
    raw = json.dumps(manifest).encode()
    put = api.call("PUT", f"/negotiation/submissions/{sid}/manifest", data=raw,
                   headers={"Content-Type": "application/json"})
    assert put.status_code == 200 and put.json["chunks_expected"] == 1
    chunk = api.call("PUT", f"/negotiation/submissions/{sid}/chunks/0", data=payload,
                     headers={"Content-Type": "application/octet-stream"})
    assert chunk.status_code == 200
    assert api.get(f"/negotiation/submissions/{sid}").json["received"] == [0]
    done = api.post(f"/negotiation/submissions/{sid}/complete", {})
    assert done.status_code == 201 and done.json["receipt"]["lot_id"] == rnd.code
    key = api.get("/negotiation/receipt-key").json
    assert sig.verify(base64.b64decode(key["public"]), done.json["receipt"], base64.b64decode(done.json["signature"]))
    # another supplier gets the 404 of an unknown id
    other = Caller(app, neg.suppliers[1].user)
    assert other.get(f"/negotiation/submissions/{sid}").status_code == 404
    # the team closes the round; the custodians open it; the price is the one sealed in the browser's format
    clock.set(rnd.closes_at)
    team = Caller(app, db.session.get(type(neg.owner), neg.team.actor.user_id))
    assert team.post(f"/negotiation/lots/{neg.code}/rounds/close", {}).status_code == 200
    open_round_by_custodians(ctx, db.session.get(NegotiationRound, rnd.id))
    quote = session.execute(select(RoundQuote).where(RoundQuote.submission_id == sid)).scalar_one()
    assert (quote.outcome, quote.price_fen) == ("opened", 777_000_00)


def test_a_manifest_for_another_round_is_refused_and_nothing_is_stored(app, session, neg):
    neg, rnd = neg
    s = neg.suppliers[0]
    api = Caller(app, s.user)
    sid = api.post(f"/negotiation/lots/{rnd.code}/submissions", {"part": "price"}).json["submission_id"]
    manifest, _ = seal_quote(rnd, s, sid, price_sheet(1), code=rnd.code.replace("-R1", "-R2"))
    before = _audit(session)
    put = api.call("PUT", f"/negotiation/submissions/{sid}/manifest", data=json.dumps(manifest).encode(),
                   headers={"Content-Type": "application/json"})
    assert put.status_code == 422 and put.json["error"] == "envelope.context_mismatch"
    db.session.expire_all()
    quote = session.execute(select(RoundQuote).where(RoundQuote.submission_id == sid)).scalar_one()
    assert quote.manifest is None and quote.status == "uploading" and _audit(session) == before


def test_a_round_closed_twice_is_409_and_nothing_changes(app, session, clock, neg):
    neg, rnd = neg
    team = Caller(app, db.session.get(type(neg.owner), neg.team.actor.user_id))
    clock.set(rnd.closes_at - timedelta(seconds=1))
    early = team.post(f"/negotiation/lots/{neg.code}/rounds/close", {})
    assert early.status_code == 422 and early.json["error"] == "negotiation.round_not_due"
    clock.set(rnd.closes_at)
    assert team.post(f"/negotiation/lots/{neg.code}/rounds/close", {}).status_code == 200
    before = _audit(session)
    again = team.post(f"/negotiation/lots/{neg.code}/rounds/close", {})
    assert again.status_code == 409 and again.json["error"] == "negotiation.round_closed"
    db.session.expire_all()
    assert _audit(session) == before
    assert db.session.get(NegotiationRound, rnd.id).closed_at == rnd.closes_at
    # a supplier may not close a round
    assert Caller(app, neg.suppliers[0].user).post(f"/negotiation/lots/{neg.code}/rounds/close", {}).status_code == 403


def test_the_offline_tool_submits_a_round_quote(app, session, ctx, clock, neg, tmp_path):
    """python -m trading.sealing.tool submit --api …/api/v1/negotiation --lot <round code>: the same
    tool, pointed at the round (it falls back from the one-request upload to the chunked protocol)."""
    import io
    from types import SimpleNamespace

    from tests.api.test_seal_tool_api import FlaskTransport
    from tests.factories.accounts import actor_ctx
    from trading.accounts import services as accounts
    from trading.accounts.signing_keys import register_signing_key
    from trading.sealing import envelope as E
    from trading.sealing import tool
    from trading.sealing.tool_client import submit_command

    neg, rnd = neg
    user = neg.suppliers[1].user
    key = tool.keygen(tmp_path / "key.pem")
    bctx = actor_ctx(session, clock, user)
    register_signing_key(bctx, public_raw=E.public_raw(key.public_key()), label="tool", source="tool")
    _, token = accounts.create_api_token(bctx, name="制作工具")
    db.session.commit()
    args = SimpleNamespace(api="http://platform.test/api/v1/negotiation", token=token, key=tmp_path / "key.pem",
                           lot=rnd.code, documents=None, work=tmp_path / "work", receipts=tmp_path / "receipts",
                           price_yuan="654,321.00", duration_days=30, quality="合格", remarks="")
    answers = submit_command(args, transport=FlaskTransport(app.test_client()), out=io.StringIO(), sleep=lambda _: None)
    assert answers[0]["receipt"]["lot_id"] == rnd.code
    clock.set(rnd.closes_at)
    services.close_round(neg.team, neg.code)
    open_round_by_custodians(ctx, rnd)
    quote = session.execute(select(RoundQuote).where(RoundQuote.bidder_org_id == neg.suppliers[1].org.id)).scalar_one()
    assert (quote.outcome, quote.price_fen) == ("opened", 654_321_00)
