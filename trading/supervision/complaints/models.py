"""Complaints (投诉): the complaint with its clocks, the excluded-time pauses of its decision clock and
its evidence files. Nothing is deleted: a withdrawn or refused complaint stays, with its reason."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, UTCDateTime


class Complaint(Base):
    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False)
    #: awards.rules.Regime: tender_law → 行政监督部门, gp → 财政部门
    regime: Mapped[str] = mapped_column(String(12), nullable=False)
    #: rules.Matter
    matter: Mapped[str] = mapped_column(String(12), nullable=False)
    complainant_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    filed_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: 知道或者应当知道之日 (tender law), as the complainant states it
    known_on: Mapped[date | None] = mapped_column(Date)
    #: the prior 异议/质疑 on the platform
    objection_id: Mapped[int | None] = mapped_column(ForeignKey("objection.id"))
    #: or a prior objection made outside the platform (documents, opening, GP process), as stated
    declared_objection: Mapped[str] = mapped_column(Text, nullable=False, default="")
    declared_filed_on: Mapped[date | None] = mapped_column(Date)
    declared_answered_on: Mapped[date | None] = mapped_column(Date)
    facts: Mapped[str] = mapped_column(Text, nullable=False)
    request: Mapped[str] = mapped_column(Text, nullable=False)
    #: the statutory window it was filed in closed then (kept for the record)
    window_closes_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    accept_due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: rules.Status
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: rules.Outcome
    outcome: Mapped[str | None] = mapped_column(String(12))
    decision: Mapped[str] = mapped_column(Text, nullable=False, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the decision due instant in force when it was decided (late decisions stay visible)
    decide_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdraw_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: 暂停 of the procurement ordered by the department: at most complaint.suspension_max_cd days
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    pauses: Mapped[list[ComplaintPause]] = relationship(order_by="ComplaintPause.id", lazy="selectin")
    files: Mapped[list[ComplaintFile]] = relationship(order_by="ComplaintFile.id", lazy="selectin")

    __table_args__ = (
        Index("ix_complaint_status", "status"),
        Index("ix_complaint_lot", "lot_id"),
        Index("ix_complaint_org", "complainant_org_id"),
    )


class ComplaintPause(Base):
    """Time excluded from the decision clock: testing, inspection or expert review (实施条例 Art. 61)."""
    __tablename__ = "complaint_pause"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), nullable=False, index=True)
    #: rules.PauseKind
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ComplaintFile(Base):
    """An evidence file of the complaint, in the blob store by its SHA-256."""
    __tablename__ = "complaint_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
