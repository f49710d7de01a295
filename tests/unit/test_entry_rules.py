"""Entry registration rules (rules.md §1.1): the transition table with its roles, the guards templates
use, review time-limit lights, comments, trade codes, labels and the anti-splitting check (§1.1 check 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trading.core.clock import beijing
from trading.core.errors import Conflict, Forbidden, InvalidInput
from trading.projects import rules
from trading.projects.routing import RouteInput, RouteLimits, route, splitting_warning
from trading.reference.settings import catalogue

LIM = RouteLimits.from_settings(lambda code: catalogue()[code].default)
WAN = 1_000_000
STATUSES = list(rules.EntryStatus)
ACTIONS = list(rules.EntryAction)
ROLES = ["owner", "agency", "operator", "supervisor", "bidder", "expert", "admin", None]

# (status, action) → new status; roles allowed
EXPECTED = {
    ("draft", "submit"): ("submitted", {"owner", "agency"}),
    ("returned", "submit"): ("submitted", {"owner", "agency"}),
    ("submitted", "accept"): ("accepted", {"operator"}),
    ("submitted", "return"): ("returned", {"operator"}),
    ("submitted", "refuse"): ("refused", {"operator"}),
    ("accepted", "terminate"): ("terminated", {"operator"}),
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_transition_table(status, action, role):
    step = EXPECTED.get((status, action))
    may_act = {r for (_, a), (_, roles) in EXPECTED.items() if a == action for r in roles}
    assert rules.can_transition(status, action, role) is bool(step and role in step[1])
    if role not in may_act:
        with pytest.raises(Forbidden):
            rules.ensure_transition(status, action, role)
    elif step is None:
        with pytest.raises(Conflict) as err:
            rules.ensure_transition(status, action, role)
        assert err.value.code == "project.bad_transition"
        assert rules.label("status", status) in err.value.message_zh
    else:
        assert rules.ensure_transition(status, action, role) == step[0]


def test_terminal_statuses_have_no_way_out():
    for status in rules.TERMINAL:
        assert not any(s == status for s, _ in rules.TRANSITIONS)


@pytest.mark.parametrize("status,editable", [("draft", True), ("returned", True), ("submitted", False),
                                             ("accepted", False), ("refused", False), ("terminated", False)])
def test_only_draft_and_returned_are_editable(status, editable):
    assert rules.can_edit(status, "owner") is editable
    assert rules.can_edit(status, "operator") is False
    if editable:
        rules.ensure_editable(status)
    else:
        with pytest.raises(Conflict) as err:
            rules.ensure_editable(status)
        assert err.value.code == "project.not_editable"


DUE = beijing(2026, 11, 12, 23, 59)


@pytest.mark.parametrize("now,light", [
    (DUE - timedelta(hours=48), "green"),
    (DUE - timedelta(hours=24, seconds=1), "green"),
    (DUE - timedelta(hours=24), "yellow"),
    (DUE - timedelta(seconds=1), "yellow"),
    (DUE, "red"),  # the due instant ends the period (core.lights): the time is up
    (DUE + timedelta(seconds=1), "red"),
])
def test_due_lights(now, light):
    assert rules.due_light(DUE, now) == light
    assert rules.LIGHTS[light][0]  # every light has a text label (colour is never the only signal)


def test_no_due_date_no_light():
    assert rules.due_light(None, DUE) == "none"


@pytest.mark.parametrize("comment,required,result", [
    ("材料不齐全", True, "材料不齐全"), ("  缺少核准文件  ", True, "缺少核准文件"), ("", False, ""), (None, False, ""),
    ("好", False, "好"),
])
def test_comments_accepted(comment, required, result):
    assert rules.check_comment(comment, required=required) == result


@pytest.mark.parametrize("comment,required,code", [
    ("", True, "project.comment_required"), ("四个字啊", True, "project.comment_required"),
    ("     ", True, "project.comment_required"), (None, True, "project.comment_required"),
    ("字" * 1001, False, "project.comment_too_long"), ("字" * 1001, True, "project.comment_too_long"),
])
def test_comments_refused(comment, required, code):
    with pytest.raises(InvalidInput) as err:
        rules.check_comment(comment, required=required)
    assert err.value.code == code and err.value.field == "comment"


@pytest.mark.parametrize("prefix,year,category,n,code", [
    ("SFX", 2026, "works", 7, "SFX2026-GC-0007"), ("SFX", 2026, "goods", 1, "SFX2026-HW-0001"),
    ("SFX", 2027, "services", 12, "SFX2027-FW-0012"), ("A1", 2026, "land", 9999, "A12026-TD-9999"),
    ("SFX", 2026, "mining", 3, "SFX2026-KQ-0003"), ("SFX", 2026, "state_asset", 3, "SFX2026-CQ-0003"),
    ("SFX", 2026, "other", 10000, "SFX2026-QT-10000"),
])
def test_trade_codes_are_ascii(prefix, year, category, n, code):
    assert rules.trade_code(prefix, year, category, n) == code
    assert rules.CODE_RE.match(rules.lot_code(code, 1)) and code.isascii()
    assert rules.lot_code(code, 3) == f"{code}-03"


@pytest.mark.parametrize("prefix", ["", "示范", "S-X", "ABCDEFGHIJK", None, "S X"])
def test_bad_prefixes_refused(prefix):
    with pytest.raises(InvalidInput) as err:
        rules.trade_code(prefix, 2026, "works", 1)
    assert err.value.code == "project.bad_prefix"


def test_labels_in_both_languages_and_unknown_values_pass_through():
    assert rules.label("procedure", "selection") == "比选"
    assert rules.label("procedure", "selection", "en") == "Comparison selection"
    assert rules.label("status", "returned") == "退回修改"
    assert (rules.label("owner_type", "other"), rules.label("category", "other")) == ("其他单位", "其他")
    assert rules.label("status", "legacy_value") == "legacy_value"
    assert [v for v, _ in rules.choices("category")] == [c.value for c in rules.Category]
    for kind in ("category", "owner_type", "funding_source", "procedure", "status", "review"):
        for value, text in rules.choices(kind, "en"):
            assert text and text != rules.label(kind, value, "zh")


# --- anti-splitting (化整为零): earlier registrations of the year add up --------------------------
def _inp(category, owner, funding, share, budget, invest=None):
    return RouteInput(category, owner, funding, share, invest or budget, (budget,), None)


SOE_SERVICES = _inp("services", "state_enterprise", "state_enterprise", 0, 40 * WAN)
GP_GOODS = _inp("goods", "gov", "fiscal_county", 10000, 50 * WAN)          # not state-funded (funds < 2m)
GP_WORKS = _inp("works", "gov", "fiscal_county", 10000, 150 * WAN)
PRIVATE = _inp("services", "other", "self_raised", 0, 90 * WAN)


@pytest.mark.parametrize("inp,earlier,rule", [
    # state-funded services: 60 + 40 = 100万 reaches the 1,000,000 must-tender figure exactly
    (SOE_SERVICES, [("SFX2026-FW-0001", 60 * WAN)], "16号令 第5条第2款；发改法规规〔2022〕1117号（二）"),
    (SOE_SERVICES, [("A", 30 * WAN), ("B", 30 * WAN)], "16号令 第5条第2款；发改法规规〔2022〕1117号（二）"),
    (SOE_SERVICES, [("SFX2026-FW-0001", 60 * WAN - 1)], None),               # one fen short
    # GP goods: 150 + 50 = 200万 reaches the GP public-tender threshold
    (GP_GOODS, [("SFX2026-HW-0002", 150 * WAN)], "政府采购法实施条例 第28条"),
    (GP_GOODS, [("SFX2026-HW-0002", 150 * WAN - 1)], None),
    (GP_GOODS, [], None),                                                   # nothing earlier
    (GP_WORKS, [("X", 300 * WAN)], None),                                  # GP works, not state-funded: no figure
    (PRIVATE, [("X", 90 * WAN)], None),                                     # neither regime applies
    (_inp("land", "gov", "fiscal_county", 0, 10 * WAN), [("X", 9000 * WAN)], None),
])
def test_splitting_warning(inp, earlier, rule):
    decision = route(inp, LIM)
    warning = splitting_warning(decision, inp, LIM, earlier)
    if rule is None:
        assert warning is None
    else:
        assert warning.code == "route.splitting_suspected" and warning.rule == rule
        assert "化整为零" in warning.zh and earlier[0][0] in warning.zh
        assert decision.with_warning(warning).warnings == (warning,)


def test_no_splitting_warning_when_already_tendering():
    inp = _inp("services", "state_enterprise", "state_enterprise", 0, 100 * WAN)
    decision = route(inp, LIM)
    assert decision.required_method == "tender"
    assert splitting_warning(decision, inp, LIM, [("X", 500 * WAN)]) is None
