"""The entry router (domain/rules.md §3.3), pure: from a project's category, owner, funding and amounts
to whether it must enter the centre, which procedures it may use and why, each reason with the rule
it rests on. Every figure comes in through RouteLimits (the `routing.*` settings); nothing is
hard-coded here. Boundaries are inclusive: "以上/以下" include the number (民法典 Art. 1259), so
"≥ limit" trips a threshold and only "< floor" is below the band."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from trading.core.money import format_yuan

from .enums import PROCEDURE_ORDER, Category, FundingSource, OwnerType
from .enums import Procedure as P

#: the settings each RouteLimits field reads
SETTING_CODES = {
    "band_floor_fen": "routing.band_floor_fen",
    "band_ceiling_fen": "routing.band_ceiling_fen",
    "tender_works_fen": "routing.tender_works_fen",
    "tender_goods_fen": "routing.tender_goods_fen",
    "tender_services_fen": "routing.tender_services_fen",
    "state_funds_fen": "routing.state_funds_fen",
    "state_share_bp": "routing.state_share_bp",
    "gp_tender_fen": "routing.gp_tender_fen",
    "gp_works_limit_fen": "routing.gp_works_limit_fen",
}


@dataclass(frozen=True)
class RouteLimits:
    band_floor_fen: int
    band_ceiling_fen: int
    tender_works_fen: int
    tender_goods_fen: int
    tender_services_fen: int
    state_funds_fen: int
    state_share_bp: int
    gp_tender_fen: int
    gp_works_limit_fen: int

    @classmethod
    def from_settings(cls, get: Callable[[str], int]) -> RouteLimits:
        return cls(**{name: get(code) for name, code in SETTING_CODES.items()})

    def tender_threshold(self, category: str) -> int | None:
        return {Category.WORKS: self.tender_works_fen, Category.GOODS: self.tender_goods_fen,
                Category.SERVICES: self.tender_services_fen}.get(category)


@dataclass(frozen=True)
class RouteInput:
    category: str
    owner_type: str
    funding_source: str
    fiscal_share_bp: int
    total_investment_fen: int
    #: each lot's budget: each lot is one contract; together they are the project's contract value
    lot_budgets_fen: tuple[int, ...]
    #: combinable contracts of the same construction project added up (16号令 Art. 5 ¶2), if any
    combined_total_fen: int | None = None

    @property
    def budget_fen(self) -> int:
        return sum(self.lot_budgets_fen)

    @property
    def value_fen(self) -> int:
        """The amount compared with the band and the thresholds: the contract value, or the combined
        total when one is given and larger (splitting a project must not lower its route)."""
        return max(self.budget_fen, self.combined_total_fen or 0)


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str
    rule: str

    def text(self, locale: str = "zh") -> str:
        return self.en if locale.startswith("en") else self.zh

    def to_dict(self) -> dict:
        return {"code": self.code, "zh": self.zh, "en": self.en, "rule": self.rule}

    @classmethod
    def from_dict(cls, d: dict) -> Reason:
        return cls(d["code"], d["zh"], d["en"], d["rule"])


@dataclass(frozen=True)
class RouteDecision:
    must_enter: bool
    required_method: str | None
    allowed: tuple[str, ...]
    reasons: tuple[Reason, ...]
    #: shown to the operator: anti-splitting findings and the like (added at submission)
    warnings: tuple[Reason, ...] = ()
    #: procedure → the condition it may only be used under (e.g. single source needs statutory grounds)
    conditions: dict[str, Reason] = field(default_factory=dict)
    state_funded: bool = False
    gp_buyer: bool = False
    value_fen: int = 0

    def with_warning(self, warning: Reason) -> RouteDecision:
        return RouteDecision(self.must_enter, self.required_method, self.allowed, self.reasons,
                             self.warnings + (warning,), self.conditions, self.state_funded, self.gp_buyer,
                             self.value_fen)

    def to_dict(self) -> dict:
        return {"must_enter": self.must_enter, "required_method": self.required_method,
                "allowed": list(self.allowed), "reasons": [r.to_dict() for r in self.reasons],
                "warnings": [r.to_dict() for r in self.warnings],
                "conditions": {k: v.to_dict() for k, v in self.conditions.items()},
                "state_funded": self.state_funded, "gp_buyer": self.gp_buyer, "value_fen": self.value_fen}

    @classmethod
    def from_dict(cls, d: dict) -> RouteDecision:
        return cls(d["must_enter"], d.get("required_method"), tuple(d["allowed"]),
                   tuple(Reason.from_dict(r) for r in d["reasons"]),
                   tuple(Reason.from_dict(r) for r in d.get("warnings", [])),
                   {k: Reason.from_dict(v) for k, v in d.get("conditions", {}).items()},
                   d.get("state_funded", False), d.get("gp_buyer", False), d.get("value_fen", 0))


def _y(fen: int) -> str:
    return format_yuan(fen)


def _pct(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}%"


_CAT_ZH = {Category.WORKS: "施工/工程", Category.GOODS: "货物", Category.SERVICES: "服务"}
#: legal citations as users read them (the law and its article); where a figure comes from in our own
#: domain notes stays in comments and docstrings, never in a reason's text
_ART5 = {Category.WORKS: "16号令 第5条第1款第（一）项", Category.GOODS: "16号令 第5条第1款第（二）项",
         Category.SERVICES: "16号令 第5条第1款第（三）项"}
_ART5_SUM = "、第2款"  # combinable parts added up (16号令 Art. 5 ¶2)
_CATALOGUE = "县公共资源交易目录"

SINGLE_SOURCE_CONDITION = Reason(
    "route.single_source_grounds",
    "单一来源方式仅限法定情形（只能从唯一供应商处采购；发生不可预见的紧急情况；为保证原项目一致性或服务配套要求的添购且"
    "总额不超过原合同10%），须说明理由，达到公开招标数额的须经财政部门批准并公示不少于5个工作日。",
    "Single source only on statutory grounds (sole supplier; unforeseeable emergency; compatible additions of at most "
    "10 % of the original contract), with the grounds stated; above the public-tender threshold it needs the finance "
    "department's approval and at least 5 working days of publicity.",
    "政府采购法 第31条；政府采购法实施条例 第38条")
DIRECT_CONDITION = Reason(
    "route.direct_record_only",
    "自行采购不在中心组织交易，登记仅作备案；业主按内部控制制度组织采购。",
    "A direct purchase is not traded in the centre; the registration is a record only.",
    _CATALOGUE)
VOLUNTARY = Reason(
    "route.voluntary",
    "本项目依规不要求进场交易；仍可自愿进场，按所选的允许方式交易，或选择“自行采购（备案）”。",
    "This project need not enter the centre; it may still enter voluntarily with one of the allowed procedures, "
    "or be recorded as a direct purchase.",
    _CATALOGUE)


def _ordered(procs) -> tuple[str, ...]:
    return tuple(sorted({str(p) for p in procs}, key=lambda p: PROCEDURE_ORDER[p]))


def _decision(must_enter, allowed, reasons, *, required=None, state_funded=False, gp=False, value=0):
    allowed = _ordered(allowed)
    conditions = {}
    if P.SINGLE_SOURCE in allowed:
        conditions[str(P.SINGLE_SOURCE)] = SINGLE_SOURCE_CONDITION
    if P.DIRECT in allowed:
        conditions[str(P.DIRECT)] = DIRECT_CONDITION
    return RouteDecision(must_enter, str(required) if required else None, allowed, tuple(reasons),
                         conditions=conditions, state_funded=state_funded, gp_buyer=gp, value_fen=value)


def _catalogue(inp: RouteInput) -> RouteDecision | None:
    """Land, mining rights and state assets trade in the centre whatever the amount (§3.1)."""
    if inp.category == Category.LAND:
        return _decision(True, [P.LAND_TENDER, P.LAND_AUCTION, P.LAND_LISTING], [Reason(
            "route.catalogue_land", "国有建设用地使用权出让须在公共资源交易平台以招标、拍卖或挂牌方式公开交易，不论金额。",
            "Land-use rights are granted on the public-resource platform by tender, auction or listing, whatever the amount.",
            "土地管理法实施条例 第18条")], value=inp.value_fen)
    if inp.category == Category.MINING:
        return _decision(True, [P.MINING_TENDER, P.MINING_AUCTION, P.MINING_LISTING], [Reason(
            "route.catalogue_mining", "矿业权出让纳入公共资源交易目录，以招标、拍卖或挂牌方式进场交易，不论金额。",
            "Mining rights are in the trading catalogue and granted by tender, auction or listing, whatever the amount.",
            f"土地管理法实施条例 第18条；{_CATALOGUE}")], value=inp.value_fen)
    if inp.category == Category.STATE_ASSET:
        return _decision(True, [P.ASSET_TRANSFER, P.ONLINE_BIDDING], [Reason(
            "route.catalogue_state_asset", "国有产权/资产转让须在依法设立的交易场所公开进行，不论金额；行政事业单位资产处置可采用网络竞价。",
            "State property rights and assets are transferred openly in a lawful exchange, whatever the amount; "
            "public-institution assets may be sold by online bidding.",
            "企业国有资产法 第54条；行政事业性国有资产管理条例 第20条")], value=inp.value_fen)
    return None


def state_funding(inp: RouteInput, lim: RouteLimits) -> tuple[bool, Reason]:
    """16号令 Art. 2: budget funds ≥ the trigger AND ≥ the share of the investment, or state-enterprise
    funds in control. Compared in integers: investment × share_bp ≥ trigger × 10000."""
    fiscal_x = inp.total_investment_fen * inp.fiscal_share_bp
    fiscal_fen = fiscal_x // 10000
    budget_test = fiscal_x >= lim.state_funds_fen * 10000 and inp.fiscal_share_bp >= lim.state_share_bp
    soe_control = (inp.funding_source == FundingSource.STATE_ENTERPRISE
                   or (inp.owner_type == OwnerType.STATE_ENTERPRISE and inp.funding_source == FundingSource.SELF_RAISED))
    if budget_test:
        return True, Reason(
            "route.state_funded_budget",
            f"使用预算资金约 {_y(fiscal_fen)} 元，占投资额 {_pct(inp.fiscal_share_bp)}，达到 {_y(lim.state_funds_fen)} 元以上"
            f"且占比 {_pct(lim.state_share_bp)} 以上，属国有资金投资项目。",
            f"Budget funds of about CNY {_y(fiscal_fen)} ({_pct(inp.fiscal_share_bp)} of the investment) reach "
            f"CNY {_y(lim.state_funds_fen)} and {_pct(lim.state_share_bp)}: a state-funded project.",
            "16号令 第2条第（一）项")
    if soe_control:
        return True, Reason(
            "route.state_funded_soe", "使用国有企业资金且占控股或主导地位，属国有资金投资项目。",
            "State-enterprise funds in a controlling position: a state-funded project.", "16号令 第2条第（二）项")
    return False, Reason(
        "route.not_state_funded",
        f"预算资金约 {_y(fiscal_fen)} 元（占 {_pct(inp.fiscal_share_bp)}），未同时达到 {_y(lim.state_funds_fen)} 元以上且"
        f" {_pct(lim.state_share_bp)} 以上，也非国有企业资金控股，不属16号令所称国有资金投资项目。",
        f"Budget funds of about CNY {_y(fiscal_fen)} ({_pct(inp.fiscal_share_bp)}) do not reach both CNY "
        f"{_y(lim.state_funds_fen)} and {_pct(lim.state_share_bp)}, and no state enterprise controls the funding.",
        "16号令 第2条")


def is_gp_buyer(inp: RouteInput) -> bool:
    """A state organ / public institution spending fiscal funds buys under the GP law (Art. 2)."""
    return inp.owner_type == OwnerType.GOV and inp.fiscal_share_bp > 0


def _must_tender(inp: RouteInput, lim: RouteLimits, gp: bool) -> tuple[str, Reason] | None:
    """16号令 Art. 5: a single contract at or above the figure, or combinable parts adding up to it."""
    limit = lim.tender_threshold(inp.category)
    cat = _CAT_ZH[inp.category]
    biggest = max(inp.lot_budgets_fen)
    if biggest >= limit:
        zh = f"单项{cat}合同（标段）估算价 {_y(biggest)} 元，达到必须招标限额 {_y(limit)} 元以上（含本数），必须招标。"
        en = f"A single {inp.category} contract of CNY {_y(biggest)} reaches the must-tender figure CNY {_y(limit)}."
        rule = _ART5[inp.category]
    elif inp.budget_fen >= limit:
        zh = f"同一项目可合并进行的{cat}各标段合同估算价合计 {_y(inp.budget_fen)} 元，达到 {_y(limit)} 元，必须招标。"
        en = f"The combinable lots add up to CNY {_y(inp.budget_fen)}, reaching CNY {_y(limit)}: must tender."
        rule = _ART5[inp.category] + _ART5_SUM
    elif (inp.combined_total_fen or 0) >= limit:
        zh = (f"与同一项目其他可合并部分合计 {_y(inp.combined_total_fen)} 元，达到 {_y(limit)} 元，必须招标"
              "（不得化整为零规避招标）。")
        en = (f"With the combinable parts of the same project the total is CNY {_y(inp.combined_total_fen)}, "
              f"reaching CNY {_y(limit)}: must tender (no splitting).")
        rule = _ART5[inp.category] + _ART5_SUM
    else:
        return None
    method = P.GP_TENDER if gp and inp.category != Category.WORKS else P.TENDER
    if method == P.GP_TENDER:
        zh += "采购人适用政府采购法，采用政府采购公开招标。"
        en += " The buyer is under the GP law: GP public tender."
    return method, Reason("route.must_tender", zh, en, rule)


def _gp_tender(inp: RouteInput, lim: RouteLimits) -> Reason | None:
    if inp.category not in (Category.GOODS, Category.SERVICES) or inp.value_fen < lim.gp_tender_fen:
        return None
    return Reason(
        "route.gp_tender_threshold",
        f"政府采购{_CAT_ZH[inp.category]}预算 {_y(inp.value_fen)} 元，达到公开招标数额标准 {_y(lim.gp_tender_fen)} 元，"
        "应采用公开招标；采用其他方式须经财政部门批准后重新登记。",
        f"GP {inp.category} of CNY {_y(inp.value_fen)} reach the public-tender threshold CNY {_y(lim.gp_tender_fen)}: "
        "public tender, unless the finance department approves another method.",
        "政府采购法 第27条；国办发〔2019〕55号")


def _methods(inp: RouteInput, lim: RouteLimits, gp: bool) -> tuple[list, Reason]:
    """The non-tender methods of the band (§3.3 rows 2–4) for works, goods, services and other."""
    cat = inp.category
    if cat == Category.OTHER:
        return [P.SELECTION, P.NEGOTIATION, P.CONSULTATION, P.ONLINE_BIDDING, P.ASSET_TRANSFER, P.TENDER], Reason(
            "route.other_category", "其他交易按公共资源交易目录及县规定的方式进场。",
            "Other trades use the methods of the trading catalogue and county rules.", _CATALOGUE)
    if gp and cat == Category.WORKS and inp.value_fen >= lim.gp_works_limit_fen:
        return [P.NEGOTIATION, P.CONSULTATION, P.SINGLE_SOURCE, P.TENDER], Reason(
            "route.gp_works",
            f"政府采购工程（{_y(inp.value_fen)} 元，达到政府采购工程限额 {_y(lim.gp_works_limit_fen)} 元）依法不进行招标的，"
            "应采用竞争性谈判、竞争性磋商或单一来源方式，不得采用比选；招标的适用招标投标法。",
            f"GP works (CNY {_y(inp.value_fen)}, at or above the GP works limit CNY {_y(lim.gp_works_limit_fen)}) not "
            "tendered use negotiation, consultation or single source — not comparison selection; if tendered, the "
            "Tendering Law applies.",
            "政府采购法实施条例 第7条、第25条；财库〔2014〕214号")
    if gp and cat == Category.WORKS:
        return [P.SELECTION, P.NEGOTIATION, P.CONSULTATION, P.TENDER], Reason(
            "route.gp_works_below_limit",
            f"工程造价 {_y(inp.value_fen)} 元低于政府采购工程限额 {_y(lim.gp_works_limit_fen)} 元，不属政府采购工程，"
            "可采用比选、谈判、磋商，也可自愿招标。",
            f"Works of CNY {_y(inp.value_fen)} are below the GP works limit CNY {_y(lim.gp_works_limit_fen)}: not GP works; "
            "comparison selection, negotiation, consultation or a voluntary tender.",
            "政府采购法 第2条")
    if gp:
        methods = [P.NEGOTIATION, P.CONSULTATION, P.SINGLE_SOURCE, P.GP_TENDER]
        if cat == Category.GOODS:
            methods.append(P.INQUIRY)
        return methods, Reason(
            "route.gp_goods_services",
            f"政府采购{_CAT_ZH[cat]}未达公开招标数额标准，可采用竞争性谈判、竞争性磋商、询价（限货物）或单一来源方式，也可公开招标。",
            f"GP {cat} below the public-tender threshold: negotiation, consultation, quotation (goods only) or single "
            "source; public tender is also allowed.",
            "政府采购法 第26条、第30条至第32条；财库〔2014〕214号")
    if cat == Category.WORKS:
        return [P.SELECTION, P.TENDER], Reason(
            "route.state_invested_works",
            "国家投资工程建设项目（平台公司/国有企业等）未达必须招标标准，采用比选；也可自愿公开招标。",
            "State-invested works below the must-tender figures use comparison selection; a voluntary tender is allowed.",
            "四川省国家投资工程建设项目比选办法")
    methods = [P.SELECTION, P.NEGOTIATION, P.CONSULTATION, P.TENDER]
    if cat == Category.GOODS:
        methods.append(P.INQUIRY)
    return methods, Reason(
        "route.state_invested_goods_services",
        f"{_CAT_ZH[cat]}未达必须招标标准，可采用比选、竞争性谈判、竞争性磋商、询价（限货物）等方式，也可自愿公开招标。",
        f"{cat.capitalize()} below the must-tender figures: comparison selection, negotiation, consultation or "
        "quotation (goods only); a voluntary tender is allowed.",
        f"16号令 第5条；{_CATALOGUE}")


def route(inp: RouteInput, lim: RouteLimits) -> RouteDecision:
    """The decision table of rules.md §3.3, top to bottom; the first matching row wins."""
    catalogued = _catalogue(inp)
    if catalogued is not None:
        return catalogued
    value = inp.value_fen
    state_funded, funding_reason = state_funding(inp, lim)
    gp = is_gp_buyer(inp)
    reasons = [funding_reason]
    if gp:
        reasons.append(Reason("route.gp_buyer", "采购人为国家机关/事业单位且使用财政性资金，适用政府采购法。",
                              "A state organ or public institution spending fiscal funds: the GP law applies.",
                              "政府采购法 第2条"))
    facts = dict(state_funded=state_funded, gp=gp, value=value)
    if state_funded and inp.category in _CAT_ZH:
        tripped = _must_tender(inp, lim, gp)
        if tripped:
            method, why = tripped
            return _decision(True, [method], reasons + [why], required=method, **facts)
    if gp:
        why = _gp_tender(inp, lim)
        if why:
            return _decision(True, [P.GP_TENDER], reasons + [why], required=P.GP_TENDER, **facts)
    methods, method_reason = _methods(inp, lim, gp)
    public = (state_funded or gp or inp.owner_type in (OwnerType.GOV, OwnerType.STATE_ENTERPRISE)
              or inp.fiscal_share_bp > 0)
    if not public:
        why = Reason("route.private", "非国有资金投资、非政府采购项目，依法不要求进场交易。",
                     "Neither state-funded nor government procurement: entry is not required by law.",
                     "16号令 第2条；政府采购法 第2条")
        return _decision(False, methods + [P.DIRECT], reasons + [why, method_reason, VOLUNTARY], **facts)
    if value < lim.band_floor_fen:
        why = Reason(
            "route.below_floor",
            f"合同估算价 {_y(value)} 元，不满进场交易下限 {_y(lim.band_floor_fen)} 元，可由业主按内部控制制度自行采购，"
            "不要求进场（属集中采购目录的品目仍按目录执行）。",
            f"The contract value CNY {_y(value)} is below the entry floor CNY {_y(lim.band_floor_fen)}: the owner may "
            "buy directly under internal controls (catalogue items still follow the catalogue).",
            _CATALOGUE)
        return _decision(False, methods + [P.DIRECT], reasons + [why, method_reason, VOLUNTARY], **facts)
    if value <= lim.band_ceiling_fen:
        why = Reason(
            "route.in_band",
            f"合同估算价 {_y(value)} 元，在 {_y(lim.band_floor_fen)}–{_y(lim.band_ceiling_fen)} 元区间（含本数），"
            "未达必须招标标准，应进场交易，采用非招标竞争方式。",
            f"The contract value CNY {_y(value)} is in the band CNY {_y(lim.band_floor_fen)}–{_y(lim.band_ceiling_fen)} "
            "below the must-tender figures: it enters the centre with a competitive non-tender method.",
            _CATALOGUE)
    else:
        why = Reason(
            "route.above_band",
            f"合同估算价 {_y(value)} 元，超过 {_y(lim.band_ceiling_fen)} 元，但未达必须招标及公开招标数额标准，"
            "仍须进场交易，采用非招标方式。",
            f"The contract value CNY {_y(value)} is above CNY {_y(lim.band_ceiling_fen)} but trips no tender "
            "threshold: it still enters the centre with a non-tender method.",
            _CATALOGUE)
    return _decision(True, methods, reasons + [why, method_reason], **facts)


def splitting_warning(decision: RouteDecision, inp: RouteInput, lim: RouteLimits,
                      earlier: Sequence[tuple[str, int]]) -> Reason | None:
    """化整为零 (rules.md §1.1 check 5): this owner's earlier registrations of the same category in the
    same fiscal year, added to this one, reach a tender threshold this project alone does not."""
    if decision.required_method or inp.category not in _CAT_ZH or not earlier:
        return None
    limits = []
    if decision.state_funded:
        limits.append((lim.tender_threshold(inp.category), "16号令 第5条第2款；发改法规规〔2022〕1117号（二）"))
    if decision.gp_buyer and inp.category != Category.WORKS:
        limits.append((lim.gp_tender_fen, "政府采购法实施条例 第28条"))
    total = sum(b for _, b in earlier) + inp.value_fen
    hits = sorted(x for x in limits if total >= x[0])
    if not hits:
        return None
    limit, rule = hits[0]
    labels = "、".join(name for name, _ in earlier[:10]) + ("等" if len(earlier) > 10 else "")
    return Reason(
        "route.splitting_suspected",
        f"本单位本年度已登记同类（{_CAT_ZH[inp.category]}）项目 {len(earlier)} 个（{labels}），连同本项目合计 {_y(total)} 元，"
        f"达到 {_y(limit)} 元的招标数额标准。请核查是否化整为零规避招标。",
        f"This owner registered {len(earlier)} other {inp.category} project(s) this year ({labels}); with this one they "
        f"add up to CNY {_y(total)}, reaching the tender figure CNY {_y(limit)}. Check for splitting to evade tendering.",
        rule)
