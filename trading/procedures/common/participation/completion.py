"""Completing, withdrawing and self-testing a sealed-offer upload (the second half of services.py).

complete_submission assembles the staged chunks into one blob by streaming, then checks layout,
digest and signature and the server time; only then, in the same transaction, the envelope becomes
"accepted", the previous accepted envelope of the same part becomes "superseded" (kept, never
opened), the audit entry is written and the signed receipt issued. Any failure leaves the upload
"uploading" and nothing that could be opened.

Imports: like services.py. Never Flask."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from trading.accounts.models import Organisation, SigningKey
from trading.accounts.signing_keys import signing_key_valid_at
from trading.audit.services import record
from trading.core.blobs import BlobMissing, after_commit, get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput
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
    add_chunk_row,
    apply_manifest,
    check_chunk,
    check_open,
    expected_context,
    forget_pending,
    held,
    insert_new_upload,
    opening_key_of,
    own_submission,
    own_submission_with_lot,
    received_indexes,
    take_previous,
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
    org = held(ctx, Organisation, sub.bidder_org_id)
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
    trade = held(ctx, LotTrade, sub.lot_id)
    if not before_deadline(trade, ctx.now()):
        raise _deadline_passed()
    _lock_participation(ctx, sub)
    count = chunks_expected(sub.payload_len, sub.upload_chunk_bytes)
    rows = chunk_rows(ctx, sub)
    got = [r.index for r in rows]
    if got != list(range(count)):
        missing = sorted(set(range(count)) - set(got))
        raise Conflict("upload.incomplete", f"还缺 {len(missing)} 个数据块，请继续上传后再完成",
                       f"{len(missing)} chunk(s) are missing; upload them, then complete",
                       details={"missing": missing[:50], "chunks_expected": count})
    store = get_store()
    try:
        with store.stage_open(sub.submission_id, "0") as f:
            head = f.read(env.HEADER_LEN)
    except BlobMissing:
        raise Conflict("upload.chunk_missing", "服务器上缺少已登记的数据块，请重新上传第 0 块",
                       "A recorded chunk is missing on the server; upload chunk 0 again") from None
    m, key, signer_pub = _check_layout(ctx, sub, trade, head, _signer(ctx, sub, ctx.now()))
    try:
        if count == 1 and rows[0].sha256 == sub.payload_sha256 and rows[0].size == sub.payload_len:
            # One chunk whose SHA-256, taken from the bytes as they arrived, is the manifest's: the staged
            # file is the payload. Give it its content address (fsync + hard link) instead of reading,
            # hashing and writing the same megabyte again. The signature check below is unchanged.
            sha, size = store.link_staged(sub.submission_id, "0", rows[0].sha256), rows[0].size
        else:
            sha, size = store.put_stream(_staged_pieces(store, sub.submission_id, count))
    except BlobMissing:
        raise Conflict("upload.chunk_missing", "服务器上缺少已登记的数据块，请重新上传缺失的数据块",
                       "A recorded chunk is missing on the server; upload it again") from None
    try:
        _check_payload(sub, m, signer_pub, sha, size)
    except EnvelopeRefused:
        _drop_unreferenced(ctx, store, sha)
        raise
    receipt = _accept(ctx, sub, trade, m, key, sha, size)
    sid = sub.submission_id
    after_commit(ctx.session, lambda: store.stage_remove(sid))
    return receipt, True


def put_envelope(ctx: ServiceContext, sid: str, manifest_raw: bytes | Callable[[], bytes],
                 data: bytes | Callable[[int], bytes]) -> Receipt:
    """The one-request upload of an envelope that fits one upload chunk: put_manifest + put_chunk(0) +
    complete_submission in one transaction, composed of their own steps (the same checks, in the same
    order: the manifest's before any payload byte is looked at, the chunk's, the layout, digest and
    signature, the server time at acceptance). The payload is written once, to its content address,
    and only after every check has passed; any refusal leaves nothing stored, accepted or audited.
    `manifest_raw` and `data` may be readers (the API's request header and body): the manifest's is
    called once the submission is known to be the caller's (another's id stays the 404 of an unknown
    one), the body's `read(limit) -> bytes` after the manifest checks, with the submission's upload
    chunk size (a larger body is the reader's to refuse)."""
    # no autoflush: an upload whose id is used for the first time is inserted once, accepted, by
    # _accept's flush — not as "uploading" by the first query that would autoflush it, then updated
    with ctx.session.no_autoflush:
        sub = own_submission_with_lot(ctx, sid)
        try:
            return _put_envelope(ctx, sub, manifest_raw, data)
        except BaseException:
            forget_pending(ctx, sub)
            raise


def _put_envelope(ctx: ServiceContext, sub: Submission, manifest_raw, data) -> Receipt:
    sid = sub.submission_id
    if callable(manifest_raw):
        manifest_raw = manifest_raw()
    trade = check_open(ctx, sub)
    fresh = sub.manifest is None  # no chunk can have arrived before the manifest
    key = apply_manifest(ctx, sub, trade, manifest_raw, flush=False)
    if chunks_expected(sub.payload_len, sub.upload_chunk_bytes) != 1:
        raise InvalidInput("upload.use_chunks",
                           f"密封文件超过一个上传块（{sub.upload_chunk_bytes} 字节），请使用分块上传",
                           f"The envelope is larger than one upload chunk ({sub.upload_chunk_bytes} bytes); "
                           "use the chunked upload", details={"upload_chunk_bytes": sub.upload_chunk_bytes})
    if callable(data):
        data = data(sub.upload_chunk_bytes)
    stored, digest = check_chunk(ctx, sub, 0, data, none_stored=fresh)
    previous = take_previous(ctx, sub)
    m, key, signer_pub = _check_layout(ctx, sub, trade, bytes(data[:env.HEADER_LEN]), key)
    _check_payload(sub, m, signer_pub, digest, len(data))
    if not before_deadline(trade, ctx.now()):  # not worth a write
        raise _deadline_passed()
    store = get_store()
    # `digest` was taken from these bytes by check_chunk and has just been checked against the
    # manifest and its signature: written once, not hashed again
    sha, size = store.put_bytes(data, sha=digest), len(data)
    if stored is None:
        add_chunk_row(ctx, sub, 0, data, digest, flush=False)
    else:  # chunk 0 had come through the chunked protocol: its staged copy is not needed any more
        after_commit(ctx.session, lambda: store.stage_remove(sid))
    return _accept(ctx, sub, trade, m, key, sha, size, previous=previous)


def _check_layout(ctx: ServiceContext, sub: Submission, trade: LotTrade, head: bytes, key: SigningKey):
    """The stored manifest against the payload's header, the lot and the signing key `key` (valid
    now): (manifest, key, the key's public point)."""
    m = env.parse_manifest(sub.manifest)
    signer_pub = env.load_public(bytes(key.public_raw))
    try:
        env.check(m, head, payload_len=sub.payload_len, expected=expected_context(ctx, sub, trade),
                  opening_kid=bytes(opening_key_of(ctx, trade).kid), signer_pub=signer_pub,
                  max_payload_len=trade.max_part_bytes)
    except EnvelopeError as err:
        raise EnvelopeRefused(err) from None
    return m, key, signer_pub


def _check_payload(sub: Submission, m: env.Manifest, signer_pub, sha: str, size: int) -> None:
    """The payload's length and SHA-256 against the manifest, and the bidder's signature."""
    try:
        if size != sub.payload_len:
            raise EnvelopeError(Failure.PAYLOAD_DIGEST, "payload length differs from payload_len")
        env.verify_signature(m, bytes.fromhex(sha), signer_pub)
    except EnvelopeError as err:
        raise EnvelopeRefused(err) from None


_UNSET = object()


def _accept(ctx: ServiceContext, sub: Submission, trade: LotTrade, m: env.Manifest, key: SigningKey,
            sha: str, size: int, *, previous=_UNSET) -> Receipt:
    """A fully checked payload becomes the accepted envelope, if the server time is still before the
    deadline: supersede the previous one, audit, receipt — all in the caller's transaction.
    `previous`: the accepted envelope it replaces, when the caller found it under the participation
    lock already (None: there is none)."""
    now = ctx.now()
    if not before_deadline(trade, now):  # the server time at acceptance decides, to the microsecond
        raise _deadline_passed()
    if previous is _UNSET:
        previous = _previous_accepted(ctx, sub)
    if previous is not None:
        previous.status, previous.superseded_at = S.SUPERSEDED, now
        sub.supersedes_id = previous.id
    sub.status, sub.accepted_at, sub.signing_key_id = S.ACCEPTED, now, key.id
    if sub in ctx.session.new:
        insert_new_upload(ctx, sub)
    ctx.session.flush()
    org = held(ctx, Organisation, sub.bidder_org_id)  # loaded before the audit head is locked
    recorded = record(ctx, "offer.submitted", "submission", sub.submission_id, project_id=trade.project_id,
                      embargo_lot_id=trade.lot_id,
                      payload={"lot_code": trade.lot_code, "part": sub.part, "payload_sha256": sha,
                               "payload_len": size, "signing_kid": m.sig_kid.hex(),
                               "supersedes": previous.submission_id if previous else None})
    return receipts.issue(ctx, sub, kind="submitted", lot_code=trade.lot_code, bidder_id=org.credit_code,
                          bidder_name=org.name, recorded=recorded, at=now,
                          supersedes=previous.submission_id if previous else None)


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
    trade = held(ctx, LotTrade, sub.lot_id)
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
