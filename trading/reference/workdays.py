"""Counting statutory periods (domain/rules.md §0.1), pure.

- The start day is not counted; counting starts the next day.
- CD (calendar days): if the last day is a statutory rest day, the period ends on the next working day.
- WD (working days): only working days count; make-up working days (调休) count, holidays do not.
- The last day ends at 24:00 Beijing time.
- A year nobody has loaded cannot be counted lawfully: CalendarYearMissing (fail closed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from trading.core.clock import BEIJING, to_beijing
from trading.core.errors import RuleViolation


class Unit(StrEnum):
    CD = "CD"  # calendar days (日)
    WD = "WD"  # working days (工作日)


class CalendarYearMissing(RuleViolation):
    def __init__(self, year: int):
        super().__init__(
            "calendar.year_missing",
            f"{year}年的法定节假日安排尚未导入，无法依法计算工作日期限。请系统管理员导入国务院办公厅公布的{year}年节假日安排后再试。",
            f"The {year} holiday schedule has not been loaded, so working-day periods cannot be computed. "
            f"An administrator must load the State Council's {year} schedule first.",
            details={"year": year})
        self.year = year


@dataclass(frozen=True)
class WorkCalendar:
    """holidays: statutory rest days on weekdays; workdays: make-up working days on weekends."""
    loaded_years: frozenset[int]
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, d: date) -> bool:
        if d.year not in self.loaded_years:
            raise CalendarYearMissing(d.year)
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def next_workday(self, d: date) -> date:
        """d itself if it is a working day, else the next one."""
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d


def beijing_date(instant: datetime) -> date:
    return to_beijing(instant).date()


def end_of_day(d: date) -> datetime:
    """24:00 Beijing time of day d, as an aware instant (= 00:00 of the next day)."""
    return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=BEIJING)


def period_last_day(cal: WorkCalendar, start: date, n: int, unit: Unit) -> date:
    """The last day of a period of n units that starts on `start` (start not counted)."""
    if n < 0:
        raise ValueError("period length must be non-negative")
    if unit == Unit.CD:
        last = start + timedelta(days=n)
        return cal.next_workday(last) if n > 0 else last
    d, counted = start, 0
    while counted < n:
        d += timedelta(days=1)
        if cal.is_workday(d):
            counted += 1
    return d


def period_end(cal: WorkCalendar, start_instant: datetime, n: int, unit: Unit) -> datetime:
    """The instant a period ends: 24:00 Beijing time of its last day."""
    return end_of_day(period_last_day(cal, beijing_date(start_instant), n, unit))


def days_between(cal: WorkCalendar, a: date, b: date, unit: Unit) -> int:
    """Days after a, up to and including b (start day excluded). Negative when b precedes a."""
    if b <= a:
        return (b - a).days if unit == Unit.CD else -_count_workdays(cal, b, a)
    return (b - a).days if unit == Unit.CD else _count_workdays(cal, a, b)


def _count_workdays(cal: WorkCalendar, a: date, b: date) -> int:
    d, count = a, 0
    while d < b:
        d += timedelta(days=1)
        if cal.is_workday(d):
            count += 1
    return count


def meets_minimum(cal: WorkCalendar, a: datetime, b: datetime, n: int, unit: Unit) -> bool:
    """"At least n days from a to b", counted on Beijing dates with the start day excluded."""
    return days_between(cal, beijing_date(a), beijing_date(b), unit) >= n


def earliest_compliant(cal: WorkCalendar, a: datetime, n: int, unit: Unit) -> date:
    """The first Beijing date b with days_between(a, b) >= n — what a refusal proposes instead."""
    start = beijing_date(a)
    if unit == Unit.CD:
        return start + timedelta(days=n)
    return period_last_day(cal, start, n, unit)


def from_days(years: Iterable[int], entries: Iterable[tuple[date, bool]]) -> WorkCalendar:
    """Build from stored rows: (date, is_workday) exceptions to the Monday–Friday rule."""
    holidays, workdays = set(), set()
    for d, is_work in entries:
        (workdays if is_work else holidays).add(d)
    return WorkCalendar(frozenset(years), frozenset(holidays), frozenset(workdays))
