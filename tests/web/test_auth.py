"""Log-in pages: password and TOTP steps, throttling committed despite the error response, the
two-factor requirement, session fixation, log-out, CSRF, and the account security page."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import func, select

from tests.factories.accounts import DEFAULT_PASSWORD, csrf_token, login_as, make_user, totp_code
from trading.accounts.models import ApiToken, LoginFailure, User
from trading.accounts.tokens import user_for_token
from trading.audit.models import AuditEntry, AuditHead
from trading.extensions import db


def next_seq() -> int:
    db.session.expire_all()
    return db.session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()


def actions_since(seq: int) -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).where(AuditEntry.seq >= seq)
                                   .order_by(AuditEntry.seq)).scalars())


def failure_count() -> int:
    return db.session.execute(select(func.count()).select_from(LoginFailure)).scalar_one()


def post_login(client, username, password, **extra):
    data = {"csrf_token": csrf_token(client, "/auth/login"), "username": username, "password": password, **extra}
    return client.post("/auth/login", data=data)


def post_code(client, code):
    return client.post("/auth/2fa/verify", data={"csrf_token": csrf_token(client, "/auth/2fa/verify"), "code": code})


def logged_in_user_id(client) -> str | None:
    with client.session_transaction() as sess:
        return sess.get("_user_id")


def session_keys(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


@pytest.fixture
def owner(ctx):
    user = make_user(ctx, "owner", username="owner.web")
    db.session.commit()
    return user


def test_login_page_renders(client):
    page = client.get("/auth/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and 'autocomplete="current-password"' in page.text


def test_login_without_two_factor(client, owner):
    seq = next_seq()
    r = post_login(client, "owner.web", DEFAULT_PASSWORD, next="/auth/account")
    assert r.status_code == 302 and r.headers["Location"] == "/auth/account"
    keys = session_keys(client)
    assert keys["_user_id"] == f"{owner.id}:1"
    assert "2fa_ok" not in keys           # the owner role does not need two-factor and has none
    assert actions_since(seq) == ["auth.login"]
    assert client.get("/auth/account").status_code == 200


@pytest.mark.parametrize("username,password", [("owner.web", "Wrong1234567"), ("no.such.user", DEFAULT_PASSWORD)])
def test_failed_login_is_committed_though_the_response_is_an_error(client, owner, username, password):
    seq = next_seq()
    r = post_login(client, username, password)
    assert r.status_code == 401
    assert "用户名或密码不正确" in r.text      # the same words for an unknown user and a wrong password
    assert logged_in_user_id(client) is None
    db.session.expire_all()
    assert failure_count() == 1
    assert actions_since(seq) == ["auth.login_failed"]


def test_lock_and_unlock(client, owner, clock):
    for _ in range(5):
        assert post_login(client, "owner.web", "Wrong1234567").status_code == 401
    seq = next_seq()
    r = post_login(client, "owner.web", DEFAULT_PASSWORD)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text and "15 分钟" in r.text
    assert logged_in_user_id(client) is None
    assert next_seq() == seq              # a refused attempt while locked writes nothing
    clock.advance(minutes=15)
    assert post_login(client, "owner.web", DEFAULT_PASSWORD).status_code == 302
    assert logged_in_user_id(client) == f"{owner.id}:1"


def test_open_redirect_is_refused(client, owner):
    r = post_login(client, "owner.web", DEFAULT_PASSWORD, next="//evil.example/phish")
    assert r.headers["Location"] == "/"


def test_session_is_renewed_at_login(client, owner):
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    post_login(client, "owner.web", DEFAULT_PASSWORD)
    assert "planted" not in session_keys(client)


def test_two_factor_login(client, ctx, clock):
    user = make_user(ctx, "operator", username="op.web", totp=True)
    db.session.commit()
    r = post_login(client, "op.web", DEFAULT_PASSWORD, next="/auth/account")
    assert r.status_code == 302 and r.headers["Location"] == "/auth/2fa/verify"
    keys = session_keys(client)
    assert keys["pending_2fa_user"] == user.id and "_user_id" not in keys   # half-authenticated only
    assert client.get("/auth/account").status_code == 302                    # not signed in yet
    seq = next_seq()
    bad = post_code(client, "000000" if totp_code(user, clock) != "000000" else "111111")
    assert bad.status_code == 401 and "验证码不正确" in bad.text
    assert actions_since(seq) == ["auth.login_failed"]
    good = post_code(client, totp_code(user, clock))
    assert good.status_code == 302 and good.headers["Location"] == "/auth/account"
    keys = session_keys(client)
    assert keys["_user_id"] == f"{user.id}:1" and keys["2fa_ok"] is True and "pending_2fa_user" not in keys
    assert client.get("/auth/account").status_code == 200
    # the same code cannot be used for a second log-in (replay)
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/account")})
    post_login(client, "op.web", DEFAULT_PASSWORD)
    replay = post_code(client, totp_code(user, clock))
    assert replay.status_code == 401 and "已使用过" in replay.text


def test_pending_two_factor_expires(client, ctx, clock):
    user = make_user(ctx, "admin", username="admin.web", totp=True)
    db.session.commit()
    post_login(client, "admin.web", DEFAULT_PASSWORD)
    token = csrf_token(client, "/auth/2fa/verify")
    clock.advance(minutes=6)
    r = client.post("/auth/2fa/verify", data={"csrf_token": token, "code": totp_code(user, clock)})
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login")
    assert logged_in_user_id(client) is None and "pending_2fa_user" not in session_keys(client)


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_roles_that_need_two_factor_are_sent_to_setup(client, ctx, clock, role):
    user = make_user(ctx, role, username=f"{role}.new")
    db.session.commit()
    r = post_login(client, f"{role}.new", DEFAULT_PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/auth/2fa/setup"
    assert client.get("/auth/account").headers["Location"] == "/auth/2fa/setup"
    page = client.get("/auth/2fa/setup")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text
    db.session.expire_all()
    secret = db.session.get(User, user.id).totp_secret
    assert secret and secret[:4] in page.text
    token = csrf_token(client, "/auth/2fa/setup")
    wrong = client.post("/auth/2fa/setup", data={"csrf_token": token, "code": "12345"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.text
    seq = next_seq()
    ok = client.post("/auth/2fa/setup", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock.now())})
    assert ok.status_code == 302 and ok.headers["Location"] == "/auth/account"
    assert actions_since(seq) == ["auth.totp_enabled"]
    assert session_keys(client)["2fa_ok"] is True
    assert client.get("/auth/account").status_code == 200


def test_login_as_without_two_factor_flag_redirects(client, ctx):
    user = make_user(ctx, "operator", totp=True)
    login_as(client, user, two_factor=False)
    assert client.get("/auth/account").headers["Location"] == "/auth/2fa/setup"
    assert client.get("/auth/2fa/setup").headers["Location"] == "/auth/2fa/verify"


def test_logout(client, owner):
    login_as(client, owner)
    assert client.get("/auth/logout").status_code == 405   # log-out is a POST with a CSRF token
    seq = next_seq()
    r = client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/account")})
    assert r.status_code == 302
    assert logged_in_user_id(client) is None
    assert actions_since(seq) == ["auth.logout"]
    assert client.get("/auth/account").status_code == 302


@pytest.mark.parametrize("token", ["forged-token", None])
def test_login_with_a_bad_csrf_token_is_refused_and_changes_nothing(client, owner, token):
    csrf_token(client, "/auth/login")  # the session has a real token; the form does not send it
    seq = next_seq()
    data = {"username": "owner.web", "password": "Wrong1234567"}
    if token:
        data["csrf_token"] = token
    r = client.post("/auth/login", data=data)
    assert r.status_code == 400
    assert "表单已过期或来源不可信" in r.text
    assert next_seq() == seq and failure_count() == 0
    assert logged_in_user_id(client) is None


# --- account page ---------------------------------------------------------------------------------
def test_api_token_is_shown_once_and_can_be_revoked(client, owner, clock):
    login_as(client, owner)
    seq = next_seq()
    r = client.post("/auth/account/tokens", data={"csrf_token": csrf_token(client, "/auth/account"),
                                                  "name": "财务系统", "expires_days": "90"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    plaintext = re.search(r'data-testid="new-token">([^<]+)<', r.text).group(1)
    assert actions_since(seq) == ["token.created"]
    assert user_for_token(db.session, plaintext, clock.now()).id == owner.id
    again = client.get("/auth/account")
    assert plaintext not in again.text and plaintext[:12] in again.text
    row = db.session.execute(select(ApiToken)).scalar_one()
    r = client.post(f"/auth/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(client, "/auth/account")})
    assert r.status_code == 302
    db.session.expire_all()
    assert user_for_token(db.session, plaintext, clock.now()) is None


@pytest.mark.parametrize("data,message", [
    ({"name": "", "expires_days": ""}, "请填写令牌名称"),
    ({"name": "x", "expires_days": "abc"}, "有效期须为整数天数"),
    ({"name": "x", "expires_days": "999"}, "有效期须为 1–366 天"),
])
def test_bad_token_input(client, owner, data, message):
    login_as(client, owner)
    seq = next_seq()
    r = client.post("/auth/account/tokens", data={"csrf_token": csrf_token(client, "/auth/account"), **data})
    assert r.status_code == 422 and message in r.text
    assert next_seq() == seq


def test_someone_elses_token_is_not_found(client, ctx, owner):
    other = make_user(ctx, "owner")
    login_as(client, other)
    client.post("/auth/account/tokens", data={"csrf_token": csrf_token(client, "/auth/account"), "name": "t"})
    row = db.session.execute(select(ApiToken)).scalar_one()
    login_as(client, owner)
    r = client.post(f"/auth/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(client, "/auth/account")})
    assert r.status_code == 404


def test_change_password_keeps_this_session_and_ends_others(client, app, owner):
    login_as(client, owner)
    other_device = app.test_client()
    login_as(other_device, owner)
    token = csrf_token(client, "/auth/account")
    mismatch = client.post("/auth/account/password", data={"csrf_token": token, "current_password": DEFAULT_PASSWORD,
                                                           "new_password": "NewPassw0rd1", "confirm": "NewPassw0rd2"})
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.text
    weak = client.post("/auth/account/password", data={"csrf_token": token, "current_password": DEFAULT_PASSWORD,
                                                       "new_password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "密码至少 10 位" in weak.text
    seq = next_seq()
    ok = client.post("/auth/account/password", data={"csrf_token": token, "current_password": DEFAULT_PASSWORD,
                                                     "new_password": "NewPassw0rd1", "confirm": "NewPassw0rd1"})
    assert ok.status_code == 302
    assert actions_since(seq) == ["auth.password_changed"]
    assert client.get("/auth/account").status_code == 200
    assert other_device.get("/auth/account").status_code == 302     # the other session ended
