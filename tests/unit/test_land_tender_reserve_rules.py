"""招标出让's reserve price (底价) rules, pure (land_tender.rules): with the highest-price method an offer
below the opened reserve cannot win (报价低于底价的不得中标), no valid offer reaching it — or a reserve
that could not be read — fails the lot; the comprehensive method and a lot without a reserve are not
touched; what the pages say about a reserve before and after the deadline."""

from __future__ import annotations

import pytest

from trading.procedures.land_tender import rules

HP, COMP = "highest_price", "comprehensive"


@pytest.mark.parametrize("method, reserve, price, below", [
    (HP, 100, 99, True),
    (HP, 100, 100, False),          # equal to the reserve: may win
    (HP, 100, 101, False),
    (HP, None, 1, False),           # no reserve (none, or not opened)
    (HP, 100, None, False),         # no opened price: rejected for that reason, not this one
    (COMP, 100, 99, False),         # comprehensive: the reserve does not bind
    (None, 100, 99, False),         # no criteria
])
def test_below_reserve(method, reserve, price, below):
    assert rules.below_reserve(method, reserve, price) is below


@pytest.mark.parametrize("method, status, reserve, prices, failure", [
    (HP, "opened", 100, [99, 100], None),             # one valid offer reaches it
    (HP, "opened", 100, [99, 98], "below_reserve"),   # none does: 流标
    (HP, "opened", 100, [], "below_reserve"),
    (HP, "opened", 100, [None, 120], None),
    (HP, "failed", None, [500], "reserve_failed"),    # the floor is unknown: no grant below it
    (HP, None, None, [1], None),                      # no reserve
    (HP, "none", None, [1], None),
    (HP, "uploading", None, [1], None),               # never sealed: no reserve
    (COMP, "opened", 100, [99], None),
    (COMP, "failed", None, [99], None),
])
def test_reserve_failure(method, status, reserve, prices, failure):
    assert rules.reserve_failure(method, status, reserve, prices) == failure
    assert failure is None or failure in rules.RESERVE_FAILURES


@pytest.mark.parametrize("status, before, state", [
    (None, True, "undecided"), ("uploading", True, "undecided"), ("none", True, "none"),
    ("sealed", True, "sealed"),
    (None, False, "none"), ("uploading", False, "none"), ("none", False, "none"),
    ("sealed", False, "sealed"), ("opened", False, "opened"), ("failed", False, "failed"),
])
def test_reserve_state(status, before, state):
    assert rules.reserve_state(status, before_deadline=before) == state


def test_the_reserve_binds_under_the_highest_price_method_only():
    assert [rules.reserve_binds(m) for m in (HP, COMP, "lowest_price", None)] == [True, False, False, False]
