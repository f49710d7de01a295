"""Administration pages: administrators only; organisations, users, rule settings and calendar years
through the real services; bad input gives a 4xx with the message and leaves the audit trail as it was."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import csrf_token, login_as, make_org, make_user, valid_credit_code
from trading.accounts.models import Organisation, User
from trading.audit.models import AuditEntry, AuditHead
from trading.extensions import db
from trading.reference.models import CalendarYear, RuleSetting

PAGES = ["/admin/", "/admin/organisations", "/admin/users", "/admin/settings", "/admin/settings/auth.max_failures",
         "/admin/calendar"]


def next_seq() -> int:
    db.session.expire_all()
    return db.session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()


def actions_since(seq: int) -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).where(AuditEntry.seq >= seq)
                                   .order_by(AuditEntry.seq)).scalars())


@pytest.fixture
def admin_client(client, ctx):
    admin = make_user(ctx, "admin", username="root.admin", totp=True)
    login_as(client, admin)
    return client


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/"), **data})


@pytest.mark.parametrize("role", ["operator", "owner", "agency", "bidder", "expert", "supervisor"])
def test_non_admins_get_403(client, ctx, role):
    login_as(client, make_user(ctx, role))
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/auth/account")
    seq = next_seq()
    r = client.post("/admin/organisations", data={"csrf_token": token, "name": "某单位",
                                                  "credit_code": valid_credit_code(1), "kind": "owner"})
    assert r.status_code == 403
    assert next_seq() == seq


def test_anonymous_is_sent_to_login(client):
    r = client.get("/admin/users")
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")


def test_admin_without_two_factor_is_sent_to_setup(client, ctx):
    login_as(client, make_user(ctx, "admin"), two_factor=False)
    assert client.get("/admin/").headers["Location"] == "/auth/2fa/setup"


def test_admin_pages_render(admin_client):
    for path in PAGES:
        assert admin_client.get(path).status_code == 200, path


# --- organisations --------------------------------------------------------------------------------
def test_create_organisation(admin_client):
    seq = next_seq()
    r = post(admin_client, "/admin/organisations", name="示范县教育局", credit_code=valid_credit_code(55).lower(), kind="owner", region_id="", contact_name="李老师",
             contact_phone="0838-1234567", address="示范县人民路 1 号")
    assert r.status_code == 302
    assert actions_since(seq) == ["organisation.created"]
    page = admin_client.get("/admin/organisations")
    assert "示范县教育局" in page.text and valid_credit_code(55) in page.text


@pytest.mark.parametrize("fields,status,message", [
    ({"credit_code": "91350100M000100Y44"}, 422, "统一社会信用代码校验位不符"),
    ({"credit_code": "91350100M000I00Y43"}, 422, "不含 I、O、S、V、Z"),
    ({"credit_code": "9135010"}, 422, "统一社会信用代码应为 18 位"),
    ({"name": "很" * 101}, 422, "单位名称不能超过 100 个字"),
    ({"kind": "casino"}, 422, "请选择单位类型"),
    ({"credit_code": "91350100M000100Y43"}, 409, "已登记"),     # taken by the organisation made below
])
def test_bad_organisation_input(admin_client, ctx, fields, status, message):
    make_org(ctx, "bidder", credit_code="91350100M000100Y43")
    db.session.commit()
    count = db.session.execute(select(func.count(Organisation.id))).scalar_one()
    seq = next_seq()
    data = {"name": "示范县卫健局", "credit_code": valid_credit_code(77), "kind": "owner", **fields}
    r = post(admin_client, "/admin/organisations", **data)
    assert r.status_code == status
    assert message in r.text
    assert next_seq() == seq
    assert db.session.execute(select(func.count(Organisation.id))).scalar_one() == count


# --- users ----------------------------------------------------------------------------------------
def test_create_and_deactivate_user(admin_client, app, ctx):
    org = make_org(ctx, "agency")
    db.session.commit()
    seq = next_seq()
    r = post(admin_client, "/admin/users", username="Agent.Zhao", display_name="赵代理", org_id=str(org.id),
             role="agency", password="Agency12345", phone="")
    assert r.status_code == 302
    assert actions_since(seq) == ["user.created"]
    user = db.session.execute(select(User).where(User.username == "agent.zhao")).scalar_one()
    assert "赵代理" in admin_client.get("/admin/users").text
    their_browser = app.test_client()
    login_as(their_browser, user)
    assert their_browser.get("/auth/account").status_code == 200
    seq = next_seq()
    r = post(admin_client, f"/admin/users/{user.id}/deactivate")
    assert r.status_code == 302
    assert actions_since(seq) == ["user.deactivated"]
    assert their_browser.get("/auth/account").status_code == 302   # their session ended


@pytest.mark.parametrize("fields,status,message", [
    ({"username": "taken.name"}, 409, "用户名 taken.name 已被使用"),
    ({"role": "operator"}, 422, "角色不能属于此类单位"),
    ({"password": "abc"}, 422, "密码至少 10 位"),
    ({"display_name": "长" * 41}, 422, "姓名不能超过 40 个字"),
    ({"org_id": "99999"}, 422, "所选单位不存在"),
])
def test_bad_user_input(admin_client, ctx, fields, status, message):
    org = make_org(ctx, "bidder")
    make_user(ctx, "bidder", org=org, username="taken.name")
    db.session.commit()
    seq = next_seq()
    data = {"username": "new.bidder", "display_name": "钱投标", "org_id": str(org.id), "role": "bidder",
            "password": "Bidder12345", **fields}
    r = post(admin_client, "/admin/users", **data)
    assert r.status_code == status
    assert message in r.text
    assert next_seq() == seq


def test_admin_cannot_deactivate_self(admin_client):
    me = db.session.execute(select(User).where(User.username == "root.admin")).scalar_one()
    r = post(admin_client, f"/admin/users/{me.id}/deactivate")
    assert r.status_code == 403


# --- rule settings --------------------------------------------------------------------------------
def test_settings_list_shows_default_current_and_source(admin_client):
    page = admin_client.get("/admin/settings")
    assert 'data-code="auth.max_failures"' in page.text
    assert "等保 2.0 登录失败处理" in page.text
    assert "200,000.00 元" in page.text          # routing.band_floor_fen shown in yuan


def test_edit_setting(admin_client):
    seq = next_seq()
    r = post(admin_client, "/admin/settings/auth.max_failures", value="8")
    assert r.status_code == 302
    assert actions_since(seq) == ["setting.updated"]
    assert db.session.get(RuleSetting, "auth.max_failures").value == 8
    assert "已调整" in admin_client.get("/admin/settings").text
    r = post(admin_client, "/admin/settings/routing.band_floor_fen", value="300,000")
    assert r.status_code == 302
    assert db.session.get(RuleSetting, "routing.band_floor_fen").value == 30_000_000


@pytest.mark.parametrize("code,value,message", [
    ("auth.max_failures", "abc", "参数须为整数"),
    ("auth.max_failures", "0", "参数超出允许范围"),
    ("routing.band_floor_fen", "12.345", "金额最多保留两位小数"),
])
def test_bad_setting_value(admin_client, code, value, message):
    seq = next_seq()
    r = post(admin_client, f"/admin/settings/{code}", value=value)
    assert r.status_code == 422 and message in r.text
    assert next_seq() == seq


def test_unknown_setting_is_404(admin_client):
    assert admin_client.get("/admin/settings/no.such").status_code == 404


# --- calendar -------------------------------------------------------------------------------------
def test_load_builtin_years(admin_client):
    r = post(admin_client, "/admin/calendar/builtin")
    assert r.status_code == 302
    years = db.session.execute(select(CalendarYear.year)).scalars().all()
    assert 2026 in years and 2027 not in years
    assert 'data-year="2026"' in admin_client.get("/admin/calendar").text


def _upload(client, payload: bytes, name="2027.json"):
    return client.post("/admin/calendar/upload", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, "/admin/"), "file": (io.BytesIO(payload), name)})


def test_upload_a_year(admin_client):
    doc = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试样例）",
           "days": [["2027-01-01", False, "元旦"], ["2027-02-07", True, "春节调休"]]}
    seq = next_seq()
    r = _upload(admin_client, json.dumps(doc, ensure_ascii=False).encode())
    assert r.status_code == 302
    assert "calendar.year_loaded" in actions_since(seq)
    page = admin_client.get("/admin/calendar")
    assert 'data-year="2027"' in page.text and "测试样例" in page.text


@pytest.mark.parametrize("payload,message", [
    (b"not json", "文件格式不正确"),
    (json.dumps({"year": 2027, "days": []}).encode(), "文件格式不正确"),
    (json.dumps({"year": 2027, "source": "x", "days": [["2027-13-01", False, "?"]]}).encode(), "文件格式不正确"),
    (json.dumps({"year": 2027, "source": "x", "days": [["2026-12-31", False, "?"]]}).encode(), "不属于 2027 年"),
    (json.dumps({"year": 2027, "source": "", "days": []}).encode(), "请注明节假日安排的来源"),
])
def test_bad_calendar_upload(admin_client, payload, message):
    seq = next_seq()
    r = _upload(admin_client, payload)
    assert r.status_code == 422 and message in r.text
    assert next_seq() == seq


def test_upload_without_file(admin_client):
    r = admin_client.post("/admin/calendar/upload", data={"csrf_token": csrf_token(admin_client, "/admin/")})
    assert r.status_code == 422 and "请选择要导入的 JSON 文件" in r.text
