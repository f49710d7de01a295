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
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, make_transient_to_detached

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.accounts.signing_keys import signing_key_valid_at
from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.sealing import envelope as env
from trading.sealing.failures import EnvelopeError, Failure

from ..lots import before_deadline, get_trade
from ..models import LotTrade
from ..opening.models import OpeningKey
from . import receipts, sids
from .models import Participation, Receipt, Submission, UploadChunk
from .rules import (
    PARTS,
    UPLOAD_CHUNK_BYTES,
    ParticipationStatus,
    SubmissionStatus,
    chunk_size,
    is_submission_id,
)

S = SubmissionStatus


class EnvelopeRefused(InvalidInput):
    """An envelope check failed: 422 with code "envelope.<kind>" (e.g. envelope.kid_mismatch)."""

    def __init__(self, err: EnvelopeError, zh: str | None = None, details: dict | None = None):
        short = err.kind.value.split(".", 1)[1]
        super().__init__(f"envelope.{short}", zh or f"密封文件未通过检查（{short}）：{err.detail}",
                         f"The sealed envelope was refused ({short}): {err.detail}",
                         details={"failure": err.kind.value, **(details or {})})


def _refuse(kind: Failure, detail: str, zh: str, **details) -> EnvelopeRefused:
    return EnvelopeRefused(EnvelopeError(kind, detail), zh, details)


def _deadline_passed() -> RuleViolation:
    return RuleViolation("offer.deadline_passed", "已过投标截止时间（以服务器时间为准），不再接受递交、修改或撤回",
                         "The offer deadline has passed (server time); nothing can be submitted, replaced or withdrawn")


def held(ctx: ServiceContext, model, pk):
    """ctx.session.get(model, pk), kept referenced for the rest of the request (ctx.cache). The
    session's identity map holds rows weakly: a row one step of a request loaded and let go (the
    bidder's organisation, the lot) is otherwise SELECTed again by the next step's session.get."""
    key = ("participation.held", model.__name__, pk)
    row = ctx.cache.get(key)
    if row is None or row not in ctx.session:
        row = ctx.session.get(model, pk)
        if row is not None:
            ctx.cache[key] = row
    return row


def _bidder_org(ctx: ServiceContext) -> Organisation:
    ctx.require(*roles_for("offer.participate"))
    org = held(ctx, Organisation, ctx.actor.org_id) if ctx.actor.org_id else None
    if org is None:
        raise InvalidInput("offer.no_org", "当前账号不属于任何单位", "Your account belongs to no organisation")
    return org


def _sealed_trade(ctx: ServiceContext, lot_code: str, *, lock: bool = False) -> LotTrade:
    trade = get_trade(ctx, lot_code, lock=lock)
    if not trade.sealed:
        raise not_found("标段", "Lot")
    ctx.cache[("participation.held", "LotTrade", trade.lot_id)] = trade  # see held()
    return trade


def opening_key_of(ctx: ServiceContext, trade: LotTrade) -> OpeningKey:
    # the manifest check and the layout check both ask for it: once per request (ctx.cache, see held())
    cache_key = ("participation.opening_key", trade.lot_id)
    key = ctx.cache.get(cache_key)
    if key is not None and key in ctx.session:
        return key
    key = ctx.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one_or_none()
    if key is not None:
        ctx.cache[cache_key] = key
    if key is None:
        raise Conflict("offer.no_opening_key", "本标段的开标密钥尚未生成，暂不能递交密封文件，请联系交易中心",
                       "This lot has no opening key yet; sealed offers cannot be submitted; contact the centre")
    return key


def own_participation(ctx: ServiceContext, trade: LotTrade, org_id: int, *, lock: bool = False) -> Participation | None:
    stmt = select(Participation).where(Participation.lot_id == trade.lot_id, Participation.bidder_org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return ctx.session.execute(stmt).scalar_one_or_none()


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


# --- the upload ------------------------------------------------------------------------------------

def own_submission(ctx: ServiceContext, sid: str, *, lock: bool = False, create: bool = False) -> Submission:
    """The caller organisation's submission; the same 404 for another's id as for an unknown one.

    An id issued to the caller (start_submission) that has no row yet: with `create` (the upload's
    first write) its new row is added to the session, under the participation lock, for the caller
    to flush once its checks have passed (or to drop with forget_pending); without (a read) an unsaved
    row in its initial state answers, so that reading changes nothing."""
    if not (ctx.actor.has("bidder") and ctx.actor.org_id and is_submission_id(sid)):
        raise not_found("投标文件", "submission")
    stmt = select(Submission).where(Submission.submission_id == sid)
    if lock:
        stmt = stmt.with_for_update()
    sub = ctx.session.execute(stmt).scalar_one_or_none()
    if sub is None:
        return _issued_upload(ctx, sid, persist=create)
    if sub.bidder_org_id != ctx.actor.org_id:
        raise not_found("投标文件", "submission")
    return sub


#: the upload, its lot and the lot's opening key in one SELECT, the upload's row locked (the
#: one-request upload's first step: three lookups it would otherwise make one by one)
_UPLOAD_WITH_LOT = (select(Submission, LotTrade, OpeningKey)
                    .join(LotTrade, LotTrade.lot_id == Submission.lot_id)
                    .outerjoin(OpeningKey, OpeningKey.lot_id == Submission.lot_id)
                    .where(Submission.submission_id == bindparam("sid"))
                    .with_for_update(of=Submission))


def _cache_lot(ctx: ServiceContext, trade: LotTrade, key: OpeningKey | None) -> None:
    ctx.cache[("participation.held", "LotTrade", trade.lot_id)] = trade  # see held()
    if key is not None:
        ctx.cache[("participation.opening_key", trade.lot_id)] = key


def own_submission_with_lot(ctx: ServiceContext, sid: str) -> Submission:
    """own_submission(lock=True), with its lot and opening key loaded into this request's cache
    (held(), opening_key_of()) by the same statement; an issued id's new row as with create=True."""
    if not (ctx.actor.has("bidder") and ctx.actor.org_id and is_submission_id(sid)):
        raise not_found("投标文件", "submission")
    row = ctx.session.execute(_UPLOAD_WITH_LOT, {"sid": sid}).one_or_none()
    if row is None:
        return _issued_upload(ctx, sid, persist=True)
    if row[0].bidder_org_id != ctx.actor.org_id:
        raise not_found("投标文件", "submission")
    sub, trade, key = row
    _cache_lot(ctx, trade, key)
    return sub


#: the caller's registrations with their lots and opening keys: where an issued id may belong
_OWN_REGISTRATIONS = (select(Participation, LotTrade, OpeningKey)
                      .join(LotTrade, LotTrade.lot_id == Participation.lot_id)
                      .outerjoin(OpeningKey, OpeningKey.lot_id == Participation.lot_id)
                      .where(Participation.bidder_org_id == bindparam("org"), LotTrade.sealed.is_(True)))


def _issued_upload(ctx: ServiceContext, sid: str, *, persist: bool) -> Submission:
    """The row of an id issued to the caller and not used yet; 404 when it was not issued to the
    caller. persist=False: unsaved (for reads); True: added to the session under the participation
    lock, the accepted envelope it would replace noted for take_previous()."""
    key, org_id = receipts.sid_key(), ctx.actor.org_id
    found = next(((row, p) for row in ctx.session.execute(_OWN_REGISTRATIONS, {"org": org_id}) for p in PARTS
                  if sids.issued_to(key, sid, org_id, row[1].lot_code, p)), None)
    if found is None:
        raise not_found("投标文件", "submission")
    (part_row, trade, opening_key), part = found
    _cache_lot(ctx, trade, opening_key)
    sub = Submission(submission_id=sid, lot_id=trade.lot_id, participation_id=part_row.id, bidder_org_id=org_id,
                     part=part, status=S.UPLOADING, upload_chunk_bytes=UPLOAD_CHUNK_BYTES,
                     started_by=ctx.actor.user_id, started_at=ctx.now())
    if not persist:
        return sub
    if part_row.status != ParticipationStatus.REGISTERED:
        raise RuleViolation("offer.not_registered", "请先报名本标段，再递交投标文件",
                            "Register for this lot before submitting an offer")
    previous = lock_and_previous(ctx, sub)
    ctx.session.add(sub)  # inserted by insert_new_upload, which refuses an id made meanwhile
    ctx.cache[("participation.previous", sid)] = previous
    return sub


def take_previous(ctx: ServiceContext, sub: Submission) -> Submission | None:
    """The accepted envelope `sub` would replace, with the participation locked: as found when the
    row was made in this request, else looked up now."""
    key = ("participation.previous", sub.submission_id)
    return ctx.cache.pop(key) if key in ctx.cache else lock_and_previous(ctx, sub)


def forget_pending(ctx: ServiceContext, sub: Submission) -> None:
    """A refused first use of an issued id leaves nothing behind, even in a session that goes on
    (a request rolls back anyway): its unsaved row and chunk rows leave the session."""
    ctx.cache.pop(("participation.previous", sub.submission_id), None)
    for obj in [*sub.chunks, sub]:
        if obj in ctx.session.new:
            ctx.session.expunge(obj)


_SUBMISSION_COLUMNS = tuple(c.key for c in Submission.__table__.columns if c.key != "id")
#: INSERT … ON CONFLICT (submission_id) DO NOTHING RETURNING id, per dialect: a second request with
#: the same new id (a client's retry racing its first try) inserts nothing instead of failing
_INSERT_SUBMISSION = {
    name: (dialect_insert(Submission.__table__).values(**{c: bindparam(c) for c in _SUBMISSION_COLUMNS})
           .on_conflict_do_nothing(index_elements=["submission_id"]).returning(Submission.__table__.c.id))
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_CHUNK_COLUMNS = ("submission_pk", "index", "size", "sha256", "received_at")
_INSERT_CHUNK = (UploadChunk.__table__.insert().values(**{c: bindparam(c) for c in _CHUNK_COLUMNS})
                 .returning(UploadChunk.__table__.c.id))


def insert_new_upload(ctx: ServiceContext, sub: Submission) -> None:
    """The new row of an issued id (made by own_submission(create=True)) and its chunk rows, inserted
    by prebuilt statements; the rows then stay in the session as persistent, as if flushed (the unit
    of work would cost an upload more than its checks). Another request that made the row first
    (a retry racing its first try): 409, and this request's rows leave the session."""
    chunks = list(sub.chunks)
    for obj in (*chunks, sub):
        ctx.session.expunge(obj)
    insert = _INSERT_SUBMISSION[ctx.session.get_bind().dialect.name]
    new_id = ctx.session.execute(insert, {c: getattr(sub, c) for c in _SUBMISSION_COLUMNS}).scalar_one_or_none()
    if new_id is None:
        ctx.cache.pop(("participation.previous", sub.submission_id), None)
        raise Conflict("upload.in_progress", "这次上传正由另一请求处理，请查询上传状态后再继续",
                       "Another request is handling this upload; read its state, then continue")
    sub.id = new_id
    for chunk in chunks:
        chunk.submission_pk = sub.id
        chunk.id = ctx.session.execute(_INSERT_CHUNK, {c: getattr(chunk, c) for c in _CHUNK_COLUMNS}).scalar_one()
        make_transient_to_detached(chunk)
    make_transient_to_detached(sub)
    ctx.session.add(sub)  # with its chunk rows (cascade), persistent: nothing left to flush


_other = aliased(Submission)
#: the participation row locked (one writer per bidder and lot: replacing and withdrawing never race
#: each other), with the accepted envelope of the same part, if any, in the same statement
_LOCK_AND_PREVIOUS = (
    select(Participation.id, _other)
    .outerjoin(_other, and_(_other.participation_id == Participation.id, _other.part == bindparam("part"),
                            _other.status == S.ACCEPTED, _other.submission_id != bindparam("sid")))
    .where(Participation.id == bindparam("pid"))
    .with_for_update(of=Participation))


def lock_and_previous(ctx: ServiceContext, sub: Submission) -> Submission | None:
    """Lock the upload's participation; the accepted envelope `sub` would replace (or None)."""
    row = ctx.session.execute(_LOCK_AND_PREVIOUS, {"part": sub.part, "sid": sub.submission_id,
                                                   "pid": sub.participation_id}).one()
    return row[1]


@dataclass(frozen=True)
class StartedUpload:
    """An upload the server has issued an id for (nothing is stored until the id is used)."""
    submission_id: str
    lot_id: int
    part: str
    upload_chunk_bytes: int
    context: env.Context


#: the lot, the caller's registration for it and its opening key, in one SELECT
_LOT_FOR_START = (select(LotTrade, Participation, OpeningKey)
                  .outerjoin(Participation, and_(Participation.lot_id == LotTrade.lot_id,
                                                 Participation.bidder_org_id == bindparam("org")))
                  .outerjoin(OpeningKey, OpeningKey.lot_id == LotTrade.lot_id)
                  .where(LotTrade.lot_code == bindparam("code")))


def start_submission(ctx: ServiceContext, lot_code: str, part: str) -> StartedUpload:
    """Issue a submission id for an upload of `part` to the lot: the checks a start has always made
    (bidder, part, sealed lot, registration, deadline, opening key), then an id bound to the caller,
    the lot and the part (sids.py). Read-only: the row and its audit entry come with the first upload."""
    org = _bidder_org(ctx)
    if part not in PARTS:
        raise InvalidInput("offer.part_invalid", "part 须为 price 或 documents", "part must be price or documents",
                           field="part")
    row = ctx.session.execute(_LOT_FOR_START, {"org": org.id, "code": lot_code}).one_or_none()
    if row is None or not row[0].sealed:
        raise not_found("标段", "Lot")
    trade, participation, opening_key = row
    _cache_lot(ctx, trade, opening_key)
    if participation is None or participation.status != ParticipationStatus.REGISTERED:
        raise RuleViolation("offer.not_registered", "请先报名本标段，再递交投标文件",
                            "Register for this lot before submitting an offer")
    if not before_deadline(trade, ctx.now()):
        raise _deadline_passed()
    opening_key_of(ctx, trade)
    sid = sids.issue(receipts.sid_key(), org.id, trade.lot_code, part)
    return StartedUpload(sid, trade.lot_id, part, UPLOAD_CHUNK_BYTES,
                         env.Context(trade.lot_code, org.credit_code, part, sid))


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
