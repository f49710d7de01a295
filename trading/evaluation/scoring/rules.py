"""Scoring rules, pure: a member's sheet for one bidder (validation, running totals) and the panel's
summary (汇总): the per-member matrix, averages, ranking, deviation flags and candidates.

Rules stated here (and on the pages):
- A score lies in [0, the item's maximum] with at most 2 decimals; any score below the maximum (a
  deduction, 扣分) needs a written comment (ux.md §1.5).
- A rejection (否决) names one checklist item of the criteria; a note is optional.
- A bidder is rejected when more than half of the members who judged it rejected it (the committee
  decides by majority, 12号令 Art. 4 [S]), or when its opened price exceeds the ceiling (最高限价,
  实施条例 Art. 51 [V]), or when it has no valid opened price. Rejected bidders take no rank and do not
  set the lowest valid price.
- Price score: criteria.rules.price_score with the lowest price among the bidders not rejected; the
  same for every member (objective).
- Average: the exact mean of the members' totals, rounded once to 2 decimals half up; ranking uses
  the rounded average (the figure people see). Ties: higher average, then lower price, then (tie rule
  `technical`) higher average technical points (技术分), then the stated draw order: SHA-256 of
  "<lot code>:<bidder id>" ascending — reproducible by anyone, favouring nobody (87号令 Art. 56 [V]
  lets the documents state the rule). `lowest_price`: responsive bidders by price, then the draw order.
- A sale (招标出让, `sale=True`): the price score is offer ÷ highest valid offer × weight (the highest
  offer scores the full weight) and equal averages prefer the higher price. `highest_price`: offers
  that meet the requirements and reach the minimum (起始价; a lower one is rejected "below_minimum")
  by price high → low, equal prices by the earlier submission (the accepted price envelope's server
  time, rules.md G3.5 b), then the draw order.
- Deviation flag: a member whose total for a bidder is further than the threshold (points, setting
  `evaluation.deviation_points`) from the median of the members' totals for that bidder (rules.md
  RF-13). Flags are shown for review (复核); they change no figure.

Imports: core.errors, reference.settings, evaluation.criteria.rules only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from statistics import median

from trading.core.errors import InvalidInput
from trading.reference.settings import SettingDef, define

from ..criteria.rules import (
    Criteria,
    Group,
    Method,
    TieBreak,
    parse_points,
    price_score,
    price_score_high,
    round_points,
)

define(
    SettingDef("evaluation.deviation_points", 10, "count", "rules.md RF-13 [P]: 评分偏离中位数提示阈值",
               "评分偏离中位数提示阈值（分）", "Flag a member this many points from the median", 1, 100),
    SettingDef("evaluation.max_candidates", 3, "count", "实施条例 Art. 53 [V]; 比选 [U]",
               "推荐中标（中选）候选人最多家数", "Most ranked candidates", 1, 3),
)

COMMENT_MAX = 500


class Decision(StrEnum):
    SCORE = "score"     # scored (comprehensive) / responsive (lowest price)
    REJECT = "reject"   # 否决 with a checklist reason


class SheetStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"   # locked
    VOID = "void"             # its member declared a conflict and was replaced


@dataclass(frozen=True)
class SheetIn:
    """A validated sheet: the member's judgement of one bidder."""
    decision: str
    scores: Mapping[str, Decimal] = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)
    reject_code: str | None = None
    reject_note: str = ""


def _err(code: str, zh: str, en: str, field_: str | None = None, **details) -> InvalidInput:
    return InvalidInput(f"evaluation.{code}", zh, en, field=field_, details=details or None)


def validate_sheet(criteria: Criteria, raw: Mapping, *, final: bool) -> SheetIn:
    """Check a sheet as typed. A draft (final=False) may leave items empty; a submission may not.
    Out-of-range scores and deductions without comment are refused in both cases, so a draft never
    holds a value that could not be submitted."""
    decision = raw.get("decision") or Decision.SCORE
    if decision not in set(Decision):
        raise _err("decision", "请选择评审结论", "Choose a decision", "decision")
    if decision == Decision.REJECT:
        code = (raw.get("reject_code") or "").strip()
        if criteria.rejection(code) is None:
            raise _err("reject_reason", "否决须选择评分细则中的否决条款", "A rejection must name a checklist item",
                       "reject_code")
        note = (raw.get("reject_note") or "").strip()
        if len(note) > COMMENT_MAX:
            raise _err("comment_too_long", f"说明不超过 {COMMENT_MAX} 字", f"At most {COMMENT_MAX} characters",
                       "reject_note")
        return SheetIn(Decision.REJECT, {}, {}, code, note)
    scores_raw: Mapping = raw.get("scores") or {}
    comments_raw: Mapping = raw.get("comments") or {}
    unknown = set(scores_raw) - {i.code for i in criteria.items}
    if unknown:
        raise _err("unknown_item", "评分表含有评分细则以外的项目", "The sheet has items the criteria do not",
                   "scores", items=sorted(unknown))
    scores: dict[str, Decimal] = {}
    comments: dict[str, str] = {}
    for item in criteria.items:
        value = scores_raw.get(item.code)
        comment = (comments_raw.get(item.code) or "").strip()
        if len(comment) > COMMENT_MAX:
            raise _err("comment_too_long", f"评语不超过 {COMMENT_MAX} 字", f"At most {COMMENT_MAX} characters",
                       f"comments.{item.code}")
        if comment:
            comments[item.code] = comment
        if value in (None, ""):
            if final:
                raise _err("score_missing", f"“{item.name}”尚未评分", f"“{item.name}” has no score",
                           f"scores.{item.code}", item=item.code)
            continue
        points = parse_points(value, field=f"scores.{item.code}", code="evaluation.score_malformed")
        if not Decimal(0) <= points <= item.max_points:
            raise _err("score_out_of_range", f"“{item.name}”的得分须在 0–{item.max_points} 分之间",
                       f"“{item.name}” must score 0–{item.max_points}", f"scores.{item.code}",
                       item=item.code, max=str(item.max_points))
        if points < item.max_points and not comment:
            raise _err("comment_required", f"“{item.name}”有扣分，须填写扣分理由",
                       f"“{item.name}” has a deduction: write the reason", f"comments.{item.code}", item=item.code)
        scores[item.code] = points
    return SheetIn(Decision.SCORE, scores, comments)


def subtotal(criteria: Criteria, sheet: SheetIn) -> Decimal:
    """The member's technical + commercial points for the bidder (the running total of the sheet)."""
    return sum((sheet.scores.get(i.code, Decimal(0)) for i in criteria.items), Decimal(0))


def group_totals(criteria: Criteria, sheet: SheetIn) -> dict[str, Decimal]:
    out = {g.value: Decimal(0) for g in Group}
    for item in criteria.items:
        out[item.group] += sheet.scores.get(item.code, Decimal(0))
    return out


# --- Summary -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BidderIn:
    org_id: int
    name: str
    price_fen: int | None   # the opened (or final) price; None when no valid price was opened
    #: when the price was submitted (the accepted envelope, server time): the highest-price tie rule
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class Row:
    org_id: int
    name: str
    price_fen: int | None
    rejected: bool
    reject_reasons: tuple[str, ...]          # checklist codes (and "over_ceiling" / "no_price")
    rejected_by: tuple[int, ...]             # member ids that rejected it (also when a minority)
    price_score: Decimal | None
    totals: Mapping[int, Decimal | None]     # member id → total (None: that member rejected it)
    technical_avg: Decimal | None            # mean technical points (the `technical` tie rule)
    average: Decimal | None
    median: Decimal | None
    flagged: tuple[int, ...]                 # members further than the threshold from the median
    rank: int | None
    draw_key: str                            # the stated draw order (SHA-256 hex)


@dataclass(frozen=True)
class Summary:
    method: str
    members: tuple[int, ...]
    rows: tuple[Row, ...]                    # ranked rows first (by rank), then the rejected
    candidates: tuple[int, ...]              # bidder org ids, rank order, at most the limit
    deviation_threshold: Decimal


def draw_key(lot_code: str, org_id: int) -> str:
    return hashlib.sha256(f"{lot_code}:{org_id}".encode()).hexdigest()


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return round_points(sum((Fraction(v) for v in values), Fraction(0)) / len(values))


def _rejection(criteria: Criteria, bidder: BidderIn, judged: Mapping[int, SheetIn],
               rejected_for: Mapping[int, str] | None = None) -> tuple[bool, tuple, tuple]:
    by = tuple(sorted(m for m, s in judged.items() if s.decision == Decision.REJECT))
    reasons = sorted({judged[m].reject_code for m in by if judged[m].reject_code})
    if bidder.price_fen is None:
        return True, tuple(["no_price", *reasons]), by
    if criteria.max_price_fen is not None and bidder.price_fen > criteria.max_price_fen:
        return True, tuple(["over_ceiling", *reasons]), by
    if criteria.min_price_fen is not None and bidder.price_fen < criteria.min_price_fen:
        return True, tuple(["below_minimum", *reasons]), by
    if rejected_for and bidder.org_id in rejected_for:
        return True, tuple([rejected_for[bidder.org_id], *reasons]), by
    majority = bool(judged) and len(by) * 2 > len(judged)
    return majority, tuple(reasons) if majority else (), by


def summarise(criteria: Criteria, lot_code: str, bidders: Sequence[BidderIn], members: Sequence[int],
              sheets: Mapping[tuple[int, int], SheetIn], *, deviation_threshold: Decimal,
              max_candidates: int, sale: bool = False, rejected_for: Mapping[int, str] | None = None) -> Summary:
    """The panel's summary from every submitted sheet: sheets[(member_id, bidder_org_id)]. `sale`:
    the procedure sells (招标出让), so the higher price is the better one. `rejected_for`: bidder org id →
    a reason its offer is rejected whatever the sheets say (招标出让: "below_reserve", an offer below
    the opened 底价 under the highest-price method, land_tender.rules.below_reserve)."""
    members = tuple(members)
    judged = {b.org_id: {m: sheets[(m, b.org_id)] for m in members if (m, b.org_id) in sheets} for b in bidders}
    verdicts = {b.org_id: _rejection(criteria, b, judged[b.org_id], rejected_for) for b in bidders}
    valid_prices = [b.price_fen for b in bidders if not verdicts[b.org_id][0] and b.price_fen is not None]
    lowest = min(valid_prices) if valid_prices else None
    highest = max(valid_prices) if valid_prices else None
    times = {b.org_id: b.submitted_at for b in bidders}
    draft_rows = []
    for b in bidders:
        rejected, reasons, by = verdicts[b.org_id]
        pscore = None
        totals: dict[int, Decimal | None] = {}
        subs: list[Decimal] = []
        if criteria.scored and not rejected:
            pscore = (price_score_high(highest, b.price_fen, criteria.price_weight) if sale
                      else price_score(lowest, b.price_fen, criteria.price_weight))
            for m, sheet in judged[b.org_id].items():
                if sheet.decision == Decision.REJECT:
                    totals[m] = None
                    continue
                subs.append(group_totals(criteria, sheet)[Group.TECHNICAL])
                totals[m] = subtotal(criteria, sheet) + pscore
        present = [t for t in totals.values() if t is not None]
        med = Decimal(str(median(present))) if present else None
        flagged = tuple(sorted(m for m, t in totals.items()
                               if t is not None and med is not None and abs(t - med) > deviation_threshold))
        draft_rows.append(Row(b.org_id, b.name, b.price_fen, rejected, reasons, by, pscore, totals,
                              _mean(subs), _mean(present), med, flagged, None, draw_key(lot_code, b.org_id)))
    ranked = sorted((r for r in draft_rows if not r.rejected), key=lambda r: _rank_key(criteria, r, sale, times))
    rows = [_with_rank(r, n) for n, r in enumerate(ranked, start=1)]
    rows += sorted((r for r in draft_rows if r.rejected), key=lambda r: r.draw_key)
    limit = max_candidates if criteria.scored else len(ranked)
    candidates = tuple(r.org_id for r in rows[:min(limit, len(ranked))])
    return Summary(criteria.method, members, tuple(rows), candidates, deviation_threshold)


_NEVER = datetime.max


def _submitted(at: datetime | None) -> datetime:
    return at.replace(tzinfo=None) if at is not None else _NEVER


def _rank_key(criteria: Criteria, r: Row, sale: bool = False,
              times: Mapping[int, datetime | None] | None = None) -> tuple:
    if criteria.method == Method.HIGHEST_PRICE:
        return (-r.price_fen, _submitted((times or {}).get(r.org_id)), r.draw_key)
    if not criteria.scored:
        return (r.price_fen, r.draw_key)
    technical = -(r.technical_avg or Decimal(0)) if criteria.tie_break == TieBreak.TECHNICAL else Decimal(0)
    price = -r.price_fen if sale else r.price_fen
    return (-(r.average or Decimal(0)), price, technical, r.draw_key)


def _with_rank(r: Row, rank: int) -> Row:
    from dataclasses import replace
    return replace(r, rank=rank)


def summary_body(summary: Summary) -> dict:
    """The summary as canonical JSON (points as strings) for the report."""
    def s(v):
        return None if v is None else str(v)
    return {"method": summary.method, "members": list(summary.members),
            "deviation_threshold": str(summary.deviation_threshold),
            "candidates": list(summary.candidates),
            "rows": [{"org_id": r.org_id, "name": r.name, "price_fen": r.price_fen, "rejected": r.rejected,
                      "reject_reasons": list(r.reject_reasons), "rejected_by": list(r.rejected_by),
                      "price_score": s(r.price_score),
                      "totals": {str(m): s(t) for m, t in r.totals.items()},
                      "technical_avg": s(r.technical_avg), "average": s(r.average), "median": s(r.median),
                      "flagged": list(r.flagged), "rank": r.rank, "draw_key": r.draw_key}
                     for r in summary.rows]}
