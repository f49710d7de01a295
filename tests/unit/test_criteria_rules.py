"""Criteria (评分细则) validation and the price-score formula, as tables of plain values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.core.errors import InvalidInput
from trading.evaluation.criteria.rules import (
    Method,
    WeightLimits,
    check_method,
    criteria_from_body,
    parse_criteria,
    price_score,
    round_points,
    template_body,
    weight_limits,
)

LIMITS = WeightLimits(10, 60)


def body(**over):
    b = template_body()
    b.update(over)
    return b


def test_template_is_valid_and_round_trips():
    c = parse_criteria(template_body(), LIMITS)
    assert c.method == Method.COMPREHENSIVE and c.price_weight == Decimal(40)
    assert sum(i.max_points for i in c.items) + c.price_weight == 100
    assert criteria_from_body(c.to_body()) == c
    low = parse_criteria(template_body(Method.LOWEST_PRICE), LIMITS)
    assert low.method == Method.LOWEST_PRICE and low.items == () and len(low.rejections) == 5


ITEMS_60 = [{"code": "T1", "name": "技术", "group": "technical", "max": "45"},
            {"code": "C1", "name": "商务", "group": "commercial", "max": "15"}]


@pytest.mark.parametrize("over, code", [
    ({"method": "auction"}, "criteria.method"),
    ({"price_weight": "9"}, "criteria.price_weight_range"),          # below the category minimum
    ({"price_weight": "61"}, "criteria.price_weight_range"),         # above the maximum
    ({"price_weight": 40.0}, "criteria.points"),                      # a float is refused
    ({"price_weight": "40.005"}, "criteria.points"),                  # three decimals
    ({"price_weight": "41"}, "criteria.total"),                       # 41 + 60 = 101
    ({"price_weight": "39.99"}, "criteria.total"),                    # 99.99
    ({"items": []}, "criteria.items"),
    ({"items": [{**ITEMS_60[0], "max": "0"}, ITEMS_60[1]]}, "criteria.item_max"),
    ({"items": [{**ITEMS_60[0], "max": "-5"}, ITEMS_60[1]]}, "criteria.item_max"),
    ({"items": [ITEMS_60[0], {**ITEMS_60[1], "code": "T1"}]}, "criteria.duplicate_code"),
    ({"items": [ITEMS_60[0], {**ITEMS_60[1], "name": " "}]}, "criteria.name"),
    ({"items": [ITEMS_60[0], {**ITEMS_60[1], "group": "price"}]}, "criteria.group"),
    ({"rejections": []}, "criteria.rejections"),
    ({"rejections": [{"code": "T1", "name": "重复编号"}]}, "criteria.duplicate_code"),
    ({"max_price_fen": 12.5}, "criteria.max_price"),
    ({"max_price_fen": 0}, "criteria.max_price"),
    ({"tie_break": "coin"}, "criteria.tie_break"),
])
def test_invalid_bodies_are_refused_with_a_stable_code(over, code):
    b = body(items=ITEMS_60, price_weight="40")
    b.update(over)
    with pytest.raises(InvalidInput) as err:
        parse_criteria(b, LIMITS)
    assert err.value.code == code


@pytest.mark.parametrize("weight, ok", [("10", True), ("60", True), ("9.99", False), ("60.01", False)])
def test_price_weight_boundaries(weight, ok):
    rest = Decimal(100) - Decimal(weight)
    b = body(price_weight=weight, items=[{"code": "T1", "name": "技术", "group": "technical", "max": str(rest)}])
    if ok:
        assert parse_criteria(b, LIMITS).price_weight == Decimal(weight)
    else:
        with pytest.raises(InvalidInput):
            parse_criteria(b, LIMITS)


def test_lowest_price_takes_no_items():
    with pytest.raises(InvalidInput) as err:
        parse_criteria({**template_body(Method.LOWEST_PRICE), "items": ITEMS_60}, LIMITS)
    assert err.value.code == "criteria.items_not_allowed"


@pytest.mark.parametrize("category, minimum", [("goods", 30), ("services", 10), ("works", 10)])
def test_weight_limits_follow_the_category(category, minimum):
    settings = {"criteria.price_weight_min_goods": 30, "criteria.price_weight_min_services": 10,
                "criteria.price_weight_min_works": 10, "criteria.price_weight_max": 60}
    assert weight_limits(category, settings) == WeightLimits(minimum, 60)


@pytest.mark.parametrize("lowest, offer, weight, expected", [
    (800_000_00, 800_000_00, "40", "40.00"),       # the lowest valid price scores the full weight
    (800_000_00, 1_000_000_00, "40", "32.00"),
    (100, 300, "30", "10.00"),
    (200, 300, "10", "6.67"),                      # 6.666… → 6.67
    (100, 300, "10", "3.33"),                      # 3.333… → 3.33
    (1, 8, "1", "0.13"),                           # 0.125 exactly → half up → 0.13 (banker's would give 0.12)
    (3, 8, "1", "0.38"),                           # 0.375 → 0.38
    (123_456_78, 987_654_32, "35.5", "4.44"),      # 4.4374996…
    (99_999_99, 100_000_00, "60", "60.00"),        # 59.9999994 → 60.00
])
def test_price_score_known_values(lowest, offer, weight, expected):
    assert price_score(lowest, offer, Decimal(weight)) == Decimal(expected)


def test_price_score_refuses_impossible_inputs():
    for lowest, offer in [(0, 100), (100, 0), (200, 100)]:
        with pytest.raises(ValueError):
            price_score(lowest, offer, Decimal(40))


@pytest.mark.parametrize("value, expected", [("0.005", "0.01"), ("0.0049", "0.00"), ("-0.005", "-0.01"),
                                             ("2.675", "2.68")])
def test_round_points_half_up(value, expected):
    assert round_points(Decimal(value)) == Decimal(expected)


@pytest.mark.parametrize("procedure, method, ok", [
    ("selection", "comprehensive", True), ("selection", "lowest_price", True),
    ("negotiation", "lowest_price", True), ("negotiation", "comprehensive", False),
    ("inquiry", "lowest_price", True), ("inquiry", "comprehensive", False),
])
def test_negotiation_and_inquiry_use_the_lowest_price_method(procedure, method, ok):
    c = parse_criteria(template_body(method), LIMITS)
    if ok:
        check_method(c, procedure)
    else:
        with pytest.raises(InvalidInput) as err:
            check_method(c, procedure)
        assert err.value.code == "criteria.method_not_allowed"
