"""Web glue shared by every blueprint: the service context of a request, one commit per request at
the boundary, one translation of errors into HTML or JSON, security headers, template filters."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, flash, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from trading.core.clock import to_beijing
from trading.core.context import SYSTEM, Actor, ServiceContext
from trading.core.errors import DomainError
from trading.core.i18n import current_locale
from trading.core.money import format_wan, format_yuan, to_capitals
from trading.extensions import db

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")


def actor_of(user) -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(user_id=None, org_id=None, roles=frozenset(), username="anonymous", acting_role="public")
    return Actor(user_id=user.id, org_id=user.org_id, roles=frozenset({user.role}), username=user.username,
                 acting_role=user.role)


def service_context() -> ServiceContext:
    """The request's context, made once: the actor, the app's clock, the client address."""
    ctx = g.get("service_ctx")
    if ctx is None:
        ctx = ServiceContext(session=db.session, actor=actor_of(current_user), clock=current_app.extensions["clock"],
                             ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:200],
                             locale=current_locale())
        g.service_ctx = ctx
    return ctx


def cli_context(actor: Actor = SYSTEM) -> ServiceContext:
    return ServiceContext(session=db.session, actor=actor, clock=current_app.extensions["clock"], ip="cli")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_payload(code: str, message: str, status: int, **extra) -> tuple:
    body = {"error": code, "message": message}
    body.update({k: v for k, v in extra.items() if v})
    return jsonify(body), status


def _status_message(status: int) -> tuple[str, str, str]:
    table = {
        400: ("bad_request", "请求格式不正确", "Malformed request"),
        401: ("auth.required", "请先登录", "Log in first"),
        403: ("permission.denied", "当前账号无权访问", "Not allowed for your account"),
        404: ("not_found", "页面或记录不存在", "Not found"),
        405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
        413: ("too_large", "上传内容超过大小限制", "Request too large"),
        429: ("throttled", "请求过于频繁，请稍后再试", "Too many requests; try later"),
    }
    return table.get(status, ("http_error", "请求无法处理", "The request could not be processed"))


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address (request.remote_addr, hence
    ServiceContext.ip and every audit entry's "ip") from the proxies' X-Forwarded-For, counting
    from the right so a client cannot inject its own; with 0 nothing is trusted."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def init_app(app: Flask) -> None:
    app.json.ensure_ascii = False  # Chinese stays readable in API answers (UTF-8 JSON)
    trust_proxies(app)
    @app.after_request
    def _commit_and_secure(response):
        # One commit per request, at the boundary; a failed request leaves nothing half-written.
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.args.get("lang") in app.config["LANGUAGES"]:
            response.set_cookie("lang", request.args["lang"], max_age=365 * 86400, samesite="Lax")
        return response

    @app.teardown_request
    def _rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()

    @app.errorhandler(DomainError)
    def _domain_error(err: DomainError):
        db.session.rollback()
        msg = err.message(current_locale())
        if wants_json():
            return error_payload(err.code, msg, err.status, field=err.field, details=err.details)
        return render_template("errors/error.html", status=err.status, code=err.code, message=msg), err.status

    @app.errorhandler(CSRFError)
    def _csrf_error(err):
        db.session.rollback()
        zh, en = "表单已过期或来源不可信，请刷新页面后重新提交", "The form expired or its origin is not trusted; reload and resubmit"
        msg = en if current_locale() == "en" else zh
        if wants_json():
            return error_payload("csrf.invalid", msg, 400)
        return render_template("errors/error.html", status=400, code="csrf.invalid", message=msg), 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        db.session.rollback()
        status = err.code or 500
        code, zh, en = _status_message(status)
        msg = en if current_locale() == "en" else zh
        if wants_json():
            return error_payload(code, msg, status)
        return render_template("errors/error.html", status=status, code=code, message=msg), status

    def _favicon():
        from flask import redirect, url_for
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    app.add_url_rule("/favicon.ico", "favicon", _favicon)

    app.jinja_env.filters.update(yuan=format_yuan, wan=format_wan, capitals=to_capitals, bj=fmt_beijing,
                                 bj_long=fmt_beijing_long, bj_date=fmt_beijing_date, iso=fmt_iso)

    from trading.vendor import versions
    vendor_versions = versions()

    def vendor_url(name: str, path: str) -> str:
        from flask import url_for
        return url_for("static", filename=f"vendor/{name}-{vendor_versions[name]}/{path}")

    app.jinja_env.globals["vendor_url"] = vendor_url

    @app.context_processor
    def _globals():
        return {"now_utc": current_app.extensions["clock"].now(), "nav_endpoints": app.view_functions, "locale": current_locale(),
                "county_name": app.config["COUNTY_NAME_EN"] if current_locale() == "en" else app.config["COUNTY_NAME"]}


def flash_error(err: DomainError) -> None:
    flash(err.message(current_locale()), "danger")


def fmt_beijing(value: datetime | None) -> str:
    """2025-03-25 09:30 (tables and lists, GB/T 7408)."""
    return to_beijing(value).strftime("%Y-%m-%d %H:%M") if value else ""


def fmt_beijing_date(value: datetime | None) -> str:
    return to_beijing(value).strftime("%Y-%m-%d") if value else ""


def fmt_beijing_long(value: datetime | None) -> str:
    """2025年3月25日9时30分（北京时间） — the form deadlines take in notices."""
    if not value:
        return ""
    v = to_beijing(value)
    if current_locale() == "en":
        return v.strftime("%Y-%m-%d %H:%M") + " (Beijing time)"
    return f"{v.year}年{v.month}月{v.day}日{v.hour}时{v.minute:02d}分（北京时间）"


def fmt_iso(value: datetime | None) -> str:
    return to_beijing(value).isoformat(timespec="seconds") if value else ""
