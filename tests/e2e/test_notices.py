"""(4) The owner drafts an announcement for an accepted project; the preview refuses a deadline that
breaks the statutory period and proposes a compliant one; with the deadline moved the owner
publishes, and the notice shows on the public portal."""


import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, shot

pytestmark = pytest.mark.e2e

PROJECT = "示范县全民健康信息平台运维服务"     # accepted in the demo county, no notice yet
TITLE = "示范县全民健康信息平台运维服务竞争性谈判公告"


def test_owner_publishes_a_notice_that_then_shows_on_the_portal(page, demo_server):
    login(page, demo_server, "health")
    page.get_by_role("link", name="公告管理").click()
    page.get_by_role("link", name="新建公告").click()
    project = page.get_by_label("项目", exact=True)
    project.select_option(project.locator("option", has_text=PROJECT).get_attribute("value"))
    page.get_by_label("公告类型").select_option(value="announcement")
    page.get_by_label("公告标题").fill(TITLE)
    page.get_by_label("公告正文").fill("一、项目概况\n全民健康信息平台运维服务，服务期一年。\n\n二、获取文件\n请登录本平台免费获取谈判文件。")
    # the server is at Tuesday 10 November 09:00: Thursday is only two working days away
    page.get_by_label("投标（响应）截止").fill("2026-11-12T09:30")
    page.get_by_label("开标（活动开始）").fill("2026-11-12T09:30")
    page.get_by_label("开标（活动）地点").fill("示范县公共资源交易中心第二开标室")
    page.get_by_role("button", name="保存草稿并预览").click()

    checks = page.get_by_test_id("checks")
    expect(checks.locator("[data-code='period.negotiation_response']")).to_be_visible()
    expect(checks).to_contain_text("74号")
    expect(checks).to_contain_text("2026年11月13日")          # the earliest compliant day proposed
    shot(page, "04-notice-preview-refused")

    page.get_by_role("link", name="修改", exact=True).click()
    page.get_by_label("投标（响应）截止").fill("2026-11-17T09:30")
    page.get_by_label("开标（活动开始）").fill("2026-11-17T09:30")
    page.get_by_role("button", name="保存草稿并预览").click()
    expect(page.get_by_test_id("checks")).to_contain_text("可以发布")
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_role("alert").filter(has_text="公告已发布")).to_be_visible()
    shot(page, "04-notice-published")

    page.get_by_role("link", name="在门户查看").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_test_id("timeline")).to_contain_text("2026-11-17 09:30")

    page.goto("/notices?trade_type=procurement")
    first = page.get_by_test_id("notice-row").first
    expect(first).to_contain_text(TITLE)                      # the newest notice comes first
    expect(first).to_contain_text("报名中")
    shot(page, "04-portal-list-with-new-notice")
