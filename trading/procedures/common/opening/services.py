"""Opening every accepted envelope at k valid shares, the opening record (开标记录), bidders'
confirmations and disputes, and 流标 (design/sealing.md, "Opening key and custodians"; rules.md §2.3).
The ceremony is in ceremony.py, share submission in shares.py; their names are re-exported at the end
of this module, the one the views, the API and the lots module call.

The opening key's private half d exists only inside `open_lot` (rebuilt from k accepted shares, used,
dropped); it is never stored or logged. Accepted share values are wiped as soon as the lot is opened."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from trading.accounts.models import Organisation, SigningKey
from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core import blobs
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from trading.core.events import publish
from trading.core.money import format_yuan, to_capitals
from trading.projects.models import Lot, Project
from trading.reference.settings import get_setting
from trading.sealing import envelope
from trading.sealing.failures import EnvelopeError

from ..lots import LotStatus, get_trade
from ..models import LotTrade
from ..participation.models import Submission
from . import rules
from .ceremony import channel, get_opening_key
from .models import CustodianShare, OpeningKey, OpeningRecord, OpeningResult, RecordResponse

# --- opening ------------------------------------------------------------------------------------------

@dataclass
class _Bidder:
    org_id: int
    name: str
    credit_code: str
    first_at: datetime | None = None
    parts: dict[str, dict] = field(default_factory=dict)


def _files_of(plain: bytes) -> list[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(plain)) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()][:1000]
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


@dataclass(frozen=True)
class OpeningExtra:
    """What an opening hook adds to the record: `public` under body[name] (public like the record, so
    never an amount that must stay secret), and `failure` ({"code", "zh", "en"}) when the lot fails
    for it although enough offers are valid (招标出让: no valid offer reaches the reserve price)."""
    name: str
    public: dict
    failure: dict | None = None


#: a procedure that sealed more than offers to the lot's key (招标出让's reserve price) opens it inside
#: open_lot with the same rebuilt key — no second share collection. Called as
#: hook(ctx, trade, key, private_key, now, valid) with valid = [(bidder org id, price fen)] of the valid
#: offers; returns an OpeningExtra or None (not its lot). Registered by the procedure package.
_opening_hooks: list[Callable[..., OpeningExtra | None]] = []


def on_opening(fn: Callable[..., OpeningExtra | None]) -> None:
    if fn not in _opening_hooks:
        _opening_hooks.append(fn)


#: what a procedure adds to the opening record page for the viewer: fn(ctx, trade) → dict or None, merged
#: (招标出让: the opened reserve price's amount, only to those who may see it; the record itself is public)
_record_view_hooks: list[Callable[[ServiceContext, LotTrade], dict | None]] = []


def on_record_view(fn: Callable[[ServiceContext, LotTrade], dict | None]) -> None:
    if fn not in _record_view_hooks:
        _record_view_hooks.append(fn)


def record_view_extras(ctx: ServiceContext, trade: LotTrade) -> dict:
    out: dict = {}
    for fn in _record_view_hooks:
        out.update(fn(ctx, trade) or {})
    return out


def open_lot(ctx: ServiceContext, lot_code: str) -> OpeningRecord:
    """Rebuild d from k accepted shares, check it against Q, open every accepted envelope (price parts
    first), write the results and the opening record, count valid offers (流标 below the minimum),
    wipe the accepted share values. One transaction; batch queries; one summary audit entry."""
    ctx.require(*(set(roles_for("opening.submit_share")) | set(roles_for("opening.host"))))
    trade = get_trade(ctx, lot_code, lock=True)
    if trade.status != LotStatus.OPENING:
        raise Conflict("opening.not_open", "该标段不在开标阶段", "The lot is not being opened")
    key = get_opening_key(ctx, trade.lot_id)
    from .shares import rebuild_key  # shares imports this module lazily (submit_share → open_lot)

    private, accepted = rebuild_key(ctx, key)
    now = ctx.now()
    chan = channel(lot_code)
    publish(ctx, chan, "opening:stage", {"stage": "decrypting"})

    subs = list(ctx.session.execute(
        select(Submission.submission_id, Submission.bidder_org_id, Submission.part, Submission.manifest,
               Submission.payload_sha256, Submission.payload_len, Submission.signing_key_id, Submission.accepted_at)
        .where(Submission.lot_id == trade.lot_id, Submission.status == "accepted")).all())
    subs.sort(key=lambda s: (0 if s.part == "price" else 1, s.accepted_at or now, s.submission_id))
    total = len(subs)
    publish(ctx, chan, "decrypt:status", {"done": 0, "total": total})
    org_ids = {s.bidder_org_id for s in subs}
    orgs = {o.id: o for o in ctx.session.execute(
        select(Organisation.id, Organisation.name, Organisation.credit_code)
        .where(Organisation.id.in_(org_ids or {-1}))).all()}
    key_rows = {r.id: bytes(r.public_raw) for r in ctx.session.execute(
        select(SigningKey.id, SigningKey.public_raw)
        .where(SigningKey.id.in_({s.signing_key_id for s in subs if s.signing_key_id} or {-1}))).all()}
    signer_cache: dict[int, object] = {}
    store = blobs.get_store() if subs else None
    opening_kid = bytes(key.kid)
    results: list[dict] = []
    bidders: dict[int, _Bidder] = {}
    for sub in subs:
        org = orgs[sub.bidder_org_id]
        bidder = bidders.get(sub.bidder_org_id)
        if bidder is None:
            bidder = bidders[sub.bidder_org_id] = _Bidder(org.id, org.name, org.credit_code)
        row = {"lot_id": trade.lot_id, "submission_id": sub.submission_id, "bidder_org_id": sub.bidder_org_id,
               "part": sub.part, "payload_sha256": sub.payload_sha256 or "", "outcome": "opened",
               "failure_kind": None, "failure_category": None, "consequence": None, "price_fen": None,
               "duration_days": None, "quality": None, "remarks": None, "plaintext_sha256": None,
               "plaintext_len": None, "files": None, "opened_at": now}
        kind = None
        plain = None
        try:
            signer = signer_cache.get(sub.signing_key_id)
            if signer is None:
                signer = signer_cache[sub.signing_key_id] = envelope.load_public(key_rows[sub.signing_key_id])
            payload = store.read(sub.payload_sha256)
            plain = envelope.open_envelope(
                sub.manifest, payload, private, signer_pub=signer, opening_kid=opening_kid,
                expected=envelope.Context(lot_code, org.credit_code, sub.part, sub.submission_id))
        except EnvelopeError as exc:
            kind = exc.kind.value
        except blobs.BlobMissing:
            kind = "platform.blob_missing"
        except (KeyError, ValueError, TypeError):
            kind = "platform.signing_key"
        if kind is None and sub.part == "price":
            try:
                sheet = rules.parse_price_sheet(plain)
                row.update(price_fen=sheet.price_fen, duration_days=sheet.duration_days, quality=sheet.quality,
                           remarks=sheet.remarks)
            except rules.PriceSheetError as exc:
                kind = exc.code
        elif kind is None:
            row.update(plaintext_sha256=store.put_bytes(plain), plaintext_len=len(plain), files=_files_of(plain))
        if kind is not None:
            cause = rules.cause_of(kind)
            row.update(outcome="failed", failure_kind=kind, failure_category=cause.value,
                       consequence=rules.consequence_of(cause).value)
        plain = None
        results.append(row)
        if bidder.first_at is None or (sub.accepted_at and sub.accepted_at < bidder.first_at):
            bidder.first_at = sub.accepted_at
        bidder.parts[sub.part] = row
    # what else the owner sealed to this key (招标出让's reserve price) opens with the same key, now
    offers = [(b.org_id, (b.parts.get("price") or {}).get("price_fen")) for b in bidders.values()
              if rules.is_valid_offer({p: r["outcome"] for p, r in b.parts.items()})]
    extras = [x for x in (hook(ctx, trade, key, private, now, offers) for hook in _opening_hooks) if x is not None]
    del private
    if results:
        ctx.session.execute(insert(OpeningResult), results)
    opened_count = sum(1 for r in results if r["outcome"] == "opened")
    publish(ctx, chan, "decrypt:status", {"done": total, "total": total, "opened": opened_count,
                                          "failed": total - opened_count})

    # wipe the share values: the key cannot be rebuilt again from the database
    ctx.session.execute(update(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                        .values(accepted_y=None))
    body = _record_body(ctx, trade, key, accepted, bidders, now, extras)
    valid, outcome = body["valid_offers"], body["outcome"]
    audit_opened = record(ctx, "opening.opened", "lot", trade.lot_id, project_id=trade.project_id, payload={
        "lot_code": lot_code, "kid": opening_kid.hex(), "shares": [s.x for s in accepted],
        "custodians": [s.custodian_user_id for s in accepted], "envelopes": total, "opened": opened_count,
        "failed": total - opened_count,
        "digests": [[r["submission_id"], r["part"], r["payload_sha256"], r["outcome"]] for r in results]})
    digest = rules.record_digest(body)
    minutes = get_setting(ctx, "opening.record_confirm_minutes")
    entry = record(ctx, "opening.record_published", "lot", trade.lot_id, project_id=trade.project_id,
                   payload={"lot_code": lot_code, "sha256": digest, "valid_offers": valid, "outcome": outcome,
                            "opened_seq": audit_opened.seq})
    rec = OpeningRecord(lot_id=trade.lot_id, body=body, sha256=digest, outcome=outcome, valid_offers=valid,
                        created_at=now, respond_until=now + timedelta(minutes=minutes), audit_seq=entry.seq)
    ctx.session.add(rec)
    trade.status = LotStatus.OPENED if outcome == "opened" else LotStatus.FAILED
    trade.status_changed_at = now
    if outcome == "failed":
        record(ctx, "lot.failed", "lot", trade.lot_id, project_id=trade.project_id,
               payload={"lot_code": lot_code, "valid_offers": valid, "min_valid_offers": trade.min_valid_offers,
                        "reason": (body.get("failure") or {}).get("code", "too_few_valid_offers"),
                        "next_steps": [s["code"] for s in body["next_steps"]]})
    ctx.session.flush()
    publish(ctx, chan, "opening:record", {"record_id": rec.id})
    publish(ctx, chan, "opening:stage", {"stage": outcome})
    return rec


def _record_body(ctx: ServiceContext, trade: LotTrade, key: OpeningKey, accepted: list[CustodianShare],
                 bidders: dict[int, _Bidder], now: datetime, extras: list[OpeningExtra] = ()) -> dict:
    lot = ctx.session.get(Lot, trade.lot_id)
    project = ctx.session.get(Project, trade.project_id)
    ordered = sorted(bidders.values(), key=lambda b: (b.first_at or now, b.credit_code))
    rows = []
    valid = 0
    for no, b in enumerate(ordered, start=1):
        parts_state = {p: r["outcome"] for p, r in b.parts.items()}
        ok = rules.is_valid_offer(parts_state)
        valid += ok
        price = b.parts.get("price") or {}
        fen = price.get("price_fen")
        rows.append({
            "no": no, "name": b.name, "credit_code": b.credit_code, "valid": ok,
            "price_fen": fen, "price_yuan": format_yuan(fen) if fen is not None else None,
            "price_capitals": to_capitals(fen) if fen is not None else None,
            "duration_days": price.get("duration_days"), "quality": price.get("quality"),
            "remarks": price.get("remarks"),
            "parts": [{"part": p, "submission_id": r["submission_id"], "payload_sha256": r["payload_sha256"],
                       "outcome": r["outcome"], "files": r["files"],
                       "failure": None if r["outcome"] == "opened" else {
                           "kind": r["failure_kind"], "category": r["failure_category"],
                           "consequence": r["consequence"]}}
                      for p, r in sorted(b.parts.items(), key=lambda i: 0 if i[0] == "price" else 1)],
        })
    outcome = "opened" if valid >= trade.min_valid_offers else "failed"
    failure = next((x.failure for x in extras if x.failure is not None), None) if outcome == "opened" else None
    if failure is not None:
        outcome = "failed"
    body = {
        "v": 1, "lot_code": trade.lot_code, "lot_name": lot.name, "project_code": project.trade_code,
        "project_name": project.name, "procedure": trade.procedure,
        "deadline_at": rfc3339(trade.deadline_at) if trade.deadline_at else None,
        "opening_at": rfc3339(trade.opening_at) if trade.opening_at else None, "opened_at": rfc3339(now),
        "opening_key": {"kid": bytes(key.kid).hex(), "k": key.k, "n": key.n,
                        "shares": sorted(s.x for s in accepted)},
        "bidders": rows, "valid_offers": valid, "min_valid_offers": trade.min_valid_offers, "outcome": outcome,
        "next_steps": [] if outcome == "opened" else [
            {"code": s.code, "zh": s.zh, "en": s.en, "basis": s.basis} for s in rules.next_steps(trade.procedure)],
    }
    for x in extras:
        body[x.name] = x.public
    if failure is not None:
        body["failure"] = failure
    return body


# --- the record ---------------------------------------------------------------------------------------

def get_record(ctx: ServiceContext, lot_code: str) -> OpeningRecord:
    """The opening record: public once it exists (招标投标法 Art. 36; 20号令 Art. 32); 404 before."""
    trade = get_trade(ctx, lot_code)
    rec = ctx.session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one_or_none()
    if rec is None:
        raise not_found("开标记录", "Opening record")
    return rec


def record_responses(ctx: ServiceContext, record_id: int) -> list[RecordResponse]:
    return list(ctx.session.execute(select(RecordResponse).where(RecordResponse.record_id == record_id)
                                    .order_by(RecordResponse.id)).scalars())


def _bidder_no(rec: OpeningRecord, credit_code: str) -> int | None:
    for row in rec.body.get("bidders", []):
        if row["credit_code"] == credit_code:
            return row["no"]
    return None


def respond_to_record(ctx: ServiceContext, lot_code: str, response: str, reason: str = "") -> RecordResponse:
    """A bidder whose envelope was opened (or failed) confirms or disputes the record, once, within the
    window (setting opening.record_confirm_minutes); a dispute needs a reason."""
    ctx.require(*roles_for("opening.record_respond"))
    rec = get_record(ctx, lot_code)
    org = ctx.session.get(Organisation, ctx.actor.org_id)
    no = _bidder_no(rec, org.credit_code) if org else None
    if no is None:
        raise Forbidden("opening.not_a_bidder", "只有开标记录中的投标人可以确认或提出异议",
                        "Only bidders listed in the opening record may confirm or dispute it")
    if response not in ("confirm", "dispute"):
        raise InvalidInput("opening.response", "请选择确认或异议", "Choose confirm or dispute", field="response")
    reason = (reason or "").strip()
    if response == "dispute" and not reason:
        raise InvalidInput("opening.dispute_reason", "提出异议须写明理由", "A dispute needs a reason", field="reason")
    if len(reason) > 2000:
        raise InvalidInput("opening.reason_too_long", "理由至多 2000 字", "The reason may have at most 2000 characters",
                           field="reason")
    now = ctx.now()
    if not rules.may_respond(now, rec.respond_until):
        raise RuleViolation("opening.response_window_closed", "开标记录确认/异议时限已过",
                            "The window to confirm or dispute the opening record has closed",
                            details={"respond_until": rfc3339(rec.respond_until)})
    existing = ctx.session.execute(select(RecordResponse).where(
        RecordResponse.record_id == rec.id, RecordResponse.bidder_org_id == org.id)).scalar_one_or_none()
    if existing is not None:
        raise Conflict("opening.already_responded", "贵单位已对开标记录作出确认或异议",
                       "Your organisation has already responded to the opening record")
    row = RecordResponse(record_id=rec.id, bidder_org_id=org.id, user_id=ctx.actor.user_id, response=response,
                         reason=reason, at=now, ip=(ctx.ip or "")[:45])
    ctx.session.add(row)
    ctx.session.flush()
    trade = get_trade(ctx, lot_code)
    record(ctx, f"opening.record_{'confirmed' if response == 'confirm' else 'disputed'}", "opening_record", rec.id,
           project_id=trade.project_id,
           payload={"lot_code": lot_code, "bidder_no": no, "org_id": org.id, "record_sha256": rec.sha256,
                    "reason": reason})
    publish(ctx, channel(lot_code), "opening:confirmed" if response == "confirm" else "opening:disputed",
            {"bidder_no": no})
    return row


def reply_to_dispute(ctx: ServiceContext, response_id: int, reply: str) -> RecordResponse:
    """The host answers a dispute on the spot (实施条例 Art. 44)."""
    ctx.require(*roles_for("opening.host"))
    row = ctx.session.get(RecordResponse, response_id)
    if row is None or row.response != "dispute":
        raise not_found("异议", "Dispute")
    reply = (reply or "").strip()
    if not reply:
        raise InvalidInput("opening.reply_required", "请填写答复", "Write a reply", field="reply")
    if row.reply is not None:
        raise Conflict("opening.already_replied", "该异议已答复", "The dispute has been answered")
    row.reply, row.replied_by, row.replied_at = reply[:4000], ctx.actor.user_id, ctx.now()
    rec = ctx.session.get(OpeningRecord, row.record_id)
    trade = ctx.session.get(LotTrade, rec.lot_id)
    no = _bidder_no(rec, ctx.session.get(Organisation, row.bidder_org_id).credit_code)
    record(ctx, "opening.dispute_answered", "opening_record", rec.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "response_id": row.id, "bidder_no": no, "reply": row.reply})
    publish(ctx, channel(trade.lot_code), "opening:dispute_resolved", {"bidder_no": no})
    ctx.session.flush()
    return row


# Re-exported here (after open_lot exists: shares.submit_share calls it) so callers keep one module.
from .ceremony import CustodyItem, custody_blob, custody_item, my_custody, run_ceremony  # noqa: E402,F401
from .shares import (  # noqa: E402,F401
    MAX_WRONG_ATTEMPTS,
    WRONG_WINDOW_MINUTES,
    ShareOutcome,
    ShareRefused,
    share_progress,
    submit_share,
)
