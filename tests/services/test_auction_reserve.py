"""The sealed reserve price (底价) of an auction lot (reserve.py): sealed by the owner with the ptbid/v1
envelope (part "reserve") to the lot's opening key, unreadable before bidding ends (no amount in any
row, audit entry or live event; custodians' shares refused before the end), a wrong context or signer
refused, opened by k of n custodians after the end, then the outcome (sold when the highest bid ≥ the
reserve, 流拍 otherwise); without a reserve the highest valid bid wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.auctions import (
    INC,
    START,
    auction_lot,
    close_listing,
    open_reserve_by_custodians,
    place,
    seal_reserve,
    seal_reserve_envelope,
    started,
)
from tests.factories.custodians import ensure_custodians
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, Forbidden, NotFound
from trading.core.events import LiveEvent
from trading.procedures.auction import reserve, rules, services
from trading.procedures.auction.models import Auction, AuctionReserve
from trading.procedures.common.lots import get_trade
from trading.procedures.common.opening.models import CustodianShare, OpeningKey, ShareAttempt
from trading.procedures.common.opening.shares import ShareRefused
from trading.procedures.common.participation.base import EnvelopeRefused
from trading.sealing import tool

RESERVE = START + 7 * INC   # 87万元


def _row_bytes(session, model, pk) -> bytes:
    row = session.get(model, pk)
    out = b""
    for col in model.__table__.columns:
        v = getattr(row, col.key)
        out += bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else repr(v).encode()
    return out


def _leaks(blob: bytes, fen: int) -> bool:
    yuan = f"{fen // 100}"
    return any(s.encode() in blob for s in (str(fen), yuan, f"{fen / 100:.2f}")) or fen.to_bytes(8, "big") in blob


def _listing_with_two_bids(ctx, clock, top: int):
    w = auction_lot(ctx)
    a = started(w)
    place(w, w.buyers[0], START)
    place(w, w.buyers[1], top)
    return w, a


def test_the_sealed_reserve_cannot_be_read_before_bidding_ends(ctx, session, clock):
    w = auction_lot(ctx)
    seal_reserve(w, RESERVE)
    a = started(w)
    place(w, w.buyers[0], START)
    session.flush()
    # nothing holds the amount: the auction row, the reserve row (ciphertext only), every audit entry
    # and every live event
    assert a.reserve_fen is None and a.reserve_set_at is not None
    assert not _leaks(_row_bytes(session, Auction, a.lot_id), RESERVE)
    r = session.get(AuctionReserve, a.lot_id)
    assert r.status == "sealed" and not _leaks(_row_bytes(session, AuctionReserve, a.lot_id), RESERVE)
    for body in session.execute(select(AuditEntry.body)).scalars():
        assert not _leaks(bytes(body), RESERVE)
    for e in session.execute(select(LiveEvent)).scalars():
        assert not _leaks(repr(e.data).encode(), RESERVE)
    sealed = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.reserve_sealed")).scalar_one()
    assert r.payload_sha256.encode() in bytes(sealed.body)
    status = reserve.reserve_status(w.c_op, w.code)
    assert (status["status"], status["reserve_fen"]) == ("sealed", None)
    # a custodian cannot open it while bidding runs: refused and recorded
    people = {u.id: (u, p) for u, p in ensure_custodians(ctx)}
    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == a.lot_id)).scalar_one()
    share = session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)).scalars().first()
    user, pw = people[share.custodian_user_id]
    with pytest.raises(ShareRefused) as e:
        reserve.submit_reserve_share(actor_ctx(session, clock, user), w.code, pw)
    assert e.value.code == "opening.too_early"
    assert session.execute(select(ShareAttempt.outcome).where(ShareAttempt.lot_id == a.lot_id)).scalars().all() == [
        "too_early"]
    assert share.accepted_y is None and share.status == "held"


@pytest.mark.parametrize("override", [
    {"lot_id": "OTHER-LOT-01"}, {"part": "price"}, {"submission_id": "rsv-not-issued"},
    {"bidder_id": "91350100MA2Y8K6Q1K"}])  # another organisation's valid 统一社会信用代码
def test_a_reserve_sealed_for_another_context_is_refused(ctx, session, override):
    w = auction_lot(ctx, buyers=0)
    ensure_custodians(ctx)
    info = reserve.start_reserve(w.c_owner, w.code)
    manifest, payload, signer = seal_reserve_envelope(info, RESERVE, **override)
    with pytest.raises(EnvelopeRefused) as e:
        reserve.put_reserve(w.c_owner, w.code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=payload, signer_public=signer)
    assert e.value.code == "envelope.context_mismatch"
    assert session.get(AuctionReserve, w.auction.lot_id).status == "uploading" and w.auction.reserve_set_at is None


def test_a_reserve_signed_by_another_key_or_to_another_key_is_refused(ctx, session):
    from cryptography.hazmat.primitives.asymmetric import ec

    from trading.sealing import envelope

    w = auction_lot(ctx, buyers=0)
    ensure_custodians(ctx)
    info = reserve.start_reserve(w.c_owner, w.code)
    manifest, payload, _ = seal_reserve_envelope(info, RESERVE)
    other = envelope.public_raw(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(EnvelopeRefused) as e:
        reserve.put_reserve(w.c_owner, w.code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=payload, signer_public=other)
    assert e.value.code == "envelope.signer_mismatch"
    not_the_lot = dict(info, opening_key={"public": envelope.b64(other), "kid": ""})
    manifest, payload, signer = seal_reserve_envelope(not_the_lot, RESERVE)
    with pytest.raises(EnvelopeRefused) as e:
        reserve.put_reserve(w.c_owner, w.code, submission_id=info["submission_id"], manifest_raw=manifest,
                            payload=payload, signer_public=signer)
    assert e.value.code == "envelope.kid_mismatch"


def test_only_the_project_side_seals_once_and_before_the_close(ctx, session, clock):
    w = auction_lot(ctx)
    ensure_custodians(ctx)
    with pytest.raises(Forbidden):
        reserve.start_reserve(w.buyers[0].ctx, w.code)
    with pytest.raises(NotFound):
        reserve.start_reserve(actor_ctx(session, clock, make_user(ctx, "owner")), w.code)
    seal_reserve(w, RESERVE)
    with pytest.raises(Conflict) as e:
        reserve.start_reserve(w.c_owner, w.code)
    assert e.value.code == "auction.reserve_set"
    late = auction_lot(ctx)
    clock.set(late.auction.free_until)
    with pytest.raises(Conflict) as e:
        reserve.start_reserve(late.c_owner, late.code)
    assert e.value.code == "auction.reserve_late"


@pytest.mark.parametrize("top,outcome,basis", [
    (RESERVE, "sold", "sold_highest"),               # equal to the reserve: sold
    (RESERVE + INC, "sold", "sold_highest"),
    (RESERVE - INC, "no_sale", "below_reserve"),     # 流拍
])
def test_the_outcome_compares_the_highest_bid_with_the_opened_reserve(ctx, session, clock, top, outcome, basis):
    w = auction_lot(ctx)
    seal_reserve(w, RESERVE)
    a = started(w)
    place(w, w.buyers[0], START)
    place(w, w.buyers[1], top)
    close_listing(w)  # nobody opted in within the window: the listing closes, waiting for the reserve
    assert (a.phase, a.outcome, a.basis, a.reserve_fen) == ("ended", None, "awaiting_reserve", None)
    assert get_trade(ctx, w.code).status == "bidding"
    assert services.tick(w.c_op, w.code).outcome is None  # nothing due until the custodians open it
    steps = open_reserve_by_custodians(w)
    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == a.lot_id)).scalar_one()
    assert len(steps) == key.k and steps[-1]["opened"] and not any(s["opened"] for s in steps[:-1])
    assert (a.outcome, a.basis, a.reserve_fen, a.price_fen) == (outcome, basis, RESERVE, top)
    assert get_trade(ctx, w.code).status == ("awarded" if outcome == "sold" else "failed")
    assert reserve.reserve_status(w.c_op, w.code)["reserve_fen"] == RESERVE
    # the share values are wiped: the key cannot be rebuilt again from the database
    assert all(s.accepted_y is None for s in session.execute(
        select(CustodianShare).where(CustodianShare.opening_key_id == key.id)).scalars())
    opened = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.reserve_opened")).scalar_one()
    assert f'"reserve_fen":{RESERVE}'.encode() in bytes(opened.body)
    final = session.execute(select(AuditEntry).where(
        AuditEntry.action == ("auction.sold" if outcome == "sold" else "auction.no_sale"))).scalar_one()
    assert f'"reserve_fen":{RESERVE}'.encode() in bytes(final.body)
    with pytest.raises(Conflict):
        open_reserve_by_custodians(w)  # opened once


def test_a_wrong_custodian_passphrase_is_refused_and_attributed(ctx, session, clock):
    w, a = _listing_with_two_bids(ctx, clock, START + INC)
    clock.set(a.free_until - timedelta(minutes=1))
    seal_reserve(w, RESERVE)
    close_listing(w)
    key = session.execute(select(OpeningKey).where(OpeningKey.lot_id == a.lot_id)).scalar_one()
    share = session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)).scalars().first()
    people = {u.id: u for u, _ in ensure_custodians(ctx)}
    with pytest.raises(ShareRefused) as e:
        reserve.submit_reserve_share(actor_ctx(session, clock, people[share.custodian_user_id]), w.code, "wrong-pass")
    assert e.value.code == "opening.wrong_passphrase"
    refused = session.execute(select(AuditEntry).where(AuditEntry.action == "auction.reserve_share_refused")).scalar_one()
    assert f'"x":{share.x}'.encode() in bytes(refused.body) and a.outcome is None


def test_no_reserve_sells_to_the_highest_valid_bid(ctx, session, clock):
    w, a = _listing_with_two_bids(ctx, clock, START + 3 * INC)
    close_listing(w)
    assert (a.outcome, a.basis, a.price_fen, a.leader_id) == ("sold", "sold_no_reserve", START + 3 * INC,
                                                               w.buyers[1].app.id)
    assert reserve.reserve_status(w.c_op, w.code)["status"] == "none"
    # a reserve started but never sealed is no reserve either
    assert session.execute(select(OpeningKey).where(OpeningKey.lot_id == a.lot_id)).scalar_one_or_none() is None


def test_a_reserve_sealed_with_the_offline_tools_sheet_opens(ctx, session, clock):
    """The offline tool's reserve plaintext (--part reserve --price-yuan) is the sheet the platform reads."""
    plain = tool.plaintext_for("reserve", price_yuan="870000.00")
    assert rules.parse_reserve_sheet(plain) == RESERVE
    w = auction_lot(ctx)
    ensure_custodians(ctx)
    info = reserve.start_reserve(w.c_owner, w.code)
    manifest, payload, signer = seal_reserve_envelope(info, 0, plaintext=plain)
    reserve.put_reserve(w.c_owner, w.code, submission_id=info["submission_id"], manifest_raw=manifest,
                        payload=payload, signer_public=signer)
    a = started(w)
    place(w, w.buyers[0], START)
    place(w, w.buyers[1], START + INC)
    close_listing(w)
    open_reserve_by_custodians(w)
    assert (a.reserve_fen, a.outcome, a.basis) == (RESERVE, "no_sale", "below_reserve")


@pytest.mark.parametrize("plain", [b"not json", b'{"v":1,"reserve_fen":-5}', b'{"v":1,"reserve_fen":1,"x":2}',
                                   b'{"v":2,"reserve_fen":5}', b'{"v":1,"reserve_fen":1.5}'])
def test_reserve_sheet_table(plain):
    with pytest.raises(ValueError):
        rules.parse_reserve_sheet(plain)


def test_an_unreadable_reserve_sheet_is_no_sale(ctx, session, clock):
    w = auction_lot(ctx)
    ensure_custodians(ctx)
    info = reserve.start_reserve(w.c_owner, w.code)
    manifest, payload, signer = seal_reserve_envelope(info, 0, plaintext=b'{"reserve": "870000"}')
    reserve.put_reserve(w.c_owner, w.code, submission_id=info["submission_id"], manifest_raw=manifest,
                        payload=payload, signer_public=signer)
    a = started(w)
    place(w, w.buyers[0], START)
    close_listing(w)
    open_reserve_by_custodians(w)
    assert (a.outcome, a.basis, a.reserve_fen) == ("no_sale", "reserve_failed", None)
    assert session.get(AuctionReserve, a.lot_id).failure_kind == "reserve.bad_sheet"
