"""The OpenAPI 3 document, built with apispec from the operations the blueprint registered (so an
endpoint cannot exist without its documentation) and served at GET /api/v1/openapi.json."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from marshmallow import Schema, fields

from .framework import LOGIN, PUBLIC, SAFE_METHODS, Operation

API_VERSION = "1.0.0"

_ERRORS = {
    400: ("CsrfFailed", "CSRF 校验失败（会话请求缺少或伪造 X-CSRFToken） / CSRF check failed"),
    401: ("Unauthorized", "未登录，或 API 令牌无效、过期、已吊销 / not logged in or bad token"),
    403: ("Forbidden", "当前账号无权执行此操作 / not allowed for this account"),
    404: ("NotFound", "记录不存在或无权查看（两者回答相同） / not found or not visible (same answer)"),
    409: ("Conflict", "与记录当前状态不符（如版本已变化） / conflicts with the current state"),
    422: ("InvalidInput", "输入有误或规则不允许；fields 指出每个错误字段 / invalid input or a rule refuses"),
    429: ("Throttled", "请求过于频繁 / too many requests"),
}


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "稳定的错误代码 / stable code",
                                                   "example": "invalid_input"})
    message = fields.String(required=True, metadata={"description": "说明如何修正（中文；?lang=en 为英文）"})
    field = fields.String(metadata={"description": "出错的字段 / the field at fault"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields",
                          metadata={"description": "字段 → 错误说明 / field → messages"})
    details = fields.Dict(metadata={"description": "规则依据等补充信息 / rule and source"})


class AnyObject(Schema):
    class Meta:
        unknown = "include"


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name.removesuffix("Schema") or name


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(m: re.Match) -> str:
        conv, name = (m.group(1) or "string"), m.group(2)
        schema = {"type": "integer", "minimum": 1} if conv == "int" else {"type": "string"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", repl, rule), params


def _security(op: Operation) -> list[dict]:
    session = {"cookieSession": []} if op.method in SAFE_METHODS else {"cookieSession": [], "csrfHeader": []}
    if op.auth == PUBLIC:
        return [{}, {"bearerToken": []}, session]
    return [{"bearerToken": []}, session]


def _content(schema) -> dict:
    if isinstance(schema, list | tuple):
        return {"application/json": {"schema": {"oneOf": list(schema)}}}
    return {"application/json": {"schema": schema}}


def _operation_doc(op: Operation, path_params: list[dict]) -> dict:
    doc: dict = {"summary": op.summary, "tags": [op.tag], "operationId": op.endpoint,
                 "security": _security(op), "parameters": list(path_params)}
    description = op.description
    if op.roles:
        description = (description + "\n\n" if description else "") + "可调用的角色 / roles: " + ", ".join(op.roles)
        doc["x-roles"] = list(op.roles)
    if description:
        doc["description"] = description
    if op.query is not None:
        doc["parameters"].append({"in": "query", "schema": op.query})
    doc["parameters"].append({"in": "query", "name": "lang", "required": False,
                              "schema": {"type": "string", "enum": ["zh", "en"]},
                              "description": "消息语言 / language of messages"})
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": _content(op.body)}
    ok = {"description": "成功 / success"}
    if op.response is not None and op.status != 204:
        ok["content"] = _content(op.response)
    responses = {str(op.status): ok}
    # 401 everywhere: a bad bearer token is refused even on public endpoints
    errors = set(op.errors) | {401}
    if op.query is not None or op.body is not None or path_params:
        errors.add(422)
    if op.auth == LOGIN and op.method not in SAFE_METHODS:
        errors.add(400)
    if op.auth == LOGIN:
        errors.add(403)  # operators, supervisors and administrators act only after two-factor log-in
    if path_params:
        errors.add(404)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
    doc["responses"] = responses
    return doc


def build_spec(app: Flask) -> dict:
    spec = APISpec(
        title="县级公共资源交易平台 API", version=API_VERSION, openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": (
            "JSON API of the county public resource trading platform. Money is integer fen in *_fen fields "
            "(with a *_capitals 大写 string in responses); instants are ISO 8601 with the Beijing offset "
            "(+08:00). Errors are {\"error\", \"message\"} with a 4xx status; ?lang=en gives English messages. "
            "Machines use a bearer token; browsers use the session cookie plus the X-CSRFToken header on "
            "POST/PATCH/DELETE.")},
    )
    spec.components.security_scheme("bearerToken", {"type": "http", "scheme": "bearer",
                                                     "description": "账户页面创建的 API 令牌 / API token"})
    spec.components.security_scheme("cookieSession", {"type": "apiKey", "in": "cookie", "name": "session",
                                                      "description": "浏览器登录会话 / browser session"})
    spec.components.security_scheme("csrfHeader", {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                                                   "description": "会话请求的 CSRF 令牌（GET /api/v1/me 返回）"})
    spec.components.schema("Error", schema=ErrorSchema)
    for name, text in _ERRORS.values():
        spec.components.response(name, {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    for path, operations in _operations(app).items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operations(app: Flask) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op: Operation | None = getattr(app.view_functions.get(rule.endpoint), "api_operation", None)
        if op is None:
            continue
        path, params = _path(rule.rule)
        out.setdefault(path, {})[op.method.lower()] = _operation_doc(op, params)
    return out


def spec_for_app() -> dict:
    spec = current_app.extensions.get("api_openapi")
    if spec is None:
        spec = current_app.extensions["api_openapi"] = build_spec(current_app)
    return spec
