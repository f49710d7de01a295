"""The evaluation room's records: each member's conflict declaration per bidder (回避声明) and each
member's score sheet per bidder. A sheet is a draft until submitted; a submitted sheet is locked and
never changes again; a sheet of a member replaced for a conflict becomes void (kept, not deleted).

Scores are stored as text decimals ("37.50"), never floats.

Imports: core only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class ConflictDeclaration(Base):
    """A member's statement about one bidder: no conflict, or a declared conflict (which replaces
    the member). A member's check-in is complete when every bidder has one. Rows are never edited: a
    relation discovered after a "no conflict" is a later row (the latest per bidder counts)."""
    __tablename__ = "conflict_declaration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_member.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    conflict: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: the member's words about the relation (required for a declared conflict)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, default="")

    __table_args__ = (Index("ix_conflict_declaration_member", "member_id", "bidder_org_id"),)


class ScoreSheet(Base):
    """One member's judgement of one bidder (评分表)."""
    __tablename__ = "score_sheet"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_member.id"), nullable=False)
    bidder_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: the LotCriteria the sheet is built from
    criteria_id: Mapped[int] = mapped_column(ForeignKey("lot_criteria.id"), nullable=False)
    #: SheetStatus: draft | submitted | void
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    #: Decision: score | reject
    decision: Mapped[str] = mapped_column(String(8), nullable=False, default="score")
    #: item code → points as text ("37.50")
    scores: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    #: item code → the reason for a deduction
    comments: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    reject_code: Mapped[str | None] = mapped_column(String(12))
    reject_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: bumped on every save: a stale autosave (an older tab) is refused
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SHA-256 of the canonical JSON of the submitted content (in the audit entry; scores are not)
    sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("member_id", "bidder_org_id", name="uq_score_sheet_member"),
        Index("ix_score_sheet_lot", "lot_id", "status"),
    )
