"""Who is asking: Flask-Login session users, bearer API tokens, role checks for views, and the rule
that operators, supervisors and administrators act only after two-factor log-in."""

from __future__ import annotations

from functools import wraps

from flask import Flask, flash, g, jsonify, redirect, request, request_started, session, url_for
from flask_babel import gettext
from flask_login import UserMixin, current_user

from trading.extensions import db, login_manager

from .models import User
from .rules import TWO_FACTOR_REQUIRED


class SessionUser(UserMixin):
    """Flask-Login's view of a User row; the row itself stays free of Flask."""

    def __init__(self, row: User, *, via_token: bool = False):
        self.row = row
        self.via_token = via_token

    def get_id(self) -> str:
        return f"{self.row.id}:{self.row.session_version}"

    @property
    def is_active(self) -> bool:
        return self.row.is_active

    def __getattr__(self, name):
        return getattr(self.row, name)


def init_app(app: Flask) -> None:
    from . import passwords
    # Test apps hash with the cheapest Argon2 profile (every fixture user costs a hash); see passwords.py.
    passwords.use_cheap_hashing(bool(app.config.get("TESTING")))

    def _fresh_request_state(sender, **extra):
        # `g` lives on the app context. In production every request brings its own, so this is a
        # no-op; tests keep one app context open across requests, and without it a request would see
        # the previous request's user (Flask-Login), service context and CSRF token (Flask-WTF).
        # request_started fires before every before_request function.
        g.__dict__.clear()

    request_started.connect(_fresh_request_state, app, weak=False)

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(user_key: str):
        try:
            uid, version = (int(x) for x in user_key.split(":"))
        except ValueError:
            return None
        row = db.session.get(User, uid)
        if row is None or not row.is_active or row.session_version != version:
            return None
        return SessionUser(row)

    @login_manager.request_loader
    def _load_from_token(req):
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not req.path.startswith("/api/"):
            return None
        from .tokens import user_for_token
        row = user_for_token(db.session, header[7:].strip(), app.extensions["clock"].now())
        if row is None:
            g.bad_token = True
            return None
        # Token requests carry no cookie session, so CSRF does not apply to them.
        g.token_auth = True
        return SessionUser(row, via_token=True)

    @login_manager.unauthorized_handler
    def _unauthorized():
        if request.path.startswith("/api/"):
            if g.get("bad_token"):
                return jsonify(error="auth.bad_token", message="API 令牌无效、已过期或已吊销"), 401
            return jsonify(error="auth.required", message="请先登录或提供 API 令牌"), 401
        return redirect(url_for("auth.login", next=request.full_path))

    @app.before_request
    def _enforce_two_factor():
        if not current_user.is_authenticated or getattr(current_user, "via_token", False):
            return None
        if current_user.role in TWO_FACTOR_REQUIRED and not session.get("2fa_ok"):
            allowed = {"auth.two_factor_setup", "auth.logout", "auth.two_factor_verify", "static"}
            if request.endpoint not in allowed and not (request.endpoint or "").startswith("portal."):
                if request.path.startswith("/api/"):
                    return jsonify(error="auth.two_factor_required", message="此角色须先启用并通过双因素认证"), 403
                flash(gettext("您的角色须启用双因素认证（TOTP）后才能办理业务。"), "warning")
                return redirect(url_for("auth.two_factor_setup"))
        return None


def role_required(*roles: str):
    """Views: a log-in and one of the roles. Services check again; this only picks the right page."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                from flask import abort
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
