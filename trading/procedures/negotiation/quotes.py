"""Sealed round quotes (竞争性谈判, 74号令 Art. 32–33): each round's revised quote and the final offer
are ptbid/v1 envelopes ("price" part) sealed to THAT ROUND's opening key and opened only after the
round closes, by k of n custodians — the lot's own opening, repeated per round.

Design (design/sealing.md applied to rounds):
- Each round has its own trade code `<lot_code>-R<no>` (rules.round_code), used as the envelope
  context's lot_id, so an envelope sealed for one round can never be accepted or opened as another
  round's or the lot's; a lot code ends in two digits (or A<n>, a re-announced attempt: stages.
  next_cycle_code), a round code in R<no>: they never collide.
- open_round runs the same key ceremony as a lot's publication (opening.ceremony.split_opening_key:
  custodians from ≥ 3 institutions, k-of-n Shamir, commitments, shares sealed to each custodian bound
  to the round code); Q, kid, k, n and the commitments are audited; d is never stored.
- Quotes are accepted while the round is open and before its closes_at (server time); the accepted
  envelope of a supplier replaces its earlier one of the same round (superseded, kept, never opened).
  Checks before anything is stored: strict manifest, context (round code, supplier, "price",
  submission id), first recipient = the round key, signing key registered and valid now, payload
  within the price-sheet limit, layout, digest, signature (sealing.envelope, as participation does).
- After close_round, custodians submit their shares of that round's key (opening.shares.
  unseal_verified: a wrong share is refused and attributed); at k the key is rebuilt, checked against
  Q, every accepted quote of the round is opened (opening.rules.parse_price_sheet; a failure is kept
  with its kind), the share values are wiped and the opening is audited with every digest.
- Who may see prices: the team (operator/agency) and the supplier itself, only after the round's
  quotes are opened (政府采购法 Art. 38(4): no supplier sees another's price).

Imports: core, audit, sealing, accounts, projects, procedures.common (opening, lots), this package."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select, update

from trading.accounts.models import Organisation, SigningKey
from trading.accounts.rules import roles_for
from trading.accounts.signing_keys import signing_key_valid_at
from trading.audit.services import record
from trading.core.blobs import get_store
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, RuleViolation, not_found
from trading.projects.models import Project
from trading.sealing import envelope as env
from trading.sealing import shamir
from trading.sealing.failures import EnvelopeError, Failure

from ..common.lots import get_trade
from ..common.models import LotTrade
from ..common.opening import rules as opening_rules
from ..common.opening.ceremony import split_opening_key
from ..common.opening.shares import (
    accept_share,
    check_throttle,
    submitting_custodian,
    unseal_verified,
    wrong_since,
)
from ..common.participation.services import EnvelopeRefused
from . import rules
from .models import NegotiationRound, NegotiationSupplier, RoundKeyShare, RoundQuote, RoundShareAttempt

#: a round quote is a price sheet (≤ 16 KiB plaintext): its envelope is small
MAX_QUOTE_BYTES = 64 * 1024


# --- the round key ------------------------------------------------------------------------------

def make_round(ctx: ServiceContext, trade: LotTrade, *, no: int, kind: str, closes_at: datetime) -> NegotiationRound:
    """A new round with its own opening key (the lot's ceremony, for the round code)."""
    code = rules.round_code(trade.lot_code, no)
    split = split_opening_key(ctx, code=code, project=ctx.session.get(Project, trade.project_id))
    now = ctx.now()
    entry = record(ctx, "negotiation.round_opened", "lot", trade.lot_id, project_id=trade.project_id,
                   payload={"lot_code": trade.lot_code, "round": no, "kind": kind, "round_code": code,
                            "closes_at": closes_at, **split.audit_payload(code)})
    rnd = NegotiationRound(lot_id=trade.lot_id, no=no, kind=kind, code=code, opened_at=now, closes_at=closes_at,
                           opened_by=ctx.actor.user_id, public_raw=split.public_raw, kid=split.kid, k=split.k,
                           n=split.n, key_audit_seq=entry.seq)
    ctx.session.add(rnd)
    ctx.session.flush()
    ctx.session.add_all([
        RoundKeyShare(round_id=rnd.id, x=x, custodian_user_id=p.user_id, custodian_org_id=p.org_id,
                      custodian_key_id=p.key_id, commitment=split.commitments[x - 1], sealed_share=blob)
        for x, p, blob in split.placements])
    ctx.session.flush()
    return rnd


def get_round(ctx: ServiceContext, round_code: str, *, lock: bool = False) -> NegotiationRound:
    stmt = select(NegotiationRound).where(NegotiationRound.code == round_code)
    if lock:
        stmt = stmt.with_for_update()
    rnd = ctx.session.execute(stmt).scalar_one_or_none()
    if rnd is None:
        raise not_found("谈判轮次", "Negotiation round")
    return rnd


def round_is_open(rnd: NegotiationRound, now: datetime) -> bool:
    return rnd.closed_at is None and now < rnd.closes_at


def sealing_info(ctx: ServiceContext, round_code: str) -> dict:
    """What a sealer needs for a round quote (the round's opening public key is public)."""
    rnd = get_round(ctx, round_code)
    return {"lot_id": rnd.code, "opening_key": {"public": env.b64(bytes(rnd.public_raw)), "kid": env.b64(bytes(rnd.kid))},
            "closes_at": rnd.closes_at, "server_now": ctx.now(), "max_part_bytes": MAX_QUOTE_BYTES, "parts": ["price"]}


# --- quotes -------------------------------------------------------------------------------------

def _supplier(ctx: ServiceContext, rnd: NegotiationRound) -> tuple[Organisation, NegotiationSupplier]:
    ctx.require(*roles_for("offer.participate"))
    org = ctx.session.get(Organisation, ctx.actor.org_id) if ctx.actor.org_id else None
    sup = None if org is None else ctx.session.execute(select(NegotiationSupplier).where(
        NegotiationSupplier.lot_id == rnd.lot_id, NegotiationSupplier.bidder_org_id == org.id)).scalar_one_or_none()
    if sup is None:
        raise not_found("谈判轮次", "Negotiation round")
    if sup.status != "active":
        raise Forbidden("negotiation.supplier_not_active", "贵单位已退出本次谈判", "Your organisation has left this negotiation")
    return org, sup


def _closed_error() -> RuleViolation:
    return RuleViolation("negotiation.round_closed_for_quotes", "本轮报价已截止（以服务器时间为准）",
                         "This round no longer takes quotes (server time)")


def start_quote(ctx: ServiceContext, round_code: str) -> RoundQuote:
    """A supplier still in starts a quote for an open round: the server issues its submission id."""
    rnd = get_round(ctx, round_code)
    org, _ = _supplier(ctx, rnd)
    if not round_is_open(rnd, ctx.now()):
        raise _closed_error()
    quote = RoundQuote(round_id=rnd.id, bidder_org_id=org.id, submission_id=secrets.token_urlsafe(18),
                       status="uploading", started_by=ctx.actor.user_id, started_at=ctx.now())
    ctx.session.add(quote)
    ctx.session.flush()
    trade = ctx.session.get(LotTrade, rnd.lot_id)
    record(ctx, "negotiation.quote_started", "negotiation_quote", quote.submission_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "round_code": rnd.code})
    return quote


def put_quote(ctx: ServiceContext, submission_id: str, manifest_raw: bytes | str | dict, payload: bytes) -> RoundQuote:
    """The whole envelope in one request; every check before anything is stored; the accepted quote
    supersedes the supplier's earlier one of the round; audited (digest only, never the price)."""
    quote = ctx.session.execute(select(RoundQuote).where(RoundQuote.submission_id == str(submission_id))
                                .with_for_update()).scalar_one_or_none()
    if quote is None or quote.bidder_org_id != ctx.actor.org_id:
        raise not_found("报价", "Quote")
    if quote.status != "uploading":
        raise Conflict("upload.closed", "该报价已递交或已被替换", "This quote was already submitted or replaced")
    rnd = ctx.session.get(NegotiationRound, quote.round_id)
    org, _ = _supplier(ctx, rnd)
    if not round_is_open(rnd, ctx.now()):
        raise _closed_error()
    expected = env.Context(rnd.code, org.credit_code, "price", quote.submission_id)
    try:
        m = env.parse_manifest(manifest_raw)
        env.check(m, payload[:env.HEADER_LEN], expected=expected, opening_kid=bytes(rnd.kid))
        key = signing_key_valid_at(ctx, org.id, m.sig_kid, ctx.now())
        if key is None:
            raise EnvelopeError(Failure.SIGNER_MISMATCH, "sig.kid is no registered, unrevoked signing key")
        signer = env.load_public(bytes(key.public_raw))
        env.check(m, payload[:env.HEADER_LEN], payload_len=len(payload), expected=expected,
                  opening_kid=bytes(rnd.kid), signer_pub=signer, max_payload_len=MAX_QUOTE_BYTES)
        env.verify_signature(m, env.sha256_of(payload), signer)
    except EnvelopeError as err:
        raise EnvelopeRefused(err) from None
    now = ctx.now()
    sha = get_store().put_bytes(payload)
    previous = ctx.session.execute(select(RoundQuote).where(
        RoundQuote.round_id == rnd.id, RoundQuote.bidder_org_id == org.id, RoundQuote.status == "accepted")
    ).scalar_one_or_none()
    if previous is not None:
        previous.status, previous.superseded_at = "superseded", now
    quote.manifest, quote.payload_sha256, quote.payload_len = m.to_json(), sha, len(payload)
    quote.signing_key_id, quote.status, quote.accepted_at = key.id, "accepted", now
    trade = ctx.session.get(LotTrade, rnd.lot_id)
    entry = record(ctx, "negotiation.quote_submitted", "negotiation_quote", quote.submission_id,
                   project_id=trade.project_id,
                   payload={"lot_code": trade.lot_code, "round_code": rnd.code, "payload_sha256": sha,
                            "payload_len": len(payload), "supersedes": previous.submission_id if previous else None})
    quote.audit_seq = entry.seq
    ctx.session.flush()
    return quote


# --- custodians open the round ------------------------------------------------------------------

def submit_round_share(ctx: ServiceContext, round_code: str, passphrase: str) -> dict:
    """A custodian of the round's key submits its share after the round closed; refused and
    attributed when wrong (audited, then ShareRefused); at k shares the round's quotes open."""
    user = submitting_custodian(ctx, passphrase)
    rnd = get_round(ctx, round_code, lock=True)
    share = ctx.session.execute(select(RoundKeyShare).where(
        RoundKeyShare.round_id == rnd.id, RoundKeyShare.custodian_user_id == user.id)).scalar_one_or_none()
    if share is None:
        raise Forbidden("opening.not_custodian", f"您不是谈判轮次 {round_code} 的密钥保管人",
                        f"You are not a custodian of round {round_code}")
    if rnd.closed_at is None:
        raise RuleViolation("opening.too_early", "本轮尚未结束，不能提交密钥份额", "The round is not closed; shares come after")
    if rnd.quotes_opened_at is not None:
        raise Conflict("opening.not_open", "本轮报价已开启", "This round's quotes are already opened")
    if share.status == "accepted":
        raise Conflict("opening.share_already_accepted", "您的密钥份额已被接受，无需重复提交", "Your share was already accepted")
    trade = ctx.session.get(LotTrade, rnd.lot_id)
    now = ctx.now()
    refused = ctx.session.execute(select(func.count()).select_from(RoundShareAttempt).where(
        RoundShareAttempt.round_share_id == share.id, RoundShareAttempt.outcome != "accepted",
        RoundShareAttempt.at > wrong_since(now))).scalar_one()
    check_throttle(refused, share.x)
    unsealed = unseal_verified(ctx, share, rnd.code, passphrase, user.display_name)
    ctx.session.add(RoundShareAttempt(round_share_id=share.id, user_id=user.id, at=now, ip=(ctx.ip or "")[:45],
                                      outcome=unsealed.outcome))
    payload = {"lot_code": trade.lot_code, "round_code": rnd.code, "x": share.x, "custodian_user_id": user.id,
               "custodian_org_id": share.custodian_org_id, "outcome": unsealed.outcome, "detail": unsealed.detail,
               "commitment": bytes(share.commitment).hex()}
    if unsealed.error is not None:
        record(ctx, "negotiation.share_refused", "lot", trade.lot_id, project_id=trade.project_id, payload=payload)
        ctx.session.flush()
        raise unsealed.error
    accept_share(share, unsealed.value, now)
    record(ctx, "negotiation.share_accepted", "lot", trade.lot_id, project_id=trade.project_id, payload=payload)
    accepted = ctx.session.execute(select(func.count()).select_from(RoundKeyShare).where(
        RoundKeyShare.round_id == rnd.id, RoundKeyShare.status == "accepted")).scalar_one()
    opened = accepted >= rnd.k
    if opened:
        open_round_quotes(ctx, rnd, trade)
    ctx.session.flush()
    return {"round_code": rnd.code, "x": share.x, "accepted": accepted, "k": rnd.k, "n": rnd.n, "opened": opened}


def open_round_quotes(ctx: ServiceContext, rnd: NegotiationRound, trade: LotTrade) -> list[RoundQuote]:
    """Rebuild the round's key from k accepted shares, open every accepted quote of the round, wipe
    the share values, audit every digest and outcome (never a price in a live event)."""
    shares = list(ctx.session.execute(select(RoundKeyShare).where(RoundKeyShare.round_id == rnd.id)
                                      .order_by(RoundKeyShare.x)).scalars())
    accepted = sorted((s for s in shares if s.status == "accepted" and s.accepted_y),
                      key=lambda s: (s.accepted_at, s.x))[:rnd.k]
    try:
        private = shamir.rebuild_private_key(
            [(s.x, shamir.Share(s.x, int.from_bytes(s.accepted_y, "big"))) for s in accepted],
            [bytes(s.commitment) for s in shares], rnd.k, bytes(rnd.public_raw))
    except shamir.ShamirError as exc:  # pragma: no cover - accepted shares were checked one by one
        raise Conflict("opening.key_mismatch", "重建的密钥与公布的公钥不符", "The rebuilt key is not the round's key") from exc
    now = ctx.now()
    quotes = list(ctx.session.execute(select(RoundQuote).where(
        RoundQuote.round_id == rnd.id, RoundQuote.status == "accepted").order_by(RoundQuote.accepted_at)).scalars())
    orgs = {o.id: o for o in ctx.session.execute(select(Organisation).where(
        Organisation.id.in_({q.bidder_org_id for q in quotes} or {-1}))).scalars()}
    store = get_store()
    for q in quotes:
        kind = None
        try:
            signer = env.load_public(bytes(ctx.session.get(SigningKey, q.signing_key_id).public_raw))
            plain = env.open_envelope(q.manifest, store.read(q.payload_sha256), private, signer_pub=signer,
                                      opening_kid=bytes(rnd.kid),
                                      expected=env.Context(rnd.code, orgs[q.bidder_org_id].credit_code, "price",
                                                           q.submission_id))
            sheet = opening_rules.parse_price_sheet(plain)
            q.price_fen, q.duration_days, q.quality, q.remarks = (sheet.price_fen, sheet.duration_days,
                                                                  sheet.quality, sheet.remarks)
        except EnvelopeError as exc:
            kind = exc.kind.value
        except opening_rules.PriceSheetError as exc:
            kind = exc.code
        except Exception:  # noqa: BLE001 - a missing blob or key is the platform's failure, recorded
            kind = "platform.open"
        q.outcome, q.failure_kind, q.opened_at = ("failed" if kind else "opened"), kind, now
    del private
    ctx.session.execute(update(RoundKeyShare).where(RoundKeyShare.round_id == rnd.id).values(accepted_y=None))
    rnd.quotes_opened_at = now
    record(ctx, "negotiation.quotes_opened", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "round_code": rnd.code, "kind": rnd.kind,
                    "shares": [s.x for s in accepted],
                    "quotes": [[q.submission_id, q.payload_sha256, q.outcome, q.failure_kind] for q in quotes]})
    ctx.session.flush()
    return quotes


def accepted_quotes(ctx: ServiceContext, rnd: NegotiationRound) -> list[RoundQuote]:
    return list(ctx.session.execute(select(RoundQuote).where(
        RoundQuote.round_id == rnd.id, RoundQuote.status == "accepted").order_by(RoundQuote.accepted_at)).scalars())


def final_round(session, lot_id: int) -> NegotiationRound | None:
    return session.execute(select(NegotiationRound).where(
        NegotiationRound.lot_id == lot_id, NegotiationRound.kind == "final")).scalar_one_or_none()


def final_prices(session, lot_id: int) -> dict[int, int]:
    """bidder org id → final offer (fen), from the opened final round, for suppliers still in whose
    final envelope opened with a valid price sheet (for evaluation/scoring). Empty before the final
    round is opened (so nobody reads a price early)."""
    rnd = final_round(session, lot_id)
    if rnd is None or rnd.quotes_opened_at is None:
        return {}
    active = set(session.execute(select(NegotiationSupplier.bidder_org_id).where(
        NegotiationSupplier.lot_id == lot_id, NegotiationSupplier.status == "active")).scalars())
    rows = session.execute(select(RoundQuote.bidder_org_id, RoundQuote.price_fen).where(
        RoundQuote.round_id == rnd.id, RoundQuote.status == "accepted", RoundQuote.outcome == "opened")).all()
    return {org: fen for org, fen in rows if org in active and fen is not None}


def final_offers(session, lot_id: int) -> list[rules.FinalOffer]:
    """The opened final offers as rules.FinalOffer (responsive = opened and still in) for ranking."""
    rnd = final_round(session, lot_id)
    if rnd is None or rnd.quotes_opened_at is None:
        return []
    active = set(session.execute(select(NegotiationSupplier.bidder_org_id).where(
        NegotiationSupplier.lot_id == lot_id, NegotiationSupplier.status == "active")).scalars())
    rows = session.execute(select(RoundQuote, Organisation.credit_code)
                           .join(Organisation, Organisation.id == RoundQuote.bidder_org_id)
                           .where(RoundQuote.round_id == rnd.id, RoundQuote.status == "accepted")).all()
    return [rules.FinalOffer(q.bidder_org_id, q.price_fen, q.accepted_at, code,
                             responsive=q.outcome == "opened" and q.bidder_org_id in active) for q, code in rows]


def lot_of(ctx: ServiceContext, lot_code: str) -> LotTrade:
    return get_trade(ctx, lot_code)
