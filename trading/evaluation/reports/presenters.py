"""The report body as rows for the page and the PDF: bidders in rank order with each member's total
in seat order, rejection reasons in words, candidates, and each member's act on the report.

Imports: evaluation.criteria.rules only."""

from __future__ import annotations

from dataclasses import dataclass

from ..criteria.rules import criteria_from_body

ACT_LABELS = {
    "agree": ("同意", "Agrees"),
    "dissent": ("持不同意见", "Dissents"),
    "refused": ("拒绝签字", "Refused to sign"),
}
AUTO_REASONS = {
    "over_ceiling": ("报价超过最高限价", "Price above the ceiling"),
    "no_price": ("无有效报价", "No valid price"),
    "below_minimum": ("报价低于起始价", "Price below the starting price"),
    "below_reserve": ("报价低于底价", "Price below the reserve price"),
}


@dataclass(frozen=True)
class Line:
    rank: int | None
    name: str
    price_fen: int | None
    price_score: str | None
    totals: list[str | None]
    average: str | None
    flagged: list[bool]
    rejected: bool
    reasons: str
    candidate: bool


def lines(body: dict, locale: str = "zh") -> list[Line]:
    crit = criteria_from_body(body["criteria"]["body"])
    summary = body["summary"]
    seat = [m["id"] for m in body["members"]]
    en = locale.startswith("en")
    out = []
    for row in summary["rows"]:
        words = []
        for code in row["reject_reasons"]:
            reason = crit.rejection(code)
            if reason is not None:
                words.append(reason.name)
            else:
                zh_, en_ = AUTO_REASONS.get(code, (code, code))
                words.append(en_ if en else zh_)
        out.append(Line(row["rank"], row["name"], row["price_fen"], row["price_score"],
                        [row["totals"].get(str(m)) for m in seat], row["average"],
                        [m in row["flagged"] for m in seat], row["rejected"], "；".join(words),
                        row["org_id"] in summary["candidates"]))
    return out


def act_label(act: str, locale: str = "zh") -> str:
    zh, en = ACT_LABELS.get(act, (act, act))
    return en if locale.startswith("en") else zh
