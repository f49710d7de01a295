"""Argon2id password hashing. Imports nothing from the app.

The production profile is argon2-cffi's default (RFC 9106 low-memory: t=3, m=64 MiB, p=4). Test apps
switch to the cheapest profile, because every fixture user costs a hash (the way Django test settings
swap in a fast hasher); hashes carry their own parameters, so either kind verifies, and a cheap hash
met in production is upgraded at the next log-in (`needs_rehash`)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_STRONG = PasswordHasher(type=Type.ID)
_CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)
_hasher = _STRONG

#: verified when the user is unknown, so both paths cost one Argon2 verification (no timing oracle)
_DUMMY = {}


def use_cheap_hashing(cheap: bool) -> None:
    global _hasher
    _hasher = _CHEAP if cheap else _STRONG


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:  # pragma: no cover - a corrupt row; rehash it
        return True


def burn_time(password: str) -> None:
    """Spend one verification on a fixed hash (unknown username), so response time does not tell."""
    key = id(_hasher)
    if key not in _DUMMY:
        _DUMMY[key] = _hasher.hash("no-such-user-0")
    verify_password(_DUMMY[key], password)
