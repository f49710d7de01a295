"""Opening-key custodians (开标密钥保管人): enrolment of a custodian key derived from a passphrase only
the custodian knows (design/sealing.md, "Opening key and custodians"; sealing/custodian.py).

Who: the roles of CAN "custodian.enrol" (centre operators, supervisors, experts), with two-factor
enabled. Only the public point, its kid, the salt and the scrypt parameters are stored; the passphrase
is neither stored nor logged. A custodian re-enrols (new passphrase) only while none of the shares
sealed to its current key is still waiting for an opening: otherwise that share could never be unsealed."""

from __future__ import annotations

from sqlalchemy import column, func, select, table

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput
from trading.reference.settings import SettingDef, define, get_setting
from trading.sealing import custodian as crypto

from .models import CustodianKey, User
from .rules import roles_for
from .services import current_user_row

define(
    SettingDef("custodian.scrypt_log2_n", 15, "count", "design/sealing.md: scrypt n = 2^15, r = 8, p = 1 [P]",
               "保管人口令派生 scrypt 参数 log2(n)", "Custodian passphrase scrypt log2(n)", 10, 18),
)

_PROBLEMS = {
    "too_short": ("保管口令至少 12 个字符", "The passphrase needs at least 12 characters"),
    "too_long": ("保管口令至多 256 个字符", "The passphrase may have at most 256 characters"),
    "needs_letter": ("保管口令须包含字母", "The passphrase needs a letter"),
    "needs_digit": ("保管口令须包含数字", "The passphrase needs a digit"),
}

# The opening tables belong to procedures.common (a later layer): read them here through lightweight
# table constructs, without importing their models.
_share = table("custodian_share", column("custodian_key_id"), column("status"), column("opening_key_id"))
_opening_key = table("opening_key", column("id"), column("lot_id"))
_lot_trade = table("lot_trade", column("lot_id"), column("status"))
#: lot states in which a held share may still be needed
_WAITING = ("accepting", "closed", "opening")


def active_custodian_key(ctx: ServiceContext, user_id: int) -> CustodianKey | None:
    return ctx.session.execute(
        select(CustodianKey).where(CustodianKey.user_id == user_id, CustodianKey.revoked_at.is_(None))
        .order_by(CustodianKey.id.desc()).limit(1)).scalar_one_or_none()


def shares_waiting(ctx: ServiceContext, key_id: int) -> int:
    """How many shares sealed to this key still wait for their lot's opening."""
    return ctx.session.execute(
        select(func.count()).select_from(_share)
        .join(_opening_key, _opening_key.c.id == _share.c.opening_key_id)
        .join(_lot_trade, _lot_trade.c.lot_id == _opening_key.c.lot_id)
        .where(_share.c.custodian_key_id == key_id, _share.c.status == "held",
               _lot_trade.c.status.in_(_WAITING))).scalar_one()


def _require_custodian(ctx: ServiceContext) -> User:
    ctx.require(*roles_for("custodian.enrol"))
    user = current_user_row(ctx)
    if not user.totp_enabled:
        raise Forbidden("custodian.two_factor_required", "开标密钥保管人须先启用双因素认证（在“我的账户”页面）",
                        "Enable two-factor authentication (on your account page) before you become a custodian")
    return user


def enrol_custodian(ctx: ServiceContext, passphrase: str, *, scrypt_n: int | None = None) -> CustodianKey:
    """Enrol (or re-enrol) the acting user as a custodian. `scrypt_n` is for tests; by default
    n = 2^setting custodian.scrypt_log2_n (2^15), r = 8, p = 1."""
    user = _require_custodian(ctx)
    problem = crypto.passphrase_problem(passphrase if isinstance(passphrase, str) else "")
    if problem:
        zh, en = _PROBLEMS[problem]
        raise InvalidInput(f"custodian.passphrase_{problem}", zh, en, field="passphrase")
    old = active_custodian_key(ctx, user.id)
    if old is not None:
        waiting = shares_waiting(ctx, old.id)
        if waiting:
            raise Conflict("custodian.key_in_use",
                           f"您当前的保管密钥仍保管着 {waiting} 个尚未开标标段的密钥份额，开标前不能更换保管口令；"
                           "请在这些标段开标后再更换（忘记口令请联系交易中心：该份额将按 k-of-n 由其他保管人补足）",
                           f"Your custodian key still holds {waiting} share(s) of lots not yet opened; you can change "
                           "the passphrase after those openings (if you forgot it, tell the centre: the other "
                           "custodians make up the k of n)", details={"shares_waiting": waiting})
    n = scrypt_n if scrypt_n is not None else 2 ** get_setting(ctx, "custodian.scrypt_log2_n")
    try:
        material = crypto.new_custodian_key(passphrase, params=crypto.default_params(n))
    except crypto.ShareBlobError as exc:
        raise InvalidInput("custodian.params", "保管密钥参数无效", "Invalid custodian key parameters") from exc
    now = ctx.now()
    if old is not None:
        old.revoked_at = now
    key = CustodianKey(user_id=user.id, org_id=user.org_id, public_raw=material.public_raw, kid=material.kid,
                       salt=material.salt, kdf_params=material.params, created_at=now)
    ctx.session.add(key)
    ctx.session.flush()
    record(ctx, "custodian.enrolled", "custodian_key", key.id,
           payload={"user_id": user.id, "org_id": user.org_id, "kid": material.kid.hex(),
                    "public_key": material.public_raw.hex(), "kdf": "scrypt", "kdf_params": material.params,
                    "replaces_key_id": old.id if old is not None else None})
    return key


def my_custodian_key(ctx: ServiceContext) -> CustodianKey | None:
    user = current_user_row(ctx)
    return active_custodian_key(ctx, user.id)


def custodian_material(key: CustodianKey) -> crypto.CustodianKeyMaterial:
    return crypto.CustodianKeyMaterial(public_raw=bytes(key.public_raw), kid=bytes(key.kid), salt=bytes(key.salt),
                                       params=dict(key.kdf_params))
