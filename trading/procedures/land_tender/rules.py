"""The 招标出让 stage machine, pure (rules.md §1 G common rules, G1; §H for mining rights):

    accepting (出让公告 ≥ 20 CD; mining ≥ 20 WD) → closed → opening → opened → evaluating (评标小组
    ≥ 5, odd, experts ≥ 2/3) → reported → awarded (中标通知书 and the result notice) → contracted →
    archived; fewer than `land_tender.min_bidders` (default 3) bidders at the deadline or valid
    offers at the opening → failed, then the tender ends (cancel → terminated, 39号令 Art. 13 [U]) or
    is announced again (reannounce).

The winner: the offer that meets the requirements with the highest price (`highest_price`: equal
prices → the earlier submission), or the best comprehensive score (`comprehensive`: the price
scores offer ÷ highest valid offer × weight); both are evaluation.criteria methods. There is no
candidate publicity and no buyer's confirmation: rank 1 of the signed report is awarded (a lower
rank only after every higher one was recorded as waived or unable). The result is published with the
award, due within `award.land_result_wd` (10) working days of the activity's end, the losers' deposits are due back
within 5 WD of the result (deposit.land_refund_wd), the winner's deposit becomes part of the price.

The sealed reserve price (底价, rules.md G common rules: kept secret until the activity ends): the
owner's choice, before the bid deadline, of none or a sealed envelope opened with the offers. With the
`highest_price` method an offer below it cannot win (报价低于底价的不得中标): the evaluation rejects it
(`below_reserve`), and when no valid offer reaches it — or the sealed reserve cannot be read, so the
floor is unknown — the lot fails at the opening (流标, the usual next steps). See `reserve_failure`.

Where the other figures live: the notice periods (period.land_notice_cd, period.mining_notice_wd,
common.periods), the deposit floor ≥ 20 % of the starting price with no cap (deposit.land_floor_bp,
common.deposits.rules), the refund (deposit.land_refund_wd).

Imports: core.errors, reference (settings), procedures.common (flow, phases)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from trading.core.errors import InvalidInput
from trading.procedures.common.flow import Machine, Transition, register
from trading.procedures.common.phases import (
    RUNNERS,
    count_at_least,
    count_below,
    failure_paths,
    panel_composition,
    sealed_phase,
    tail,
)
from trading.reference.settings import SettingDef, define

LAND = "land_tender"
MINING = "mining_tender"
PROCEDURES = (LAND, MINING)

define(
    SettingDef("land_tender.min_bidders", 3, "count", "39号令 Art. 13 [U]: 投标人不足三人的，终止招标",
               "招标出让最少投标人数（不足则终止招标）", "Fewest bidders in a land / mining tender (else it ends)", 1, 10),
    SettingDef("land_tender.panel_min", 5, "count", "39号令 [U]: 评标小组 5 人以上单数",
               "招标出让评标小组最少人数（单数）", "Smallest land-tender evaluation panel (odd)", 5, 25),
)

#: labels of the two variants (zh, en): the trade type they belong to is 土地使用权与矿业权 for both
LABELS = {LAND: ("国有建设用地使用权招标出让", "Land-use right granted by tender"),
          MINING: ("矿业权招标出让", "Mining right granted by tender")}
#: what the bidder and the offer are called in each variant
TERMS = {LAND: {"bidder": ("投标人（竞买人）", "Bidder"), "object": ("宗地", "Parcel"),
                "notice": ("国有建设用地使用权招标出让公告", "Land grant notice (tender)")},
         MINING: {"bidder": ("投标人（竞买人）", "Bidder"), "object": ("矿业权", "Mining right"),
                  "notice": ("矿业权招标出让公告", "Mining-right grant notice (tender)")}}

EVALUATORS = RUNNERS | frozenset({"expert"})


def _machine(procedure: str) -> Machine:
    too_few = count_below("applicants", setting_code="land_tender.min_bidders")
    return Machine(
        procedure=procedure,
        initial="accepting",
        terminal=frozenset({"archived", "terminated", "reannounced"}),
        transitions=(
            *sealed_phase(count_at_least("applicants", setting_code="land_tender.min_bidders",
                                         code="flow.too_few_bidders", zh="投标人不足", en="Too few bidders"),
                          too_few),
            Transition("opened", "start_evaluation", "evaluating", RUNNERS, panel_composition("land_tender.panel_min")),
            Transition("evaluating", "submit_report", "reported", EVALUATORS),
            # every offer but too few meet the requirements (below the starting price, not responsive)
            Transition("evaluating", "fail", "failed", EVALUATORS,
                       count_below("qualified", setting_code="land_tender.min_bidders")),
            # no candidate publicity, no confirmation: the winner of the signed report is notified
            *tail("reported", None),
            *failure_paths(("opened", "evaluating", "reported")),
        ),
    )


MACHINES = {p: _machine(p) for p in PROCEDURES}
for _m in MACHINES.values():
    register(_m)


def is_land_tender(procedure: str) -> bool:
    return procedure in MACHINES


__all__ = ["LAND", "LABELS", "MACHINES", "MINING", "PROCEDURES", "RESERVE_FAILURES", "TERMS", "Parcel",
           "below_reserve", "is_land_tender", "mu_of", "parse_parcel", "reserve_binds", "reserve_failure",
           "reserve_state"]


# --- the parcel (宗地) or mining right announced with the grant notice --------------------------------
TEXT_MAX = {"subject_ref": 60, "location": 200, "land_use": 60, "plot_ratio": 40, "mineral": 60}
TERM_YEARS_MAX = 70  # the longest grant term (residential land, 城镇国有土地使用权出让和转让暂行条例 Art. 12)


@dataclass(frozen=True)
class Parcel:
    """What the grant notice says about the object: 宗地编号 (or the mining right's name), location,
    area in ㎡, 土地用途 (or 矿种 for a mining right), 出让年限, 容积率."""
    subject_ref: str
    location: str
    area_m2: Decimal | None
    land_use: str
    term_years: int | None
    plot_ratio: str
    mineral: str

    def as_dict(self) -> dict:
        return {"subject_ref": self.subject_ref, "location": self.location,
                "area_m2": str(self.area_m2) if self.area_m2 is not None else None, "land_use": self.land_use,
                "term_years": self.term_years, "plot_ratio": self.plot_ratio, "mineral": self.mineral}


def _bad(field: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"parcel.{field}", zh, en, field=field)


def parse_parcel(raw: object, procedure: str) -> Parcel:
    """Validate the typed (or sent) parcel data: texts within their lengths, the area a positive
    number of ㎡ with at most 2 decimals, the term 1–70 years; a land parcel needs its number,
    location and area; a mining right its name and 矿种. InvalidInput names the field to fix."""
    raw = raw if isinstance(raw, dict) else {}
    text = {}
    for name, most in TEXT_MAX.items():
        value = raw.get(name)
        value = value.strip() if isinstance(value, str) else ("" if value is None else None)
        if value is None or len(value) > most:
            raise _bad(name, f"此项须为不超过 {most} 字的文字", f"Text of at most {most} characters")
        text[name] = value
    area = raw.get("area_m2")
    area_dec = None
    if area not in (None, ""):
        try:
            area_dec = Decimal(str(area).replace(",", "").strip())
        except InvalidOperation:
            area_dec = None
        if isinstance(area, bool | float) or area_dec is None or not area_dec.is_finite() or area_dec <= 0 \
                or area_dec.as_tuple().exponent < -2 or area_dec >= Decimal("1e12"):
            raise _bad("area_m2", "面积须为大于 0 的平方米数（最多两位小数）",
                       "The area is a positive number of square metres (at most 2 decimals)")
    term = raw.get("term_years")
    term_int = None
    if term not in (None, ""):
        try:
            term_int = int(str(term).strip()) if not isinstance(term, bool | float) else None
        except ValueError:
            term_int = None
        if term_int is None or not 1 <= term_int <= TERM_YEARS_MAX:
            raise _bad("term_years", f"出让年限须为 1–{TERM_YEARS_MAX} 年的整数",
                       f"The term is a whole number of years, 1–{TERM_YEARS_MAX}")
    if procedure == MINING:
        for name, zh, en in (("subject_ref", "请填写矿业权名称", "Give the mining right's name"),
                             ("mineral", "请填写开采矿种", "Give the mineral")):
            if not text[name]:
                raise _bad(name, zh, en)
    else:
        for name, zh, en in (("subject_ref", "请填写宗地编号", "Give the parcel number"),
                             ("location", "请填写宗地坐落", "Give the parcel's location")):
            if not text[name]:
                raise _bad(name, zh, en)
        if area_dec is None:
            raise _bad("area_m2", "请填写宗地面积（平方米）", "Give the parcel's area (square metres)")
    return Parcel(text["subject_ref"], text["location"], area_dec, text["land_use"], term_int, text["plot_ratio"],
                  text["mineral"])


def mu_of(area_m2: Decimal | None) -> Decimal | None:
    """㎡ → 亩 (1 亩 = 10000/15 ㎡), two decimals, half up."""
    if area_m2 is None:
        return None
    return (Decimal(area_m2) * 15 / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- the sealed reserve price (底价) --------------------------------------------------------------------
#: evaluation.criteria's Method.HIGHEST_PRICE (that package sits above this one)
HIGHEST_PRICE = "highest_price"

#: why a lot fails at the opening for its reserve: code → (zh, en)
RESERVE_FAILURES = {
    "below_reserve": ("没有有效投标报价达到底价（报价低于底价的不得中标），本次招标出让流标",
                      "No valid offer reaches the reserve price (an offer below it cannot win): the tender fails"),
    "reserve_failed": ("密封底价无法开启，底价不明，不能确定中标人，本次招标出让流标",
                       "The sealed reserve could not be opened: with the floor unknown no offer can win; the "
                       "tender fails"),
}


def reserve_binds(method: str | None) -> bool:
    """The reserve decides who may win under the highest-price method; under the comprehensive method it
    is opened and recorded only (the criteria's scoring decides)."""
    return method == HIGHEST_PRICE


def below_reserve(method: str | None, reserve_fen: int | None, price_fen: int | None) -> bool:
    """An opened offer below the opened reserve cannot win (报价低于底价的不得中标); an offer equal to it
    can. No reserve (or not binding): never."""
    return reserve_binds(method) and reserve_fen is not None and price_fen is not None and price_fen < reserve_fen


def reserve_failure(method: str | None, status: str | None, reserve_fen: int | None,
                    prices: list[int | None]) -> str | None:
    """At the opening, with the reserve's status after it (opened | failed; anything else: no reserve)
    and the valid offers' prices: "below_reserve" when none reaches it, "reserve_failed" when the
    sealed reserve could not be read (the seller's floor is unknown: no grant that may be below it),
    else None. Only when the reserve binds (reserve_binds)."""
    if not reserve_binds(method) or status not in ("opened", "failed"):
        return None
    if status == "failed" or reserve_fen is None:
        return "reserve_failed"
    if not any(p is not None and p >= reserve_fen for p in prices):
        return "below_reserve"
    return None


def reserve_state(status: str | None, *, before_deadline: bool) -> str:
    """What the pages and the API say about a lot's reserve, never its amount: "sealed" (a sealed reserve
    exists; opened or failed after the opening), "none" (the owner recorded none, or nothing was sealed
    by the deadline), "undecided" (before the deadline, nothing recorded yet or sealing not finished)."""
    if status in ("sealed", "opened", "failed"):
        return status
    if status == "none" or not before_deadline:
        return "none"
    return "undecided"
