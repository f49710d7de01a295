"""Projects, their lots (标段/包) and the entry-review trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.accounts.models import Organisation, User
from trading.core.db import Base, Fen, UTCDateTime
from trading.reference.models import Region


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 统一交易标识码: unique, ASCII (it enters sealed-offer contexts), issued at first submission
    trade_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: 审批/核准/备案文号
    approval_number: Mapped[str] = mapped_column(String(60), nullable=False)
    approval_department: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    #: FundingSource
    funding_source: Mapped[str] = mapped_column(String(30), nullable=False)
    #: share of fiscal (budget) funds in basis points, 0–10000
    fiscal_share_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Category: works / goods / services / land / mining / state_asset / other
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    #: OwnerType: gov (GP buyer), state_enterprise, other
    owner_type: Mapped[str] = mapped_column(String(20), nullable=False)
    #: 项目总投资 (fen)
    total_investment_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: 预算/最高限价/起始价 (fen): the sum of the lots
    budget_fen: Mapped[int] = mapped_column(Fen, nullable=False)
    #: combinable contracts of the same construction project, if any (16号令 Art. 5 合并计算)
    combined_total_fen: Mapped[int | None] = mapped_column(Fen)
    #: Procedure chosen by the owner among the routed ones
    procedure: Mapped[str] = mapped_column(String(30), nullable=False)
    #: the routing decision as shown to the owner (must_enter, allowed, reasons, settings used)
    route: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: EntryStatus
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    owner_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    agency_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    contact_name: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the centre's entry review is due (entry.review_wd working days after the last submission)
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: optimistic concurrency: every change bumps it; a stale form is refused
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    lots: Mapped[list[Lot]] = relationship(back_populates="project", order_by="Lot.seq",
                                          cascade="all, delete-orphan")
    reviews: Mapped[list[EntryReview]] = relationship(back_populates="project", order_by="EntryReview.id")
    owner_org: Mapped[Organisation] = relationship(foreign_keys=[owner_org_id])
    agency_org: Mapped[Organisation | None] = relationship(foreign_keys=[agency_org_id])
    region: Mapped[Region] = relationship()

    __table_args__ = (
        Index("ix_project_owner_status", "owner_org_id", "status"),
        Index("ix_project_status_submitted", "status", "submitted_at"),
    )


class Lot(Base):
    """标段/包: the unit that is traded, opened and awarded."""
    __tablename__ = "lot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    #: trade_code + "-" + two digits, set with the project's trade code
    code: Mapped[str | None] = mapped_column(String(44), unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    budget_fen: Mapped[int] = mapped_column(Fen, nullable=False)

    project: Mapped[Project] = relationship(back_populates="lots")

    __table_args__ = (UniqueConstraint("project_id", "seq", name="uq_lot_project_seq"),)


class EntryReview(Base):
    """Each step of the entry review with its comment: submitted, returned, accepted, refused."""
    __tablename__ = "entry_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False, index=True)
    #: ReviewAction
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    actor_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    project: Mapped[Project] = relationship(back_populates="reviews")
    actor: Mapped[User] = relationship()


class TradeCodeCounter(Base):
    """Per (year, category) counter for trade codes; locked when a code is issued."""
    __tablename__ = "trade_code_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
