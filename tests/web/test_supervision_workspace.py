"""The supervisors' workspace, issue 6 part 2: the project list and timeline pages, the access log of
who looked at what (written on every supervisor read, refused to everyone else, append-only), the
dashboard's live trading of today with links to the read-only live views, and the client address
that a web action records in its audit entry (through ProxyFix only when configured)."""

from __future__ import annotations

import inspect
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.conftest import is_postgres
from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.auctions import auction_lot, started
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.journeys import registered_bidders, submit_price
from trading.audit.models import AuditEntry
from trading.core import web
from trading.extensions import db
from trading.supervision.access import services as access_services
from trading.supervision.access.models import SupervisionViewLog

OTHER_ROLES = ["owner", "agency", "bidder", "expert", "operator", "admin"]


@pytest.fixture()
def lot(app, ctx):
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
    bidders = registered_bidders(ctx, trade.lot_code, 2)
    for b in bidders:
        submit_price(b, trade.lot_code, 800_000_00)
    db.session.commit()
    return trade


def _supervisor_client(app, ctx, ip="198.51.100.9"):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": "Inspector/1.0"})
    sup = make_user(ctx, "supervisor", totp=True)
    login_as(client, sup)
    return client, sup


def _log_rows():
    return list(db.session.execute(select(SupervisionViewLog).order_by(SupervisionViewLog.id)).scalars())


def test_timeline_page_by_code_and_by_number(app, ctx, clock, lot):
    client, sup = _supervisor_client(app, ctx)
    project_id = lot.project_id
    code = lot.lot_code.rsplit("-", 1)[0]
    page = client.get(f"/supervise/projects/{code}")
    assert page.status_code == 200
    html = page.text
    assert "项目登记" in html and "公告发布" in html and "第1版" in html and "127.0.0.1" in html
    first = db.session.execute(select(AuditEntry).where(AuditEntry.project_id == project_id)
                               .order_by(AuditEntry.seq)).scalars().first()
    assert bytes(first.entry_hash).hex() in html
    assert "投标人报名" not in html and "投标文件递交" not in html      # before the deadline
    assert client.get(f"/supervise/projects/{project_id}").text.count('class="timeline-item') == html.count(
        'class="timeline-item')
    assert client.get("/supervise/projects/SFX2099-GC-9999").status_code == 404

    clock.set(lot.deadline_at + timedelta(minutes=1))
    html = client.get(f"/supervise/projects/{code}").text
    assert html.count("投标人报名") == 2 and html.count("投标文件递交") == 2

    listing = client.get(f"/supervise/projects?q={code}")
    assert listing.status_code == 200 and f"/supervise/projects/{code}" in listing.text
    assert "没有符合条件的项目" in client.get("/supervise/projects?q=nothing-like-this").text


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_others_get_403_and_leave_no_log(app, ctx, role):
    user = make_user(ctx, role, totp=role in ("operator", "admin"))
    client = app.test_client()
    login_as(client, user)
    for path in ("/supervise/projects", "/supervise/projects/1", "/supervise/projects/SFX2026-GC-0001",
                 "/supervise/access-log"):
        assert client.get(path).status_code == 403, path
    assert _log_rows() == []


def test_every_supervisor_read_is_logged_with_who_what_where(app, ctx, lot):
    client, sup = _supervisor_client(app, ctx)
    code = lot.lot_code.rsplit("-", 1)[0]
    reads = [(f"/supervise/projects/{code}", "supervision.project_timeline_by_code", "project", code),
             (f"/supervise/projects/{lot.project_id}", "supervision.project_timeline", "project", code),
             (f"/opening/{lot.lot_code}/hall", "opening.hall", "lot", lot.lot_code),
             (f"/api/v1/projects/{lot.project_id}", "api.get_project", "project", str(lot.project_id)),
             ("/supervise/projects?q=x", "supervision.projects", "", "")]
    for i, (path, endpoint, kind, obj) in enumerate(reads, start=1):
        resp = client.get(path)
        assert resp.status_code == 200, path
        rows = _log_rows()
        assert len(rows) == i, path
        row = rows[-1]
        assert (row.endpoint, row.object_type, row.object_code) == (endpoint, kind, obj), path
        assert (row.user_id, row.org_id, row.username) == (sup.id, sup.org_id, sup.username)
        assert row.ip == "198.51.100.9" and row.user_agent == "Inspector/1.0" and row.path.startswith(path)
    # a refused read, a poll of a live view and a page naming no record are not records looked at
    client.get("/supervise/projects/SFX2099-GC-9999")
    client.get(f"/opening/{lot.lot_code}/hall/record")
    assert client.get("/").status_code == 200
    assert len(_log_rows()) == len(reads)
    # reads are not audit entries: the chain does not grow with them
    n = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar()
    client.get(f"/supervise/projects/{code}")
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar() == n


def test_an_api_read_with_a_bearer_token_is_logged(app, ctx, clock, lot):
    from tests.factories.accounts import actor_ctx
    from trading.accounts.services import create_api_token

    sup = make_user(ctx, "supervisor", totp=True)
    _row, token = create_api_token(actor_ctx(db.session, clock, sup), name="监督平台对接")
    db.session.commit()
    client = app.test_client()
    resp = client.get(f"/api/v1/audit/entries?project_id={lot.project_id}", headers={"Authorization": f"Bearer {token}"},
                      environ_base={"REMOTE_ADDR": "192.0.2.80"})
    assert resp.status_code == 200
    row = _log_rows()[-1]
    assert (row.user_id, row.endpoint, row.object_type, row.object_code, row.ip) == (
        sup.id, "api.audit_entries", "project", str(lot.project_id), "192.0.2.80")


def test_access_log_page_filters(app, ctx, lot):
    client, sup = _supervisor_client(app, ctx)
    other, other_sup = _supervisor_client(app, ctx, ip="192.0.2.5")
    code = lot.lot_code.rsplit("-", 1)[0]
    client.get(f"/supervise/projects/{code}")
    other.get(f"/opening/{lot.lot_code}/hall")
    page = client.get(f"/supervise/access-log?user={other_sup.username}").text
    assert "192.0.2.5" in page and f"/opening/{lot.lot_code}/hall" in page and "198.51.100.9" not in page
    page = client.get(f"/supervise/access-log?object_type=project&object={code}").text
    assert "198.51.100.9" in page and "192.0.2.5" not in page and f'项目 <span class="text-break">{code}</span>' in page
    page = client.get("/supervise/access-log?from=2030-01-01").text
    assert "没有符合条件的记录" in page
    assert client.get("/supervise/access-log?from=2026-11-10&to=2026-11-01").status_code == 422


def test_the_log_has_no_update_or_delete_path(app, ctx, lot):
    names = [n for n, f in inspect.getmembers(access_services, inspect.isfunction)
             if f.__module__ == access_services.__name__]
    assert not [n for n in names if any(w in n for w in ("update", "delete", "remove", "edit", "purge"))]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/supervise/access-log"):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    client, _sup = _supervisor_client(app, ctx)
    assert client.post("/supervise/access-log", data={"csrf_token": csrf_token(client, "/supervise/")}).status_code == 405
    if is_postgres():
        client.get("/supervise/projects")
        for stmt in ("UPDATE supervision_view_log SET ip = 'x'", "DELETE FROM supervision_view_log"):
            with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
                conn.execute(text(stmt))


def test_dashboard_lists_todays_opening_and_auction_with_live_views(app, ctx, clock, lot):
    clock.set(lot.opening_at - timedelta(hours=1))   # the morning of the opening day
    w = auction_lot(ctx, procedure="land_auction", buyers=2)
    started(w)                                        # moves the clock to the auction's start
    db.session.commit()
    client, _sup = _supervisor_client(app, ctx)
    page = client.get("/supervise/").text
    assert f'href="/auctions/{w.code}/room"' in page and "自由报价" in page
    room = client.get(f"/auctions/{w.code}/room")
    assert room.status_code == 200 and 'data-testid="pause-button"' in room.text and 'data-testid="bid-form"' not in room.text

    before = len(_log_rows())
    fragment = client.get("/supervise/today")                # what the dashboard's script swaps in
    assert fragment.status_code == 200 and f'href="/auctions/{w.code}/room"' in fragment.text
    assert "<html" not in fragment.text and len(_log_rows()) == before   # a poll, not a record read
    owner = app.test_client()
    login_as(owner, w.owner)
    assert owner.get("/supervise/today").status_code == 403

    clock.set(lot.opening_at - timedelta(hours=1))
    page = client.get("/supervise/").text
    assert f'href="/opening/{lot.lot_code}/hall"' in page
    hall = client.get(f"/opening/{lot.lot_code}/hall")
    assert hall.status_code == 200 and "<form" not in hall.text.split("<main", 1)[1]   # read-only: no form


# --- the client address of a web action ----------------------------------------------------------

def _failed_login(client) -> dict:
    token = csrf_token(client)
    client.post("/auth/login", data={"csrf_token": token, "username": "nobody", "password": "wrong-password-1"})
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "auth.login_failed")
                               .order_by(AuditEntry.seq.desc())).scalars().first()
    return json.loads(bytes(entry.body))


def test_a_web_action_records_the_request_address(app):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "203.0.113.50", "HTTP_X_FORWARDED_FOR": "10.9.9.9"})
    assert _failed_login(client)["ip"] == "203.0.113.50"   # no proxy trusted: the header is ignored


def test_a_trusted_proxy_passes_the_client_address(app):
    app.config["TRUSTED_PROXIES"] = 1
    web.trust_proxies(app)
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.9.9.9, 203.0.113.77"})
    assert _failed_login(client)["ip"] == "203.0.113.77"   # the proxy's own hop, not the client's claim


# --- the same through the JSON API ---------------------------------------------------------------

def test_api_timeline_and_access_log(app, ctx, clock, lot):
    client, sup = _supervisor_client(app, ctx)
    body = client.get(f"/api/v1/supervision/projects/{lot.project_id}/timeline").json
    assert body["project_id"] == lot.project_id and body["next_after"] is None
    seqs = [i["seq"] for i in body["items"]]
    assert seqs == sorted(seqs) and body["items"][0]["label"] == "项目登记"
    assert not {"participation.registered", "offer.submitted"} & {i["action"] for i in body["items"]}
    published = next(i for i in body["items"] if i["action"] == "notice.published")
    assert published["doc"]["kind"] == "notice" and published["doc"]["version"] == 1
    assert len(published["doc"]["sha256"]) == 64 and len(published["entry_hash"]) == 64
    assert published["at"].endswith("+08:00") and published["ip"] == "127.0.0.1"
    assert client.get("/api/v1/supervision/projects/999999/timeline").status_code == 404

    log = client.get(f"/api/v1/supervision/access-log?user={sup.username}").json
    assert [r["endpoint"] for r in log["items"]] == ["api.supervision_timeline"]   # the 404 read is not one
    assert log["items"][0]["object_code"] == str(lot.project_id) and log["items"][0]["ip"] == "198.51.100.9"
    bad = client.get("/api/v1/supervision/access-log?since=2026-11-10T00:00:00%2B08:00&until=2026-11-01T00:00:00%2B08:00")
    assert bad.status_code == 422

    owner = app.test_client()
    login_as(owner, make_user(ctx, "owner"))
    assert owner.get(f"/api/v1/supervision/projects/{lot.project_id}/timeline").status_code == 403
    assert owner.get("/api/v1/supervision/access-log").status_code == 403


def test_dashboard_lists_an_evaluation_with_its_progress_counts(app, ctx):
    from tests.factories.evaluation import evaluation_lot, fill_and_submit

    ev = evaluation_lot(ctx)
    fill_and_submit(ev, members=ev.members[:1])
    db.session.commit()
    client, _sup = _supervisor_client(app, ctx)
    page = client.get("/supervise/").text
    section = page.split('data-testid="today-evaluations"', 1)[1].split("</ul>", 1)[0]
    assert ev.code in section and f'href="/evaluation/{ev.code}/progress"' in section
    expected = len(ev.members) * len(ev.bidders)
    assert f"评分表已提交 {len(ev.bidders)}/{expected}" in section     # counts only, never a score
    assert client.get(f"/evaluation/{ev.code}/progress").status_code == 200
