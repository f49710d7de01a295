"""Award pages: the owner publishes the candidate publicity, a refused award shows its reason with a
4xx and writes nothing, the bidder's objection form exists only during the window (an objection
after it: 4xx with a clear message, nothing written), the letter downloads as PDF for its bidder."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.awards import propose, reported_lot
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.extensions import db
from trading.procedures.common.awards.models import Award, Objection

PUBLICITY_END = beijing(2026, 11, 27)


@pytest.fixture
def w(ctx):
    w = reported_lot(ctx, procedure="selection", bidders=3)
    propose(w, [900_000_00, 950_000_00, 990_000_00])
    return w


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def post(client, user, page_path, path, data):
    login_as(client, user)
    token = csrf_token(client, page_path)
    return client.post(path, data={"csrf_token": token, **data})


def test_owner_publishes_then_award_refused_before_the_end(client, clock, w):
    code = w.trade.lot_code
    r = post(client, w.owner, f"/awards/lots/{code}", f"/awards/lots/{code}/publish", {})
    assert r.status_code == 302
    html = client.get(f"/awards/lots/{code}").get_data(as_text=True)
    assert "候选人公示期" in html and "2026年11月26日24时" in html and "人民币玖拾万元整" in html
    entries = count(AuditEntry)
    r = client.post(f"/awards/lots/{code}/award", data={"csrf_token": csrf_token(client, f"/awards/lots/{code}"),
                                                         "bidder_org_id": str(w.bidders[0].org_id)})
    assert r.status_code == 422 and "公示期至" in r.get_data(as_text=True)
    assert count(Award) == 0 and count(AuditEntry) == entries
    assert client.get("/awards/").status_code == 200


def test_objection_form_only_during_the_window_and_refused_after(client, clock, w):
    from trading.procedures.common.awards import services

    services.publish_candidates(w.c_owner, w.trade.lot_code)
    code = w.trade.lot_code
    login_as(client, w.bidders[1])
    html = client.get("/awards/mine").get_data(as_text=True)
    assert f'href="/awards/bid/{code}"' in html and "公示中，可提出异议" in html
    html = client.get(f"/awards/bid/{code}").get_data(as_text=True)
    assert 'data-testid="objection-form"' in html and "人民币玖拾伍万元整" in html
    clock.set(PUBLICITY_END)
    html = client.get(f"/awards/bid/{code}").get_data(as_text=True)
    assert 'data-testid="objection-form"' not in html and 'data-testid="objection-closed"' in html
    before = (count(Objection), count(AuditEntry))
    token = csrf_token(client, "/awards/mine")
    r = client.post(f"/awards/bid/{code}/objection", data={"csrf_token": token, "text": "公示期满后提出的异议内容。"})
    assert r.status_code == 422 and "异议期已于" in r.get_data(as_text=True)
    assert (count(Objection), count(AuditEntry)) == before
    # a bidder that did not take part sees the 404 of an unknown lot
    login_as(client, make_user(w.c_owner, "bidder"))
    assert client.get(f"/awards/bid/{code}").status_code == 404


def test_bidder_downloads_its_letter(client, clock, w):
    from trading.procedures.common.awards import result, services

    services.publish_candidates(w.c_owner, w.trade.lot_code)
    clock.set(PUBLICITY_END)
    row = result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
    login_as(client, w.bidders[0])
    assert "下载 PDF" in client.get("/awards/mine").get_data(as_text=True)
    r = client.get(f"/awards/letters/{row.letters[0].id}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert client.get(f"/awards/letters/{row.letters[1].id}.pdf").status_code == 404


def test_contract_reminders_for_the_owner_and_the_supervisor(client, clock, w):
    from trading.procedures.common.awards import result, services

    services.publish_candidates(w.c_owner, w.trade.lot_code)
    clock.set(PUBLICITY_END)
    row = result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
    login_as(client, make_user(w.c_owner, "supervisor", totp=True))
    assert 'data-testid="no-contracts-due"' in client.get("/awards/").get_data(as_text=True)
    clock.set(row.contract_due_at)
    html = client.get("/awards/").get_data(as_text=True)
    assert w.trade.lot_code in html and 'data-light="red"' in html
    login_as(client, w.owner)
    html = client.get("/awards/").get_data(as_text=True)
    assert 'data-light="red"' in html and "已逾期" in html


def test_gp_pages_through_confirmation_award_and_contract(client, ctx, clock):
    from trading.procedures.common.awards import result

    g = reported_lot(ctx, procedure="inquiry", bidders=3, deposit_yuan=1_000)
    propose(g, [450_000_00, 470_000_00, 480_000_00])
    code = g.trade.lot_code
    login_as(client, g.owner)
    html = client.get(f"/awards/lots/{code}").get_data(as_text=True)
    assert "确定成交供应商" in html and "2026年11月30日24时" in html
    r = post(client, g.owner, f"/awards/lots/{code}", f"/awards/lots/{code}/confirm",
             {"bidder_org_id": str(g.bidders[0].org_id)})
    assert r.status_code == 302
    r = post(client, g.owner, f"/awards/lots/{code}", f"/awards/lots/{code}/award",
             {"bidder_org_id": str(g.bidders[0].org_id), "team_names": "王专家\n李专家\n采购人代表赵某"})
    assert r.status_code == 302
    html = client.get(f"/awards/lots/{code}").get_data(as_text=True)
    assert "人民币肆拾伍万元整" in html and "登记合同" in html
    login_as(client, g.bidders[2])
    html = client.get(f"/awards/bid/{code}").get_data(as_text=True)
    assert 'data-testid="objection-form"' in html and "提出质疑" in html and 'data-testid="letter-link"' in html
    r = post(client, g.owner, f"/awards/lots/{code}", f"/awards/lots/{code}/contract",
             {"signed_on": "2026-11-23", "amount": "450000.00", "note": ""})
    assert r.status_code == 302
    assert "合同签订日期 2026-11-23" in client.get(f"/awards/lots/{code}").get_data(as_text=True)
    assert result.award_of_lot(ctx, g.trade.lot_id).rank == 1
