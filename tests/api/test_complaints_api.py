"""/api/v1 complaints: filing (201, with a Base64 evidence file), the refusals (late, no prior objection,
bad body) with nothing written, the supervisor's steps, the clocks list, the public decisions and the
permission refusals."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import make_user
from tests.factories.complaints import objected_lot
from trading.core.clock import beijing
from trading.extensions import db

FACTS = "第一名的业绩证明材料与实际不符，评审委员会未予核实。"


@pytest.fixture
def w(ctx):
    w = objected_lot(ctx)
    db.session.commit()
    return w


def body(w, **kw) -> dict:
    out = {"matter": "result", "facts": FACTS, "request": "请责令重新评审", "known_on": "2026-11-25",
           "objection_id": w.objection.id,
           "files": [{"name": "证明.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 x").decode()}]}
    out.update(kw)
    return out


def test_file_and_handle_through_the_api(app, clock, w):
    bidder, sup = Caller(app, w.bidders[1]), Caller(app, w.supervisor)
    r = bidder.post(f"/lots/{w.trade.lot_code}/complaints", body(w))
    assert r.status_code == 201, r.json
    c = r.json
    assert c["status"] == "filed" and c["department"] == "行政监督部门" and c["regime"] == "tender_law"
    assert c["accept_due_at"] == "2026-12-02T00:00:00+08:00" and c["window_closes_at"] == "2026-12-08T00:00:00+08:00"
    assert c["files"][0]["name"] == "证明.pdf" and c["clocks"][0]["step"] == "accept"
    cid = c["id"]
    clocks = sup.get("/complaints/clocks").json["items"]
    assert [(x["complaint_id"], x["step"], x["light"]) for x in clocks] == [(cid, "accept", "green")]
    assert sup.post(f"/complaints/{cid}/accept").json["status"] == "accepted"
    r = sup.post(f"/complaints/{cid}/suspension", {"days": 31, "reason": "暂停采购活动待查"})
    assert r.status_code == 422 and r.json["error"] == "complaint.suspension_days"
    r = sup.post(f"/complaints/{cid}/suspension", {"days": 10, "reason": "暂停采购活动待查"})
    assert r.json["suspension"]["active"] and r.json["suspension"]["ends_at"] == "2026-12-07T00:00:00+08:00"
    assert sup.post(f"/complaints/{cid}/suspension/lift", {"reason": "无需继续暂停"}).json["suspension"]["active"] is False
    r = sup.post(f"/complaints/{cid}/pause", {"kind": "testing", "reason": "委托检测机构检测"})
    assert r.json["decide_due_at"] is None and r.json["clocks"][0]["paused"]
    clock.advance(timedelta(days=1))
    assert sup.post(f"/complaints/{cid}/resume").json["decide_due_at"]
    r = sup.post(f"/complaints/{cid}/decision", {"outcome": "upheld", "decision": "经调查，投诉事项成立，责令重新评审。"})
    assert r.status_code == 200 and r.json["outcome"] == "upheld"
    public = Caller(app).get("/complaint-decisions")
    assert public.status_code == 200 and public.json["items"][0]["id"] == cid
    assert bidder.get(f"/complaints/{cid}").json["status"] == "decided"


def test_refusals_write_nothing(app, clock, w):
    bidder = Caller(app, w.bidders[1])
    path = f"/lots/{w.trade.lot_code}/complaints"
    before = audit_next_seq()
    r = bidder.post(path, body(w, objection_id=None))
    assert r.status_code == 422 and r.json["error"] == "complaint.objection_required" and r.json["field"] == "objection_id"
    r = bidder.post(path, body(w, matter="rumour"))
    assert r.status_code == 422 and "matter" in r.json["fields"]
    r = bidder.post(path, body(w, files=[{"name": "x.pdf", "content_base64": "不是base64"}]))
    assert r.status_code == 422 and r.json["error"] == "complaint.file_base64"
    clock.set(beijing(2026, 12, 8))
    r = bidder.post(path, body(w))
    assert r.status_code == 422 and r.json["error"] == "complaint.window_closed" and r.json["message"]
    assert bidder.post("/lots/NO-SUCH-LOT/complaints", body(w)).status_code == 404
    assert audit_next_seq() == before


def test_permissions(app, ctx, w):
    bidder, sup, owner = Caller(app, w.bidders[1]), Caller(app, w.supervisor), Caller(app, w.owner)
    other = Caller(app, w.bidders[2])
    op = Caller(app, make_user(ctx, "operator", totp=True))
    cid = bidder.post(f"/lots/{w.trade.lot_code}/complaints", body(w)).json["id"]
    before = audit_next_seq()
    assert Caller(app).get("/complaints").status_code == 401
    assert owner.post(f"/lots/{w.trade.lot_code}/complaints", body(w)).status_code == 403
    assert bidder.post(f"/complaints/{cid}/accept").status_code == 403
    assert owner.get(f"/complaints/{cid}").status_code == 404       # not yet accepted
    assert other.get(f"/complaints/{cid}").status_code == 404
    assert other.post(f"/complaints/{cid}/withdrawal", {"reason": "代为撤回"}).status_code == 404
    assert sup.post(f"/complaints/{cid}/withdrawal", {"reason": "代为撤回"}).status_code == 403
    assert bidder.get("/complaints/clocks").status_code == 403
    assert op.get("/complaints").status_code == 403
    assert audit_next_seq() == before
    assert [c["id"] for c in bidder.get("/complaints").json["items"]] == [cid]
    assert other.get("/complaints").json["items"] == []
    assert owner.get("/complaints").json["items"] == []
    sup.post(f"/complaints/{cid}/accept")
    assert owner.get(f"/complaints/{cid}").status_code == 200
    assert bidder.post(f"/complaints/{cid}/withdrawal", {"reason": "已协商解决"}).json["status"] == "withdrawn"


def test_documents_complaint_with_a_written_objection(app, w):
    bidder = Caller(app, w.bidders[2])
    path = f"/lots/{w.trade.lot_code}/complaints"
    base = {"matter": "documents", "facts": FACTS, "request": "请责令修改招标文件", "known_on": "2026-11-20"}
    r = bidder.post(path, base)
    assert r.status_code == 422 and r.json["field"] == "declared_objection"
    r = bidder.post(path, {**base, "declared_objection": {"note": "书面异议，招标人签收", "filed_on": "2026-11-20",
                                                           "answered_on": "2026-11-23"}})
    assert r.status_code == 201, r.json
    assert r.json["declared_objection"] == {"note": "书面异议，招标人签收", "filed_on": "2026-11-20",
                                            "answered_on": "2026-11-23"}
    assert r.json["window_closes_at"] == "2026-12-04T00:00:00+08:00" and r.json["objection_id"] is None
