"""The opening key of a lot and its custodians' shares (design/sealing.md, "Opening key and
custodians"). The private key d is never stored: only Q, the share commitments Y_i = y_i·G and
each share sealed to its custodian's passphrase-derived key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, UTCDateTime


class OpeningKey(Base):
    __tablename__ = "opening_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), unique=True, nullable=False)
    #: Q as a raw uncompressed SEC1 point (65 bytes): the "opening" recipient of every envelope
    public_raw: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    #: SHA-256(public_raw)[:8]: the kid the first recipient of every envelope must carry
    kid: Mapped[bytes] = mapped_column(LargeBinary(8), nullable=False)
    k: Mapped[int] = mapped_column(Integer, nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: the audit entry that published Q, k, n and the commitments
    audit_seq: Mapped[int] = mapped_column(Integer, nullable=False)

    shares: Mapped[list[CustodianShare]] = relationship(back_populates="opening_key", order_by="CustodianShare.x")


class CustodianShare(Base):
    __tablename__ = "custodian_share"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opening_key_id: Mapped[int] = mapped_column(ForeignKey("opening_key.id"), nullable=False)
    #: the share's x (1..n)
    x: Mapped[int] = mapped_column(Integer, nullable=False)
    custodian_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    custodian_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    custodian_key_id: Mapped[int] = mapped_column(ForeignKey("custodian_key.id"), nullable=False)
    #: Y_i = y_i·G, raw 65 bytes, published in the ceremony's audit entry
    commitment: Mapped[bytes] = mapped_column(LargeBinary(65), nullable=False)
    #: y_i sealed to the custodian key (JSON-able dict, see sealing/custodian.py)
    sealed_share: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: held | accepted
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="held")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: y_i (32 bytes) once its custodian has unsealed it at the opening — only after the deadline,
    #: and wiped (set to NULL) as soon as the lot is opened, so that superseded envelopes stay shut
    accepted_y: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    opening_key: Mapped[OpeningKey] = relationship(back_populates="shares")

    __table_args__ = (UniqueConstraint("opening_key_id", "x", name="uq_custodian_share_x"),)
