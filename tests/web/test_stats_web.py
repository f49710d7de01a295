"""The statistics pages through the browser's door: the monthly report for operators and supervisors in
Chinese and English (figures, the charts' data attribute and external scripts only — CSP — and the
due-by-the-3rd time limit), the XLSX download opened with openpyxl and the PDF read with pypdf, bad or
future months refused with 422, other roles refused; the public page on the portal shows aggregates of
ended months only, no lot, and nothing that changes while a lot is before its deadline."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.factories.accounts import login_as, make_user
from tests.factories.journeys import pdf_text, registered_bidders
from tests.factories.stats import concluded_county
from trading.core.clock import beijing
from trading.core.web import cli_context
from trading.demo import build_demo
from trading.procedures.common.models import LotTrade
from trading.procedures.common.participation.models import Participation
from trading.projects.models import Lot, Project

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


@pytest.fixture
def county(app, ctx):
    return concluded_county(ctx)


@pytest.fixture
def operator(ctx, county):
    return make_user(ctx, "operator", totp=True)


def no_inline_scripts(html: str) -> None:
    for attrs, body in SCRIPT.findall(html):
        assert 'src="' in attrs and body.strip() == "", attrs


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_monthly_page_in_chinese(client, ctx, county, role):
    login_as(client, make_user(ctx, role, totp=True))
    resp = client.get("/stats/monthly?month=2026-11")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "交易统计月报" in html and 'data-testid="stats-month">2026-11<' in html
    assert 'data-testid="stat-savings-rate">5.71%<' in html and 'data-testid="stat-deals">1<' in html
    assert "754,321.00" in html and county.award_lot in html  # the largest deals name the lot (centre only)
    assert "data-stats-charts='{" in html and "echarts.min.js" in html and "js/stats.js" in html
    no_inline_scripts(html)
    # November's report was due by 12-03; it is 12-05 and nothing was issued
    assert 'data-light="red"' in html and "2026-12-03" in html
    assert "龙泉镇" in html


def test_monthly_page_in_english_and_the_current_month(client, operator):
    login_as(client, operator)
    html = client.get("/stats/monthly?month=2026-12&lang=en").get_data(as_text=True)
    assert "Monthly trading report" in html and "Premium rate" in html and "Longquan Town" in html
    assert 'data-testid="stat-premium-rate">2.50%<' in html and 'data-testid="stat-failed">1<' in html
    assert "Land grant by auction" in html and "Deal amount (10k yuan)" in html and "Savings rate" in html
    assert "交易统计月报" not in html
    default = client.get("/stats/monthly").get_data(as_text=True)
    assert 'data-testid="stats-month">2026-12<' in default


@pytest.mark.parametrize("month", ["2026-13", "abc", "2027-01", "2026-1", "1999-12"])
@pytest.mark.parametrize("path", ["/stats/monthly", "/stats/monthly.xlsx", "/stats/monthly.pdf", "/statistics"])
def test_bad_month_is_refused(client, operator, path, month):
    login_as(client, operator)
    resp = client.get(f"{path}?month={month}")
    assert resp.status_code == 422


def test_other_roles_cannot_read_the_centre_report(client, ctx, county):
    assert client.get("/stats/monthly?month=2026-11").status_code in (302, 401)
    for role in ("bidder", "owner", "expert"):
        login_as(client, make_user(ctx, role, totp=True))
        assert client.get("/stats/monthly.xlsx?month=2026-11").status_code == 403


def test_xlsx_download(client, operator, county):
    login_as(client, operator)
    resp = client.get("/stats/monthly.xlsx?month=2026-11")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="monthly-report-2026-11.xlsx"' in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["概况", "按交易类型", "按交易方式", "按区域（乡镇）", "环节用时", "成交金额前五", "流标（流拍）标段"]
    summary = {r[0]: r[1] for r in wb["概况"].iter_rows(min_row=3, values_only=True)}
    assert summary["成交标段（宗）"] == 1
    assert Decimal(str(summary["成交金额（元）"])) == Decimal("754321.00")
    assert Decimal(str(summary["节资率（%）"])) == Decimal("5.71")
    assert summary["溢价率（%）"] == "—"
    regions = {r[0]: r for r in wb["按区域（乡镇）"].iter_rows(min_row=2, values_only=True)}
    assert regions["龙泉镇"][2] == 1
    largest = list(wb["成交金额前五"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], Decimal(str(r[2])), Decimal(str(r[3]))) for r in largest] == \
        [(county.award_lot, Decimal("754321.00"), Decimal("800000.00"))]
    english = load_workbook(io.BytesIO(client.get("/stats/monthly.xlsx?month=2026-12&lang=en").data))
    summary = {r[0]: r[1] for r in english["Summary"].iter_rows(min_row=3, values_only=True)}
    assert Decimal(str(summary["Premium rate (%)"])) == Decimal("2.50") and summary["Failed lots"] == 1


def test_pdf_download(client, operator, county):
    login_as(client, operator)
    resp = client.get("/stats/monthly.pdf?month=2026-12")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    text = pdf_text(resp.data)
    for expected in ("示范县公共资源交易统计月报", "统计月份：2026-12", "溢价率", "2.50", "820,000.00", "龙泉镇", "石桥镇",
                     county.unsold_lot, "流标（流拍）标段"):
        assert expected in text, expected


def test_public_page(client, county, ctx, session, clock):
    resp = client.get("/statistics?month=2026-11")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "交易数据" in html and 'data-testid="stat-savings-rate">5.71%<' in html and "龙泉镇" in html
    no_inline_scripts(html)
    assert "SFX2026-" not in html and "乡村道路硬化工程" not in html  # aggregates only: no lot, no project
    assert client.get("/statistics?month=2026-12").status_code == 422  # the month has not ended
    assert 'data-testid="stats-month">2026-11<' in client.get("/statistics").get_data(as_text=True)
    english = client.get("/statistics?month=2026-11&lang=en").get_data(as_text=True)
    assert "Trading data" in english and "Savings rate" in english
    assert client.get("/").status_code == 200 and "/statistics" in client.get("/").get_data(as_text=True)


def test_public_page_shows_nothing_of_a_lot_before_its_deadline(client, app, ctx, session, clock):
    """The demo county at T0 (11-10 09:00): the tender announced in October closes at 10:00 today and
    already holds registrations and sealed offers. October's public figures count no participant of it,
    and more registrations before its deadline change nothing on the page."""
    build_demo(cli_context())
    session.commit()
    trade = session.execute(select(LotTrade).where(LotTrade.status == "accepting", LotTrade.deadline_at > clock.now(),
                                                   LotTrade.created_at < beijing(2026, 11, 1), LotTrade.sealed,
                                                   LotTrade.procedure == "tender")).scalars().one()
    assert session.execute(select(func.count()).select_from(Participation)
                           .where(Participation.lot_id == trade.lot_id)).scalar_one() > 0
    before = client.get("/statistics?month=2026-10").get_data(as_text=True)
    assert 'data-testid="stat-avg-participants">—<' in before
    registered_bidders(ctx, trade.lot_code, 2)
    session.commit()
    after = client.get("/statistics?month=2026-10").get_data(as_text=True)
    assert after == before
    name = session.execute(select(Project.name).join(Lot, Lot.project_id == Project.id)
                           .where(Lot.id == trade.lot_id)).scalar_one()
    assert name not in after and trade.lot_code not in after
