"""Who is calling: the session with its CSRF header, bearer tokens (made from the session, used
without CSRF, refused once revoked or expired), and the 401 for nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import actor_ctx, login_as
from trading.accounts import services as accounts
from trading.extensions import db


def test_anonymous_gets_401_saying_how_to_authenticate(caller):
    resp = caller("anonymous").get("/me")
    assert resp.status_code == 401
    assert resp.json["error"] == "auth.required"
    assert "登录" in resp.json["message"] and "Bearer" in resp.json["message"]
    en = caller("anonymous").get("/me?lang=en")
    assert en.status_code == 401 and en.json["message"].startswith("Log in")


def test_me_describes_user_role_organisation_and_csrf_token(caller, cast):
    resp = caller("owner").get("/me")
    assert resp.status_code == 200
    body = resp.json
    owner = cast["owner"]
    assert body["id"] == owner.id and body["role"] == "owner" and body["role_label"] == "业主/采购人"
    assert body["organisation"] == {"id": owner.org_id, "name": owner.organisation.name, "kind": "owner"}
    assert body["auth"] == "session" and body["csrf_token"]


def test_two_factor_roles_need_the_second_factor_on_a_session(app, cast):
    c = Caller(app)
    login_as(c.client, cast["operator"], two_factor=False)
    resp = c.client.get("/api/v1/me")
    assert resp.status_code == 403 and resp.json["error"] == "auth.two_factor_required"


@pytest.mark.parametrize("header", [None, "forged-token", ""])
def test_session_write_without_a_valid_csrf_header_is_refused_and_writes_nothing(caller, header):
    owner = caller("owner")
    owner.csrf_token()
    before = audit_next_seq()
    resp = owner.post("/me/tokens", {"name": "对接"}, csrf=False if header is None else header)
    assert resp.status_code == 400
    assert resp.json["error"] in ("csrf.missing", "csrf.invalid")
    assert "X-CSRFToken" in resp.json["message"]
    assert audit_next_seq() == before


def _make_token(owner: Caller, **body) -> dict:
    resp = owner.post("/me/tokens", {"name": "财务系统对接", **body})
    assert resp.status_code == 201, resp.json
    return resp.json


def test_token_flow_create_use_without_csrf_then_revoke(app, caller):
    owner = caller("owner")
    made = _make_token(owner)
    assert made["token"].startswith("tpt_") and made["prefix"] == made["token"][:12]
    assert made["created_at"].endswith("+08:00") and made["expires_at"] is None
    machine = Caller(app, token=made["token"])
    me = machine.get("/me")
    assert me.status_code == 200 and me.json["auth"] == "token" and me.json["csrf_token"] is None
    second = _make_token(owner, expires_days=30)
    # a bearer request needs no CSRF header, even for DELETE
    assert machine.delete(f"/me/tokens/{second['id']}").status_code == 204
    listed = owner.get("/me/tokens").json["items"]
    assert {t["id"] for t in listed} == {made["id"], second["id"]}
    assert all("token" not in t for t in listed)
    assert owner.delete(f"/me/tokens/{made['id']}").status_code == 204
    before = audit_next_seq()
    resp = machine.get("/me")
    assert resp.status_code == 401 and resp.json["error"] == "auth.bad_token"
    assert "重新创建" in resp.json["message"]
    assert audit_next_seq() == before


def test_a_token_cannot_mint_tokens(app, caller):
    machine = Caller(app, token=_make_token(caller("owner"))["token"])
    before = audit_next_seq()
    resp = machine.post("/me/tokens", {"name": "再来一个"})
    assert resp.status_code == 403 and resp.json["error"] == "tokens.session_required"
    assert audit_next_seq() == before


def test_expired_token_is_401(app, session, clock, cast):
    _, plaintext = accounts.create_api_token(actor_ctx(session, clock, cast["bidder"]), name="短期", expires_days=1)
    db.session.commit()
    machine = Caller(app, token=plaintext)
    assert machine.get("/me").status_code == 200
    clock.advance(timedelta(days=1, seconds=1))
    resp = machine.get("/me?lang=en")
    assert resp.status_code == 401 and "expired" in resp.json["message"]


def test_bad_token_is_refused_even_on_public_endpoints(app):
    resp = Caller(app, token="tpt_not-a-real-token").get("/openapi.json")
    assert resp.status_code == 401 and resp.json["error"] == "auth.bad_token"


def test_revoking_another_users_token_is_404_like_a_missing_one(caller, app):
    theirs = _make_token(caller("bidder"))
    owner = caller("owner")
    before = audit_next_seq()
    other = owner.delete(f"/me/tokens/{theirs['id']}")
    missing = owner.delete("/me/tokens/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json == missing.json
    assert audit_next_seq() == before
    assert Caller(app, token=theirs["token"]).get("/me").status_code == 200


@pytest.mark.parametrize("body, field, words", [
    ({"name": "x", "expires_days": "30"}, "expires_days", "整数"),
    ({"name": "x", "expires_days": 1.5}, "expires_days", "整数"),
    ({"name": "x", "expires_days": 0}, "expires_days", "1"),
    ({"name": "x" * 61}, "name", "60"),
    ({}, "name", "必须填写"),
    ({"name": 5}, "name", "文本"),
    ({"name": "x", "scope": "all"}, "scope", "不是可接受的字段"),
])
def test_token_body_errors_name_the_field(caller, body, field, words):
    owner = caller("owner")
    before = audit_next_seq()
    resp = owner.post("/me/tokens", body)
    assert resp.status_code == 422
    assert resp.json["error"] == "invalid_input"
    assert words in resp.json["fields"][field][0]
    assert field in resp.json["message"]
    assert audit_next_seq() == before


@pytest.mark.parametrize("raw, words", [
    (b'{"name": "x",}', "不是合法的 JSON"),
    (b'["name"]', "JSON 对象"),
    (b'"name"', "JSON 对象"),
    (b'{"name": "x", "expires_days": NaN}', "不是合法的 JSON"),
    (b"\xff\xfe", "不是合法的 JSON"),
])
def test_malformed_bodies_are_422(caller, raw, words):
    resp = caller("owner").post("/me/tokens", data=raw)
    assert resp.status_code == 422 and resp.json["error"] == "invalid_input"
    assert words in resp.json["fields"]["body"][0]


def test_messages_in_english_with_lang_en(caller):
    resp = caller("owner").post("/me/tokens?lang=en", {"name": "x", "expires_days": "30"})
    assert resp.status_code == 422
    assert resp.json["fields"]["expires_days"] == ["must be an integer (no quotes, no decimals)"]
    assert resp.json["message"].startswith("The request has invalid fields")
