"""招标出让 records: the parcel (宗地) or mining right a tender grants, as the grant notice describes
it. One row per lot, replaced in place by the owner before the bid deadline; every version is in the
audit trail (land_tender.parcel_set, old → new)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, Numeric, String
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
