"""Panels (评标委员会/比选委员会/谈判小组/询价小组) drawn for a lot and their members.

A lot may have several Panel rows over time (a panel re-formed after a failed completion keeps the
old one as `closed`); at most one is not closed — enforced by the draw services. Members are never
deleted: a replaced member stays with status `replaced` and a link to the member who took the seat.

Imports: core only (the FKs name tables of accounts, procedures.common and evaluation.experts/draw)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class PanelKind(StrEnum):
    COMMITTEE = "committee"                 # 评标委员会 / 比选委员会
    NEGOTIATION_TEAM = "negotiation_team"   # 谈判小组
    INQUIRY_TEAM = "inquiry_team"           # 询价小组


class PanelStatus(StrEnum):
    DRAWING = "drawing"   # requested, draw not yet complete
    SEALED = "sealed"     # complete; names sealed until the evaluation starts
    ACTIVE = "active"     # evaluation started: names visible to the members and the operator
    CLOSED = "closed"     # ended (report signed) or re-formed


class MemberRole(StrEnum):
    EXPERT = "expert"
    BUYER_REP = "buyer_rep"
    CHAIR = "chair"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"
    DECLINED = "declined"


class Panel(Base):
    """The panel of one lot."""
    __tablename__ = "panel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: PanelKind
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    #: members in all (experts + buyer representatives)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: experts among them (≥ 2/3 of size)
    experts_required: Mapped[int] = mapped_column(Integer, nullable=False)
    #: PanelStatus
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: names stay sealed until start_panel; kept for the record (when the seal was lifted, if it was)
    sealed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the initial draw
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("expert_draw.id"))

    __table_args__ = (Index("ix_panel_lot", "lot_id", "status"),)


class PanelMember(Base):
    """One seat of a panel."""
    __tablename__ = "panel_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panel.id"), nullable=False)
    #: None for a buyer representative
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("expert.id"))
    #: the account the member signs in with (role EXPERT, or OWNER for a buyer representative)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: MemberRole
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    #: MemberStatus
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("panel_member.id"))
    replaced_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_panel_member_panel", "panel_id", "status"),
        Index("ix_panel_member_user", "user_id"),
        Index("ix_panel_member_expert", "expert_id"),
    )
