"""Completing, withdrawing and self-testing a sealed-offer upload (the second half of services.py).

complete_submission assembles the staged chunks into one blob by streaming, then checks layout,
digest and signature and the server time; only then, in the same transaction, the envelope becomes
"accepted", the previous accepted envelope of the same part becomes "superseded" (kept, never
opened), the audit entry is written and the signed receipt issued. Any failure leaves the upload
"uploading" and nothing that could be opened.

Imports: like services.py. Never Flask."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from trading.accounts.models import Organisation, SigningKey
from trading.accounts.signing_keys import signing_key_valid_at
from trading.audit.services import record
from trading.core.blobs import BlobMissing, after_commit, get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict
from trading.sealing import envelope as env
from trading.sealing.failures import EnvelopeError, Failure

from ..lots import before_deadline
from ..models import LotTrade
from . import receipts
from .models import Participation, Receipt, Submission, UploadChunk
from .rules import SubmissionStatus, chunks_expected
from .services import (
    EnvelopeRefused,
    _deadline_passed,
    _refuse,
    expected_context,
    opening_key_of,
    own_submission,
    received_indexes,
)

S = SubmissionStatus


def _staged_pieces(store, sid: str, count: int, block: int = 1 << 20):
    for i in range(count):
        with store.stage_open(sid, str(i)) as f:
            while piece := f.read(block):
                yield piece


def _lock_participation(ctx: ServiceContext, sub: Submission) -> None:
    # one writer per (bidder, lot) at a time: replacing and withdrawing never race each other
    ctx.session.execute(select(Participation.id).where(Participation.id == sub.participation_id).with_for_update())


def _previous_accepted(ctx: ServiceContext, sub: Submission) -> Submission | None:
    return ctx.session.execute(select(Submission).where(
        Submission.lot_id == sub.lot_id, Submission.bidder_org_id == sub.bidder_org_id, Submission.part == sub.part,
        Submission.status == S.ACCEPTED, Submission.id != sub.id)).scalar_one_or_none()


def _receipt(ctx, sub: Submission, trade: LotTrade, kind: str, recorded, at: datetime, supersedes) -> Receipt:
    org = ctx.session.get(Organisation, sub.bidder_org_id)
    return receipts.issue(ctx, sub, kind=kind, lot_code=trade.lot_code, bidder_id=org.credit_code,
                          bidder_name=org.name, recorded=recorded, at=at, supersedes=supersedes)


def complete_submission(ctx: ServiceContext, sid: str) -> tuple[Receipt, bool]:
    """(receipt, created). Completing an accepted upload again answers with its receipt."""
    sub = own_submission(ctx, sid, lock=True)
    if sub.status == S.ACCEPTED and sub.receipts:
        return sub.receipts[-1], False
    if sub.status != S.UPLOADING:
        raise Conflict("upload.closed", "该上传已被替换或撤回", "This upload was replaced or withdrawn")
    if sub.manifest is None:
        raise Conflict("upload.manifest_first", "请先上传清单（manifest）", "Send the manifest first")
    trade = ctx.session.get(LotTrade, sub.lot_id)
    if not before_deadline(trade, ctx.now()):
        raise _deadline_passed()
    _lock_participation(ctx, sub)
    count = chunks_expected(sub.payload_len, sub.upload_chunk_bytes)
    got = received_indexes(ctx, sub)
    if got != list(range(count)):
        missing = sorted(set(range(count)) - set(got))
        raise Conflict("upload.incomplete", f"还缺 {len(missing)} 个数据块，请继续上传后再完成",
                       f"{len(missing)} chunk(s) are missing; upload them, then complete",
                       details={"missing": missing[:50], "chunks_expected": count})
    m = env.parse_manifest(sub.manifest)
    store = get_store()
    try:
        with store.stage_open(sub.submission_id, "0") as f:
            head = f.read(env.HEADER_LEN)
    except BlobMissing:
        raise Conflict("upload.chunk_missing", "服务器上缺少已登记的数据块，请重新上传第 0 块",
                       "A recorded chunk is missing on the server; upload chunk 0 again") from None
    key = _signer(ctx, sub, ctx.now())
    signer_pub = env.load_public(bytes(key.public_raw))
    try:
        env.check(m, head, payload_len=sub.payload_len, expected=expected_context(ctx, sub, trade),
                  opening_kid=bytes(opening_key_of(ctx, trade).kid), signer_pub=signer_pub,
                  max_payload_len=trade.max_part_bytes)
    except EnvelopeError as err:
        raise EnvelopeRefused(err) from None
    try:
        sha, size = store.put_stream(_staged_pieces(store, sub.submission_id, count))
    except BlobMissing:
        raise Conflict("upload.chunk_missing", "服务器上缺少已登记的数据块，请重新上传缺失的数据块",
                       "A recorded chunk is missing on the server; upload it again") from None
    try:
        if size != sub.payload_len:
            raise EnvelopeError(Failure.PAYLOAD_DIGEST, "payload length differs from payload_len")
        env.verify_signature(m, bytes.fromhex(sha), signer_pub)
    except EnvelopeError as err:
        _drop_unreferenced(ctx, store, sha)
        raise EnvelopeRefused(err) from None
    now = ctx.now()
    if not before_deadline(trade, now):  # the server time at acceptance decides, to the microsecond
        raise _deadline_passed()
    previous = _previous_accepted(ctx, sub)
    if previous is not None:
        previous.status, previous.superseded_at = S.SUPERSEDED, now
        sub.supersedes_id = previous.id
    sub.status, sub.accepted_at, sub.signing_key_id = S.ACCEPTED, now, key.id
    ctx.session.flush()
    recorded = record(ctx, "offer.submitted", "submission", sub.submission_id, project_id=trade.project_id,
                      embargo_lot_id=trade.lot_id,
                      payload={"lot_code": trade.lot_code, "part": sub.part, "payload_sha256": sha,
                               "payload_len": size, "signing_kid": m.sig_kid.hex(),
                               "supersedes": previous.submission_id if previous else None})
    receipt = _receipt(ctx, sub, trade, "submitted", recorded, now, previous.submission_id if previous else None)
    sid = sub.submission_id
    after_commit(ctx.session, lambda: store.stage_remove(sid))
    return receipt, True


def _signer(ctx: ServiceContext, sub: Submission, at: datetime) -> SigningKey:
    m = env.parse_manifest(sub.manifest)
    key = signing_key_valid_at(ctx, sub.bidder_org_id, m.sig_kid, at)
    if key is None:
        raise _refuse(Failure.SIGNER_MISMATCH, "the signing key is not registered or was revoked",
                      "签名密钥未在本单位登记或已吊销")
    return key


def _drop_unreferenced(ctx: ServiceContext, store, sha: str) -> None:
    used = ctx.session.execute(select(Submission.id).where(
        Submission.payload_sha256 == sha, Submission.status.in_([S.ACCEPTED, S.SUPERSEDED, S.WITHDRAWN]))).first()
    if used is None:
        store.delete(sha)


def withdraw_submission(ctx: ServiceContext, sid: str) -> Receipt:
    """Withdraw an accepted envelope before the deadline (撤回): kept, never opened, with a receipt."""
    sub = own_submission(ctx, sid, lock=True)
    if sub.status != S.ACCEPTED:
        raise Conflict("offer.not_accepted", "只能撤回已递交成功的投标文件", "Only an accepted offer can be withdrawn")
    trade = ctx.session.get(LotTrade, sub.lot_id)
    now = ctx.now()
    if not before_deadline(trade, now):
        raise _deadline_passed()
    _lock_participation(ctx, sub)
    sub.status, sub.withdrawn_at = S.WITHDRAWN, now
    ctx.session.flush()
    recorded = record(ctx, "offer.withdrawn", "submission", sub.submission_id, project_id=trade.project_id,
                      embargo_lot_id=trade.lot_id,
                      payload={"lot_code": trade.lot_code, "part": sub.part, "payload_sha256": sub.payload_sha256})
    return _receipt(ctx, sub, trade, "withdrawn", recorded, now, None)


def self_test(ctx: ServiceContext, sid: str) -> dict:
    """Re-check the stored envelope without decrypting it ("test my envelope"): manifest, context,
    opening key, signing key, chunks, layout, digest, signature. Read-only."""
    sub = own_submission(ctx, sid)
    trade = ctx.session.get(LotTrade, sub.lot_id)
    checks: list[dict] = []

    def add(name: str, ok: bool, detail: str = "") -> bool:
        checks.append({"name": name, "ok": ok, "detail": detail})
        return ok

    if not add("manifest", sub.manifest is not None, "" if sub.manifest else "no manifest yet"):
        return {"ok": False, "checks": checks}
    m = env.parse_manifest(sub.manifest)
    add("context", m.context == expected_context(ctx, sub, trade))
    add("opening_kid", m.recipients[0].kid == bytes(opening_key_of(ctx, trade).kid))
    key = signing_key_valid_at(ctx, sub.bidder_org_id, m.sig_kid, sub.accepted_at or ctx.now())
    add("signing_key", key is not None, "" if key else "not registered or revoked")
    store = get_store()
    if sub.status == S.UPLOADING:
        count = chunks_expected(sub.payload_len, sub.upload_chunk_bytes)
        got = len(received_indexes(ctx, sub))
        add("chunks", got == count, f"{got}/{count}")
        return {"ok": all(c["ok"] for c in checks) and got == count, "checks": checks}
    if not add("payload_stored", store.exists(sub.payload_sha256)):
        return {"ok": False, "checks": checks}
    h = hashlib.sha256()
    with store.open(sub.payload_sha256) as f:
        head = f.read(env.HEADER_LEN)
        h.update(head)
        while piece := f.read(1 << 20):
            h.update(piece)
    try:
        env.check(m, head, payload_len=store.size(sub.payload_sha256))
        add("layout", True)
    except EnvelopeError as err:
        add("layout", False, err.detail)
    add("payload_sha256", h.hexdigest() == sub.payload_sha256, sub.payload_sha256)
    if key is not None:
        try:
            env.verify_signature(m, h.digest(), env.load_public(bytes(key.public_raw)))
            add("signature", True)
        except EnvelopeError as err:
            add("signature", False, err.detail)
    return {"ok": all(c["ok"] for c in checks), "checks": checks}


def chunk_rows(ctx: ServiceContext, sub: Submission) -> list[UploadChunk]:
    return list(ctx.session.execute(select(UploadChunk).where(UploadChunk.submission_pk == sub.id)
                                    .order_by(UploadChunk.index)).scalars())
