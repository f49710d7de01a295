"""The one time-limit light (trading.core.lights, re-exported by supervision.timelimits.rules) as a
table over the boundary instants, the yellow window, the list's order, counts and filters, and the
older light functions (entry review, contract, deposit refund, monthly report) agreeing with it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trading.core.clock import beijing
from trading.core.errors import InvalidInput
from trading.procedures.common.awards.rules import contract_light
from trading.procedures.common.deposits.rules import refund_light
from trading.projects.rules import due_light
from trading.supervision.timelimits import rules
from trading.supervision.timelimits.rules import Light, StepRow, light

DUE = beijing(2026, 12, 1)  # 2026-11-30 24:00 Beijing: the end of a period
SEC = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize(("now", "done_at", "warn", "expected"), [
    (DUE - 3 * DAY, None, DAY, Light.GREEN),
    (DUE - DAY - SEC, None, DAY, Light.GREEN),          # one second outside the warning window
    (DUE - DAY, None, DAY, Light.YELLOW),               # exactly at the warning threshold
    (DUE - SEC, None, DAY, Light.YELLOW),
    (DUE, None, DAY, Light.RED),                        # exactly at due: the period is over
    (DUE + SEC, None, DAY, Light.RED),
    (DUE + 40 * DAY, None, DAY, Light.RED),
    (DUE - SEC, None, timedelta(0), Light.GREEN),       # no warning window: never yellow
    (DUE, DUE - SEC, DAY, Light.DONE),                  # finished a second before the due instant
    (DUE + 10 * DAY, DUE - 5 * DAY, DAY, Light.DONE),   # a finished step stays done however late it is seen
    (DUE + 10 * DAY, DUE, DAY, Light.DONE_LATE),        # finished exactly at due: late
    (DUE + 10 * DAY, DUE + SEC, DAY, Light.DONE_LATE),
    (DUE - 2 * DAY, DUE - 2 * DAY, DAY, Light.DONE),    # finished early, seen at the same instant
])
def test_light_table(now, done_at, warn, expected):
    assert light(DUE, now, done_at, warn=warn) == expected


def test_negative_warning_window_is_refused():
    with pytest.raises(ValueError):
        light(DUE, DUE, warn=-SEC)


def test_overdue_by():
    assert rules.overdue_by(DUE, DUE + 3 * DAY) == 3 * DAY
    assert rules.overdue_by(DUE, DUE + 9 * DAY, DUE + DAY) == DAY
    assert rules.overdue_by(DUE, DUE - DAY) == -DAY


@pytest.mark.parametrize("now", [DUE - 9 * DAY, DUE - 5 * DAY - SEC, DUE - 5 * DAY, DUE - 2 * DAY - SEC, DUE - 2 * DAY,
                                 DUE - 24 * timedelta(hours=1), DUE - SEC, DUE, DUE + SEC])
def test_the_older_light_functions_delegate(now):
    assert due_light(DUE, now) == light(DUE, now, warn=DAY)
    assert contract_light(DUE, now, signed=False, warn_days=5) == light(DUE, now, warn=5 * DAY)
    assert refund_light(DUE, now, settled=False, warn_days=2) == light(DUE, now, warn=2 * DAY)
    assert contract_light(DUE, now, signed=True, warn_days=5) == Light.DONE
    assert refund_light(DUE, now, settled=True) == Light.DONE
    assert due_light(None, now) == "none" and refund_light(None, now, settled=False) is None


SETTINGS = {"timelimit.warn_days": 1, "timelimit.warn_share_bp": 2000, "timelimit.done_days": 30,
            "award.contract_warn_days": 5, "deposit.refund_warn_days": 2}


@pytest.mark.parametrize(("kind", "start", "expected"), [
    ("objection_reply", None, DAY),                       # no start known: warn_days
    ("objection_reply", DUE - 3 * DAY, DAY),              # 20 % of 3 days is less than a day
    ("challenge_reply", DUE - 10 * DAY, 2 * DAY),         # 20 % of 10 days is longer
    ("contract_signing", DUE - 30 * DAY, 5 * DAY),        # its own package's setting wins
    ("deposit_refund", DUE - 5 * DAY, 2 * DAY),
    ("complaint_decision", DUE - 30 * DAY, 6 * DAY),      # a kind registered elsewhere: the generic rule
])
def test_warn_window(kind, start, expected):
    assert rules.warn_window(kind, start, DUE, SETTINGS) == expected


def test_warning_edge_with_a_share_of_the_period():
    row = StepRow("challenge_reply", "L1", "甲", "乙", DUE, start_at=DUE - 10 * DAY)
    assert rules.coloured(row, DUE - 2 * DAY - SEC, SETTINGS).light == Light.GREEN
    assert rules.coloured(row, DUE - 2 * DAY, SETTINGS).light == Light.YELLOW
    own = StepRow("x", "L1", "甲", "乙", DUE, light=Light.GREEN)
    assert rules.coloured(own, DUE + DAY, SETTINGS).light == Light.GREEN  # a provider's own light is kept


def _row(kind, code, due, light_, done=None):
    return StepRow(kind, code, code, "中心", due, done, light=light_)


def test_board_orders_reddest_and_most_overdue_first_and_counts_every_light():
    rows = [_row("a", "Y-late", DUE + 2 * DAY, Light.YELLOW), _row("a", "R-recent", DUE, Light.RED),
            _row("b", "R-oldest", DUE - 9 * DAY, Light.RED), _row("a", "Y-soon", DUE + DAY, Light.YELLOW),
            _row("a", "G", DUE + 20 * DAY, Light.GREEN), _row("b", "DL", DUE, Light.DONE_LATE, DUE + DAY),
            _row("b", "D-old", DUE, Light.DONE, DUE - 3 * DAY), _row("b", "D-new", DUE, Light.DONE, DUE - DAY)]
    b = rules.board(rows)
    assert [r.code for r in b.rows] == ["R-oldest", "R-recent", "Y-soon", "Y-late"]
    assert b.counts == {Light.GREEN: 1, Light.YELLOW: 2, Light.RED: 2, Light.DONE: 2, Light.DONE_LATE: 1}
    assert (b.red, b.yellow) == (2, 2)
    b = rules.board(rows, frozenset(Light))
    assert [r.code for r in b.rows] == ["R-oldest", "R-recent", "Y-soon", "Y-late", "G", "DL", "D-new", "D-old"]
    b = rules.board(rows, frozenset({Light.RED}), frozenset({"a"}))
    assert [r.code for r in b.rows] == ["R-recent"]
    assert b.counts[Light.RED] == 1 and b.counts[Light.YELLOW] == 2 and b.counts[Light.DONE] == 0


def test_filters_parse_and_refuse_unknown_values():
    assert rules.parse_lights([]) == rules.parse_lights(["", " "]) == {Light.RED, Light.YELLOW}
    assert rules.parse_lights(["all"]) == frozenset(Light)
    assert rules.parse_lights(["done_late", "red"]) == {Light.DONE_LATE, Light.RED}
    with pytest.raises(InvalidInput) as err:
        rules.parse_lights(["purple"])
    assert err.value.status == 422 and "red" in err.value.message_zh
    assert rules.parse_kinds([], ["a"]) is None
    assert rules.parse_kinds(["a"], ["a", "b"]) == {"a"}
    with pytest.raises(InvalidInput):
        rules.parse_kinds(["c"], ["a", "b"])


def test_scope():
    row = StepRow("a", "L", "n", "r", DUE, DUE - DAY, org_ids=frozenset({7}), project_id=3)
    assert rules.Scope().wants(row)
    assert rules.Scope(org_id=7, project_id=3).wants(row)
    assert not rules.Scope(org_id=8).wants(row) and not rules.Scope(project_id=4).wants(row)
    assert rules.Scope(done_since=DUE - DAY).wants(row) and not rules.Scope(done_since=DUE - DAY + SEC).wants(row)


def test_every_light_and_kind_has_labels_in_both_languages():
    for lt in Light:
        assert rules.light_label(lt) and rules.light_label(lt, "en")
    for kind in rules.StepKind:
        assert rules.kind_label(kind) != rules.kind_label(kind, "en")
    assert rules.kind_label("unknown_kind") == "unknown_kind"
