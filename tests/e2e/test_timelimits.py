"""(time limits) 限时办结 in Chromium: the supervisor's dashboard shows the red/yellow counts and links
the overdue list; the list shows the reddest first and filters by light; the centre's own list is in
its menu. Screenshots of the dashboard badge, the supervisor's list and the centre's list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, _new_page, login, logout, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from tests.factories.awards import propose, reported_lot
from tests.factories.projects import submitted_project
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.awards import objections, services

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live_server):
    clock = live_server.clock
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=clock, ip="127.0.0.1")
        project = submitted_project(actor_ctx(db.session, clock, make_user(ctx, "owner")))
        w = reported_lot(ctx, procedure="selection", bidders=2)
        propose(w, [900_000_00, 950_000_00])
        services.publish_candidates(w.c_owner, w.trade.lot_code)
        obj = objections.file_objection(w.c_bidders[1], w.trade.lot_code, "对评审结果有异议，理由如下：……")
        clock.set(obj.reply_due_at - timedelta(hours=3))
        sup, op = make_user(ctx, "supervisor", totp=True), make_user(ctx, "operator", totp=True)
        out = {"project": project.trade_code, "code": w.trade.lot_code, "sup": sup.username,
               "sup_secret": sup.totp_secret, "op": op.username, "op_secret": op.totp_secret}
        db.session.commit()
        db.session.remove()
    return out


def test_supervisor_and_centre_lists(browser, live_server, world, request, problems):
    page = _new_page(browser, live_server, DESKTOP, request, problems)
    login(page, live_server, world["sup"], password=DEFAULT_PASSWORD, totp_secret=world["sup_secret"])
    page.goto("/supervise/")
    expect(page.get_by_test_id("time-limits-red-count")).to_contain_text("2")
    expect(page.get_by_test_id("time-limits-yellow-count")).to_contain_text("1")
    shot(page, "timelimits-01-supervisor-dashboard")
    page.get_by_role("link", name="查看超时清单").click()
    rows = page.get_by_test_id("step-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-light", "red")
    expect(rows.nth(2)).to_have_attribute("data-code", world["code"])
    shot(page, "timelimits-02-supervisor-list")
    page.get_by_label("灯号", exact=True).select_option("yellow")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_test_id("step-row")).to_have_count(1)
    logout(page)

    login(page, live_server, world["op"], password=DEFAULT_PASSWORD, totp_secret=world["op_secret"])
    page.get_by_role("link", name="限时办结").first.click()
    expect(page.get_by_test_id("step-row")).to_have_count(3)
    page.goto("/time-limits/?light=all")
    shot(page, "timelimits-03-centre-list-all")
