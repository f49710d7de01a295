"""Custodians' share submission after the deadline (step 3): each share unsealed with its custodian's
passphrase, checked against its commitment, refused and attributed when wrong, throttled; at k valid
shares the lot is opened (services.open_lot).

Refused submissions are evidence (who tried, when, from where): they are recorded and then ShareRefused
is raised; the web layer commits that record before answering 422 (see api/opening.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from trading.accounts import custodians as custody
from trading.accounts.models import CustodianKey, Organisation
from trading.accounts.rules import roles_for
from trading.accounts.services import current_user_row
from trading.audit.services import record
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, Throttled
from trading.core.events import publish
from trading.sealing import custodian as sealing_custodian
from trading.sealing import shamir

from ..lots import LotStatus, effective_status, get_trade
from ..models import LotTrade
from .ceremony import _my_share, channel, get_opening_key
from .models import CustodianShare, ShareAttempt

#: wrong passphrases (or shares) per custodian share within the window before further attempts wait
MAX_WRONG_ATTEMPTS = 5
WRONG_WINDOW_MINUTES = 15


class ShareRefused(RuleViolation):
    """A share submission refused after its attempt was recorded (commit before answering)."""

    def __init__(self, code: str, zh: str, en: str, *, details: dict | None = None, status: int = 422):
        super().__init__(code, zh, en, details=details)
        self.status = status


@dataclass(frozen=True)
class Unsealed:
    """What came of unsealing one custodian's share: the share (value) when it matches its commitment,
    else the attempt's outcome and detail and the ShareRefused to raise once the attempt is recorded."""
    value: shamir.Share | None
    outcome: str
    detail: str
    error: ShareRefused | None = None


def unseal_verified(ctx: ServiceContext, share, code: str, passphrase: str, display_name: str) -> Unsealed:
    """Unseal `share` (a CustodianShare, or any row with x, custodian_user_id, custodian_key_id,
    sealed_share and commitment — e.g. a negotiation round's share) with its custodian's passphrase,
    the share bound to `code` (the lot or round trade code), and check it against its commitment.
    Pure of writes: the caller records the attempt and raises `error` when there is one."""
    ckey = ctx.session.get(CustodianKey, share.custodian_key_id)
    material = custody.custodian_material(ckey)
    try:
        value = sealing_custodian.unseal_share(share.sealed_share, passphrase, material, lot_code=code,
                                               index=share.x, custodian_id=share.custodian_user_id)
    except sealing_custodian.ShareBlobRefused as exc:
        if not sealing_custodian.passphrase_matches(passphrase, material):
            return Unsealed(None, "wrong_passphrase", str(exc), ShareRefused(
                "opening.wrong_passphrase",
                f"保管口令错误：保管人 {share.x}（{display_name}）的份额未被接受，本次尝试已记录",
                f"Wrong passphrase: custodian {share.x} ({display_name})'s share was not "
                "accepted; the attempt is recorded", details={"x": share.x}))
        return Unsealed(None, "bad_share", str(exc), ShareRefused(
            "opening.share_rejected", f"保管人 {share.x}（{display_name}）的密钥份额无法解封，已拒绝并记录",
            f"Custodian {share.x} ({display_name})'s share does not unseal; refused and recorded",
            details={"x": share.x}))
    except sealing_custodian.ShareBlobError as exc:
        return Unsealed(None, "bad_share", str(exc), ShareRefused(
            "opening.share_rejected", f"保管人 {share.x} 的密钥份额格式无效，已拒绝并记录",
            f"Custodian {share.x}'s sealed share is malformed; refused and recorded", details={"x": share.x}))
    if not shamir.verify_share(value, bytes(share.commitment)):
        return Unsealed(None, "bad_share", "the share does not match its published commitment", ShareRefused(
            "opening.share_rejected",
            f"保管人 {share.x}（{display_name}）的密钥份额与公布的承诺值不符，已拒绝并记录",
            f"Custodian {share.x} ({display_name})'s share does not match its published "
            "commitment; refused and recorded", details={"x": share.x}))
    return Unsealed(value, "accepted", "share matches its commitment")


# --- the steps every share submission shares (a lot's opening, an auction's reserve, a round's quotes) ---

def submitting_custodian(ctx: ServiceContext, passphrase: object):
    """The acting custodian's user row, before any key is read: a custodian role, two-factor
    authentication enabled, a passphrase given."""
    ctx.require(*roles_for("opening.submit_share"))
    user = current_user_row(ctx)
    if not user.totp_enabled:
        raise Forbidden("opening.two_factor_required", "提交密钥份额须先启用双因素认证",
                        "Enable two-factor authentication before submitting a share")
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidInput("opening.passphrase_required", "请输入保管口令", "Enter your custodian passphrase",
                           field="passphrase")
    return user


def check_throttle(refused: int, x: int, *, hint_zh: str = "", hint_en: str = "") -> None:
    """`refused` wrong attempts of share x within WRONG_WINDOW_MINUTES: at MAX_WRONG_ATTEMPTS the next
    waits (Throttled, nothing recorded)."""
    if refused >= MAX_WRONG_ATTEMPTS:
        raise Throttled("opening.share_throttled",
                        f"保管口令连续错误 {refused} 次，请 {WRONG_WINDOW_MINUTES} 分钟后再试{hint_zh}",
                        f"{refused} wrong attempts in a row; try again in {WRONG_WINDOW_MINUTES} minutes{hint_en}",
                        details={"x": x})


def wrong_since(now):
    """The start of the throttle window."""
    return now - timedelta(minutes=WRONG_WINDOW_MINUTES)


def accept_share(share, value: shamir.Share, now) -> None:
    """Mark a verified share accepted and keep its value until the key is rebuilt (then wiped)."""
    share.status, share.accepted_at = "accepted", now
    share.accepted_y = value.y.to_bytes(32, "big")


def rebuild_key(ctx: ServiceContext, key) -> tuple[object, list[CustodianShare]]:
    """(private key, the shares used) from the first k accepted shares of `key` (an OpeningKey),
    checked against Q. The caller uses the key, drops it and wipes the share values."""
    shares = list(ctx.session.execute(select(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                      .order_by(CustodianShare.x)).scalars())
    accepted = sorted((s for s in shares if s.status == "accepted" and s.accepted_y),
                      key=lambda s: (s.accepted_at, s.x))[:key.k]
    if len(accepted) < key.k:
        raise RuleViolation("opening.not_enough_shares", f"已接受 {len(accepted)} 份密钥份额，需要 {key.k} 份",
                            f"{len(accepted)} shares accepted, {key.k} needed")
    try:
        private = shamir.rebuild_private_key(
            [(s.x, shamir.Share(s.x, int.from_bytes(s.accepted_y, "big"))) for s in accepted],
            [bytes(s.commitment) for s in shares], key.k, bytes(key.public_raw))
    except shamir.ShamirError as exc:  # pragma: no cover - accepted shares were checked one by one
        raise Conflict("opening.key_mismatch", "重建的开标密钥与公布的公钥不符",
                       "The rebuilt key is not the lot's key") from exc
    return private, accepted


# --- share submission ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShareOutcome:
    lot_code: str
    x: int
    accepted: int
    k: int
    n: int
    opened: bool
    lot_status: str


def _attempt(ctx: ServiceContext, trade: LotTrade, share: CustodianShare, outcome: str, detail: str) -> None:
    ctx.session.add(ShareAttempt(lot_id=trade.lot_id, custodian_share_id=share.id, user_id=ctx.actor.user_id,
                                 at=ctx.now(), ip=(ctx.ip or "")[:45], outcome=outcome, detail=detail[:200]))
    action = "opening.share_accepted" if outcome == "accepted" else "opening.share_refused"
    record(ctx, action, "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "x": share.x, "custodian_user_id": share.custodian_user_id,
                    "custodian_org_id": share.custodian_org_id, "outcome": outcome, "detail": detail,
                    "commitment": bytes(share.commitment).hex()})
    ctx.session.flush()


def submit_share(ctx: ServiceContext, lot_code: str, passphrase: str) -> ShareOutcome:
    """A custodian (two-factor enabled) unseals its share with its passphrase after the deadline; the
    share is checked against its commitment. A refused attempt is recorded and attributed, then
    ShareRefused is raised; at k accepted shares the lot is opened (open_lot) in the same transaction."""
    user = submitting_custodian(ctx, passphrase)
    trade, key, share = _my_share(ctx, lot_code, lock=True)
    now = ctx.now()
    status = effective_status(trade, now)
    if status == LotStatus.ACCEPTING:
        _attempt(ctx, trade, share, "too_early", "submitted before the deadline")
        raise ShareRefused("opening.too_early", "投标截止时间（服务器时间）之前不能提交密钥份额",
                           "Shares cannot be submitted before the deadline (server time)",
                           details={"deadline_at": rfc3339(trade.deadline_at), "server_now": rfc3339(now)})
    if status not in (LotStatus.CLOSED, LotStatus.OPENING):
        raise Conflict("opening.not_open", "该标段已开标、流标或终止，不再接收密钥份额",
                       "The lot is opened, failed or terminated; no more shares are taken")
    if share.status == "accepted":
        raise Conflict("opening.share_already_accepted", "您的密钥份额已被接受，无需重复提交",
                       "Your share was already accepted")
    refused = ctx.session.execute(select(func.count()).select_from(ShareAttempt).where(
        ShareAttempt.custodian_share_id == share.id, ShareAttempt.outcome.in_(("wrong_passphrase", "bad_share")),
        ShareAttempt.at > wrong_since(now))).scalar_one()
    check_throttle(refused, share.x, hint_zh="，或联系开标主持人", hint_en=" or contact the host")
    unsealed = unseal_verified(ctx, share, trade.lot_code, passphrase, user.display_name)
    if unsealed.error is not None:
        _attempt(ctx, trade, share, unsealed.outcome, unsealed.detail)
        raise unsealed.error
    accept_share(share, unsealed.value, now)
    _attempt(ctx, trade, share, "accepted", "share matches its commitment")
    if trade.status != LotStatus.OPENING:
        trade.status, trade.status_changed_at = LotStatus.OPENING, now
        publish(ctx, channel(lot_code), "opening:stage", {"stage": "custody"})
    accepted = ctx.session.execute(select(func.count()).select_from(CustodianShare).where(
        CustodianShare.opening_key_id == key.id, CustodianShare.status == "accepted")).scalar_one()
    publish(ctx, channel(lot_code), "custody:progress", {"accepted": accepted, "k": key.k, "n": key.n})
    opened = False
    if accepted >= key.k:
        from .services import open_lot  # services imports this module's names at its end

        open_lot(ctx, lot_code)
        opened = True
    return ShareOutcome(lot_code=lot_code, x=share.x, accepted=accepted, k=key.k, n=key.n, opened=opened,
                        lot_status=trade.status)


def share_progress(ctx: ServiceContext, lot_code: str) -> dict:
    """Public progress of the custody stage: {"accepted", "k", "n", "custodians": [{x, org, status}]}."""
    trade = get_trade(ctx, lot_code)
    key = get_opening_key(ctx, trade.lot_id)
    rows = ctx.session.execute(select(CustodianShare.x, CustodianShare.status, Organisation.name)
                               .join(Organisation, Organisation.id == CustodianShare.custodian_org_id)
                               .where(CustodianShare.opening_key_id == key.id).order_by(CustodianShare.x)).all()
    return {"accepted": sum(1 for r in rows if r.status == "accepted"), "k": key.k, "n": key.n,
            "custodians": [{"x": r.x, "org": r.name, "status": r.status} for r in rows]}
