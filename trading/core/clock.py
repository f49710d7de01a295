"""The one injectable clock. Services receive it in their context; tests move a FrozenClock between
named instants instead of sleeping or patching globals.

All instants are aware UTC datetimes; conversion to Beijing time happens only for display and for
calendar-day arithmetic (a 'day' in a statutory period is a Beijing calendar day)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock UTC time (the server is NTP-synchronised in production)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to. Thread-safe, so concurrent tests share it."""

    def __init__(self, start: datetime):
        self._lock = threading.Lock()
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = ensure_utc(instant)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now = self._now + (delta or timedelta(**kwargs))
            return self._now


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes: a naive value is ambiguous and would silently shift by 8 hours."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone (UTC is stored, Beijing time is shown)")
    return value.astimezone(UTC)


def to_beijing(value: datetime) -> datetime:
    return ensure_utc(value).astimezone(BEIJING)


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A Beijing wall-clock instant as aware UTC — how deadlines are written in notices."""
    return datetime(year, month, day, hour, minute, second, tzinfo=BEIJING).astimezone(UTC)


def rfc3339(value: datetime) -> str:
    """UTC with millisecond precision and a Z suffix; the form used in audit entries."""
    v = ensure_utc(value)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
