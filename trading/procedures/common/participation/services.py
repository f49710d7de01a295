"""Participation use cases: registration (报名) and the sealed-offer upload protocol of the issue-3
interfaces (start → manifest → chunks → complete; withdraw; self-test; receipts). Used by the JSON
API and the HTML pages alike.

Secrecy (招标投标法 Art. 22): a submission is found only through the caller's own organisation; for
anyone else an existing id gets the same 404 as an unknown one. Every check of a manifest runs before
any payload byte is stored; an envelope becomes "accepted" only after every check, in one
transaction, with its audit entry and signed receipt.

Imports: core, audit, sealing, accounts, projects, procedures.common. Never Flask."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trading.accounts.models import Organisation
from trading.accounts.signing_keys import signing_key_valid_at
from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found
from trading.sealing import envelope as env
from trading.sealing.failures import EnvelopeError, Failure

from ..lots import before_deadline
from ..models import LotTrade
from .base import (  # noqa: F401  (re-exported: callers use services.<name>)
    EnvelopeRefused,
    _bidder_org,
    _deadline_passed,
    _refuse,
    _sealed_trade,
    held,
    opening_key_of,
    own_participation,
)
from .models import Participation, Receipt, Submission, UploadChunk
from .rules import (
    PARTS,
    UPLOAD_CHUNK_BYTES,
    ParticipationStatus,
    SubmissionStatus,
    chunk_size,
)
from .uploads import (  # noqa: F401  (re-exported)
    StartedUpload,
    forget_pending,
    insert_new_upload,
    lock_and_previous,
    own_submission,
    own_submission_with_lot,
    start_submission,
    take_previous,
)

S = SubmissionStatus


# --- registration (报名) ---------------------------------------------------------------------------

def register_for_lot(ctx: ServiceContext, lot_code: str) -> tuple[Participation, bool]:
    """(participation, created). Registering twice answers with the existing registration."""
    org = _bidder_org(ctx)
    trade = _sealed_trade(ctx, lot_code)
    existing = own_participation(ctx, trade, org.id)
    if existing is not None and existing.status == ParticipationStatus.REGISTERED:
        return existing, False
    if not before_deadline(trade, ctx.now()):
        raise _deadline_passed()
    if existing is not None:  # re-registering after withdrawing the registration
        existing.status, existing.registered_at, existing.registered_by = "registered", ctx.now(), ctx.actor.user_id
        part = existing
    else:
        part = Participation(lot_id=trade.lot_id, bidder_org_id=org.id, registered_by=ctx.actor.user_id,
                             registered_at=ctx.now(), status=ParticipationStatus.REGISTERED)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(part)
                ctx.session.flush()
        except IntegrityError:  # the same organisation registered in a concurrent request
            return own_participation(ctx, trade, org.id), False
    record(ctx, "participation.registered", "participation", part.id, project_id=trade.project_id,
           embargo_lot_id=trade.lot_id,
           payload={"lot_code": trade.lot_code})
    _open_deposit_account(ctx, part, trade)
    return part, True


def _open_deposit_account(ctx: ServiceContext, part: Participation, trade: LotTrade) -> None:
    """The bidder's virtual sub-account (保证金) when the lot asks a deposit (interfaces: deposits)."""
    if trade.deposit_fen <= 0:
        return
    from ..deposits.services import open_sub_account  # lazy: the deposits package reads participation

    open_sub_account(ctx, part)


def sealing_info(ctx: ServiceContext, lot_code: str) -> dict:
    """What a sealer needs for a lot (the opening public key is public information)."""
    trade = _sealed_trade(ctx, lot_code)
    key = opening_key_of(ctx, trade)
    bidder_id = None
    if ctx.actor.has("bidder") and ctx.actor.org_id:
        org = ctx.session.get(Organisation, ctx.actor.org_id)
        bidder_id = org.credit_code if org else None
    return {"lot_id": trade.lot_code, "bidder_id": bidder_id,
            "opening_key": {"public": env.b64(bytes(key.public_raw)), "kid": env.b64(bytes(key.kid))},
            "deadline_at": trade.deadline_at, "server_now": ctx.now(), "max_part_bytes": trade.max_part_bytes,
            "upload_chunk_bytes": UPLOAD_CHUNK_BYTES, "parts": list(PARTS)}


# --- the upload protocol ----------------------------------------------------------------------------

def _open_upload(ctx: ServiceContext, sid: str) -> tuple[Submission, LotTrade]:
    sub = own_submission(ctx, sid, lock=True, create=True)
    return sub, check_open(ctx, sub)


def check_open(ctx: ServiceContext, sub: Submission) -> LotTrade:
    """The lot of an upload that still takes data: uploading, before the deadline (server time)."""
    if sub.status != S.UPLOADING:
        raise Conflict("upload.closed", "该上传已完成或已撤回，请重新开始一次上传",
                       "This upload is finished or withdrawn; start a new one")
    trade = held(ctx, LotTrade, sub.lot_id)
    if not before_deadline(trade, ctx.now()):
        raise _deadline_passed()
    return trade


def expected_context(ctx: ServiceContext, sub: Submission, trade: LotTrade) -> env.Context:
    org = held(ctx, Organisation, sub.bidder_org_id)
    return env.Context(trade.lot_code, org.credit_code, sub.part, sub.submission_id)


def _check_manifest(ctx: ServiceContext, sub: Submission, trade: LotTrade, m: env.Manifest):
    """Every check that needs no payload byte, in the I15 order; returns the valid signing key."""
    if m.context != expected_context(ctx, sub, trade):
        raise _refuse(Failure.CONTEXT_MISMATCH, "the envelope is bound to another lot/bidder/part/upload",
                      "密封文件绑定的标段、投标人、部分或上传编号与本次上传不符")
    if m.recipients[0].kid != bytes(opening_key_of(ctx, trade).kid):
        raise _refuse(Failure.KID_MISMATCH, "the first recipient is not the lot's opening key",
                      "第一个接收方不是本标段的开标公钥，请刷新后重新加密")
    key = signing_key_valid_at(ctx, sub.bidder_org_id, m.sig_kid, ctx.now())
    if key is None:
        raise _refuse(Failure.SIGNER_MISMATCH, "sig.kid is no registered, unrevoked signing key of your organisation",
                      "签名密钥未在本单位登记或已吊销，请先在“签名密钥”页面登记")
    if m.payload_len > trade.max_part_bytes:
        raise _refuse(Failure.MANIFEST, "payload_len over the lot's limit",
                      f"密封文件超过本标段单部分上限（{trade.max_part_bytes // (1024 * 1024)} MiB）",
                      max_part_bytes=trade.max_part_bytes)
    if not _fits_some_layout(m.payload_len):
        raise _refuse(Failure.CHUNK_LAYOUT, "payload_len does not fit the chunk layout",
                      "payload_len 与分块结构不符")
    return key


def _fits_some_layout(payload_len: int) -> bool:
    for log2 in range(env.CHUNK_LOG2_MIN, env.CHUNK_LOG2_MAX + 1):
        try:
            env.chunk_lengths(payload_len, log2)
            return True
        except EnvelopeError:
            continue
    return False


def put_manifest(ctx: ServiceContext, sid: str, raw: bytes) -> Submission:
    """The manifest of an upload, checked before anything is stored. The first use of an issued id
    makes its row here, only once the manifest has passed (offer.upload_started)."""
    with ctx.session.no_autoflush:
        sub, trade = _open_upload(ctx, sid)
        try:
            apply_manifest(ctx, sub, trade, raw, flush=False)
        except BaseException:
            forget_pending(ctx, sub)
            raise
    ctx.cache.pop(("participation.previous", sid), None)
    made = sub in ctx.session.new
    if made:
        insert_new_upload(ctx, sub)
    ctx.session.flush()
    if made:
        record(ctx, "offer.upload_started", "submission", sid, project_id=trade.project_id,
               embargo_lot_id=trade.lot_id, payload={"lot_code": trade.lot_code, "part": sub.part})
    return sub


def apply_manifest(ctx: ServiceContext, sub: Submission, trade: LotTrade, raw: bytes, *, flush: bool = True):
    """put_manifest on an open upload (also the first step of completion.put_envelope, the
    one-request upload, which flushes once at its end: flush=False); returns the signing key that is
    valid now."""
    try:
        m = env.parse_manifest(raw)
    except EnvelopeError as err:
        raise EnvelopeRefused(err, f"清单（manifest）格式不正确：{err.detail}") from None
    key = _check_manifest(ctx, sub, trade, m)
    normal = m.to_json()
    if sub.manifest is not None and sub.manifest != normal:
        has_chunks = ctx.session.execute(select(UploadChunk.id).where(UploadChunk.submission_pk == sub.id)).first()
        if has_chunks:
            raise Conflict("upload.manifest_conflict", "已开始上传数据，不能更换清单；请重新开始一次上传",
                           "Chunks have arrived already; the manifest cannot change; start a new upload")
    sub.manifest, sub.payload_len, sub.payload_sha256 = normal, m.payload_len, m.payload_sha256.hex()
    sub.signing_key_id = key.id
    if flush:
        ctx.session.flush()
    return key


def put_chunk(ctx: ServiceContext, sid: str, index: int, data: bytes | Callable[[int], bytes]
              ) -> tuple[Submission, int]:
    """(submission, chunks received). The same bytes again are accepted (idempotent); other bytes for
    a stored index are a conflict. `data` may be a reader `read(limit) -> bytes` (the API's request
    body): called once the submission is known to be the caller's, with its upload_chunk_bytes, so
    that the submission is selected (and locked) once per request, not twice."""
    sub = own_submission(ctx, sid, lock=True)
    if callable(data):
        data = data(sub.upload_chunk_bytes)
    check_open(ctx, sub)
    stored, digest = check_chunk(ctx, sub, index, data)
    store = get_store()
    if stored is None or not store.stage_exists(sub.submission_id, str(index)):
        store.stage_put(sub.submission_id, str(index), data)
    if stored is None:
        add_chunk_row(ctx, sub, index, data, digest)
    return sub, received_count(ctx, sub)


def check_chunk(ctx: ServiceContext, sub: Submission, index: int, data: bytes, *, none_stored: bool = False
                ) -> tuple[UploadChunk | None, str]:
    """Every check of chunk `index` of an open upload, before its bytes are stored: returns (the row
    already recorded for that index, or None; the chunk's SHA-256 hex). `none_stored`: the caller
    knows no chunk can be recorded yet (the manifest arrived in this request), so none is looked up."""
    if sub.manifest is None:
        raise Conflict("upload.manifest_first", "请先上传清单（manifest），再上传数据块",
                       "Send the manifest before the chunks")
    size = chunk_size(index, sub.payload_len, sub.upload_chunk_bytes)
    if size is None:
        raise InvalidInput("upload.chunk_index", f"数据块序号 {index} 超出范围", f"Chunk index {index} is out of range")
    if len(data) != size:
        raise InvalidInput("upload.chunk_size", f"数据块 {index} 应为 {size} 字节，收到 {len(data)} 字节",
                           f"Chunk {index} must be {size} bytes, got {len(data)}", details={"expected": size})
    if index == 0:  # the header arrives with the first chunk: refuse a bad layout before storing it
        try:
            log2, _ = env.read_header(data)
            env.chunk_lengths(sub.payload_len, log2)
        except EnvelopeError as err:
            raise EnvelopeRefused(err) from None
    digest = hashlib.sha256(data).hexdigest()
    if none_stored:
        return None, digest
    stored = ctx.session.execute(select(UploadChunk).where(UploadChunk.submission_pk == sub.id,
                                                           UploadChunk.index == index)).scalar_one_or_none()
    if stored is not None and stored.sha256 != digest:
        raise Conflict("upload.chunk_conflict", f"数据块 {index} 已收到且内容不同；同一序号不能更换内容",
                       f"Chunk {index} was received with different bytes; a stored chunk cannot change")
    return stored, digest


def add_chunk_row(ctx: ServiceContext, sub: Submission, index: int, data: bytes, digest: str, *,
                  flush: bool = True) -> UploadChunk:
    row = UploadChunk(submission=sub, index=index, size=len(data), sha256=digest, received_at=ctx.now())
    ctx.session.add(row)
    if flush:
        ctx.session.flush()
    return row


def received_count(ctx: ServiceContext, sub: Submission) -> int:
    return len(received_indexes(ctx, sub))


def received_indexes(ctx: ServiceContext, sub: Submission) -> list[int]:
    return list(ctx.session.execute(select(UploadChunk.index).where(UploadChunk.submission_pk == sub.id)
                                    .order_by(UploadChunk.index)).scalars())


def latest_receipt(ctx: ServiceContext, sid: str) -> Receipt | None:
    sub = own_submission(ctx, sid)
    return sub.receipts[-1] if sub.receipts else None


def own_receipt(ctx: ServiceContext, public_id: str) -> Receipt:
    """A receipt of the caller's organisation by its public id; 404 otherwise."""
    if not (ctx.actor.has("bidder") and ctx.actor.org_id) or not isinstance(public_id, str) or len(public_id) > 32:
        raise not_found("回执", "receipt")
    receipt = ctx.session.execute(select(Receipt).where(Receipt.public_id == public_id)).scalar_one_or_none()
    if receipt is None or receipt.submission.bidder_org_id != ctx.actor.org_id:
        raise not_found("回执", "receipt")
    return receipt
