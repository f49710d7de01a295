"""Complaint pages: the bidder files through the form (with an evidence file) and sees its own list; a
late filing shows the reason with a 4xx and writes nothing; the supervisor sees the clocks with lights,
accepts, pauses, decides; the decision is public; refusals for the wrong roles."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.complaints import objected_lot
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.extensions import db
from trading.supervision.complaints import services
from trading.supervision.complaints.models import Complaint

FACTS = "第一名的业绩证明材料与实际不符，评审委员会未予核实。"


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def w(ctx):
    return objected_lot(ctx)


def form(w, **kw) -> dict:
    data = {"lot_code": w.trade.lot_code, "matter": "result", "known_on": "2026-11-25",
            "objection_id": str(w.objection.id), "facts": FACTS, "request": "请责令重新评审"}
    data.update(kw)
    return data


def file_by_form(client, w, **kw):
    login_as(client, w.bidders[1])
    token = csrf_token(client, f"/complaints/new?lot_code={w.trade.lot_code}")
    data = {"csrf_token": token, **form(w, **kw), "files": (io.BytesIO(b"%PDF-1.4 evidence"), "证明.pdf")}
    return client.post("/complaints/new", data=data, content_type="multipart/form-data")


def test_bidder_files_through_the_form_and_sees_it(client, w):
    page = client.get(f"/complaints/new?lot_code={w.trade.lot_code}")
    assert page.status_code == 302  # not signed in: the log-in page
    login_as(client, w.bidders[1])
    bid = client.get(f"/awards/bid/{w.trade.lot_code}").get_data(as_text=True)
    assert f'href="/complaints/new?lot_code={w.trade.lot_code}"' in bid  # from the bidder's result page
    html = client.get(f"/complaints/new?lot_code={w.trade.lot_code}").get_data(as_text=True)
    assert f'value="{w.objection.id}"' in html  # its own objection is offered
    r = file_by_form(client, w)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    c = db.session.execute(select(Complaint)).scalar_one()
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "第一名的业绩证明材料" in detail and "证明.pdf" in detail and "行政监督部门" in detail
    assert "2026-12-01 24:00" in detail  # acceptance review due
    f = client.get(f"/complaints/{c.id}/files/{c.files[0].id}")
    assert f.status_code == 200 and f.data == b"%PDF-1.4 evidence"
    listing = client.get("/complaints/").get_data(as_text=True)
    assert f'data-id="{c.id}"' in listing and "提出投诉" in listing


def test_late_or_unprefaced_filing_shows_the_reason_and_writes_nothing(client, clock, w):
    entries = count(AuditEntry)
    r = file_by_form(client, w, objection_id="")
    assert r.status_code == 422 and "应当先提出异议" in r.get_data(as_text=True)
    clock.set(beijing(2026, 12, 8))  # the window closed at 24:00 on 7 Dec
    r = file_by_form(client, w)
    assert r.status_code == 422 and "已超过法定投诉期限" in r.get_data(as_text=True)
    assert count(Complaint) == 0 and count(AuditEntry) == entries


def test_supervisor_list_lights_and_the_workflow(client, clock, w):
    c = services.file_complaint(w.c_bidders[1], w.trade.lot_code, matter="result", facts=FACTS, request="请责令重新评审",
                                known_on=date(2026, 11, 25), objection_id=w.objection.id)
    clock.set(beijing(2026, 11, 30, 9))  # 39 h before the acceptance is due: yellow
    login_as(client, w.supervisor)
    assert "url_for" not in (ws := client.get("/supervise/").get_data(as_text=True)) and "/complaints/" in ws
    listing = client.get("/complaints/").get_data(as_text=True)
    assert 'data-light="yellow"' in listing and "受理审查" in listing
    token = csrf_token(client, f"/complaints/{c.id}")
    assert client.post(f"/complaints/{c.id}/accept", data={"csrf_token": token}).status_code == 302
    r = client.post(f"/complaints/{c.id}/pause", data={"csrf_token": token, "kind": "expert_review", "reason": "组织专家复核"})
    assert r.status_code == 302
    html = client.get(f"/complaints/{c.id}").get_data(as_text=True)
    assert "中止计算" in html and "专家评审" in html and "resume-form" in html
    # deciding while paused is refused with its reason
    r = client.post(f"/complaints/{c.id}/decide", data={"csrf_token": token, "outcome": "dismissed",
                                                        "decision": "经调查，投诉事项缺乏事实依据，予以驳回。"})
    assert r.status_code == 409 and "请先恢复计时" in r.get_data(as_text=True)
    clock.advance(timedelta(days=2))
    assert client.post(f"/complaints/{c.id}/resume", data={"csrf_token": token}).status_code == 302
    r = client.post(f"/complaints/{c.id}/decide", data={"csrf_token": token, "outcome": "dismissed",
                                                        "decision": "经调查，投诉事项缺乏事实依据，予以驳回。"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "decided"
    # public: the decision is listed for anyone
    client.get("/auth/logout")
    public = client.application.test_client().get("/complaints/decisions")
    assert public.status_code == 200 and "投诉处理决定公告" in public.get_data(as_text=True)
    assert "缺乏事实依据" in public.get_data(as_text=True) and "驳回投诉" in public.get_data(as_text=True)


def test_permission_refusals(app, client, ctx, w):
    c = services.file_complaint(w.c_bidders[1], w.trade.lot_code, matter="result", facts=FACTS, request="请责令重新评审",
                                known_on=date(2026, 11, 25), objection_id=w.objection.id)
    db.session.commit()
    # the respondent owner: 404 before acceptance
    login_as(client, w.owner)
    assert client.get(f"/complaints/{c.id}").status_code == 404
    assert f'data-id="{c.id}"' not in client.get("/complaints/").get_data(as_text=True)
    # another bidder: 404; the complainant cannot accept
    other = app.test_client()
    login_as(other, w.bidders[2])
    assert other.get(f"/complaints/{c.id}").status_code == 404
    bidder = app.test_client()
    login_as(bidder, w.bidders[1])
    token = csrf_token(bidder, f"/complaints/{c.id}")
    assert bidder.post(f"/complaints/{c.id}/accept", data={"csrf_token": token}).status_code == 403
    # the operator has no complaint pages
    op = app.test_client()
    login_as(op, make_user(ctx, "operator", totp=True))
    assert op.get("/complaints/").status_code == 403
    # a supervisor cannot withdraw for the complainant
    sup = app.test_client()
    login_as(sup, w.supervisor)
    token = csrf_token(sup, f"/complaints/{c.id}")
    assert sup.post(f"/complaints/{c.id}/withdraw", data={"csrf_token": token, "reason": "代为撤回"}).status_code == 403
    assert sup.post(f"/complaints/{c.id}/accept", data={"csrf_token": token}).status_code == 302
    # after acceptance the respondent sees it; the complainant withdraws
    assert client.get(f"/complaints/{c.id}").status_code == 200
    r = bidder.post(f"/complaints/{c.id}/withdraw", data={"csrf_token": csrf_token(bidder, f"/complaints/{c.id}"),
                                                          "reason": "已与招标人协商解决"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Complaint, c.id).status == "withdrawn"


def test_documents_complaint_through_the_form_with_a_written_objection(client, w):
    r = file_by_form(client, w, matter="documents", objection_id="", known_on="2026-11-20",
                     declared_note="书面异议，招标人签收", declared_filed_on="2026-11-20", declared_answered_on="2026-11-23")
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "书面异议，招标人签收" in html and "2026-11-23" in html
    r = file_by_form(client, w, matter="documents", objection_id="", declared_note="书面异议", declared_filed_on="")
    assert r.status_code == 422 and "提出之日" in r.get_data(as_text=True)
