"""(2) An owner registers a project — a form with a lot, the live 大写 amounts and the routing
preview — and submits it. (3) The operator (TOTP log-in) returns a submitted project with a comment;
the owner sees the comment, fixes the registration and resubmits; the operator accepts it."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, logout, shot
from trading.demo.people import demo_totp_secret

pytestmark = pytest.mark.e2e


def test_owner_registers_and_submits_a_project(page, demo_server):
    login(page, demo_server, "edu")
    page.get_by_role("link", name="我的项目").click()
    page.get_by_role("link", name="新建进场登记").click()
    expect(page.get_by_role("heading", name="新建进场登记")).to_be_visible()

    page.get_by_label("项目名称").fill("示范县第三中学食堂设备采购")
    page.get_by_label("审批/核准/备案文号").fill("示财采计〔2026〕130号")
    page.get_by_label("审批部门").fill("示范县财政局")
    page.get_by_label("项目类别").select_option(label="货物")
    page.get_by_label("项目所在地").select_option(label="城区")
    page.get_by_label("业主类型").select_option(value="gov")
    page.get_by_label("资金来源").select_option(label="县级财政资金")
    page.get_by_label("财政资金占比").fill("100")
    investment = page.get_by_label("项目总投资")
    investment.fill("650000")
    lot_name = page.get_by_label("标段（包）名称").first
    lot_budget = page.get_by_label("预算/最高限价（元）").first
    lot_name.fill("食堂厨房设备")
    lot_budget.fill("620,000.50")

    # the 大写 amounts follow the typing (the server shows the authoritative ones after saving)
    capitals = page.locator("#" + lot_budget.get_attribute("aria-describedby"))
    expect(capitals).to_have_text("人民币陆拾贰万元伍角整")
    expect(page.locator("#" + investment.get_attribute("aria-describedby").split()[0])).to_have_text("人民币陆拾伍万元整")
    shot(page, "02-register-form")

    page.get_by_role("button", name="检查进场路由").click()
    route = page.get_by_test_id("route")
    expect(route.locator("[data-must-enter=yes]")).to_be_visible()
    expect(route.locator("[data-allowed=inquiry]")).to_be_visible()
    expect(route).to_contain_text("政府采购")
    # the form keeps what was typed across the preview
    expect(page.get_by_label("项目名称")).to_have_value("示范县第三中学食堂设备采购")
    shot(page, "02-register-route-preview")

    page.get_by_label("拟采用的交易方式").select_option(value="inquiry")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="示范县第三中学食堂设备采购")).to_be_visible()
    expect(page.locator("[data-status=draft]")).to_be_visible()
    expect(page.get_by_test_id("budget")).to_contain_text("人民币陆拾贰万元伍角整")
    expect(page.get_by_test_id("lot")).to_have_count(1)

    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("[data-status=submitted]").first).to_be_visible()
    expect(page.get_by_test_id("trade-code")).to_have_text(re.compile(r"^SFX2026-HW-\d{4}$"))
    expect(page.get_by_test_id("review-step")).to_have_count(1)
    shot(page, "02-project-submitted")


def test_operator_returns_owner_fixes_operator_accepts(page, demo_server):
    name = "示范县第一小学运动场改造工程"          # submitted by the 教育局 in the demo county
    operator_secret = demo_totp_secret("operator1")

    login(page, demo_server, "operator1", totp_secret=operator_secret)
    page.get_by_role("link", name="进场审核").click()
    row = page.get_by_test_id("queue-row").filter(has_text=name)
    expect(row).to_have_count(1)
    shot(page, "03-review-queue")
    row.get_by_role("link", name=name).click()
    page.get_by_label("审核意见").fill("请补充运动场改造工程施工图审查合格意见，并说明看台改造是否涉及结构加固。")
    page.get_by_role("button", name="退回修改").click()
    expect(page.get_by_role("alert").filter(has_text="已退回修改")).to_be_visible()
    logout(page)

    login(page, demo_server, "edu")
    page.get_by_role("link", name="我的项目").click()
    page.get_by_role("link", name=name).click()
    comment = page.get_by_role("alert").filter(has_text="退回修改意见")
    expect(comment).to_contain_text("施工图审查合格意见")
    shot(page, "03-owner-sees-comment")
    page.get_by_role("link", name="修改", exact=True).click()
    page.get_by_label("项目概况").fill("塑胶跑道、人造草坪足球场改造；看台仅更换座椅，不涉及结构加固。已附施工图审查合格书。")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert").filter(has_text="修改已保存")).to_be_visible()
    page.get_by_label("提交说明").fill("已补充施工图审查合格书。")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("[data-status=submitted]").first).to_be_visible()
    logout(page)

    login(page, demo_server, "operator1", totp_secret=operator_secret)
    page.get_by_role("link", name="进场审核").click()
    page.get_by_test_id("queue-row").filter(has_text=name).get_by_role("link", name=name).click()
    expect(page.get_by_test_id("review-step").last).to_contain_text("已补充施工图审查合格书")
    page.get_by_role("button", name="受理", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="已受理")).to_be_visible()
    page.get_by_role("link", name="已受理").click()
    page.get_by_role("link", name=name).click()
    expect(page.locator("[data-status=accepted]")).to_be_visible()
    steps = page.get_by_test_id("review-step")
    expect(steps).to_have_count(4)
    assert [steps.nth(i).get_attribute("data-action") for i in range(4)] == [
        "submitted", "returned", "resubmitted", "accepted"]
    shot(page, "03-project-accepted")


def test_registration_form_and_review_queue_on_a_phone(phone_page, demo_server):
    page = phone_page
    login(page, demo_server, "edu")
    page.goto("/projects/new")
    page.get_by_label("预算/最高限价（元）").first.fill("1280000")
    expect(page.locator("#lots-0-budget-capitals")).to_have_text("人民币壹佰贰拾捌万元整")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the form scrolls sideways on a phone"
    shot(page, "02-register-form-phone")
    logout(page)
    login(page, demo_server, "operator1", totp_secret=demo_totp_secret("operator1"))
    page.goto("/projects/review")
    expect(page.get_by_test_id("queue-row")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the queue scrolls sideways on a phone"
    shot(page, "03-review-queue-phone")
