"""Statutory notice periods as data (domain/rules.md §0.1, §1 B/C/D/F/G/I, §9), pure.

Each PeriodRule says: for notices of these kinds in these procedure families, from one key date to
another there must be at least n calendar or working days, n being a rule setting (`period.*`) the
centre may tighten. Counting follows §0.1 through reference.workdays: the start day is not counted,
a calendar-day period whose last day is a rest day runs on to the next working day, working days
follow the loaded holiday calendar, and a year nobody loaded fails closed (CalendarYearMissing).

A failed rule becomes a Violation naming the rule and its legal source, the days needed and found,
and — for a deadline — the earliest compliant date to move it to ("不足15日的，应当顺延")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from trading.core.clock import BEIJING, to_beijing
from trading.reference.settings import SettingDef, define, definition
from trading.reference.workdays import CalendarYearMissing, Unit, WorkCalendar, days_between, period_last_day

# Figures rules.md gives that the base catalogue lacks (reference/settings.py).
define(
    SettingDef("period.tender_docs_sale_cd", 5, "CD", "实施条例 Art. 16 [V]", "招标文件发售期", "Tender documents availability", 1),
    SettingDef("period.selection_clarification_cd", 3, "CD", "四川比选 [U]", "比选澄清距截止", "比选 clarification before deadline", 1),
    SettingDef("period.consultation_response_cd", 10, "CD", "财库〔2014〕214号 Art. 10 [S]", "磋商文件发出至首次响应截止",
               "Consultation documents → first response", 1),
    SettingDef("period.mining_notice_wd", 20, "WD", "国土资规〔2017〕7号 [U]", "矿业权出让公告提前期（工作日）",
               "Mining-right notice lead (working days)", 1),
    SettingDef("period.mining_listing_wd", 10, "WD", "国土资规〔2017〕7号 [U]", "矿业权挂牌期（工作日）",
               "Mining-right listing period (working days)", 1),
)


@dataclass(frozen=True)
class Violation:
    """One reason a notice may not be published. `code` is stable (period.*, chain.*, dates.*)."""
    code: str
    zh: str
    en: str
    field: str | None = None
    rule: str = ""            # the rule's name, e.g. 招标文件发出至投标截止
    source: str = ""          # its legal source, e.g. 《招标投标法》第二十四条
    needed: int | None = None
    actual: int | None = None
    unit: str | None = None
    proposed: datetime | None = None
    #: for calendar.year_missing: the year nobody has loaded
    year: int | None = None

    def message(self, locale: str = "zh") -> str:
        return self.en if locale.startswith("en") else self.zh

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "rule": self.rule, "source": self.source,
                "needed": self.needed, "actual": self.actual, "unit": self.unit,
                "proposed": self.proposed.isoformat() if self.proposed else None, "message": self.zh,
                "message_en": self.en}


@dataclass(frozen=True)
class PeriodRule:
    code: str
    families: frozenset[str]
    kinds: frozenset[str]
    #: the start: the first of these key dates that is set ("published_at" means the publish instant)
    from_fields: tuple[str, ...]
    to_field: str
    unit: Unit
    setting: str
    source_zh: str
    source_en: str
    name_zh: str
    name_en: str
    #: whether a failure proposes a later `to_field` (the deadline moves, never the start)
    propose: bool = True
    extra: dict = field(default_factory=dict)

    def minimum(self, settings: Mapping[str, int]) -> int:
        return int(settings.get(self.setting, definition(self.setting).default))


def _rule(code, families, kinds, from_fields, to_field, unit, setting, source_zh, source_en, name_zh, name_en,
          propose=True) -> PeriodRule:
    return PeriodRule(code, frozenset(families), frozenset(kinds), tuple(from_fields), to_field, unit, setting,
                      source_zh, source_en, name_zh, name_en, propose)


DOCS_OR_PUBLISH = ("docs_from", "published_at")
GP_NON_TENDER = ("negotiation", "inquiry", "consultation")
GP_ALL = ("gp_tender", "negotiation", "inquiry", "consultation", "single_source")
OPENING_KINDS = ("announcement", "land_grant", "disclosure")

#: The table. Order is the order violations are reported in.
PERIOD_RULES: tuple[PeriodRule, ...] = (
    _rule("period.tender_docs_to_deadline", ["tender"], ["announcement"], DOCS_OR_PUBLISH, "deadline_at", Unit.CD,
          "period.tender_docs_to_deadline_cd", "《招标投标法》第二十四条", "Tendering and Bidding Law Art. 24",
          "招标文件开始发出之日至投标截止之日", "from issue of the tender documents to the bid deadline"),
    _rule("period.tender_docs_sale", ["tender"], ["announcement"], ["docs_from"], "docs_until", Unit.CD,
          "period.tender_docs_sale_cd", "《招标投标法实施条例》第十六条", "Tendering Regulations Art. 16",
          "招标文件发售（获取）期", "period the tender documents are available"),
    _rule("period.tender_clarification", ["tender"], ["change"], ["published_at"], "deadline_at", Unit.CD,
          "period.tender_clarification_cd", "《招标投标法》第二十三条、《实施条例》第二十一条",
          "Tendering and Bidding Law Art. 23; Regulations Art. 21",
          "澄清或修改发出之日至投标截止之日", "from a clarification or change to the bid deadline"),
    _rule("period.selection_notice", ["selection"], ["announcement"], DOCS_OR_PUBLISH, "deadline_at", Unit.CD,
          "period.selection_notice_cd", "四川省比选办法（待确认）", "Sichuan 比选 rules (unconfirmed)",
          "比选公告（文件）发出之日至递交截止之日", "from the 比选 notice to the submission deadline"),
    _rule("period.selection_clarification", ["selection"], ["change"], ["published_at"], "deadline_at", Unit.CD,
          "period.selection_clarification_cd", "四川省比选办法（待确认）", "Sichuan 比选 rules (unconfirmed)",
          "比选澄清或修改发出之日至递交截止之日", "from a 比选 clarification to the submission deadline"),
    _rule("period.negotiation_response", GP_NON_TENDER, ["announcement"], DOCS_OR_PUBLISH, "deadline_at", Unit.WD,
          "period.negotiation_response_wd", "《政府非招标采购方式管理办法》（财政部令第74号）第二十九条、第四十五条",
          "MOF Order 74 Arts. 29, 45", "谈判/询价/磋商文件发出之日至首次响应文件提交截止之日",
          "from issue of the negotiation/quotation documents to the first response deadline"),
    _rule("period.consultation_response", ["consultation"], ["announcement"], DOCS_OR_PUBLISH, "deadline_at", Unit.CD,
          "period.consultation_response_cd", "《政府采购竞争性磋商采购方式管理暂行办法》第十条",
          "MOF 2014 No. 214 Art. 10", "磋商文件发出之日至首次响应文件提交截止之日",
          "from issue of the consultation documents to the first response deadline"),
    _rule("period.negotiation_clarification", GP_NON_TENDER, ["change"], ["published_at"], "deadline_at", Unit.WD,
          "period.negotiation_clarification_wd", "《政府非招标采购方式管理办法》（财政部令第74号）第二十九条、第四十五条",
          "MOF Order 74 Arts. 29, 45", "澄清或修改发出之日至首次响应文件提交截止之日",
          "from a clarification to the first response deadline"),
    _rule("period.gp_tender_docs_to_deadline", ["gp_tender"], ["announcement"], DOCS_OR_PUBLISH, "deadline_at",
          Unit.CD, "period.gp_tender_docs_to_deadline_cd", "《政府采购法》第三十五条", "Government Procurement Law Art. 35",
          "招标文件开始发出之日至投标截止之日", "from issue of the tender documents to the bid deadline"),
    _rule("period.gp_tender_notice", ["gp_tender"], ["announcement"], ["published_at"], "docs_until", Unit.WD,
          "period.gp_tender_notice_wd", "《政府采购货物和服务招标投标管理办法》（财政部令第87号）第十六条、第十八条",
          "MOF Order 87 Arts. 16, 18", "招标公告期限及招标文件提供期限", "notice period and document provision period"),
    _rule("period.gp_tender_clarification", ["gp_tender"], ["change"], ["published_at"], "deadline_at", Unit.CD,
          "period.tender_clarification_cd", "《政府采购货物和服务招标投标管理办法》（财政部令第87号）第二十七条",
          "MOF Order 87 Art. 27", "澄清或修改发出之日至投标截止之日", "from a clarification or change to the bid deadline"),
    _rule("period.candidate_publicity", ["tender", "selection"], ["candidates"], ["published_at"], "publicity_until",
          Unit.CD, "period.candidate_publicity_cd", "《招标投标法实施条例》第五十四条", "Tendering Regulations Art. 54",
          "中标候选人公示期", "candidate publicity period"),
    _rule("period.gp_result_publicity", GP_ALL, ["result"], ["published_at"], "publicity_until", Unit.WD,
          "period.gp_result_publicity_wd", "《政府采购货物和服务招标投标管理办法》（财政部令第87号）第六十九条",
          "MOF Order 87 Art. 69", "中标（成交）结果公告期限", "result announcement period"),
    _rule("period.single_source_publicity", ["single_source"], ["announcement"], ["published_at"], "publicity_until",
          Unit.WD, "period.single_source_publicity_wd", "《政府采购法实施条例》第三十八条",
          "Government Procurement Regulations Art. 38", "单一来源采购公示期", "single-source publicity period"),
    _rule("period.land_notice", ["land"], ["land_grant", "announcement"], ["published_at"], "opening_at", Unit.CD,
          "period.land_notice_cd", "《招标拍卖挂牌出让国有建设用地使用权规定》（国土资源部令第39号）",
          "MLR Order 39", "出让公告发布之日至招标拍卖挂牌活动开始之日", "from the grant notice to the start of the sale"),
    _rule("period.mining_notice", ["mining"], ["land_grant", "announcement"], ["published_at"], "opening_at", Unit.WD,
          "period.mining_notice_wd", "《矿业权交易规则》（国土资规〔2017〕7号）", "MLR 2017 No. 7 (mining-right trading rules)",
          "矿业权出让公告发布之日至出让活动开始之日", "from the mining-right grant notice to the start of the sale"),
    _rule("period.mining_listing", ["mining_listing"], ["land_grant", "announcement"], ["opening_at"], "closing_at",
          Unit.WD, "period.mining_listing_wd", "《矿业权交易规则》（国土资规〔2017〕7号）",
          "MLR 2017 No. 7 (mining-right trading rules)", "矿业权挂牌期", "mining-right listing period"),
    _rule("period.land_listing", ["land_listing"], ["land_grant", "announcement"], ["opening_at"], "closing_at", Unit.WD,
          "period.land_listing_wd", "国土资源部令第39号、第11号", "MLR Orders 39 and 11", "挂牌期", "listing period"),
    _rule("period.asset_disclosure", ["asset"], ["disclosure", "announcement"], ["published_at"], "closing_at", Unit.WD,
          "period.asset_disclosure_wd", "《企业国有资产交易监督管理办法》（国资委 财政部令第32号）",
          "SASAC/MOF Order 32", "产权转让信息披露期", "property-rights disclosure period"),
    _rule("period.auction_notice", ["auction"], ["announcement"], ["published_at"], "opening_at", Unit.CD,
          "period.auction_notice_cd", "《拍卖法》第四十五条", "Auction Law Art. 45",
          "拍卖公告发布之日至拍卖日", "from the auction notice to the auction day"),
)


def rules_for(family: str, kind: str) -> list[PeriodRule]:
    # land_listing is also land: the 20-day notice applies to every land sale
    # and a mining listing is also mining: the 20-working-day notice applies to every mining-right sale
    families = {family} | ({"land"} if family.startswith("land") else set()) \
        | ({"mining"} if family.startswith("mining") else set())
    return [r for r in PERIOD_RULES if r.families & families and kind in r.kinds]


# --- counting ----------------------------------------------------------------------------------

def start_day(instant: datetime) -> date:
    return to_beijing(instant).date()


def end_day(instant: datetime) -> date:
    """The Beijing day a deadline falls on. 00:00 is read as 24:00 of the day before, so a period
    ending "at the end of the 20th day" is not counted as 21 days."""
    bj = to_beijing(instant)
    return bj.date() - timedelta(days=1) if bj.time() == time(0, 0) else bj.date()


def proposed_instant(last_day: date, original: datetime) -> datetime:
    """The earliest compliant day, keeping the time of day the owner chose (24:00 stays 24:00)."""
    bj = to_beijing(original)
    day = last_day + timedelta(days=1) if bj.time() == time(0, 0) else last_day
    return datetime.combine(day, bj.time(), tzinfo=BEIJING)


def fmt_bj(instant: datetime, locale: str = "zh") -> str:
    v = to_beijing(instant)
    if locale == "en":
        return v.strftime("%Y-%m-%d %H:%M") + " (Beijing time)"
    return f"{v.year}年{v.month}月{v.day}日{v.hour}时{v.minute:02d}分（北京时间）"


def unit_text(unit: Unit, n: int, locale: str) -> str:
    if locale == "en":
        return f"{n} {'calendar' if unit == Unit.CD else 'working'} day{'s' if n != 1 else ''}"
    return f"{n}{'日' if unit == Unit.CD else '个工作日'}"


def check_rule(rule: PeriodRule, dates: Mapping[str, datetime | None], cal: WorkCalendar,
               settings: Mapping[str, int]) -> Violation | None:
    """None when the rule holds or does not apply (its dates are not set); a Violation otherwise.
    CalendarYearMissing becomes a violation too, so a preview can show it; publishing refuses."""
    start = next((dates[f] for f in rule.from_fields if dates.get(f)), None)
    end = dates.get(rule.to_field)
    if start is None or end is None:
        return None
    n = rule.minimum(settings)
    try:
        last = period_last_day(cal, start_day(start), n, rule.unit)
        if end_day(end) >= last:
            return None
        actual = days_between(cal, start_day(start), end_day(end), rule.unit)
    except CalendarYearMissing as err:
        return Violation(err.code, err.message_zh, err.message_en, field=rule.to_field, rule=rule.name_zh,
                         source=rule.source_zh, needed=n, unit=str(rule.unit), year=err.year)
    proposed = proposed_instant(last, end) if rule.propose else None
    zh = f"不符合「{rule.name_zh}不少于{unit_text(rule.unit, n, 'zh')}」的规定（{rule.source_zh}）："
    en = f"Breaks the rule that {rule.name_en} must be at least {unit_text(rule.unit, n, 'en')} ({rule.source_en}): "
    if actual >= n:
        # enough days, but the n-th day is a rest day: the period runs on to the next working day
        nth = start_day(start) + timedelta(days=n)
        zh += f"期限最后一日{nth.year}年{nth.month}月{nth.day}日为休息日，期限顺延至其后第一个工作日。"
        en += f"its last day, {nth.isoformat()}, is a rest day, so the period runs on to the next working day."
    else:
        zh += f"目前只有{unit_text(rule.unit, max(actual, 0), 'zh')}。"
        en += f"only {unit_text(rule.unit, max(actual, 0), 'en')} now."
    if proposed:
        zh += f"请顺延至{fmt_bj(proposed)}或之后。"
        en += f" Move it to {fmt_bj(proposed, 'en')} or later."
    return Violation(rule.code, zh, en, field=rule.to_field, rule=rule.name_zh, source=rule.source_zh, needed=n,
                     actual=actual, unit=str(rule.unit), proposed=proposed)


def check_periods(family: str, kind: str, dates: Mapping[str, datetime | None], cal: WorkCalendar,
                  settings: Mapping[str, int]) -> list[Violation]:
    """Every period rule for this family and kind, checked. `dates` carries the key dates and
    "published_at" (the publish instant, or now for a preview)."""
    out = []
    for rule in rules_for(family, kind):
        v = check_rule(rule, dates, cal, settings)
        if v is not None:
            out.append(v)
    return out
