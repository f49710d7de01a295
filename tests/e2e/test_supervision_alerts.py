"""(alerts) Electronic supervision in Chromium: the supervisor's dashboard is open and live; after the
deadline two bidders check in to the opening hall from the same machine (the same client IP, here
the browser's 127.0.0.1; they registered from two different addresses, which raised nothing); the
same-IP alert (RF-04) appears on the dashboard within seconds, without a reload. The supervisor
opens it, sees the evidence (both check-ins with their IP), acknowledges, investigates and closes
it with a finding. Screenshots of the dashboard, the alert and the closed alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, _new_page, login, logout, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from tests.factories.notices import notice_project, published_notice
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.models import LotTrade
from trading.procedures.common.participation.services import register_for_lot

pytestmark = pytest.mark.e2e


@pytest.fixture
def alert_world(live_server):
    live_server.app.config["ALERTS_ON_COMMIT"] = True     # as in production (TESTING turns it off)
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        owner = make_user(ctx, "owner", username="alertowner")
        project = notice_project(ctx, owner, procedure="tender", name="示范县北街管网改造工程")
        published_notice(actor_ctx(db.session, live_server.clock, owner), project)
        trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
        for i, name in enumerate(("alertbidder1", "alertbidder2"), start=1):
            bidder = make_user(ctx, "bidder", username=name)
            register_for_lot(actor_ctx(db.session, live_server.clock, bidder, ip=f"10.20.0.{i}"), trade.lot_code)
        sup = make_user(ctx, "supervisor", username="alertsup", totp=True, display_name="纪检监察员")
        world = {"code": trade.lot_code, "deadline": trade.deadline_at, "sup_secret": sup.totp_secret}
        db.session.commit()
        db.session.remove()
    return world


def test_same_ip_alert_reaches_the_supervisor_dashboard_live(browser, live_server, alert_world, request, problems):
    code = alert_world["code"]
    live_server.clock.set(alert_world["deadline"] + timedelta(seconds=30))

    sup = _new_page(browser, live_server, DESKTOP, request, problems)
    login(sup, live_server, "alertsup", password=DEFAULT_PASSWORD, totp_secret=alert_world["sup_secret"])
    sup.goto("/supervise/")
    expect(sup.get_by_test_id("alerts-conn")).to_have_attribute("data-state", "live")
    expect(sup.get_by_test_id("alert-row")).to_have_count(0)     # two addresses at registration: nothing
    sup.evaluate("window.__noReload = true")
    shot(sup, "alerts-01-dashboard-quiet")

    bidder = _new_page(browser, live_server, DESKTOP, request, problems)
    for name in ("alertbidder1", "alertbidder2"):
        login(bidder, live_server, name, password=DEFAULT_PASSWORD)
        bidder.goto(f"/opening/{code}/hall")
        bidder.get_by_test_id("checkin-button").click()
        expect(bidder.get_by_test_id("checked-in")).to_be_visible()
        if name == "alertbidder1":
            expect(sup.get_by_test_id("alert-row")).to_have_count(0)  # one bidder alone shares nothing
            logout(bidder)

    # the second check-in from the same address: the alert is on the open dashboard within seconds
    row = sup.get_by_test_id("alert-row")
    expect(row).to_have_count(1, timeout=5_000)
    expect(row).to_contain_text("RF-04")
    expect(row).to_contain_text("127.0.0.1")
    expect(row.get_by_test_id("alert-severity")).to_have_text("警告")
    expect(sup.get_by_test_id("alerts-yellow-count")).to_have_text("1")
    assert sup.evaluate("window.__noReload") is True
    shot(sup, "alerts-02-dashboard-live-alert")

    # the alert page: rule, legal basis, the two check-ins as evidence with their IP
    row.get_by_test_id("alert-link").click()
    expect(sup.get_by_test_id("alert-basis")).to_contain_text("第四十条")
    expect(sup.get_by_test_id("evidence-row")).to_have_count(2)
    expect(sup.get_by_test_id("evidence-table")).to_contain_text("opening.checked_in")
    expect(sup.get_by_test_id("alert-lot")).to_have_text(code)
    shot(sup, "alerts-03-alert-detail")
    sup.get_by_test_id("alert-acknowledge").click()
    expect(sup.get_by_test_id("alert-status")).to_have_text("已签收")
    sup.get_by_label("核查说明").fill("调取两家投标人的网络接入记录")
    sup.get_by_test_id("alert-investigate").click()
    expect(sup.get_by_test_id("alert-status")).to_have_text("核查中")
    sup.get_by_label("处理意见").fill("两家投标人在同一台电脑上签到，已移交评标委员会审查是否串通投标。")
    sup.get_by_label("处理结论").select_option("referred")
    sup.get_by_test_id("alert-close").click()
    expect(sup.get_by_test_id("alert-status")).to_have_text("已办结")
    expect(sup.get_by_test_id("alert-finding")).to_contain_text("移交处理")
    shot(sup, "alerts-04-alert-closed")
