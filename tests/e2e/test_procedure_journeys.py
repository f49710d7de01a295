"""Issue 4's journeys in headless Chromium, every user-facing step through the pages.

比选: the owner sets the 评分细则 on the criteria page before the deadline; after the opening (four
sealed offers, opened by the custodians through the services — set-up, not the point here) the
operator requests, runs and starts the expert draw on /experts/draws/<lot>; each of the three drawn
experts signs in with two-factor, confirms no conflict per bidder, scores every bidder (one rejected
for a missing qualification) and submits; the summary appears; each signs the report with a fresh
TOTP code; the owner publishes the candidates, is refused an award while the publicity runs, awards
after it, downloads the 中选通知书 PDF; the portal shows the result notice.

询价: a reported lot with its ranked quotes; the buyer confirms the supplier on the awards page and
awards with the team's names.

竞争性谈判: the team (an operator of the centre) starts the negotiation, records a session with each
supplier, runs three rounds (a change to the requirements in round 2, confirmed by the buyer and seen by
every supplier on its own page, then the final offers); the suppliers' sealed quotes and the custodians'
round shares go through the services; the team submits its report on its page (candidates ranked by
final price); the buyer confirms and awards; the supplier then refuses to sign, the buyer records it
with the letter and awards the next candidate (the first award kept, superseded).
Screenshots on a desktop and a 390×844 phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import DESKTOP, PHONE, _new_page, login, logout, shot
from tests.factories.accounts import DEFAULT_PASSWORD, actor_ctx, make_org, make_user
from tests.factories.awards import propose, reported_lot
from tests.factories.custodians import add_offer, ensure_custodians
from tests.factories.evaluation import _enable_totp
from tests.factories.experts import make_expert
from tests.factories.notices import notice_project, published_notice
from trading.accounts.models import User
from trading.core.context import ServiceContext
from trading.core.money import to_capitals
from trading.extensions import db
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningKey
from trading.procedures.common.opening.services import submit_share

pytestmark = pytest.mark.e2e

PROJECT = "示范县白鹤镇场镇道路提升改造工程"
#: (organisation, price in fen); 丁 lacks its qualification certificate and is rejected by every expert
BIDDERS = [("四川甲建设工程有限公司", 96_850_000), ("四川乙路桥工程有限公司", 98_800_000),
           ("四川丙市政建设有限公司", 101_250_000), ("四川丁建筑劳务有限公司", 93_000_000)]
#: each expert's (T1, T2, C1, C2) for 甲, 乙, 丙 (maxima 35, 10, 10, 5 as the owner sets them)
SCORES = [[("32", "9", "10", "5"), ("30", "10", "8", "5"), ("28", "8", "9", "4")],
          [("33", "9", "9", "5"), ("31", "9", "8", "5"), ("27", "8", "9", "5")],
          [("31", "10", "10", "5"), ("29", "9", "9", "4"), ("29", "7", "8", "5")]]
MAXIMA = ("35", "10", "10", "5")


def _no_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} overflows: {width}px"


@pytest.fixture
def selection(live_server):
    """A published 比选 lot (opening key among the custodians), four bidders' sealed offers, an
    operator with two-factor and a pool of five experts with two-factor; nothing opened yet."""
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        owner = make_user(ctx, "owner", username="selowner", display_name="白鹤镇人民政府")
        project = notice_project(ctx, owner, procedure="selection", name=PROJECT)
        published_notice(actor_ctx(db.session, live_server.clock, owner), project)
        trade = db.session.execute(select(LotTrade).where(LotTrade.project_id == project.id)).scalar_one()
        key = db.session.execute(select(OpeningKey).where(OpeningKey.lot_id == trade.lot_id)).scalar_one()
        orgs = []
        for name, price in BIDDERS:
            org = make_org(ctx, "bidder", name=name)
            add_offer(ctx, trade, key, price_fen=price, bidder=make_user(ctx, "bidder", org=org))
            orgs.append(org.id)
        operator = make_user(ctx, "operator", username="seloperator", totp=True, display_name="交易中心经办人")
        experts = []
        for i, name in enumerate(("张建国", "李秀英", "王志强", "刘海燕", "陈明")):
            e = make_expert(ctx, name=name)
            user = db.session.get(User, e.user_id)
            user.username = f"selexpert{i + 1}"
            _enable_totp(ctx, user)
            experts.append(user.id)
        holders = {s.custodian_user_id for s in key.shares}
        custodians = [(u.id, p) for u, p in ensure_custodians(ctx) if u.id in holders][:key.k]
        world = {"code": trade.lot_code, "lot_id": trade.lot_id, "deadline": trade.deadline_at, "orgs": orgs,
                 "operator": operator.totp_secret, "experts": experts, "custodians": custodians}
        db.session.commit()
        db.session.remove()
    return world


def _open_by_custodians(live_server, world) -> None:
    live_server.clock.set(world["deadline"] + timedelta(minutes=5))
    with live_server.app.app_context():
        for user_id, passphrase in world["custodians"]:
            submit_share(actor_ctx(db.session, live_server.clock, db.session.get(User, user_id)), world["code"],
                         passphrase)
            db.session.commit()
        trade = db.session.execute(select(LotTrade).where(LotTrade.lot_code == world["code"])).scalar_one()
        assert trade.status == "opened"
        db.session.remove()


def _set_criteria(page, code: str) -> None:
    page.goto(f"/evaluation/{code}/criteria")
    expect(page.get_by_role("heading", level=1)).to_contain_text("评分细则")
    page.get_by_label("价格分（分）").fill("40")
    page.get_by_label("最高限价（元，可不填）").fill("1,050,000.00")
    for n, mx in enumerate(MAXIMA):
        page.locator(f"input[name='items-{n}-max']").fill(mx)
    page.get_by_role("button", name="保存为新版本").click()
    expect(page.get_by_role("alert").filter(has_text="评分细则已保存（第 1 版）")).to_be_visible()
    shot(page, "proc-01-criteria-saved")


def _draw(page, code: str) -> list[str]:
    """The operator requests, runs and starts the draw; the names the started panel shows."""
    page.goto(f"/experts/draws/{code}")
    page.get_by_label("成员总数（单数）").fill("3")
    page.get_by_label("其中专家人数（不少于三分之二）").fill("3")
    page.get_by_label("专业代码（多个用分号分隔）").fill("GC01")
    page.get_by_role("button", name="提交抽取申请").click()
    expect(page.get_by_role("alert").filter(has_text="抽取申请已记录")).to_be_visible()
    shot(page, "proc-02-draw-requested")
    page.get_by_role("button", name="执行抽取").click()
    expect(page.get_by_role("alert").filter(has_text="抽取完成")).to_be_visible()
    seats = page.get_by_test_id("seats").locator("li")
    expect(seats).to_have_count(3)
    expect(seats.first).to_contain_text("席位（名单密封）")           # names sealed until the start
    expect(page.get_by_test_id("revealed-seed")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    shot(page, "proc-03-draw-run-sealed")
    _no_overflow(page)
    page.get_by_role("link", name="复核").click()
    expect(page.get_by_test_id("verification")).to_contain_text("复核一致")
    page.get_by_role("button", name="开始评审（解封名单）").click()
    expect(page.get_by_role("alert").filter(has_text="评审已开始")).to_be_visible()
    shot(page, "proc-04-draw-started-names")
    return [t.split("\n")[0].strip() for t in page.get_by_test_id("seats").locator("li").all_inner_texts()]


def _score(page, code: str, member: int, orgs: list[int]) -> None:
    """One expert: check in (no conflict with each bidder), score 甲乙丙, reject 丁, submit each."""
    page.goto("/evaluation/")
    page.get_by_role("link", name="进入评标室").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("评标室")
    if member == 0:
        shot(page, "proc-05-room-before-check-in")
    for _ in BIDDERS:
        page.get_by_role("button", name="确认无利害关系").first.click()
        expect(page.get_by_role("alert").filter(has_text="已确认与该投标人无利害关系")).to_be_visible()
    expect(page.get_by_role("button", name="确认无利害关系")).to_have_count(0)
    for i, (name, _price) in enumerate(BIDDERS):
        page.get_by_test_id("my-sheets").get_by_role("row").filter(has_text=name).get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
        if i < 3:
            for code_, value in zip(("T1", "T2", "C1", "C2"), SCORES[member][i], strict=True):
                page.locator(f"#score_{code_}").fill(value)
            if member == 0 and i == 0:   # a deduction without its comment: refused, the sheet stays a draft
                with page.expect_response(lambda r: r.request.method == "POST" and "/autosave" not in r.url) as refused:
                    page.get_by_role("button", name="提交并锁定").click()
                assert 400 <= refused.value.status < 500
                expect(page.get_by_role("alert").filter(has_text="须填写扣分理由")).to_be_visible()
                expect(page.locator("#score_T1")).to_have_value(SCORES[0][0][0])   # what was typed is kept
            for code_, value, mx in zip(("T1", "T2", "C1", "C2"), SCORES[member][i], MAXIMA, strict=True):
                if value != mx:
                    page.locator(f"#comment_{code_}").fill("方案深度不足" if code_.startswith("T") else "业绩证明不全")
        else:
            page.get_by_label("否决", exact=True).check()
            page.get_by_label("否决条款（选择“否决”时必选）").select_option("R1")
            page.get_by_label("否决说明").fill("未提供有效的市政公用工程施工总承包资质证书")
        if member == 0 and i in (0, 3):
            shot(page, f"proc-06-sheet-{'scored' if i == 0 else 'rejected'}")
        page.get_by_role("button", name="提交并锁定").click()
        expect(page.get_by_role("alert").filter(has_text="评分表已提交并锁定")).to_be_visible()
    expect(page.get_by_test_id("my-sheets").get_by_text("已提交（锁定）")).to_have_count(len(BIDDERS))


def _sign(page, server, secret: str) -> None:
    server.clock.advance(seconds=31)        # a fresh step: the log-in's code cannot be replayed
    form = page.get_by_test_id("sign-form")
    form.get_by_label("同意并签署").check()
    form.get_by_label("动态验证码（双因素认证）").fill(server.totp(secret))
    form.get_by_role("button", name="确认").click()
    expect(page.get_by_role("alert").filter(has_text="已签署评审报告")).to_be_visible()


def test_selection_from_criteria_to_the_published_result(browser, live_server, selection, request, problems):
    code, orgs = selection["code"], selection["orgs"]
    owner = _new_page(browser, live_server, DESKTOP, request, problems)
    login(owner, live_server, "selowner", password=DEFAULT_PASSWORD)
    _set_criteria(owner, code)

    phone_owner = _new_page(browser, live_server, PHONE, request, problems)
    login(phone_owner, live_server, "selowner", password=DEFAULT_PASSWORD)
    phone_owner.goto(f"/evaluation/{code}/criteria")
    expect(phone_owner.locator("input[name='items-0-max']")).to_have_value("35")
    shot(phone_owner, "proc-01-criteria-phone")

    _open_by_custodians(live_server, selection)
    owner.goto(f"/evaluation/{code}/criteria")
    expect(owner.get_by_test_id("criteria-locked")).to_be_visible()     # locked after the deadline

    op = _new_page(browser, live_server, DESKTOP, request, problems)
    login(op, live_server, "seloperator", password=DEFAULT_PASSWORD, totp_secret=selection["operator"])
    names = _draw(op, code)
    assert all(n and "密封" not in n for n in names), names

    with live_server.app.app_context():
        from trading.evaluation.draw.panel_services import active_members
        drawn = {m.user_id for m in active_members(db.session, selection["lot_id"])}
        members = [(u.username, u.totp_secret) for u in
                   (db.session.get(User, uid) for uid in selection["experts"]) if u.id in drawn]
        db.session.remove()
    assert len(members) == 3

    experts = []
    for n, (username, secret) in enumerate(members):
        page = _new_page(browser, live_server, PHONE if n == 1 else DESKTOP, request, problems)
        login(page, live_server, username, password=DEFAULT_PASSWORD, totp_secret=secret)
        _score(page, code, n, orgs)
        if n == 1:
            shot(page, "proc-07-room-submitted-phone")
            _no_overflow(page)
        experts.append((page, secret))

    last = experts[-1][0]
    last.reload()
    expect(last.get_by_text("全体成员已提交评分表")).to_be_visible()
    last.get_by_role("link", name="查看汇总").click()
    matrix = last.get_by_test_id("summary-matrix")
    expect(matrix.get_by_role("row")).to_have_count(len(BIDDERS) + 1)
    expect(matrix.get_by_role("row").nth(1)).to_contain_text(BIDDERS[0][0])          # 甲 ranks first
    expect(matrix.get_by_role("row").filter(has_text=BIDDERS[3][0])).to_contain_text("资格证书缺失")
    shot(last, "proc-08-summary")
    last.get_by_role("link", name="返回评标室").click()
    last.get_by_role("button", name="生成评审报告").click()
    expect(last.get_by_role("alert").filter(has_text="评审报告已生成")).to_be_visible()
    expect(last.get_by_test_id("report-candidates").locator("li")).to_have_count(3)
    shot(last, "proc-09-report-to-sign")
    for n, (page, secret) in enumerate(experts):
        page.goto(f"/evaluation/{code}/report")
        if n == 1:
            shot(page, "proc-09-report-to-sign-phone")
            _no_overflow(page)
        _sign(page, live_server, secret)
    expect(last.get_by_test_id("report-status")).to_have_text("已完成")
    shot(last, "proc-10-report-signed")
    phone_expert = experts[1][0]
    phone_expert.goto(f"/evaluation/{code}/summary")
    shot(phone_expert, "proc-11-summary-phone")

    # --- the owner: candidates publicity, refused award while it runs, award, letter, portal --------
    owner.goto(f"/awards/lots/{code}")
    expect(owner.get_by_test_id("candidates").locator("tbody tr")).to_have_count(3)
    expect(owner.get_by_test_id("candidates")).to_contain_text(to_capitals(BIDDERS[0][1]))
    shot(owner, "proc-12-awards-candidates")
    owner.get_by_test_id("publish").click()
    expect(owner.get_by_role("alert").filter(has_text="候选人公示已发布")).to_be_visible()
    with owner.expect_response(lambda r: r.url.endswith("/award")) as refused:
        owner.get_by_test_id("award-submit").click()
    assert 400 <= refused.value.status < 500
    expect(owner.get_by_role("alert").filter(has_text="届满前不能定标")).to_be_visible()     # publicity runs
    shot(owner, "proc-13-award-refused-during-publicity")
    with live_server.app.app_context():
        from trading.procedures.common.awards.models import CandidateList
        until = db.session.execute(select(CandidateList.publicity_until).where(
            CandidateList.lot_id == selection["lot_id"], CandidateList.notice_id.is_not(None))).scalar_one()
        db.session.remove()
    live_server.clock.set(until + timedelta(minutes=1))
    owner.goto(f"/awards/lots/{code}")
    owner.get_by_label("中选（成交）人").select_option(str(orgs[0]))
    owner.get_by_test_id("award-submit").click()
    expect(owner.get_by_role("alert").filter(has_text="已定标")).to_be_visible()
    expect(owner.get_by_test_id("award")).to_contain_text(BIDDERS[0][0])
    expect(owner.get_by_test_id("award")).to_contain_text(to_capitals(BIDDERS[0][1]))
    shot(owner, "proc-14-awarded")
    phone_owner.goto(f"/awards/lots/{code}")
    expect(phone_owner.get_by_test_id("award")).to_contain_text(BIDDERS[0][0])
    shot(phone_owner, "proc-14-awarded-phone")
    _no_overflow(phone_owner)
    letter = owner.get_by_role("listitem").filter(has_text="中选（成交）通知书").get_by_role("link")
    pdf = owner.request.get(letter.get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.body().startswith(b"%PDF")

    owner.get_by_role("link", name="查看结果公告").click()
    expect(owner.get_by_role("heading", level=1)).to_contain_text("结果公告")
    expect(owner.locator("main")).to_contain_text(BIDDERS[0][0])
    shot(owner, "proc-15-portal-result-notice")
    logout(owner)
    owner.goto("/notices")
    expect(owner.get_by_test_id("notice-row").filter(has_text="结果公告").first).to_contain_text(PROJECT)
    public = _new_page(browser, live_server, PHONE, request, problems)
    public.goto(owner.url)
    public.get_by_test_id("notice-row").filter(has_text="结果公告").first.get_by_role("link").first.click()
    expect(public.get_by_role("heading", level=1)).to_contain_text("结果公告")
    shot(public, "proc-16-portal-result-phone")
    _no_overflow(public)


# --- 询价 -------------------------------------------------------------------------------------------

@pytest.fixture
def inquiry(live_server):
    """A 询价 lot whose report is in: three suppliers ranked by price (the scoring has its own journey)."""
    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        w = reported_lot(ctx, procedure="inquiry", bidders=3, name="示范县第一中学教室多媒体设备采购")
        w.owner.username, w.owner.display_name = "inqbuyer", "示范县第一中学"
        for b, name in zip(w.bidders, ("成都甲科技有限公司", "四川乙电子设备有限公司", "绵阳丙教学装备有限公司"),
                           strict=True):
            b.organisation.name = name
        propose(w, [48_600_000, 49_150_000, 50_020_000])
        names = [db.session.get(User, b.id).organisation.name for b in w.bidders]
        world = {"code": w.trade.lot_code, "orgs": [b.org_id for b in w.bidders], "names": names}
        db.session.commit()
        db.session.remove()
    return world


def test_inquiry_buyer_confirms_the_supplier_and_awards(browser, live_server, inquiry, request, problems):
    code = inquiry["code"]
    for viewport, tag in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = _new_page(browser, live_server, viewport, request, problems)
        login(page, live_server, "inqbuyer", password=DEFAULT_PASSWORD)
        page.goto(f"/awards/lots/{code}")
        expect(page.get_by_test_id("candidates").locator("tbody tr")).to_have_count(3)
        shot(page, f"proc-20-inquiry-confirm-{tag}")
        if tag == "phone":
            _no_overflow(page)
            logout(page)
    with page.expect_response(lambda r: r.url.endswith("/award")) as refused:     # not confirmed yet
        page.get_by_test_id("award-submit").click()
    assert 400 <= refused.value.status < 500
    expect(page.get_by_role("alert").filter(has_text="采购人尚未确定成交供应商")).to_be_visible()
    page.get_by_label("成交供应商").select_option(str(inquiry["orgs"][0]))
    page.get_by_role("button", name="确定成交供应商").click()
    expect(page.get_by_role("alert").filter(has_text="已确定成交供应商")).to_be_visible()
    expect(page.get_by_test_id("confirmation")).to_contain_text(inquiry["names"][0])
    page.get_by_label("中选（成交）人").select_option(str(inquiry["orgs"][0]))
    page.get_by_label(re.compile("小组成员名单")).fill("赵工\n钱工\n孙工")
    page.get_by_test_id("award-submit").click()
    expect(page.get_by_role("alert").filter(has_text="已定标")).to_be_visible()
    expect(page.get_by_test_id("award")).to_contain_text(to_capitals(48_600_000))
    shot(page, "proc-21-inquiry-awarded")
    page.get_by_role("link", name="查看结果公告").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("成交结果公告")
    expect(page.locator("main")).to_contain_text("孙工")
    shot(page, "proc-22-inquiry-result-notice")


# --- 竞争性谈判 -------------------------------------------------------------------------------------

@pytest.fixture
def negotiation(live_server):
    """A 谈判 lot past the opening of three first responses (factory), an operator of the centre who
    records the team's steps (two-factor), the buyer; the suppliers' sealed round quotes are made
    through the services (the browser sealing widget has its own test)."""
    from tests.factories.negotiation import opened_negotiation

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        neg = opened_negotiation(ctx, suppliers=3)
        neg.owner.username, neg.owner.display_name = "negbuyer", "示范县人民医院"
        for i, (s, name) in enumerate(zip(neg.suppliers, ("四川甲医疗设备有限公司", "成都乙医疗科技有限公司",
                                                          "重庆丙医疗器械有限公司"), strict=True)):
            s.org.name, s.user.username = name, f"negsupplier{i + 1}"
        from trading.procedures.common.participation.models import Participation
        for s in neg.suppliers:  # the factory writes their opened first responses; they had registered
            db.session.add(Participation(lot_id=neg.trade.lot_id, bidder_org_id=s.org.id, registered_by=s.user.id,
                                         registered_at=neg.trade.deadline_at - timedelta(days=1), status="registered"))
        team = make_user(ctx, "operator", username="negteam", totp=True, display_name="谈判小组记录人")
        world = {"code": neg.code, "lot_id": neg.trade.lot_id, "team": team.totp_secret,
                 "orgs": [s.org.id for s in neg.suppliers], "names": [s.org.name for s in neg.suppliers]}
        db.session.commit()
        db.session.remove()
    return world


def _quotes_and_open(live_server, world, prices: list[int]) -> None:
    """Every supplier seals its quote to the current round's key; the clock reaches the round's close."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.factories.negotiation import quote_for
    from tests.factories.offers import Bidder
    from trading.accounts.models import Organisation
    from trading.accounts.signing_keys import register_signing_key
    from trading.procedures.negotiation import services as neg_services
    from trading.sealing import envelope as env

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        rnd = neg_services.current_round(ctx, world["lot_id"])
        for org_id, price in zip(world["orgs"], prices, strict=True):
            user = db.session.execute(select(User).where(User.org_id == org_id)).scalars().first()
            key = world.setdefault("keys", {}).get(org_id)
            if key is None:  # the supplier's own signing key, registered once
                key = ec.generate_private_key(ec.SECP256R1())
                register_signing_key(actor_ctx(db.session, live_server.clock, user),
                                     public_raw=env.public_raw(key.public_key()), label="e2e", source="tool")
                world["keys"][org_id] = key
            quote_for(rnd, Bidder(user, db.session.get(Organisation, org_id), key,
                                  actor_ctx(db.session, live_server.clock, user)), price)
        closes = rnd.closes_at
        db.session.commit()
        db.session.remove()
    live_server.clock.set(closes)


def _custodians_open(live_server, world) -> None:
    from tests.factories.negotiation import open_round_by_custodians
    from trading.procedures.negotiation.models import NegotiationRound

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        rnd = db.session.execute(select(NegotiationRound).where(NegotiationRound.lot_id == world["lot_id"])
                                 .order_by(NegotiationRound.no.desc())).scalars().first()
        assert open_round_by_custodians(ctx, rnd)["opened"]
        db.session.commit()
        db.session.remove()


def _bj_input(server, hours: int = 1) -> str:
    from trading.core.clock import to_beijing
    return to_beijing(server.clock.now() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_negotiation_rounds_change_final_offers_buyer_confirms_and_awards(browser, live_server, negotiation,
                                                                          request, problems):
    code, names = negotiation["code"], negotiation["names"]
    team = _new_page(browser, live_server, DESKTOP, request, problems)
    login(team, live_server, "negteam", password=DEFAULT_PASSWORD, totp_secret=negotiation["team"])
    team.goto(f"/negotiation/lots/{code}")
    team.get_by_label("谈判小组人数").fill("3")
    team.get_by_label("其中评审专家人数").fill("2")
    team.get_by_test_id("start").click()
    expect(team.get_by_role("alert").filter(has_text="竞争性谈判已开始")).to_be_visible()

    # round 1: the team meets each supplier separately; sealed quotes; the custodians open them
    team.get_by_label("本轮报价截止（北京时间）").fill(_bj_input(live_server))
    team.get_by_test_id("open-round").click()
    expect(team.get_by_role("alert").filter(has_text="新一轮谈判已开始")).to_be_visible()
    for name in names:
        form = team.get_by_test_id("round").first.locator("form")
        form.get_by_label("供应商").select_option(label=name)
        form.get_by_label("谈判记录").fill(f"与{name}单独谈判：确认供货范围和售后响应时间。")
        form.get_by_role("button", name="保存谈判记录").click()
        expect(team.get_by_role("alert").filter(has_text="谈判记录已保存")).to_be_visible()
    _quotes_and_open(live_server, negotiation, [1_280_000_00, 1_265_000_00, 1_299_000_00])
    team.reload()
    team.get_by_test_id("close-round").click()
    expect(team.get_by_role("alert").filter(has_text="本轮已结束")).to_be_visible()
    _custodians_open(live_server, negotiation)

    # round 2: a change to the requirements, confirmed by the buyer, seen by every supplier
    team.goto(f"/negotiation/lots/{code}")
    team.get_by_label("本轮报价截止（北京时间）").fill(_bj_input(live_server))
    team.get_by_test_id("open-round").click()
    change = "彩色多普勒超声诊断仪的探头由 3 个增加为 4 个（增加腔内探头），交货期由 60 日改为 45 日。"
    team.get_by_label("提出变动（技术、服务要求或合同草案条款）").fill(change)
    team.get_by_role("button", name="提出，待采购人确认").click()
    expect(team.get_by_test_id("changes")).to_contain_text("待采购人确认")
    shot(team, "proc-30-negotiation-round-2-team")
    buyer = _new_page(browser, live_server, DESKTOP, request, problems)
    login(buyer, live_server, "negbuyer", password=DEFAULT_PASSWORD)
    buyer.goto(f"/negotiation/lots/{code}")
    buyer.get_by_test_id("confirm-change").click()
    expect(buyer.get_by_role("alert").filter(has_text="变更已确认")).to_be_visible()
    for n in range(3):
        supplier = _new_page(browser, live_server, PHONE if n == 0 else DESKTOP, request, problems)
        login(supplier, live_server, f"negsupplier{n + 1}", password=DEFAULT_PASSWORD)
        supplier.goto(f"/negotiation/my/{code}")
        expect(supplier.get_by_test_id("changes")).to_contain_text(change)
        if n == 0:
            shot(supplier, "proc-31-negotiation-supplier-change-phone")
            _no_overflow(supplier)
    _quotes_and_open(live_server, negotiation, [1_250_000_00, 1_248_000_00, 1_270_000_00])
    team.reload()
    team.get_by_test_id("close-round").click()
    _custodians_open(live_server, negotiation)

    # round 3: the final offers decide; the lowest responsive final price ranks first
    team.goto(f"/negotiation/lots/{code}")
    team.get_by_label("最后报价截止（北京时间）").fill(_bj_input(live_server))
    team.get_by_test_id("call-final").click()
    expect(team.get_by_role("alert").filter(has_text="已要求供应商提交最后报价")).to_be_visible()
    finals = [1_236_000_00, 1_239_500_00, 1_262_000_00]
    _quotes_and_open(live_server, negotiation, finals)
    team.reload()
    team.get_by_test_id("close-round").click()
    _custodians_open(live_server, negotiation)
    team.goto(f"/negotiation/lots/{code}")
    team.get_by_test_id("close-final").click()
    expect(team.get_by_role("alert").filter(has_text="最后报价阶段已结束")).to_be_visible()
    expect(team.get_by_test_id("ranking").locator("li").first).to_contain_text(names[0])
    expect(team.get_by_test_id("round")).to_have_count(3)
    shot(team, "proc-32-negotiation-final-ranking")

    # the team's report: responsive suppliers ranked by final price, the candidates go to the buyer
    team.get_by_label("评审意见").fill("三家供应商的最后报价均满足谈判文件实质性要求，按最后报价由低到高推荐成交候选人。")
    shot(team, "proc-32b-negotiation-report-form")
    team.get_by_test_id("submit-report").click()
    expect(team.get_by_role("alert").filter(has_text="谈判报告已提交")).to_be_visible()
    expect(team.get_by_test_id("report").locator("li").first).to_contain_text(names[0])
    expect(team.get_by_test_id("lot-status")).to_have_attribute("data-status", "reported")
    shot(team, "proc-32c-negotiation-report")

    buyer.goto(f"/awards/lots/{code}")
    buyer.get_by_label("成交供应商").select_option(str(negotiation["orgs"][0]))
    buyer.get_by_role("button", name="确定成交供应商").click()
    expect(buyer.get_by_test_id("confirmation")).to_contain_text(names[0])
    buyer.get_by_label(re.compile("小组成员名单")).fill("周工\n吴工\n郑工")
    buyer.get_by_test_id("award-submit").click()
    expect(buyer.get_by_role("alert").filter(has_text="已定标")).to_be_visible()
    expect(buyer.get_by_test_id("award")).to_contain_text(to_capitals(finals[0]))
    shot(buyer, "proc-33-negotiation-awarded")
    buyer.get_by_role("link", name="查看结果公告").click()
    expect(buyer.get_by_role("heading", level=1)).to_contain_text("成交结果公告")
    expect(buyer.locator("main")).to_contain_text(names[0])

    # the supplier then refuses to sign: the buyer records it with the letter, its deposit is kept,
    # and the next candidate (rank 2) is awarded; the first award stays on the page, superseded
    buyer.goto(f"/awards/lots/{code}")
    buyer.get_by_text("中选（成交）人拒签、逾期未签或放弃").click()
    buyer.get_by_label("情形").select_option("refused_contract")
    buyer.get_by_label("事实和理由").fill(f"{names[0]}以设备进口价格上涨为由，书面拒绝按成交价签订合同。")
    buyer.get_by_label("证据（如书面声明、函件及其日期）").fill("供应商2026年11月23日《关于不签订合同的函》")
    buyer.get_by_label(re.compile("证据文件")).set_input_files(
        {"name": "拒签函.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n% refusal letter\n"})
    buyer.get_by_test_id("record-default").click()
    expect(buyer.get_by_role("alert").filter(has_text="已记录")).to_be_visible()
    expect(buyer.get_by_test_id("default")).to_contain_text("拒绝签订合同")
    expect(buyer.get_by_test_id("decide")).to_contain_text(names[1])
    shot(buyer, "proc-34-negotiation-winner-refused")
    buyer.get_by_test_id("award-next").click()
    expect(buyer.get_by_role("alert").filter(has_text="已确定下一候选人")).to_be_visible()
    expect(buyer.get_by_test_id("award")).to_contain_text(names[1])
    expect(buyer.get_by_test_id("award")).to_contain_text(to_capitals(finals[1]))
    buyer.get_by_text("此前的定标（已被替代，保留备查）").click()
    expect(buyer.get_by_test_id("award-history")).to_contain_text(names[0])
    shot(buyer, "proc-35-negotiation-next-candidate-awarded")
