"""Share submission and the opening: before the deadline refused; a wrong share refused, attributed and
recorded; k−1 shares do not open; the k-th opens every accepted envelope (price first) and writes the
opening record; superseded and withdrawn envelopes are never opened; failures get their Art. 31 category;
流标 below the minimum; bidders confirm or dispute within the window; the host answers a dispute."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import add_offer, documents_zip, ensure_custodians, price_sheet, sealed_lot
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.blobs import get_store
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, Throttled
from trading.core.events import LiveEvent
from trading.procedures.common.opening import services as opening
from trading.procedures.common.opening.models import (
    CustodianShare,
    OpeningRecord,
    OpeningResult,
    RecordResponse,
    ShareAttempt,
)
from trading.procedures.common.opening.services import ShareRefused


@pytest.fixture
def lot(session, clock, ctx):
    people = ensure_custodians(ctx)
    trade, key = sealed_lot(ctx)
    by_id = {u.id: (u, p) for u, p in people}
    # custodians of this lot in x order
    holders = [by_id[s.custodian_user_id] for s in key.shares]
    return trade, key, holders


def _as(session, clock, user, ip="10.0.0.7"):
    return actor_ctx(session, clock, user, ip=ip)


def _submit(session, clock, holder, trade, passphrase=None):
    user, pw = holder
    return opening.submit_share(_as(session, clock, user), trade.lot_code, passphrase or pw)


def _after_deadline(clock, trade):
    clock.set(trade.deadline_at + timedelta(seconds=1))


def _events(session, name):
    return [e.data for e in session.execute(select(LiveEvent).where(LiveEvent.name == name)
                                            .order_by(LiveEvent.id)).scalars()]


def _actions(session):
    return [e.action for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]


def test_share_before_the_deadline_is_refused_and_recorded(session, clock, lot):
    trade, key, holders = lot
    clock.set(trade.deadline_at - timedelta(microseconds=1))
    with pytest.raises(ShareRefused) as err:
        _submit(session, clock, holders[0], trade)
    assert err.value.code == "opening.too_early" and err.value.status == 422
    attempt = session.execute(select(ShareAttempt)).scalar_one()
    assert (attempt.outcome, attempt.user_id, attempt.ip) == ("too_early", holders[0][0].id, "10.0.0.7")
    assert _actions(session)[-1] == "opening.share_refused"
    assert all(s.status == "held" for s in key.shares)


def test_not_a_custodian_is_refused(session, clock, ctx, lot):
    trade, _, _ = lot
    _after_deadline(clock, trade)
    stranger = make_user(ctx, "operator", totp=True)
    with pytest.raises(Forbidden) as err:
        opening.submit_share(_as(session, clock, stranger), trade.lot_code, "whatever 12345")
    assert err.value.code == "opening.not_custodian"
    bidder = make_user(ctx, "bidder", totp=True)
    with pytest.raises(Forbidden):
        opening.submit_share(_as(session, clock, bidder), trade.lot_code, "whatever 12345")
    with pytest.raises(NotFound):
        opening.submit_share(_as(session, clock, holders_user(lot)), "NO-SUCH-LOT", "x")


def holders_user(lot):
    return lot[2][0][0]


def test_wrong_passphrase_is_refused_named_and_does_not_count(session, clock, lot):
    trade, key, holders = lot
    _after_deadline(clock, trade)
    with pytest.raises(ShareRefused) as err:
        _submit(session, clock, holders[1], trade, passphrase="custodian-pass-wrong-1")
    assert err.value.code == "opening.wrong_passphrase" and err.value.details == {"x": 2}
    assert "保管人 2" in err.value.message_zh and holders[1][0].display_name in err.value.message_zh
    attempt = session.execute(select(ShareAttempt)).scalar_one()
    assert attempt.outcome == "wrong_passphrase" and attempt.user_id == holders[1][0].id
    entry = json.loads(session.execute(select(AuditEntry).where(AuditEntry.action == "opening.share_refused"))
                       .scalar_one().body)
    assert entry["payload"]["x"] == 2 and entry["payload"]["custodian_user_id"] == holders[1][0].id
    assert entry["ip"] == "10.0.0.7" and "custodian-pass" not in json.dumps(entry)
    assert all(s.status == "held" for s in key.shares)


def test_repeated_wrong_passphrases_are_throttled(session, clock, lot):
    trade, key, holders = lot
    _after_deadline(clock, trade)
    for _ in range(5):
        with pytest.raises(ShareRefused):
            _submit(session, clock, holders[0], trade, passphrase="custodian-pass-wrong-1")
    with pytest.raises(Throttled) as err:
        _submit(session, clock, holders[0], trade)
    assert err.value.code == "opening.share_throttled"
    clock.advance(timedelta(minutes=15))
    assert _submit(session, clock, holders[0], trade).accepted == 1


def test_a_share_that_does_not_match_its_commitment_is_refused_and_named(session, clock, lot):
    trade, key, holders = lot
    _after_deadline(clock, trade)
    # a share sealed correctly to the custodian but not the one committed to (e.g. swapped in the database)
    from trading.accounts import custodians as custody
    from trading.accounts.models import CustodianKey
    from trading.sealing import custodian as crypto
    from trading.sealing.shamir import Share

    share = key.shares[2]
    material = custody.custodian_material(session.get(CustodianKey, share.custodian_key_id))
    share.sealed_share = crypto.seal_share(Share(share.x, 12345), material.public_raw, lot_code=trade.lot_code,
                                           custodian_id=share.custodian_user_id)
    session.flush()
    with pytest.raises(ShareRefused) as err:
        _submit(session, clock, holders[2], trade)
    assert err.value.code == "opening.share_rejected" and err.value.details == {"x": 3}
    assert session.execute(select(ShareAttempt.outcome)).scalar_one() == "bad_share"


def _offers(ctx, trade, key, prices=(1_200_000_00, 1_100_000_00, 1_150_000_00), documents=True):
    return [add_offer(ctx, trade, key, price_fen=p, documents=documents_zip() if documents else None)
            for p in prices]


def test_k_minus_one_shares_do_not_open(session, clock, ctx, lot):
    trade, key, holders = lot
    _offers(ctx, trade, key)
    _after_deadline(clock, trade)
    for i in range(2):
        outcome = _submit(session, clock, holders[i], trade)
        assert (outcome.accepted, outcome.k, outcome.n, outcome.opened) == (i + 1, 3, 5, False)
    assert trade.status == "opening"
    assert session.execute(select(func.count()).select_from(OpeningRecord)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(OpeningResult)).scalar_one() == 0
    assert [e["accepted"] for e in _events(session, "custody:progress")] == [1, 2]
    with pytest.raises(RuleViolation) as err:
        opening.open_lot(_as(session, clock, holders[0][0]), trade.lot_code)
    assert err.value.code == "opening.not_enough_shares"
    with pytest.raises(Conflict):
        _submit(session, clock, holders[0], trade)   # the same custodian again


def test_k_shares_open_every_envelope_with_prices(session, clock, ctx, lot):
    trade, key, holders = lot
    offers = _offers(ctx, trade, key)
    # a superseded and a withdrawn envelope are never opened
    _, old = add_offer(ctx, trade, key, price_fen=9_00, status="superseded", bidder=offers[0][0])
    _, withdrawn = add_offer(ctx, trade, key, price_fen=8_00, status="withdrawn")
    _after_deadline(clock, trade)
    outcomes = [_submit(session, clock, holders[i], trade) for i in (4, 0, 2)]
    assert outcomes[-1].opened and outcomes[-1].lot_status == "opened"
    assert trade.status == "opened"
    results = list(session.execute(select(OpeningResult)).scalars())
    assert len(results) == 6 and all(r.outcome == "opened" for r in results)
    opened_sids = {r.submission_id for r in results}
    assert withdrawn["price"].submission_id not in opened_sids
    assert old["price"].submission_id not in opened_sids
    assert not [r for r in results if r.price_fen in (9_00, 8_00)]
    # the documents plaintext is in the blob store for the evaluators, with its file names
    docs = [r for r in results if r.part == "documents"]
    assert all(sorted(r.files) == ["商务标.pdf", "技术标.pdf"] for r in docs)
    assert get_store().read(docs[0].plaintext_sha256)[:2] == b"PK"
    # the record
    rec = opening.get_record(ctx, trade.lot_code)
    body = rec.body
    assert rec.outcome == "opened" and rec.valid_offers == 3 and body["min_valid_offers"] == 3
    assert [b["price_fen"] for b in body["bidders"]] == [1_200_000_00, 1_100_000_00, 1_150_000_00]
    assert body["bidders"][1]["price_capitals"] == "人民币壹佰壹拾万元整"
    assert body["bidders"][0]["parts"][0]["part"] == "price" and body["bidders"][0]["duration_days"] == 180
    assert all(len(p["payload_sha256"]) == 64 for b in body["bidders"] for p in b["parts"])
    assert body["opening_key"]["shares"] == [1, 3, 5] and body["next_steps"] == []
    from trading.procedures.common.opening.rules import record_digest
    assert rec.sha256 == record_digest(body)
    assert rec.respond_until == clock.now() + timedelta(minutes=30)
    # the shares' values are wiped
    assert all(s.accepted_y is None for s in session.execute(select(CustodianShare)).scalars())
    # audit: one summary entry with the digest list, then the record
    actions = _actions(session)
    assert actions[-2:] == ["opening.opened", "opening.record_published"]
    summary = json.loads(session.execute(select(AuditEntry).where(AuditEntry.action == "opening.opened"))
                         .scalar_one().body)["payload"]
    assert summary["envelopes"] == 6 and len(summary["digests"]) == 6 and sorted(summary["custodians"]) == sorted(
        [holders[4][0].id, holders[0][0].id, holders[2][0].id])
    assert verify(session).ok
    # live events
    assert _events(session, "decrypt:status")[-1]["done"] == 6
    assert [e["stage"] for e in _events(session, "opening:stage")] == ["custody", "decrypting", "opened"]
    assert _events(session, "opening:record") == [{"record_id": rec.id}]
    # no more shares once opened
    with pytest.raises(Conflict):
        _submit(session, clock, holders[1], trade)


def test_price_parts_are_opened_first(session, clock, ctx, lot):
    trade, key, holders = lot
    _offers(ctx, trade, key)
    _after_deadline(clock, trade)
    for i in range(3):
        _submit(session, clock, holders[i], trade)
    parts = list(session.execute(select(OpeningResult.part).order_by(OpeningResult.id)).scalars())
    assert parts == ["price"] * 3 + ["documents"] * 3


def test_failures_get_their_cause_and_consequence_and_too_few_valid_offers_fail_the_lot(session, clock, ctx, lot):
    trade, key, holders = lot
    add_offer(ctx, trade, key, price_fen=1_000_00)
    bad_sheet, _ = add_offer(ctx, trade, key, price_fen=None, price_plaintext=b'{"v":1,"price_fen":1.5}')
    tampered, _ = add_offer(ctx, trade, key, price_fen=2_000_00, tamper_payload=True)
    _after_deadline(clock, trade)
    for i in range(3):
        _submit(session, clock, holders[i], trade)
    assert trade.status == "failed"
    rec = opening.get_record(ctx, trade.lot_code)
    assert rec.outcome == "failed" and rec.valid_offers == 1
    by_code = {b["credit_code"]: b for b in rec.body["bidders"]}
    from trading.accounts.models import Organisation
    sheet = by_code[session.get(Organisation, bad_sheet.org_id).credit_code]
    assert not sheet["valid"] and sheet["parts"][0]["failure"] == {
        "kind": "price_sheet.keys", "category": "bidder_cert", "consequence": "revocation"}
    platform = by_code[session.get(Organisation, tampered.org_id).credit_code]
    assert platform["parts"][0]["failure"] == {
        "kind": "sealing.payload_digest", "category": "platform", "consequence": "withdrawal"}
    assert [s["code"] for s in rec.body["next_steps"]] == ["re_announce", "no_further_tender"]
    assert "lot.failed" in _actions(session)
    assert _events(session, "opening:stage")[-1] == {"stage": "failed"}


def test_a_lot_without_offers_fails(session, clock, ctx, lot):
    trade, _, holders = lot
    _after_deadline(clock, trade)
    for i in range(3):
        _submit(session, clock, holders[i], trade)
    rec = opening.get_record(ctx, trade.lot_code)
    assert rec.outcome == "failed" and rec.body["bidders"] == [] and trade.status == "failed"


def test_record_is_404_before_opening(session, clock, ctx, lot):
    trade, _, _ = lot
    with pytest.raises(NotFound):
        opening.get_record(ctx, trade.lot_code)


def test_my_custody_lists_the_shares_and_the_blob_is_handed_over(session, clock, ctx, lot):
    trade, key, holders = lot
    user, _ = holders[0]
    items = opening.my_custody(_as(session, clock, user))
    assert [(i.lot_code, i.x, i.status, i.k, i.n, i.can_submit) for i in items] == [
        (trade.lot_code, 1, "held", 3, 5, False)]
    assert items[0].deadline_at == trade.deadline_at
    blob = opening.custody_blob(_as(session, clock, user), trade.lot_code)
    assert blob["sealed_share"] == key.shares[0].sealed_share and blob["x"] == 1
    assert blob["commitment"] == key.shares[0].commitment.hex()
    _after_deadline(clock, trade)
    assert opening.my_custody(_as(session, clock, user))[0].can_submit
    assert opening.custody_item(_as(session, clock, user), trade.lot_code).x == 1


# --- confirm / dispute ----------------------------------------------------------------------------------

@pytest.fixture
def opened(session, clock, ctx, lot):
    trade, key, holders = lot
    bidders = [b for b, _ in _offers(ctx, trade, key, documents=False)]
    _after_deadline(clock, trade)
    for i in range(3):
        _submit(session, clock, holders[i], trade)
    return trade, bidders


def test_bidders_confirm_or_dispute_within_the_window(session, clock, ctx, opened):
    trade, bidders = opened
    row = opening.respond_to_record(_as(session, clock, bidders[0]), trade.lot_code, "confirm")
    assert row.response == "confirm"
    with pytest.raises(Conflict):
        opening.respond_to_record(_as(session, clock, bidders[0]), trade.lot_code, "dispute", "again")
    with pytest.raises(InvalidInput) as err:
        opening.respond_to_record(_as(session, clock, bidders[1]), trade.lot_code, "dispute", "  ")
    assert err.value.code == "opening.dispute_reason"
    with pytest.raises(InvalidInput):
        opening.respond_to_record(_as(session, clock, bidders[1]), trade.lot_code, "maybe")
    dispute = opening.respond_to_record(_as(session, clock, bidders[1]), trade.lot_code, "dispute",
                                        "我方报价唱错")
    assert _events(session, "opening:confirmed") == [{"bidder_no": 1}]
    assert _events(session, "opening:disputed") == [{"bidder_no": 2}]
    # the host answers on the spot
    host = make_user(ctx, "operator", totp=True)
    with pytest.raises(Forbidden):
        opening.reply_to_dispute(_as(session, clock, bidders[0]), dispute.id, "答复")
    answered = opening.reply_to_dispute(_as(session, clock, host), dispute.id, "经核对，唱标价格与报价文件一致。")
    assert answered.replied_by == host.id and "opening.dispute_answered" in _actions(session)
    with pytest.raises(Conflict):
        opening.reply_to_dispute(_as(session, clock, host), dispute.id, "again")
    # after the window no one can respond
    clock.advance(timedelta(minutes=30))
    with pytest.raises(RuleViolation) as err:
        opening.respond_to_record(_as(session, clock, bidders[2]), trade.lot_code, "confirm")
    assert err.value.code == "opening.response_window_closed"
    assert session.execute(select(func.count()).select_from(RecordResponse)).scalar_one() == 2


def test_only_listed_bidders_respond(session, clock, ctx, opened):
    trade, _ = opened
    outsider = make_user(ctx, "bidder")
    with pytest.raises(Forbidden) as err:
        opening.respond_to_record(_as(session, clock, outsider), trade.lot_code, "confirm")
    assert err.value.code == "opening.not_a_bidder"
    owner = make_user(ctx, "owner")
    with pytest.raises(Forbidden):
        opening.respond_to_record(_as(session, clock, owner), trade.lot_code, "confirm")


def test_price_sheet_helper_is_the_contract():
    assert json.loads(price_sheet(5)) == {"v": 1, "price_fen": 5, "duration_days": 180, "quality": "合格",
                                          "remarks": ""}
