"""Table tests of the electronic supervision rules (trading/supervision/alerts/rules.py): for each
rule, data that must trigger it and data that must not, with the default thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trading.reference.settings import catalogue
from trading.supervision.alerts import rules as r
from trading.supervision.alerts.rules import Contest, EvalRow, Offer, Trace, Win

S = {code: d.default for code, d in catalogue().items() if code.startswith("alerts.")}
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
LOT = 7


def codes(findings) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in findings]


@pytest.mark.parametrize("traces, expected", [
    ([Trace(1, "10.0.0.5", 11), Trace(2, "10.0.0.5", 12)], [("RF-04", "yellow")]),
    ([Trace(1, "10.0.0.5", 11), Trace(2, "10.0.0.6", 12)], []),
    ([Trace(1, "10.0.0.5", 11), Trace(1, "10.0.0.5", 13)], []),            # one bidder twice
    ([Trace(1, "", 11), Trace(2, "", 12)], []),                              # no client IP
    ([Trace(1, "a", 1), Trace(2, "a", 2), Trace(3, "b", 3), Trace(4, "b", 4)], [("RF-04", "yellow")] * 2),
])
def test_same_ip(traces, expected):
    found = r.same_ip(LOT, traces, S)
    assert codes(found) == expected
    for f in found:
        assert f.lots == (LOT,) and len(f.orgs) >= 2 and f.seqs


def test_same_ip_threshold_is_a_setting():
    traces = [Trace(1, "x", 1), Trace(2, "x", 2)]
    assert r.same_ip(LOT, traces, {**S, "alerts.same_ip_min_bidders": 3}) == []
    assert r.same_ip(LOT, [*traces, Trace(3, "x", 3)], {**S, "alerts.same_ip_min_bidders": 3})


@pytest.mark.parametrize("traces, stage, expected", [
    ([Trace(1, "ab" * 32, 5), Trace(2, "ab" * 32, 6)], "sealed", [("RF-02", "red")]),
    ([Trace(1, "ab" * 32, 5), Trace(2, "cd" * 32, 6)], "sealed", []),
    ([Trace(1, "ab" * 32, 5), Trace(2, "ab" * 32, 5)], "opened", [("RF-02", "red")]),
    ([Trace(1, "", 5), Trace(2, "", 6)], "opened", []),
])
def test_identical_files(traces, stage, expected):
    found = r.identical_files(LOT, traces, stage=stage)
    assert codes(found) == expected
    assert all(f.subject.startswith(f"lot:{LOT}:{stage}:") for f in found)


@pytest.mark.parametrize("traces, expected", [
    ([Trace(1, "6222020000000001", 3), Trace(2, "6222020000000001", 4)], [("RF-07", "red")]),
    ([Trace(1, "6222020000000001", 3), Trace(2, "6222020000000002", 4)], []),
    ([Trace(1, "6222020000000001", 3), Trace(1, "6222020000000001", 4)], []),  # one bidder paid twice
])
def test_same_payer(traces, expected):
    assert codes(r.same_payer(LOT, traces)) == expected


@pytest.mark.parametrize("names, phones, expected", [
    ([Trace(1, "张三"), Trace(2, "张三")], [Trace(1, "13800000001"), Trace(2, "13900000002")], [("RF-06", "red")]),
    ([Trace(1, "张三"), Trace(2, "李四")], [Trace(1, "13800000001"), Trace(2, "13800000001")], [("RF-06", "red")]),
    ([Trace(1, "张三"), Trace(2, "李四")], [Trace(1, "13800000001"), Trace(2, "13900000002")], []),
    ([Trace(1, ""), Trace(2, "")], [Trace(1, ""), Trace(2, "")], []),
])
def test_shared_contact(names, phones, expected):
    assert codes(r.shared_contact(LOT, names, phones)) == expected


@pytest.mark.parametrize("raw, expected", [
    ("138-0000-0001", "13800000001"), ("+86 138 0000 0001", "13800000001"), ("123", ""), ("", ""),
])
def test_normalise_phone(raw, expected):
    assert r.normalise_phone(raw) == expected


def offers(*prices):
    return [Offer(i + 1, p) for i, p in enumerate(prices)]


@pytest.mark.parametrize("prices, expected", [
    # an exact arithmetic progression, 10 % apart: progression only
    ((100_000_00, 110_000_00, 120_000_00, 130_000_00), [("RF-05", "red")]),
    # a progression 2 % apart is also a tight cluster
    ((100_000_00, 102_000_00, 104_000_00, 106_000_00), [("RF-05", "red"), ("RF-05C", "yellow")]),
    # differences of 10 000.00 and 10 050.00 yuan: CV of the differences 0.25 % < 1 %
    ((100_000_00, 110_000_00, 120_050_00), [("RF-05", "red")]),
    # differences of 10 000.00 and 12 000.00: not a progression
    ((100_000_00, 110_000_00, 122_000_00), []),
    # spread out, irregular: nothing
    ((100_000_00, 112_000_00, 131_000_00), []),
    # two within 0.5 %: a close pair
    ((100_000_00, 100_300_00, 130_000_00), [("RF-05C", "yellow")]),
    # all within a few per cent but irregular: clustered (CV < 5 %), no close pair, no progression
    ((100_000_00, 101_000_00, 104_500_00), [("RF-05C", "yellow")]),
    # two prices: too few for a pattern
    ((100_000_00, 100_000_00), []),
])
def test_price_patterns(prices, expected):
    assert codes(r.price_patterns(LOT, offers(*prices), S, seq=9)) == expected


def test_price_patterns_subjects_and_identical_prices():
    found = r.price_patterns(LOT, offers(100_000_00, 100_000_00, 140_000_00), S, seq=9)
    assert {f.subject for f in found} == {f"lot:{LOT}:close"}       # equal prices: no "progression" (d = 0)
    assert found[0].seqs == (9,)


@pytest.mark.parametrize("prices, ceiling, expected", [
    ((99_500_00, 80_000_00), 100_000_00, [("OCP-i171", "yellow")]),   # 0.5 % under
    ((100_000_00,), 100_000_00, [("OCP-i171", "yellow")]),            # at the ceiling
    ((95_000_00, 80_000_00), 100_000_00, []),                          # 5 % under
    ((101_000_00,), 100_000_00, []),                                   # above: not "just under"
    ((99_500_00,), None, []),                                          # no ceiling known
])
def test_near_ceiling(prices, ceiling, expected):
    assert codes(r.near_ceiling(LOT, offers(*prices), ceiling, S)) == expected


@pytest.mark.parametrize("orgs, expected", [([4], [("OCP-R018", "yellow")]), ([4, 4], [("OCP-R018", "yellow")]),
                                            ([4, 5], []), ([], [])])
def test_single_bidder(orgs, expected):
    assert codes(r.single_bidder(LOT, orgs)) == expected


@pytest.mark.parametrize("rows, expected", [
    ([EvalRow(1, 80_00, True, ("资格不符",)), EvalRow(2, 90_00, False), EvalRow(3, 95_00, False)],
     [("OCP-R036", "yellow")]),
    ([EvalRow(1, 80_00, True), EvalRow(2, 90_00, True), EvalRow(3, 95_00, False)], [("OCP-R036", "red")]),
    ([EvalRow(1, 80_00, False), EvalRow(2, 90_00, True)], []),               # a higher one rejected
    ([EvalRow(1, 80_00, True), EvalRow(2, 90_00, True)], []),                # nobody valid: a failed lot
    ([EvalRow(1, 80_00, True), EvalRow(2, 80_00, False)], []),               # a tie at the lowest stays valid
])
def test_lowest_disqualified(rows, expected):
    assert codes(r.lowest_disqualified(LOT, rows)) == expected


@pytest.mark.parametrize("rows, expected", [
    ([EvalRow(1, 1, False, (), (31,)), EvalRow(2, 2, False)], [("RF-13", "yellow")]),
    ([EvalRow(1, 1, False), EvalRow(2, 2, False)], []),
])
def test_expert_outliers(rows, expected):
    found = r.expert_outliers(LOT, rows)
    assert codes(found) == expected
    if found:
        assert found[0].facts["members"] == [31]


def wins(*days_ago, buyer=100, supplier=200):
    return [Win(lot_id=i + 1, buyer_org_id=buyer, supplier_org_id=supplier, at=NOW - timedelta(days=d), seq=i)
            for i, d in enumerate(days_ago)]


@pytest.mark.parametrize("ws, expected", [
    (wins(1, 100, 300), [("OCP-i077", "yellow")]),
    (wins(1, 100), []),                                     # two wins only
    (wins(1, 100, 400), []),                                # the third is outside 365 days
    (wins(1, 2, buyer=100) + wins(3, buyer=101), []),        # different buyers
])
def test_repeat_winner(ws, expected):
    assert codes(r.repeat_winner(ws, NOW, S)) == expected


def test_repeat_winner_window_is_a_setting():
    assert r.repeat_winner(wins(1, 100, 400), NOW, {**S, "alerts.repeat_win_days": 500})


G = frozenset({1, 2, 3})


@pytest.mark.parametrize("contests, expected", [
    # the same three bid together three times and took turns
    ([Contest(10, G, 1), Contest(11, G, 2), Contest(12, G | {9}, 3)], [("RF-11", "red")]),
    # same group, always the same winner: not rotation (the repeat-winner rule covers it)
    ([Contest(10, G, 1), Contest(11, G, 1), Contest(12, G, 1)], []),
    # only twice together
    ([Contest(10, G, 1), Contest(11, G, 2), Contest(12, frozenset({1, 2, 8}), 8)], []),
    # winner outside the group in one lot: two lots left
    ([Contest(10, G, 1), Contest(11, G, 2), Contest(12, G | {9}, 9)], []),
    # groups of two are below the minimum
    ([Contest(10, frozenset({1, 2}), 1), Contest(11, frozenset({1, 2}), 2), Contest(12, frozenset({1, 2}), 1)], []),
])
def test_rotation(contests, expected):
    found = r.rotation(contests, S)
    assert codes(found) == expected
    if found:
        assert found[0].subject == "group:1,2,3" and set(found[0].lots) >= {10, 11}


def test_every_rule_has_a_basis():
    for code, basis in r.RULES.items():
        assert basis.code == code and basis.zh and basis.en and basis.legal


def test_period_breaches_one_red_alert_per_broken_rule():
    b = r.Breach("period.tender_docs_to_deadline", "招标文件发出至投标截止", "《招标投标法》第二十四条", 20, 12, "CD")
    found = r.period_breaches(LOT, 3, [b], seq=5)
    assert codes(found) == [("RF-15", "red")] and found[0].facts["needed"] == 20 and found[0].seqs == (5,)
    assert r.period_breaches(LOT, 3, []) == []


@pytest.mark.parametrize("old, new, expected", [
    (NOW, NOW - timedelta(days=3), [("RF-15S", "yellow")]),
    (NOW, NOW + timedelta(days=3), []),          # extended: fine
    (NOW, NOW, []),
    (None, NOW, []),
])
def test_shortened_deadline(old, new, expected):
    assert codes(r.shortened_deadline(LOT, 9, old, new)) == expected


DEADLINE = NOW


@pytest.mark.parametrize("withdrawals, expected", [
    ([(1, DEADLINE - timedelta(hours=2), 1), (2, DEADLINE - timedelta(hours=5), 2)], [("RF-10W", "yellow")]),
    ([(1, DEADLINE - timedelta(hours=2), 1), (2, DEADLINE - timedelta(days=3), 2)], []),   # one is early
    ([(1, DEADLINE - timedelta(hours=2), 1), (1, DEADLINE - timedelta(hours=1), 2)], []),  # one bidder twice
])
def test_late_withdrawals(withdrawals, expected):
    assert codes(r.late_withdrawals(LOT, DEADLINE, withdrawals, S)) == expected


@pytest.mark.parametrize("rank, reason, expected", [
    (1, "waived", [("RF-10R", "red")]), (1, "refused_contract", [("RF-10R", "red")]),
    (1, "cannot_perform", []), (1, "illegal", []), (2, "waived", []),
])
def test_first_rank_gives_up(rank, reason, expected):
    assert codes(r.first_rank_gives_up(LOT, 4, rank, reason)) == expected


@pytest.mark.parametrize("record, expected", [
    (r.Record(4, 6, 3), [("RF-11H", "yellow")]),      # 50 % over 6
    (r.Record(4, 5, 5), []),                          # too few bids to judge
    (r.Record(4, 10, 4), []),
    (r.Record(4, 10, 0), [("RF-11L", "yellow")]),     # 0 % over 10
    (r.Record(4, 20, 1), [("RF-11L", "yellow")]),     # 5 %
    (r.Record(4, 9, 0), []),
])
def test_win_rates(record, expected):
    assert codes(r.win_rates([record], S)) == expected
