"""API bearer tokens for machine clients. Only the SHA-256 of a token is stored; the plaintext is
shown once when it is made. Imports the accounts models only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken, User

#: tokens start with this, so secret scanners and people recognise them
TOKEN_PREFIX = "tpt_"
PREFIX_LEN = 12
MAX_TOKEN_LEN = 200


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate() -> tuple[str, str, str]:
    """A new token: (plaintext, display prefix, sha256 hex). 256 bits of randomness."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token[:PREFIX_LEN], digest(token)


def user_for_token(session: Session, token: str, now: datetime) -> User | None:
    """The active user a live token belongs to, or None (unknown, revoked, expired, user inactive).
    A hit records last_used_at, committed with the request."""
    if not token or len(token) > MAX_TOKEN_LEN:
        return None
    row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    user = row.user
    if user is None or not user.is_active:
        return None
    row.last_used_at = now
    return user
