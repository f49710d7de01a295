"""The entry router (rules.md §3.3) as a table: every row of the decision table, and every boundary at
exactly the figure and one fen either side ("以上/以下" include the number, 民法典 Art. 1259).
Figures come from the settings catalogue defaults, never from this file."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.projects.routing import RouteDecision, RouteInput, RouteLimits, route, state_funding
from trading.reference.settings import catalogue

LIM = RouteLimits.from_settings(lambda code: catalogue()[code].default)
Y = 100  # fen per yuan
WAN = 10_000 * Y

GP_GOODS = {"negotiation", "consultation", "inquiry", "single_source", "gp_tender"}
GP_SERVICES = GP_GOODS - {"inquiry"}
GP_WORKS = {"negotiation", "consultation", "single_source", "tender"}
GP_WORKS_BELOW_LIMIT = {"selection", "negotiation", "consultation", "tender"}
SOE_WORKS = {"selection", "tender"}
SOE_GOODS = {"selection", "negotiation", "consultation", "inquiry", "tender"}
SOE_SERVICES = SOE_GOODS - {"inquiry"}
OTHER = {"selection", "negotiation", "consultation", "online_bidding", "asset_transfer", "tender"}


def soe(category, *lots, combined=None, invest=None):
    """A state enterprise spending its own (controlling) funds: state-funded by 16号令 Art. 2(2)."""
    return RouteInput(category, "state_enterprise", "state_enterprise", 0, invest or max(sum(lots), combined or 0),
                      tuple(lots), combined)


def gov(category, *lots, share=10000, invest=None, funding="fiscal_county"):
    """A public institution on county fiscal funds. Default investment = the lots, so the budget funds
    stay under 2,000,000 (not state-funded by Art. 2) unless the test says otherwise."""
    return RouteInput(category, "gov", funding, share, invest or sum(lots), tuple(lots), None)


def private(category, *lots, share=0, invest=None, funding="self_raised"):
    return RouteInput(category, "other", funding, share, invest or sum(lots), tuple(lots), None)


def codes(decision: RouteDecision) -> list[str]:
    return [r.code for r in decision.reasons]


# (id, input, must_enter, required_method, allowed, a reason code that must be among the reasons)
ROWS = [
    # --- catalogue: land, mining, state assets enter whatever the amount ----------------------
    ("land 0.01", RouteInput("land", "gov", "fiscal_county", 0, 1, (1,)), True, None,
     {"land_tender", "land_auction", "land_listing"}, "route.catalogue_land"),
    ("land 50m", RouteInput("land", "gov", "fiscal_county", 0, 5000 * WAN, (5000 * WAN,)), True, None,
     {"land_tender", "land_auction", "land_listing"}, "route.catalogue_land"),
    ("mining 1 yuan", RouteInput("mining", "gov", "self_raised", 0, Y, (Y,)), True, None,
     {"mining_tender", "mining_auction", "mining_listing"}, "route.catalogue_mining"),
    ("asset 1 yuan", RouteInput("state_asset", "state_enterprise", "state_enterprise", 0, Y, (Y,)), True, None,
     {"asset_transfer", "online_bidding"}, "route.catalogue_state_asset"),
    ("asset private owner", RouteInput("state_asset", "other", "self_raised", 0, 10 * WAN, (10 * WAN,)), True, None,
     {"asset_transfer", "online_bidding"}, "route.catalogue_state_asset"),
    # --- band floor 200,000: below → direct allowed, at the floor → must enter -----------------
    ("soe works floor-1", soe("works", 20 * WAN - 1), False, None, SOE_WORKS | {"direct"}, "route.below_floor"),
    ("soe works floor", soe("works", 20 * WAN), True, None, SOE_WORKS, "route.in_band"),
    ("soe works floor+1", soe("works", 20 * WAN + 1), True, None, SOE_WORKS, "route.in_band"),
    ("gp goods floor-1", gov("goods", 20 * WAN - 1), False, None, GP_GOODS | {"direct"}, "route.below_floor"),
    ("gp goods floor", gov("goods", 20 * WAN), True, None, GP_GOODS, "route.in_band"),
    ("gp services floor-1", gov("services", 20 * WAN - 1), False, None, GP_SERVICES | {"direct"}, "route.below_floor"),
    ("gp services floor", gov("services", 20 * WAN), True, None, GP_SERVICES, "route.gp_goods_services"),
    ("lots add up to floor", soe("works", 10 * WAN, 10 * WAN), True, None, SOE_WORKS, "route.in_band"),
    ("combined lifts over floor", soe("works", 5 * WAN, combined=20 * WAN), True, None, SOE_WORKS, "route.in_band"),
    # --- band ceiling 2,000,000 (inclusive): above → still enters, non-tender unless a threshold trips
    ("soe works ceiling", soe("works", 200 * WAN), True, None, SOE_WORKS, "route.in_band"),
    ("soe works ceiling+1", soe("works", 200 * WAN + 1), True, None, SOE_WORKS, "route.above_band"),
    # --- works 4,000,000 must-tender (16号令 Art. 5(1)) ----------------------------------------
    ("soe works 4m-1", soe("works", 400 * WAN - 1), True, None, SOE_WORKS, "route.above_band"),
    ("soe works 4m", soe("works", 400 * WAN), True, "tender", {"tender"}, "route.must_tender"),
    ("soe works 4m+1", soe("works", 400 * WAN + 1), True, "tender", {"tender"}, "route.must_tender"),
    # --- services 1,000,000 in a state-funded project (edge case 1) ------------------------------
    ("soe services 1m-1", soe("services", 100 * WAN - 1), True, None, SOE_SERVICES, "route.in_band"),
    ("soe services 1m", soe("services", 100 * WAN), True, "tender", {"tender"}, "route.must_tender"),
    ("soe services 1m+1", soe("services", 100 * WAN + 1), True, "tender", {"tender"}, "route.must_tender"),
    # --- goods of exactly 2,000,000 in a state-funded project (edge case 2, "以上" inclusive) -------
    ("soe goods 2m-1", soe("goods", 200 * WAN - 1), True, None, SOE_GOODS, "route.in_band"),
    ("soe goods 2m", soe("goods", 200 * WAN), True, "tender", {"tender"}, "route.must_tender"),
    ("soe goods 2m+1", soe("goods", 200 * WAN + 1), True, "tender", {"tender"}, "route.must_tender"),
    # --- components adding up (edge case 3, 16号令 Art. 5 ¶2) ----------------------------------
    ("services lots sum 1m", soe("services", 50 * WAN, 50 * WAN), True, "tender", {"tender"}, "route.must_tender"),
    ("services lots sum 1m-1", soe("services", 50 * WAN, 50 * WAN - 1), True, None, SOE_SERVICES, "route.in_band"),
    ("services combined 1m", soe("services", 50 * WAN, combined=100 * WAN), True, "tender", {"tender"},
     "route.must_tender"),
    ("services combined 1m-1", soe("services", 50 * WAN, combined=100 * WAN - 1), True, None, SOE_SERVICES,
     "route.in_band"),
    ("works combined 4m", soe("works", 150 * WAN, combined=400 * WAN), True, "tender", {"tender"}, "route.must_tender"),
    # --- GP buyer goods/services ≥ GP public-tender threshold → gp_tender (edge case 4) ----------
    ("gp goods 2m-1 not state-funded", gov("goods", 200 * WAN - 1), True, None, GP_GOODS, "route.in_band"),
    ("gp goods 2m not state-funded", gov("goods", 200 * WAN, share=9999), True, "gp_tender", {"gp_tender"},
     "route.gp_tender_threshold"),
    ("gp services 2m+1", gov("services", 200 * WAN + 1, share=5000), True, "gp_tender", {"gp_tender"},
     "route.gp_tender_threshold"),
    ("gp services 1m state-funded", gov("services", 100 * WAN, invest=300 * WAN), True, "gp_tender", {"gp_tender"},
     "route.must_tender"),
    ("gp goods 2m state-funded", gov("goods", 200 * WAN, invest=300 * WAN), True, "gp_tender", {"gp_tender"},
     "route.must_tender"),
    # --- GP works: negotiation/consultation (not 比选) at or above the GP works limit (edge case 5)
    ("gp works limit-1", gov("works", 120 * WAN - 1), True, None, GP_WORKS_BELOW_LIMIT, "route.gp_works_below_limit"),
    ("gp works limit", gov("works", 120 * WAN), True, None, GP_WORKS, "route.gp_works"),
    ("gp works limit+1", gov("works", 120 * WAN + 1), True, None, GP_WORKS, "route.gp_works"),
    ("gp works above band", gov("works", 300 * WAN, share=5000), True, None, GP_WORKS, "route.above_band"),
    ("gp works 4m state-funded", gov("works", 400 * WAN, invest=1000 * WAN), True, "tender", {"tender"},
     "route.must_tender"),
    ("gp works 4m not state-funded", gov("works", 400 * WAN, share=500, invest=1000 * WAN), True, None, GP_WORKS,
     "route.gp_works"),
    # --- public owners without fiscal funds, and private owners -----------------------------------
    ("gov own funds works", gov("works", 50 * WAN, share=0, funding="self_raised"), True, None, SOE_WORKS,
     "route.state_invested_works"),
    ("gov own funds goods", gov("goods", 50 * WAN, share=0, funding="self_raised"), True, None, SOE_GOODS,
     "route.state_invested_goods_services"),
    ("private works 10m", private("works", 1000 * WAN), False, None, SOE_WORKS | {"direct"}, "route.private"),
    ("private goods", private("goods", 50 * WAN), False, None, SOE_GOODS | {"direct"}, "route.voluntary"),
    ("private state-funded services 1m", private("services", 100 * WAN, share=5000, invest=1000 * WAN,
                                                 funding="mixed"), True, "tender", {"tender"}, "route.must_tender"),
    ("private small fiscal share", private("works", 50 * WAN, share=100, invest=100 * WAN, funding="mixed"),
     True, None, SOE_WORKS, "route.in_band"),
    # --- other category --------------------------------------------------------------------
    ("soe other band", soe("other", 50 * WAN), True, None, OTHER, "route.other_category"),
    ("soe other floor-1", soe("other", 20 * WAN - 1), False, None, OTHER | {"direct"}, "route.below_floor"),
    ("soe other 10m", soe("other", 1000 * WAN), True, None, OTHER, "route.above_band"),
]


@pytest.mark.parametrize("inp,must_enter,required,allowed,reason", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_route_table(inp, must_enter, required, allowed, reason):
    d = route(inp, LIM)
    assert d.must_enter is must_enter
    assert d.required_method == required
    assert set(d.allowed) == allowed
    assert reason in codes(d), codes(d)
    for r in d.reasons + tuple(d.conditions.values()):
        assert r.zh and r.en and r.rule
        # the owner reads the legal citation only: no pointer into our own notes, no provenance marks
        assert "rules.md" not in r.rule and "§" not in r.rule and not re.search(r"\[[A-Z*]+\]", r.rule), r.rule


# --- 16号令 Art. 2: "state-funded" -----------------------------------------------------------------
def _mixed(invest_fen, share_bp, owner="state_enterprise"):
    return RouteInput("services", owner, "mixed", share_bp, invest_fen, (100 * WAN,), None)


@pytest.mark.parametrize("invest,share,funded", [
    (2000 * WAN, 1000, True),          # 2,000,000 of budget funds at exactly 10 %
    (2000 * WAN - 1, 1000, False),     # one fen less of investment: budget funds under 2,000,000
    (2000 * WAN + 1, 1000, True),
    (200 * WAN, 10000, True),          # exactly 2,000,000 at 100 %
    (200 * WAN - 1, 10000, False),
    (100_000 * WAN, 999, False),       # 9.99 %: far above 2,000,000 but under the share
    (100_000 * WAN, 1000, True),
    (100_000 * WAN, 1001, True),
    (100_000 * WAN, 0, False),
])
def test_state_funded_by_budget_funds(invest, share, funded):
    ok, reason = state_funding(_mixed(invest, share), LIM)
    assert ok is funded
    assert reason.code == ("route.state_funded_budget" if funded else "route.not_state_funded")
    assert reason.rule.startswith("16号令 第2条")
    assert (route(_mixed(invest, share), LIM).required_method == "tender") is funded  # services of 1,000,000


@pytest.mark.parametrize("owner,funding,funded", [
    ("state_enterprise", "state_enterprise", True),
    ("gov", "state_enterprise", True),
    ("state_enterprise", "self_raised", True),   # a state enterprise's own funds are state-enterprise funds
    ("other", "self_raised", False),
    ("state_enterprise", "mixed", False),        # control not shown: decided by the budget-funds test
])
def test_state_funded_by_enterprise_control(owner, funding, funded):
    inp = RouteInput("works", owner, funding, 0, 100 * WAN, (100 * WAN,), None)
    ok, reason = state_funding(inp, LIM)
    assert ok is funded
    assert (reason.code == "route.state_funded_soe") is funded


# --- the explanation the owner sees ------------------------------------------------------------------
def test_must_tender_reasons_cite_the_article_and_basis():
    single = route(soe("services", 100 * WAN), LIM)
    summed = route(soe("services", 50 * WAN, 50 * WAN), LIM)
    combined = route(soe("services", 50 * WAN, combined=100 * WAN), LIM)
    rules = {d.reasons[-1].rule for d in (single, summed, combined)}
    assert single.reasons[-1].rule == "16号令 第5条第1款第（三）项"
    assert "16号令 第5条第1款第（三）项、第2款" in rules
    assert "1,000,000.00" in single.reasons[-1].zh and "以上" in single.reasons[-1].zh
    assert "化整为零" in combined.reasons[-1].zh


def test_single_source_is_allowed_only_with_its_condition():
    d = route(gov("works", 150 * WAN), LIM)
    assert "single_source" in d.allowed and "selection" not in d.allowed
    cond = d.conditions["single_source"]
    assert cond.code == "route.single_source_grounds" and "政府采购法 第31条" in cond.rule


def test_direct_purchase_is_a_record_only_and_voluntary_entry_is_said():
    d = route(soe("works", 10 * WAN), LIM)
    assert d.conditions["direct"].code == "route.direct_record_only"
    assert "route.voluntary" in codes(d)
    assert "route.voluntary" not in codes(route(soe("works", 50 * WAN), LIM))


def test_every_figure_comes_from_the_limits():
    raised = replace(LIM, gp_tender_fen=400 * WAN, band_floor_fen=50 * WAN)
    assert route(gov("goods", 250 * WAN, share=5000), raised).required_method is None
    assert route(gov("goods", 250 * WAN, share=5000), LIM).required_method == "gp_tender"
    assert route(soe("works", 30 * WAN), raised).must_enter is False
    assert route(soe("works", 30 * WAN), LIM).must_enter is True
    lowered = replace(LIM, tender_services_fen=50 * WAN)
    assert route(soe("services", 50 * WAN), lowered).required_method == "tender"


def test_decision_round_trips_through_json():
    d = route(gov("works", 150 * WAN), LIM)
    assert RouteDecision.from_dict(d.to_dict()) == d


# --- invariants over arbitrary inputs ----------------------------------------------------------------
amounts = st.integers(min_value=1, max_value=2000 * WAN)


@given(category=st.sampled_from(["works", "goods", "services", "land", "mining", "state_asset", "other"]),
       owner=st.sampled_from(["gov", "state_enterprise", "other"]),
       funding=st.sampled_from(["fiscal_county", "fiscal_national", "state_enterprise", "mixed", "self_raised"]),
       share=st.integers(min_value=0, max_value=10000), lots=st.lists(amounts, min_size=1, max_size=5),
       extra=st.integers(min_value=0, max_value=5000 * WAN), combined_extra=st.none() | amounts)
def test_route_invariants(category, owner, funding, share, lots, extra, combined_extra):
    budget = sum(lots)
    combined = budget + combined_extra if combined_extra else None
    inp = RouteInput(category, owner, funding, share, budget + extra, tuple(lots), combined)
    d = route(inp, LIM)
    assert d.allowed and len(set(d.allowed)) == len(d.allowed)
    assert ("direct" in d.allowed) is (not d.must_enter)
    if d.required_method:
        assert d.allowed == (d.required_method,) and d.must_enter
    if "inquiry" in d.allowed:
        assert category == "goods"
    if d.gp_buyer and category == "works" and inp.value_fen >= LIM.gp_works_limit_fen:
        assert "selection" not in d.allowed
    if category in ("land", "mining", "state_asset"):
        assert d.must_enter
    if d.state_funded and category in ("works", "goods", "services") and \
            inp.value_fen >= LIM.tender_threshold(category):
        assert d.required_method in ("tender", "gp_tender")
    assert all(r.rule for r in d.reasons)
