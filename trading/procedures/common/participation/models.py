"""Participation in a lot: registrations (报名), sealed-offer submissions with their upload chunks,
signed receipts, tender documents and who downloaded them. Everything here is secret before the
lot's deadline except to the bidder's own organisation (招标投标法 Art. 22): only participation
services and queries read these tables, and they enforce it."""

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

from trading.core.db import Base, UTCDateTime


class Participation(Base):
    """A bidder organisation's registration (报名) for a lot."""
    __tablename__ = "participation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: the user who registered
    registered_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: registered | withdrawn
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="registered")
    #: 签到 in the opening hall (set by the hall's service)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("lot_id", "bidder_org_id", name="uq_participation_lot_bidder"),)


class Submission(Base):
    """One sealed envelope (one part) of a bidder for a lot, from the start of its upload. At most one
    per (lot, bidder, part) is "accepted"; replaced ones are "superseded" (kept, never opened)."""
    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: server-issued random token (secrets.token_urlsafe(18)): the envelope context's submission_id
    submission_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    participation_id: Mapped[int] = mapped_column(ForeignKey("participation.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: price | documents
    part: Mapped[str] = mapped_column(String(12), nullable=False)
    #: uploading | accepted | superseded | withdrawn
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    #: the manifest as the bidder sent it (parsed strictly on arrival); NULL until PUT
    manifest: Mapped[dict | None] = mapped_column(JSON)
    payload_len: Mapped[int | None] = mapped_column(BigInteger)
    #: lowercase hex SHA-256 of the payload (from the manifest; verified at completion); the accepted
    #: payload is the blob with this name in trading.core.blobs
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    #: the registered signing key (accounts.SigningKey) that signed the manifest
    signing_key_id: Mapped[int | None] = mapped_column(ForeignKey("signing_key.id"))
    #: the upload chunk size agreed when the upload started (bytes)
    upload_chunk_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    started_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the submission this one replaced (its status became superseded)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))

    chunks: Mapped[list[UploadChunk]] = relationship(back_populates="submission", order_by="UploadChunk.index")
    receipts: Mapped[list[Receipt]] = relationship(back_populates="submission", order_by="Receipt.id")

    __table_args__ = (Index("ix_submission_lot_bidder_part", "lot_id", "bidder_org_id", "part", "status"),)


class UploadChunk(Base):
    """One received upload chunk (bytes [i*U, min((i+1)*U, payload_len)) of the payload), staged on disk
    until completion."""
    __tablename__ = "upload_chunk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_pk: Mapped[int] = mapped_column(ForeignKey("submission.id"), nullable=False)
    index: Mapped[int] = mapped_column(Integer, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: hex SHA-256 of the chunk's bytes: a re-sent chunk is compared by it
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    submission: Mapped[Submission] = relationship(back_populates="chunks")

    __table_args__ = (UniqueConstraint("submission_pk", "index", name="uq_upload_chunk_index"),)


class Receipt(Base):
    """A signed receipt (回执): the canonical JSON body exactly as signed, the Ed25519 signature, the
    key id, and the cached PDF."""
    __tablename__ = "offer_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: random public id (URLs), so receipt numbers reveal no count of other bidders' receipts
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    submission_pk: Mapped[int] = mapped_column(ForeignKey("submission.id"), nullable=False, index=True)
    #: submitted | withdrawn
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    #: canonical JSON bytes of the body (sealing.receipts.canonical)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)
    #: hex(SHA-256(platform receipt public key)[:8])
    key_id: Mapped[str] = mapped_column(String(16), nullable=False)
    audit_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: the generated PDF in the blob store (made on first download)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    submission: Mapped[Submission] = relationship(back_populates="receipts")


class TenderDocument(Base):
    """A tender document (招标/采购文件, 澄清) of a lot, uploaded by the owner side, kept in the blob store."""
    __tablename__ = "tender_document"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: hex SHA-256 of the file: its blob name, shown to bidders to check their copy
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")


class DocumentDownload(Base):
    """Who obtained a tender document, when, from where: private to the platform, readable by the
    owner side and supervisors only after the deadline (20号令 Art. 21)."""
    __tablename__ = "document_download"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("tender_document.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")

    __table_args__ = (Index("ix_document_download_lot", "lot_id", "org_id"),)
