"""Custodian pages: my custody (enrol, list), one lot's share form (only after the deadline, with a
two-factor session), the share download, and the printable opening record with confirm/dispute."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.custodians import add_offer, ensure_custodians, sealed_lot
from trading.accounts.models import CustodianKey
from trading.extensions import db
from trading.procedures.common.opening.models import RecordResponse, ShareAttempt


@pytest.fixture
def lot(ctx):
    people = ensure_custodians(ctx)
    trade, key = sealed_lot(ctx)
    by_id = {u.id: (u, p) for u, p in people}
    holders = [by_id[s.custodian_user_id] for s in key.shares]
    bidders = [add_offer(ctx, trade, key, price_fen=p)[0] for p in (1_000_00, 1_100_00, 1_200_00)]
    db.session.commit()
    return trade, holders, bidders


def test_enrol_on_the_custody_page(client, ctx):
    expert = make_user(ctx, "expert", totp=True)
    login_as(client, expert)
    page = client.get("/opening/custody")
    assert page.status_code == 200 and 'data-testid="custody-no-key"' in page.get_data(as_text=True)
    token = csrf_token(client, "/opening/custody")
    resp = client.post("/opening/custody/enrol", data={"csrf_token": token, "passphrase": "expert pass 2026",
                                                        "passphrase_again": "expert pass 2026"})
    assert resp.status_code == 302
    assert db.session.execute(select(CustodianKey).where(CustodianKey.user_id == expert.id)).scalar_one()
    assert 'data-testid="custody-key"' in client.get("/opening/custody").get_data(as_text=True)


def test_enrol_refuses_a_mismatch_and_a_weak_passphrase(client, ctx):
    expert = make_user(ctx, "expert", totp=True)
    login_as(client, expert)
    token = csrf_token(client, "/opening/custody")
    client.post("/opening/custody/enrol", data={"csrf_token": token, "passphrase": "expert pass 2026",
                                                 "passphrase_again": "other"})
    client.post("/opening/custody/enrol", data={"csrf_token": token, "passphrase": "short1",
                                                 "passphrase_again": "short1"})
    assert db.session.execute(select(CustodianKey)).first() is None


def test_expert_without_two_factor_is_told_to_enable_it(client, ctx):
    expert = make_user(ctx, "expert")
    login_as(client, expert)
    assert 'data-testid="custody-needs-2fa"' in client.get("/opening/custody").get_data(as_text=True)


def test_bidders_cannot_see_custody(client, ctx):
    login_as(client, make_user(ctx, "bidder"))
    assert client.get("/opening/custody").status_code == 403


def test_custody_list_form_after_deadline_and_record(client, clock, ctx, lot):
    trade, holders, bidders = lot
    user, pw = holders[0]
    login_as(client, user)
    html = client.get("/opening/custody").get_data(as_text=True)
    assert trade.lot_code in html and 'data-testid="custody-row"' in html
    lot_page = client.get(f"/opening/custody/{trade.lot_code}").get_data(as_text=True)
    assert 'data-testid="custody-too-early"' in lot_page and 'data-testid="share-form"' not in lot_page
    blob = client.get(f"/opening/custody/{trade.lot_code}/share.json")
    assert blob.status_code == 200 and json.loads(blob.data)["x"] == 1
    assert "attachment" in blob.headers["Content-Disposition"]
    # the record does not exist yet
    assert client.get(f"/opening/{trade.lot_code}/record").status_code == 404
    clock.set(trade.deadline_at + timedelta(minutes=1))
    lot_page = client.get(f"/opening/custody/{trade.lot_code}").get_data(as_text=True)
    assert 'data-testid="share-form"' in lot_page
    token = csrf_token(client, f"/opening/custody/{trade.lot_code}")
    # a wrong passphrase is refused and the attempt kept
    client.post(f"/opening/custody/{trade.lot_code}", data={"csrf_token": token, "passphrase": "wrong one 1"})
    assert db.session.execute(select(ShareAttempt.outcome)).scalars().all() == ["wrong_passphrase"]
    for holder in holders[:3]:
        login_as(client, holder[0])
        token = csrf_token(client, f"/opening/custody/{trade.lot_code}")
        resp = client.post(f"/opening/custody/{trade.lot_code}", data={"csrf_token": token, "passphrase": holder[1]})
        assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/opening/{trade.lot_code}/record")
    record = client.get(f"/opening/{trade.lot_code}/record").get_data(as_text=True)
    assert "人民币壹仟元整" in record and 'data-testid="record-table"' in record
    # a bidder confirms on the page
    login_as(client, bidders[0])
    page = client.get(f"/opening/{trade.lot_code}/record").get_data(as_text=True)
    assert 'data-testid="respond-form"' in page
    token = csrf_token(client, f"/opening/{trade.lot_code}/record")
    client.post(f"/opening/{trade.lot_code}/record/respond", data={"csrf_token": token, "response": "dispute",
                                                                  "reason": "报价有误"})
    row = db.session.execute(select(RecordResponse)).scalar_one()
    assert row.response == "dispute"
    # the host answers on the spot
    host = make_user(ctx, "operator", totp=True)
    login_as(client, host)
    token = csrf_token(client, f"/opening/{trade.lot_code}/record")
    client.post(f"/opening/{trade.lot_code}/record/responses/{row.id}/reply",
                data={"csrf_token": token, "reply": "已核对，无误。"})
    db.session.refresh(row)
    assert row.reply == "已核对，无误。"
    assert "已核对，无误。" in client.get(f"/opening/{trade.lot_code}/record").get_data(as_text=True)


def test_share_form_needs_a_two_factor_session(client, clock, ctx, lot):
    trade, holders, _ = lot
    user, _ = next(h for h in holders if h[0].role == "expert")  # operators need two-factor for every page anyway
    login_as(client, user, two_factor=False)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    page = client.get(f"/opening/custody/{trade.lot_code}").get_data(as_text=True)
    assert 'data-testid="share-form"' not in page and "双因素认证登录" in page
    token = csrf_token(client, f"/opening/custody/{trade.lot_code}")
    client.post(f"/opening/custody/{trade.lot_code}", data={"csrf_token": token, "passphrase": "x"})
    assert db.session.execute(select(ShareAttempt)).first() is None
