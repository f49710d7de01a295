"""The sealed-offer upload protocol through the services: manifest checks before any byte is stored,
chunks (idempotent, conflicting, resumable), completion (digest, layout, signature, server time to
the microsecond), supersede, withdraw, self-test, signed receipts."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.accounts.signing_keys import revoke_signing_key
from trading.audit.models import AuditEntry
from trading.core.blobs import get_store
from trading.core.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.procedures.common.participation import completion, receipts, services
from trading.procedures.common.participation.models import Submission, UploadChunk
from trading.procedures.common.participation.rules import UPLOAD_CHUNK_BYTES
from trading.sealing import envelope as env
from trading.sealing import receipts as sig

U = UPLOAD_CHUNK_BYTES


@pytest.fixture
def lot(ctx):
    return sealed_lot(ctx)


@pytest.fixture
def bidder(ctx, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    return b


def pieces(payload: bytes) -> list[bytes]:
    return [payload[i:i + U] for i in range(0, len(payload), U)] or [b""]


def sealed_upload(lot, b, part="price", plaintext=None, **seal_kw):
    sub = services.start_submission(b.ctx, lot.code, part)
    manifest, payload = seal_for(lot, b, part, sub.submission_id, plaintext or price_sheet(), **seal_kw)
    return sub, manifest, payload


def upload(lot, b, part="price", plaintext=None):
    sub, manifest, payload = sealed_upload(lot, b, part, plaintext)
    services.put_manifest(b.ctx, sub.submission_id, manifest_bytes(manifest))
    for i, chunk in enumerate(pieces(payload)):
        services.put_chunk(b.ctx, sub.submission_id, i, chunk)
    receipt, created = completion.complete_submission(b.ctx, sub.submission_id)
    assert created
    return services.own_submission(b.ctx, sub.submission_id), payload, receipt


def test_round_trip_stores_the_payload_opens_with_the_opening_key_and_signs_a_receipt(ctx, lot, bidder):
    sub, payload, receipt = upload(lot, bidder)
    assert sub.status == "accepted" and sub.accepted_at == ctx.now()
    assert get_store().read(sub.payload_sha256) == payload
    plain = env.open_envelope(sub.manifest, payload, lot.opening_private,
                              signer_pub=bidder.key.public_key(),
                              expected=env.Context(lot.code, bidder.org.credit_code, "price", sub.submission_id))
    assert plain == price_sheet()
    body = receipts.as_json(receipt)
    r = body["receipt"]
    assert r["kind"] == "submitted" and r["submission_id"] == sub.submission_id and r["part"] == "price"
    assert r["payload_sha256"] == sub.payload_sha256 and r["payload_len"] == len(payload)
    assert r["bidder_id"] == bidder.org.credit_code and r["lot_id"] == lot.code and r["supersedes"] is None
    assert r["received_at_beijing"].endswith("（北京时间）")
    entry = ctx.session.get(AuditEntry, r["audit_seq"])
    assert entry.action == "offer.submitted" and entry.object_id == sub.submission_id
    key = receipts.public_key_info()
    assert sig.verify(base64.b64decode(key["public"]), r, base64.b64decode(body["signature"]))
    assert not sig.verify(base64.b64decode(key["public"]), {**r, "payload_len": 1}, base64.b64decode(body["signature"]))
    assert body["key_id"] == key["key_id"]
    # the staged chunks are removed once the acceptance commits (kept for a retry if it rolls back)
    assert get_store().staging_dir(sub.submission_id).exists()
    ctx.session.commit()
    assert not get_store().staging_dir(sub.submission_id).exists()


def test_a_rolled_back_acceptance_keeps_the_staged_chunks(ctx, lot, bidder):
    sub, manifest, payload = sealed_upload(lot, bidder)
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_chunk(bidder.ctx, sub.submission_id, 0, payload)
    sid = sub.submission_id
    ctx.session.commit()
    completion.complete_submission(bidder.ctx, sid)
    ctx.session.rollback()
    assert get_store().stage_exists(sid, "0")
    receipt, created = completion.complete_submission(bidder.ctx, sid)
    ctx.session.commit()
    assert created and not get_store().staging_dir(sid).exists()


def test_many_chunks_out_of_order_duplicates_conflicts_and_resume(ctx, lot, bidder):
    sub, manifest, payload = sealed_upload(lot, bidder, "documents", b"x" * (U + 5000))
    sid = sub.submission_id
    services.put_manifest(bidder.ctx, sid, manifest_bytes(manifest))
    chunks = pieces(payload)
    assert len(chunks) == 2
    _, n = services.put_chunk(bidder.ctx, sid, 1, chunks[1])
    assert n == 1 and services.received_indexes(ctx, services.own_submission(bidder.ctx, sid)) == [1]
    _, n = services.put_chunk(bidder.ctx, sid, 1, chunks[1])  # the same bytes again: fine
    assert n == 1
    with pytest.raises(Conflict) as err:
        services.put_chunk(bidder.ctx, sid, 1, bytes([chunks[1][0] ^ 1]) + chunks[1][1:])  # other bytes, always
    assert err.value.code == "upload.chunk_conflict"
    with pytest.raises(Conflict) as err:
        completion.complete_submission(bidder.ctx, sid)
    assert err.value.code == "upload.incomplete" and err.value.details["missing"] == [0]
    services.put_chunk(bidder.ctx, sid, 0, chunks[0])
    receipt, _ = completion.complete_submission(bidder.ctx, sid)
    assert receipt.submission.status == "accepted"
    again, created = completion.complete_submission(bidder.ctx, sid)
    assert again.id == receipt.id and not created


@pytest.mark.parametrize("index, size, code", [
    (0, 10, "upload.chunk_size"), (2, 10, "upload.chunk_index"), (1, 0, "upload.chunk_index")])
def test_chunk_size_and_index_are_checked(lot, bidder, index, size, code):
    sub, manifest, _ = sealed_upload(lot, bidder)
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    with pytest.raises(InvalidInput) as err:
        services.put_chunk(bidder.ctx, sub.submission_id, index, b"z" * size)
    assert err.value.code == code


def test_chunks_need_the_manifest_and_a_bad_header_is_refused_on_arrival(ctx, lot, bidder):
    sub, manifest, payload = sealed_upload(lot, bidder)
    with pytest.raises(Conflict) as err:
        services.put_chunk(bidder.ctx, sub.submission_id, 0, payload)
    assert err.value.code == "upload.manifest_first"
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    with pytest.raises(InvalidInput) as err:
        services.put_chunk(bidder.ctx, sub.submission_id, 0, b"XXXX" + payload[4:])
    assert err.value.code == "envelope.header"
    assert ctx.session.execute(select(UploadChunk)).first() is None


def _mutate(manifest: dict, path: str, value):
    m = json.loads(json.dumps(manifest))
    target = m
    *parents, last = path.split(".")
    for p in parents:
        target = target[p]
    target[last] = value
    return manifest_bytes(m)


@pytest.mark.parametrize("change, code", [
    (lambda m, s: b"{not json", "envelope.manifest"),
    (lambda m, s: manifest_bytes(m)[:-1] + b',"v":1}', "envelope.manifest"),
    (lambda m, s: _mutate(m, "v", 2), "envelope.unsupported_version"),
    (lambda m, s: _mutate(m, "suite", 2), "envelope.unsupported_suite"),
    (lambda m, s: _mutate(m, "v", True), "envelope.unsupported_version"),
    (lambda m, s: _mutate(m, "submission_id", s + "x"), "envelope.context_mismatch"),
    (lambda m, s: _mutate(m, "part", "documents"), "envelope.context_mismatch"),
    (lambda m, s: _mutate(m, "bidder_id", "91510100MA000000X1"), "envelope.context_mismatch"),
    (lambda m, s: _mutate(m, "lot_id", "SFX2099-X-01"), "envelope.context_mismatch"),
    (lambda m, s: _mutate(m, "lot_id", "bad lot"), "envelope.context_field"),
    (lambda m, s: _mutate(m, "payload_len", 28), "envelope.chunk_layout"),
    (lambda m, s: _mutate(m, "payload_len", 9 * 1024 * 1024), "envelope.manifest"),
    (lambda m, s: _mutate(m, "extra", 1), "envelope.manifest"),
])
def test_manifest_refusals_store_nothing(ctx, lot, bidder, change, code):
    sub, manifest, _ = sealed_upload(lot, bidder)
    with pytest.raises(InvalidInput) as err:
        services.put_manifest(bidder.ctx, sub.submission_id, change(manifest, sub.submission_id))
    assert err.value.code == code and err.value.status == 422
    # the id was issued (start_submission writes nothing) and its first use was refused: no row
    assert ctx.session.execute(select(Submission).where(Submission.submission_id == sub.submission_id)).first() is None
    fresh = services.own_submission(bidder.ctx, sub.submission_id)  # a read answers the initial state
    assert fresh.manifest is None and fresh.status == "uploading" and fresh not in ctx.session


def test_wrong_opening_key_unregistered_and_revoked_signing_keys(ctx, lot, bidder):
    other_q = ec.generate_private_key(ec.SECP256R1()).public_key()
    sub, manifest, _ = sealed_upload(lot, bidder, opening_public=other_q)
    with pytest.raises(InvalidInput) as err:
        services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    assert err.value.code == "envelope.kid_mismatch"
    sub, manifest, _ = sealed_upload(lot, bidder, signing_key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidInput) as err:
        services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    assert err.value.code == "envelope.signer_mismatch"
    key_row = services.signing_key_valid_at(ctx, bidder.org.id, env.kid(bidder.key.public_key()), ctx.now())
    revoke_signing_key(bidder.ctx, key_row.id, "丢失")
    sub, manifest, _ = sealed_upload(lot, bidder)
    with pytest.raises(InvalidInput) as err:
        services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    assert err.value.code == "envelope.signer_mismatch"


def test_a_different_manifest_after_chunks_is_a_conflict(lot, bidder):
    sub, manifest, payload = sealed_upload(lot, bidder)
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))  # same again: fine
    services.put_chunk(bidder.ctx, sub.submission_id, 0, payload)
    m2, _ = seal_for(lot, bidder, "price", sub.submission_id, b"other")
    with pytest.raises(Conflict) as err:
        services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(m2))
    assert err.value.code == "upload.manifest_conflict"


def test_tampered_payload_or_signature_is_refused_at_completion_and_nothing_is_accepted(ctx, lot, bidder):
    sub, manifest, payload = sealed_upload(lot, bidder)
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    flipped = bytearray(payload)
    flipped[20] ^= 1
    services.put_chunk(bidder.ctx, sub.submission_id, 0, bytes(flipped))
    with pytest.raises(InvalidInput) as err:
        completion.complete_submission(bidder.ctx, sub.submission_id)
    assert err.value.code == "envelope.payload_digest"
    sub = services.own_submission(bidder.ctx, sub.submission_id)
    assert sub.status == "uploading" and not get_store().exists(sub.payload_sha256)

    sub, manifest, payload = sealed_upload(lot, bidder)
    bad = dict(manifest, sig=dict(manifest["sig"], value=env.b64(bytes(64 - 1) + b"\x01")))
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(bad))
    services.put_chunk(bidder.ctx, sub.submission_id, 0, payload)
    with pytest.raises(InvalidInput) as err:
        completion.complete_submission(bidder.ctx, sub.submission_id)
    assert err.value.code == "envelope.bad_signature"
    assert ctx.session.execute(select(Submission).where(Submission.status == "accepted")).first() is None


def _ready(lot, bidder):
    sub, manifest, payload = sealed_upload(lot, bidder)
    services.put_manifest(bidder.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_chunk(bidder.ctx, sub.submission_id, 0, payload)
    return services.own_submission(bidder.ctx, sub.submission_id)


def test_server_time_decides_to_the_microsecond(ctx, clock, lot, bidder):
    early, late = _ready(lot, bidder), _ready(lot, bidder)
    clock.set(lot.deadline - timedelta(microseconds=1))
    receipt, _ = completion.complete_submission(bidder.ctx, early.submission_id)
    assert receipts.body_of(receipt)["received_at"].endswith(".999999Z")
    clock.set(lot.deadline)
    with pytest.raises(RuleViolation) as err:
        completion.complete_submission(bidder.ctx, late.submission_id)
    assert err.value.code == "offer.deadline_passed"
    assert late.status == "uploading"
    for call in (lambda: services.start_submission(bidder.ctx, lot.code, "price"),
                 lambda: completion.withdraw_submission(bidder.ctx, early.submission_id)):
        with pytest.raises(RuleViolation):
            call()


def test_replacing_supersedes_and_withdrawing_gives_a_receipt(ctx, lot, bidder):
    first, _, _ = upload(lot, bidder)
    second, _, receipt = upload(lot, bidder)
    assert first.status == "superseded" and first.superseded_at is not None
    assert receipts.body_of(receipt)["supersedes"] == first.submission_id
    other_part, _, _ = upload(lot, bidder, "documents", b"zip")
    assert other_part.status == "accepted" and second.status == "accepted"
    w = completion.withdraw_submission(bidder.ctx, second.submission_id)
    body = receipts.body_of(w)
    assert body["kind"] == "withdrawn" and second.status == "withdrawn"
    assert ctx.session.get(AuditEntry, body["audit_seq"]).action == "offer.withdrawn"
    with pytest.raises(Conflict):
        completion.withdraw_submission(bidder.ctx, second.submission_id)
    assert services.latest_receipt(bidder.ctx, second.submission_id).id == w.id


def test_self_test_checks_without_decrypting(ctx, lot, bidder):
    sub, _, _ = upload(lot, bidder)
    result = completion.self_test(bidder.ctx, sub.submission_id)
    assert result["ok"] and {c["name"] for c in result["checks"]} >= {
        "manifest", "context", "opening_kid", "signing_key", "layout", "payload_sha256", "signature"}
    path = get_store().path_for(sub.payload_sha256)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    result = completion.self_test(bidder.ctx, sub.submission_id)
    assert not result["ok"]
    assert [c["name"] for c in result["checks"] if not c["ok"]] == ["payload_sha256", "signature"]


def test_others_get_the_same_404_for_an_existing_and_an_unknown_submission(ctx, session, clock, lot, bidder):
    sub, _, receipt = upload(lot, bidder)
    rival = bidder_with_key(ctx)
    owner_ctx = actor_ctx(session, clock, lot.owner)
    others = [rival.ctx, owner_ctx] + [actor_ctx(session, clock, make_user(ctx, r))
                                       for r in ("agency", "operator", "supervisor", "expert", "admin")]
    for other in others:
        for sid in (sub.submission_id, "A" * 24, "bad id"):
            with pytest.raises(NotFound) as err:
                services.own_submission(other, sid)
            assert (err.value.code, err.value.message_zh) == ("not_found", "投标文件不存在或无权查看")
        with pytest.raises(NotFound):
            services.own_receipt(other, receipt.public_id)
    assert services.own_receipt(bidder.ctx, receipt.public_id).id == receipt.id


def test_an_id_made_meanwhile_by_another_request_is_a_conflict_and_nothing_is_doubled(ctx, lot, bidder):
    sid = services.start_submission(bidder.ctx, lot.code, "price").submission_id
    with ctx.session.no_autoflush:
        sub = services.own_submission(bidder.ctx, sid, lock=True, create=True)  # this request's new row
        services.add_chunk_row(bidder.ctx, sub, 0, b"x" * 40, "0" * 64, flush=False)  # and its chunk row
        # a retry of the same upload made the row first and committed
        ctx.session.execute(Submission.__table__.insert().values(
            submission_id=sid, lot_id=sub.lot_id, participation_id=sub.participation_id,
            bidder_org_id=sub.bidder_org_id, part="price", status="uploading",
            upload_chunk_bytes=sub.upload_chunk_bytes, started_by=sub.started_by, started_at=sub.started_at))
        with pytest.raises(Conflict) as err:
            services.insert_new_upload(bidder.ctx, sub)
    assert err.value.code == "upload.in_progress" and err.value.status == 409
    assert sub not in ctx.session
    ctx.session.flush()
    assert len(ctx.session.execute(select(Submission).where(Submission.submission_id == sid)).all()) == 1
    assert ctx.session.execute(select(UploadChunk).join(Submission, Submission.id == UploadChunk.submission_pk)
                               .where(Submission.submission_id == sid)).first() is None
