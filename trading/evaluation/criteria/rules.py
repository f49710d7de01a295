"""A lot's evaluation criteria (评分细则), pure: their shape, their validation and the price-score
formula. Plain values in, plain values out; no Flask, no SQLAlchemy.

Two methods:
- `comprehensive` (综合评估法, 比选): a price weight in points, scored by the formula
  price score = lowest valid price ÷ offer × price weight (87号令 Art. 55 [V] for the form of the
  formula; 比选 [U]); technical and commercial items each with a maximum; a rejection checklist.
  Price weight + the items' maxima = 100 points.
- `lowest_price` (最低评标价法 / 谈判 / 询价, 74号令 Art. 35, 48 [V]): a responsiveness checklist
  (pass, or reject with the failed item), then the lowest price wins. No points.
- `highest_price` (招标出让, rules.md G1 "meets the requirements with the highest price" [U]): the
  same checklist, an optional minimum (the announced starting price: a lower offer is rejected), then
  the highest price wins; equal prices → the earlier submission. Only for land / mining tenders.

For a sale (招标出让) the comprehensive method's price score favours the higher offer: offer ÷ highest
valid offer × price weight (`price_score_high`); every other procedure buys, and the lowest wins.

Numbers: points are Decimals with at most 2 decimals. The price score is computed in exact rational
arithmetic and rounded once to 2 decimals, ROUND_HALF_UP (四舍五入), the rounding stated on the sheet.

Imports: core.errors, reference.settings only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any

from trading.core.errors import InvalidInput
from trading.reference.settings import SettingDef, define

define(
    SettingDef("criteria.price_weight_min_goods", 30, "count", "87号令 Art. 55 [V] (货物价格分 ≥ 30 %)",
               "货物项目价格分最低分值（分）", "Lowest price weight, goods (points)", 1, 100),
    SettingDef("criteria.price_weight_min_services", 10, "count", "87号令 Art. 55 [V] (服务价格分 ≥ 10 %)",
               "服务项目价格分最低分值（分）", "Lowest price weight, services (points)", 1, 100),
    SettingDef("criteria.price_weight_min_works", 10, "count", "比选 [U]; 平台设定 [P]",
               "工程项目价格分最低分值（分）", "Lowest price weight, works (points)", 1, 100),
    SettingDef("criteria.price_weight_max", 60, "count", "财库〔2014〕214号 货物 30–60 % [U]; 平台设定 [P]",
               "价格分最高分值（分）", "Highest price weight (points)", 1, 100),
)

TOTAL_POINTS = Decimal(100)
TWO_PLACES = Decimal("0.01")
MAX_ITEMS = 40
MAX_REJECTIONS = 30
NAME_MAX = 80


class Method(StrEnum):
    COMPREHENSIVE = "comprehensive"   # 综合评估法
    LOWEST_PRICE = "lowest_price"     # 最低价 (responsiveness, then lowest price)
    HIGHEST_PRICE = "highest_price"   # 最高价 (招标出让: responsiveness, then the highest price)


class Group(StrEnum):
    TECHNICAL = "technical"     # 技术分
    COMMERCIAL = "commercial"   # 商务分


class TieBreak(StrEnum):
    #: equal average → lower price → higher technical subtotal → the stated draw order
    TECHNICAL = "technical"
    #: equal average → lower price → the stated draw order
    DRAW = "draw"


#: the rejection checklist offered when an owner starts from the template (实施条例 Art. 51 [V])
DEFAULT_REJECTIONS = (
    ("R1", "资格证书缺失或不符合要求"),
    ("R2", "报价超过最高限价"),
    ("R3", "未按要求签字盖章"),
    ("R4", "未实质性响应比选（采购）文件要求"),
    ("R5", "报价低于成本"),
)


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    group: str
    max_points: Decimal


@dataclass(frozen=True)
class RejectReason:
    code: str
    name: str


@dataclass(frozen=True)
class Criteria:
    method: str
    price_weight: Decimal            # 0 for lowest_price
    items: tuple[Item, ...]
    rejections: tuple[RejectReason, ...]
    max_price_fen: int | None = None  # 最高限价: an offer above it is rejected
    tie_break: str = TieBreak.TECHNICAL
    min_price_fen: int | None = None  # 起始价 (highest_price): an offer below it is rejected

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    def rejection(self, code: str) -> RejectReason | None:
        return next((r for r in self.rejections if r.code == code), None)

    @property
    def scored(self) -> bool:
        return self.method == Method.COMPREHENSIVE

    def to_body(self) -> dict[str, Any]:
        """The canonical JSON body stored in LotCriteria (points as strings, never floats); the
        minimum appears only when set, so the bodies of the other methods keep their form."""
        body = {"method": self.method, "price_weight": str(self.price_weight),
                "items": [{"code": i.code, "name": i.name, "group": i.group, "max": str(i.max_points)}
                          for i in self.items],
                "rejections": [{"code": r.code, "name": r.name} for r in self.rejections],
                "max_price_fen": self.max_price_fen, "tie_break": self.tie_break}
        if self.min_price_fen is not None:
            body["min_price_fen"] = self.min_price_fen
        return body


@dataclass(frozen=True)
class WeightLimits:
    minimum: int
    maximum: int


def _bad(code: str, zh: str, en: str, field: str | None = None, **details) -> InvalidInput:
    return InvalidInput(f"criteria.{code}", zh, en, field=field, details=details or None)


def parse_points(value: object, *, field: str, code: str = "criteria.points") -> Decimal:
    """A number of points typed or sent as text/int: at most 2 decimals, never a float."""
    def bad() -> InvalidInput:
        return InvalidInput(code, "分值须为数字（最多两位小数）", "Points must be a number with at most 2 decimals",
                            field=field)
    if isinstance(value, bool) or isinstance(value, float) or value is None:
        raise bad()
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise bad() from None
    if not d.is_finite() or d.as_tuple().exponent < -2:
        raise bad()
    return d


def _text(raw: object, field: str) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or len(text) > NAME_MAX:
        raise _bad("name", f"名称不能为空且不超过 {NAME_MAX} 字", f"A name is required (at most {NAME_MAX} characters)", field)
    return text


def _code(raw: object, field: str, seen: set[str]) -> str:
    code = raw.strip() if isinstance(raw, str) else ""
    if not code or len(code) > 12 or not code.replace("_", "").replace("-", "").isalnum():
        raise _bad("code", "编号须为 1–12 位字母或数字", "Codes are 1–12 letters or digits", field)
    if code in seen:
        raise _bad("duplicate_code", f"编号 {code} 重复", f"Code {code} is used twice", field)
    seen.add(code)
    return code


def _items(raw: object, seen: set[str]) -> tuple[Item, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        raise _bad("items", f"评分项须为列表（不超过 {MAX_ITEMS} 项）", f"Items must be a list (at most {MAX_ITEMS})", "items")
    items = []
    for n, row in enumerate(raw):
        row = row if isinstance(row, Mapping) else {}
        field = f"items[{n}]"
        group = row.get("group", Group.TECHNICAL)
        if group not in set(Group):
            raise _bad("group", "评分项类别须为技术或商务", "An item's group is technical or commercial", field)
        max_points = parse_points(row.get("max"), field=f"{field}.max")
        if max_points <= 0:
            raise _bad("item_max", "评分项满分须大于 0", "An item's maximum must be greater than 0", f"{field}.max")
        items.append(Item(_code(row.get("code"), f"{field}.code", seen), _text(row.get("name"), f"{field}.name"),
                          group, max_points))
    return tuple(items)


def _rejections(raw: object, seen: set[str]) -> tuple[RejectReason, ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_REJECTIONS:
        raise _bad("rejections", f"须列出 1–{MAX_REJECTIONS} 项否决（响应性审查）条款",
                   f"List 1–{MAX_REJECTIONS} rejection (responsiveness) items", "rejections")
    out = []
    for n, row in enumerate(raw):
        row = row if isinstance(row, Mapping) else {}
        out.append(RejectReason(_code(row.get("code"), f"rejections[{n}].code", seen),
                                _text(row.get("name"), f"rejections[{n}].name")))
    return tuple(out)


def _max_price(raw: object) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise _bad("max_price", "最高限价须为大于 0 的整数（分）", "The price ceiling is a positive integer in fen",
                   "max_price_fen")
    return raw


def _min_price(raw: object) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise _bad("min_price", "起始价（最低可接受报价）须为大于 0 的整数（分）",
                   "The starting price (lowest acceptable offer) is a positive integer in fen", "min_price_fen")
    return raw


def parse_criteria(body: object, limits: WeightLimits) -> Criteria:
    """Validate a criteria body (the JSON the page or the API sends) into Criteria, or raise
    InvalidInput naming the field. `limits` are the price-weight bounds for the lot's category."""
    if not isinstance(body, Mapping):
        raise _bad("body", "评分细则格式不正确", "Malformed criteria")
    method = body.get("method")
    if method not in set(Method):
        raise _bad("method", "评审方法须为综合评估法、最低价法或最高价法",
                   "The method is comprehensive, lowest_price or highest_price", "method")
    tie_break = body.get("tie_break") or TieBreak.TECHNICAL
    if tie_break not in set(TieBreak):
        raise _bad("tie_break", "并列规则不正确", "Unknown tie-break rule", "tie_break")
    seen: set[str] = set()
    rejections = _rejections(body.get("rejections"), seen)
    max_price = _max_price(body.get("max_price_fen"))
    if method == Method.LOWEST_PRICE:
        if body.get("items"):
            raise _bad("items_not_allowed", "最低价法不设评分项", "The lowest-price method has no scored items", "items")
        return Criteria(Method.LOWEST_PRICE, Decimal(0), (), rejections, max_price, tie_break)
    if method == Method.HIGHEST_PRICE:
        if body.get("items"):
            raise _bad("items_not_allowed", "最高价法不设评分项", "The highest-price method has no scored items", "items")
        if max_price is not None:
            raise _bad("max_price_not_allowed", "最高价法不设最高限价", "The highest-price method has no price ceiling",
                       "max_price_fen")
        return Criteria(Method.HIGHEST_PRICE, Decimal(0), (), rejections, None, tie_break,
                        _min_price(body.get("min_price_fen")))
    weight = parse_points(body.get("price_weight"), field="price_weight")
    if not limits.minimum <= weight <= limits.maximum:
        raise _bad("price_weight_range", f"价格分须在 {limits.minimum}–{limits.maximum} 分之间",
                   f"The price weight must be {limits.minimum}–{limits.maximum} points", "price_weight",
                   minimum=limits.minimum, maximum=limits.maximum)
    items = _items(body.get("items"), seen)
    if not items:
        raise _bad("items", "综合评估法须至少一项技术或商务评分项", "The comprehensive method needs at least one item", "items")
    total = weight + sum((i.max_points for i in items), Decimal(0))
    if total != TOTAL_POINTS:
        raise _bad("total", f"价格分与各评分项满分之和须为 100 分（现为 {total} 分）",
                   f"The price weight and the items' maxima must add up to 100 (now {total})", "items",
                   total=str(total))
    return Criteria(Method.COMPREHENSIVE, weight, items, rejections, max_price, tie_break)


#: 谈判 and 询价 rank responsive suppliers by final price, low to high (74号令 Art. 35, 48 [V]): the
#: comprehensive method is not theirs. 招标出让 sells: the highest price or the comprehensive score
#: wins (rules.md G1), never the lowest price; the highest price is a sale's method only.
METHODS_BY_PROCEDURE = {"negotiation": (Method.LOWEST_PRICE,), "inquiry": (Method.LOWEST_PRICE,),
                        "land_tender": (Method.HIGHEST_PRICE, Method.COMPREHENSIVE),
                        "mining_tender": (Method.HIGHEST_PRICE, Method.COMPREHENSIVE)}
BUYING_METHODS = (Method.COMPREHENSIVE, Method.LOWEST_PRICE)
#: procedures that sell (the higher price is better, also in the comprehensive price score)
SALE_PROCEDURES = frozenset({"land_tender", "mining_tender"})

_METHOD_REFUSALS = {
    "sale": ("招标出让按最高报价或综合评分确定中标人，只能采用最高价法或综合评估法",
             "A land / mining tender awards the highest price or the best comprehensive score: only those methods apply"),
    "gp": ("竞争性谈判和询价按最后报价由低到高推荐，只能采用最低价法",
           "Negotiation and inquiry rank by final price: only the lowest-price method applies"),
    "buy": ("最高价法只适用于招标出让（土地、矿业权）", "The highest-price method is for land / mining tenders only"),
}


def methods_for(procedure: str) -> tuple[str, ...]:
    return METHODS_BY_PROCEDURE.get(procedure, BUYING_METHODS)


def check_method(criteria: Criteria, procedure: str) -> None:
    if criteria.method not in methods_for(procedure):
        which = "sale" if procedure in SALE_PROCEDURES else "gp" if procedure in METHODS_BY_PROCEDURE else "buy"
        zh, en = _METHOD_REFUSALS[which]
        raise _bad("method_not_allowed", zh, en, "method")


def criteria_from_body(body: Mapping) -> Criteria:
    """A stored body back into Criteria (it was validated when stored; the bounds applied then)."""
    return parse_criteria(body, WeightLimits(0, 100))


def weight_limits(category: str, settings: Mapping[str, int]) -> WeightLimits:
    """The price-weight bounds for a project category (works | goods | services | …)."""
    key = {"goods": "criteria.price_weight_min_goods", "services": "criteria.price_weight_min_services"}.get(
        category, "criteria.price_weight_min_works")
    return WeightLimits(settings[key], settings["criteria.price_weight_max"])


def round_points(value: Fraction | Decimal) -> Decimal:
    """Round exactly once to 2 decimals, half up (四舍五入), from an exact value."""
    frac = Fraction(value)
    sign = -1 if frac < 0 else 1
    hundredths = (abs(frac) * 100 + Fraction(1, 2)).__floor__()
    return (Decimal(sign * hundredths) / 100).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def price_score(lowest_fen: int, offer_fen: int, weight: Decimal) -> Decimal:
    """基准价法: lowest valid price ÷ offer × price weight, exact, then rounded to 2 decimals half up.
    The lowest offer scores the full weight."""
    if offer_fen <= 0 or lowest_fen <= 0 or lowest_fen > offer_fen:
        raise ValueError("prices must be positive and the lowest valid price must not exceed the offer")
    return round_points(Fraction(lowest_fen) / Fraction(offer_fen) * Fraction(weight))


def price_score_high(highest_fen: int, offer_fen: int, weight: Decimal) -> Decimal:
    """A sale's price score: offer ÷ highest valid offer × price weight, exact, then rounded to 2
    decimals half up. The highest offer scores the full weight."""
    if offer_fen <= 0 or highest_fen <= 0 or offer_fen > highest_fen:
        raise ValueError("prices must be positive and no offer may exceed the highest valid offer")
    return round_points(Fraction(offer_fen) / Fraction(highest_fen) * Fraction(weight))


#: the rejection checklist of a land / mining tender (招标出让)
SALE_REJECTIONS = (
    ("R1", "投标人资格不符合出让公告要求"),
    ("R2", "报价低于起始价"),
    ("R3", "未按要求签字盖章"),
    ("R4", "未实质性响应招标出让文件要求"),
    ("R5", "未按规定交纳投标保证金"),
)


def template_body(method: str = Method.COMPREHENSIVE) -> dict[str, Any]:
    """A starting point for the owner's page: a valid comprehensive (or lowest- / highest-price) body."""
    rejections = [{"code": c, "name": n} for c, n in DEFAULT_REJECTIONS]
    if method == Method.HIGHEST_PRICE:
        return {"method": Method.HIGHEST_PRICE, "items": [], "min_price_fen": None,
                "rejections": [{"code": c, "name": n} for c, n in SALE_REJECTIONS]}
    if method == Method.LOWEST_PRICE:
        return {"method": Method.LOWEST_PRICE, "items": [], "rejections": rejections, "max_price_fen": None}
    return {"method": Method.COMPREHENSIVE, "price_weight": "40", "tie_break": TieBreak.TECHNICAL,
            "items": [{"code": "T1", "name": "施工组织设计", "group": Group.TECHNICAL, "max": "30"},
                      {"code": "T2", "name": "项目管理机构", "group": Group.TECHNICAL, "max": "15"},
                      {"code": "C1", "name": "企业业绩", "group": Group.COMMERCIAL, "max": "10"},
                      {"code": "C2", "name": "企业信誉", "group": Group.COMMERCIAL, "max": "5"}],
            "rejections": rejections, "max_price_fen": None}
