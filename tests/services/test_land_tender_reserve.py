"""The sealed reserve price (底价) of a 招标出让 lot (land_tender.reserve): the owner records none or seals
one to the lot's own opening key before the bid deadline (write-once, nothing about the amount stored
or logged), it opens with the offers when the custodians' shares rebuild that key (no second share
collection), and with the highest-price method an offer below it cannot win — no valid offer reaching
it fails the lot at the opening with the next steps. A wrong envelope is refused with nothing stored;
after the deadline the choice is refused; without a reserve the tender runs as before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.auctions import seal_reserve_envelope
from tests.factories.experts import operator_ctx
from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price
from tests.factories.land_tender import CRITERIA, START, WAN, land_lot
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.errors import Conflict, Forbidden, NotFound
from trading.evaluation.criteria.services import set_criteria
from trading.procedures.common.deposits import services as deposits
from trading.procedures.common.opening import services as opening
from trading.procedures.common.opening.models import CustodianShare, OpeningRecord
from trading.procedures.common.participation.base import EnvelopeRefused
from trading.procedures.land_tender import reserve
from trading.procedures.land_tender.models import TenderReserve
from trading.sealing import tool

RESERVE = 1_200 * WAN   # 底价 12,000,000 yuan


def _leaks(blob: bytes, fen: int) -> bool:
    yuan = f"{fen // 100}"
    return any(s.encode() in blob for s in (str(fen), yuan, f"{fen / 100:.2f}")) or fen.to_bytes(8, "big") in blob


def _seal(octx, code: str, fen: int = RESERVE, **override):
    info = reserve.start_reserve(octx, code)
    manifest, payload, signer = seal_reserve_envelope(info, fen, **override)
    return reserve.put_reserve(octx, code, submission_id=info["submission_id"], manifest_raw=manifest,
                               payload=payload, signer_public=signer)


def _tender(ctx, prices, *, criteria=CRITERIA):
    """A land tender with the deposit and criteria set and one sealed offer per price (7 minutes apart)."""
    owner, octx, trade = land_lot(ctx)
    deposits.set_lot_deposit(octx, trade.lot_code, 200 * WAN)
    set_criteria(octx, trade.lot_code, criteria)
    return owner, octx, trade


def _offers(ctx, trade, prices):
    bidders = registered_bidders(ctx, trade.lot_code, len(prices))
    for b, price in zip(bidders, prices, strict=True):
        ctx.clock.advance(timedelta(minutes=7))
        submit_price(b, trade.lot_code, price)
    return bidders


def _record(session, trade) -> OpeningRecord:
    return session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one()


def test_sealed_reserve_opens_with_the_offers_and_an_offer_below_it_cannot_win(ctx, session, clock):
    from tests.factories.journeys import draw_panel, make_pool
    from trading.evaluation.scoring import services as scoring

    owner, octx, trade = _tender(ctx, ())
    code = trade.lot_code
    assert reserve.reserve_status(octx, code)["state"] == "undecided"
    row = _seal(octx, code)
    assert row.status == "sealed" and row.reserve_fen is None
    bidders = _offers(ctx, trade, [1_180 * WAN, 1_250 * WAN, 1_200 * WAN])
    session.flush()

    # before the opening: nothing holds the amount (row, audit entries), and nobody is told it
    blob = b"".join(bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else repr(v).encode()
                    for v in (getattr(row, c.key) for c in TenderReserve.__table__.columns))
    assert not _leaks(blob, RESERVE)
    for body in session.execute(select(AuditEntry.body)).scalars():
        assert not _leaks(bytes(body), RESERVE)
    sup = actor_ctx(session, clock, make_user(ctx, "supervisor"))
    for viewer in (octx, operator_ctx(ctx), sup, bidders[0].ctx):
        st = reserve.reserve_status(viewer, code)
        assert (st["state"], st["reserve_fen"]) == ("sealed", None)

    clock.set(trade.deadline_at + timedelta(minutes=1))
    out = open_by_custodians(ctx, code)                  # the k shares that open the offers open the reserve
    assert out.opened and trade.status == "opened"
    session.refresh(row)
    assert (row.status, row.reserve_fen) == ("opened", RESERVE)
    # one share collection: every accepted share value wiped, none submitted for the reserve on its own
    assert all(s.accepted_y is None for s in session.execute(select(CustodianShare)).scalars())
    opened = session.execute(select(AuditEntry).where(AuditEntry.action == "land_tender.reserve_opened")).scalar_one()
    assert f'"reserve_fen":{RESERVE}'.encode() in bytes(opened.body).replace(b" ", b"")
    rec = _record(session, trade)
    assert rec.outcome == "opened" and rec.body["reserve"]["set"] is True and rec.body["reserve"]["binding"]
    # the public record says it exists, not how much (a bidder offered exactly the reserve: look at its part)
    assert not _leaks(repr(rec.body["reserve"]).encode(), RESERVE) and "reserve_fen" not in repr(rec.body)

    # after the opening: the owner side, the centre and supervisors see the amount; a bidder does not
    for viewer in (octx, operator_ctx(ctx), sup):
        assert reserve.reserve_status(viewer, code)["reserve_fen"] == RESERVE
        assert opening.record_view_extras(viewer, trade)["reserve_fen"] == RESERVE
    assert reserve.reserve_status(bidders[0].ctx, code)["reserve_fen"] is None
    assert opening.record_view_extras(bidders[0].ctx, trade) == {}

    # the evaluation: below the reserve → rejected; equal to it → may win
    make_pool(ctx, 6)
    _draw, members = draw_panel(ctx, code, size=5)
    for m in members:
        for b in bidders:
            scoring.declare(m.ctx, code, b.org.id, conflict=False)
        for b in bidders:
            scoring.submit_sheet(m.ctx, code, b.org.id, {"decision": "score"})
    summary, _ = scoring.lot_summary(octx, code)
    rows = {r.org_id: r for r in summary.rows}
    assert rows[bidders[0].org.id].rejected and rows[bidders[0].org.id].reject_reasons == ("below_reserve",)
    assert summary.candidates == (bidders[1].org.id, bidders[2].org.id)
    assert verify(session).ok


def test_no_valid_offer_reaching_the_reserve_fails_the_lot_at_the_opening(ctx, session, clock):
    owner, octx, trade = _tender(ctx, ())
    _seal(octx, trade.lot_code)
    _offers(ctx, trade, [1_180 * WAN, 1_150 * WAN, 1_199 * WAN])
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    assert trade.status == "failed"
    rec = _record(session, trade)
    assert (rec.outcome, rec.valid_offers, rec.body["failure"]["code"]) == ("failed", 3, "below_reserve")
    assert [s["code"] for s in rec.body["next_steps"]] == ["re_announce"]
    failed = session.execute(select(AuditEntry).where(AuditEntry.action == "lot.failed")).scalar_one()
    assert b"below_reserve" in bytes(failed.body)
    assert verify(session).ok


def test_comprehensive_method_opens_the_reserve_without_failing_the_lot(ctx, session, clock):
    """The reserve binds under highest_price (the brief's rule); under comprehensive scoring it is opened
    and recorded, and the lot does not fail for it."""
    from tests.factories.evaluation import CRITERIA as COMPREHENSIVE

    criteria = {**COMPREHENSIVE, "rejections": CRITERIA["rejections"]}
    owner, octx, trade = _tender(ctx, (), criteria=criteria)
    _seal(octx, trade.lot_code)
    _offers(ctx, trade, [1_180 * WAN, 1_150 * WAN, 1_199 * WAN])
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    rec = _record(session, trade)
    assert trade.status == "opened" and rec.body["reserve"] == {**rec.body["reserve"], "set": True, "binding": False}


def test_without_a_reserve_the_tender_runs_as_before(ctx, session, clock):
    owner, octx, trade = _tender(ctx, ())
    code = trade.lot_code
    reserve.declare_none(octx, code)
    assert reserve.reserve_status(octx, code)["state"] == "none"
    with pytest.raises(Conflict) as again:                # write-once: no reserve after recording none
        reserve.start_reserve(octx, code)
    assert again.value.code == "land_tender.reserve_decided"
    _offers(ctx, trade, [START, START + WAN, START + 2 * WAN])
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    rec = _record(session, trade)
    assert trade.status == "opened" and rec.body["reserve"] == {"set": False} and "failure" not in rec.body
    assert reserve.reserve_status(octx, code)["state"] == "none"


def test_nothing_recorded_by_the_deadline_means_no_reserve(ctx, session, clock):
    owner, octx, trade = _tender(ctx, ())
    reserve.start_reserve(octx, trade.lot_code)        # started, never sealed
    clock.set(trade.deadline_at + timedelta(minutes=1))
    assert reserve.reserve_status(octx, trade.lot_code)["state"] == "none"


@pytest.mark.parametrize("override", [
    {"lot_id": "OTHER-LOT-01"}, {"part": "price"}, {"submission_id": "rsv-not-issued"},
    {"bidder_id": "91350100MA2Y8K6Q1K"}])
def test_a_reserve_for_another_context_is_refused_and_nothing_stored(ctx, session, override):
    owner, octx, trade = land_lot(ctx)
    info = reserve.start_reserve(octx, trade.lot_code)
    manifest, payload, signer = seal_reserve_envelope(info, RESERVE, **override)
    with pytest.raises(EnvelopeRefused) as e:
        reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=payload, signer_public=signer)
    assert e.value.code == "envelope.context_mismatch" and 400 <= e.value.status < 500
    row = session.get(TenderReserve, trade.lot_id)
    assert (row.status, row.payload, row.manifest) == ("uploading", None, None)


def test_a_reserve_to_another_key_or_signed_by_another_key_is_refused(ctx, session):
    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.sealing import envelope

    owner, octx, trade = land_lot(ctx)
    info = reserve.start_reserve(octx, trade.lot_code)
    # sealed to a key that is not the lot's opening key (wrong kid)
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    wrong_key = {**info, "opening_key": {"public": envelope.b64(envelope.public_raw(stranger)), "kid": ""}}
    manifest, payload, signer = seal_reserve_envelope(wrong_key, RESERVE)
    with pytest.raises(EnvelopeRefused) as kid:
        reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=payload, signer_public=signer)
    # presented with another signer's public key (signature / kid mismatch)
    manifest, payload, _ = seal_reserve_envelope(info, RESERVE)
    other = envelope.public_raw(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(EnvelopeRefused) as sig:
        reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=payload, signer_public=other)
    # a flipped payload byte (the signature no longer matches)
    manifest, payload, signer = seal_reserve_envelope(info, RESERVE)
    bad = bytearray(payload)
    bad[-1] ^= 1
    with pytest.raises(EnvelopeRefused) as flip:
        reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=bytes(bad), signer_public=signer)
    assert kid.value.code != sig.value.code and all(e.value.status == 422 for e in (kid, sig, flip))
    assert session.get(TenderReserve, trade.lot_id).payload is None
    assert not session.execute(select(AuditEntry).where(AuditEntry.action == "land_tender.reserve_sealed")).first()


def test_after_the_deadline_the_choice_is_refused(ctx, session, clock):
    owner, octx, trade = land_lot(ctx)
    info = reserve.start_reserve(octx, trade.lot_code)
    manifest, payload, signer = seal_reserve_envelope(info, RESERVE)
    clock.set(trade.deadline_at)
    for call in (lambda: reserve.start_reserve(octx, trade.lot_code), lambda: reserve.declare_none(octx, trade.lot_code),
                 lambda: reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"],
                                             manifest_raw=manifest, payload=payload, signer_public=signer)):
        with pytest.raises(Conflict) as late:
            call()
        assert late.value.code == "land_tender.reserve_late" and late.value.status == 409
    assert session.get(TenderReserve, trade.lot_id).status == "uploading"


def test_write_once_and_only_the_project_side(ctx, session, clock):
    owner, octx, trade = land_lot(ctx)
    other = actor_ctx(session, clock, make_user(ctx, "owner"))
    with pytest.raises(Forbidden):
        reserve.start_reserve(other, trade.lot_code)
    with pytest.raises(Forbidden):
        reserve.declare_none(operator_ctx(ctx), trade.lot_code)
    _seal(octx, trade.lot_code)
    for call in (lambda: reserve.start_reserve(octx, trade.lot_code), lambda: reserve.declare_none(octx, trade.lot_code)):
        with pytest.raises(Conflict) as again:
            call()
        assert again.value.code == "land_tender.reserve_decided"
    with pytest.raises(NotFound):
        reserve.put_reserve(octx, trade.lot_code, submission_id="rsv-unknown", manifest_raw={}, payload=b"",
                            signer_public=b"")


def test_the_offline_tools_reserve_sheet_is_the_one_opened(ctx, session, clock):
    plain = tool.plaintext_for("reserve", price_yuan="12000000.00")
    owner, octx, trade = _tender(ctx, ())
    info = reserve.start_reserve(octx, trade.lot_code)
    manifest, payload, signer = seal_reserve_envelope(info, 0, plaintext=plain)
    reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"], manifest_raw=manifest,
                        payload=payload, signer_public=signer)
    _offers(ctx, trade, [1_300 * WAN, 1_250 * WAN, 1_210 * WAN])
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    assert session.get(TenderReserve, trade.lot_id).reserve_fen == RESERVE and trade.status == "opened"
