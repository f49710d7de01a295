"""The API's plumbing, shared by every resource module.

- `operation(...)` registers a view on the blueprint together with what the OpenAPI document says about
  it (so the document cannot forget an endpoint), checks the log-in, parses the query string and the
  JSON body with marshmallow schemas, and serialises the result.
- `guard_request` runs before every API view: a bad bearer token is a 401; a cookie-session request with
  an unsafe method must carry the CSRF token in the X-CSRFToken header; bearer-token requests carry no
  cookie, so they need none.
- Errors are DomainErrors; `error_response` turns them into {"error", "message", "fields"?} with a 4xx.

Views stay thin: parse → call ONE service → dump. Every rule lives in the services."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from wtforms.validators import ValidationError as CsrfValidationError

from trading.core.context import ServiceContext
from trading.core.errors import DomainError, Forbidden, InvalidInput
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.extensions import db

from . import messages

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC, LOGIN = "public", "login"
MAX_PER_PAGE = 100
#: query parameters every endpoint accepts besides its own
COMMON_QUERY = frozenset({"lang"})


class AuthRequired(DomainError):
    """No log-in, or a bad bearer token (401)."""
    status = 401


class CsrfFailed(DomainError):
    status = 400


class ApiInvalidInput(InvalidInput):
    """The body or query string does not fit its schema; `fields` names each wrong field."""

    def __init__(self, fields_: dict[str, list[str]]):
        zh, en = messages.summary(fields_)
        super().__init__("invalid_input", zh, en)
        self.fields = fields_


def t(zh: str, en: str) -> str:
    return en if current_locale() == "en" else zh


def ctx() -> ServiceContext:
    return service_context()


# --- the request guard ------------------------------------------------------------------------------

def guard_request() -> None:
    # flask_wtf caches the signed CSRF token in `g`; tests keep one app context across requests, so
    # drop it or one client would be handed another client's token.
    g.pop("csrf_token", None)
    user = current_user._get_current_object()  # loads the session user, or the bearer token's
    if g.get("bad_token") and not user.is_authenticated:
        raise AuthRequired("auth.bad_token", "API 令牌无效、已过期或已吊销：请在账户页面重新创建令牌",
                           "The API token is invalid, expired or revoked; create a new one on your account page")
    if request.method in SAFE_METHODS or g.get("token_auth") or not user.is_authenticated:
        return
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    if not token:
        raise CsrfFailed("csrf.missing",
                         "缺少 X-CSRFToken 请求头：使用登录会话调用接口时，请先 GET /api/v1/me 取得 csrf_token 并放入该请求头",
                         "Missing X-CSRFToken header: with a session cookie, GET /api/v1/me for csrf_token "
                         "and send it in that header (or use a bearer token)")
    try:
        validate_csrf(token)
    except CsrfValidationError as exc:
        raise CsrfFailed("csrf.invalid",
                         "X-CSRFToken 无效或已过期：请重新 GET /api/v1/me 取得新的 csrf_token",
                         "The X-CSRFToken is invalid or expired; GET /api/v1/me for a fresh csrf_token") from exc


def require_login() -> None:
    if not current_user.is_authenticated:
        raise AuthRequired("auth.required", "请先登录，或在 Authorization 请求头中提供 Bearer API 令牌",
                           "Log in, or send a bearer API token in the Authorization header")


def error_response(err: DomainError):
    # An app-level handler for a more specific error (e.g. a missing calendar year, which also alerts
    # the administrators) keeps its side effects for API requests too.
    app_handlers = current_app.error_handler_spec[None][None]
    for cls in type(err).__mro__:
        if cls is DomainError:
            break
        if cls in app_handlers:
            return app_handlers[cls](err)
    db.session.rollback()
    body: dict[str, Any] = {"error": err.code, "message": err.message(current_locale())}
    if isinstance(err, ApiInvalidInput):
        body["fields"] = err.fields
    elif err.field:
        body["field"] = err.field
        body["fields"] = {err.field: [body["message"]]}
    if err.details:
        body["details"] = err.details
    return jsonify(body), err.status


# --- parsing ---------------------------------------------------------------------------------------

def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def load_body(schema: Schema) -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiInvalidInput({"body": [t("不是合法的 JSON，请检查引号、逗号和括号",
                                              "is not valid JSON; check quotes, commas and brackets")]}) from exc
    if not isinstance(data, dict):
        raise ApiInvalidInput({"body": [t("须为 JSON 对象（{…}）", "must be a JSON object ({…})")]})
    try:
        return schema.load(data, unknown=RAISE)
    except ValidationError as exc:
        raise ApiInvalidInput(messages.flatten(exc.messages)) from exc


def load_query(schema: Schema) -> dict:
    data = {k: v for k, v in request.args.items() if k not in COMMON_QUERY}
    try:
        return schema.load(data, unknown=RAISE)
    except ValidationError as exc:
        raise ApiInvalidInput(messages.flatten(exc.messages)) from exc


# --- pagination -------------------------------------------------------------------------------------

class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000),
                          metadata={"description": "页码，从 1 开始 / page number from 1"})
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                              metadata={"description": "每页条数（1–100） / items per page (1–100)"})


_page_schemas: dict[type, type] = {}


def page_schema(item: type[Schema]) -> type[Schema]:
    """{"items": [item…], "page", "per_page", "total"} for a given item schema (one class per item)."""
    if item not in _page_schemas:
        name = item.__name__.removesuffix("Schema") + "Page"
        _page_schemas[item] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "Meta": type("Meta", (), {"ordered": True}),
        })
    return _page_schemas[item]


def paged(item: type[Schema], items, *, page: int, per_page: int, total: int) -> dict:
    return {"items": item(many=True).dump(items), "page": page, "per_page": per_page, "total": total}


# --- operations -------------------------------------------------------------------------------------

@dataclass
class Operation:
    method: str
    rule: str
    summary: str
    tag: str
    auth: str = LOGIN
    description: str = ""
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    #: a schema class, a list of classes (one per audience: oneOf), or None (no content)
    response: Any = None
    status: int = 200
    #: extra error statuses this operation may answer with (401/422/CSRF are added automatically)
    errors: tuple[int, ...] = ()
    #: roles the service admits (documentation; the service enforces)
    roles: tuple[str, ...] = ()
    endpoint: str = ""
    extra: dict = field(default_factory=dict)


def operation(bp: Blueprint, method: str, rule: str, *, summary: str, tag: str, **options) -> Callable:
    """Register a view: `view(**path_args, query=…, body=…)` returns data (dumped already) or
    (data, status). The decorator does the log-in check and the parsing, and documents it all."""
    def decorator(view):
        op = Operation(method=method.upper(), rule=rule, summary=summary, tag=tag,
                       endpoint=view.__name__, **options)
        # one instance each, made here: a marshmallow schema copies its declared fields when it is
        # made (a fifth of a small request's CPU); load() keeps its state in locals, so requests share it
        query_schema = op.query() if op.query is not None else None
        body_schema = op.body() if op.body is not None else None

        @wraps(view)
        def wrapped(**kwargs):
            if op.auth == LOGIN:
                require_login()
            if query_schema is not None:
                kwargs["query"] = load_query(query_schema)
            if body_schema is not None:
                kwargs["body"] = load_body(body_schema)
            result = view(**kwargs)
            if op.status == 204:
                return "", 204
            if isinstance(result, tuple):
                return jsonify(result[0]), result[1]
            return jsonify(result), op.status

        wrapped.api_operation = op
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=[op.method])
        return wrapped
    return decorator


def only_session() -> None:
    """Some actions (creating tokens) need the person at a browser, not a token."""
    if g.get("token_auth"):
        raise Forbidden("tokens.session_required", "只能在登录会话中创建 API 令牌，不能用令牌创建令牌",
                        "API tokens are created from a logged-in session, not with another token")
