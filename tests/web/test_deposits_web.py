"""Deposit pages: the bidder's 我的保证金 (figures, 大写, sub-account, due time, arrival, refund), the
centre's ledger with CSV import (report, re-import, malformed → 422 and nothing written), the lot page
after the deadline only, the owner's amount form; every role gets the page meant for it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.deposits import deposit_lot, registered_account, statement_csv
from tests.timeline import T0
from trading.accounts.models import Organisation
from trading.core.clock import beijing
from trading.extensions import db
from trading.procedures.common.deposits.models import DepositEntry


@pytest.fixture
def world(ctx):
    owner, trade = deposit_lot(ctx, deposit_yuan=12_345)
    b1, b2 = make_user(ctx, "bidder"), make_user(ctx, "bidder")
    op = make_user(ctx, "operator", totp=True)
    sup = make_user(ctx, "supervisor", totp=True)
    acc = registered_account(ctx, trade, b1)
    return dict(owner=owner, trade=trade, b1=b1, b2=b2, op=op, sup=sup, acc=acc, code=trade.lot_code)


def page(client, user, path):
    login_as(client, user)
    r = client.get(path)
    return r, r.get_data(as_text=True)


def upload(client, data: bytes, name="流水.csv"):
    token = csrf_token(client, "/deposits/")
    return client.post("/deposits/statements", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_bidder_sees_its_sub_account_with_capitals(client, world):
    r, html = page(client, world["b1"], "/deposits/mine")
    assert r.status_code == 200
    assert "12,345.00" in html and "人民币壹万贰仟叁佰肆拾伍元整" in html
    assert " ".join(world["acc"].virtual_account[i:i + 4] for i in range(0, 19, 4)) in html
    assert "北京时间" in html and 'data-status="awaiting"' in html
    r, html = page(client, world["b2"], "/deposits/mine")
    assert 'data-testid="no-deposits"' in html and world["acc"].virtual_account not in html


@pytest.mark.parametrize("role, path, status", [
    ("owner", "/deposits/", 403), ("agency", "/deposits/", 403), ("bidder", "/deposits/", 403),
    ("expert", "/deposits/", 403), ("operator", "/deposits/mine", 403), ("owner", "/deposits/mine", 403),
])
def test_pages_for_the_wrong_role(client, ctx, world, role, path, status):
    user = make_user(ctx, role, totp=role in ("operator", "supervisor"))
    r, _ = page(client, user, path)
    assert r.status_code == status


def test_centre_ledger_hides_bidders_before_the_deadline(client, world, clock):
    login_as(client, world["op"])
    r = upload(client, statement_csv([(T0, world["acc"].virtual_account, "示范建筑付款户", "6222000011112222",
                                       "12345.00", "B100")]))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="import-report"' in html
    bidder = db.session.get(Organisation, world["b1"].org_id).name
    r, html = page(client, world["op"], "/deposits/")
    assert world["acc"].virtual_account in html and "示范建筑付款户" in html  # payer: the centre only
    assert bidder not in html and world["code"] not in html
    r, html = page(client, world["sup"], "/deposits/")
    assert r.status_code == 200 and "示范建筑付款户" not in html and bidder not in html
    assert 'action="/deposits/statements"' not in html  # supervisors read, they do not import
    clock.set(world["trade"].deadline_at + timedelta(minutes=1))
    r, html = page(client, world["op"], "/deposits/")
    assert bidder in html and world["code"] in html


def test_reimport_and_malformed_file(client, world):
    login_as(client, world["op"])
    data = statement_csv([(T0, world["acc"].virtual_account, "甲", "1", "100", "B1"),
                          (T0, "8810019999999999990", "乙", "2", "5", "B2")], encoding="gb18030")
    html = upload(client, data).get_data(as_text=True)
    assert 'data-unmatched="B2"' in html and 'data-partial="' in html
    html = upload(client, data).get_data(as_text=True)
    assert 'data-testid="nothing-changed"' in html
    before = db.session.execute(select(func.count()).select_from(DepositEntry)).scalar()
    bad = data + "2026-11-20 10:00:00,1234567890,丙,3,abc,B3\r\n".encode("gb18030")
    r = upload(client, bad)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "第 4 行" in html and "金额" in html
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(DepositEntry)).scalar() == before


def test_lot_page_only_after_the_deadline(client, world, clock):
    r, html = page(client, world["owner"], f"/deposits/lots/{world['code']}")
    assert r.status_code == 409 and 'data-testid="refusal"' in html
    bidder = db.session.get(Organisation, world["b1"].org_id).name
    assert bidder not in html
    r, _ = page(client, world["b2"], f"/deposits/lots/{world['code']}")
    assert r.status_code == 403
    clock.set(world["trade"].deadline_at)
    for who in ("owner", "op", "sup"):
        r, html = page(client, world[who], f"/deposits/lots/{world['code']}")
        assert r.status_code == 200 and bidder in html, who
        assert ('登记退还' in html) is (who == "op")
    other_owner = make_user_in(world, "owner")
    r, _ = page(client, other_owner, f"/deposits/lots/{world['code']}")
    assert r.status_code == 404


def make_user_in(world, role):
    from tests.factories.accounts import make_user as mk
    from trading.core.context import ServiceContext
    return mk(ServiceContext(session=db.session), role)


def test_centre_records_a_refund(client, world, clock):
    login_as(client, world["op"])
    upload(client, statement_csv([(T0, world["acc"].virtual_account, "甲", "1", "12345", "B1")]))
    clock.set(beijing(2026, 12, 14, 10, 0))
    token = csrf_token(client, f"/deposits/lots/{world['code']}")
    r = client.post(f"/deposits/lots/{world['code']}/refund-event",
                    data={"csrf_token": token, "event": "contract", "at": "2026-12-14 09:00", "winner": "", "account": ""})
    assert r.status_code == 302
    r, html = page(client, world["op"], "/deposits/")
    assert 'data-testid="refund-row" data-light="green"' in html
    token = csrf_token(client, "/deposits/")
    r = client.post(f"/deposits/lots/{world['code']}/accounts/{world['acc'].id}/refund",
                    data={"csrf_token": token, "amount": "1.005", "bank_ref": "RF1", "note": ""})
    assert r.status_code == 422
    r = client.post(f"/deposits/lots/{world['code']}/accounts/{world['acc'].id}/refund",
                    data={"csrf_token": token, "amount": "12345.00", "bank_ref": "RF1", "note": ""})
    assert r.status_code == 302
    r, html = page(client, world["b1"], "/deposits/mine")
    assert 'data-status="refunded"' in html and "元已退还" in html


def test_owner_sets_the_amount(client, world, ctx):
    owner2, trade = deposit_lot(ctx, deposit_yuan=None)
    login_as(client, owner2)
    path = f"/deposits/lots/{trade.lot_code}/amount"
    r = client.get(path)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-cap="1600000"' in html and "比选" in html
    token = csrf_token(client, path)
    r = client.post(path, data={"csrf_token": token, "deposit": "16000.01"})
    assert r.status_code == 422 and "超过上限" in r.get_data(as_text=True)
    r = client.post(path, data={"csrf_token": token, "deposit": "8,000"})
    assert r.status_code == 302
    db.session.expire_all()
    assert trade.deposit_fen == 800_000
    # registration started: the form stays open (locking it would reveal the registration)
    r, html = page(client, world["owner"], f"/deposits/lots/{world['code']}/amount")
    assert r.status_code == 200 and 'data-testid="locked"' not in html and 'name="deposit"' in html
    # someone else's lot: 404
    r, _ = page(client, world["owner"], path)
    assert r.status_code == 404


def test_project_page_links_to_the_amount_page(client, world):
    from trading.procedures.common.models import LotTrade
    trade = db.session.get(LotTrade, world["trade"].lot_id)
    r, html = page(client, world["owner"], f"/projects/{trade.project_id}")
    assert r.status_code == 200 and f"/deposits/lots/{trade.lot_code}/amount" in html
