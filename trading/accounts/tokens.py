"""API bearer tokens for machine clients. Only the SHA-256 of a token is stored; the plaintext is
shown once when it is made. Imports the accounts models only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from .models import ApiToken, User

#: tokens start with this, so secret scanners and people recognise them
TOKEN_PREFIX = "tpt_"
PREFIX_LEN = 12
MAX_TOKEN_LEN = 200
#: last_used_at is written at most this often: an UPDATE of the token row on every request costs
#: every API request a write (and a dirty row to flush and commit), for a "last used" display
LAST_USED_PRECISION = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate() -> tuple[str, str, str]:
    """A new token: (plaintext, display prefix, sha256 hex). 256 bits of randomness."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token[:PREFIX_LEN], digest(token)


#: built once: every API request runs it
_TOKEN_WITH_USER = (select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.organisation))
                    .where(ApiToken.token_sha256 == bindparam("sha")))


def user_for_token(session: Session, token: str, now: datetime) -> User | None:
    """The active user a live token belongs to, or None (unknown, revoked, expired, user inactive).
    A hit records last_used_at (to the minute: see LAST_USED_PRECISION), committed with the request.
    The user and its organisation come in the same SELECT (joined), not in two more."""
    if not token or len(token) > MAX_TOKEN_LEN:
        return None
    # the user and its organisation come in the same SELECT: the user row keeps the organisation
    # referenced, so the services' session.get(Organisation, …) of this request finds it loaded
    row = session.execute(_TOKEN_WITH_USER, {"sha": digest(token)}).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    user = row.user
    if user is None or not user.is_active:
        return None
    if row.last_used_at is None or not (timedelta(0) <= now - row.last_used_at < LAST_USED_PRECISION):
        row.last_used_at = now
    return user
