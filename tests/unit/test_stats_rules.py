"""The monthly report's pure rules: rates as Decimal percentages rounded half up from exact integers
(never floats), zero bases and empty months give None, month parsing and boundaries in Beijing time,
the due date by the 3rd and its light, and which lots a month counts (deals, failures, participants of
concluded lots only)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trading.core.clock import beijing
from trading.core.errors import InvalidInput
from trading.stats import rules
from trading.stats.rules import LotRow, Month


@pytest.mark.parametrize(("budget", "award", "expected"), [
    (100_000_00, 95_000_00, Decimal("5.00")),
    (300, 299, Decimal("0.33")),            # 0.3333… → 0.33
    (300, 298, Decimal("0.67")),            # 0.6666… → 0.67
    (8, 7, Decimal("12.50")),               # exactly 12.5
    (80_000, 79_999, Decimal("0.00")),      # 0.00125 → 0.00
    (40_000, 39_998, Decimal("0.01")),      # 0.005 → 0.01 (half up)
    (100, 100, Decimal("0.00")),
    (100, 110, Decimal("-10.00")),          # an award above the budget: negative savings
    (300, 301, Decimal("-0.33")),
    (200, 201, Decimal("-0.50")),
    (40_000, 40_002, Decimal("-0.01")),     # −0.005 → −0.01 (half away from zero)
    (0, 0, None),                           # zero budget: no rate
    (0, 100, None),
    (123_456_789_012_34, 98_765_432_109_87, Decimal("20.00")),  # 19.99999… at large amounts
])
def test_savings_rate(budget, award, expected):
    got = rules.savings_rate(budget, award)
    assert got == expected
    if got is not None:
        assert isinstance(got, Decimal) and got.as_tuple().exponent == -2


@pytest.mark.parametrize(("starting", "deal", "expected"), [
    (6_350_000_00, 7_137_400_00, Decimal("12.40")),
    (1_000, 1_000, Decimal("0.00")),
    (3, 4, Decimal("33.33")),
    (3, 5, Decimal("66.67")),
    (0, 5, None),
])
def test_premium_rate(starting, deal, expected):
    assert rules.premium_rate(starting, deal) == expected


@pytest.mark.parametrize(("num", "den", "places", "expected"), [
    (7, 2, 2, Decimal("3.50")), (1, 3, 1, Decimal("0.3")), (2, 3, 1, Decimal("0.7")), (1, 0, 2, None),
    (-1, 3, 2, Decimal("-0.33")), (1, -3, 2, Decimal("-0.33")), (5, 100, 1, Decimal("0.1")),
])
def test_ratio(num, den, places, expected):
    assert rules.ratio(num, den, places) == expected


@pytest.mark.parametrize("text", ["", "2026-13", "2026-00", "2026-1", "26-10", "abc", "1999-12", "2026-10-01", None, 202610])
def test_bad_month_refused(text):
    with pytest.raises(InvalidInput):
        rules.parse_month(text, beijing(2026, 11, 10, 9))


def test_month_bounds_and_due():
    now = beijing(2026, 11, 10, 9)
    m = rules.parse_month("2026-10", now)
    assert (m.start, m.end) == (beijing(2026, 10, 1), beijing(2026, 11, 1))
    assert m.due_at == beijing(2026, 11, 4) and str(m.due_date) == "2026-11-03"
    assert rules.parse_month("2026-11", now) == Month(2026, 11)
    with pytest.raises(InvalidInput) as err:
        rules.parse_month("2026-12", now)
    assert err.value.code == "stats.future_month"
    with pytest.raises(InvalidInput) as err:
        rules.parse_month("2026-11", now, completed_only=True)
    assert err.value.code == "stats.month_not_ended"
    assert Month(2026, 12).next() == Month(2027, 1) and Month(2027, 1).previous() == Month(2026, 12)
    assert Month(2026, 12).due_at == beijing(2027, 1, 4)
    # a Beijing month starts at 16:00 UTC the day before
    assert m.contains(beijing(2026, 10, 1)) and not m.contains(beijing(2026, 10, 1) - timedelta(seconds=1))
    assert not m.contains(beijing(2026, 11, 1)) and not m.contains(None)


@pytest.mark.parametrize(("now", "issued", "light"), [
    (beijing(2026, 11, 1, 9), {}, "green"),
    (beijing(2026, 11, 3, 8), {}, "yellow"),
    (beijing(2026, 11, 3, 23, 59), {}, "yellow"),
    (beijing(2026, 11, 4, 0, 0, 1), {}, "red"),
    (beijing(2026, 11, 20), {"2026-10": beijing(2026, 11, 2)}, "done"),
    (beijing(2026, 11, 20), {"2026-09": beijing(2026, 10, 2)}, "red"),
    (beijing(2027, 1, 2), {}, "green"),
])
def test_report_due(now, issued, light):
    due = rules.report_due(now, issued)
    assert due.light == light
    assert due.month == rules.month_of(now).previous()


def _row(lot_id, **kw) -> LotRow:
    base = dict(lot_id=lot_id, lot_code=f"L{lot_id:02d}", name=f"lot {lot_id}", category="works", owner_type="gov",
                procedure="selection", region_code="511000", region_name="城区", region_name_en="County seat",
                budget_fen=100_000_00)
    base.update(kw)
    return LotRow(**base)


OCT = Month(2026, 10)
IN = beijing(2026, 10, 15, 10)
BEFORE = beijing(2026, 9, 20, 10)


def test_no_trades():
    r = rules.monthly_report([], OCT)
    assert (r.deals, r.deal_fen, r.failed, r.announced, r.concluded) == (0, 0, 0, 0, 0)
    assert r.purchases.rate is None and r.sales.rate is None and r.failure_rate is None
    assert r.average_participants is None and r.by_trade_type == [] and r.largest == []
    assert all(d.average_days is None and d.lots == 0 for d in r.durations)


def test_month_counts_deals_failures_and_participants():
    rows = [
        # a purchase announced in September, awarded in October with a contract: savings 5 %
        _row(1, announced_at=BEFORE, deadline_at=BEFORE + timedelta(days=20), opened_at=BEFORE + timedelta(days=20),
             awarded_at=IN, contracted_at=IN + timedelta(days=3), deal_fen=95_000_00, participants=3),
        # a land sale auctioned in October: premium from the auction's starting price, not the lot budget
        _row(2, category="land", procedure="land_auction", region_code="511002", region_name="龙泉镇",
             region_name_en="Longquan", budget_fen=1, starting_fen=200_000_00, announced_at=BEFORE, awarded_at=IN,
             deal_fen=250_000_00, participants=2),
        # failed in October (two bidders opened)
        _row(3, announced_at=IN, failed_at=IN + timedelta(days=1), participants=2),
        # announced in October, still accepting: its would-be participants are never counted
        _row(4, announced_at=IN, participants=None),
        # awarded in November: not this month's
        _row(5, announced_at=IN, awarded_at=beijing(2026, 11, 1), deal_fen=1, participants=9),
        # failed, then awarded after a later attempt in the same lot row: a deal, not a failure
        _row(6, announced_at=BEFORE, failed_at=IN, awarded_at=IN, deal_fen=50_000_00, budget_fen=50_000_00,
             participants=None),
    ]
    r = rules.monthly_report(rows, OCT)
    assert r.announced == 3
    assert r.deals == 3 and r.deal_fen == 95_000_00 + 250_000_00 + 50_000_00
    assert r.failed == 1 and r.concluded == 4 and r.failure_rate == Decimal("25.00")
    assert (r.purchases.lots, r.purchases.base_fen, r.purchases.deal_fen) == (2, 150_000_00, 145_000_00)
    assert r.purchases.difference_fen == 5_000_00 and r.purchases.rate == Decimal("3.33")
    assert (r.sales.base_fen, r.sales.deal_fen, r.sales.rate) == (200_000_00, 250_000_00, Decimal("25.00"))
    assert (r.participants_lots, r.participants_total, r.average_participants) == (3, 7, Decimal("2.33"))
    assert [g.key for g in r.by_trade_type] == ["engineering", "land_mining"]  # works of a gov owner: 工程建设
    region = {g.key: g for g in r.by_region}
    assert region["511002"].deals == 1 and region["511002"].deal_fen == 250_000_00
    assert region["511000"].deals == 2 and region["511000"].failed == 1 and region["511000"].announced == 3
    d = {(x.start, x.end): x for x in r.durations}
    assert d[("announced", "deadline")].lots == 1 and d[("announced", "deadline")].average_days == Decimal("20.0")
    assert d[("awarded", "contracted")].average_days == Decimal("3.0")
    assert [x.lot_id for x in r.largest] == [2, 1, 6] and [x.lot_id for x in r.failed_lots] == [3]
