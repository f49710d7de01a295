"""The catalogue of rule settings: every figure rules.md tags U or P (and the configurable V ones)
with its default, unit and source. Services read them through `get_setting(ctx, code)`; a centre
overrides one through `reference.services.update_setting`, audited."""

from __future__ import annotations

from dataclasses import dataclass

from trading.core.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class SettingDef:
    code: str
    default: int
    unit: str        # fen | CD | WD | bp (basis points) | count | bool | min
    source: str      # the rule and its evidence tag from rules.md
    label_zh: str
    label_en: str
    minimum: int = 0
    maximum: int | None = None


_CATALOGUE: dict[str, SettingDef] = {}


def define(*defs: SettingDef) -> None:
    for d in defs:
        _CATALOGUE[d.code] = d


def catalogue() -> dict[str, SettingDef]:
    return dict(_CATALOGUE)


def definition(code: str) -> SettingDef:
    try:
        return _CATALOGUE[code]
    except KeyError:
        raise NotFound("setting.unknown", f"未知的规则参数：{code}", f"Unknown setting: {code}") from None


def validate_value(d: SettingDef, value: object) -> int:
    if isinstance(value, bool) and d.unit != "bool":
        raise InvalidInput("setting.type", "参数须为整数", "The setting must be an integer", field="value")
    if not isinstance(value, int):
        raise InvalidInput("setting.type", "参数须为整数", "The setting must be an integer", field="value")
    if value < d.minimum or (d.maximum is not None and value > d.maximum):
        raise InvalidInput("setting.range", f"参数超出允许范围（{d.minimum}–{d.maximum}）",
                           f"Value out of range ({d.minimum}–{d.maximum})", field="value")
    return int(value)


WAN = 1_000_000  # fen in 10,000 yuan

# --- Routing (rules.md §3.3, §9 #37–38) -------------------------------------------------------
define(
    SettingDef("routing.band_floor_fen", 20 * WAN, "fen", "县规定 进场下限 20万元 [P]", "进场交易下限", "Band floor"),
    SettingDef("routing.band_ceiling_fen", 200 * WAN, "fen", "县规定 200万元 [P]", "小额项目上限", "Band ceiling"),
    SettingDef("routing.tender_works_fen", 400 * WAN, "fen", "16号令 Art. 5 [V*]", "施工必须招标限额", "Works must-tender"),
    SettingDef("routing.tender_goods_fen", 200 * WAN, "fen", "16号令 Art. 5 [V*]", "货物必须招标限额", "Goods must-tender"),
    SettingDef("routing.tender_services_fen", 100 * WAN, "fen", "16号令 Art. 5 [V*]", "服务必须招标限额", "Services must-tender"),
    SettingDef("routing.state_funds_fen", 200 * WAN, "fen", "16号令 Art. 2 [V*]", "国有资金占用额", "State funds trigger"),
    SettingDef("routing.state_share_bp", 1000, "bp", "16号令 Art. 2 [V*] (10 %)", "国有资金占比", "State share trigger"),
    SettingDef("routing.gp_tender_fen", 200 * WAN, "fen", "国办发〔2019〕55号 [S]; 四川省标准 [U]", "政府采购公开招标数额标准", "GP public-tender threshold"),
    SettingDef("routing.gp_works_limit_fen", 120 * WAN, "fen", "国办发〔2019〕55号 [S]", "政府采购工程限额", "GP works limit"),
)

# --- Notice periods (rules.md §9) ------------------------------------------------------------
define(
    SettingDef("period.tender_docs_to_deadline_cd", 20, "CD", "招标投标法 Art. 24 [V]", "招标文件发出至投标截止", "Tender docs → deadline", 1),
    SettingDef("period.tender_clarification_cd", 15, "CD", "招标投标法 Art. 23 [V]", "澄清修改距截止", "Clarification before deadline", 1),
    SettingDef("period.selection_notice_cd", 5, "CD", "四川比选 [U]", "比选公告期", "比选 notice period", 1),
    SettingDef("period.negotiation_response_wd", 3, "WD", "74号令 Art. 29 [V]", "谈判/询价响应期", "Negotiation response", 1),
    SettingDef("period.negotiation_clarification_wd", 3, "WD", "74号令 Art. 29 [V]", "谈判澄清距截止", "Negotiation clarification", 1),
    SettingDef("period.gp_tender_notice_wd", 5, "WD", "87号令 Art. 16 [V]", "政府采购招标公告期限", "GP tender notice period", 1),
    SettingDef("period.gp_tender_docs_to_deadline_cd", 20, "CD", "政府采购法 Art. 35 [V]", "政府采购招标文件发出至截止", "GP tender docs → deadline", 1),
    SettingDef("period.candidate_publicity_cd", 3, "CD", "实施条例 Art. 54 [V]; 比选 [U]", "中标候选人公示期", "Candidate publicity", 1),
    SettingDef("period.gp_result_publicity_wd", 1, "WD", "87号令 Art. 69 [V]", "成交结果公告期限", "GP result publicity", 1),
    SettingDef("period.land_notice_cd", 20, "CD", "39号令 [S]", "出让公告提前期", "Land notice lead", 1),
    SettingDef("period.land_listing_wd", 10, "WD", "39号令/11号令 [S/U]", "挂牌期", "Land listing period", 1),
    SettingDef("period.asset_disclosure_wd", 20, "WD", "32号令 [S]", "产权转让信息披露期", "Property-rights disclosure", 1),
    SettingDef("period.single_source_publicity_wd", 5, "WD", "GP 实施条例 Art. 38 [V]", "单一来源公示期", "Single-source publicity", 1),
    SettingDef("period.auction_notice_cd", 7, "CD", "拍卖法 Art. 45 [V]", "拍卖公告提前期", "Auction notice lead", 1),
)

# --- Entry review and accounts ----------------------------------------------------------------
define(
    SettingDef("entry.review_wd", 2, "WD", "限时办结 [P]", "进场审核办结时限", "Entry review SLA", 1),
    SettingDef("auth.max_failures", 5, "count", "等保 2.0 登录失败处理 [P]", "登录失败锁定次数", "Failed log-ins before lock", 1),
    SettingDef("auth.lock_minutes", 15, "min", "等保 2.0 [P]", "锁定时长（分钟）", "Lock minutes", 1),
)


def get_setting(ctx, code: str) -> int:
    """The centre's value for `code`: its override if one is stored, else the catalogue default."""
    cache = ctx.cache.setdefault("settings", None)
    if cache is None:
        from sqlalchemy import select

        from .models import RuleSetting
        cache = {row.code: row.value for row in ctx.session.execute(select(RuleSetting)).scalars()}
        ctx.cache["settings"] = cache
    d = definition(code)
    return cache.get(code, d.default)
