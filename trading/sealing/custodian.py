"""A custodian's key and the share sealed to it (design/sealing.md, "Opening key and custodians", step 1;
notes/interfaces.md "Opening").

Custodian key, derived from a passphrase only the custodian knows:

    material = scrypt(passphrase (UTF-8, NFC), salt (16 random bytes), n, r, p, length 48)
    d_c      = int(material, big-endian) mod (order - 1) + 1        -- 384 bits into [1, order-1]:
                                                                       bias below 2^-128 (unbiased in practice)
    public   = d_c·G as a raw 65-byte uncompressed point; kid = SHA-256(public)[:8]

Only (public, kid, salt, scrypt parameters) are stored; the ceremony seals each share to the public
key, so no passphrase is needed at publication, and at the opening the custodian types the passphrase
again to unseal its share.

Sealed share: HPKE base mode (RFC 9180), the envelope suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
AES-256-GCM, single shot, empty aad, plaintext y (32 bytes big-endian), and

    info = LP(lot_code) || LP(u16be(x)) || LP(str(custodian_user_id)),   LP(v) = u16be(len(v)) || v

so a blob opened for another lot, share index or custodian fails the tag. The blob is a JSON-able dict
{"v": 2, "suite": "HPKE-P256-SHA256-AES256GCM", "kid": b64(custodian kid), "wrap": b64(enc || ct)}.

A wrong passphrase and a blob for another lot, index or custodian (or an altered blob) all raise one
clear error, ShareBlobRefused. The share's x is the index, bound by `info`, not stored in the plaintext.
No Flask, no SQLAlchemy: pure crypto."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from trading.sealing.shamir import CURVE, ORDER, Share

VERSION = 2
SUITE_NAME = "HPKE-P256-SHA256-AES256GCM"
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_LEN = 16
MATERIAL_LEN = 48
Y_LEN = 32
KID_LEN = 8
WRAP_LEN = 65 + Y_LEN + 16
#: bounds accepted for stored parameters (a key row or blob is checked before any scrypt runs)
MIN_N = 2
MAX_N = 2**18
MAX_R = 32
MAX_P = 16
PASSPHRASE_MIN = 12
PASSPHRASE_MAX = 256

_SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class ShareBlobError(ValueError):
    """The blob, key parameters or inputs are malformed (version, fields, parameters, lengths)."""


class ShareBlobRefused(ShareBlobError):
    """Authentication failed: wrong passphrase, or the blob belongs to another lot, index or custodian,
    or it was altered."""


@dataclass(frozen=True)
class CustodianKeyMaterial:
    """What is stored of a custodian key: never the passphrase, never the scalar."""
    public_raw: bytes
    kid: bytes
    salt: bytes
    params: dict[str, int] = field(default_factory=dict)


# --- small helpers ---------------------------------------------------------------------------------

def _lp(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ShareBlobError("info field longer than 65535 bytes")
    return struct.pack(">H", len(data)) + data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, name: str, length: int) -> bytes:
    if not isinstance(value, str):
        raise ShareBlobError(f"field {name!r} missing or not a string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ShareBlobError(f"field {name!r} is not base64") from exc
    if len(data) != length:
        raise ShareBlobError(f"field {name!r} must be {length} bytes")
    return data


def _point(public: ec.EllipticCurvePublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def kid_of(public_raw: bytes) -> bytes:
    """SHA-256(raw 65-byte point)[:8], as for every key of the platform."""
    return hashlib.sha256(bytes(public_raw)).digest()[:KID_LEN]


def share_info(lot_code: str, index: int, custodian_user_id: int | str) -> bytes:
    """info = LP(lot_code) || LP(u16be(index)) || LP(str(custodian_user_id))."""
    if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 0xFFFF:
        raise ShareBlobError("index must be in 1..65535")
    custodian = str(custodian_user_id)
    if not isinstance(lot_code, str) or not lot_code or not custodian:
        raise ShareBlobError("lot_code and custodian id must be non-empty")
    return _lp(lot_code.encode("utf-8")) + _lp(struct.pack(">H", index)) + _lp(custodian.encode("utf-8"))


def normalise_passphrase(passphrase: str) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise ShareBlobError("an empty passphrase is refused")
    if len(passphrase) > PASSPHRASE_MAX:
        raise ShareBlobError(f"a passphrase is at most {PASSPHRASE_MAX} characters")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def passphrase_problem(passphrase: str) -> str | None:
    """None when the passphrase may protect a custodian key (≥ 12 characters, letters and digits,
    at most 256), else a reason: too_short, too_long, needs_letter, needs_digit."""
    if not isinstance(passphrase, str) or len(passphrase) < PASSPHRASE_MIN:
        return "too_short"
    if len(passphrase) > PASSPHRASE_MAX:
        return "too_long"
    if not any(c.isalpha() for c in passphrase):
        return "needs_letter"
    if not any(c.isdigit() for c in passphrase):
        return "needs_digit"
    return None


def check_params(params: Any) -> tuple[int, int, int]:
    """(n, r, p) from {"n", "r", "p"}, within bounds (no memory blow-up from a crafted row or blob)."""
    if not isinstance(params, dict) or set(params) != {"n", "r", "p"}:
        raise ShareBlobError("scrypt params must be {n, r, p}")
    n, r, p = params["n"], params["r"], params["p"]
    for name, value in (("n", n), ("r", r), ("p", p)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ShareBlobError(f"scrypt {name} must be an integer")
    if not MIN_N <= n <= MAX_N or n & (n - 1):
        raise ShareBlobError(f"scrypt n must be a power of 2 in {MIN_N}..{MAX_N}")
    if not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        raise ShareBlobError("scrypt r or p out of range")
    return n, r, p


def default_params(n: int | None = None) -> dict[str, int]:
    return {"n": SCRYPT_N if n is None else n, "r": SCRYPT_R, "p": SCRYPT_P}


# --- the custodian key -----------------------------------------------------------------------------

def derive_scalar(passphrase: str, salt: bytes, params: dict[str, int]) -> int:
    """The private scalar in [1, order-1] (see the module docstring)."""
    n, r, p = check_params(params)
    if not isinstance(salt, bytes | bytearray) or len(salt) != SALT_LEN:
        raise ShareBlobError(f"salt must be {SALT_LEN} bytes")
    material = Scrypt(salt=bytes(salt), length=MATERIAL_LEN, n=n, r=r, p=p).derive(normalise_passphrase(passphrase))
    return int.from_bytes(material, "big") % (ORDER - 1) + 1


def derive_private_key(passphrase: str, salt: bytes, params: dict[str, int]) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(derive_scalar(passphrase, salt, params), CURVE)


def new_custodian_key(passphrase: str, *, params: dict[str, int] | None = None,
                      salt: bytes | None = None) -> CustodianKeyMaterial:
    """A fresh custodian key for `passphrase` (salt from os.urandom unless given, for known answers)."""
    params = dict(params or default_params())
    check_params(params)
    salt = os.urandom(SALT_LEN) if salt is None else bytes(salt)
    public = _point(derive_private_key(passphrase, salt, params).public_key())
    return CustodianKeyMaterial(public_raw=public, kid=kid_of(public), salt=salt, params=params)


def passphrase_matches(passphrase: str, key: CustodianKeyMaterial) -> bool:
    """True when `passphrase` derives `key`'s public point (used to tell a typo from a bad share)."""
    try:
        return _point(derive_private_key(passphrase, key.salt, key.params).public_key()) == bytes(key.public_raw)
    except ShareBlobError:
        return False


# --- sealing a share -------------------------------------------------------------------------------

def seal_share(share: Share, public_raw: bytes, *, lot_code: str, custodian_id: int | str) -> dict[str, Any]:
    """Seal `share` (y) to the custodian's public key; the index in `info` is the share's x."""
    if not isinstance(share.y, int) or not 0 < share.y < ORDER:
        raise ShareBlobError("share y out of range")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(CURVE, bytes(public_raw))
    except ValueError as exc:
        raise ShareBlobError("the custodian public key is not a P-256 point") from exc
    if len(public_raw) != 65:
        raise ShareBlobError("the custodian public key must be a raw uncompressed point")
    wrap = _SUITE.encrypt(share.y.to_bytes(Y_LEN, "big"), public, info=share_info(lot_code, share.x, custodian_id))
    return {"v": VERSION, "suite": SUITE_NAME, "kid": _b64(kid_of(public_raw)), "wrap": _b64(wrap)}


def parse_blob(blob: Any) -> tuple[bytes, bytes]:
    """(kid, wrap) of a well-formed blob, else ShareBlobError."""
    if not isinstance(blob, dict):
        raise ShareBlobError("the share blob must be a JSON object")
    if set(blob) != {"v", "suite", "kid", "wrap"}:
        raise ShareBlobError("the share blob keys are v, suite, kid, wrap")
    if type(blob["v"]) is not int or blob["v"] != VERSION:
        raise ShareBlobError(f"unknown share blob version {blob.get('v')!r}")
    if blob["suite"] != SUITE_NAME:
        raise ShareBlobError("unsupported suite")
    return _unb64(blob["kid"], "kid", KID_LEN), _unb64(blob["wrap"], "wrap", WRAP_LEN)


def open_share(blob: dict[str, Any], private_key: ec.EllipticCurvePrivateKey, *, lot_code: str, index: int,
               custodian_id: int | str) -> Share:
    """Open a sealed share with the custodian's private key for (lot_code, index, custodian_id).
    ShareBlobError when malformed; ShareBlobRefused when the key is wrong (wrong passphrase), the blob
    belongs to another lot, index or custodian, or it was altered. The returned share is still to be
    checked against its commitment (shamir.verify_share)."""
    blob_kid, wrap = parse_blob(blob)
    info = share_info(lot_code, index, custodian_id)
    if blob_kid != kid_of(_point(private_key.public_key())):
        raise ShareBlobRefused("share blob refused: wrong passphrase (the key does not match the share's key id)")
    try:
        plain = _SUITE.decrypt(wrap, private_key, info=info)
    except (InvalidTag, ValueError):
        raise ShareBlobRefused(
            "share blob refused: it belongs to another lot, index or custodian, or it was altered") from None
    if len(plain) != Y_LEN:
        raise ShareBlobError("the sealed share is not 32 bytes")
    y = int.from_bytes(plain, "big")
    if not 0 < y < ORDER:
        raise ShareBlobError("decrypted share y out of range")
    return Share(index, y)


def unseal_share(blob: dict[str, Any], passphrase: str, key: CustodianKeyMaterial, *, lot_code: str, index: int,
                 custodian_id: int | str) -> Share:
    """Derive the custodian key from `passphrase` (with the stored salt and parameters) and open the
    share. A passphrase that does not derive the stored public key is refused before any HPKE."""
    parse_blob(blob)
    private = derive_private_key(passphrase, key.salt, key.params)
    if _point(private.public_key()) != bytes(key.public_raw):
        raise ShareBlobRefused("share blob refused: wrong passphrase")
    return open_share(blob, private, lot_code=lot_code, index=index, custodian_id=custodian_id)
