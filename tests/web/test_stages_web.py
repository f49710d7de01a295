"""The lot's stage page: the owner sees where the lot stands and a button for each step listed for
its role; a step posted without its reason or approval reference is a 4xx with nothing changed; a
step taken shows in the history with old → new; other owners get the 404 of an unknown lot and a
bidder the page for its role."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.stages import register_bidders, stage_lot
from trading.audit.models import AuditEntry
from trading.extensions import db
from trading.procedures.common.models import LotTrade


@pytest.fixture
def failed(ctx):
    lot = stage_lot(ctx, "selection", "failed")
    db.session.commit()
    return lot


def _status(lot) -> str:
    db.session.expire_all()
    return db.session.get(LotTrade, lot.trade.lot_id).status


def test_owner_sees_the_stage_and_its_steps(client, failed):
    login_as(client, failed.owner)
    r = client.get(f"/stages/{failed.code}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-status="failed"' in html and 'data-testid="stage-path"' in html
    for action in ("reannounce", "switch_method", "cancel"):
        assert f'data-action="{action}"' in html
    assert "/notices/manage/new?project_id=" in html


def test_cancel_without_a_reason_is_refused_and_changes_nothing(client, failed):
    login_as(client, failed.owner)
    token = csrf_token(client, f"/stages/{failed.code}")
    r = client.post(f"/stages/{failed.code}/cancel", data={"csrf_token": token, "reason": " "})
    assert r.status_code == 422 and "请写明理由" in r.get_data(as_text=True)
    assert _status(failed) == "failed"
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "lot.cancel")).first() is None


def test_cancel_with_a_reason_terminates_and_shows_in_the_history(client, failed):
    login_as(client, failed.owner)
    token = csrf_token(client, f"/stages/{failed.code}")
    r = client.post(f"/stages/{failed.code}/cancel", data={"csrf_token": token, "reason": "项目取消"},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _status(failed) == "terminated"
    assert "项目取消" in html and 'data-status="terminated"' in html


def test_switch_method_records_the_approval_reference(client, failed):
    login_as(client, failed.owner)
    token = csrf_token(client, f"/stages/{failed.code}")
    r = client.post(f"/stages/{failed.code}/switch_method", data={"csrf_token": token, "approval_ref": "",
                                                                  "new_procedure": "negotiation"})
    assert r.status_code == 422 and _status(failed) == "failed"
    r = client.post(f"/stages/{failed.code}/switch_method", data={
        "csrf_token": token, "approval_ref": "县财采〔2026〕15号", "new_procedure": "negotiation"})
    assert r.status_code == 302 and _status(failed) == "terminated"
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "lot.switch_method")).scalar_one()
    assert json.loads(entry.body)["payload"]["detail"]["approval_ref"] == "县财采〔2026〕15号"


def test_a_step_this_page_does_not_take_is_a_404(client, failed):
    login_as(client, failed.owner)
    token = csrf_token(client, f"/stages/{failed.code}")
    r = client.post(f"/stages/{failed.code}/award", data={"csrf_token": token})
    assert r.status_code == 404 and _status(failed) == "failed"


def test_other_owner_gets_404_and_bidder_is_refused(client, ctx, failed):
    other = make_user(ctx, "owner")
    bidder = make_user(ctx, "bidder")
    db.session.commit()
    login_as(client, other)
    assert client.get(f"/stages/{failed.code}").status_code == 404
    token = csrf_token(client, "/projects/")
    assert client.post(f"/stages/{failed.code}/cancel", data={"csrf_token": token, "reason": "x"}).status_code == 404
    assert _status(failed) == "failed"
    login_as(client, bidder)
    assert client.get(f"/stages/{failed.code}").status_code == 403


def test_the_centre_fails_a_lot_with_too_few_applicants_at_the_deadline(client, ctx, clock):
    lot = stage_lot(ctx, "selection", "accepting")
    register_bidders(ctx, lot.trade, 2)
    op = make_user(ctx, "operator", totp=True)
    db.session.commit()
    login_as(client, op)
    html = client.get(f"/stages/{lot.code}").get_data(as_text=True)
    assert 'data-action="fail"' not in html            # before the deadline: nothing to fail
    clock.set(lot.trade.deadline_at)
    html = client.get(f"/stages/{lot.code}").get_data(as_text=True)
    assert 'data-status="closed"' in html and 'data-action="fail"' in html
    token = csrf_token(client, f"/stages/{lot.code}")
    r = client.post(f"/stages/{lot.code}/fail", data={"csrf_token": token})
    assert r.status_code == 302 and _status(lot) == "failed"


def test_the_history_lists_the_opening_the_opening_code_took_itself(client, ctx, clock):
    from tests.factories.custodians import sealed_lot
    from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price

    owner = make_user(ctx, "owner")
    trade, _ = sealed_lot(ctx, procedure="selection", owner=owner)
    for i, b in enumerate(registered_bidders(ctx, trade.lot_code, 3)):
        submit_price(b, trade.lot_code, 900_000_00 + i)
    clock.set(trade.deadline_at)
    open_by_custodians(ctx, trade.lot_code)
    db.session.commit()
    login_as(client, owner)
    html = client.get(f"/stages/{trade.lot_code}").get_data(as_text=True)
    history = html.split('data-testid="stage-history"', 1)[1].split("</ol>", 1)[0]
    assert "开标" in history and "已开标" in history, history


def test_an_opening_that_ends_in_failure_does_not_read_as_opened(client, ctx, clock):
    from tests.factories.custodians import sealed_lot
    from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price

    owner = make_user(ctx, "owner")
    trade, _ = sealed_lot(ctx, procedure="selection", owner=owner)
    for i, b in enumerate(registered_bidders(ctx, trade.lot_code, 2)):  # two offers: 流标 at the opening
        submit_price(b, trade.lot_code, 900_000_00 + i)
    clock.set(trade.deadline_at)
    open_by_custodians(ctx, trade.lot_code)
    db.session.commit()
    login_as(client, owner)
    html = client.get(f"/stages/{trade.lot_code}").get_data(as_text=True)
    history = html.split('data-testid="stage-history"', 1)[1].split("</ol>", 1)[0]
    assert "已开标" not in history and "开标中 → 流标" in history, history
