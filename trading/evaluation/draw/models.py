"""The record of one expert draw (抽取): the request, the committed seed (its SHA-256 is in the
audit trail before the draw) and the pool snapshot frozen at the request (its SHA-256 committed
with it), and after the run the revealed seed and the drawn expert ids. The seed is never shown on
a page before the run.

Imports: core only."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class ExpertDraw(Base):
    __tablename__ = "expert_draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: initial | replacement
    purpose: Mapped[str] = mapped_column(String(12), nullable=False)
    #: requested | run
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    #: panel kind and sizes of the request; `count` = experts to draw in this draw
    panel_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    experts_required: Mapped[int] = mapped_column(Integer, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    specialties: Mapped[list] = mapped_column(JSON, nullable=False)
    #: organisations to avoid (owner, agency, bidders, extra ones named by the operator), sorted
    avoid_org_ids: Mapped[list] = mapped_column(JSON, nullable=False)
    #: expert ids excluded outright (a replacement excludes every member ever drawn for the lot)
    exclude_expert_ids: Mapped[list] = mapped_column(JSON, nullable=False)
    evaluation_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: 32 random bytes from `secrets`; SHA-256 of it committed in the request's audit entry
    seed: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    seed_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: for a replacement: the PanelMember whose seat is refilled (no FK: panel_member → panel → draw)
    replaces_member_id: Mapped[int | None] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pool_size: Mapped[int | None] = mapped_column(Integer)
    eligible_count: Mapped[int | None] = mapped_column(Integer)
    #: the ids the avoidance filters leave in the frozen snapshot, sorted (rules.eligible); their
    #: digest is committed with the request, the run only samples them
    eligible_ids: Mapped[list | None] = mapped_column(JSON)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    #: drawn expert ids in draw order
    result: Mapped[list | None] = mapped_column(JSON)
    #: zlib of rules.snapshot_bytes(pool): the candidates frozen at the request; its SHA-256 is
    #: committed in the request's audit entry (with the seed's), so a verifier re-runs the draw from
    #: it and the trail alone
    snapshot: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_expert_draw_lot", "lot_id", "id"),)
