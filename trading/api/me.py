"""The caller: GET /me (user, role, organisation, and the CSRF token for browser sessions) and the
caller's own API tokens (list, create, revoke) through the accounts services."""

from __future__ import annotations

from flask import g
from flask_wtf.csrf import generate_csrf
from marshmallow import Schema, fields, validate

from trading.accounts import services as accounts
from trading.accounts.rules import ROLE_LABELS, Role
from trading.core.i18n import current_locale

from . import bp
from .fields import BeijingDateTime, Text
from .framework import ctx, only_session, operation
from .organisations import OrgRefSchema


class MeSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": [r.value for r in Role]})
    role_label = fields.String(required=True)
    organisation = fields.Nested(OrgRefSchema, required=True)
    totp_enabled = fields.Boolean(required=True)
    auth = fields.String(required=True, metadata={"enum": ["session", "token"],
                                                  "description": "本次请求的认证方式 / how this request authenticated"})
    csrf_token = fields.String(allow_none=True, metadata={
        "description": "会话请求在 POST/PATCH/DELETE 时放入 X-CSRFToken 请求头；令牌请求为 null"})


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "令牌开头几位，便于区分 / first characters"})
    created_at = BeijingDateTime(required=True)
    expires_at = BeijingDateTime(allow_none=True)
    revoked_at = BeijingDateTime(allow_none=True)
    last_used_at = BeijingDateTime(allow_none=True)


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema), required=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "令牌明文，只显示这一次 / shown once"})


class TokenCreateSchema(Schema):
    name = Text(60, required=True, metadata={"description": "用途说明，例如 “财务系统对接”"})
    expires_days = fields.Integer(strict=True, allow_none=True, load_default=None,
                                  validate=validate.Range(min=1, max=accounts.TOKEN_MAX_DAYS),
                                  metadata={"description": "有效天数（1–366），null 表示长期有效"})


@operation(bp, "GET", "/me", summary="当前用户 / the current user", tag="me", response=MeSchema)
def me():
    user = accounts.current_user_row(ctx())
    labels = ROLE_LABELS.get(Role(user.role), (user.role, user.role))
    via_token = bool(g.get("token_auth"))
    return MeSchema().dump({
        "id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
        "role_label": labels[1] if current_locale() == "en" else labels[0], "organisation": user.organisation,
        "totp_enabled": user.totp_enabled, "auth": "token" if via_token else "session",
        "csrf_token": None if via_token else generate_csrf(),
    })


@operation(bp, "GET", "/me/tokens", summary="我的 API 令牌 / my API tokens", tag="me", response=TokenListSchema)
def my_tokens():
    return {"items": TokenSchema(many=True).dump(accounts.list_api_tokens(ctx()))}


@operation(bp, "POST", "/me/tokens", summary="创建 API 令牌（仅限登录会话） / create a token (session only)",
           tag="me", body=TokenCreateSchema, response=NewTokenSchema, status=201, errors=(403,),
           description="令牌明文只在本次响应中出现；不能用令牌创建令牌。 / The plaintext appears only in this "
                       "response; a token cannot create tokens.")
def create_token(body):
    only_session()
    row, plaintext = accounts.create_api_token(ctx(), name=body["name"], expires_days=body["expires_days"])
    data = NewTokenSchema().dump(row)
    data["token"] = plaintext
    return data


@operation(bp, "DELETE", "/me/tokens/<int:token_id>", summary="吊销 API 令牌 / revoke a token", tag="me",
           status=204, errors=(404, 409))
def revoke_token(token_id):
    accounts.revoke_api_token(ctx(), token_id)
