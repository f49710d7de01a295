"""Reference tables: rule settings, the loaded calendar years and their exception days, regions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class RuleSetting(Base):
    """A centre's override of a rule figure; absent rows mean the default of the catalogue."""
    __tablename__ = "rule_setting"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: JSON integer or boolean (money in fen, periods in days, ratios in basis points)
    value: Mapped[int] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CalendarYear(Base):
    """A year whose official holiday schedule (国务院办公厅通知) has been loaded."""
    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: where the schedule came from (e.g. 国办发明电〔2025〕7号 or the chinese-calendar package)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    loaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class CalendarDay(Base):
    """An exception to Monday–Friday: a weekday holiday (is_workday False) or a make-up working day."""
    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False, default="")


class Region(Base):
    """County seat (城区) or a township (乡镇), for notices and statistics."""
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    name_en: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AdminAlert(Base):
    """Something an administrator must act on, e.g. a working-day period refused because its year's
    holiday schedule is not loaded (fail closed, rules.md §0.1). One open alert per key."""
    __tablename__ = "admin_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: deduplication key, e.g. "calendar.year_missing:2027"
    key: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    message: Mapped[str] = mapped_column(String(400), nullable=False)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: how many times the condition was hit while open
    hits: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
