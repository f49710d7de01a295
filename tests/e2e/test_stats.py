"""The statistics pages in headless Chromium on the demo county with an award, a sale and a 流拍 on top
(tests/factories/stats): the operator's monthly report draws its three ECharts charts (from the data
attribute, no inline script: the page must raise no CSP or JavaScript error), offers the downloads and
shows the due-by-the-3rd light; the public page draws the same charts for an ended month; screenshots
stats-*.png under tests/e2e/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, _new_page, login, shot
from tests.factories.stats import concluded_county
from trading.core.context import ServiceContext
from trading.demo.people import demo_totp_secret
from trading.extensions import db

pytestmark = pytest.mark.e2e

CHARTS = ("chart-trade-type", "chart-region", "chart-durations")


@pytest.fixture
def county_server(live_server):
    with live_server.app.app_context():
        concluded_county(ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1"))
        db.session.remove()
    return live_server


@pytest.fixture
def desk(browser, county_server, request, problems):
    return _new_page(browser, county_server, DESKTOP, request, problems)


def charts_drawn(page) -> None:
    for testid in CHARTS:
        chart = page.get_by_test_id(testid)
        expect(chart).to_have_attribute("data-rendered", "1")
        expect(chart.locator("svg")).to_have_count(1)
        box = chart.bounding_box()
        assert box and box["height"] >= 200 and box["width"] >= 300


def test_operator_monthly_report_with_charts(desk, county_server):
    page = desk
    login(page, county_server, "operator1", totp_secret=demo_totp_secret("operator1"))
    page.get_by_role("link", name="交易统计").click()
    expect(page.get_by_test_id("stats-month")).to_have_text("2026-12")
    page.goto("/stats/monthly?month=2026-11")
    expect(page.get_by_test_id("stat-savings-rate")).to_have_text("5.71%")
    expect(page.get_by_test_id("stats-due")).to_have_attribute("data-light", "red")
    charts_drawn(page)
    # the pie of amounts by township names 龙泉镇 in the drawing itself
    expect(page.get_by_test_id("chart-region").locator("svg")).to_contain_text("龙泉镇")
    shot(page, "stats-monthly-2026-11")
    page.goto("/stats/monthly?month=2026-12")
    expect(page.get_by_test_id("stat-premium-rate")).to_have_text("2.50%")
    charts_drawn(page)
    with page.expect_download() as dl:
        page.get_by_test_id("download-xlsx").click()
    assert dl.value.suggested_filename == "monthly-report-2026-12.xlsx"
    shot(page, "stats-monthly-2026-12")
    page.goto("/stats/monthly?month=2026-12&lang=en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monthly trading report")
    charts_drawn(page)
    shot(page, "stats-monthly-2026-12-en")


def test_public_statistics_page(desk, county_server):
    page = desk
    page.goto("/")
    page.get_by_role("link", name="交易数据").first.click()
    expect(page.get_by_test_id("stats-month")).to_have_text("2026-11")
    charts_drawn(page)
    shot(page, "stats-public-2026-11")
