"""LotCriteria: a lot's evaluation criteria (评分细则), one row per version. A change is a new version;
no row is ever edited or deleted. The current criteria are the highest version.

Imports: core only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class LotCriteria(Base):
    __tablename__ = "lot_criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot_trade.lot_id"), nullable=False)
    #: 1, 2, … per lot
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: criteria.rules.Criteria.to_body(): method, price weight, items, rejection checklist (points as text)
    body: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: SHA-256 (hex) of the canonical JSON of body; kept in the audit entry and on the report
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: a re-announced attempt starts from the failed attempt's criteria (that row), a draft the owner
    #: reviews and may change until the new deadline like any version
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("lot_criteria.id"))

    __table_args__ = (UniqueConstraint("lot_id", "version", name="uq_lot_criteria_version"),)
