"""(complaints) 投诉 in Chromium: a bidder whose objection was answered files a complaint with an
evidence file through the form; the supervisor sees it on the complaint list with its acceptance clock
(a light), accepts it, suspends the procurement, decides it; the decision is on the public list.
Screenshots of the form, the supervisor's list, the detail page and the public decisions."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, _new_page, login, logout, shot
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.complaints import objected_lot
from trading.core.context import ServiceContext
from trading.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(live_server):
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        w = objected_lot(ctx)
        out = {"code": w.trade.lot_code, "objection": w.objection.id, "bidder": w.bidders[1].username,
               "sup": w.supervisor.username, "sup_secret": w.supervisor.totp_secret}
        db.session.commit()
        db.session.remove()
    return out


def test_complaint_from_filing_to_public_decision(browser, live_server, world, request, problems, tmp_path):
    page = _new_page(browser, live_server, DESKTOP, request, problems)
    login(page, live_server, world["bidder"], password=DEFAULT_PASSWORD)
    page.goto(f"/complaints/new?lot_code={world['code']}")
    page.get_by_label("投诉事项类别").select_option("result")
    page.get_by_label("知道或者应当知道之日（招标投标项目）").fill("2026-11-25")
    page.get_by_label("在平台上对评标（成交）结果提出的异议（质疑）").select_option(str(world["objection"]))
    page.get_by_label("投诉事项和事实依据").fill("第一名的业绩证明材料与实际不符，评审委员会未予核实。\n附：合同备案查询截图。")
    page.get_by_label("投诉请求").fill("请责令重新评审")
    evidence = tmp_path / "证明.pdf"
    evidence.write_bytes(b"%PDF-1.4 evidence")
    page.get_by_label("证明材料（PDF、PNG 或 JPEG，每个不超过 10 MB，最多 5 个）").set_input_files(str(evidence))
    shot(page, "complaints-01-filing-form")
    page.get_by_role("button", name="提交投诉").click()
    expect(page.get_by_test_id("status")).to_have_text("待受理")
    expect(page.get_by_test_id("light-accept")).to_be_visible()
    logout(page)

    login(page, live_server, world["sup"], password=DEFAULT_PASSWORD, totp_secret=world["sup_secret"])
    page.goto("/supervise/")
    page.get_by_role("link", name="投诉处理").first.click()
    expect(page.get_by_test_id("complaint-row")).to_have_count(1)
    expect(page.get_by_test_id("light-accept")).to_have_attribute("data-light", "green")
    shot(page, "complaints-02-supervisor-list")
    page.get_by_test_id("complaint-row").get_by_role("link").first.click()
    page.get_by_test_id("accept-form").get_by_role("button", name="受理").click()
    expect(page.get_by_test_id("status")).to_have_text("已受理")
    page.get_by_test_id("suspend-form").get_by_label("理由").fill("投诉可能影响中标结果，暂停采购活动")
    page.get_by_test_id("suspend-form").get_by_role("button", name="暂停").click()
    expect(page.get_by_test_id("suspended")).to_be_visible()
    decide = page.get_by_test_id("decide-form")
    decide.get_by_label("处理结果").select_option("partly")
    decide.get_by_label("处理决定书正文").fill("经调查，投诉事项部分成立。\n责令招标人组织原评标委员会重新评审。")
    shot(page, "complaints-03-detail-before-decision")
    decide.get_by_role("button", name="作出决定").click()
    expect(page.get_by_test_id("status")).to_have_text("已处理")
    expect(page.get_by_test_id("decision")).to_contain_text("投诉部分成立")
    shot(page, "complaints-04-detail-decided")

    page.goto("/complaints/decisions")
    expect(page.get_by_test_id("decision")).to_have_count(1)
    expect(page.get_by_test_id("decision")).to_contain_text("责令招标人组织原评标委员会重新评审")
    shot(page, "complaints-05-public-decisions")
