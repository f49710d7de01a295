"""Submission ids the server issues without writing anything (pure; the key comes in).

A submission id is what an envelope's context binds (design/sealing.md: "random id the server issues
when an upload starts"). Starting an upload changes nothing, so the id is not stored when issued: it
is 9 random bytes and a 9-byte HMAC-SHA256 tag over (bidder organisation, lot, part, those bytes)
under a platform key, base64url without padding — 24 characters, the format the upload protocol has
always used. The submission row is made when the id is first used for an upload, and only by the
organisation it was issued to, for that lot and part: an id nobody issued, or issued to another
bidder, is the same 404 as an unknown one. Replay stays impossible because the row's id is unique.

A 72-bit tag: forging one means guessing it online, one upload request per guess."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

NONCE_LEN = 9
TAG_LEN = 9
_DOMAIN = b"ptbid-sid/1"
#: 18 bytes in base64url are exactly 24 characters, no padding
_FORMAT = re.compile(r"[A-Za-z0-9_-]{24}")


def _tag(key: bytes, org_id: int, lot_code: str, part: str, nonce: bytes) -> bytes:
    msg = b"\0".join((_DOMAIN, str(org_id).encode(), lot_code.encode("utf-8"), part.encode(), nonce))
    return hmac.new(key, msg, hashlib.sha256).digest()[:TAG_LEN]


def issue(key: bytes, org_id: int, lot_code: str, part: str, *, nonce: bytes | None = None) -> str:
    nonce = secrets.token_bytes(NONCE_LEN) if nonce is None else nonce
    if len(nonce) != NONCE_LEN:
        raise ValueError("nonce must be 9 bytes")
    return base64.urlsafe_b64encode(nonce + _tag(key, org_id, lot_code, part, nonce)).decode("ascii")


def issued_to(key: bytes, sid: str, org_id: int, lot_code: str, part: str) -> bool:
    """True when `sid` was issued by this key to this organisation for this lot and part."""
    if not isinstance(sid, str) or _FORMAT.fullmatch(sid) is None:
        return False
    raw = base64.urlsafe_b64decode(sid)
    return hmac.compare_digest(raw[NONCE_LEN:], _tag(key, org_id, lot_code, part, raw[:NONCE_LEN]))
