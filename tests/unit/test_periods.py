"""The statutory period table (procedures/common/periods.py): each rule at its boundary, the rule
named with its source in the refusal, the proposed compliant date, and fail-closed on 2027."""

from __future__ import annotations

from datetime import date

import pytest

from trading.core.clock import beijing, to_beijing
from trading.procedures.common.periods import (
    PERIOD_RULES,
    check_periods,
    end_day,
    proposed_instant,
    rules_for,
)
from trading.reference.services import builtin_days
from trading.reference.settings import catalogue
from trading.reference.workdays import Unit, from_days

CAL = from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])
NO_OVERRIDES: dict[str, int] = {}


def _codes(family, kind, **dates):
    return [v.code for v in check_periods(family, kind, dates, CAL, NO_OVERRIDES)]


def test_every_rule_names_a_known_setting_and_a_source():
    settings = catalogue()
    for rule in PERIOD_RULES:
        assert rule.setting in settings, rule.code
        assert settings[rule.setting].unit == rule.unit.value, rule.code
        assert rule.source_zh and rule.source_en and rule.name_zh and rule.name_en


def test_codes_are_unique():
    codes = [r.code for r in PERIOD_RULES]
    assert len(codes) == len(set(codes))


# (rule code, family, kind, {dates that exactly meet the minimum}, field moved one day earlier)
PUB = beijing(2026, 11, 12, 10)   # a Thursday
TUE = beijing(2026, 11, 10, 10)
BOUNDARIES = [
    ("period.tender_docs_to_deadline", "tender", "announcement",
     {"docs_from": PUB, "deadline_at": beijing(2026, 12, 2, 9, 30)}, "deadline_at", 20),
    ("period.tender_docs_sale", "tender", "announcement",
     {"docs_from": PUB, "docs_until": beijing(2026, 11, 17, 17)}, "docs_until", 5),
    ("period.tender_clarification", "tender", "change",
     {"published_at": PUB, "deadline_at": beijing(2026, 11, 27, 9, 30)}, "deadline_at", 15),
    ("period.selection_notice", "selection", "announcement",
     {"published_at": PUB, "deadline_at": beijing(2026, 11, 17, 9, 30)}, "deadline_at", 5),
    ("period.negotiation_response", "negotiation", "announcement",
     {"published_at": PUB, "deadline_at": beijing(2026, 11, 17, 9, 30)}, "deadline_at", 3),
    ("period.negotiation_response", "inquiry", "announcement",
     {"published_at": PUB, "deadline_at": beijing(2026, 11, 17, 9, 30)}, "deadline_at", 3),
    ("period.negotiation_clarification", "negotiation", "change",
     {"published_at": PUB, "deadline_at": beijing(2026, 11, 17, 9, 30)}, "deadline_at", 3),
    ("period.gp_tender_docs_to_deadline", "gp_tender", "announcement",
     {"docs_from": PUB, "deadline_at": beijing(2026, 12, 2, 9, 30), "docs_until": beijing(2026, 11, 19, 17)},
     "deadline_at", 20),
    ("period.gp_tender_notice", "gp_tender", "announcement",
     {"published_at": PUB, "docs_from": PUB, "docs_until": beijing(2026, 11, 19, 17),
      "deadline_at": beijing(2026, 12, 2, 9, 30)}, "docs_until", 5),
    ("period.candidate_publicity", "tender", "candidates",
     {"published_at": TUE, "publicity_until": beijing(2026, 11, 13, 17)}, "publicity_until", 3),
    ("period.candidate_publicity", "selection", "candidates",
     {"published_at": TUE, "publicity_until": beijing(2026, 11, 13, 17)}, "publicity_until", 3),
    ("period.gp_result_publicity", "negotiation", "result",
     {"published_at": PUB, "publicity_until": beijing(2026, 11, 13, 17)}, "publicity_until", 1),
    ("period.land_notice", "land", "land_grant",
     {"published_at": PUB, "opening_at": beijing(2026, 12, 2, 9)}, "opening_at", 20),
    ("period.land_listing", "land_listing", "land_grant",
     {"published_at": beijing(2026, 10, 20, 9), "opening_at": beijing(2026, 11, 10, 9),
      "closing_at": beijing(2026, 11, 24, 15)}, "closing_at", 10),
    ("period.mining_notice", "mining", "land_grant",
     {"published_at": PUB, "opening_at": beijing(2026, 12, 10, 9)}, "opening_at", 20),
    ("period.mining_listing", "mining_listing", "land_grant",
     {"published_at": beijing(2026, 10, 20, 9), "opening_at": beijing(2026, 11, 17, 9),
      "closing_at": beijing(2026, 12, 1, 15)}, "closing_at", 10),
    ("period.asset_disclosure", "asset", "disclosure",
     {"published_at": PUB, "closing_at": beijing(2026, 12, 10, 17)}, "closing_at", 20),
    ("period.auction_notice", "auction", "announcement",
     {"published_at": PUB, "opening_at": beijing(2026, 11, 19, 10)}, "opening_at", 7),
]


@pytest.mark.parametrize("code, family, kind, dates, moved, n", BOUNDARIES,
                         ids=[f"{b[0]}-{b[1]}" for b in BOUNDARIES])
def test_exactly_the_minimum_passes_one_day_less_fails(code, family, kind, dates, moved, n):
    dates = {"published_at": PUB, **dates}
    assert code not in _codes(family, kind, **dates)
    earlier = dict(dates)
    earlier[moved] = _previous_counted_day(dates[moved], family, code)
    found = [v for v in check_periods(family, kind, earlier, CAL, NO_OVERRIDES) if v.code == code]
    assert len(found) == 1
    v = found[0]
    assert v.needed == n and v.actual == n - 1 and v.field == moved
    assert v.source and v.source in v.zh and v.rule in v.zh
    assert v.proposed == dates[moved]  # the earliest compliant day, same time of day


def _previous_counted_day(instant, family, code):
    """One counted day earlier: for working-day rules skip back over rest days."""
    from datetime import timedelta
    rule = next(r for r in PERIOD_RULES if r.code == code)
    d = instant - timedelta(days=1)
    if rule.unit == Unit.WD:
        while not CAL.is_workday(to_beijing(d).date()):
            d -= timedelta(days=1)
    return d


def test_clarification_too_late_proposes_the_compliant_deadline():
    # a change issued 11-20 against a deadline of 12-01: 11 days, 15 needed → 12-05 is a Saturday → 12-07
    dates = {"published_at": beijing(2026, 11, 20, 15), "deadline_at": beijing(2026, 12, 1, 9, 30)}
    [v] = check_periods("tender", "change", dates, CAL, NO_OVERRIDES)
    assert v.code == "period.tender_clarification" and v.actual == 11 and v.needed == 15
    assert v.proposed == beijing(2026, 12, 7, 9, 30)
    assert "《招标投标法》第二十三条" in v.zh and "2026年12月7日9时30分（北京时间）" in v.zh
    assert "Art. 23" in v.en


def test_calendar_period_rolls_over_national_day():
    # 谈判 notice issued 9-29: the 3rd working day is 10-09, so a 10-08 deadline is short by one
    dates = {"published_at": beijing(2026, 9, 29, 10), "deadline_at": beijing(2026, 10, 8, 9, 30)}
    [v] = check_periods("negotiation", "announcement", dates, CAL, NO_OVERRIDES)
    assert v.actual == 2 and v.proposed == beijing(2026, 10, 9, 9, 30)
    # a 比选 notice (5 CD) issued 9-27 ends on 10-02, a holiday → the deadline must be 10-08 or later
    dates = {"published_at": beijing(2026, 9, 27, 10), "deadline_at": beijing(2026, 10, 7, 9, 30)}
    [v] = check_periods("selection", "announcement", dates, CAL, NO_OVERRIDES)
    assert v.proposed == beijing(2026, 10, 8, 9, 30)


def test_a_period_whose_last_day_is_a_weekend_runs_to_monday():
    # published Thursday 11-12: the 3rd day is Sunday 11-15, so the publicity must run to Monday 11-16
    dates = {"published_at": PUB, "publicity_until": beijing(2026, 11, 15, 17)}
    [v] = check_periods("tender", "candidates", dates, CAL, NO_OVERRIDES)
    assert v.actual == 3 and v.needed == 3 and v.proposed == beijing(2026, 11, 16, 17)
    assert "休息日" in v.zh and "2026年11月15日" in v.zh and "rest day" in v.en
    dates["publicity_until"] = beijing(2026, 11, 16, 17)
    assert _codes("tender", "candidates", **dates) == []


def test_settings_override_the_default():
    dates = {"published_at": PUB, "deadline_at": beijing(2026, 11, 17, 9, 30)}
    assert _codes("selection", "announcement", **dates) == []
    tightened = check_periods("selection", "announcement", dates, CAL, {"period.selection_notice_cd": 7})
    assert [v.needed for v in tightened] == [7]


def test_midnight_means_the_end_of_the_day_before():
    assert end_day(beijing(2026, 11, 16, 0, 0)) == date(2026, 11, 15)
    # publicity "until 11-13 24:00" after publishing on Tuesday 11-10 is exactly 3 days
    dates = {"published_at": TUE, "publicity_until": beijing(2026, 11, 14, 0, 0)}
    assert _codes("tender", "candidates", **dates) == []
    dates = {"published_at": TUE, "publicity_until": beijing(2026, 11, 13, 0, 0)}
    [v] = check_periods("tender", "candidates", dates, CAL, NO_OVERRIDES)
    assert v.proposed == beijing(2026, 11, 14, 0, 0)
    assert proposed_instant(date(2026, 11, 15), beijing(2026, 11, 1, 0, 0)) == beijing(2026, 11, 16, 0, 0)


def test_missing_calendar_year_is_reported_not_guessed():
    dates = {"published_at": beijing(2026, 12, 24, 10), "deadline_at": beijing(2027, 1, 20, 9, 30)}
    [v] = check_periods("tender", "change", dates, CAL, NO_OVERRIDES)
    assert v.code == "calendar.year_missing" and v.year == 2027 and "2027" in v.zh


def test_rules_apply_only_to_their_family_and_kind():
    assert {r.code for r in rules_for("tender", "announcement")} == {
        "period.tender_docs_to_deadline", "period.tender_docs_sale"}
    assert {r.code for r in rules_for("land_listing", "land_grant")} == {"period.land_notice", "period.land_listing"}
    assert {r.code for r in rules_for("consultation", "announcement")} == {
        "period.negotiation_response", "period.consultation_response"}
    assert rules_for("tender", "result") == []
    assert rules_for("other", "announcement") == []


def test_rules_without_their_dates_do_not_fire():
    assert _codes("tender", "announcement", published_at=PUB) == []


@pytest.mark.parametrize("family, codes", [
    ("mining", {"period.mining_notice"}),
    ("mining_listing", {"period.mining_notice", "period.mining_listing"}),
    ("land_listing", {"period.land_notice", "period.land_listing"}),
])
def test_mining_sales_count_working_days_and_never_take_the_land_rules(family, codes):
    assert {r.code for r in rules_for(family, "land_grant")} == codes
    # a mining listing announced 22 calendar days (16 working days) ahead is refused; land's 20 CD would pass
    dates = {"published_at": beijing(2026, 10, 26, 9), "opening_at": beijing(2026, 11, 17, 9),
             "closing_at": beijing(2026, 12, 1, 15)}
    assert ("period.mining_notice" in _codes(family, "land_grant", **dates)) == family.startswith("mining")
