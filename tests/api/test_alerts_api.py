"""The alerts API (/api/v1/alerts): the list with its filters and cursor, the detail with its legal
basis and evidence links, the supervisor's workflow through the same services as the pages (each
step audited; a refused step writes nothing), who reads which alert, and the issue's acceptance
item: an operator cannot close an alert about itself nor see that it was closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import actor_ctx, make_user
from tests.factories.deposits import deposit_lot
from trading.audit.models import AuditEntry
from trading.audit.services import record
from trading.extensions import db
from trading.supervision.alerts import services as alerts
from trading.supervision.alerts.models import SupervisionAlert
from trading.supervision.alerts.rules import Finding


def _raise(ctx, rule, severity, subject, seqs=(), *, trade=None, embargo=False, orgs=()):
    alert = alerts.raise_finding(
        ctx, Finding(rule, severity, subject, f"预警 {subject}", f"Alert {subject}", tuple(seqs),
                     (trade.lot_id,) if trade else (), tuple(orgs), {"subject": subject}),
        project_id=trade.project_id if trade else None, lot_id=trade.lot_id if trade else None,
        embargo_lot_id=trade.lot_id if (trade and embargo) else None, trigger_seq=seqs[0] if seqs else None)
    return alert.id


@pytest.fixture
def w(app, ctx, session, clock):
    people = {"sup": make_user(ctx, "supervisor", totp=True), "sup2": make_user(ctx, "supervisor", totp=True),
              "op": make_user(ctx, "operator", totp=True), "op2": make_user(ctx, "operator", totp=True),
              "bidder": make_user(ctx, "bidder"), "owner": make_user(ctx, "owner"), "admin": make_user(ctx, "admin", totp=True)}
    _, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    bidder_act = record(actor_ctx(session, clock, people["bidder"], ip="10.7.7.7"), "opening.checked_in",
                        "participation", 1, payload={"lot_code": trade.lot_code})
    op_act = record(actor_ctx(session, clock, people["op"]), "lot.redated", "lot", trade.lot_id,
                    payload={"note": "operator"})
    sup2_act = record(actor_ctx(session, clock, people["sup2"]), "auction.paused", "lot", trade.lot_id,
                      payload={"reason": "系统故障"})
    ids = {
        "ip": _raise(ctx, "RF-04", "yellow", "lot:ip", [bidder_act.seq], trade=trade,
                     orgs=[people["bidder"].org_id]),
        "about_op": _raise(ctx, "RF-15S", "red", "op-own", [op_act.seq], trade=trade),
        "about_sup2": _raise(ctx, "RF-15", "red", "sup2-own", [sup2_act.seq]),
        "plain": _raise(ctx, "OCP-R018", "yellow", "single"),
        "embargoed": _raise(ctx, "RF-06", "yellow", "embargoed", [bidder_act.seq], trade=trade, embargo=True),
    }
    session.commit()
    callers = {name: Caller(app, user) for name, user in people.items()} | {"anonymous": Caller(app)}
    return {"people": people, "trade": trade, "ids": ids, "as": callers, "bidder_seq": bidder_act.seq}


def _ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.json
    return [item["id"] for item in resp.json["items"]]


def test_who_reads_the_list(w):
    ids, call = w["ids"], w["as"]
    visible = [ids["plain"], ids["about_sup2"], ids["about_op"], ids["ip"]]   # newest first; embargoed hidden
    assert _ids(call["sup"].get("/alerts")) == visible
    assert _ids(call["op2"].get("/alerts")) == visible
    assert _ids(call["op"].get("/alerts")) == [ids["plain"], ids["about_sup2"], ids["ip"]]   # not about itself
    for role in ("bidder", "owner", "admin"):
        resp = call[role].get("/alerts")
        assert resp.status_code == 403 and resp.json["error"] == "alert.forbidden", role
    assert call["anonymous"].get("/alerts").status_code == 401


def test_filters_and_bad_filters(w):
    ids, sup, trade = w["ids"], w["as"]["sup"], w["trade"]
    assert _ids(sup.get("/alerts?severity=red")) == [ids["about_sup2"], ids["about_op"]]
    assert _ids(sup.get("/alerts?rule=RF-04")) == [ids["ip"]]
    assert _ids(sup.get(f"/alerts?project_id={trade.project_id}")) == [ids["about_op"], ids["ip"]]
    assert _ids(sup.get(f"/alerts?lot_code={trade.lot_code}")) == [ids["about_op"], ids["ip"]]
    assert _ids(sup.get("/alerts?status=closed")) == []
    assert _ids(sup.get("/alerts?status=open&severity=yellow&rule=OCP-R018")) == [ids["plain"]]
    for bad, field in (("severity=purple", "severity"), ("rule=RF-99", "rule"), ("status=done", "status"),
                       ("limit=0", "limit"), ("cursor=x", "cursor"), ("colour=red", "colour")):
        resp = sup.get(f"/alerts?{bad}")
        assert resp.status_code == 422 and field in resp.json["fields"], (bad, resp.json)
    english = sup.get("/alerts?severity=purple&lang=en").json
    assert english["error"] == "invalid_input" and "severity" in english["message"]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english["message"])


def test_cursor_pagination_walks_every_alert_once(w, ctx, session):
    for i in range(7):
        _raise(ctx, "OCP-R018", "yellow", f"more:{i}")
    session.commit()
    sup = w["as"]["sup"]
    everything = _ids(sup.get("/alerts?limit=100"))
    assert len(everything) == 11 and everything == sorted(everything, reverse=True)
    seen, cursor, pages = [], None, 0
    while True:
        resp = sup.get("/alerts?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += _ids(resp)
        pages += 1
        cursor = resp.json["next_cursor"]
        if cursor is None:
            break
        assert cursor == seen[-1]
    assert seen == everything and pages == 4
    # a filter applies across pages, and the last page's cursor is null
    red = sup.get("/alerts?severity=red&limit=1")
    assert len(red.json["items"]) == 1 and red.json["next_cursor"] is not None
    last = sup.get(f"/alerts?severity=red&limit=1&cursor={red.json['next_cursor']}").json
    assert [i["severity"] for i in last["items"]] == ["red"] and last["next_cursor"] is None


def test_detail_has_the_legal_basis_and_links_to_the_evidence(w):
    sup, ids, trade = w["as"]["sup"], w["ids"], w["trade"]
    resp = sup.get(f"/alerts/{ids['ip']}")
    assert resp.status_code == 200, resp.json
    a = resp.json
    assert (a["rule"], a["severity"], a["status"], a["lot_code"]) == ("RF-04", "yellow", "open", trade.lot_code)
    assert a["basis"]["legal"] and "第四十条" in a["basis"]["legal"] and a["basis"]["name_en"]
    assert a["facts"] == {"subject": "lot:ip"} and a["raised_at"].endswith("+08:00")
    [entry] = a["evidence"]
    assert entry["seq"] == w["bidder_seq"] and entry["action"] == "opening.checked_in" and len(entry["entry_hash"]) == 64
    trail = sup.get(entry["url"])
    assert trail.status_code == 200 and [e["seq"] for e in trail.json["items"]] == [w["bidder_seq"]]
    [lot] = a["lots"]
    assert lot["lot_code"] == trade.lot_code and sup.get(lot["url"]).status_code == 200
    [org] = a["organisations"]
    assert org["id"] == w["people"]["bidder"].org_id and sup.get(org["url"]).status_code == 200
    assert sup.client.get(a["page_url"]).status_code == 200
    assert a["workflow"]["next"] == ["acknowledged"] and a["workflow"]["can_work"] is True
    assert w["as"]["op"].get(f"/alerts/{ids['ip']}").json["workflow"]["can_work"] is False
    for missing in (ids["embargoed"], 999_999):        # a hidden alert answers like a missing one
        resp = sup.get(f"/alerts/{missing}")
        assert resp.status_code == 404 and resp.json["error"] == "not_found"


def test_the_embargoed_alert_appears_at_the_deadline(w, clock):
    sup, ids = w["as"]["sup"], w["ids"]
    assert ids["embargoed"] not in _ids(sup.get("/alerts"))
    clock.set(w["trade"].deadline_at + timedelta(seconds=1))
    assert ids["embargoed"] in _ids(sup.get("/alerts"))
    assert sup.get(f"/alerts/{ids['embargoed']}").status_code == 200


def test_the_workflow_through_the_api(w, session):
    sup, alert_id = w["as"]["sup"], w["ids"]["ip"]
    base = f"/alerts/{alert_id}"
    ack = sup.post(f"{base}/acknowledge")
    assert ack.status_code == 200 and ack.json["status"] == "acknowledged", ack.json
    assert ack.json["workflow"]["acknowledged_by"] == w["people"]["sup"].id
    assert ack.json["workflow"]["next"] == ["investigating", "closed"]
    inv = sup.post(f"{base}/investigate", {"note": "  调取两家投标人的网络接入记录 "})
    assert inv.status_code == 200 and inv.json["status"] == "investigating"
    assert [n["text"] for n in inv.json["workflow"]["notes"]] == ["调取两家投标人的网络接入记录"]
    before = audit_next_seq()
    refusals = [
        (sup.post(f"{base}/acknowledge"), 409, "alert.transition"),
        (sup.post(f"{base}/close", {"outcome": "maybe", "finding": "x"}), 422, "invalid_input"),
        (sup.post(f"{base}/close", {"outcome": "confirmed", "finding": "   "}), 422, "invalid_input"),
        (sup.post(f"{base}/close", {"outcome": "confirmed", "finding": "长" * 2001}), 422, "invalid_input"),
        (sup.post(f"{base}/close", {"outcome": "confirmed"}), 422, "invalid_input"),
        (sup.post(f"{base}/close", {"outcome": "confirmed", "finding": "x", "extra": 1}), 422, "invalid_input"),
        (sup.post(f"{base}/close", {"outcome": "confirmed", "finding": "x"}, csrf=False), 400, "csrf.missing"),
        (sup.post("/alerts/999999/close", {"outcome": "confirmed", "finding": "x"}), 404, "not_found"),
        (w["as"]["op2"].post(f"{base}/close", {"outcome": "confirmed", "finding": "x"}), 403, "permission.role_required"),
        (w["as"]["bidder"].post(f"{base}/acknowledge"), 403, "permission.role_required"),
        (w["as"]["anonymous"].post(f"{base}/acknowledge"), 401, "auth.required"),
    ]
    for resp, status, code in refusals:
        assert resp.status_code == status and resp.json["error"].startswith(code), resp.json
    assert audit_next_seq() == before                                   # nothing written
    session.expire_all()
    assert session.get(SupervisionAlert, alert_id).status == "investigating"
    closed = sup.post(f"{base}/close", {"outcome": "unfounded", "finding": "同一写字楼共用出口IP，无关联"})
    assert closed.status_code == 200 and closed.json["status"] == "closed", closed.json
    assert closed.json["workflow"]["outcome"] == "unfounded" and closed.json["workflow"]["next"] == []
    actions = db.session.execute(select(AuditEntry.action).where(
        AuditEntry.object_type == "supervision_alert", AuditEntry.object_id == str(alert_id))
        .order_by(AuditEntry.seq)).scalars().all()
    assert actions == ["alert.raised", "alert.acknowledged", "alert.investigating", "alert.closed"]
    assert alert_id not in _ids(sup.get("/alerts")) and alert_id in _ids(sup.get("/alerts?status=closed"))


def test_a_bearer_token_works_the_workflow_without_csrf(w, app, session, clock):
    from trading.accounts import services as accounts
    _, secret = accounts.create_api_token(actor_ctx(session, clock, w["people"]["sup"]), name="监察系统对接")
    session.commit()
    robot = Caller(app, token=secret)
    resp = robot.post(f"/alerts/{w['ids']['plain']}/acknowledge")
    assert resp.status_code == 200 and resp.json["status"] == "acknowledged", resp.json


def test_a_supervisor_does_not_work_an_alert_about_its_own_action(w):
    """回避: the supervisor who paused reads the alert about it but another supervisor works it."""
    ids, sup2 = w["ids"], w["as"]["sup2"]
    mine = sup2.get(f"/alerts/{ids['about_sup2']}")
    assert mine.status_code == 200 and mine.json["workflow"]["can_work"] is False
    assert "alert-acknowledge" not in sup2.client.get(mine.json["page_url"]).get_data(as_text=True)
    assert "alert-acknowledge" in w["as"]["sup"].client.get(mine.json["page_url"]).get_data(as_text=True)
    before = audit_next_seq()
    resp = sup2.post(f"/alerts/{ids['about_sup2']}/acknowledge")
    assert resp.status_code == 403 and resp.json["error"] == "alert.own_action", resp.json
    assert audit_next_seq() == before
    assert sup2.post(f"/alerts/{ids['ip']}/acknowledge").status_code == 200        # others' alerts: yes
    assert w["as"]["sup"].post(f"/alerts/{ids['about_sup2']}/acknowledge").status_code == 200


def test_an_operator_cannot_close_nor_see_closed_an_alert_about_itself(app, ctx, session, clock):
    """The acceptance item on a real event: the centre publishes a change notice that brings the
    offer deadline forward (RF-15S, raised by the after-commit hook with the operator as its
    subject). The operator never sees the alert — open, being worked, or closed — and cannot act
    on it; another operator and the supervisors do see it, closing included."""
    from tests.factories.notices import bj_at, make_notice, notice_project, published_notice
    from trading.procedures.common import services as notices

    app.config["ALERTS_ON_COMMIT"] = True
    op, op2 = make_user(ctx, "operator", totp=True), make_user(ctx, "operator", totp=True)
    sup = make_user(ctx, "supervisor", totp=True)
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="tender")
    far = bj_at(clock.now(), 40)
    original = published_notice(actor_ctx(session, clock, owner), project, deadline_at=far, opening_at=far)
    session.commit()
    clock.advance(timedelta(days=1))
    near = bj_at(clock.now(), 29)
    octx = actor_ctx(session, clock, op)
    change = make_notice(octx, project, kind="change", previous_id=original.id, title="变更公告",
                         body="投标截止时间调整", deadline_at=near, opening_at=near)
    notices.publish_notice(octx, change.id)
    session.commit()
    alert = session.execute(select(SupervisionAlert).where(SupervisionAlert.rule == "RF-15S")).scalar_one()
    assert alerts.is_subject(session, alert.id, op.id) and not alerts.is_subject(session, alert.id, op2.id)
    as_op, as_op2, as_sup = Caller(app, op), Caller(app, op2), Caller(app, sup)
    path = f"/alerts/{alert.id}"

    def operator_sees_nothing():
        for status in ("", "?status=all", "?status=closed", f"?project_id={project.id}"):
            assert alert.id not in _ids(as_op.get(f"/alerts{status}")), status
        assert as_op.get(path).status_code == 404
        listing = as_op.client.get("/supervise/alerts?status=all")
        assert listing.status_code == 200 and alert.summary_zh not in listing.get_data(as_text=True)
        assert as_op.client.get(f"/supervise{path}").status_code == 404
        before = audit_next_seq()
        for action, body in (("acknowledge", None), ("investigate", {}),
                             ("close", {"outcome": "unfounded", "finding": "本人认为无问题"})):
            resp = as_op.post(f"{path}/{action}", body)
            assert resp.status_code == 403, (action, resp.json)
        assert audit_next_seq() == before

    operator_sees_nothing()
    assert alert.id in _ids(as_op2.get("/alerts"))
    assert as_sup.post(f"{path}/acknowledge").status_code == 200
    closed = as_sup.post(f"{path}/close", {"outcome": "confirmed", "finding": "截止时间提前，已责令改正"})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    operator_sees_nothing()
    seen = as_op2.get(f"{path}").json
    assert seen["status"] == "closed" and seen["workflow"]["finding"] == "截止时间提前，已责令改正"
    # the operator's own audit reading is refused altogether (audit.read is the supervisors')
    assert as_op.get(f"/audit/entries?object_type=supervision_alert&object_id={alert.id}").status_code == 403
    assert db.session.execute(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "alert.closed")).scalar_one() == 1
