"""(auction) Two buyers in two Chromium contexts bid against each other in a 挂牌 (land listing) that
goes to the timed phase: both opt in from the lot page, both rooms show every accepted bid live, the
two-step confirmation shows the 大写 and the jump and warns on a fat-finger jump, the countdown runs on
the server's clock (the live server's clock is moved, nothing sleeps beyond SSE delivery) and restarts
after a bid, the close makes the sale and the winner downloads the 成交确认书 (read with pypdf).
Screenshots on a desktop and a phone."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import DESKTOP, PHONE, _new_page, login, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_user
from tests.factories.auctions import Buyer, auction_lot, pay_deposit
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.auction import services
from trading.procedures.auction.models import Auction

pytestmark = pytest.mark.e2e


@pytest.fixture
def listing(live_server):
    """A land listing (起始价 80万, 加价幅度 1万) with two qualified buyers (deposits paid), started."""
    live_server.app.config["SSE_HEARTBEAT_SECONDS"] = 1  # the tick carries the server time each second
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        w = auction_lot(ctx, buyers=0, subject_ref="城东2026-07号", location="示范县城东新区滨河路北侧",
                        area_m2="6666.67", land_use="城镇住宅用地", term_years=70, plot_ratio="1.0–2.5")
        for name in ("buyer_a", "buyer_b"):
            user = make_user(ctx, "bidder", username=name)
            b = Buyer(user, actor_ctx(db.session, live_server.clock, user))
            b.app, _ = services.apply(b.ctx, w.code)
            pay_deposit(w, b)
            services.qualify(w.c_op, b.app.id)
            w.buyers.append(b)
        sup = make_user(ctx, "supervisor", username="sup_a", totp=True, display_name="监督员")
        live_server.clock.set(w.auction.start_at)
        services.start_bidding(w.c_op, w.code)
        world = {"code": w.code, "lot_id": w.auction.lot_id, "free_until": w.auction.free_until,
                 "op": w.c_op.actor, "nos": [b.app.bidder_no for b in w.buyers],
                 "sup_secret": sup.totp_secret}
        db.session.commit()
        db.session.remove()
    return world


def _host(live_server, world, step):
    """The centre's scheduler step (flask auction tick does the same) at the live server's time."""
    with live_server.app.app_context():
        c = ServiceContext(session=db.session, actor=world["op"], clock=live_server.clock)
        step(c, world["code"])
        a = db.session.get(Auction, world["lot_id"])
        out = (a.phase, a.outcome, a.deadline)
        db.session.commit()
        db.session.remove()
    return out


def _bid(page, *, quick: int | None = None, amount: str | None = None):
    if quick is not None:
        page.get_by_test_id(f"quick-{quick}").click()
    else:
        page.get_by_test_id("bid-amount").fill(amount)
        page.get_by_test_id("bid-submit").click()
    expect(page.get_by_test_id("bid-dialog")).to_be_visible()


def _rows(page, n: int):
    expect(page.get_by_test_id("room-history").locator("tr[data-seq]")).to_have_count(n, timeout=10_000)


def test_two_buyers_bid_through_the_timed_phase(browser, live_server, listing, request, problems):
    code = listing["code"]
    a = _new_page(browser, live_server, DESKTOP, request, problems)
    b = _new_page(browser, live_server, DESKTOP, request, problems)
    login(a, live_server, "buyer_a", password=DEFAULT_PASSWORD)
    login(b, live_server, "buyer_b", password=DEFAULT_PASSWORD)
    sup = _new_page(browser, live_server, DESKTOP, request, problems)
    login(sup, live_server, "sup_a", password=DEFAULT_PASSWORD, totp_secret=listing["sup_secret"])

    # both opt in to the timed phase from the lot page (the 挂牌 is open)
    a.goto(f"/auctions/{code}")
    expect(a.get_by_test_id("deposit-account")).to_contain_text("人民币壹拾陆万元整")
    expect(a.get_by_test_id("qualification-pdf")).to_be_visible()
    shot(a, "auction-01-lot-buyer")
    for page in (a, b):
        if page is b:
            page.goto(f"/auctions/{code}")
        page.get_by_test_id("opt-in-button").click()
        expect(page.get_by_test_id("auction-room")).to_be_visible()
        expect(page.get_by_test_id("room-conn")).to_have_attribute("data-state", "live")
    expect(a.get_by_test_id("room-offset")).to_contain_text("已与服务器校时")
    expect(a.get_by_test_id("my-status")).to_have_text("尚未报价")
    for page in (a, b):
        page.evaluate("window.__noReload = true")

    # A: +1× (the first bid is the starting price); the dialog shows the 大写 and the jump
    _bid(a, quick=1)
    expect(a.get_by_test_id("confirm-capitals")).to_have_text("人民币捌拾万元整")
    expect(a.get_by_test_id("confirm-large")).to_be_hidden()
    a.get_by_test_id("confirm-ok").click()
    expect(a.get_by_test_id("bid-result")).to_contain_text("报价成功")
    for page in (a, b):
        _rows(page, 1)
        expect(page.get_by_test_id("room-price")).to_have_text("¥800,000.00")
    expect(a.get_by_test_id("my-status")).to_have_text("我领先")

    # B: the fat finger (810万 typed for 81万) is warned; cancelled, nothing sent; then the right amount
    _bid(b, amount="8100000")
    expect(b.get_by_test_id("confirm-large")).to_be_visible()
    expect(b.get_by_test_id("confirm-capitals")).to_have_text("人民币捌佰壹拾万元整")
    shot(b, "auction-02-large-jump-warning")
    b.get_by_test_id("confirm-cancel").click()
    _bid(b, amount="810000")
    expect(b.get_by_test_id("confirm-jump")).to_contain_text("加价 1 个幅度")
    b.get_by_test_id("confirm-ok").click()
    for page in (a, b):
        _rows(page, 2)
        expect(page.get_by_test_id("room-price")).to_have_text("¥810,000.00")
    expect(a.get_by_test_id("my-status")).to_have_text("已被超越", timeout=10_000)
    expect(b.get_by_test_id("my-status")).to_have_text("我领先")

    # the listing closes: both continue, the timed phase starts with a 5-minute countdown
    live_server.clock.set(listing["free_until"])
    phase, _, deadline = _host(live_server, listing, services.end_free_phase)
    assert phase == "timed" and deadline == listing["free_until"] + timedelta(minutes=5)
    for page in (a, b):
        expect(page.get_by_test_id("room-phase")).to_have_text("限时竞价", timeout=10_000)
        expect(page.get_by_test_id("room-countdown")).to_have_text(re.compile(r"00:0(5:00|4:5\d)"))
    # three minutes later (the live server's clock): the countdown follows the server's time
    live_server.clock.advance(minutes=3)
    for page in (a, b):
        expect(page.get_by_test_id("room-countdown")).to_have_text(re.compile(r"00:0(2:00|1:5\d)"), timeout=10_000)
    shot(a, "auction-03-timed-before-bid")

    # A bids +2×: the countdown restarts at 5 minutes on both pages
    _bid(a, quick=2)
    expect(a.get_by_test_id("confirm-capitals")).to_have_text("人民币捌拾叁万元整")
    a.get_by_test_id("confirm-ok").click()
    for page in (a, b):
        _rows(page, 3)
        expect(page.get_by_test_id("room-price")).to_have_text("¥830,000.00")
        expect(page.get_by_test_id("room-countdown")).to_have_text(re.compile(r"00:0(5:00|4:5\d)"), timeout=10_000)
    expect(b.get_by_test_id("my-status")).to_have_text("已被超越", timeout=10_000)
    history = b.get_by_test_id("room-history").inner_text()
    assert listing["nos"][0] not in history and listing["nos"][1] not in history and "****" in history
    for page in (a, b):
        assert page.evaluate("window.__noReload") is True  # everything arrived live
    shot(a, "auction-04-timed-leading")
    shot(b, "auction-05-timed-outbid")

    # a supervisor pauses the trade with a reason: both rooms show it live, the countdown freezes
    sup.goto(f"/auctions/{code}/room")
    expect(sup.get_by_test_id("bid-form")).to_have_count(0)
    sup.get_by_label("理由（审计留痕）").fill("竞买人反映网络异常，暂停核查")
    sup.get_by_test_id("pause-button").click()
    expect(sup.get_by_test_id("paused-banner")).to_be_visible()
    shot(sup, "auction-05b-supervisor-paused")
    for page in (a, b):
        expect(page.get_by_test_id("paused-banner")).to_be_visible(timeout=10_000)
        expect(page.get_by_test_id("paused-banner")).to_contain_text("竞买人反映网络异常")
        expect(page.get_by_test_id("quick-1")).to_be_disabled()
    frozen = a.get_by_test_id("room-countdown").inner_text()
    live_server.clock.advance(minutes=10)  # paused: the time left does not run
    expect(a.get_by_test_id("room-countdown")).to_have_text(frozen)
    expect(a.locator("[data-room-deadline]")).to_have_text("暂停中，恢复后按剩余时间继续")
    shot(b, "auction-05c-buyer-paused")
    sup.get_by_label("理由（审计留痕）").fill("核查完毕，恢复交易")
    sup.get_by_test_id("resume-button").click()
    for page in (a, b):
        expect(page.get_by_test_id("paused-banner")).to_be_hidden(timeout=10_000)
        expect(page.get_by_test_id("quick-1")).to_be_enabled()
        expect(page.get_by_test_id("room-countdown")).to_have_text(re.compile(r"00:0(5:00|4:5\d)"), timeout=10_000)
    for page in (a, b):
        assert page.evaluate("window.__noReload") is True

    phone = _new_page(browser, live_server, PHONE, request, problems)
    login(phone, live_server, "buyer_b", password=DEFAULT_PASSWORD)
    phone.goto(f"/auctions/{code}/room")
    expect(phone.get_by_test_id("room-conn")).to_have_attribute("data-state", "live")
    _rows(phone, 3)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the room overflows a phone: {width}px"
    shot(phone, "auction-06-phone-room")

    # the countdown runs out: sold to A; the pages switch to the outcome by themselves
    with live_server.app.app_context():
        end = db.session.get(Auction, listing["lot_id"]).deadline
        db.session.remove()
    live_server.clock.set(end)
    phase, outcome, _ = _host(live_server, listing, services.close_timed_phase)
    assert (phase, outcome) == ("ended", "sold")
    expect(a.get_by_test_id("outcome")).to_contain_text("成交", timeout=10_000)
    expect(a.get_by_test_id("my-status")).to_have_text("本单位竞得")
    expect(b.get_by_test_id("my-status")).to_have_text("未竞得", timeout=10_000)
    expect(b.get_by_test_id("outcome")).to_be_visible(timeout=10_000)
    expect(b.get_by_test_id("confirmation-pdf")).to_have_count(0)
    shot(a, "auction-07-sold-winner")
    with a.expect_download() as info:
        a.get_by_test_id("confirmation-pdf").click()
    data = open(info.value.path(), "rb").read()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "成交确认书" in text and "人民币捌拾叁万元整" in text and "830,000.00" in text
    assert "城东2026-07号" in text and "6666.67" in text
    shot(phone, "auction-08-phone-after")
    phone.goto(f"/auctions/{code}/room?lang=en")
    expect(phone.get_by_test_id("outcome")).to_contain_text("Outcome")
    expect(phone.get_by_test_id("my-status")).to_have_text("Not won")
    expect(phone.get_by_test_id("room-phase")).to_have_text("Ended")
    expect(phone.get_by_test_id("outcome")).not_to_contain_text("成交")
    shot(phone, "auction-08b-phone-after-en")


def test_the_owner_seals_the_reserve_in_the_browser(browser, live_server, request, problems):
    """The seller enters the 底价 on the setup page: sealed in Chromium to the lot's opening key, never
    sent in plain text; write-once; after bidding ends the custodians open it and it decides (流拍 here:
    the only bid is below it); the page then shows the opened amount."""
    from types import SimpleNamespace

    from tests.factories.auctions import START, open_reserve_by_custodians
    from tests.factories.custodians import ensure_custodians
    from trading.accounts.models import User
    from trading.procedures.auction import reserve

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        ensure_custodians(ctx)
        seller = make_user(ctx, "owner", username="seller_a")
        w = auction_lot(ctx, buyers=1, owner=seller)
        code, lot_id, op, buyer = w.code, w.auction.lot_id, w.c_op.actor, w.buyers[0].user.id
        db.session.commit()
        db.session.remove()

    page = _new_page(browser, live_server, DESKTOP, request, problems)
    login(page, live_server, "seller_a", password=DEFAULT_PASSWORD)
    page.goto(f"/auctions/{code}/setup")
    page.get_by_test_id("reserve-amount").fill("850000")
    expect(page.get_by_test_id("reserve-capitals")).to_have_text("人民币捌拾伍万元整")
    page.get_by_test_id("reserve-check").check()
    shot(page, "auction-09-reserve-entry")
    page.get_by_test_id("save-reserve").click()
    expect(page.get_by_test_id("reserve-set")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("reserve-form")).to_have_count(0)  # write-once
    assert "850" not in page.get_by_test_id("reserve-card").inner_text()
    shot(page, "auction-10-reserve-sealed")

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        assert reserve.reserve_status(ctx, code)["status"] == "sealed"
        a = db.session.get(Auction, lot_id)
        assert a.reserve_fen is None  # nothing in plain text before the opening
        c_op = ServiceContext(session=db.session, actor=op, clock=live_server.clock)
        live_server.clock.set(a.start_at)
        services.start_bidding(c_op, code)
        c_buyer = actor_ctx(db.session, live_server.clock, db.session.get(User, buyer))
        assert services.place_bid(c_buyer, code, answers_price=START, amount_fen=START, client_bid_id="r1").accepted
        live_server.clock.set(a.free_until)
        services.end_free_phase(c_op, code)
        open_reserve_by_custodians(SimpleNamespace(ctx=ctx, clock=live_server.clock, code=code,
                                                   auction=SimpleNamespace(lot_id=lot_id)))
        db.session.expire_all()
        a = db.session.get(Auction, lot_id)
        assert (a.reserve_fen, a.outcome, a.basis) == (85_000_000, "no_sale", "below_reserve")
        db.session.commit()
        db.session.remove()
    page.reload()
    expect(page.get_by_test_id("reserve-card")).to_contain_text("850,000.00")
    page.goto(f"/auctions/{code}")
    expect(page.get_by_test_id("no-sale")).to_contain_text("重新公告挂牌")
    expect(page.get_by_test_id("no-sale")).to_contain_text("最高报价低于底价")
    shot(page, "auction-11-no-sale-owner")


def test_a_reconnect_misses_no_bid(browser, live_server, listing, request, problems):
    """The server ends each stream after 2 s; bids accepted while the browser is reconnecting reach the
    page after the reconnect (Last-Event-ID), in order, without a reload."""
    live_server.app.config["SSE_MAX_SECONDS"] = 2
    code = listing["code"]
    a = _new_page(browser, live_server, DESKTOP, request, problems)
    login(a, live_server, "buyer_a", password=DEFAULT_PASSWORD)
    a.goto(f"/auctions/{code}/room")
    conn = a.get_by_test_id("room-conn")
    expect(conn).to_have_attribute("data-state", "live")
    a.evaluate("window.__noReload = true")
    expect(conn).to_have_attribute("data-state", "retry", timeout=10_000)  # the stream ended; reconnecting
    with live_server.app.app_context():
        from trading.accounts.models import User
        ctxs = {n: actor_ctx(db.session, live_server.clock, db.session.execute(
            db.select(User).where(User.username == n)).scalar_one()) for n in ("buyer_a", "buyer_b")}
        price = 80_000_000
        for i, (who, amount) in enumerate((("buyer_b", 80_000_000), ("buyer_a", 81_000_000), ("buyer_b", 83_000_000))):
            r = services.place_bid(ctxs[who], code, answers_price=price, amount_fen=amount, client_bid_id=f"rc{i}")
            assert r.accepted, r.reason
            price = amount
            db.session.commit()
        db.session.remove()
    _rows(a, 3)
    expect(a.get_by_test_id("room-price")).to_have_text("¥830,000.00", timeout=15_000)
    expect(a.get_by_test_id("my-status")).to_have_text("已被超越")
    mine = a.get_by_test_id("room-history").locator('tr[data-seq="2"]')
    expect(mine).to_contain_text("本单位")
    expect(conn).to_have_attribute("data-state", "live", timeout=15_000)
    assert a.evaluate("window.__noReload") is True


def test_opt_in_window_and_an_adjusted_increment(browser, live_server, listing, request, problems):
    """汕头: both bid during the listing, nobody asked to continue; at the close the rooms switch to the
    opt-in window with its countdown, both click 参加限时竞价, the window ends in the timed phase. The
    host raises the increment from the room: both rooms show it live and the next +1× uses it."""
    from tests.factories.accounts import make_user as mk

    code = listing["code"]
    a = _new_page(browser, live_server, DESKTOP, request, problems)
    b = _new_page(browser, live_server, PHONE, request, problems)
    login(a, live_server, "buyer_a", password=DEFAULT_PASSWORD)
    login(b, live_server, "buyer_b", password=DEFAULT_PASSWORD)
    with live_server.app.app_context():
        op_user = mk(ServiceContext(session=db.session, clock=live_server.clock), "operator", username="host_a", totp=True)
        op_secret = op_user.totp_secret
        db.session.commit()
        db.session.remove()
    host = _new_page(browser, live_server, DESKTOP, request, problems)
    login(host, live_server, "host_a", password=DEFAULT_PASSWORD, totp_secret=op_secret)
    for page, quick in ((a, 1), (b, 1)):
        page.goto(f"/auctions/{code}/room")
        expect(page.get_by_test_id("room-conn")).to_have_attribute("data-state", "live")
        _bid(page, quick=quick)
        page.get_by_test_id("confirm-ok").click()
        expect(page.get_by_test_id("bid-result")).to_contain_text("报价成功")
    _rows(a, 2)

    live_server.clock.set(listing["free_until"])
    phase, _, deadline = _host(live_server, listing, services.tick)
    assert phase == "opt_in" and deadline == listing["free_until"] + timedelta(minutes=5)
    for page in (a, b):
        expect(page.get_by_test_id("opt-in-button")).to_be_visible(timeout=10_000)
        expect(page.get_by_test_id("room-countdown")).to_have_text(re.compile(r"00:0(5:00|4:5\d)"), timeout=10_000)
        expect(page.get_by_test_id("bid-form")).to_have_count(0)
        expect(page.get_by_test_id("reserve-statement")).to_contain_text("未设底价")
    shot(a, "auction-20-opt-in-window")
    shot(b, "auction-21-opt-in-window-phone")
    live_server.clock.advance(minutes=2)
    for page in (a, b):
        page.get_by_test_id("opt-in-button").click()
        expect(page.get_by_test_id("opted-in")).to_be_visible()
    expect(a.get_by_test_id("room-countdown")).to_have_text(re.compile(r"00:0(3:00|2:5\d)"), timeout=10_000)
    live_server.clock.advance(minutes=3)
    phase, _, _ = _host(live_server, listing, services.tick)
    assert phase == "timed"
    for page in (a, b):
        expect(page.get_by_test_id("bid-form")).to_be_visible(timeout=10_000)
        expect(page.get_by_test_id("room-phase")).to_have_text("限时竞价")

    host.goto(f"/auctions/{code}/room")
    host.get_by_label("新加价幅度（元）").fill("20000")
    host.get_by_test_id("adjust-increment").get_by_label("理由（审计留痕）").fill("竞价激烈，提高加价幅度")
    host.get_by_test_id("adjust-increment-button").click()
    expect(host.get_by_test_id("room-increment")).to_have_text("20,000.00")
    shot(host, "auction-22-host-increment")
    for page in (a, b):
        expect(page.get_by_test_id("room-increment")).to_have_text("20,000.00", timeout=10_000)
        expect(page.get_by_test_id("bid-result")).to_contain_text("加价幅度已调整为 20,000.00 元")
    shot(a, "auction-23-increment-adjusted")
    _bid(a, quick=1)  # A was outbid by B (810,000): +1× is now 830,000
    expect(a.get_by_test_id("confirm-capitals")).to_have_text("人民币捌拾叁万元整")
    a.get_by_test_id("confirm-ok").click()
    for page in (a, b):
        _rows(page, 3)
        expect(page.get_by_test_id("room-price")).to_have_text("¥830,000.00")
