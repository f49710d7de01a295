"""Expert pool tables: the expert (one user account of role EXPERT), specialties, unavailable
periods and declared relations (关联关系). Nothing is deleted: a status change or a withdrawn relation
is an update audited by the services, an ended relation keeps its dates.

Imports: core only."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, UTCDateTime


class Expert(Base):
    """评审专家. Status: active | suspended | blacklisted (rules.ExpertStatus)."""
    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    #: 身份证号, masked on the way in (first 6 and last 4 kept): the full number is never stored
    id_card_masked: Mapped[str] = mapped_column(String(18), nullable=False)
    #: 工作单位
    employer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    #: 职称, e.g. 高级工程师
    title: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    senior: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: years in the field
    years: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    status_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    specialties: Mapped[list[ExpertSpecialty]] = relationship(order_by="ExpertSpecialty.code")

    __table_args__ = (Index("ix_expert_status", "status", "id"),)


class ExpertSpecialty(Base):
    """One specialty code (专业代码) of an expert; the draw matches on these."""
    __tablename__ = "expert_specialty"

    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)

    __table_args__ = (Index("ix_expert_specialty_code", "code", "expert_id"),)


class ExpertUnavailable(Base):
    """A period the expert declared unavailable (both days included)."""
    __tablename__ = "expert_unavailable"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), nullable=False)
    start_on: Mapped[date] = mapped_column(Date, nullable=False)
    end_on: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (Index("ix_expert_unavailable_days", "start_on", "end_on", "expert_id"),)


class ExpertRelation(Base):
    """关联关系: an organisation the expert declared a relation with (rules.RelationKind). An employment
    has dates; it counts for avoidance while it ended within the look-back (setting). A withdrawn
    declaration keeps its row with withdrawn_at set."""
    __tablename__ = "expert_relation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), nullable=False)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    from_on: Mapped[date | None] = mapped_column(Date)
    #: None: still current
    to_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_expert_relation_org", "org_id", "expert_id"),
        Index("ix_expert_relation_expert", "expert_id"),
        UniqueConstraint("expert_id", "org_id", "kind", "from_on", name="uq_expert_relation_key"),
    )
