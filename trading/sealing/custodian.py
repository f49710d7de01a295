"""A custodian's share, encrypted under a key derived from that custodian's own passphrase
(design/sealing.md, "Opening key and custodians", step 1).

    key  = scrypt(passphrase (UTF-8, NFC), salt (16 random bytes), n, r, p, length 32)
    ct   = AES-256-GCM(key, nonce (12 random bytes), plaintext = y as 32 bytes big-endian, AAD)
    AAD  = LP(lot_id) || LP(u16be(index)) || LP(custodian_id),  LP(x) = u16be(len(x)) || x

The blob is a small JSON-able dict: {"v": 1, "kdf": "scrypt", "params": {"n", "r", "p"},
"aead": "AES-256-GCM", "salt", "nonce", "ct"} (bytes as standard padded base64). The scrypt
parameters are stored in the blob so they can be raised later without breaking old blobs; opening
refuses parameters outside sane bounds (no memory blow-up from a crafted blob). A wrong passphrase and
a blob opened for another lot, index or custodian (AAD) both fail the GCM tag: one clear error,
ShareBlobRefused. The share's x is the index; it is bound by the AAD, not stored in the plaintext.
No Flask, no SQLAlchemy: pure crypto."""

from __future__ import annotations

import base64
import binascii
import os
import struct
import unicodedata
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from trading.sealing.shamir import ORDER, Share

VERSION = 1
KDF = "scrypt"
AEAD = "AES-256-GCM"
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_LEN = 16
NONCE_LEN = 12
KEY_LEN = 32
Y_LEN = 32
#: bounds accepted when opening (a blob is untrusted input until its tag verifies)
MAX_N = 2**20
MAX_R = 32
MAX_P = 16


class ShareBlobError(ValueError):
    """The blob is malformed (version, fields, parameters, lengths)."""


class ShareBlobRefused(ShareBlobError):
    """Authentication failed: wrong passphrase, or the blob belongs to another lot, index or custodian,
    or it was altered."""


def _lp(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ShareBlobError("AAD field longer than 65535 bytes")
    return struct.pack(">H", len(data)) + data


def aad(lot_id: str, index: int, custodian_id: str) -> bytes:
    """AAD = LP(lot_id) || LP(u16be(index)) || LP(custodian_id)."""
    if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 0xFFFF:
        raise ShareBlobError("index must be in 1..65535")
    if not lot_id or not custodian_id:
        raise ShareBlobError("lot_id and custodian_id must be non-empty")
    return _lp(lot_id.encode("utf-8")) + _lp(struct.pack(">H", index)) + _lp(custodian_id.encode("utf-8"))


def _passphrase(passphrase: str) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise ShareBlobError("an empty passphrase is refused")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_LEN, n=n, r=r, p=p).derive(_passphrase(passphrase))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(blob: dict[str, Any], name: str, length: int | None = None) -> bytes:
    value = blob.get(name)
    if not isinstance(value, str):
        raise ShareBlobError(f"field {name!r} missing or not a string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ShareBlobError(f"field {name!r} is not base64") from exc
    if length is not None and len(data) != length:
        raise ShareBlobError(f"field {name!r} must be {length} bytes")
    return data


def _check_params(n: Any, r: Any, p: Any) -> None:
    for name, value in (("n", n), ("r", r), ("p", p)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ShareBlobError(f"scrypt {name} must be an integer")
    if not 2 <= n <= MAX_N or n & (n - 1):
        raise ShareBlobError(f"scrypt n must be a power of 2 in 2..{MAX_N}")
    if not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        raise ShareBlobError("scrypt r or p out of range")


def seal_share(share: Share, passphrase: str, *, lot_id: str, custodian_id: str,
               scrypt_n: int = SCRYPT_N, scrypt_r: int = SCRYPT_R, scrypt_p: int = SCRYPT_P) -> dict[str, Any]:
    """Encrypt `share` for its custodian. The index in the AAD is the share's x. Tests may pass a small
    `scrypt_n` to stay fast; production uses the default 2**15 (r=8, p=1)."""
    if not isinstance(share.y, int) or not 0 < share.y < ORDER:
        raise ShareBlobError("share y out of range")
    _check_params(scrypt_n, scrypt_r, scrypt_p)
    salt, nonce = os.urandom(SALT_LEN), os.urandom(NONCE_LEN)
    key = _key(passphrase, salt, scrypt_n, scrypt_r, scrypt_p)
    ct = AESGCM(key).encrypt(nonce, share.y.to_bytes(Y_LEN, "big"), aad(lot_id, share.x, custodian_id))
    return {"v": VERSION, "kdf": KDF, "params": {"n": scrypt_n, "r": scrypt_r, "p": scrypt_p},
            "aead": AEAD, "salt": _b64(salt), "nonce": _b64(nonce), "ct": _b64(ct)}


def open_share(blob: dict[str, Any], passphrase: str, *, lot_id: str, index: int, custodian_id: str) -> Share:
    """Decrypt a custodian's blob for (lot_id, index, custodian_id). Raises ShareBlobError when the blob
    is malformed and ShareBlobRefused when the passphrase is wrong or the blob is for another lot, index
    or custodian or was altered. The returned share is still to be checked against its commitment."""
    if not isinstance(blob, dict):
        raise ShareBlobError("the share blob must be a JSON object")
    if blob.get("v") != VERSION or isinstance(blob.get("v"), bool):
        raise ShareBlobError(f"unknown share blob version {blob.get('v')!r}")
    if blob.get("kdf") != KDF or blob.get("aead") != AEAD:
        raise ShareBlobError("unsupported kdf or aead")
    params = blob.get("params")
    if not isinstance(params, dict) or set(params) != {"n", "r", "p"}:
        raise ShareBlobError("params must be {n, r, p}")
    _check_params(params["n"], params["r"], params["p"])
    salt = _unb64(blob, "salt", SALT_LEN)
    nonce = _unb64(blob, "nonce", NONCE_LEN)
    ct = _unb64(blob, "ct", Y_LEN + 16)
    associated = aad(lot_id, index, custodian_id)
    key = _key(passphrase, salt, params["n"], params["r"], params["p"])
    try:
        plain = AESGCM(key).decrypt(nonce, ct, associated)
    except InvalidTag:
        raise ShareBlobRefused(
            "share blob refused: wrong passphrase, or it belongs to another lot, index or custodian, "
            "or it was altered") from None
    y = int.from_bytes(plain, "big")
    if not 0 < y < ORDER:
        raise ShareBlobError("decrypted share y out of range")
    return Share(index, y)
