"""The alert pages of the supervisor workspace: the role × endpoint permission matrix (supervisors
read and work alerts; operators read them, minus those about their own actions, and change nothing;
every other role is refused), the detail page's evidence links, the workflow through the forms, and
bad input answered with a 4xx and nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_user
from trading.audit.models import AuditEntry
from trading.audit.services import record
from trading.supervision.alerts import services as alerts
from trading.supervision.alerts.models import SupervisionAlert
from trading.supervision.alerts.rules import Finding

ROLES = ("anonymous", "owner", "agency", "bidder", "expert", "admin", "operator", "supervisor")


@pytest.fixture
def world(ctx, session, clock):
    sup = make_user(ctx, "supervisor")
    op = make_user(ctx, "operator")
    users = {role: make_user(ctx, role) for role in ROLES if role not in ("anonymous", "operator", "supervisor")}
    users.update(operator=op, supervisor=sup)
    bidder_act = record(actor_ctx(session, clock, users["bidder"], ip="10.7.7.7"), "opening.checked_in",
                        "participation", 1, payload={"lot_code": "X"})
    own = record(actor_ctx(session, clock, op), "lot.redated", "lot", 1, payload={"note": "operator"})
    alert = alerts.raise_finding(ctx, Finding("RF-04", "yellow", "lot:1:ip:10.7.7.7", "2 家投标人从同一IP地址 10.7.7.7 操作",
                                              "2 bidders acted from IP 10.7.7.7", (bidder_act.seq,), (), (),
                                              {"ip": "10.7.7.7"}),
                                 project_id=None, lot_id=None, embargo_lot_id=None, trigger_seq=bidder_act.seq)
    about_op = alerts.raise_finding(ctx, Finding("RF-13", "red", "op-own", "关于操作员本人的预警", "About the operator",
                                                 (own.seq,), (), (), {}),
                                    project_id=None, lot_id=None, embargo_lot_id=None, trigger_seq=own.seq)
    session.commit()
    return {"users": users, "alert": alert.id, "about_op": about_op.id, "evidence_seq": bidder_act.seq}


def status_row(client, world, method: str, path: str, data: dict | None = None) -> dict[str, int]:
    out = {}
    for role in ROLES:
        with client.session_transaction() as sess:
            sess.clear()
        if role != "anonymous":
            login_as(client, world["users"][role])
        if method == "GET":
            resp = client.get(path, buffered=False)
        else:
            # the log-out form in the navigation carries a token for any signed-in role
            body = {"csrf_token": csrf_token(client, "/" if role != "anonymous" else "/auth/login"), **(data or {})}
            resp = client.post(path, data=body)
        out[role] = resp.status_code
        resp.close()
    return out


def expect(anonymous, others, operator, supervisor) -> dict[str, int]:
    row = dict.fromkeys(ROLES, others)
    row.update(anonymous=anonymous, operator=operator, supervisor=supervisor)
    return row


@pytest.mark.parametrize("method, path, data, expected", [
    ("GET", "/supervise/alerts", None, expect(302, 403, 200, 200)),
    ("GET", "/supervise/alerts?status=all&severity=red", None, expect(302, 403, 200, 200)),
    ("GET", "/supervise/alerts/{alert}", None, expect(302, 403, 200, 200)),
    ("GET", "/supervise/alerts/{about_op}", None, expect(302, 403, 404, 200)),   # about the operator itself
    ("GET", "/supervise/alerts/stream", None, expect(302, 403, 403, 200)),
    ("GET", "/supervise/", None, expect(302, 403, 403, 200)),
    ("POST", "/supervise/alerts/{alert}/acknowledge", None, expect(302, 403, 403, 302)),
])
def test_permission_matrix(client, world, session, method, path, data, expected):
    path = path.format(**world)
    before = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    got = status_row(client, world, method, path, data)
    assert got == expected
    session.expire_all()
    changed = session.execute(select(func.max(AuditEntry.seq))).scalar_one() != before
    assert changed == (method == "POST")             # only the supervisor's POST changed anything
    if method == "POST":
        assert session.get(SupervisionAlert, world["alert"]).status == "acknowledged"


def test_the_supervisor_works_an_alert_through_the_pages(client, world, session):
    login_as(client, world["users"]["supervisor"])
    page = client.get("/supervise/").get_data(as_text=True)
    assert "电子监察预警" in page and "2 家投标人从同一IP地址 10.7.7.7 操作" in page and "data-alerts-stream" in page
    detail = client.get(f"/supervise/alerts/{world['alert']}").get_data(as_text=True)
    assert f"#{world['evidence_seq']}" in detail and "10.7.7.7" in detail and "第四十条" in detail
    token = csrf_token(client, f"/supervise/alerts/{world['alert']}")
    base = f"/supervise/alerts/{world['alert']}"
    assert client.post(f"{base}/acknowledge", data={"csrf_token": token}).status_code == 302
    assert client.post(f"{base}/investigate", data={"csrf_token": token, "note": "调取接入记录"}).status_code == 302
    before = session.execute(select(func.max(AuditEntry.seq))).scalar_one()
    bad = client.post(f"{base}/close", data={"csrf_token": token, "outcome": "confirmed", "finding": " "})
    assert bad.status_code == 422 and "请填写处理说明" in bad.get_data(as_text=True)
    assert client.post(f"{base}/close", data={"csrf_token": token, "outcome": "nope", "finding": "x"}).status_code == 422
    assert client.post(f"{base}/acknowledge", data={"csrf_token": token}).status_code == 409
    assert client.post(f"{base}/explode", data={"csrf_token": token}).status_code == 404
    session.expire_all()
    assert session.execute(select(func.max(AuditEntry.seq))).scalar_one() == before
    ok = client.post(f"{base}/close", data={"csrf_token": token, "outcome": "unfounded", "finding": "共用出口IP，无关联"},
                     follow_redirects=True)
    assert ok.status_code == 200 and "共用出口IP，无关联" in ok.get_data(as_text=True)
    session.expire_all()
    assert session.get(SupervisionAlert, world["alert"]).status == "closed"
    assert client.get("/supervise/alerts?severity=purple").status_code == 422
    assert client.get("/supervise/alerts/999999").status_code == 404
    closed = client.get("/supervise/alerts?status=closed").get_data(as_text=True)
    assert "2 家投标人从同一IP地址" in closed


def test_operator_list_leaves_out_alerts_about_itself(client, world):
    login_as(client, world["users"]["operator"])
    page = client.get("/supervise/alerts?status=all").get_data(as_text=True)
    assert "2 家投标人从同一IP地址" in page and "关于操作员本人的预警" not in page
    assert "data-alerts-stream" not in page and "alert-acknowledge" not in page


def test_the_alert_pages_in_english(client, world):
    login_as(client, world["users"]["supervisor"])
    page = client.get("/supervise/?lang=en").get_data(as_text=True)
    assert "Supervision alerts" in page and "2 bidders acted from IP 10.7.7.7" in page and "Warning" in page
    detail = client.get(f"/supervise/alerts/{world['alert']}?lang=en").get_data(as_text=True)
    assert "Bidders acting from the same IP address" in detail and "Evidence (audit entries)" in detail
    assert "Acknowledge" in detail
