"""Notices (公告). A published notice is never edited: a change is a new notice linked to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trading.core.db import Base, Fen, UTCDateTime


class Notice(Base):
    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    #: NoticeKind: announcement, change, candidates, result, termination, contract, land_grant, deal_publicity …
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: SHA-256 of the body as published (shown on the portal, kept in the audit entry)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    #: draft | published
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    #: the notice this one changes or follows (chain per project)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"))
    #: the later published notice that replaces this one's dates (a change) or ends the trade (a
    #: termination); the portal shows such a notice as ended and points to the newer one
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Key dates (all optional; which apply depends on kind and procedure)
    docs_from: Mapped[datetime | None] = mapped_column(UTCDateTime)        # 文件获取开始
    docs_until: Mapped[datetime | None] = mapped_column(UTCDateTime)       # 文件获取截止
    objection_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 异议截止
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)      # 投标/响应/竞买申请截止
    opening_at: Mapped[datetime | None] = mapped_column(UTCDateTime)       # 开标/开始竞价
    opening_place: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    closing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)       # 挂牌截止/信息披露期满
    publicity_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 公示期截止
    # Copies of project fields for the portal's filtered lists (a notice's project never changes)
    trade_type: Mapped[str] = mapped_column(String(20), nullable=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    project_code: Mapped[str] = mapped_column(String(40), nullable=False)

    previous: Mapped[Notice | None] = relationship(remote_side=[id], foreign_keys=[previous_id])

    # Portal lists filter on these columns and order by (published_at, id) descending: each index
    # carries id so a page's ids come from an index-only scan (deep pages stay cheap); the main one
    # also carries the title, so a keyword (LIKE '%…%') is matched in the index, not the wide rows;
    # the deadline and publicity indexes cover the status filter (报名中/已截止/公示中/已结束).
    __table_args__ = (
        Index("ix_notice_status_published", "status", "published_at", "id", "title"),
        Index("ix_notice_type_published", "status", "trade_type", "published_at", "id"),
        Index("ix_notice_kind_published", "status", "kind", "published_at", "id"),
        Index("ix_notice_region_published", "status", "region_id", "published_at", "id"),
        Index("ix_notice_project", "project_id", "id"),
        Index("ix_notice_project_code", "project_code"),
        Index("ix_notice_opening", "status", "opening_at"),
        Index("ix_notice_deadline", "status", "deadline_at", "publicity_until", "superseded_by_id"),
        Index("ix_notice_publicity", "status", "publicity_until"),
    )


class NoticeTerm(Base):
    """The posting lists of the portal's keyword search: one row per character bigram of a published
    notice's title (rules.title_terms), written by publish_notice — a published title never changes.
    The primary key (term, notice_id) is the index the search reads: a term's notices in id order,
    from the index alone."""

    __tablename__ = "notice_term"

    term: Mapped[str] = mapped_column(String(2), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), primary_key=True)


class LotTrade(Base):
    """The trading state of one lot (标段/包) once its announcement is published: the dates that the
    server enforces (copied from the current announcement or change notice), the sealed-offer limits
    and where the lot stands. Created by `lots.on_notice_published`; the opening key of a lot that
    takes sealed offers is made in the same transaction (opening.services.run_ceremony)."""
    __tablename__ = "lot_trade"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), primary_key=True, autoincrement=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False, index=True)
    #: the lot's trade code: the lot_id of every sealed-offer context
    lot_code: Mapped[str] = mapped_column(String(44), unique=True, nullable=False)
    #: the published notice whose dates are in force (an announcement, then each change)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), nullable=False)
    #: Project.procedure, copied (a project's procedure never changes after acceptance)
    procedure: Mapped[str] = mapped_column(String(30), nullable=False)
    #: True when the procedure takes sealed offers (tender, 比选, 谈判, 磋商, 询价, land/mining tender)
    sealed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    docs_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    docs_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: 投标/响应截止: server time decides; an upload completing at or after it is refused
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opening_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: largest sealed payload accepted per part, in bytes (setting offer.max_part_mib at publication)
    max_part_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: 投标保证金 per bidder (fen); 0 when the lot asks none
    deposit_fen: Mapped[int] = mapped_column(Fen, nullable=False, default=0)
    #: fewer valid offers than this at the opening ends the lot as failed (流标)
    min_valid_offers: Mapped[int] = mapped_column(Integer, nullable=False)
    #: LotStatus: accepting → closed → opening → opened | failed, then the procedure's machine (flow.py)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: 1 for a lot's first announcement. A re-announcement after 流标 is a new attempt: a new Lot row of
    #: the same project (code "<first code>-A<cycle>", A for attempt) with its own LotTrade, deadline,
    #: opening key, registrations and envelopes; the failed attempt keeps its rows, "reannounced"
    cycle: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: the failed attempt this one re-announces (cycle > 1)
    previous_lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot_trade.lot_id"))
