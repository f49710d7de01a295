"""The monthly trading report (交易统计月报), pure: plain rows in, figures out. No Flask, no SQLAlchemy;
the month boundaries and the due date are computed in Beijing time, the caller passes `now`.

Unit of a trade: one lot (标段/包) as traded — a LotTrade, so a re-announced attempt is a lot of its own.
A lot belongs to a month by the instant it concluded there:
  * a deal (成交): the first award of the lot determined in the month (定标 / 确定成交), or an auction /
    listing / online bidding that ended "sold"; the deal amount is the lot's current award (not
    superseded nor defaulted: after a re-award, the next candidate's price) or the auction's final price;
  * a failed lot (流标/流拍): the lot.failed entry of the audit trail (too few valid offers at the
    opening) or an auction that ended "no_sale", in the month.
"Announced" lots are the lots whose trading opened (their announcement was published) in the month.

Township (乡镇): a project records its location as a Region (county seat 城区 or a township); the
report groups by the project's region.

Money is integer fen throughout. Rates are percentages as Decimal with two decimals, rounded half up
(四舍五入) from the exact integer ratio — never a float:
  节资率 (savings rate, purchases: works, goods, services) = (budget − award) ÷ budget,
  溢价率 (premium rate, sales: land, mining, state assets) = (deal − starting) ÷ starting,
where budget is the lot's 预算/最高限价 and starting its 起始价 (the auction's starting price when the lot
was auctioned, else the lot's announced price). A zero denominator, or no trade, gives None (shown "—").
Averages (participants per lot, days per stage) are Decimal with two and one decimals, half up.

Participants: bidders whose offers were opened (sealed procedures) or qualified buyers (auctions), counted
for concluded lots only — a lot before its deadline is never counted (rules.md §2.4, §6.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from trading.core.clock import beijing, to_beijing
from trading.core.errors import InvalidInput
from trading.procedures.common.rules import TRADE_LABELS, trade_type_for
from trading.projects.enums import PROCEDURE_LABELS
from trading.projects.rules import due_light

#: categories that are sales (出让/转让): premium rate; the others are purchases: savings rate
SALE_CATEGORIES = frozenset({"land", "mining", "state_asset"})
#: the report of month M is due by the 3rd of month M+1 (Beijing), i.e. before the 4th 00:00
DUE_DAY = 3
#: stages whose durations are reported, in order (announcement → deadline → opening → award → contract)
STAGES = ("announced", "deadline", "opened", "awarded", "contracted")
STAGE_LABELS = {
    "announced": ("发布公告", "Announcement"), "deadline": ("投标（申请）截止", "Deadline"),
    "opened": ("开标（开始竞价）", "Opening"), "awarded": ("定标（成交）", "Award"),
    "contracted": ("签订合同", "Contract"),
}
LARGEST = 5
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return beijing(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (exclusive)."""
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def due_at(self) -> datetime:
        """The report is due by the 3rd of the following month: the instant the 4th begins."""
        n = self.next()
        return beijing(n.year, n.month, DUE_DAY) + timedelta(days=1)

    @property
    def due_date(self):
        n = self.next()
        return to_beijing(beijing(n.year, n.month, DUE_DAY)).date()

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


def month_of(now: datetime) -> Month:
    b = to_beijing(now)
    return Month(b.year, b.month)


def parse_month(text: object, now: datetime, *, completed_only: bool = False) -> Month:
    """"YYYY-MM", from 2000-01 up to the current month (Beijing); with completed_only, only months that
    have ended. Anything else is refused (422), never guessed."""
    m = _MONTH.match(text.strip()) if isinstance(text, str) else None
    month = Month(int(m.group(1)), int(m.group(2))) if m else None
    if month is None or not 1 <= month.month <= 12 or month.year < 2000:
        raise InvalidInput("stats.bad_month", "月份格式应为 YYYY-MM（如 2026-10）",
                           "The month must be YYYY-MM (e.g. 2026-10)", field="month")
    current = month_of(now)
    last = current.previous() if completed_only else current
    if (month.year, month.month) > (last.year, last.month):
        if completed_only:
            raise InvalidInput("stats.month_not_ended", "该月尚未结束，统计数据在月末后公布",
                               "That month has not ended; its figures are published after the month ends",
                               field="month")
        raise InvalidInput("stats.future_month", "不能统计尚未到来的月份", "That month has not begun", field="month")
    return month


def ratio(numerator: int, denominator: int, places: int) -> Decimal | None:
    """numerator ÷ denominator as a Decimal with `places` decimals, rounded half up (away from zero on
    a tie), computed exactly on integers. None when the denominator is 0."""
    if denominator == 0:
        return None
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    scaled = abs(numerator) * 10 ** places
    q = (2 * scaled + denominator) // (2 * denominator)
    return Decimal(-q if numerator < 0 else q).scaleb(-places)


def rate_percent(numerator: int, denominator: int) -> Decimal | None:
    """A percentage with two decimals: 100 × numerator ÷ denominator, half up; None when the base is 0."""
    return ratio(100 * numerator, denominator, 2)


def savings_rate(budget_fen: int, award_fen: int) -> Decimal | None:
    """节资率 = (budget − award) ÷ budget, in percent."""
    return rate_percent(budget_fen - award_fen, budget_fen)


def premium_rate(starting_fen: int, deal_fen: int) -> Decimal | None:
    """溢价率 = (deal − starting) ÷ starting, in percent."""
    return rate_percent(deal_fen - starting_fen, starting_fen)


@dataclass(frozen=True)
class LotRow:
    """One traded lot with what the report needs (queries.load_rows)."""
    lot_id: int
    lot_code: str
    name: str
    category: str
    owner_type: str
    procedure: str
    region_code: str
    region_name: str
    region_name_en: str
    #: Lot.budget_fen: 预算/最高限价 (purchases) or 起始价 (sales) as registered
    budget_fen: int
    #: stage instants (UTC); None when the stage was not reached
    announced_at: datetime | None = None
    deadline_at: datetime | None = None
    opened_at: datetime | None = None
    awarded_at: datetime | None = None
    contracted_at: datetime | None = None
    failed_at: datetime | None = None
    #: the current award's price, or the auction's final price when sold
    deal_fen: int | None = None
    #: the auction's starting price (起始价), when the lot was auctioned / listed
    starting_fen: int | None = None
    #: opened bidders or qualified buyers; None when not known (the lot has not concluded)
    participants: int | None = None

    @property
    def sale(self) -> bool:
        return self.category in SALE_CATEGORIES

    @property
    def base_fen(self) -> int:
        """The savings base (budget) for purchases, the premium base (starting price) for sales."""
        return self.starting_fen if self.sale and self.starting_fen is not None else self.budget_fen

    @property
    def trade_type(self) -> str:
        return str(trade_type_for(self.category, self.owner_type))

    def stage_at(self, stage: str) -> datetime | None:
        return getattr(self, f"{stage}_at")


@dataclass
class Group:
    key: str
    label_zh: str
    label_en: str
    deals: int = 0
    deal_fen: int = 0
    base_fen: int = 0
    failed: int = 0
    announced: int = 0

    def label(self, locale: str = "zh") -> str:
        return self.label_en if locale == "en" else self.label_zh


@dataclass(frozen=True)
class Balance:
    """Purchases: base = budget, difference = savings (budget − award). Sales: base = starting price,
    difference = premium (deal − starting)."""
    lots: int
    base_fen: int
    deal_fen: int
    difference_fen: int
    rate: Decimal | None


@dataclass(frozen=True)
class StageDuration:
    start: str
    end: str
    lots: int
    average_days: Decimal | None


@dataclass
class MonthlyReport:
    month: Month
    announced: int
    deals: int
    deal_fen: int
    base_fen: int
    failed: int
    concluded: int
    failure_rate: Decimal | None
    purchases: Balance
    sales: Balance
    participants_lots: int
    participants_total: int
    average_participants: Decimal | None
    by_trade_type: list[Group]
    by_procedure: list[Group]
    by_region: list[Group]
    durations: list[StageDuration]
    largest: list[LotRow]
    failed_lots: list[LotRow]
    deal_lots: list[LotRow] = field(default_factory=list)


def is_deal(row: LotRow, month: Month) -> bool:
    return row.deal_fen is not None and month.contains(row.awarded_at)


def is_failed(row: LotRow, month: Month) -> bool:
    return row.deal_fen is None and month.contains(row.failed_at)


def _balance(rows: list[LotRow], *, sale: bool) -> Balance:
    base = sum(r.base_fen for r in rows)
    deal = sum(r.deal_fen or 0 for r in rows)
    if sale:
        return Balance(len(rows), base, deal, deal - base, premium_rate(base, deal))
    return Balance(len(rows), base, deal, base - deal, savings_rate(base, deal))


def _grouped(rows: list[LotRow], month: Month, key, label, order) -> list[Group]:
    groups: dict[str, Group] = {}
    for r in rows:
        k = key(r)
        g = groups.get(k)
        if g is None:
            zh, en = label(r)
            g = groups[k] = Group(k, zh, en)
        if is_deal(r, month):
            g.deals += 1
            g.deal_fen += r.deal_fen or 0
            g.base_fen += r.base_fen
        elif is_failed(r, month):
            g.failed += 1
        if month.contains(r.announced_at):
            g.announced += 1
    return sorted(groups.values(), key=lambda g: (order(g.key), g.key))


def _durations(deals: list[LotRow]) -> list[StageDuration]:
    out = []
    for start, end in pairwise(STAGES):
        spans = [(r.stage_at(end) - r.stage_at(start)) for r in deals
                 if r.stage_at(start) is not None and r.stage_at(end) is not None]
        seconds = sum(int(s.total_seconds()) for s in spans)
        out.append(StageDuration(start, end, len(spans), ratio(seconds, 86_400 * len(spans), 1) if spans else None))
    return out


def monthly_report(rows: list[LotRow], month: Month) -> MonthlyReport:
    """The month's figures from the lot rows (rows outside the month are ignored)."""
    relevant = [r for r in rows if is_deal(r, month) or is_failed(r, month) or month.contains(r.announced_at)]
    deals = [r for r in relevant if is_deal(r, month)]
    failed = [r for r in relevant if is_failed(r, month)]
    concluded = deals + failed
    counted = [r for r in concluded if r.participants is not None]
    participants = sum(r.participants or 0 for r in counted)
    trade_order = {k: i for i, k in enumerate(TRADE_LABELS)}
    proc_order = {k: i for i, k in enumerate(PROCEDURE_LABELS)}
    return MonthlyReport(
        month=month,
        announced=sum(1 for r in relevant if month.contains(r.announced_at)),
        deals=len(deals), deal_fen=sum(r.deal_fen or 0 for r in deals), base_fen=sum(r.base_fen for r in deals),
        failed=len(failed), concluded=len(concluded), failure_rate=rate_percent(len(failed), len(concluded)),
        purchases=_balance([r for r in deals if not r.sale], sale=False),
        sales=_balance([r for r in deals if r.sale], sale=True),
        participants_lots=len(counted), participants_total=participants,
        average_participants=ratio(participants, len(counted), 2) if counted else None,
        by_trade_type=_grouped(relevant, month, lambda r: r.trade_type,
                               lambda r: TRADE_LABELS.get(r.trade_type, (r.trade_type, r.trade_type)),
                               lambda k: trade_order.get(k, 99)),
        by_procedure=_grouped(relevant, month, lambda r: r.procedure,
                              lambda r: PROCEDURE_LABELS.get(r.procedure, (r.procedure, r.procedure)),
                              lambda k: proc_order.get(k, 99)),
        by_region=_grouped(relevant, month, lambda r: r.region_code,
                           lambda r: (r.region_name, r.region_name_en or r.region_name), lambda k: 0),
        durations=_durations(deals),
        largest=sorted(deals, key=lambda r: (-(r.deal_fen or 0), r.lot_code))[:LARGEST],
        failed_lots=sorted(failed, key=lambda r: r.lot_code),
        deal_lots=sorted(deals, key=lambda r: r.lot_code),
    )


@dataclass(frozen=True)
class DueStatus:
    """The time limit of the monthly report (限时办结): the previous month's report is due by the 3rd."""
    month: Month
    due_at: datetime
    issued_at: datetime | None
    light: str  # green | yellow | red | done


def report_due(now: datetime, issued: dict[str, datetime]) -> DueStatus:
    """The report due now is the previous month's; `issued` maps "YYYY-MM" to when it was issued."""
    month = month_of(now).previous()
    at = issued.get(str(month))
    light = "done" if at is not None else due_light(month.due_at, now, timedelta(days=1))
    return DueStatus(month, month.due_at, at, light)


def stage_label(stage: str, locale: str = "zh") -> str:
    zh, en = STAGE_LABELS[stage]
    return en if locale == "en" else zh
