"""Organisations, users, API tokens and log-in attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, UTCDateTime


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: 统一社会信用代码, checked against GB 32100 on the way in
    credit_code: Mapped[str] = mapped_column(String(18), unique=True, nullable=False)
    #: OrgKind
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    contact_name: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(40), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: Role
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    #: Argon2id PHC string
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    #: base32 TOTP secret; set when two-factor enrolment starts, trusted once confirmed
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: last TOTP time step accepted, so a code cannot be replayed
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: bumped on password change or deactivation; sessions carrying an older value are dropped
    session_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class ApiToken(Base):
    """A machine client's bearer token. Only its SHA-256 is stored; the token is shown once."""
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    #: first characters of the token, shown in lists so a user can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """Failed log-ins, counted per username and per IP address for throttling."""
    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_ip_at", "ip", "at"),
    )


class SigningKey(Base):
    """A bidder organisation's ECDSA P-256 signing public key (design/sealing.md, "Bidder keys").
    Envelopes are signed with the private half, which never reaches the platform: it lives
    non-extractable in the bidder's browser (IndexedDB) or in the offline tool's PEM file."""
    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: raw uncompressed SEC1 point (65 bytes), validated with from_encoded_point on the way in
    public_raw: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    #: kid = SHA-256(public_raw)[:8], the envelope's sig.kid; unique across the platform
    kid: Mapped[bytes] = mapped_column(LargeBinary(8), unique=True, nullable=False)
    #: SHA-256(public_raw) hex, shown grouped to people (指纹)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    #: browser | tool
    source: Mapped[str] = mapped_column(String(12), nullable=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoke_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (Index("ix_signing_key_org", "org_id", "revoked_at"),)


class CustodianKey(Base):
    """An opening-key custodian's (开标密钥保管人) share-encryption key, derived from a passphrase
    only the custodian knows: private = scrypt(passphrase, salt) reduced to a P-256 scalar. Only the
    public half, the salt and the scrypt parameters are stored; the ceremony seals each share to the
    public key, and at the opening the custodian types the passphrase again to unseal it."""
    __tablename__ = "custodian_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    public_raw: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    kid: Mapped[bytes] = mapped_column(LargeBinary(8), nullable=False)
    salt: Mapped[bytes] = mapped_column(LargeBinary(16), nullable=False)
    #: {"n", "r", "p"} of scrypt, stored so they can be raised later without breaking old keys
    kdf_params: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_custodian_key_user", "user_id", "revoked_at"),)
