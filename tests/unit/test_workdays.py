"""Period arithmetic of reference/workdays.py (rules.md §0.1) on the official 2026 schedule:
start day excluded, calendar vs working days, make-up working days (调休), a period ending on a rest
day rolls forward, boundaries, and an unloaded year failing closed."""

from __future__ import annotations

from datetime import date

import pytest

from trading.core.clock import beijing, to_beijing
from trading.reference.services import builtin_days
from trading.reference.workdays import (
    CalendarYearMissing,
    Unit,
    WorkCalendar,
    days_between,
    earliest_compliant,
    end_of_day,
    from_days,
    meets_minimum,
    period_end,
    period_last_day,
)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])


@pytest.mark.parametrize("day, working", [
    (date(2026, 9, 18), True),    # Friday
    (date(2026, 9, 19), False),   # Saturday
    (date(2026, 9, 20), True),    # Sunday, make-up working day for National Day
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 7), False),   # last day of the block (a Wednesday)
    (date(2026, 10, 8), True),    # Thursday after the block
    (date(2026, 10, 10), True),   # Saturday, make-up working day
    (date(2026, 10, 11), False),  # Sunday
    (date(2026, 2, 14), True),    # Saturday, make-up day before the Spring Festival
    (date(2026, 2, 16), False),   # Spring Festival Monday
    (date(2026, 2, 23), False),   # Spring Festival, last day (a Monday)
    (date(2026, 2, 24), True),
    (date(2026, 2, 28), True),    # Saturday, make-up day after the Spring Festival
])
def test_working_days_follow_the_official_schedule(cal, day, working):
    assert cal.is_workday(day) is working


def test_calendar_days_count_every_day_working_days_skip_national_day(cal):
    start, end = date(2026, 9, 29), date(2026, 10, 9)
    assert days_between(cal, start, end, Unit.CD) == 10
    # 9-30 (Wed), 10-08 (Thu), 10-09 (Fri): the holiday block does not count
    assert days_between(cal, start, end, Unit.WD) == 3


def test_start_day_is_not_counted(cal):
    assert days_between(cal, date(2026, 11, 10), date(2026, 11, 10), Unit.CD) == 0
    assert days_between(cal, date(2026, 11, 10), date(2026, 11, 11), Unit.CD) == 1
    assert days_between(cal, date(2026, 11, 10), date(2026, 11, 11), Unit.WD) == 1


def test_make_up_working_days_count(cal):
    # 9-18 Fri → 9-20 Sun: only the make-up Sunday counts
    assert days_between(cal, date(2026, 9, 18), date(2026, 9, 20), Unit.WD) == 1
    # 10-09 Fri → 10-10 Sat (make-up) → 10-12 Mon
    assert days_between(cal, date(2026, 10, 9), date(2026, 10, 12), Unit.WD) == 2


def test_three_working_days_across_national_day(cal):
    # issued Tuesday 9-29: 9-30, 10-08, 10-09 are the three working days
    assert period_last_day(cal, date(2026, 9, 29), 3, Unit.WD) == date(2026, 10, 9)


def test_working_days_across_the_spring_festival_block(cal):
    # issued Thursday 2-12: 2-13 (Fri), 2-14 (make-up Sat), then 2-24 after the block
    assert period_last_day(cal, date(2026, 2, 12), 3, Unit.WD) == date(2026, 2, 24)
    assert days_between(cal, date(2026, 2, 12), date(2026, 2, 23), Unit.WD) == 2


def test_calendar_period_ending_on_a_holiday_rolls_forward(cal):
    # 9-25 + 7 days = 10-02, inside the National Day block → ends on 10-08
    assert period_last_day(cal, date(2026, 9, 25), 7, Unit.CD) == date(2026, 10, 8)
    # ending on an ordinary Saturday rolls to Monday
    assert period_last_day(cal, date(2026, 11, 9), 5, Unit.CD) == date(2026, 11, 16)
    # ending on a make-up Saturday does not roll
    assert period_last_day(cal, date(2026, 10, 5), 5, Unit.CD) == date(2026, 10, 10)


def test_spring_festival_calendar_period_rolls_past_the_block(cal):
    assert period_last_day(cal, date(2026, 2, 10), 5, Unit.CD) == date(2026, 2, 24)


def test_period_end_is_midnight_beijing_of_the_last_day(cal):
    end = period_end(cal, beijing(2026, 9, 29, 15, 0), 3, Unit.WD)
    assert end == end_of_day(date(2026, 10, 9))
    assert to_beijing(end).date() == date(2026, 10, 10) and to_beijing(end).hour == 0


@pytest.mark.parametrize("unit, n, start, exactly", [
    (Unit.CD, 20, beijing(2026, 11, 12, 10), beijing(2026, 12, 2, 9, 30)),
    (Unit.WD, 3, beijing(2026, 9, 29, 10), beijing(2026, 10, 9, 9, 30)),
    (Unit.WD, 10, beijing(2026, 11, 10, 9), beijing(2026, 11, 24, 17)),
])
def test_boundary_exactly_n_passes_one_less_fails(cal, unit, n, start, exactly):
    assert meets_minimum(cal, start, exactly, n, unit)
    assert not meets_minimum(cal, start, exactly, n + 1, unit)
    assert days_between(cal, to_beijing(start).date(), to_beijing(exactly).date(), unit) == n


def test_meets_minimum_uses_beijing_dates_not_utc(cal):
    # 2026-11-12 00:30 Beijing is still 11-11 in UTC; counting must use the Beijing date
    start = beijing(2026, 11, 12, 0, 30)
    assert meets_minimum(cal, start, beijing(2026, 11, 15, 9), 3, Unit.CD)
    assert not meets_minimum(cal, start, beijing(2026, 11, 14, 23, 59), 3, Unit.CD)


def test_earliest_compliant(cal):
    assert earliest_compliant(cal, beijing(2026, 9, 29, 10), 3, Unit.WD) == date(2026, 10, 9)
    assert earliest_compliant(cal, beijing(2026, 11, 12, 10), 15, Unit.CD) == date(2026, 11, 27)


def test_unloaded_year_fails_closed(cal):
    with pytest.raises(CalendarYearMissing) as err:
        cal.is_workday(date(2027, 1, 4))
    assert err.value.year == 2027 and err.value.code == "calendar.year_missing"
    assert "2027" in err.value.message_zh and "管理员" in err.value.message_zh
    with pytest.raises(CalendarYearMissing):
        period_last_day(cal, date(2026, 12, 28), 5, Unit.WD)
    # a calendar-day period whose last day lands in 2027 cannot be checked for a holiday either
    with pytest.raises(CalendarYearMissing):
        period_last_day(cal, date(2026, 12, 20), 20, Unit.CD)


def test_working_days_within_a_loaded_year_do_not_need_the_next(cal):
    assert period_last_day(cal, date(2026, 12, 24), 3, Unit.WD) == date(2026, 12, 29)
