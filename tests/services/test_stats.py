"""The monthly report of the demo county (with an award, a sale and a 流拍 on top, tests/factories/stats)
matches figures computed here independently from the raw rows with SQL — lots announced, deals and
their amounts, failures, savings and premium rates, participants, durations, by trade type, procedure
and township; the report is for operators, supervisors and the system only; issuing a month records
the files' digests in the audit trail (the due light turns "done"); `flask stats monthly` writes both
files and records them."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.journeys import pdf_text
from tests.factories.stats import concluded_county
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.errors import Forbidden, InvalidInput
from trading.procedures.auction.models import Auction, AuctionApplication
from trading.procedures.common.awards.models import Award, ContractRecord
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningResult
from trading.procedures.common.rules import trade_type_for
from trading.projects.models import Lot, Project
from trading.reference.models import Region
from trading.stats import rules, services

CST = timezone(timedelta(hours=8))


def bounds(year: int, month: int) -> tuple[datetime, datetime]:
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=CST), datetime(*nxt, 1, tzinfo=CST)


def pct(num: int, den: int) -> Decimal | None:
    if den == 0:
        return None
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected(session, year: int, month: int) -> dict:
    """The month's figures straight from the tables, written without the stats package."""
    start, end = bounds(year, month)
    lots = {r.lot_id: r for r in session.execute(
        select(LotTrade.lot_id, LotTrade.created_at, Lot.budget_fen, Project.category, Project.owner_type,
               Project.procedure, Region.code)
        .join(Lot, Lot.id == LotTrade.lot_id).join(Project, Project.id == Lot.project_id)
        .join(Region, Region.id == Project.region_id))}
    announced = {i for i, r in lots.items() if start <= r.created_at < end}
    deals: dict[int, int] = {}
    for lot_id, first in session.execute(select(Award.lot_id, func.min(Award.determined_at)).group_by(Award.lot_id)):
        if start <= first < end:
            price = session.execute(select(Award.price_fen).where(Award.lot_id == lot_id, Award.status == "active")
                                    .order_by(Award.id.desc())).scalars().first()
            if price is not None:
                deals[lot_id] = price
    auctions = {a.lot_id: a for a in session.execute(select(Auction)).scalars()}
    for a in auctions.values():
        if a.outcome == "sold" and start <= a.ended_at < end:
            deals[a.lot_id] = a.price_fen
    failed = {int(e.object_id) for e in session.execute(
        select(AuditEntry).where(AuditEntry.action == "lot.failed", AuditEntry.created_at >= start,
                                 AuditEntry.created_at < end)).scalars()}
    failed |= {a.lot_id for a in auctions.values() if a.outcome == "no_sale" and start <= a.ended_at < end}
    failed -= set(deals)

    def base(i):
        return auctions[i].starting_fen if i in auctions and lots[i].category in ("land", "mining", "state_asset") \
            else lots[i].budget_fen

    sale = {i for i in deals if lots[i].category in ("land", "mining", "state_asset")}
    purchase = set(deals) - sale
    participants = {}
    for i in set(deals) | failed:
        if i in auctions:
            participants[i] = session.execute(select(func.count()).select_from(AuctionApplication).where(
                AuctionApplication.lot_id == i, AuctionApplication.status == "qualified")).scalar_one()
        else:
            n = session.execute(select(func.count(func.distinct(OpeningResult.bidder_org_id)))
                                .where(OpeningResult.lot_id == i)).scalar_one()
            if n:
                participants[i] = n
    pb, pd = sum(base(i) for i in purchase), sum(deals[i] for i in purchase)
    sb, sd = sum(base(i) for i in sale), sum(deals[i] for i in sale)
    contracts = {}
    for lot_id, signed in session.execute(select(Award.lot_id, ContractRecord.signed_at)
                                          .join(ContractRecord, ContractRecord.award_id == Award.id)):
        contracts[lot_id] = min(signed, contracts.get(lot_id, signed))
    firsts = dict(session.execute(select(Award.lot_id, func.min(Award.determined_at)).group_by(Award.lot_id)).all())
    spans = [(firsts[i] if i in firsts else auctions[i].ended_at, contracts[i]) for i in deals if i in contracts]
    by_region, by_type, by_procedure = Counter(), Counter(), Counter()
    amount_region = defaultdict(int)
    for i, price in deals.items():
        by_region[lots[i].code] += 1
        amount_region[lots[i].code] += price
        by_type[str(trade_type_for(lots[i].category, lots[i].owner_type))] += 1
        by_procedure[lots[i].procedure] += 1
    return dict(
        announced=len(announced), deals=len(deals), deal_fen=sum(deals.values()), failed=len(failed),
        purchase=(pb, pd, pct(pb - pd, pb)), sale=(sb, sd, pct(sd - sb, sb)),
        participants=(len(participants), sum(participants.values()),
                      (Decimal(sum(participants.values())) / len(participants)).quantize(Decimal("0.01"), ROUND_HALF_UP)
                      if participants else None),
        contract_days=((Decimal(sum((b - a).total_seconds() for a, b in spans)) / 86400 / len(spans))
                       .quantize(Decimal("0.1"), ROUND_HALF_UP) if spans else None),
        by_region=dict(by_region), amount_region=dict(amount_region), by_type=dict(by_type),
        by_procedure=dict(by_procedure),
        announced_by_region=dict(Counter(lots[i].code for i in announced)),
        announced_by_procedure=dict(Counter(lots[i].procedure for i in announced)),
    )


def observed(r: rules.MonthlyReport) -> dict:
    durations = {(d.start, d.end): d for d in r.durations}
    return dict(
        announced=r.announced, deals=r.deals, deal_fen=r.deal_fen, failed=r.failed,
        purchase=(r.purchases.base_fen, r.purchases.deal_fen, r.purchases.rate),
        sale=(r.sales.base_fen, r.sales.deal_fen, r.sales.rate),
        participants=(r.participants_lots, r.participants_total, r.average_participants),
        contract_days=durations[("awarded", "contracted")].average_days,
        by_region={g.key: g.deals for g in r.by_region if g.deals},
        amount_region={g.key: g.deal_fen for g in r.by_region if g.deals},
        by_type={g.key: g.deals for g in r.by_trade_type if g.deals},
        by_procedure={g.key: g.deals for g in r.by_procedure if g.deals},
        announced_by_region={g.key: g.announced for g in r.by_region if g.announced},
        announced_by_procedure={g.key: g.announced for g in r.by_procedure if g.announced},
    )


@pytest.fixture
def county(app, ctx):
    return concluded_county(ctx)


def test_demo_county_report_matches_the_raw_rows(county, ctx, session):
    for year, month in ((2026, 10), (2026, 11), (2026, 12)):
        report = services.monthly_report(ctx, rules.Month(year, month))
        assert observed(report) == expected(session, year, month), (year, month)
    # and the figures are the ones the story implies (so the comparison above is not of two empty sets)
    nov, dec = (services.monthly_report(ctx, rules.Month(2026, m)) for m in (11, 12))
    assert nov.deals == 1 and nov.purchases.rate == Decimal("5.71") and nov.announced >= 15
    assert dec.deals == 1 and dec.failed == 1 and dec.sales.rate == Decimal("2.50")
    assert dec.average_participants == Decimal("1.50") and dec.failure_rate == Decimal("50.00")
    assert {g.label_zh for g in dec.by_region} == {"龙泉镇", "石桥镇"}
    oct_ = services.monthly_report(ctx, rules.Month(2026, 10))
    # October: nine procurement and sale notices, the mining listing (its 20 working days' notice) and
    # the 招标出让 grant notice
    assert oct_.announced == 11 and oct_.deals == 0 and oct_.purchases.rate is None


def test_only_the_centre_and_supervisors_read_the_report(county, ctx, session, clock):
    month = rules.Month(2026, 11)
    for role in ("operator", "supervisor"):
        assert services.monthly_report(actor_ctx(session, clock, make_user(ctx, role)), month).deals == 1
    for role in ("bidder", "owner", "agency", "expert", "admin"):
        with pytest.raises(Forbidden):
            services.monthly_report(actor_ctx(session, clock, make_user(ctx, role)), month)
    with pytest.raises(Forbidden):
        services.issue_monthly_report(actor_ctx(session, clock, make_user(ctx, "supervisor")), month, {"a.pdf": "0" * 64})


def test_public_report_only_for_ended_months(county, ctx):
    assert services.public_report(ctx, rules.Month(2026, 11)).deals == 1
    with pytest.raises(InvalidInput):
        services.public_report(ctx, rules.Month(2026, 12))


def test_issue_records_digests_and_the_due_light(county, ctx, session, clock):
    op = actor_ctx(session, clock, make_user(ctx, "operator"))
    due = services.report_due(op)  # 12-05 11:00: November's report was due by 12-03
    assert (str(due.month), due.light, due.issued_at) == ("2026-11", "red", None)
    with pytest.raises(InvalidInput):
        services.issue_monthly_report(op, rules.Month(2026, 11), {"x.pdf": "not a digest"})
    assert session.execute(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "stats.monthly_issued")).scalar_one() == 0
    services.issue_monthly_report(op, rules.Month(2026, 11), {"x.pdf": "ab" * 32})
    due = services.report_due(op)
    assert due.light == "done" and due.issued_at == clock.now()
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "stats.monthly_issued")).scalar_one()
    assert entry.object_id == "2026-11" and entry.actor_user_id == op.actor.user_id


def test_cli_writes_both_files_and_records_the_issue(county, app, session, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "out"
    res = runner.invoke(args=["stats", "monthly", "--month", "2026-11", "--out", str(out)])
    assert res.exit_code == 0, res.output
    xlsx, pdf = out / "monthly-report-2026-11.xlsx", out / "monthly-report-2026-11.pdf"
    wb = load_workbook(xlsx)
    summary = {row[0]: row[1] for row in wb.worksheets[0].iter_rows(min_row=3, values_only=True)}
    assert summary["成交标段（宗）"] == 1 and Decimal(str(summary["节资率（%）"])) == Decimal("5.71")
    assert "交易统计月报" in pdf_text(pdf.read_bytes()) and "754,321.00" in pdf_text(pdf.read_bytes())
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "stats.monthly_issued")).scalar_one()
    assert entry.object_id == "2026-11"
    assert verify(session).ok
    assert runner.invoke(args=["stats", "monthly", "--month", "2027-01", "--out", str(out)]).exit_code != 0
    assert runner.invoke(args=["stats", "monthly", "--month", "bad", "--out", str(out)]).exit_code != 0
