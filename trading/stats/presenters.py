"""What the page, the workbook and the PDF show of a MonthlyReport: labelled table rows and the chart
data (plain lists and Decimals; no Flask). Amounts stay integer fen until shown in 元 or 万元."""

from __future__ import annotations

from decimal import Decimal

from trading.core.money import fen_to_decimal, format_wan, format_yuan

from .rules import Group, MonthlyReport, stage_label

DASH = "—"


def pct(value: Decimal | None) -> str:
    return DASH if value is None else f"{value}%"


def num(value: Decimal | None) -> str:
    return DASH if value is None else str(value)


def yuan(fen: int) -> str:
    return format_yuan(fen)


def wan(fen: int) -> str:
    return format_wan(fen)


T = {
    "summary": ("概况", "Summary"), "by_trade_type": ("按交易类型", "By trade type"),
    "by_procedure": ("按交易方式", "By procedure"), "by_region": ("按区域（乡镇）", "By township"),
    "durations": ("环节用时", "Stage durations"), "largest": ("成交金额前五", "Largest deals"),
    "failed_lots": ("流标（流拍）标段", "Failed lots"),
    "group": ("分组", "Group"), "announced": ("发布公告（宗）", "Announced (lots)"),
    "deals": ("成交（宗）", "Deals (lots)"), "deal_yuan": ("成交金额（元）", "Deal amount (yuan)"),
    "base_yuan": ("预算/起始价（元）", "Budget / starting price (yuan)"), "failed": ("流标（宗）", "Failed (lots)"),
    "stage": ("环节", "Stage"), "lots": ("标段数", "Lots"), "avg_days": ("平均用时（天）", "Average (days)"),
    "code": ("标段编号", "Lot code"), "name": ("名称", "Name"), "item": ("项目", "Item"), "value": ("数值", "Value"),
}


def t(key: str, locale: str) -> str:
    zh, en = T[key]
    return en if locale == "en" else zh


def summary_items(r: MonthlyReport, locale: str) -> list[tuple[str, str, object]]:
    """(key, label, value) with value numeric (int fen → Decimal 元, Decimal rates) for the workbook."""
    en = locale == "en"

    def L(zh: str, e: str) -> str:
        return e if en else zh
    return [
        ("announced", L("发布公告标段（宗）", "Lots announced"), r.announced),
        ("deals", L("成交标段（宗）", "Deals (lots)"), r.deals),
        ("deal_yuan", L("成交金额（元）", "Deal amount (yuan)"), fen_to_decimal(r.deal_fen)),
        ("failed", L("流标/流拍标段（宗）", "Failed lots"), r.failed),
        ("failure_rate", L("流标率（%）", "Failure rate (%)"), r.failure_rate),
        ("purchase_budget", L("采购类预算/最高限价（元）", "Purchases: budget (yuan)"), fen_to_decimal(r.purchases.base_fen)),
        ("purchase_award", L("采购类中标（成交）金额（元）", "Purchases: awarded (yuan)"), fen_to_decimal(r.purchases.deal_fen)),
        ("savings", L("节约资金（元）", "Savings (yuan)"), fen_to_decimal(r.purchases.difference_fen)),
        ("savings_rate", L("节资率（%）", "Savings rate (%)"), r.purchases.rate),
        ("sale_start", L("出让/转让类起始价（元）", "Sales: starting price (yuan)"), fen_to_decimal(r.sales.base_fen)),
        ("sale_deal", L("出让/转让类成交价（元）", "Sales: deal price (yuan)"), fen_to_decimal(r.sales.deal_fen)),
        ("premium", L("增值金额（元）", "Added value (yuan)"), fen_to_decimal(r.sales.difference_fen)),
        ("premium_rate", L("溢价率（%）", "Premium rate (%)"), r.sales.rate),
        ("avg_participants", L("平均每标段参与主体（家）", "Average participants per lot"), r.average_participants),
    ]


def group_rows(groups: list[Group], locale: str) -> list[list]:
    return [[g.label(locale), g.announced, g.deals, fen_to_decimal(g.deal_fen), fen_to_decimal(g.base_fen), g.failed]
            for g in groups]


def duration_rows(r: MonthlyReport, locale: str) -> list[list]:
    return [[f"{stage_label(d.start, locale)} → {stage_label(d.end, locale)}", d.lots, d.average_days]
            for d in r.durations]


def chart_data(r: MonthlyReport, locale: str) -> dict:
    """What static/js/stats.js draws: amounts in 万元 as strings (exact decimals, no float arithmetic
    here; the chart library parses them for drawing only)."""
    return {
        "labels": {"deals": t("deals", locale), "deal": t("deal_yuan", locale).replace("元", "万元").replace("yuan", "10k yuan"),
                   "failed": t("failed", locale), "avg_days": t("avg_days", locale)},
        "by_trade_type": [{"name": g.label(locale), "deals": g.deals, "deal_wan": format_wan(g.deal_fen).replace(",", ""),
                           "failed": g.failed} for g in r.by_trade_type],
        "by_region": [{"name": g.label(locale), "deals": g.deals, "deal_wan": format_wan(g.deal_fen).replace(",", "")}
                      for g in r.by_region],
        "durations": [{"name": f"{stage_label(d.start, locale)}\n→ {stage_label(d.end, locale)}",
                       "days": None if d.average_days is None else str(d.average_days)} for d in r.durations],
    }
