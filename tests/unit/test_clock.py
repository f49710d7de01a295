"""The injectable clock and UTC handling."""

from datetime import UTC, datetime, timedelta

import pytest

from trading.core.clock import FrozenClock, beijing, ensure_utc, rfc3339, to_beijing


def test_frozen_clock_moves_only_when_told():
    c = FrozenClock(beijing(2026, 11, 10, 9, 0))
    assert c.now() == datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    c.advance(minutes=90)
    assert c.now() == datetime(2026, 11, 10, 2, 30, tzinfo=UTC)
    c.set(beijing(2026, 12, 1))
    assert to_beijing(c.now()).day == 1


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        ensure_utc(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))


def test_beijing_is_utc_plus_8_without_dst():
    assert beijing(2026, 7, 1, 8, 0) == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert beijing(2026, 1, 1, 0, 0) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)


def test_rfc3339_milliseconds():
    v = datetime(2026, 3, 25, 1, 30, 0, 123456, tzinfo=UTC)
    assert rfc3339(v) == "2026-03-25T01:30:00.123Z"
    assert rfc3339(v + timedelta(hours=8)) == "2026-03-25T09:30:00.123Z"
