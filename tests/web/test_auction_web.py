"""拍卖 / 挂牌 pages through Flask's test client: the listing setup, the buyer's application with its
deposit sub-account and 竞买资格确认书, qualification and refusal, the start, the opt-in, the room
without JavaScript (state, the two-step bid form, the large-jump warning), the supervisor's pause and
resume, the stream (snapshot, then the bids after Last-Event-ID), the outcome and its 成交确认书.
Bad input answers 4xx and changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.auctions import INC, START, add_buyer, auction_lot, pay_deposit, place, started
from tests.web.test_hall_web import SSEReader
from trading.accounts.models import User
from trading.extensions import db
from trading.procedures.auction import services
from trading.procedures.auction.models import Auction, AuctionApplication, AuctionBid


def user_of(c) -> User:
    return db.session.get(User, c.actor.user_id)


def client_for(app, user):
    cl = app.test_client()
    login_as(cl, user)
    return cl


def post(cl, path, data=None, **kw):
    token = csrf_token(cl, kw.pop("token_path", "/"))
    return cl.post(path, data={"csrf_token": token, **(data or {})}, **kw)


def fresh(w) -> Auction:
    db.session.expire_all()
    return db.session.get(Auction, w.auction.lot_id)


def n_bids() -> int:
    return db.session.execute(select(func.count()).select_from(AuctionBid)).scalar_one()


def pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def world(app, ctx):
    w = auction_lot(ctx)
    db.session.commit()
    return w


# --- setup ------------------------------------------------------------------------------------------

def test_setup_page_saves_terms_and_refuses_bad_input(app, world):
    w = world
    owner = client_for(app, w.owner)
    page = owner.get(f"/auctions/{w.code}/setup")
    assert page.status_code == 200 and "竞价设置" in page.text and "尚未录入底价" in page.text
    before = fresh(w).version
    base = {"starting": "800000", "increment": "10000", "deposit": "160000", "countdown_min": "5",
            "subject_ref": "2026-07号", "location": "城东新区", "area_m2": "6666.67", "land_use": "城镇住宅用地",
            "term_years": "70", "plot_ratio": "1.0–2.5"}
    for bad in ({"starting": "八十万"}, {"increment": "-5"}, {"countdown_min": "五"}, {"area_m2": "-1"},
                {"start_at": "tomorrow"}, {"deposit": "1000"}):
        r = post(owner, f"/auctions/{w.code}/setup", {**base, **bad})
        assert r.status_code == 422, bad
        assert fresh(w).version == before
    r = post(owner, f"/auctions/{w.code}/setup", {**base, "starting": "900000", "deposit": "180000"})
    assert r.status_code == 302
    a = fresh(w)
    assert (a.starting_fen, a.subject_ref, a.term_years, str(a.area_m2)) == (90_000_000, "2026-07号", 70, "6666.67")
    page = owner.get(f"/auctions/{w.code}")
    assert "约 10.00 亩" in page.text and "玖拾万元整" in page.text


def test_setup_is_for_the_project_side_and_the_centre(app, ctx, world):
    w = world
    assert client_for(app, w.buyers[0].user).get(f"/auctions/{w.code}/setup").status_code == 403
    stranger = make_user(ctx, "owner")
    assert client_for(app, stranger).get(f"/auctions/{w.code}/setup").status_code == 404
    assert client_for(app, user_of(w.c_op)).get(f"/auctions/{w.code}/setup").status_code == 200
    assert client_for(app, w.owner).get("/auctions/NO-SUCH-LOT/setup").status_code == 404


# --- buyers: apply, deposit, qualification ---------------------------------------------------------

def test_apply_see_the_deposit_account_be_qualified_and_print_the_confirmation(app, ctx, world):
    w = world
    user = make_user(ctx, "bidder")
    buyer = client_for(app, user)
    page = buyer.get(f"/auctions/{w.code}")
    assert page.status_code == 200 and "提交竞买申请" in page.text
    assert post(buyer, f"/auctions/{w.code}/apply").status_code == 302
    app_row = db.session.execute(select(AuctionApplication).where(
        AuctionApplication.bidder_org_id == user.org_id)).scalar_one()
    page = buyer.get(f"/auctions/{w.code}")
    assert "保证金专用子账号" in page.text and "人民币壹拾陆万元整" in page.text and "待审查" in page.text
    assert buyer.get(f"/auctions/{w.code}/qualification.pdf").status_code == 404  # not yet qualified

    op = client_for(app, user_of(w.c_op))
    assert "确认资格" in op.get(f"/auctions/{w.code}").text
    # no deposit yet: refused, nothing changed
    assert post(op, f"/auctions/applications/{app_row.id}/decide", {"decision": "qualify"}).status_code == 422
    # a refusal needs a reason; a decision must be one of the two
    assert post(op, f"/auctions/applications/{app_row.id}/decide", {"decision": "refuse"}).status_code == 422
    assert post(op, f"/auctions/applications/{app_row.id}/decide", {"decision": "maybe"}).status_code == 422
    db.session.expire_all()
    assert db.session.get(AuctionApplication, app_row.id).status == "applied"
    assert post(buyer, f"/auctions/applications/{app_row.id}/decide", {"decision": "qualify"}).status_code == 403
    assert post(op, "/auctions/applications/999999/decide", {"decision": "qualify"}).status_code == 404

    from tests.factories.auctions import Buyer
    b = Buyer(user, None, db.session.get(AuctionApplication, app_row.id))
    pay_deposit(w, b)
    db.session.commit()
    assert post(op, f"/auctions/applications/{app_row.id}/decide", {"decision": "qualify"}).status_code == 302
    db.session.expire_all()
    no = db.session.get(AuctionApplication, app_row.id).bidder_no
    assert no and len(no) == 6
    page = buyer.get(f"/auctions/{w.code}")
    assert "已确认竞买资格" in page.text and "申请参加限时竞价" in page.text
    pdf = buyer.get(f"/auctions/{w.code}/qualification.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "竞买资格确认书" in text and no in text and "人民币捌拾万元整" in text
    other = client_for(app, w.buyers[0].user)
    assert no not in other.get(f"/auctions/{w.code}/qualification.pdf").data.decode("latin-1")
    assert client_for(app, w.owner).get(f"/auctions/{w.code}/qualification.pdf").status_code == 403


def test_refusal_with_a_reason_is_shown_to_the_buyer(app, ctx, world):
    w = world
    user = make_user(ctx, "bidder")
    buyer = client_for(app, user)
    post(buyer, f"/auctions/{w.code}/apply")
    app_row = db.session.execute(select(AuctionApplication).where(
        AuctionApplication.bidder_org_id == user.org_id)).scalar_one()
    op = client_for(app, user_of(w.c_op))
    r = post(op, f"/auctions/applications/{app_row.id}/decide", {"decision": "refuse", "note": "营业执照已过期"})
    assert r.status_code == 302
    page = buyer.get(f"/auctions/{w.code}")
    assert "不予确认" in page.text and "营业执照已过期" in page.text
    assert buyer.get(f"/auctions/{w.code}/qualification.pdf").status_code == 404


def test_start_opt_in_and_the_room_without_javascript(app, world, clock):
    w = world
    op = client_for(app, user_of(w.c_op))
    assert post(op, f"/auctions/{w.code}/start").status_code == 409  # before the announced start
    assert fresh(w).phase == "scheduled"
    clock.set(w.auction.start_at)
    assert post(op, f"/auctions/{w.code}/start").status_code == 302
    assert fresh(w).phase == "free"
    b1 = client_for(app, w.buyers[0].user)
    assert post(b1, f"/auctions/{w.code}/opt-in").status_code == 302
    assert db.session.get(AuctionApplication, w.buyers[0].app.id).wants_timed
    assert post(client_for(app, w.owner), f"/auctions/{w.code}/opt-in").status_code == 403

    room = b1.get(f"/auctions/{w.code}/room")
    assert room.status_code == 200
    html = room.text
    assert "竞价大厅" in html and "暂无报价" in html and "+5×" in html and "尚未报价" in html
    assert w.buyers[0].app.bidder_no in html  # its own number, to itself
    assert 'http-equiv="refresh"' in html and "auction-room.js" in html and "<script>" not in html


# --- bidding through the page ---------------------------------------------------------------------

@pytest.fixture
def running(app, world):
    started(world)
    db.session.commit()
    return world


def test_two_step_bid_without_javascript(app, running):
    w = running
    b1 = client_for(app, w.buyers[0].user)
    form = {"answers_price": str(START), "amount": "800000", "client_bid_id": "web-1"}
    step1 = post(b1, f"/auctions/{w.code}/bid", form)
    assert step1.status_code == 200 and "请确认报价" in step1.text and "人民币捌拾万元整" in step1.text
    assert n_bids() == 0  # step one writes nothing
    step2 = post(b1, f"/auctions/{w.code}/bid", {**form, "confirm": "1"})
    assert step2.status_code == 302 and fresh(w).price_fen == START and n_bids() == 1
    page = b1.get(f"/auctions/{w.code}/room")
    assert "我领先" in page.text and "人民币捌拾万元整" in page.text
    # the quick +2× button of the other buyer: price + 2 increments
    b2 = client_for(app, w.buyers[1].user)
    quick = post(b2, f"/auctions/{w.code}/bid", {"answers_price": str(START), "multiple": "2", "client_bid_id": "q"})
    assert "人民币捌拾贰万元整" in quick.text and "加价 2 个幅度" in quick.text
    assert post(b2, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "820000.00",
                                                   "client_bid_id": "q", "confirm": "1"}).status_code == 302
    page = b1.get(f"/auctions/{w.code}/room")
    assert "已被超越" in page.text and "****" in page.text
    assert w.buyers[1].app.bidder_no not in page.text


def test_large_jump_is_warned_before_confirming(app, running):
    w = running
    b1 = client_for(app, w.buyers[0].user)
    place(w, w.buyers[1], START)
    db.session.commit()
    # the fat finger: ten times the price typed instead of the next step
    r = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "8010000", "client_bid_id": "x"})
    assert r.status_code == 200 and "大额加价提示" in r.text and "人民币捌佰零壹万元整" in r.text
    normal = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "810000", "client_bid_id": "y"})
    assert "大额加价提示" not in normal.text
    assert n_bids() == 1


@pytest.mark.parametrize("form", [
    {"answers_price": "abc", "amount": "810000"},
    {"answers_price": str(START), "amount": "八十一万"},
    {"answers_price": str(START), "amount": "810000.123"},
    {"answers_price": str(START), "multiple": "0"},
    {"answers_price": str(START), "multiple": "x"},
    {"answers_price": str(START), "amount": "810000", "client_bid_id": ""},
])
def test_malformed_bids_are_422_and_store_nothing(app, running, form):
    w = running
    b1 = client_for(app, w.buyers[0].user)
    r = post(b1, f"/auctions/{w.code}/bid", {"client_bid_id": "m", **form, "confirm": "1"})
    assert r.status_code == 422 and n_bids() == 0 and fresh(w).price_fen is None


def test_refused_bids_answer_4xx_and_move_nothing(app, running):
    w = running
    b1 = client_for(app, w.buyers[0].user)
    r = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "800000.01",
                                             "client_bid_id": "odd", "confirm": "1"})
    assert r.status_code == 422 and "整数倍" in r.text and fresh(w).price_fen is None
    place(w, w.buyers[1], START)
    db.session.commit()
    stale = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START - INC), "amount": "810000",
                                                 "client_bid_id": "st", "confirm": "1"})
    assert stale.status_code == 409 and fresh(w).price_fen == START
    # JSON (the page's script): the same door answers JSON
    ok = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "810000", "client_bid_id": "js",
                                              "confirm": "1"}, headers={"Accept": "application/json"})
    assert ok.status_code == 201 and ok.json["accepted"] and ok.json["seq"] == 2
    again = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "810000", "client_bid_id": "js",
                                                 "confirm": "1"}, headers={"Accept": "application/json"})
    assert again.status_code == 200 and again.json["replay"]
    owner = client_for(app, w.owner)
    assert post(owner, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "820000",
                                                   "client_bid_id": "o", "confirm": "1"}).status_code == 403


def test_room_state_json_has_no_reserve(app, running):
    w = running
    s = client_for(app, w.buyers[0].user).get(f"/auctions/{w.code}/room/state").json
    assert s["phase"] == "free" and s["me"]["status"] == "no_bid" and "reserve_fen" not in s
    assert isinstance(s["server_now_ms"], int) and s["deadline_ms"] > s["server_now_ms"]


# --- supervision ----------------------------------------------------------------------------------

def test_supervisor_pauses_and_resumes_with_a_reason(app, running):
    w = running
    sup = client_for(app, user_of(w.c_sup))
    page = sup.get(f"/auctions/{w.code}/room")
    assert page.status_code == 200 and "暂停交易" in page.text and 'data-testid="bid-form"' not in page.text
    assert post(sup, f"/auctions/{w.code}/pause", {"reason": "  "}).status_code == 422
    assert fresh(w).paused_left_ms is None
    assert post(client_for(app, w.buyers[0].user), f"/auctions/{w.code}/pause", {"reason": "x"}).status_code == 403
    assert post(sup, f"/auctions/{w.code}/pause", {"reason": "网络故障排查"}).status_code == 302
    assert fresh(w).paused_left_ms is not None
    b1 = client_for(app, w.buyers[0].user)
    page = b1.get(f"/auctions/{w.code}/room")
    assert "交易已暂停" in page.text and "网络故障排查" in page.text
    r = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "800000", "client_bid_id": "p",
                                             "confirm": "1"})
    assert r.status_code == 409 and fresh(w).price_fen is None
    assert post(sup, f"/auctions/{w.code}/pause", {"reason": "again"}).status_code == 409
    assert post(sup, f"/auctions/{w.code}/resume", {"reason": "故障已排除"}).status_code == 302
    assert fresh(w).paused_left_ms is None


# --- the stream -----------------------------------------------------------------------------------

def test_stream_sends_the_state_then_resumes_after_the_last_event_id(app, running):
    w = running
    app.config["SSE_MAX_SECONDS"] = 0.2
    b1 = client_for(app, w.buyers[0].user)
    first = SSEReader(b1.get(f"/auctions/{w.code}/stream"))
    snap = first.next_event()
    assert snap["event"] == "auction:state" and snap["data"]["phase"] == "free"
    assert snap["data"]["me"]["status"] == "no_bid"
    at = int(snap["id"])
    place(w, w.buyers[1], START)
    place(w, w.buyers[0], START + INC)
    db.session.commit()
    again = SSEReader(b1.get(f"/auctions/{w.code}/stream", headers={"Last-Event-ID": str(at)}))
    events = [m for m in again.rest() if "event" in m]
    bids = [m["data"] for m in events if m["event"] == "auction:bid"]
    assert [b["seq"] for b in bids] == [1, 2] and all(b["bidder"].startswith("****") for b in bids)
    assert all(isinstance(b["server_now_ms"], int) for b in bids)
    assert "reserve" not in json.dumps([m["data"] for m in events])
    assert b1.get("/auctions/NOPE/stream").status_code == 404


# --- the outcome ----------------------------------------------------------------------------------

def test_sale_confirmation_for_the_winner_and_the_owner_only(app, running, clock):
    w = running
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    for b in (b1, b2):
        services.opt_in(b.ctx, w.code)
    clock.set(w.auction.free_until)
    services.end_free_phase(w.c_op, w.code)
    place(w, b1, START + 3 * INC)
    clock.set(w.auction.deadline)
    services.close_timed_phase(w.c_op, w.code)
    db.session.commit()
    assert fresh(w).outcome == "sold"
    winner = client_for(app, b1.user)
    room = winner.get(f"/auctions/{w.code}/room")
    assert "竞价结果" in room.text and "下载成交确认书" in room.text
    pdf = winner.get(f"/auctions/{w.code}/confirmation.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.data)
    assert "成交确认书" in text and "人民币捌拾叁万元整" in text and "830,000.00" in text
    # no reserve was set: the confirmation says so and that the highest bid wins (拍卖法 Art. 50)
    assert "未设底价" in text and "第五十条" in text and "不低于底价" not in text
    assert "本标的未设底价（保留价），最高报价者竞得" in room.text and "最高报价不低于底价" not in room.text
    english = winner.get(f"/auctions/{w.code}/room?lang=en").text
    assert "No reserve was set: the highest bid wins" in english and "Auction Law Art. 50" in english
    assert client_for(app, w.owner).get(f"/auctions/{w.code}/confirmation.pdf").status_code == 200
    loser = client_for(app, b2.user)
    assert loser.get(f"/auctions/{w.code}/confirmation.pdf").status_code == 404
    assert "下载成交确认书" not in loser.get(f"/auctions/{w.code}/room").text


def test_no_sale_shows_the_next_steps(app, running, clock):
    w = running
    clock.set(w.auction.free_until)
    services.end_free_phase(w.c_op, w.code)
    db.session.commit()
    assert fresh(w).outcome == "no_sale"
    page = client_for(app, w.owner).get(f"/auctions/{w.code}")
    assert "流拍" in page.text and "重新公告挂牌" in page.text
    assert client_for(app, w.owner).get(f"/auctions/{w.code}/confirmation.pdf").status_code == 404


def test_lot_page_unknown_and_not_an_auction(app, world):
    owner = client_for(app, world.owner)
    assert owner.get("/auctions/NOPE").status_code == 404
    assert owner.get("/auctions/NOPE/room").status_code == 404


def test_an_added_buyer_without_deposit_sees_its_account(app, world):
    b = add_buyer(world, qualify=False, pay=False)
    db.session.commit()
    page = client_for(app, b.user).get(f"/auctions/{world.code}")
    assert "待审查" in page.text and "已到账" in page.text


def test_pages_in_english(app, running):
    w = running
    b1 = client_for(app, w.buyers[0].user)
    room = b1.get(f"/auctions/{w.code}/room?lang=en").text
    assert "Bidding room" in room and "Current highest bid" in room and "Or type a bid (yuan)" in room
    assert "Until the listing closes" in room and "竞价大厅" not in room and "Free bidding" in room
    lot = b1.get(f"/auctions/{w.code}?lang=en").text
    assert "Qualified to bid" in lot and "Download the qualification letter" in lot


def test_the_seller_does_not_see_who_applied(app, world):
    from trading.accounts.models import Organisation
    names = [db.session.get(Organisation, b.user.org_id).name for b in world.buyers]
    owner_page = client_for(app, world.owner).get(f"/auctions/{world.code}").text
    op_page = client_for(app, user_of(world.c_op)).get(f"/auctions/{world.code}").text
    assert all(n not in owner_page for n in names) and all(n in op_page for n in names)


def test_the_list_of_sales(app, running):
    w = running
    page = client_for(app, w.buyers[0].user).get("/auctions/")
    assert page.status_code == 200 and w.code in page.text and "已确认竞买资格" in page.text and "自由报价" in page.text
    assert client_for(app, w.owner).get("/auctions/").status_code == 200
    assert 'href="/auctions/"' in client_for(app, w.owner).get("/").text  # the navigation links the list
    assert app.test_client().get("/auctions/").status_code in (302, 401)


def test_setup_shows_the_reserve_form_until_sealed_and_never_the_amount(app, world):
    from tests.factories.auctions import seal_reserve
    w = world
    owner = client_for(app, w.owner)
    page = owner.get(f"/auctions/{w.code}/setup").text
    assert 'data-testid="reserve-form"' in page and "auction-reserve.js" in page
    assert 'data-testid="reserve-form"' not in client_for(app, user_of(w.c_op)).get(f"/auctions/{w.code}/setup").text
    seal_reserve(w, 88_000_000)
    db.session.commit()
    page = owner.get(f"/auctions/{w.code}/setup").text
    assert "密封录入，不能修改" in page and 'data-testid="reserve-form"' not in page
    assert "880,000" not in page and "捌拾捌万" not in page


def test_online_bidding_of_an_asset_with_one_buyer(app, ctx, clock):
    w = auction_lot(ctx, procedure="online_bidding", buyers=1, starting_fen=500 * 1_000_000,
                    increment_fen=5 * 1_000_000, subject_ref="ZC-2026-031", appraisal_fen=520 * 1_000_000,
                    description="县粮食局闲置办公楼一栋（建筑面积1,250平方米）及附属设施")
    started(w)
    place(w, w.buyers[0], 500 * 1_000_000)
    clock.set(w.auction.free_until)
    services.end_free_phase(w.c_op, w.code)
    db.session.commit()
    buyer = client_for(app, w.buyers[0].user)
    lot = buyer.get(f"/auctions/{w.code}").text
    assert "县粮食局闲置办公楼" in lot and "评估值" in lot and "人民币伍佰贰拾万元整" in lot and "网络竞价" in lot
    text = pdf_text(buyer.get(f"/auctions/{w.code}/confirmation.pdf").data)
    assert "ZC-2026-031" in text and "人民币伍佰万元整" in text and "宗地编号" not in text
    setup = client_for(app, w.owner).get(f"/auctions/{w.code}/setup").text
    assert "资产情况" in setup and "出让年限" not in setup


# --- the opt-in window, the increment, the reserve statement ---------------------------------------

def test_room_opt_in_window_button_and_countdown(app, world, clock):
    w = world
    b1, b2 = w.buyers
    third = add_buyer(w)
    started(w)
    place(w, b1, START)
    place(w, b2, START + INC)
    clock.set(w.auction.free_until)
    services.tick(w.c_op, w.code)
    db.session.commit()
    assert fresh(w).phase == "opt_in"
    c1 = client_for(app, b1.user)
    html = c1.get(f"/auctions/{w.code}/room").text
    assert "挂牌已截止：报名参加限时竞价" in html and 'data-testid="opt-in-button"' in html
    assert "距限时竞价报名截止" in html and 'data-testid="bid-form"' not in html
    assert "本标的未设底价" in html  # the reserve can no longer be entered: it is stated
    c3 = client_for(app, third.user)
    page = c3.get(f"/auctions/{w.code}/room").text
    assert 'data-testid="opt-in-not-eligible"' in page and 'data-testid="opt-in-button"' not in page
    refused = post(c3, f"/auctions/{w.code}/opt-in")
    assert refused.status_code == 403 and "有效报价" in refused.text
    assert post(c1, f"/auctions/{w.code}/opt-in").status_code == 302
    assert 'data-testid="opted-in"' in c1.get(f"/auctions/{w.code}/room").text
    assert post(client_for(app, b2.user), f"/auctions/{w.code}/opt-in").status_code == 302
    clock.set(fresh(w).deadline)
    services.tick(w.c_op, w.code)
    db.session.commit()
    html = c1.get(f"/auctions/{w.code}/room").text
    assert fresh(w).phase == "timed" and 'data-testid="bid-form"' in html and "限时竞价起始价" in html


def test_host_adjusts_the_increment_from_the_room(app, running, clock):
    w = running
    op = client_for(app, user_of(w.c_op))
    room = op.get(f"/auctions/{w.code}/room").text
    assert 'data-testid="adjust-increment"' in room
    b1 = client_for(app, w.buyers[0].user)
    assert 'data-testid="adjust-increment"' not in b1.get(f"/auctions/{w.code}/room").text
    assert post(b1, f"/auctions/{w.code}/increment", {"increment": "20000", "reason": "x"}).status_code == 403
    bad = post(op, f"/auctions/{w.code}/increment", {"increment": "20000", "reason": " "})
    assert bad.status_code == 422 and fresh(w).increment_fen == INC
    assert post(op, f"/auctions/{w.code}/increment", {"increment": "20000", "reason": "竞价激烈"}).status_code == 302
    assert fresh(w).increment_fen == 2 * INC
    page = b1.get(f"/auctions/{w.code}/room").text
    assert 'name="answers_increment" value="2000000"' in page and "20,000.00" in page
    # a bid confirmed on a page that still showed the old increment: refused, with the reason
    r = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "800000", "client_bid_id": "o1",
                                            "answers_increment": str(INC), "confirm": "1"})
    assert r.status_code == 409 and "加价幅度已调整" in r.text and n_bids() == 1 and fresh(w).price_fen is None
    ok = post(b1, f"/auctions/{w.code}/bid", {"answers_price": str(START), "amount": "800000", "client_bid_id": "o2",
                                             "answers_increment": str(2 * INC), "confirm": "1"})
    assert ok.status_code == 302 and fresh(w).price_fen == START


def test_lot_page_states_a_sealed_reserve_or_none(app, running, clock):
    w = running
    owner = client_for(app, w.owner)
    assert "底价（保留价）" not in owner.get(f"/auctions/{w.code}").text  # it may still be entered
    clock.set(w.auction.free_until)
    page = owner.get(f"/auctions/{w.code}").text
    assert "本标的未设底价（保留价），最高报价者竞得（《拍卖法》第五十条）" in page


# --- the custodians open the sealed reserve ------------------------------------------------------

def test_custodians_open_the_sealed_reserve_from_their_page(app, world, clock):
    from sqlalchemy import select as sel

    from tests.factories.auctions import close_listing, seal_reserve
    from tests.factories.custodians import ensure_custodians
    from trading.procedures.common.opening.models import CustodianShare, OpeningKey, ShareAttempt

    w = world
    seal_reserve(w, START + INC)
    a = started(w)
    place(w, w.buyers[0], START)
    place(w, w.buyers[1], START + 2 * INC)
    db.session.commit()
    people = {u.id: (u, p) for u, p in ensure_custodians(w.ctx)}
    key = db.session.execute(sel(OpeningKey).where(OpeningKey.lot_id == a.lot_id)).scalar_one()
    shares = db.session.execute(sel(CustodianShare).where(CustodianShare.opening_key_id == key.id)
                                .order_by(CustodianShare.x)).scalars().all()
    first, pw = people[shares[0].custodian_user_id]
    c = client_for(app, first)
    page = c.get(f"/auctions/{w.code}/custody")
    assert page.status_code == 200 and 'data-testid="custody-too-early"' in page.text  # bidding runs
    assert f"0 / {key.k}" in page.text and 'data-testid="share-form"' not in page.text
    mine = c.get("/opening/custody").text  # the custody list sends auction lots to this page
    assert f'href="/auctions/{w.code}/custody"' in mine
    close_listing(w)
    db.session.commit()
    assert fresh(w).basis == "awaiting_reserve"
    lot = c.get(f"/auctions/{w.code}").text
    assert 'data-testid="reserve-custody-link"' in lot
    page = c.get(f"/auctions/{w.code}/custody").text
    assert 'data-testid="share-form"' in page and "提交我的份额" in page
    wrong = post(c, f"/auctions/{w.code}/custody", {"passphrase": "not-it"}, token_path=f"/auctions/{w.code}/custody")
    assert wrong.status_code == 302
    assert db.session.execute(sel(func.count()).select_from(ShareAttempt)).scalar_one() == 1  # kept as evidence
    no_2fa = app.test_client()
    login_as(no_2fa, first, two_factor=False)
    # without a two-factor session: sent to the set-up page, or (TOTP enrolled) told to log in with it
    r = no_2fa.get(f"/auctions/{w.code}/custody")
    if r.status_code == 302:
        assert not r.headers["Location"].split("?")[0].endswith("/custody")
    else:
        assert "须以双因素认证登录" in r.text and 'data-testid="share-form"' not in r.text
        token = csrf_token(no_2fa, f"/auctions/{w.code}/custody")
        no_2fa.post(f"/auctions/{w.code}/custody", data={"csrf_token": token, "passphrase": pw})
        assert db.session.execute(sel(func.count()).select_from(ShareAttempt)).scalar_one() == 1  # nothing tried
    for share in shares[:key.k]:
        user, p = people[share.custodian_user_id]
        cl = client_for(app, user)
        r = post(cl, f"/auctions/{w.code}/custody", {"passphrase": p}, token_path=f"/auctions/{w.code}/custody")
        assert r.status_code == 302
    got = fresh(w)
    assert (got.reserve_fen, got.outcome, got.basis) == (START + INC, "sold", "sold_highest")
    assert 'data-testid="reserve-opened"' in c.get(f"/auctions/{w.code}/custody").text
    # strangers: a bidder is refused by role, an operator who holds no share by the service
    assert client_for(app, w.buyers[0].user).get(f"/auctions/{w.code}/custody").status_code == 403
    assert client_for(app, user_of(w.c_op)).get(f"/auctions/{w.code}/custody").status_code == 403


def test_custody_page_of_a_lot_without_a_sealed_reserve(app, world):
    from tests.factories.custodians import ensure_custodians

    user, _ = ensure_custodians(world.ctx)[0]
    assert client_for(app, user).get(f"/auctions/{world.code}/custody").status_code == 404
