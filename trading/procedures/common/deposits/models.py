"""Deposits (保证金): one virtual sub-account per bidder per lot, its ledger and the bank statements
imported to reconcile it. Nothing is deleted: a correction is a new ledger entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, Fen, UTCDateTime


class DepositAccount(Base):
    """虚拟子账号: the number a bidder pays its deposit for one lot into. Random (nothing about the
    bidder is in it), so a payment shows neither the agency nor other bidders who is bidding."""
    __tablename__ = "deposit_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the registration (报名) it belongs to; re-registering after a withdrawal keeps the same row
    participation_id: Mapped[int] = mapped_column(ForeignKey("participation.id"), unique=True, nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: 19 digits: the bank's prefix, 12 random digits, a Luhn check digit
    virtual_account: Mapped[str] = mapped_column(String(19), unique=True, nullable=False)
    #: the lot's deposit when the account was opened (fen)
    required_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: the payment deadline (the lot's bid deadline when opened)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: rules.AccountStatus, recomputed from the ledger at each entry
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    #: the event that started the refund period (rules.RefundEvent), its instant and the due instant
    refund_event: Mapped[str | None] = mapped_column(String(16))
    refund_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the winner's deposit waits for the contract (GP) instead of the result notice
    is_winner: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    entries: Mapped[list[DepositEntry]] = relationship(back_populates="account", order_by="DepositEntry.id")

    __table_args__ = (
        UniqueConstraint("lot_id", "bidder_org_id", name="uq_deposit_account_lot_bidder"),
        Index("ix_deposit_account_bidder", "bidder_org_id"),
        Index("ix_deposit_account_refund_due", "refund_due_at"),
    )


class DepositEntry(Base):
    """One ledger line: expected (opening the account), received (from a bank statement), refunded,
    forfeited. amount_fen is positive; the kind says which way the money went."""
    __tablename__ = "deposit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: None for a statement row that matched no sub-account (kept for the operator to resolve)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("deposit_account.id"))
    #: expected | received | refunded | forfeited | unmatched
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    amount_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: when the money moved (bank time for received rows), aware UTC
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: the bank's 流水号 (received/unmatched) or the refund transfer reference; unique per kind
    bank_ref: Mapped[str | None] = mapped_column(String(64))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("bank_statement.id"))
    #: the account number the statement says the money was paid into (received/unmatched)
    to_account: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    #: payer as the bank reported it (later: the "deposits paid from one account" supervision alert)
    payer_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    payer_account: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    #: arrived after the payment deadline
    late: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    account: Mapped[DepositAccount | None] = relationship(back_populates="entries")

    __table_args__ = (
        UniqueConstraint("kind", "bank_ref", name="uq_deposit_entry_kind_ref"),
        Index("ix_deposit_entry_account", "account_id", "id"),
        Index("ix_deposit_entry_payer", "payer_account"),
    )


class BankStatement(Base):
    """One imported bank-statement file and what the import did with it."""
    __tablename__ = "bank_statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    #: SHA-256 of the file as uploaded (hex)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    matched: Mapped[int] = mapped_column(Integer, nullable=False)
    unmatched: Mapped[int] = mapped_column(Integer, nullable=False)
    duplicates: Mapped[int] = mapped_column(Integer, nullable=False)
    late: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
