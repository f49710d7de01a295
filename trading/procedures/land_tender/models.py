"""招标出让 records: the parcel (宗地) or mining right a tender grants, as the grant notice describes
it (one row per lot, replaced in place by the owner before the bid deadline; every version is in the
audit trail, land_tender.parcel_set, old → new), and the owner's sealed reserve price (底价) or its
recorded choice of none (TenderReserve)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class TenderParcel(Base):
    """The object of a land / mining tender lot (rules.Parcel). The figures mirror the auction's
    parcel (auction.models.Auction): 宗地编号, 坐落, area in ㎡ (亩 derived), 用途, 出让年限, 容积率,
    and for a mining right the 矿种."""
    __tablename__ = "tender_parcel"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), primary_key=True, autoincrement=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False, index=True)
    #: 宗地编号, or the mining right's name (矿业权名称)
    subject_ref: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    location: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    #: 土地用途, e.g. 城镇住宅用地
    land_use: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    #: 出让年限 (years)
    term_years: Mapped[int | None] = mapped_column(Integer)
    #: 容积率 as announced ("1.0–2.5", "≤2.0")
    plot_ratio: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    #: 开采矿种 (mining rights)
    mineral: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class TenderReserve(Base):
    """The owner's choice about a 底价 for a 招标出让 lot, recorded before the bid deadline, write-once:
    none (status "none"), or a sealed ptbid/v1 envelope, part "reserve" (procedures.common.reserve),
    sealed to the lot's own opening key — the one its offers are sealed to — and opened with them at
    the opening. No column holds the amount until then (reserve_fen is written by the opening). A lot
    without a row after the deadline has no reserve."""
    __tablename__ = "tender_reserve"

    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), primary_key=True, autoincrement=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), nullable=False, index=True)
    #: none (the owner recorded that the lot has no reserve) | uploading | sealed | opened | failed
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    #: who recorded the choice (none, or started sealing) and when
    decided_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    submission_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    #: the sealing organisation's 统一社会信用代码: the envelope context's bidder_id
    sealer_code: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    manifest: Mapped[dict | None] = mapped_column(JSON)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    #: the signer's raw public point (65 bytes), presented with the envelope
    signer_public: Mapped[bytes | None] = mapped_column(LargeBinary(65))
    sealed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the opened amount (fen); None until the opening, and when the envelope failed
    reserve_fen: Mapped[int | None] = mapped_column(BigInteger)
    #: failed opening: the envelope failure kind or reserve.bad_sheet
    failure_kind: Mapped[str | None] = mapped_column(String(40))
