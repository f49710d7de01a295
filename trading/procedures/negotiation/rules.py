"""竞争性谈判 (财政部令74号, rules.md §1 C) as pure rules: the lot's stage machine (registered with
procedures.common.flow at import), its guards over plain facts with the clock passed in, the minimum
of suppliers (3; 2 after a failed tender with approval, Art. 27 ¶2), the team's composition (≥ 3, odd,
experts ≥ 2/3, Art. 7), the buyer's share of recommended suppliers (≤ 50 %, Art. 12), the round trade
code, and the winner: the lowest final price among responsive suppliers (Art. 35).

Imports: core.errors (through flow), reference (settings, workdays), procedures.common (flow, periods).
No Flask, no SQLAlchemy.

Facts the guards read (services.lot_facts builds them from the database):
  calendar, settings, dates           the response period (reuses periods.PERIOD_RULES
                                      "period.negotiation_response": document issue → deadline ≥ 3 WD)
  team_size, team_experts             the 谈判小组
  recommended_buyer, recommended_expert   suppliers recommended in writing by each side
  suppliers                           suppliers still in (not withdrawn or excluded)
  prior_tender_failed, approval_ref   the Art. 27 ¶2 exception
  round_closes_at                     the current round's closing instant
  open_round                          whether a round is open (not closed)
  final_offers                        valid final offers (opened) at close_final_offers
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from trading.reference.settings import SettingDef, define, definition

from ..common.flow import Machine, Transition, Violation, register
from ..common.periods import PERIOD_RULES, check_rule
from ..common.phases import (
    HOST,
    RUNNERS,
    SYSTEM,
    count_at_least,
    count_below,
    deadline_passed,
    failure_paths,
    panel_composition,
    sealed_phase,
    tail,
)

PROCEDURE = "negotiation"

define(
    SettingDef("negotiation.min_suppliers", 3, "count", "74号令 Art. 12, 33, 37 [V]",
               "竞争性谈判最少供应商家数", "Fewest suppliers in a negotiation", 2, 10),
    SettingDef("negotiation.min_suppliers_exception", 2, "count", "74号令 Art. 27 ¶2 [V]: 公开招标失败且财政批准",
               "公开招标失败并经批准后的最少供应商家数", "Fewest suppliers after a failed tender, with approval", 1, 10),
    SettingDef("negotiation.buyer_recommended_max_bp", 5000, "bp", "74号令 Art. 12 [V]: 采购人推荐 ≤ 50 %",
               "采购人推荐供应商占推荐总数上限（万分比）", "Buyer's most share of recommended suppliers (bp)", 0, 10000),
)

SETTINGS = ("negotiation.min_suppliers", "negotiation.min_suppliers_exception", "negotiation.buyer_recommended_max_bp")

#: who runs the negotiation's steps on the platform: the centre's operator and the agency record what
#: the team does (open and close rounds, sessions, final offers); the buyer (owner) confirms changes
TEAM = HOST | frozenset({"agency"})


def setting(facts: Mapping[str, Any], code: str) -> int:
    return int(facts.get("settings", {}).get(code, definition(code).default))


def round_code(lot_code: str, no: int) -> str:
    """A round's trade code, the lot_id of its quotes' envelope context. A lot code ends in two
    digits (`<trade code>-NN`, or `-A<n>` for a re-announced attempt), a round code in `R<no>`: they
    never collide."""
    return f"{lot_code}-R{no}"


# --- guards ---------------------------------------------------------------------------------------

def _v(code: str, zh: str, en: str, **kw) -> Violation:
    return Violation(code, zh, en, **kw)


RESPONSE_RULE = next(r for r in PERIOD_RULES if r.code == "period.negotiation_response")


def response_period(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    """Document issue (docs_from, else publication) → first-response deadline ≥ 3 WD (Art. 29): the
    very rule publication already enforces (periods.PERIOD_RULES "period.negotiation_response"),
    checked again when the responses close if the caller passes the issue date (a change notice
    may have moved the deadline). Without an issue date the step relies on the publication check
    (stages.advance supplies only the deadline); without a calendar it fails closed."""
    dates = {k: facts.get(k) for k in ("docs_from", "published_at", "deadline_at")}
    if not (dates["docs_from"] or dates["published_at"]) or not dates["deadline_at"]:
        return None
    cal = facts.get("calendar")
    if cal is None:
        return _v("flow.fact_missing", "缺少工作日历，无法核对响应期限", "No working calendar to check the response period")
    return check_rule(RESPONSE_RULE, dates, cal, facts.get("settings") or {})


def min_suppliers(facts: Mapping[str, Any]) -> int:
    """3; 2 only when the lot records a failed prior tender AND an approval reference (Art. 27 ¶2)."""
    if facts.get("prior_tender_failed") and str(facts.get("approval_ref") or "").strip():
        return setting(facts, "negotiation.min_suppliers_exception")
    return setting(facts, "negotiation.min_suppliers")


#: the 谈判小组: ≥ 3 (setting gp.team_min), odd, experts ≥ 2/3 (panel.expert_thirds) — the shared guard
team_ok = panel_composition("gp.team_min")


def buyer_share_ok(facts: Mapping[str, Any], now: datetime | None = None) -> Violation | None:
    """Of the suppliers recommended in writing, the buyer's may be at most 50 % (setting)."""
    buyer, expert = int(facts.get("recommended_buyer") or 0), int(facts.get("recommended_expert") or 0)
    total = buyer + expert
    limit = setting(facts, "negotiation.buyer_recommended_max_bp")
    if total and buyer * 10000 > total * limit:
        return _v("negotiation.buyer_share",
                  f"采购人推荐的供应商不得超过推荐供应商总数的 {limit / 100:g}%（现为 {buyer}/{total}）",
                  f"The buyer may recommend at most {limit / 100:g}% of the recommended suppliers (has {buyer} of {total})",
                  rule="采购人推荐比例", source="《政府非招标采购方式管理办法》第十二条", actual=buyer)
    return None


def enough_suppliers(facts: Mapping[str, Any], now: datetime | None = None) -> Violation | None:
    have, need = int(facts.get("suppliers") or 0), min_suppliers(facts)
    if have < need:
        return _v("negotiation.too_few_suppliers",
                  f"符合要求的供应商只有 {have} 家，不足 {need} 家，应当终止竞争性谈判",
                  f"Only {have} qualified suppliers, fewer than {need}: the negotiation must be terminated",
                  rule="供应商家数", source="《政府非招标采购方式管理办法》第三十七条", needed=need, actual=have)
    return None


def round_due(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    closes = facts.get("round_closes_at")
    if closes is None:
        return _v("negotiation.no_open_round", "没有进行中的谈判轮次", "No round is open")
    if now < closes:
        return _v("negotiation.round_not_due", "本轮报价截止时间（服务器时间）未到，不能结束本轮",
                  "The round's quotes are due later (server time); it cannot close yet")
    return None


def no_open_round(facts: Mapping[str, Any], now: datetime | None = None) -> Violation | None:
    if facts.get("open_round"):
        return _v("negotiation.round_open", "尚有未结束的谈判轮次，请先结束本轮", "A round is still open; close it first")
    return None


def enough_final_offers(facts: Mapping[str, Any], now: datetime | None = None) -> Violation | None:
    have, need = int(facts.get("final_offers") or 0), min_suppliers(facts)
    if have < need:
        return _v("negotiation.too_few_final_offers",
                  f"有效最后报价只有 {have} 家，不足 {need} 家，应当终止竞争性谈判",
                  f"Only {have} valid final offers, fewer than {need}: the negotiation must be terminated",
                  rule="最后报价家数", source="《政府非招标采购方式管理办法》第三十三条、第三十七条", needed=need, actual=have)
    return None


def enough_responsive(facts: Mapping[str, Any], now: datetime | None = None) -> Violation | None:
    """The team's report recommends candidates only from at least the minimum of responsive suppliers
    (Art. 35, 37); fewer end the negotiation instead."""
    have, need = int(facts.get("responsive") or 0), min_suppliers(facts)
    if have < need:
        return _v("negotiation.too_few_responsive",
                  f"满足实质性要求的供应商只有 {have} 家，不足 {need} 家，应当终止竞争性谈判",
                  f"Only {have} responsive suppliers, fewer than {need}: the negotiation must be terminated",
                  rule="成交候选人家数", source="《政府非招标采购方式管理办法》第三十五条、第三十七条", needed=need, actual=have)
    return None


def all_of(*guards):
    def guard(facts: Mapping[str, Any], now: datetime) -> Violation | None:
        for g in guards:
            v = g(facts, now)
            if v is not None:
                return v
        return None
    return guard


def _after_round(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    return no_open_round(facts, now) or enough_suppliers(facts, now)


# --- the machine ----------------------------------------------------------------------------------

_T = Transition


def final_opened(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    if not facts.get("final_quotes_opened"):
        return _v("negotiation.final_not_opened", "最后报价尚未开启（须先结束最后报价轮并由保管人开启）",
                  "The final offers are not opened yet (close the final round; custodians open it)")
    return None


def _closing(facts: Mapping[str, Any], now: datetime) -> Violation | None:
    return deadline_passed(facts, now) or response_period(facts, now)


def _sealed() -> tuple[Transition, ...]:
    """phases.sealed_phase with the response period (Art. 29) checked again when responses close."""
    enough = count_at_least("applicants", min_fact="min_valid_offers", code="flow.too_few_applicants",
                            zh="响应供应商不足", en="Too few suppliers responded")
    phase = sealed_phase(enough, count_below("applicants", min_fact="min_valid_offers"))
    return tuple(_T(t.source, t.action, t.target, t.roles, _closing) if t.action == "close" else t for t in phase)


_MIDDLE = (
    _T("opened", "start_negotiation", "negotiating", TEAM, all_of(team_ok, buyer_share_ok, enough_suppliers)),
    _T("negotiating", "close_round", "negotiating", TEAM, round_due),
    _T("negotiating", "call_final_offers", "final_offers", TEAM, _after_round),
    _T("negotiating", "terminate", "terminated", TEAM),
    _T("final_offers", "close_round", "final_offers", TEAM, round_due),
    _T("final_offers", "close_final_offers", "evaluating", TEAM, all_of(final_opened, enough_final_offers)),
    _T("final_offers", "terminate", "terminated", TEAM),
    _T("evaluating", "submit_report", "reported", SYSTEM | frozenset({"expert"})),
    _T("evaluating", "report_negotiation", "reported", TEAM, enough_responsive),
    _T("evaluating", "terminate", "terminated", TEAM),
    _T("reported", "confirm", "confirming", RUNNERS),
)
TERMINAL = frozenset({"archived", "terminated", "reannounced"})

MACHINE = Machine(
    procedure=PROCEDURE, initial="accepting", terminal=TERMINAL,
    transitions=(*_sealed(), *_MIDDLE, *tail("confirming", None),
                 *failure_paths(("opened", "negotiating", "final_offers", "evaluating", "reported", "confirming"))))

register(MACHINE)


# --- the winner -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FinalOffer:
    bidder_org_id: int
    price_fen: int | None
    #: server receipt time of the accepted final-offer envelope
    received_at: datetime
    credit_code: str
    #: the team's judgement: meets the substantive requirements (and the envelope opened)
    responsive: bool = True


def rank_final_offers(offers: Sequence[FinalOffer]) -> list[FinalOffer]:
    """Responsive offers with a price, lowest final price first (Art. 35). Ties: the earlier final
    offer (server receipt time) first; then — the stated rule for an exact tie to the microsecond —
    the smaller 统一社会信用代码, a public, fixed order nobody can steer after the opening."""
    valid = [o for o in offers if o.responsive and o.price_fen is not None and o.price_fen > 0]
    return sorted(valid, key=lambda o: (o.price_fen, o.received_at, o.credit_code))


@dataclass(frozen=True)
class Recommendation:
    """The team's report in figures: the responsive offers ranked (lowest final price first), the
    candidates it recommends (the first `max_candidates` of them) and whether enough are responsive."""
    ranked: tuple[FinalOffer, ...]
    candidates: tuple[FinalOffer, ...]
    enough: bool


def recommend(offers: Sequence[FinalOffer], excluded: Collection[int], *, min_needed: int,
              max_candidates: int) -> Recommendation:
    """Art. 35: from the suppliers whose final offers meet the substantive requirements (the opened,
    still-in offers the team did not exclude), candidates in order of final price from low to high;
    fewer responsive than `min_needed` → not enough (the negotiation ends, Art. 37)."""
    judged = [replace(o, responsive=o.responsive and o.bidder_org_id not in excluded) for o in offers]
    ranked = tuple(rank_final_offers(judged))
    enough = len(ranked) >= min_needed
    return Recommendation(ranked, ranked[:max_candidates] if enough else (), enough)


def winner(offers: Sequence[FinalOffer]) -> FinalOffer | None:
    ranked = rank_final_offers(offers)
    return ranked[0] if ranked else None
