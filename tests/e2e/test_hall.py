"""(hall) The remote opening hall in Chromium: a bidder's hall shows the server clock ticking and the
live connection; the host posts an announcement from another browser and it appears in the
bidder's hall without a reload; at the deadline the bidder checks in and the host's hall counts it
live; the custodians unlock and the record fills in on both pages without a reload. Screenshots on
a desktop and a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, PHONE, _new_page, login, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from tests.factories.custodians import add_offer, ensure_custodians
from tests.factories.notices import notice_project, published_notice
from trading.accounts.models import User
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningKey
from trading.procedures.common.opening.services import submit_share
from trading.procedures.common.participation.services import register_for_lot

pytestmark = pytest.mark.e2e


@pytest.fixture
def hall_world(live_server):
    """A published tender lot with two registered bidders, its owner and a host (operator)."""
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        owner = make_user(ctx, "owner", username="hallowner")
        project = notice_project(ctx, owner, procedure="tender", name="示范县城南片区雨污分流改造工程")
        published_notice(actor_ctx(db.session, live_server.clock, owner), project)
        trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
        a = make_user(ctx, "bidder", username="hallbidder", display_name="王经理")
        b = make_user(ctx, "bidder", username="hallbidder2")
        for bidder in (a, b):
            register_for_lot(actor_ctx(db.session, live_server.clock, bidder), trade.lot_code)
        host = make_user(ctx, "operator", username="hallhost", totp=True, display_name="开标主持人")
        key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
        for bidder, price in ((a, 98_765_400), (b, 99_100_000), (None, 97_000_000)):
            add_offer(ctx, trade, key, price_fen=price, bidder=bidder)
        holders = {s.custodian_user_id for s in key.shares}
        custodians = [(u.id, p) for u, p in ensure_custodians(ctx) if u.id in holders][:key.k]
        world = {"code": trade.lot_code, "deadline": trade.deadline_at, "host_secret": host.totp_secret,
                 "a_org": a.organisation.name, "custodians": custodians}
        db.session.commit()
        db.session.remove()
    return world


def _clock_text(page) -> str:
    return page.get_by_test_id("hall-clock").inner_text()


def test_hall_is_live_in_the_browser(browser, live_server, hall_world, request, problems):
    code = hall_world["code"]
    bidder = _new_page(browser, live_server, DESKTOP, request, problems)
    login(bidder, live_server, "hallbidder", password=DEFAULT_PASSWORD)
    bidder.goto(f"/opening/{code}/hall")
    expect(bidder.get_by_test_id("hall-conn")).to_have_attribute("data-state", "live")
    expect(bidder.get_by_test_id("hall-stage")).to_have_text("等待开标")
    expect(bidder.get_by_test_id("hall-countdown")).to_contain_text("天")
    # the server clock ticks (the server's time, carried forward by the page each second)
    first = _clock_text(bidder)
    expect(bidder.get_by_test_id("hall-clock")).not_to_have_text(first, timeout=3000)
    bidder.evaluate("window.__noReload = true")

    host = _new_page(browser, live_server, DESKTOP, request, problems)
    login(host, live_server, "hallhost", password=DEFAULT_PASSWORD, totp_secret=hall_world["host_secret"])
    host.goto("/opening/")
    expect(host.get_by_test_id("opening-row")).to_contain_text(code)
    shot(host, "hall-00-openings")
    host.get_by_role("link", name="进入开标大厅").first.click()
    host.get_by_label("发布公告").fill("各位投标人：开标会议将于投标截止时间准时开始，请提前进入开标大厅。")
    host.get_by_test_id("post-message").click()
    expect(host.get_by_role("alert").filter(has_text="公告已发布")).to_be_visible()

    # the announcement reaches the bidder's open hall without a reload
    expect(bidder.get_by_test_id("hall-messages")).to_contain_text("开标会议将于投标截止时间准时开始", timeout=10_000)
    assert bidder.evaluate("window.__noReload") is True
    expect(bidder.get_by_test_id("hall-checkins")).to_have_count(0)   # no counts before the deadline
    shot(bidder, "hall-01-bidder-before-deadline")
    shot(host, "hall-02-host-before-deadline")

    # the deadline passes: the bidder's hall opens check-in; its check-in reaches the host live
    live_server.clock.set(hall_world["deadline"] + timedelta(seconds=30))
    host.reload()
    expect(host.get_by_test_id("hall-conn")).to_have_attribute("data-state", "live")
    expect(host.get_by_test_id("hall-checkins")).to_have_text("0")
    host.evaluate("window.__noReload = true")
    bidder.reload()
    bidder.get_by_test_id("checkin-button").click()
    expect(bidder.get_by_test_id("checked-in")).to_be_visible()
    expect(host.get_by_test_id("hall-checkins")).to_have_text("1", timeout=10_000)
    expect(host.locator("[data-hall-attendees]")).to_contain_text(hall_world["a_org"])
    assert host.evaluate("window.__noReload") is True
    expect(host.get_by_test_id("hall-stage")).to_have_text("密钥保管人解密授权")
    shot(host, "hall-03-host-after-check-in")
    shot(bidder, "hall-04-bidder-checked-in")

    # the custodians unlock (k of n); the envelopes open and the record fills in, live
    with live_server.app.app_context():
        for i, (user_id, passphrase) in enumerate(hall_world["custodians"], start=1):
            user = db.session.get(User, user_id)
            submit_share(actor_ctx(db.session, live_server.clock, user), code, passphrase)
            db.session.commit()
            if i == 1:
                expect(host.locator("[data-hall-custody-accepted]")).to_have_text("1", timeout=10_000)
        db.session.remove()
    expect(bidder.get_by_test_id("record-table")).to_contain_text("987,654.00", timeout=10_000)
    expect(bidder.get_by_test_id("record-row")).to_have_count(3)
    expect(bidder.get_by_test_id("hall-stage")).to_have_text("开标记录确认")
    expect(host.get_by_test_id("record-summary")).to_contain_text("有效投标 3 家")
    expect(host.get_by_test_id("record-link")).to_be_visible()
    expect(bidder.get_by_test_id("record-respond-link")).to_be_visible()
    assert host.evaluate("window.__noReload") is True
    shot(bidder, "hall-05-bidder-record")

    phone = _new_page(browser, live_server, PHONE, request, problems)
    login(phone, live_server, "hallbidder2", password=DEFAULT_PASSWORD)
    phone.goto(f"/opening/{code}/hall")
    expect(phone.get_by_test_id("hall-conn")).to_have_attribute("data-state", "live")
    expect(phone.get_by_test_id("record-row")).to_have_count(3)
    expect(phone.get_by_test_id("checkin-button")).to_have_count(0)  # the opening is over
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the hall overflows a phone: {width}px"
    shot(phone, "hall-06-phone-record")
