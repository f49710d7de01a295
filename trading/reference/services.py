"""Use cases for reference data: change a rule setting, load a calendar year, read the calendar."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import delete, select

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import InvalidInput

from .models import CalendarDay, CalendarYear, Region, RuleSetting
from .settings import definition, get_setting, validate_value
from .workdays import WorkCalendar, from_days

ADMIN = "admin"


def update_setting(ctx: ServiceContext, code: str, value: object) -> RuleSetting:
    ctx.require(ADMIN)
    d = definition(code)
    value = validate_value(d, value)
    old = get_setting(ctx, code)
    row = ctx.session.get(RuleSetting, code)
    if row is None:
        row = RuleSetting(code=code, value=value, updated_at=ctx.now(), updated_by=ctx.actor.user_id)
        ctx.session.add(row)
    else:
        row.value, row.updated_at, row.updated_by = value, ctx.now(), ctx.actor.user_id
    ctx.cache.pop("settings", None)
    record(ctx, "setting.updated", "setting", code, payload={"value": [old, value], "source": d.source})
    return row


def load_calendar_year(ctx: ServiceContext, year: int, days: list[tuple[date, bool, str]], source: str) -> CalendarYear:
    """Load (or reload) one year's official exceptions: weekday holidays and make-up working days.
    A reload replaces that year's rows; the audit entry keeps both versions' digests."""
    ctx.require(ADMIN, "system")
    if not (2000 <= year <= 2100):
        raise InvalidInput("calendar.year_range", "年份超出范围", "Year out of range", field="year")
    if not source or len(source) > 200:
        raise InvalidInput("calendar.source", "请注明节假日安排的来源文件（如国务院办公厅通知文号）",
                           "Name the source of the schedule (e.g. the State Council notice number)", field="source")
    for d, _, _ in days:
        if d.year != year:
            raise InvalidInput("calendar.wrong_year", f"日期 {d.isoformat()} 不属于 {year} 年",
                               f"Date {d.isoformat()} is not in {year}", field="days")
    if len({d for d, _, _ in days}) != len(days):
        raise InvalidInput("calendar.duplicate_day", "同一日期出现多次", "A date appears twice", field="days")
    existing = ctx.session.get(CalendarYear, year)
    ctx.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
    for d, is_work, name in days:
        ctx.session.add(CalendarDay(day=d, is_workday=is_work, name=name[:40]))
    if existing is None:
        existing = CalendarYear(year=year, source=source, loaded_at=ctx.now(), loaded_by=ctx.actor.user_id)
        ctx.session.add(existing)
    else:
        existing.source, existing.loaded_at, existing.loaded_by = source, ctx.now(), ctx.actor.user_id
    ctx.cache.pop("calendar", None)
    from .alerts import calendar_key, resolve_alerts
    resolve_alerts(ctx, calendar_key(year))
    digest_src = json.dumps([[d.isoformat(), w, n] for d, w, n in sorted(days)], ensure_ascii=False)
    import hashlib
    record(ctx, "calendar.year_loaded", "calendar_year", year,
           payload={"source": source, "days": len(days), "sha256": hashlib.sha256(digest_src.encode()).hexdigest()})
    ctx.session.flush()
    return existing


def builtin_years() -> list[int]:
    """Years the chinese-calendar package knows (official schedules it ships)."""
    from chinese_calendar import constants
    return sorted({d.year for d in constants.holidays})


def builtin_days(year: int) -> list[tuple[date, bool, str]]:
    from chinese_calendar import constants
    out = [(d, False, str(name)) for d, name in constants.holidays.items() if d.year == year]
    out += [(d, True, str(name)) for d, name in constants.workdays.items() if d.year == year]
    return sorted(out)


def load_builtin_years(ctx: ServiceContext, years: list[int] | None = None) -> list[int]:
    """Load the schedules chinese-calendar ships (up to 2026 for release 1.11.0). Never invents a year."""
    known = builtin_years()
    wanted = years or known
    missing = [y for y in wanted if y not in known]
    if missing:
        raise InvalidInput("calendar.not_builtin", f"内置日历不含 {missing} 年，请导入官方安排文件",
                           f"The built-in calendar lacks {missing}; load the official schedule file", field="years")
    for y in wanted:
        load_calendar_year(ctx, y, builtin_days(y), f"chinese-calendar 1.11.0（国务院办公厅{y}年节假日安排）")
    return wanted


def get_calendar(ctx: ServiceContext) -> WorkCalendar:
    cal = ctx.cache.get("calendar")
    if cal is None:
        years = ctx.session.execute(select(CalendarYear.year)).scalars().all()
        days = ctx.session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
        cal = from_days(years, [(d, w) for d, w in days])
        ctx.cache["calendar"] = cal
    return cal


def create_region(ctx: ServiceContext, *, code: str, name: str, name_en: str = "", sort: int = 0) -> Region:
    """Add the county seat or a township (reference data the administrator maintains)."""
    ctx.require(ADMIN, "system")
    code = (code or "").strip()
    name = (name or "").strip()
    if not code.isascii() or not code.isalnum() or not 1 <= len(code) <= 12:
        raise InvalidInput("region.code", "区划代码须为 1–12 位字母或数字", "The region code must be 1–12 letters or digits",
                           field="code")
    if not 1 <= len(name) <= 40:
        raise InvalidInput("region.name", "名称须为 1–40 个字", "The name must have 1–40 characters", field="name")
    if len(name_en) > 60:
        raise InvalidInput("region.name_en", "英文名称不能超过 60 个字符", "The English name may have at most 60 characters",
                           field="name_en")
    if ctx.session.execute(select(Region.id).where(Region.code == code)).first() is not None:
        from trading.core.errors import Conflict
        raise Conflict("region.duplicate", f"区划代码 {code} 已存在", f"Region code {code} exists already", field="code")
    region = Region(code=code, name=name, name_en=name_en.strip(), sort=sort)
    ctx.session.add(region)
    ctx.session.flush()
    record(ctx, "region.created", "region", region.id, payload={"code": code, "name": name, "name_en": region.name_en})
    return region


def list_regions(session) -> list[Region]:
    return list(session.execute(select(Region).order_by(Region.sort, Region.code)).scalars())
