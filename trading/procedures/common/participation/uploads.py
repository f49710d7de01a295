"""Which upload a request is about: submission ids issued without a row (start_submission,
sids.py), the row made at the id's first use under the participation lock (own_submission with
create, insert_new_upload with ON CONFLICT DO NOTHING), and the caller-only lookups that answer
another organisation's id with the 404 of an unknown one. Imports: like services.py."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased, make_transient_to_detached

from trading.core.context import ServiceContext
from trading.core.db import cacheable
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.sealing import envelope as env

from ..lots import before_deadline
from ..models import LotTrade
from ..opening.models import OpeningKey
from . import receipts, sids
from .base import _bidder_org, _deadline_passed, opening_key_of
from .models import Participation, Submission, UploadChunk
from .rules import PARTS, UPLOAD_CHUNK_BYTES, ParticipationStatus, SubmissionStatus, is_submission_id

S = SubmissionStatus


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
_INSERT_SUBMISSION_DML = {
    name: (dialect_insert(Submission.__table__).values(**{c: bindparam(c) for c in _SUBMISSION_COLUMNS})
           .on_conflict_do_nothing(index_elements=["submission_id"]).returning(Submission.__table__.c.id))
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
#: the same as cacheable text (a dialect's insert would be compiled again by every upload)
_INSERT_SUBMISSION = {name: cacheable(stmt, name) for name, stmt in _INSERT_SUBMISSION_DML.items()}
_CHUNK_COLUMNS = ("submission_pk", "index", "size", "sha256", "received_at")
_INSERT_CHUNK = (UploadChunk.__table__.insert().values(**{c: bindparam(c) for c in _CHUNK_COLUMNS})
                 .returning(UploadChunk.__table__.c.id))
_new_sub = _INSERT_SUBMISSION_DML["postgresql"].cte("new_sub")
#: PostgreSQL, the one-request upload: the row and its one chunk row in one round trip (the chunk row
#: is selected from the row's insert, so an id made meanwhile inserts neither)
_INSERT_SUBMISSION_WITH_CHUNK = cacheable(
    UploadChunk.__table__.insert()
    .from_select(list(_CHUNK_COLUMNS), select(_new_sub.c.id, *(
        bindparam(f"chunk_{c}", type_=UploadChunk.__table__.c[c].type) for c in _CHUNK_COLUMNS[1:])))
    .returning(UploadChunk.__table__.c.submission_pk, UploadChunk.__table__.c.id)
    .add_cte(_new_sub), "postgresql")


def insert_new_upload(ctx: ServiceContext, sub: Submission) -> None:
    """The new row of an issued id (made by own_submission(create=True)) and its chunk rows, inserted
    by prebuilt statements; the rows then stay in the session as persistent, as if flushed (the unit
    of work would cost an upload more than its checks). Another request that made the row first
    (a retry racing its first try): 409, and this request's rows leave the session."""
    chunks = list(sub.chunks)
    for obj in (*chunks, sub):
        ctx.session.expunge(obj)
    dialect = ctx.session.get_bind().dialect.name
    values = {c: getattr(sub, c) for c in _SUBMISSION_COLUMNS}
    if dialect == "postgresql" and len(chunks) == 1:
        c0 = chunks.pop()
        row = ctx.session.execute(_INSERT_SUBMISSION_WITH_CHUNK, {
            **values, **{f"chunk_{c}": getattr(c0, c) for c in _CHUNK_COLUMNS[1:]}}).one_or_none()
        new_id = row.submission_pk if row is not None else None
        if row is not None:
            c0.submission_pk, c0.id = row.submission_pk, row.id
            make_transient_to_detached(c0)
    else:
        new_id = ctx.session.execute(_INSERT_SUBMISSION[dialect], values).scalar_one_or_none()
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
