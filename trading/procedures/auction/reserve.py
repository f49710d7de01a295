"""The sealed reserve price (底价) of an auction lot (rules.md G2.6, G3.4; issue 5 item 1;
design/sealing.md): the owner seals it with the offers' envelope and opening key, it is entered before
the free phase ends and opened only when bidding has ended, by k of n custodians, and the outcome then
compares the highest bid with it.

- Key: the lot's OpeningKey from the publication ceremony (opening.ceremony.run_ceremony). Auction
  lots seal no offers, so their publication makes no key: the first `start_reserve` runs the same
  ceremony for the lot (custodians from several institutions, never the owner or agency; Q, k, n and
  the commitments audited; d never stored).
- Envelope: ptbid/v1, context (lot code, the owner organisation's credit code, part "reserve", a
  server-issued submission id), plaintext rules.reserve_sheet ({"v": 1, "reserve_fen": N}). Sealed in
  the browser (static/js/sealing/envelope.js) or with the offline tool (`--part reserve`). Every
  envelope check runs before anything is stored (context, opening kid, layout, digest, signature). The
  signer is a key the owner presents with the envelope: its raw point is kept, its kid audited.
- Write-once: one accepted envelope per lot; no amount is stored, logged or published before opening.
- Opening: after bidding ended (phase ended), custodians submit shares (opening.shares.
  unseal_verified: a wrong share refused and attributed, ShareAttempt + audit); at k the key is rebuilt,
  checked against Q, the envelope opened, the share values wiped, the reserve audited and the outcome
  settled (rules.settle) when it waited for the reserve.

The envelope checks and the opening are shared with 招标出让's reserve (procedures.common.reserve).

Imports: core, audit, sealing, accounts, projects, procedures.common (lots, opening, reserve), this package."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select, update

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import SYSTEM, ServiceContext
from trading.core.errors import Conflict, Forbidden, not_found
from trading.projects.models import Project
from trading.sealing import envelope as env

from ..common import reserve as sealed
from ..common.lots import get_trade
from ..common.opening.ceremony import get_opening_key, run_ceremony
from ..common.opening.models import CustodianShare, OpeningKey, ShareAttempt
from ..common.opening.shares import (
    ShareRefused,
    accept_share,
    check_throttle,
    rebuild_key,
    submitting_custodian,
    unseal_verified,
    wrong_since,
)
from . import rules
from .models import Auction, AuctionReserve
from .rules import Phase

PART = sealed.PART
MAX_RESERVE_BYTES = sealed.MAX_RESERVE_BYTES


def _owner_side(ctx: ServiceContext, a: Auction) -> Organisation:
    ctx.require("owner", "agency")
    project = ctx.session.get(Project, a.project_id)
    org = ctx.actor.org_id
    if org is None or org not in (project.owner_org_id, project.agency_org_id):
        raise not_found("标段", "Lot")
    return ctx.session.get(Organisation, org)


def _open_for_entry(a: Auction, now) -> None:
    if a.phase in (Phase.ENDED, Phase.TIMED) or now >= a.free_until:
        raise Conflict("auction.reserve_late", "自由报价（挂牌）期已截止，不能再录入底价",
                       "The free bidding period is over; the reserve can no longer be entered")


def _reserve(ctx: ServiceContext, lot_id: int, *, lock: bool = False) -> AuctionReserve | None:
    stmt = select(AuctionReserve).where(AuctionReserve.lot_id == lot_id)
    if lock:
        stmt = stmt.with_for_update()
    return ctx.session.execute(stmt).scalar_one_or_none()


def is_sealed(ctx: ServiceContext, a: Auction) -> bool:
    """A sealed reserve waits to be opened (bidding cannot decide before it is)."""
    r = _reserve(ctx, a.lot_id)
    return r is not None and r.status == "sealed"


def start_reserve(ctx: ServiceContext, lot_code: str) -> dict:
    """The owner (or agency) starts entering the sealed reserve: the lot's opening key (the ceremony
    runs now if the lot has none), the envelope context with a fresh submission id. Refused once a
    reserve is sealed (write-once) or after the free phase. Audited (no amount exists yet)."""
    from .services import _lock  # services imports this module lazily; the lock order is the same

    a = _lock(ctx, lot_code)
    org = _owner_side(ctx, a)
    now = ctx.now()
    r = _reserve(ctx, a.lot_id, lock=True)
    if r is not None and r.status != "uploading":
        raise Conflict("auction.reserve_set", "底价已密封录入，不能修改", "The reserve is sealed and cannot change")
    _open_for_entry(a, now)
    key = run_ceremony(ctx, get_trade(ctx, lot_code))
    if r is None:
        r = AuctionReserve(lot_id=a.lot_id, sealer_code=org.credit_code, status="uploading",
                           submission_id="", started_by=ctx.actor.user_id, started_at=now)
        ctx.session.add(r)
    r.submission_id, r.sealer_code = sealed.new_submission_id(), org.credit_code
    r.started_by, r.started_at = ctx.actor.user_id, now
    ctx.session.flush()
    record(ctx, "auction.reserve_started", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": lot_code, "submission_id": r.submission_id, "kid": bytes(key.kid).hex()})
    return sealing_info(a, r, key)


def sealing_info(a: Auction, r: AuctionReserve, key: OpeningKey) -> dict:
    """What the sealer needs (browser or offline tool): the context and the lot's opening public key."""
    return {**sealed.sealing_info(a.lot_code, r.sealer_code, r.submission_id, key), "free_until": a.free_until}


def put_reserve(ctx: ServiceContext, lot_code: str, *, submission_id: str, manifest_raw, payload: bytes,
                signer_public: bytes) -> AuctionReserve:
    """The sealed reserve envelope, once, before the free phase ends. Every check before anything is
    stored: the envelope's context must be this lot, the owner's organisation, part "reserve" and the
    issued submission id; the first recipient the lot's opening key; sig.kid the presented key's;
    layout, digest and signature. Audited with digests and the signer's kid, never the amount."""
    from .services import _lock

    a = _lock(ctx, lot_code)
    org = _owner_side(ctx, a)
    now = ctx.now()
    r = _reserve(ctx, a.lot_id, lock=True)
    if r is None or r.submission_id != submission_id:
        raise not_found("底价密封编号", "Reserve submission")
    if r.status != "uploading":
        raise Conflict("auction.reserve_set", "底价已密封录入，不能修改", "The reserve is sealed and cannot change")
    _open_for_entry(a, now)
    key = get_opening_key(ctx, a.lot_id)
    checked = sealed.check_envelope(manifest_raw, payload, signer_public, code="auction.reserve_envelope",
                                    expected=env.Context(lot_code, org.credit_code, PART, r.submission_id),
                                    opening_kid=bytes(key.kid))
    sha = checked.payload_sha256
    r.manifest, r.payload, r.payload_sha256 = checked.manifest, checked.payload, sha
    r.signer_public, r.status, r.sealed_by, r.sealed_at = checked.signer_public, "sealed", ctx.actor.user_id, now
    a.reserve_set_at = now
    a.version += 1
    record(ctx, "auction.reserve_sealed", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": lot_code, "submission_id": r.submission_id, "payload_sha256": sha,
                    "payload_len": len(payload), "signer_kid": checked.signer_kid,
                    "opening_kid": bytes(key.kid).hex()})
    ctx.session.flush()
    return r


def reserve_status(ctx: ServiceContext, lot_code: str) -> dict:
    """Public: whether a sealed reserve exists (拍卖法 Art. 50: its existence is announced), its digest,
    and after the opening its amount. Never the amount before."""
    from .services import get_auction

    a = get_auction(ctx, lot_code)
    r = _reserve(ctx, a.lot_id)
    sealed = r is not None and r.status in ("sealed", "opened", "failed")
    return {"lot_code": lot_code, "status": r.status if sealed else "none", "sealed_at": r.sealed_at if sealed else None,
            "payload_sha256": r.payload_sha256 if sealed else None,
            "reserve_fen": a.reserve_fen if r is not None and r.status == "opened" else None,
            "failure_kind": r.failure_kind if sealed else None}


# --- custodians open the reserve ------------------------------------------------------------------

def reserve_custody(ctx: ServiceContext, lot_code: str) -> dict:
    """The custodian's view of one lot's sealed reserve: its own share (x, held | accepted), the k-of-n
    progress, whether shares can be submitted now (bidding ended, the reserve sealed and not opened)
    and the reserve's status. 404 for a lot without a sealed reserve, 403 for a non-custodian."""
    from ..common.opening.shares import share_progress
    from .services import get_auction

    ctx.require(*roles_for("opening.submit_share"))
    a = get_auction(ctx, lot_code)
    r = _reserve(ctx, a.lot_id)
    if r is None or r.status == "uploading":
        raise not_found("密封底价", "Sealed reserve")
    key = get_opening_key(ctx, a.lot_id)
    share = ctx.session.execute(select(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.custodian_user_id == ctx.actor.user_id)
    ).scalar_one_or_none()
    if share is None:
        raise Forbidden("opening.not_custodian", f"您不是标的 {lot_code} 的开标密钥保管人",
                        f"You are not a custodian of lot {lot_code}")
    return {"lot_code": a.lot_code, "x": share.x, "status": share.status, "reserve_status": r.status,
            "phase": a.phase, "sealed_at": r.sealed_at, "free_until": a.free_until,
            "can_submit": a.phase == Phase.ENDED and r.status == "sealed" and share.status == "held",
            "progress": share_progress(ctx, a.lot_code)}


def is_reserve_custodian(ctx: ServiceContext, a: Auction) -> bool:
    """The acting user holds a share of the lot's key and the lot has a sealed reserve."""
    if not ctx.actor.has(*roles_for("opening.submit_share")) or ctx.actor.user_id is None:
        return False
    r = _reserve(ctx, a.lot_id)
    if r is None or r.status == "uploading":
        return False
    return ctx.session.execute(select(CustodianShare.id).join(OpeningKey, OpeningKey.id == CustodianShare.opening_key_id)
                               .where(OpeningKey.lot_id == a.lot_id,
                                      CustodianShare.custodian_user_id == ctx.actor.user_id)).first() is not None


def submit_reserve_share(ctx: ServiceContext, lot_code: str, passphrase: str) -> dict:
    """A custodian of the lot's key submits its share once bidding has ended; refused and attributed
    when wrong (ShareAttempt + audit, then ShareRefused: the caller commits before answering); at k
    shares the reserve opens and, when the outcome waited for it, the outcome is settled."""
    from .services import _lock

    user = submitting_custodian(ctx, passphrase)
    a = _lock(ctx, lot_code)
    r = _reserve(ctx, a.lot_id, lock=True)
    if r is None or r.status == "uploading":
        raise not_found("密封底价", "Sealed reserve")
    key = get_opening_key(ctx, a.lot_id)
    share = ctx.session.execute(select(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.custodian_user_id == user.id)).scalar_one_or_none()
    if share is None:
        raise Forbidden("opening.not_custodian", f"您不是标的 {lot_code} 的开标密钥保管人",
                        f"You are not a custodian of lot {lot_code}")
    now = ctx.now()
    if a.phase != Phase.ENDED:
        _attempt(ctx, a, share, "too_early", "submitted before bidding ended")
        raise ShareRefused("opening.too_early", "竞价结束前不能提交密钥份额开启底价",
                           "Shares cannot open the reserve before bidding ends (server time)")
    if r.status != "sealed":
        raise Conflict("opening.not_open", "底价已开启", "The reserve is already opened")
    if share.status == "accepted":
        raise Conflict("opening.share_already_accepted", "您的密钥份额已被接受，无需重复提交",
                       "Your share was already accepted")
    refused = ctx.session.execute(select(func.count()).select_from(ShareAttempt).where(
        ShareAttempt.custodian_share_id == share.id, ShareAttempt.outcome.in_(("wrong_passphrase", "bad_share")),
        ShareAttempt.at > wrong_since(now))).scalar_one()
    check_throttle(refused, share.x)
    unsealed = unseal_verified(ctx, share, lot_code, passphrase, user.display_name)
    if unsealed.error is not None:
        _attempt(ctx, a, share, unsealed.outcome, unsealed.detail)
        raise unsealed.error
    accept_share(share, unsealed.value, now)
    _attempt(ctx, a, share, "accepted", "share matches its commitment")
    accepted = ctx.session.execute(select(func.count()).select_from(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.status == "accepted")).scalar_one()
    opened = accepted >= key.k
    if opened:
        open_reserve(ctx, a, r, key)
    ctx.session.flush()
    return {"lot_code": lot_code, "x": share.x, "accepted": accepted, "k": key.k, "n": key.n, "opened": opened,
            "lot_status": get_trade(ctx, lot_code).status}


def _attempt(ctx: ServiceContext, a: Auction, share: CustodianShare, outcome: str, detail: str) -> None:
    ctx.session.add(ShareAttempt(lot_id=a.lot_id, custodian_share_id=share.id, user_id=ctx.actor.user_id,
                                 at=ctx.now(), ip=(ctx.ip or "")[:45], outcome=outcome, detail=detail[:200]))
    record(ctx, "auction.reserve_share_accepted" if outcome == "accepted" else "auction.reserve_share_refused",
           "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": a.lot_code, "x": share.x, "custodian_user_id": share.custodian_user_id,
                    "custodian_org_id": share.custodian_org_id, "outcome": outcome, "detail": detail,
                    "commitment": bytes(share.commitment).hex()})
    ctx.session.flush()


def open_reserve(ctx: ServiceContext, a: Auction, r: AuctionReserve, key: OpeningKey) -> None:
    """Rebuild d from k accepted shares, open the reserve envelope, wipe the share values, audit the
    opened reserve (or the failure kind), and settle the outcome if it waited for the reserve."""
    from .services import auction_finished, state_of, store_state

    private, accepted = rebuild_key(ctx, key)
    now = ctx.now()
    fen, kind = sealed.open_envelope(r.manifest, r.payload, r.signer_public, private, opening_kid=bytes(key.kid),
                                     expected=env.Context(a.lot_code, r.sealer_code, PART, r.submission_id))
    del private
    ctx.session.execute(update(CustodianShare).where(CustodianShare.opening_key_id == key.id).values(accepted_y=None))
    r.status, r.opened_at, r.failure_kind = ("failed" if kind else "opened"), now, kind
    a.reserve_fen = fen
    a.version += 1
    record(ctx, "auction.reserve_opened", "lot", a.lot_id, project_id=a.project_id,
           payload={"lot_code": a.lot_code, "shares": [s.x for s in accepted],
                    "custodians": [s.custodian_user_id for s in accepted], "payload_sha256": r.payload_sha256,
                    "outcome": r.status, "failure_kind": kind, "reserve_fen": fen})
    state = state_of(a)
    if rules.awaiting_reserve(state):
        # the outcome follows from the opening, as the clock's steps do: the system takes it (a
        # custodian is no host of the trade)
        store_state(a, rules.settle(state, fen))
        auction_finished(dataclasses.replace(ctx, actor=SYSTEM), a, now)
