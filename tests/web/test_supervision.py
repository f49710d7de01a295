"""Supervisor workspace: read-only pages for supervisors only; the audit search filters; the
integrity check names a tampered entry."""

import pytest
from sqlalchemy import text

from tests.conftest import is_postgres
from tests.factories.accounts import login_as, make_user
from trading.audit.services import record
from trading.extensions import db

PAGES = ["/supervise/", "/supervise/audit", "/supervise/audit/verify"]


@pytest.mark.parametrize("role", ["owner", "agency", "bidder", "expert", "operator", "admin"])
def test_other_roles_get_403(client, ctx, role):
    user = make_user(ctx, role)
    login_as(client, user)
    for path in PAGES:
        assert client.get(path).status_code == 403, path


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/supervise/")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_supervisor_sees_pages_and_filters(client, ctx):
    sup = make_user(ctx, "supervisor")
    record(ctx, "project.registered", "project", 41, payload={"name": "甲"}, project_id=41)
    record(ctx, "notice.published", "notice", 7, payload={}, project_id=99)
    login_as(client, sup)
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    page = client.get("/supervise/audit?action=project.").get_data(as_text=True)
    assert "project.registered" in page and "notice.published" not in page
    page = client.get("/supervise/audit?project_id=99").get_data(as_text=True)
    assert "notice.published" in page and "project.registered" not in page


def test_verify_page_names_bad_entry(client, ctx):
    sup = make_user(ctx, "supervisor")
    for i in range(3):
        record(ctx, "test.event", "thing", i, payload={"i": i})
    login_as(client, sup)
    assert "verify-ok" in client.get("/supervise/audit/verify").get_data(as_text=True)
    with db.engine.begin() as conn:
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        last = conn.execute(text("SELECT max(seq) FROM audit_entry")).scalar()
        conn.execute(text("DELETE FROM audit_entry WHERE seq = :s"), {"s": last - 1})
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
    page = client.get("/supervise/audit/verify").get_data(as_text=True)
    assert "verify-failed" in page and f"第 {last - 1} 条" in page


def test_dashboard_lists_projects_with_status_labels(client, ctx):
    from tests.factories.accounts import actor_ctx, make_user
    from tests.factories.projects import make_project
    owner = make_user(ctx, "owner")
    project = make_project(actor_ctx(db.session, ctx.clock, owner))
    sup = make_user(ctx, "supervisor")
    login_as(client, sup)
    page = client.get("/supervise/").get_data(as_text=True)
    assert project.name in page
    assert 'data-status="draft"' in page and "草稿" in page
