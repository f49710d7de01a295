"""(1) A visitor, without logging in, filters the notices by trade type and keyword, opens one and
sees its key-date timeline and the countdown to the next date; also the home page on a phone."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e

TITLE = "城区滨河路排水管网改造工程比选公告"


def test_visitor_filters_notices_and_opens_one(page, demo_server):
    page.goto("/")
    openings = page.get_by_test_id("openings")
    expect(openings).to_contain_text(TITLE)                      # its opening is today
    expect(openings).to_contain_text("示范县农村公路养护服务采购竞争性谈判公告")
    shot(page, "01-home-desktop")

    page.get_by_role("link", name="交易信息").first.click()
    expect(page.get_by_role("heading", name="交易信息")).to_be_visible()
    all_rows = page.get_by_test_id("notice-row").count()
    page.get_by_label("交易类型").select_option(label="工程建设")
    page.get_by_label("关键词").fill("排水")
    page.get_by_role("button", name="筛选").click()

    # the filters are in the address, so the search can be bookmarked and shared
    expect(page).to_have_url(re.compile(r"trade_type=engineering.*keyword=%E6%8E%92%E6%B0%B4|keyword=.*trade_type=engineering"))
    rows = page.get_by_test_id("notice-row")
    expect(rows).to_have_count(1)
    assert all_rows > 1
    expect(rows.first).to_contain_text("报名中")
    expect(rows.first.locator("[data-deadline]")).to_have_count(1)
    expect(page.get_by_label("交易类型")).to_have_value("engineering")
    shot(page, "01-notices-filtered")

    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li")).to_have_count(3)               # published → deadline → opening
    expect(timeline).to_contain_text("发布")
    expect(timeline).to_contain_text("开标")
    countdown = page.get_by_test_id("next-deadline").locator("[role=timer]")
    # the server is at 09:00 Beijing time and the deadline is 09:30: the script counts down from 30:00
    expect(countdown).to_have_text(re.compile(r"^(29|30):\d\d$"))
    expect(page.get_by_test_id("trade-code")).to_have_text(re.compile(r"^SFX-?\w+"))
    expect(page.locator(".notice-body")).to_contain_text("示范县城市建设投资有限公司")
    shot(page, "01-notice-detail-desktop")


def test_home_and_notice_on_a_phone(phone_page, demo_server):
    page = phone_page
    page.goto("/")
    expect(page.get_by_test_id("openings")).to_contain_text(TITLE)
    # the navigation collapses behind the toggler on a narrow screen
    expect(page.get_by_role("link", name="交易信息")).to_be_hidden()
    page.get_by_role("button", name="展开菜单").click()
    expect(page.get_by_role("link", name="交易信息").first).to_be_visible()
    shot(page, "01-home-phone")
    page.get_by_role("link", name=TITLE).first.click()
    expect(page.get_by_test_id("timeline")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the notice page scrolls sideways on a phone ({width}px)"
    shot(page, "01-notice-detail-phone")
    page.goto("/notices?status=open")
    expect(page.get_by_test_id("notice-row").first).to_contain_text("报名中")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the notice list scrolls sideways"
    shot(page, "01-notices-phone")
