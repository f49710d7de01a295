"""Read-only views for the administration pages: rule settings with their source, loaded calendar
years, open alerts, head counts. Imports reference models and this package's models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.reference.alerts import open_alerts
from trading.reference.models import CalendarDay, CalendarYear, RuleSetting
from trading.reference.settings import SettingDef, catalogue, definition

from .models import Organisation, User


@dataclass(frozen=True)
class SettingRow:
    d: SettingDef
    current: int
    overridden: bool
    updated_at: datetime | None


def settings_overview(session: Session) -> list[SettingRow]:
    """Every catalogue entry with its default, current value and whether the centre overrides it."""
    rows = {r.code: r for r in session.execute(select(RuleSetting)).scalars()}
    out = []
    for code, d in sorted(catalogue().items()):
        row = rows.get(code)
        out.append(SettingRow(d, row.value if row else d.default, row is not None, row.updated_at if row else None))
    return out


def setting_row(session: Session, code: str) -> SettingRow:
    d = definition(code)  # NotFound for an unknown code
    row = session.get(RuleSetting, code)
    return SettingRow(d, row.value if row else d.default, row is not None, row.updated_at if row else None)


@dataclass(frozen=True)
class YearRow:
    year: int
    source: str
    loaded_at: datetime
    holidays: int
    workdays: int


def calendar_years(session: Session) -> list[YearRow]:
    years = session.execute(select(CalendarYear).order_by(CalendarYear.year.desc())).scalars().all()
    counts: dict[tuple[int, bool], int] = {}
    for day, is_work in session.execute(select(CalendarDay.day, CalendarDay.is_workday)):
        counts[(day.year, is_work)] = counts.get((day.year, is_work), 0) + 1
    return [YearRow(y.year, y.source, y.loaded_at, counts.get((y.year, False), 0), counts.get((y.year, True), 0))
            for y in years]


def admin_summary(session: Session) -> dict:
    return {
        "organisations": session.execute(select(func.count(Organisation.id))).scalar_one(),
        "users": session.execute(select(func.count(User.id)).where(User.is_active.is_(True))).scalar_one(),
        "years": session.execute(select(func.count(CalendarYear.year))).scalar_one(),
        "alerts": open_alerts(session),
    }
