"""Bidder signing keys (design/sealing.md, "Bidder keys"): register, revoke, list, and the validity
question the upload asks at the manifest check. Only the public half ever reaches the platform.

kid = SHA-256(raw 65-byte point)[:8] (the envelope's sig.kid); fingerprint = SHA-256 hex, shown
grouped to people. A key is valid at an instant when it was registered at or before it and was not
yet revoked. Never Flask."""

from __future__ import annotations

import hashlib
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import bindparam, select

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found
from trading.sealing.envelope import KID_LEN, load_public, public_raw

from .models import SigningKey
from .rules import roles_for

SOURCES = ("browser", "tool")
LABEL_MAX = 60
REASON_MAX = 200
RAW_LEN = 65


def kid_of(public_raw: bytes) -> bytes:
    return hashlib.sha256(public_raw).digest()[:KID_LEN]


def fingerprint_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()


def grouped(fingerprint: str, size: int = 4) -> str:
    """'ab12 cd34 …': people compare fingerprints by reading them aloud, groups make that possible."""
    return " ".join(fingerprint[i:i + size] for i in range(0, len(fingerprint), size))


def check_public_raw(public_raw: bytes) -> bytes:
    """A validated raw uncompressed P-256 point, or InvalidInput saying what is wrong."""
    if not isinstance(public_raw, bytes | bytearray) or len(public_raw) != RAW_LEN:
        raise InvalidInput("signing_key.wrong_length",
                           f"公钥应为 {RAW_LEN} 字节的未压缩 P-256 点（04 开头）",
                           f"The public key must be a {RAW_LEN}-byte uncompressed P-256 point (starting 04)",
                           field="public")
    try:
        load_public(bytes(public_raw))
    except ValueError:
        raise InvalidInput("signing_key.invalid_point", "公钥不是 P-256 曲线上的有效点",
                           "The public key is not a valid point on P-256", field="public") from None
    return bytes(public_raw)


def public_raw_from_pem(pem: str) -> bytes:
    """The raw point of a PEM SubjectPublicKeyInfo (what the offline tool writes), or InvalidInput."""
    try:
        key = load_pem_public_key((pem or "").strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError):
        raise InvalidInput("signing_key.bad_pem", "无法读取 PEM 公钥：请粘贴以 -----BEGIN PUBLIC KEY----- 开头的全文",
                           "Cannot read the PEM public key; paste all of it from -----BEGIN PUBLIC KEY-----",
                           field="pem") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidInput("signing_key.not_p256", "签名公钥须为 ECDSA P-256（prime256v1）密钥",
                           "The signing key must be an ECDSA P-256 (prime256v1) key", field="pem")
    return public_raw(key)


def _text(value: str | None, code: str, zh: str, en: str, maximum: int, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"signing_key.{code}_required", f"请填写{zh}", f"Enter the {en}", field=code)
    if len(value) > maximum:
        raise InvalidInput(f"signing_key.{code}_too_long", f"{zh}不能超过 {maximum} 个字",
                           f"The {en} may have at most {maximum} characters", field=code)
    return value


def _require_bidder(ctx: ServiceContext) -> int:
    ctx.require(*roles_for("signing_key.manage"))
    if ctx.actor.org_id is None:  # a bidder always has an organisation; be explicit rather than crash
        raise InvalidInput("signing_key.no_org", "当前账号不属于任何单位", "Your account belongs to no organisation")
    return ctx.actor.org_id


def register_signing_key(ctx: ServiceContext, *, public_raw: bytes, label: str = "",
                         source: str = "browser") -> SigningKey:
    org_id = _require_bidder(ctx)
    raw = check_public_raw(public_raw)
    label = _text(label, "label", "密钥名称", "key label", LABEL_MAX, required=False)
    if source not in SOURCES:
        raise InvalidInput("signing_key.source_invalid", "来源须为 browser 或 tool",
                           "The source must be browser or tool", field="source")
    kid = kid_of(raw)
    # kid is unique platform-wide (sig.kid names the signer); the message does not say whose it is
    if ctx.session.execute(select(SigningKey.id).where(SigningKey.kid == kid)).first():
        raise Conflict("signing_key.duplicate", "该公钥已登记过，请勿重复登记；如需更换请生成新密钥",
                       "This public key is already registered; generate a new key to replace it", field="public")
    key = SigningKey(org_id=org_id, public_raw=raw, kid=kid, fingerprint=fingerprint_of(raw), label=label,
                     source=source, created_by=ctx.actor.user_id, created_at=ctx.now())
    ctx.session.add(key)
    ctx.session.flush()
    record(ctx, "signing_key.registered", "signing_key", key.id,
           payload={"kid": kid.hex(), "fingerprint": key.fingerprint, "label": label, "source": source,
                    "org_id": org_id})
    return key


def get_own_signing_key(ctx: ServiceContext, key_id: int) -> SigningKey:
    """One of the actor's organisation's keys; the same 404 for another org's key as for none."""
    org_id = _require_bidder(ctx)
    key = ctx.session.get(SigningKey, key_id)
    if key is None or key.org_id != org_id:
        raise not_found("签名密钥", "signing key")
    return key


def revoke_signing_key(ctx: ServiceContext, key_id: int, reason: str) -> SigningKey:
    key = get_own_signing_key(ctx, key_id)
    reason = _text(reason, "reason", "吊销原因", "reason", REASON_MAX, required=True)
    if key.revoked_at is not None:
        raise Conflict("signing_key.already_revoked", "该签名密钥已吊销", "This signing key is already revoked")
    key.revoked_at = ctx.now()
    key.revoked_by = ctx.actor.user_id
    key.revoke_reason = reason
    ctx.session.flush()
    record(ctx, "signing_key.revoked", "signing_key", key.id,
           payload={"kid": key.kid.hex(), "fingerprint": key.fingerprint, "reason": reason,
                    "org_id": key.org_id})
    return key


def list_signing_keys(ctx: ServiceContext) -> list[SigningKey]:
    """The actor's organisation's keys, newest first (revoked ones too: they signed old envelopes)."""
    org_id = _require_bidder(ctx)
    return list(ctx.session.execute(
        select(SigningKey).where(SigningKey.org_id == org_id)
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())).scalars())


#: built once: every upload asks it
_KEY_BY_KID = select(SigningKey).where(SigningKey.org_id == bindparam("org"), SigningKey.kid == bindparam("kid"))


def signing_key_valid_at(ctx: ServiceContext, org_id: int, kid: bytes, at: datetime) -> SigningKey | None:
    """The key of `org_id` with this kid if it was registered at or before `at` and not revoked at
    `at` (revoked_at > at); else None. No permission check: the upload asks it for the signer."""
    key = ctx.session.execute(_KEY_BY_KID, {"org": org_id, "kid": bytes(kid)}).scalar_one_or_none()
    if key is None or key.created_at > at:
        return None
    if key.revoked_at is not None and key.revoked_at <= at:
        return None
    return key
