"""Use cases for organisations, users and API tokens. Log-in, two-factor and throttling live in
`login.py` and are re-exported here, so callers import every accounts use case from one place.

Imports core, audit, reference and this package; never Flask."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, not_found
from trading.reference.models import Region

from . import passwords
from .login import (  # noqa: F401  (re-exported use cases)
    actor_for,
    as_user,
    authenticate,
    complete_totp_login,
    confirm_totp,
    record_logout,
    start_totp_enrolment,
    verify_totp,
)
from .models import ApiToken, Organisation, User
from .rules import (
    ROLE_LABELS,
    ROLES_BY_ORG_KIND,
    OrgKind,
    Role,
    credit_code_problem,
    normalise_credit_code,
    password_problem,
    roles_for,
)
from .tokens import generate

ADMIN_OR_SYSTEM = ("admin", "system")
#: who may see every organisation (the centre, supervisors and administrators)
SEES_ALL_ORGS = ("operator", "supervisor", "admin", "system")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{2,39}$")

_CREDIT_MESSAGES = {
    "length": ("统一社会信用代码应为 18 位，请核对", "The unified social credit code has 18 characters"),
    "charset": ("统一社会信用代码只能含数字和大写字母，且不含 I、O、S、V、Z",
                "The unified social credit code uses digits and capital letters except I, O, S, V, Z"),
    "division": ("统一社会信用代码第 3–8 位应为 6 位数字的行政区划代码",
                 "Characters 3–8 of the unified social credit code are the 6-digit division code"),
    "check": ("统一社会信用代码校验位不符，请逐位核对", "The check character of the unified social credit code does not match"),
}
_PASSWORD_MESSAGES = {
    "too_short": ("密码至少 10 位", "The password needs at least 10 characters"),
    "too_long": ("密码不能超过 128 位", "The password may have at most 128 characters"),
    "needs_letter": ("密码须同时包含字母和数字", "The password needs letters and digits"),
    "needs_digit": ("密码须同时包含字母和数字", "The password needs letters and digits"),
}


# --- validation helpers ---------------------------------------------------------------------------
def _text(value: str | None, code: str, label_zh: str, label_en: str, *, maximum: int,
          required: bool = True, minimum: int = 1) -> str:
    """Stripped text within bounds; errors are `<code>_required` / `<code>_too_long` with field=<code's
    last part>, e.g. org.name_too_long on field "name"."""
    field = code.split(".", 1)[1]
    value = (value or "").strip()
    if required and len(value) < minimum:
        raise InvalidInput(f"{code}_required", f"请填写{label_zh}" if minimum <= 1 else f"{label_zh}至少 {minimum} 个字",
                           f"Enter the {label_en}", field=field)
    if len(value) > maximum:
        raise InvalidInput(f"{code}_too_long", f"{label_zh}不能超过 {maximum} 个字（现为 {len(value)} 个）",
                           f"The {label_en} may have at most {maximum} characters", field=field)
    return value


def check_credit_code(raw: str) -> str:
    """Normalised, valid 统一社会信用代码 or InvalidInput naming what is wrong."""
    code = normalise_credit_code(raw)
    problem = credit_code_problem(code)
    if problem:
        zh, en = _CREDIT_MESSAGES[problem]
        raise InvalidInput(f"org.credit_code_{problem}", zh, en, field="credit_code")
    return code


def check_password(password: str, *, field: str = "password") -> str:
    problem = password_problem(password or "")
    if problem:
        zh, en = _PASSWORD_MESSAGES[problem]
        raise InvalidInput(f"auth.password_{problem}", zh, en, field=field)
    return password


# --- organisations --------------------------------------------------------------------------------
def create_organisation(ctx: ServiceContext, *, name: str, credit_code: str, kind: str, region_id: int | None = None,
                        contact_name: str = "", contact_phone: str = "", address: str = "") -> Organisation:
    ctx.require(*ADMIN_OR_SYSTEM)
    name = _text(name, "org.name", "单位名称", "organisation name", maximum=100, minimum=2)
    code = check_credit_code(credit_code)
    if kind not in {k.value for k in OrgKind}:
        raise InvalidInput("org.kind_invalid", "请选择单位类型", "Choose the kind of organisation", field="kind")
    if region_id is not None and ctx.session.get(Region, region_id) is None:
        raise InvalidInput("org.region_unknown", "所选区域不存在", "Unknown region", field="region_id")
    contact_name = _text(contact_name, "org.contact_name", "联系人", "contact name", maximum=40, required=False)
    contact_phone = _text(contact_phone, "org.contact_phone", "联系电话", "contact phone", maximum=20, required=False)
    address = _text(address, "org.address", "地址", "address", maximum=200, required=False)
    if ctx.session.execute(select(Organisation.id).where(Organisation.credit_code == code)).first():
        raise Conflict("org.credit_code_taken", f"统一社会信用代码 {code} 已登记", f"Credit code {code} is already registered",
                       field="credit_code")
    org = Organisation(name=name, credit_code=code, kind=kind, region_id=region_id, contact_name=contact_name,
                       contact_phone=contact_phone, address=address, created_at=ctx.now())
    ctx.session.add(org)
    ctx.session.flush()
    record(ctx, "organisation.created", "organisation", org.id,
           payload={"name": name, "credit_code": code, "kind": kind, "region_id": region_id})
    return org


def get_visible_organisation(ctx: ServiceContext, org_id: int) -> Organisation:
    org = ctx.session.get(Organisation, org_id)
    if org is None or not (ctx.actor.has(*SEES_ALL_ORGS) or ctx.actor.org_id == org.id):
        raise not_found("单位", "organisation")
    return org


def list_organisations(ctx: ServiceContext, kind: str | None = None) -> list[Organisation]:
    q = select(Organisation).order_by(Organisation.kind, Organisation.name, Organisation.id)
    if kind:
        q = q.where(Organisation.kind == kind)
    if not ctx.actor.has(*SEES_ALL_ORGS):
        q = q.where(Organisation.id == ctx.actor.org_id)
    return list(ctx.session.execute(q).scalars())


# --- users ----------------------------------------------------------------------------------------
def normalise_username(raw: str) -> str:
    return (raw or "").strip().lower()


def create_user(ctx: ServiceContext, *, username: str, display_name: str, org_id: int, role: str, password: str,
                phone: str = "") -> User:
    ctx.require(*ADMIN_OR_SYSTEM)
    username = normalise_username(username)
    if not USERNAME_RE.match(username):
        raise InvalidInput("user.username_invalid", "用户名为 3–40 位小写字母、数字或 _ . -，以字母或数字开头",
                           "Usernames have 3–40 lower-case letters, digits or _ . -", field="username")
    display_name = _text(display_name, "user.display_name", "姓名", "display name", maximum=40)
    phone = _text(phone, "user.phone", "手机号", "phone", maximum=20, required=False)
    org = ctx.session.get(Organisation, org_id) if org_id is not None else None
    if org is None:
        raise InvalidInput("user.org_unknown", "所选单位不存在", "Unknown organisation", field="org_id")
    if role not in {r.value for r in Role}:
        raise InvalidInput("user.role_invalid", "请选择角色", "Choose a role", field="role")
    if Role(role) not in ROLES_BY_ORG_KIND[OrgKind(org.kind)]:
        raise InvalidInput("user.role_mismatch", f"“{ROLE_LABELS[Role(role)][0]}”角色不能属于此类单位",
                           f"A {ROLE_LABELS[Role(role)][1]} cannot belong to this kind of organisation", field="role")
    check_password(password)
    if ctx.session.execute(select(User.id).where(func.lower(User.username) == username)).first():
        raise Conflict("user.username_taken", f"用户名 {username} 已被使用", f"The username {username} is taken",
                       field="username")
    user = User(username=username, display_name=display_name, org_id=org.id, role=role,
                password_hash=passwords.hash_password(password), phone=phone, created_at=ctx.now(),
                is_active=True, totp_enabled=False, session_version=1)
    ctx.session.add(user)
    ctx.session.flush()
    record(ctx, "user.created", "user", user.id,
           payload={"username": username, "display_name": display_name, "org_id": org.id, "role": role})
    return user


def list_users(ctx: ServiceContext, org_id: int | None = None) -> list[User]:
    ctx.require(*roles_for("user.create"))
    q = select(User).order_by(User.org_id, User.username)
    if org_id is not None:
        q = q.where(User.org_id == org_id)
    return list(ctx.session.execute(q).scalars())


def deactivate_user(ctx: ServiceContext, user_id: int) -> User:
    """Switch an account off: its sessions end (session_version) and its tokens stop working."""
    ctx.require(*roles_for("user.deactivate"))
    user = ctx.session.get(User, user_id)
    if user is None:
        raise not_found("用户", "user")
    if user.id == ctx.actor.user_id:
        raise Forbidden("user.deactivate_self", "不能停用自己的账号", "You cannot deactivate your own account")
    if not user.is_active:
        raise Conflict("user.already_inactive", "该账号已停用", "The account is already deactivated")
    user.is_active = False
    user.session_version += 1
    record(ctx, "user.deactivated", "user", user.id, payload={"username": user.username})
    ctx.session.flush()
    return user


def current_user_row(ctx: ServiceContext) -> User:
    """The acting user's row (own-account use cases)."""
    user = ctx.session.get(User, ctx.actor.user_id) if ctx.actor.user_id else None
    if user is None or not user.is_active:
        raise Forbidden("auth.required", "请先登录", "Log in first")
    return user


def change_password(ctx: ServiceContext, *, current_password: str, new_password: str) -> User:
    """Own password. Bumps session_version so every other session of the account ends."""
    user = current_user_row(ctx)
    if not passwords.verify_password(user.password_hash, current_password or ""):
        raise InvalidInput("auth.password_wrong", "当前密码不正确", "The current password is wrong",
                           field="current_password")
    check_password(new_password, field="new_password")
    if new_password == current_password:
        raise InvalidInput("auth.password_same", "新密码不能与当前密码相同", "Choose a password different from the current one",
                           field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    user.session_version += 1
    record(ctx, "auth.password_changed", "user", user.id, payload={"session_version": user.session_version})
    ctx.session.flush()
    return user


# --- API tokens -----------------------------------------------------------------------------------
TOKEN_MAX_DAYS = 366


def create_api_token(ctx: ServiceContext, *, name: str, expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A bearer token for the acting user. Returns the row and the plaintext, which is never stored."""
    user = current_user_row(ctx)
    name = _text(name, "token.name", "令牌名称", "token name", maximum=60)
    if expires_days is not None and not (1 <= expires_days <= TOKEN_MAX_DAYS):
        raise InvalidInput("token.expires_range", f"有效期须为 1–{TOKEN_MAX_DAYS} 天，或留空表示长期有效",
                           f"Validity is 1–{TOKEN_MAX_DAYS} days, or empty for no expiry", field="expires_days")
    plaintext, prefix, sha = generate()
    now = ctx.now()
    row = ApiToken(user_id=user.id, name=name, prefix=prefix, token_sha256=sha, created_at=now,
                   expires_at=now + timedelta(days=expires_days) if expires_days else None)
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, "token.created", "api_token", row.id,
           payload={"name": name, "prefix": prefix, "expires_at": row.expires_at})
    return row, plaintext


def list_api_tokens(ctx: ServiceContext) -> list[ApiToken]:
    user = current_user_row(ctx)
    return list(ctx.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                    .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def revoke_api_token(ctx: ServiceContext, token_id: int) -> ApiToken:
    user = current_user_row(ctx)
    row = ctx.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise not_found("令牌", "token")
    if row.revoked_at is not None:
        raise Conflict("token.already_revoked", "该令牌已吊销", "The token is already revoked")
    row.revoked_at = ctx.now()
    record(ctx, "token.revoked", "api_token", row.id, payload={"name": row.name, "prefix": row.prefix})
    ctx.session.flush()
    return row
