"""Log-in use cases: password check with throttling, the TOTP second step, enrolment, log-out.

Failed attempts are rows in login_failure (per username and per IP) plus an audit entry. The caller
must commit them even though it answers with an error: the request boundary rolls back every 4xx,
and a failure that rolls back would not count. Imports core, audit, reference and this package."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import timedelta

import pyotp
from sqlalchemy import delete, select

from trading.audit.services import record
from trading.core.context import Actor, ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, Throttled, not_found
from trading.reference.settings import get_setting

from . import passwords
from .models import LoginFailure, User
from .rules import lock_remaining, whole_minutes

#: accept the previous and the next 30-second step too (clock drift on phones)
TOTP_VALID_WINDOW = 1
INVALID_ZH = "用户名或密码不正确"
INVALID_EN = "Wrong username or password"


def actor_for(user: User) -> Actor:
    """The actor a signed-in user acts as (same shape as core.web.actor_of)."""
    return Actor(user_id=user.id, org_id=user.org_id, roles=frozenset({user.role}), username=user.username,
                 acting_role=user.role)


def as_user(ctx: ServiceContext, user: User) -> ServiceContext:
    return replace(ctx, actor=actor_for(user))


# --- throttling -----------------------------------------------------------------------------------
def _lock_window(ctx: ServiceContext) -> timedelta:
    return timedelta(minutes=get_setting(ctx, "auth.lock_minutes"))


def _recent(ctx: ServiceContext, column, value: str, limit: int) -> list:
    since = ctx.now() - _lock_window(ctx)
    return list(ctx.session.execute(
        select(LoginFailure.at).where(column == value, LoginFailure.at > since)
        .order_by(LoginFailure.at.desc()).limit(limit)).scalars())


def _lock_left(ctx: ServiceContext, username: str) -> timedelta | None:
    """The longer of the username lock and the IP lock, or None."""
    lock, now = _lock_window(ctx), ctx.now()
    per_user = get_setting(ctx, "auth.max_failures")
    left = [lock_remaining(_recent(ctx, LoginFailure.username, username, per_user), now, per_user, lock)]
    if ctx.ip:
        per_ip = get_setting(ctx, "auth.max_failures_ip")
        left.append(lock_remaining(_recent(ctx, LoginFailure.ip, ctx.ip, per_ip), now, per_ip, lock))
    left = [x for x in left if x is not None]
    return max(left) if left else None


def _refuse_if_locked(ctx: ServiceContext, username: str) -> None:
    left = _lock_left(ctx, username)
    if left is not None:
        m = whole_minutes(left)
        raise Throttled("auth.locked", f"登录失败次数过多，已暂时锁定，请 {m} 分钟后再试",
                        f"Too many failed log-ins; locked for {m} more minutes", details={"minutes": m})


def _fail(ctx: ServiceContext, username: str, reason: str, user: User | None) -> None:
    """Count a failure (audited) and, if it reaches the limit, audit the lock."""
    ctx.session.add(LoginFailure(username=username[:40], ip=(ctx.ip or "")[:45], at=ctx.now(), reason=reason))
    ctx.session.flush()
    object_id = user.id if user is not None else "-"
    record(ctx, "auth.login_failed", "user", object_id, payload={"username": username[:40], "reason": reason})
    left = _lock_left(ctx, username)
    if left is not None:
        record(ctx, "auth.locked", "user", object_id,
               payload={"username": username[:40], "minutes": whole_minutes(left)})


def _succeed(ctx: ServiceContext, user: User, method: str) -> None:
    # A completed log-in forgives this account's earlier typos (the IP's count drops by the same rows).
    ctx.session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    record(as_user(ctx, user), "auth.login", "user", user.id, payload={"method": method})
    ctx.session.flush()


# --- password step --------------------------------------------------------------------------------
def authenticate(ctx: ServiceContext, username: str, password: str) -> User:
    """Check the password. Unknown user and wrong password give the same error (no enumeration); a
    locked username or IP is refused even with the right password. When the user has TOTP, the log-in
    is not complete: call complete_totp_login next (auth.login is recorded there)."""
    username = (username or "").strip().lower()[:40]
    password = password or ""
    _refuse_if_locked(ctx, username)
    user = ctx.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        passwords.burn_time(password)
        reason = "unknown_user"
    elif not passwords.verify_password(user.password_hash, password):
        reason = "bad_password"
    elif not user.is_active:
        reason = "inactive"
    else:
        reason = None
    if reason:
        _fail(ctx, username, reason, user)
        raise InvalidInput("auth.invalid", INVALID_ZH, INVALID_EN, field="password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if not user.totp_enabled:
        _succeed(ctx, user, "password")
    return user


def complete_totp_login(ctx: ServiceContext, user_id: int, code: str) -> User:
    """The second step: a TOTP code for the user who passed the password step. Throttled like passwords."""
    user = ctx.session.get(User, user_id)
    if user is None or not user.is_active or not user.totp_enabled:
        raise Forbidden("auth.pending_expired", "登录已失效，请重新登录", "The log-in expired; log in again")
    _refuse_if_locked(ctx, user.username)
    try:
        verify_totp(ctx, user, code)
    except InvalidInput as err:
        _fail(ctx, user.username, err.code.removeprefix("auth."), user)
        raise
    _succeed(ctx, user, "password+totp")
    return user


def record_logout(ctx: ServiceContext) -> None:
    if ctx.actor.user_id is not None:
        record(ctx, "auth.logout", "user", ctx.actor.user_id, payload={})


# --- TOTP -----------------------------------------------------------------------------------------
def _own(ctx: ServiceContext, user: User) -> None:
    if ctx.actor.user_id != user.id and not ctx.actor.has("system"):
        raise not_found("用户", "user")


def start_totp_enrolment(ctx: ServiceContext, user: User, issuer: str = "公共资源交易平台") -> tuple[str, str]:
    """A secret for the authenticator app (kept while enrolment is pending, so a reload shows the
    same QR code) and its otpauth:// URI. Nothing is trusted until confirm_totp."""
    _own(ctx, user)
    if user.totp_enabled:
        raise Conflict("auth.totp_already_enabled", "双因素认证已启用", "Two-factor authentication is already on")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
        record(ctx, "auth.totp_enrolment_started", "user", user.id, payload={})
        ctx.session.flush()
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=issuer)
    return user.totp_secret, uri


def confirm_totp(ctx: ServiceContext, user: User, code: str) -> User:
    """Enrolment ends when the user proves the app produces codes for the secret."""
    _own(ctx, user)
    if user.totp_enabled:
        raise Conflict("auth.totp_already_enabled", "双因素认证已启用", "Two-factor authentication is already on")
    if not user.totp_secret:
        raise Conflict("auth.totp_not_started", "请先开始启用双因素认证", "Start two-factor enrolment first")
    verify_totp(ctx, user, code)
    user.totp_enabled = True
    record(ctx, "auth.totp_enabled", "user", user.id, payload={})
    ctx.session.flush()
    return user


def verify_totp(ctx: ServiceContext, user: User, code: str) -> None:
    """Accept a code for the current step ± TOTP_VALID_WINDOW, once: a code whose step is not newer
    than the last accepted one is a replay (User.totp_last_step)."""
    code = "".join((code or "").split())
    if not user.totp_secret or len(code) != 6 or not code.isdigit():
        raise InvalidInput("auth.totp_invalid", "验证码不正确", "Wrong verification code", field="code")
    totp = pyotp.TOTP(user.totp_secret)
    now_step = totp.timecode(ctx.now())
    for step in range(now_step - TOTP_VALID_WINDOW, now_step + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                raise InvalidInput("auth.totp_replay", "该验证码已使用过，请等待下一个验证码",
                                   "That code was already used; wait for the next one", field="code")
            user.totp_last_step = step
            ctx.session.flush()
            return
    raise InvalidInput("auth.totp_invalid", "验证码不正确", "Wrong verification code", field="code")
