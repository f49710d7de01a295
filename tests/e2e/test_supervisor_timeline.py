"""(supervision) A supervisor in Chromium: signs in with two-factor, finds a project in the list by its
trade code, opens its full record — the timeline from registration through the notice, the tender
documents (two versions with their SHA-256), the bidders' registrations and sealed offers (shown
because the deadline has passed) and the opening by the custodians — then sees the read in the
access log. Screenshots on a desktop and a phone."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, _new_page, login, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.participation import documents

pytestmark = pytest.mark.e2e


@pytest.fixture
def timeline_world(live_server):
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        ensure_custodians(ctx)
        owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
        octx = actor_ctx(db.session, live_server.clock, owner, ip="203.0.113.7")
        for body in (b"%PDF-1.4 first", b"%PDF-1.4 second, corrected"):
            documents.upload_tender_document(octx, trade.lot_code, title="比选文件", filename="bxwj.pdf",
                                             content_type="application/pdf", stream=io.BytesIO(body))
        for b, price in zip(registered_bidders(ctx, trade.lot_code, 3), (812_000_00, 845_000_00, 830_000_00),
                            strict=True):
            submit_price(b, trade.lot_code, price)
        live_server.clock.set(trade.deadline_at + timedelta(minutes=1))
        open_by_custodians(ctx, trade.lot_code)
        sup = make_user(ctx, "supervisor", username="timelinesup", totp=True, display_name="纪检监察员")
        world = {"code": trade.lot_code.rsplit("-", 1)[0], "lot": trade.lot_code, "sup_secret": sup.totp_secret}
        db.session.commit()
        db.session.remove()
    return world


def test_supervisor_reads_a_project_timeline(browser, live_server, timeline_world, request, problems):
    code = timeline_world["code"]
    page = _new_page(browser, live_server, DESKTOP, request, problems)
    login(page, live_server, "timelinesup", password=DEFAULT_PASSWORD, totp_secret=timeline_world["sup_secret"])
    page.goto("/supervise/")
    expect(page.get_by_test_id("today-openings")).to_contain_text(timeline_world["lot"])   # opened today
    shot(page, "supervision-timeline-00-dashboard")
    page.get_by_role("link", name="项目全过程记录").first.click()
    page.get_by_label("交易编号或项目名称").fill(code)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("project-list")).to_contain_text(code)
    page.get_by_role("link", name="查看时间线").click()
    expect(page).to_have_url(f"{live_server.url}/supervise/projects/{code}")

    items = page.locator(".timeline-item")
    expect(items.first).to_contain_text("项目登记")
    for step in ("公告发布", "招标文件发布", "投标人报名", "投标文件递交", "开标解密", "开标记录发布"):
        expect(page.get_by_test_id("timeline")).to_contain_text(step)
    docs = page.locator('[data-action="document.published"]')
    expect(docs).to_have_count(2)
    expect(docs.nth(0)).to_contain_text("第1版")
    expect(docs.nth(1)).to_contain_text("第2版")
    expect(docs.nth(1)).to_contain_text("203.0.113.7")
    expect(docs.nth(1).get_by_test_id("doc")).to_contain_text("SHA-256")
    seqs = [int(s) for s in items.evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs)
    shot(page, "supervision-timeline-01-desktop")
    page.screenshot(path=str(SCREENSHOTS / "supervision-timeline-01b-desktop-first-screen.png"))

    page.goto("/supervise/access-log")
    expect(page.get_by_test_id("access-log")).to_contain_text(f"/supervise/projects/{code}")
    expect(page.get_by_test_id("access-log")).to_contain_text("纪检监察员")
    shot(page, "supervision-timeline-02-access-log")

    phone = _new_page(browser, live_server, PHONE, request, problems)
    login(phone, live_server, "timelinesup", password=DEFAULT_PASSWORD, totp_secret=timeline_world["sup_secret"])
    phone.goto(f"/supervise/projects/{code}")
    expect(phone.get_by_test_id("timeline")).to_contain_text("开标记录发布")
    shot(phone, "supervision-timeline-03-phone")
    phone.screenshot(path=str(SCREENSHOTS / "supervision-timeline-04-phone-first-screen.png"))  # what one sees first
    assert problems.items == []
