"""Issue 4's journey "a 比选 with 2 applicants that fails and is re-announced" in headless Chromium.

Set-up through factories and services (not the point): an accepted 比选 project with its published
announcement, two bidders with sealed price sheets, the custodians' opening at the deadline — 2 valid
offers < 3, so the opening itself records 流标. Through the pages: the owner opens the stage page and
sees the lot failed with the steps offered, follows 发布重新公告, fills and publishes the new
announcement (deadline 12 days on, meeting the 比选 period), and sees the old attempt re-announced with
a link to the next attempt <code>-A2, whose page shows it accepting with its new deadline; the public
portal lists the new announcement. Desktop and phone screenshots of the stage page before and after."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, PHONE, _new_page, login, logout, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_org, make_user
from tests.factories.custodians import add_offer, ensure_custodians
from tests.factories.notices import bj_at, notice_project, published_notice
from trading.accounts.models import User
from trading.core.clock import to_beijing
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningKey, OpeningRecord
from trading.procedures.common.opening.services import submit_share
from trading.procedures.common.stages import next_cycle_code

pytestmark = pytest.mark.e2e

PROJECT = "示范县白鹤镇农村饮水安全巩固提升工程"
NEW_TITLE = f"{PROJECT}比选公告（第二次）"


def _no_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} overflows: {width}px"


@pytest.fixture
def failed_selection(live_server):
    """A published 比选 lot with two sealed offers, opened by the custodians at the deadline: 流标."""
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        owner = make_user(ctx, "owner", username="reowner", display_name="白鹤镇人民政府")
        project = notice_project(ctx, owner, procedure="selection", name=PROJECT)
        published_notice(actor_ctx(db.session, live_server.clock, owner), project)
        trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
        key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
        for name, price in (("四川甲水利工程有限公司", 98_000_000), ("四川乙市政建设有限公司", 99_500_000)):
            add_offer(ctx, trade, key, price_fen=price,
                      bidder=make_user(ctx, "bidder", org=make_org(ctx, "bidder", name=name)))
        holders = {s.custodian_user_id for s in key.shares}
        custodians = [(u.id, p) for u, p in ensure_custodians(ctx) if u.id in holders][:key.k]
        world = {"code": trade.lot_code, "lot_id": trade.lot_id, "project_id": project.id}
        db.session.commit()
        live_server.clock.set(trade.deadline_at + timedelta(minutes=5))
        for user_id, passphrase in custodians:
            submit_share(actor_ctx(db.session, live_server.clock, db.session.get(User, user_id)), world["code"],
                         passphrase)
            db.session.commit()
        trade = db.session.get(LotTrade, world["lot_id"])
        record = db.session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one()
        assert trade.status == "failed" and (record.outcome, record.valid_offers) == ("failed", 2)
        db.session.remove()
    live_server.clock.advance(days=1)
    return world


def _stage_shots(browser, live_server, request, problems, code: str, name: str) -> None:
    phone = _new_page(browser, live_server, PHONE, request, problems)
    login(phone, live_server, "reowner", password=DEFAULT_PASSWORD)
    phone.goto(f"/stages/{code}")
    expect(phone.get_by_test_id("lot-status")).to_be_visible()
    shot(phone, f"{name}-phone")
    _no_overflow(phone)


def test_selection_with_two_applicants_fails_and_is_reannounced(browser, live_server, failed_selection,
                                                                 request, problems):
    code, project_id = failed_selection["code"], failed_selection["project_id"]
    new_code = next_cycle_code(code, 2)
    owner = _new_page(browser, live_server, DESKTOP, request, problems)
    login(owner, live_server, "reowner", password=DEFAULT_PASSWORD)

    # --- the failed attempt: 流标, the steps offered -----------------------------------------------
    owner.goto(f"/stages/{code}")
    expect(owner.get_by_test_id("lot-status")).to_have_attribute("data-status", "failed")
    expect(owner.get_by_test_id("lot-status")).to_have_text("流标")
    actions = owner.get_by_test_id("stage-actions")
    expect(actions.locator("[data-action='reannounce']")).to_be_visible()
    expect(actions.locator("[data-action='cancel']")).to_be_visible()
    expect(owner.get_by_test_id("stage-history")).to_contain_text("流标")
    shot(owner, "reannounce-01-stage-failed")
    _no_overflow(owner)
    _stage_shots(browser, live_server, request, problems, code, "reannounce-02-stage-failed")

    # --- the re-announcement through the notice form ----------------------------------------------
    actions.get_by_role("link", name="发布重新公告").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("新建公告")
    expect(owner.get_by_label("项目")).to_have_value(str(project_id))
    now = live_server.clock.now()
    deadline = to_beijing(bj_at(now, 12))
    owner.get_by_label("公告类型").select_option("announcement")
    owner.get_by_label("公告标题").fill(NEW_TITLE)
    owner.get_by_label("公告正文").fill(f"一、项目概况\n项目名称：{PROJECT}\n\n二、说明\n前次比选因有效响应不足三家流标，现重新公告。")
    owner.get_by_label("投标（响应）截止").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    owner.get_by_label("开标（活动开始）").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    owner.get_by_role("button", name="保存草稿并预览").click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text(NEW_TITLE)
    expect(owner.get_by_test_id("publish-blocked")).to_have_count(0)
    owner.get_by_test_id("publish").click()
    expect(owner.get_by_role("alert").filter(has_text="公告已发布")).to_be_visible()

    # --- back on the stage page: re-announced, linked to the next attempt -------------------------
    owner.goto(f"/stages/{code}")
    expect(owner.get_by_test_id("lot-status")).to_have_attribute("data-status", "reannounced")
    expect(owner.get_by_test_id("lot-status")).to_have_text("已重新公告")
    expect(owner.get_by_test_id("stage-history")).to_contain_text("重新公告")
    expect(owner.get_by_test_id("stage-actions")).to_have_count(0)
    shot(owner, "reannounce-03-stage-reannounced")
    _no_overflow(owner)
    _stage_shots(browser, live_server, request, problems, code, "reannounce-04-stage-reannounced")
    owner.get_by_role("link", name=new_code).click()
    expect(owner).to_have_url(re.compile(rf"/stages/{re.escape(new_code)}$"))
    expect(owner.get_by_test_id("lot-status")).to_have_attribute("data-status", "accepting")
    expect(owner.locator("main header")).to_contain_text("第 2 次公告")
    expect(owner.get_by_test_id("lot-deadline")).to_contain_text(deadline.strftime("%Y-%m-%d %H:%M"))
    expect(owner.get_by_role("link", name=code)).to_be_visible()        # back to the failed attempt
    shot(owner, "reannounce-05-stage-next-attempt")
    _no_overflow(owner)
    with live_server.app.app_context():
        new = db.session.execute(select(LotTrade).where(LotTrade.lot_code == new_code)).scalar_one()
        assert (new.status, new.cycle, new.previous_lot_id) == ("accepting", 2, failed_selection["lot_id"])
        assert new.deadline_at == bj_at(now, 12)
        assert db.session.get(LotTrade, failed_selection["lot_id"]).status == "reannounced"
        db.session.remove()

    # --- the public portal lists the new announcement ---------------------------------------------
    logout(owner)
    owner.goto("/notices")
    expect(owner.get_by_test_id("notice-row").filter(has_text=NEW_TITLE)).to_have_count(1)
    owner.get_by_test_id("notice-row").filter(has_text=NEW_TITLE).get_by_role("link").first.click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text(NEW_TITLE)
    expect(owner.locator("main")).to_contain_text(deadline.strftime("%Y-%m-%d %H:%M"))
    shot(owner, "reannounce-06-portal-new-announcement")
