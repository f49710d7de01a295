"""Log-in (password, then TOTP when enrolled), log-out, two-factor enrolment and the account security
page: password change and API tokens. Blueprint `auth` under /auth. Thin: each handler parses a form,
calls one service and redirects or re-renders with the message."""

from __future__ import annotations

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from trading.core.errors import DomainError, Forbidden, InvalidInput, Throttled
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.extensions import db

from . import services
from .forms import ButtonForm, ChangePasswordForm, LoginForm, TokenForm, TotpForm
from .rules import TWO_FACTOR_REQUIRED
from .web_auth import SessionUser

bp = Blueprint("auth", __name__)

#: how long the password step stays valid while the TOTP code is awaited
PENDING_SECONDS = 300


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: an open redirect after log-in is a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _home() -> str:
    return url_for("portal.home")


def _failed(err: DomainError) -> int:
    # The request boundary rolls back every 4xx response, but a failed attempt (its login_failure row
    # and audit entry) must survive or the throttle would never count: commit it here, explicitly.
    db.session.commit()
    return 429 if isinstance(err, Throttled) else 401


def _start_session(user, *, two_factor: bool) -> None:
    # Session fixation: nothing from before the log-in (pending state, an old 2fa_ok) survives.
    session.clear()
    login_user(SessionUser(user))
    if two_factor:
        session["2fa_ok"] = True


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_home())
        form.next.data = _safe_next(request.args.get("next")) or ""
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422
    ctx = service_context()
    try:
        user = services.authenticate(ctx, form.username.data, form.password.data)
    except (InvalidInput, Throttled) as err:
        status = _failed(err)
        return render_template("auth/login.html", form=form, error=err.message(current_locale())), status
    next_url = _safe_next(form.next.data)
    if user.totp_enabled:
        session.clear()
        session["pending_2fa_user"] = user.id
        session["pending_2fa_at"] = ctx.now().timestamp()
        if next_url:
            session["pending_next"] = next_url
        return redirect(url_for("auth.two_factor_verify"))
    _start_session(user, two_factor=False)
    if user.role in TWO_FACTOR_REQUIRED:
        flash(_("您的角色须启用双因素认证（TOTP）后才能办理业务。"), "warning")
        return redirect(url_for("auth.two_factor_setup"))
    return redirect(next_url or _home())


def _pending_user_id() -> int | None:
    """The user who passed the password step and owes a TOTP code, or a signed-in user who has TOTP
    but whose session has not passed it yet."""
    uid, at = session.get("pending_2fa_user"), session.get("pending_2fa_at")
    if uid is not None and at is not None:
        if service_context().now().timestamp() - at <= PENDING_SECONDS:
            return int(uid)
        for key in ("pending_2fa_user", "pending_2fa_at", "pending_next"):
            session.pop(key, None)
        return None
    if current_user.is_authenticated and current_user.totp_enabled and not session.get("2fa_ok"):
        return current_user.id
    return None


@bp.route("/2fa/verify", methods=["GET", "POST"])
def two_factor_verify():
    uid = _pending_user_id()
    if uid is None:
        flash(_("登录已失效，请重新登录"), "warning")
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if request.method == "GET":
        return render_template("auth/two_factor_verify.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/two_factor_verify.html", form=form), 422
    try:
        user = services.complete_totp_login(service_context(), uid, form.code.data)
    except Forbidden:
        session.clear()
        flash(_("登录已失效，请重新登录"), "warning")
        return redirect(url_for("auth.login"))
    except (InvalidInput, Throttled) as err:
        status = _failed(err)
        return render_template("auth/two_factor_verify.html", form=form,
                               error=err.message(current_locale())), status
    next_url = _safe_next(session.get("pending_next"))
    _start_session(user, two_factor=True)
    return redirect(next_url or _home())


@bp.route("/2fa/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    row = current_user.row
    if row.totp_enabled:
        if session.get("2fa_ok"):
            flash(_("双因素认证已启用"), "info")
            return redirect(url_for("auth.account"))
        return redirect(url_for("auth.two_factor_verify"))
    ctx = service_context()
    secret, uri = services.start_totp_enrolment(ctx, row, issuer=current_app.config["TOTP_ISSUER"])
    form = TotpForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.confirm_totp(ctx, row, form.code.data)
            except DomainError as err:
                form.code.errors = [err.message(current_locale())]
            else:
                session["2fa_ok"] = True
                flash(_("双因素认证已启用。以后登录时需输入验证器中的 6 位验证码。"), "success")
                return redirect(url_for("auth.account"))
        status = 422
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/two_factor_setup.html", form=form, qr=qr, secret=grouped), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated and not current_user.via_token:
        services.record_logout(service_context())
        logout_user()
    session.clear()
    flash(_("您已安全退出"), "info")
    return redirect(_home())


# --- account security page ----------------------------------------------------------------------
def _account_page(*, password_form=None, token_form=None, new_token=None, status=200):
    ctx = service_context()
    response = current_app.make_response((render_template(
        "auth/account.html", user=current_user.row, tokens=services.list_api_tokens(ctx), now=ctx.now(),
        password_form=password_form or ChangePasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None), button_form=ButtonForm(formdata=None),
        new_token=new_token, two_factor_required=current_user.role in TWO_FACTOR_REQUIRED), status))
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the plaintext token is on this page only
    return response


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(password_form=form, status=422)
    if form.new_password.data != form.confirm.data:
        form.confirm.errors = [_("两次输入的新密码不一致")]
        return _account_page(password_form=form, status=422)
    try:
        row = services.change_password(service_context(), current_password=form.current_password.data,
                                       new_password=form.new_password.data)
    except DomainError as err:
        getattr(form, err.field or "new_password", form.new_password).errors = [err.message(current_locale())]
        return _account_page(password_form=form, status=err.status)
    # The password change ended every session of the account (session_version); keep this one.
    login_user(SessionUser(row))
    flash(_("密码已修改，其他设备上的登录已失效"), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    form.validate_on_submit()
    raw_days = (form.expires_days.data or "").strip()
    try:
        days = int(raw_days) if raw_days else None
    except ValueError:
        form.expires_days.errors = [_("有效期须为整数天数")]
        return _account_page(token_form=form, status=422)
    try:
        row, plaintext = services.create_api_token(service_context(), name=form.name.data, expires_days=days)
    except DomainError as err:
        field = {"name": form.name, "expires_days": form.expires_days}.get(err.field or "", form.name)
        field.errors = [err.message(current_locale())]
        return _account_page(token_form=form, status=err.status)
    return _account_page(new_token={"name": row.name, "token": plaintext})


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    services.revoke_api_token(service_context(), token_id)
    flash(_("令牌已吊销"), "success")
    return redirect(url_for("auth.account"))
