"""The opening key of a lot and its custodians' shares (design/sealing.md, "Opening key and
custodians"). The private key d is never stored: only Q, the share commitments Y_i = y_i·G and
each share sealed to its custodian's passphrase-derived key.

Then the opening: every share submission attempt (ShareAttempt), one OpeningResult per opened (or
failed) envelope, the opening record (OpeningRecord, 开标记录) and the bidders' confirmations and
disputes of it (RecordResponse)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, Fen, UTCDateTime


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


class ShareAttempt(Base):
    """Every share submission, valid or not: who, when, from where, and what came of it. A refused
    attempt is attributed to its custodian here and in the audit trail; it never counts."""
    __tablename__ = "share_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: the custodian's share (None when the caller holds no share of the lot)
    custodian_share_id: Mapped[int | None] = mapped_column(ForeignKey("custodian_share.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    #: accepted | wrong_passphrase | bad_share | too_early | duplicate | not_custodian
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    #: an English explanation (never secret data)
    detail: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (Index("ix_share_attempt_lot", "lot_id", "id"),)


class OpeningRecord(Base):
    """开标记录 (招标投标法 Art. 36; 20号令 Art. 32): the body is canonical JSON whose SHA-256 is kept
    here and in the audit entry that published it. Written once; never edited."""
    __tablename__ = "opening_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), unique=True, nullable=False)
    #: the record as published (see rules.build_record)
    body: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: SHA-256 (hex) of the canonical JSON of body
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: opened | failed (流标)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)
    valid_offers: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: bidders confirm or dispute until this instant (setting opening.record_confirm_minutes)
    respond_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    audit_seq: Mapped[int] = mapped_column(Integer, nullable=False)


class OpeningResult(Base):
    """One envelope (a bidder's accepted price or documents part) at the opening: opened, or failed
    with its cause category (rules.md §2.3) and its Art. 31 consequence."""
    __tablename__ = "opening_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: Submission.submission_id (the server-issued token of the envelope)
    submission_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: price | documents
    part: Mapped[str] = mapped_column(String(12), nullable=False)
    payload_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: opened | failed
    outcome: Mapped[str] = mapped_column(String(8), nullable=False)
    #: the envelope failure kind (sealing.failures) or price-sheet problem, when failed
    failure_kind: Mapped[str | None] = mapped_column(String(40))
    #: bidder_cert | bidder_network | platform | third_party_ca, when failed
    failure_category: Mapped[str | None] = mapped_column(String(20))
    #: revocation (撤销, caused by the bidder) | withdrawal (撤回, caused by others), when failed
    consequence: Mapped[str | None] = mapped_column(String(12))
    #: the price sheet (price part): 唱标 figures
    price_fen: Mapped[int | None] = mapped_column(Fen)
    duration_days: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[str | None] = mapped_column(String(200))
    remarks: Mapped[str | None] = mapped_column(Text)
    #: documents part: the plaintext ZIP in the blob store (SHA-256 hex) and its file names, for evaluators
    plaintext_sha256: Mapped[str | None] = mapped_column(String(64))
    plaintext_len: Mapped[int | None] = mapped_column(BigInteger)
    files: Mapped[list | None] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (Index("ix_opening_result_lot", "lot_id", "bidder_org_id"),)


class RecordResponse(Base):
    """A bidder's confirmation or dispute of the opening record (one per bidder organisation), and the
    host's on-the-spot reply to a dispute (实施条例 Art. 44)."""
    __tablename__ = "opening_record_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("opening_record.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: confirm | dispute
    response: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("record_id", "bidder_org_id", name="uq_record_response_org"),)
