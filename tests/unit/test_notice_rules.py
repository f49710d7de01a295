"""Pure notice rules: trade types, procedure families, required and ordered key dates, the chain of
notices, the public status badge and the next deadline."""

from __future__ import annotations

import pytest

from trading.core.clock import beijing
from trading.procedures.common import rules
from trading.procedures.common.rules import NoticeFacts, NoticeKind, PublicStatus
from trading.projects.rules import Procedure

NOW = beijing(2026, 11, 12, 10)


@pytest.mark.parametrize("category, owner_type, expected", [
    ("works", "gov", "engineering"),
    ("works", "state_enterprise", "engineering"),
    ("goods", "gov", "procurement"),
    ("services", "gov", "procurement"),
    ("goods", "state_enterprise", "engineering"),
    ("services", "other", "engineering"),
    ("land", "gov", "land_mining"),
    ("mining", "gov", "land_mining"),
    ("state_asset", "state_enterprise", "state_asset"),
    ("other", "gov", "other"),
])
def test_trade_type(category, owner_type, expected):
    assert rules.trade_type_for(category, owner_type) == expected


def test_every_procedure_has_a_family():
    assert set(rules.PROCEDURE_FAMILIES) == set(Procedure)
    assert rules.procedure_family("land_listing") == "land_listing"
    # mining-right sales count their notice in working days (rules.md H): families of their own
    assert rules.procedure_family("mining_auction") == "mining"
    assert rules.procedure_family("mining_listing") == "mining_listing"
    assert rules.procedure_family("something_new") == "other"


def test_every_kind_has_labels():
    for kind in NoticeKind:
        zh, en = rules.KIND_LABELS[kind]
        assert zh and en
    assert rules.label(rules.KIND_LABELS, "candidates") == "中标候选人公示"
    assert rules.label(rules.KIND_LABELS, "candidates", "en") == "Candidate publicity"


@pytest.mark.parametrize("family, kind, needed", [
    ("tender", "announcement", {"docs_from", "docs_until", "deadline_at", "opening_at"}),
    ("negotiation", "announcement", {"deadline_at", "opening_at"}),
    ("land_listing", "land_grant", {"deadline_at", "opening_at", "closing_at"}),
    ("mining_listing", "land_grant", {"deadline_at", "opening_at", "closing_at"}),
    ("mining", "land_grant", {"deadline_at", "opening_at"}),
    ("asset", "disclosure", {"closing_at"}),
    ("tender", "candidates", {"publicity_until"}),
    ("negotiation", "result", {"publicity_until"}),
    ("tender", "result", set()),
    ("tender", "termination", set()),
])
def test_required_dates(family, kind, needed):
    assert set(rules.required_dates(family, kind)) == needed
    problems = rules.date_problems(family, kind, {}, NOW)
    assert {p.field for p in problems if p.code == "dates.missing"} == needed


def test_order_of_key_dates():
    ok = {"docs_from": NOW, "docs_until": beijing(2026, 11, 20), "objection_until": beijing(2026, 11, 28),
          "deadline_at": beijing(2026, 12, 8, 9, 30), "opening_at": beijing(2026, 12, 8, 9, 30)}
    assert rules.date_problems("tender", "announcement", ok, NOW) == []
    late_docs = dict(ok, docs_until=beijing(2026, 12, 9))
    [p] = rules.date_problems("tender", "announcement", late_docs, NOW)
    assert p.code == "dates.order" and "文件获取截止" in p.zh and p.field == "deadline_at"
    early_opening = dict(ok, opening_at=beijing(2026, 12, 7))
    assert [p.code for p in rules.date_problems("tender", "announcement", early_opening, NOW)] == ["dates.order"]


def test_land_listing_applications_close_during_the_listing():
    dates = {"opening_at": beijing(2026, 12, 10), "deadline_at": beijing(2026, 12, 18),
             "closing_at": beijing(2026, 12, 24)}
    assert rules.date_problems("land_listing", "land_grant", dates, NOW) == []
    after = dict(dates, deadline_at=beijing(2026, 12, 25))
    assert [p.code for p in rules.date_problems("land_listing", "land_grant", after, NOW)] == ["dates.order"]


def test_deadline_must_be_in_the_future():
    dates = {"deadline_at": NOW, "opening_at": NOW}
    codes = [p.code for p in rules.date_problems("negotiation", "announcement", dates, NOW)]
    assert codes == ["dates.deadline_passed"]
    # a result notice may mention a past deadline
    assert rules.date_problems("tender", "result", dates, NOW) == []


def _facts(id, kind, status="published", project=1):
    return NoticeFacts(id, project, kind, status)


def test_chain_rules():
    ann = _facts(1, "announcement")
    assert rules.chain_problems("announcement", 1, None, []) == []
    assert [p.code for p in rules.chain_problems("candidates", 1, None, [])] == ["chain.no_announcement"]
    assert [p.code for p in rules.chain_problems("candidates", 1, None, [_facts(1, "announcement", "draft")])] == [
        "chain.no_announcement"]
    assert rules.chain_problems("candidates", 1, None, [ann]) == []
    assert [p.code for p in rules.chain_problems("change", 1, None, [ann])] == ["chain.change_needs_previous"]
    assert rules.chain_problems("change", 1, ann, [ann]) == []
    assert [p.code for p in rules.chain_problems("change", 1, _facts(9, "announcement", project=2), [ann])] == [
        "chain.other_project"]
    assert [p.code for p in rules.chain_problems("change", 1, _facts(2, "announcement", "draft"), [ann])] == [
        "chain.previous_unpublished"]
    term = _facts(3, "termination")
    assert "chain.terminated" in [p.code for p in rules.chain_problems("result", 1, None, [ann, term])]
    assert "chain.after_termination" in [p.code for p in rules.chain_problems("change", 1, term, [ann, term])]
    # land grants and disclosures open a chain too
    assert rules.chain_problems("deal_publicity", 1, None, [_facts(1, "land_grant")]) == []


@pytest.mark.parametrize("deadline, publicity, superseded, expected", [
    (beijing(2026, 12, 8), None, False, PublicStatus.OPEN),
    (beijing(2026, 11, 1), None, False, PublicStatus.CLOSED),
    (None, beijing(2026, 11, 15), False, PublicStatus.PUBLICITY),
    (beijing(2026, 11, 1), beijing(2026, 11, 15), False, PublicStatus.PUBLICITY),
    (None, beijing(2026, 11, 1), False, PublicStatus.ENDED),
    (None, None, False, PublicStatus.ENDED),
    (beijing(2026, 12, 8), None, True, PublicStatus.ENDED),
    (NOW, None, False, PublicStatus.CLOSED),  # the deadline instant itself is closed
])
def test_public_status(deadline, publicity, superseded, expected):
    assert rules.public_status(deadline, publicity, superseded, NOW) == expected


def test_next_deadline_skips_past_dates():
    dates = {"docs_from": NOW, "docs_until": beijing(2026, 11, 11), "objection_until": beijing(2026, 11, 28),
             "deadline_at": beijing(2026, 12, 8, 9, 30), "publicity_until": None}
    assert rules.next_deadline(dates, NOW) == ("objection_until", beijing(2026, 11, 28))
    assert rules.next_deadline(dates, beijing(2026, 12, 9)) is None


def test_land_dates_have_their_own_labels():
    assert rules.date_label("opening_at", "land_listing") == "挂牌开始"
    assert rules.date_label("opening_at", "tender") == "开标"
    assert rules.date_label("deadline_at", "asset", "en") == "Applications close"
