"""The browser sealing widget's protocol for round quotes (static/js/sealing/, pointed at
/api/v1/negotiation with the round's trade code as its lot): start → manifest → chunk 0 → complete,
the same steps and refusals as a lot's offer upload, over quotes.py. A quote is a price sheet: one
chunk. The signed receipt has the offer receipt's format, with the round code as its lot_id.

Imports: like quotes.py. Never Flask (the receipt key is read lazily through participation.receipts)."""

from __future__ import annotations

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.accounts.signing_keys import signing_key_valid_at
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found
from trading.sealing import envelope as env
from trading.sealing.failures import EnvelopeError, Failure

from ..common.participation.services import EnvelopeRefused
from .models import NegotiationRound, RoundQuote
from .quotes import MAX_QUOTE_BYTES, _closed_error, _supplier, put_quote, round_is_open

# --- the browser widget's protocol (api/negotiation.py): start → manifest → chunk 0 → complete ----

def own_quote(ctx: ServiceContext, submission_id: str, *, lock: bool = False) -> RoundQuote:
    """The caller organisation's quote; another's id gets the 404 of an unknown one."""
    stmt = select(RoundQuote).where(RoundQuote.submission_id == str(submission_id)[:32])
    if lock:
        stmt = stmt.with_for_update()
    quote = ctx.session.execute(stmt).scalar_one_or_none()
    if quote is None or not ctx.actor.has("bidder") or quote.bidder_org_id != ctx.actor.org_id:
        raise not_found("报价", "Quote")
    return quote


def _uploading(ctx: ServiceContext, submission_id: str) -> tuple[RoundQuote, NegotiationRound, Organisation]:
    quote = own_quote(ctx, submission_id, lock=True)
    if quote.status != "uploading":
        raise Conflict("upload.closed", "该报价已递交或已被替换", "This quote was already submitted or replaced")
    rnd = ctx.session.get(NegotiationRound, quote.round_id)
    org, _ = _supplier(ctx, rnd)
    if not round_is_open(rnd, ctx.now()):
        raise _closed_error()
    return quote, rnd, org


def put_quote_manifest(ctx: ServiceContext, submission_id: str, raw: bytes) -> RoundQuote:
    """The manifest first: every check that needs no payload byte (context, round key, signer, size)."""
    quote, rnd, org = _uploading(ctx, submission_id)
    try:
        m = env.parse_manifest(raw)
        if m.context != env.Context(rnd.code, org.credit_code, "price", quote.submission_id):
            raise EnvelopeError(Failure.CONTEXT_MISMATCH, "the envelope is bound to another round/bidder/part/upload")
        if m.recipients[0].kid != bytes(rnd.kid):
            raise EnvelopeError(Failure.KID_MISMATCH, "the first recipient is not the round's opening key")
        if signing_key_valid_at(ctx, org.id, m.sig_kid, ctx.now()) is None:
            raise EnvelopeError(Failure.SIGNER_MISMATCH, "sig.kid is no registered, unrevoked signing key")
        if m.payload_len > MAX_QUOTE_BYTES:
            raise EnvelopeError(Failure.MANIFEST, "payload_len over the round's limit")
    except EnvelopeError as err:
        raise EnvelopeRefused(err) from None
    quote.manifest, quote.payload_len, quote.payload_sha256 = m.to_json(), m.payload_len, m.payload_sha256.hex()
    ctx.session.flush()
    return quote


def put_quote_chunk(ctx: ServiceContext, submission_id: str, index: int, data: bytes) -> RoundQuote:
    """A quote is one chunk (index 0) of exactly payload_len bytes, staged until complete."""
    quote, _, _ = _uploading(ctx, submission_id)
    if quote.manifest is None:
        raise Conflict("upload.manifest_first", "请先上传清单（manifest），再上传数据块", "Send the manifest before the chunks")
    if index != 0:
        raise InvalidInput("upload.chunk_index", f"数据块序号 {index} 超出范围", f"Chunk index {index} is out of range")
    if len(data) != quote.payload_len:
        raise InvalidInput("upload.chunk_size", f"数据块应为 {quote.payload_len} 字节，收到 {len(data)} 字节",
                           f"The chunk must be {quote.payload_len} bytes, got {len(data)}")
    get_store().stage_put(quote.submission_id, "0", data)
    return quote


def complete_quote(ctx: ServiceContext, submission_id: str) -> RoundQuote:
    quote = own_quote(ctx, submission_id)
    if quote.status == "accepted":
        return quote
    if quote.manifest is None:
        raise Conflict("upload.manifest_first", "请先上传清单（manifest）", "Send the manifest first")
    store = get_store()
    try:
        with store.stage_open(quote.submission_id, "0") as f:
            payload = f.read(MAX_QUOTE_BYTES + 1)
    except Exception:  # noqa: BLE001 - nothing staged (BlobMissing / OSError)
        raise Conflict("upload.incomplete", "还缺 1 个数据块，请继续上传后再完成",
                       "1 chunk is missing; upload it, then complete", details={"missing": [0]}) from None
    put_quote(ctx, submission_id, quote.manifest, payload)
    sid = quote.submission_id
    from trading.core.blobs import after_commit

    after_commit(ctx.session, lambda: store.stage_remove(sid))
    return quote


def quote_state(ctx: ServiceContext, quote: RoundQuote) -> dict:
    rnd = ctx.session.get(NegotiationRound, quote.round_id)
    staged = quote.status == "accepted" or (quote.manifest is not None and get_store().stage_exists(quote.submission_id, "0"))
    return {"submission_id": quote.submission_id, "lot_id": rnd.code, "part": "price", "status": quote.status,
            "payload_len": quote.payload_len, "chunks_expected": 1 if quote.payload_len else None,
            "received": [0] if staged else [],
            "receipt": quote_receipt(ctx, quote) if quote.status == "accepted" else None}


def quote_receipt(ctx: ServiceContext, quote: RoundQuote) -> dict:
    """The signed receipt of an accepted quote (Ed25519 platform key, the same format as an offer's):
    round code, supplier, submission id, digest, size, server receipt time, audit sequence number.
    Signed on demand from the stored row (Ed25519 is deterministic: the same bytes every time)."""
    from trading.sealing import receipts as sig

    from ..common.participation.receipts import platform_key, rfc3339_us
    from ..common.participation.rules import beijing_text

    rnd = ctx.session.get(NegotiationRound, quote.round_id)
    org = ctx.session.get(Organisation, quote.bidder_org_id)
    body = {"v": sig.RECEIPT_VERSION, "kind": "submitted", "lot_id": rnd.code, "bidder_id": org.credit_code,
            "bidder_name": org.name, "part": "price", "submission_id": quote.submission_id,
            "payload_sha256": quote.payload_sha256, "payload_len": quote.payload_len,
            "received_at": rfc3339_us(quote.accepted_at), "received_at_beijing": beijing_text(quote.accepted_at),
            "audit_seq": quote.audit_seq, "supersedes": None}
    key = platform_key()
    return {"receipt": body, "signature": sig.b64(sig.sign(key, body)), "key_id": sig.key_id(key),
            "receipt_id": quote.submission_id}
