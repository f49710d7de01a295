"""Organisations, users, log-ins and service contexts for tests.

    org = make_org(ctx, "owner")
    alice = make_user(ctx, "owner", org=org)            # password DEFAULT_PASSWORD
    op = make_user(ctx, "operator", totp=True)          # pyotp.TOTP(op.totp_secret).at(clock.now())
    login_as(client, alice)                             # commits, then sets the Flask-Login session
    ctx_alice = actor_ctx(session, clock, alice)        # a ServiceContext acting as alice

Every row is made through the real services (validated, audited) in a system context built from the
given ctx's session and clock, so any ctx will do. Factories flush, they do not commit; login_as
commits, because the request boundary rolls back the shared session on every 4xx response."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pyotp
from flask_login.utils import _create_identifier

from trading.accounts import services
from trading.accounts.models import Organisation, User
from trading.accounts.rules import TWO_FACTOR_REQUIRED, OrgKind, Role, credit_code_check_char
from trading.core.context import ServiceContext
from trading.extensions import db

DEFAULT_PASSWORD = "Passw0rd!demo"
#: positions 3–8: an administrative division code (成都市 510100)
DIVISION = "510100"

#: the organisation kind a user of each role belongs to when no org is given
ORG_KIND_FOR_ROLE = {
    Role.OPERATOR: OrgKind.CENTRE,
    Role.ADMIN: OrgKind.CENTRE,
    Role.OWNER: OrgKind.OWNER,
    Role.AGENCY: OrgKind.AGENCY,
    Role.BIDDER: OrgKind.BIDDER,
    Role.EXPERT: OrgKind.EXPERT_EMPLOYER,
    Role.SUPERVISOR: OrgKind.SUPERVISOR,
}

_ORG_NAMES = {
    OrgKind.CENTRE: "示范县公共资源交易中心{n}",
    OrgKind.OWNER: "示范县第{n}建设单位",
    OrgKind.AGENCY: "示范招标代理有限公司{n}",
    OrgKind.BIDDER: "示范建筑工程有限公司{n}",
    OrgKind.SUPERVISOR: "示范县行政监督部门{n}",
    OrgKind.EXPERT_EMPLOYER: "示范设计研究院{n}",
}

_seq = itertools.count(1)
#: default credit-code seeds start here, far from small seeds tests pass explicitly
_AUTO_SEED_BASE = 700_000_000


def valid_credit_code(seed: int) -> str:
    """A valid GB 32100 code, the same for the same seed (0 ≤ seed < 10⁹): 91 (enterprise) +
    division + a 9-digit organisation part + the check character."""
    if not 0 <= seed < 10**9:
        raise ValueError("seed must be 0 ≤ seed < 10**9")
    first17 = f"91{DIVISION}{seed:09d}"
    return first17 + credit_code_check_char(first17)


def _system(ctx: ServiceContext) -> ServiceContext:
    return ServiceContext(session=ctx.session, clock=ctx.clock, ip=ctx.ip or "127.0.0.1")


def make_org(ctx: ServiceContext, kind: str, name: str | None = None, credit_code: str | None = None,
             **fields) -> Organisation:
    """An organisation of `kind` (an OrgKind value); extra fields go to create_organisation."""
    n = next(_seq)
    kind = OrgKind(kind)
    return services.create_organisation(
        _system(ctx), name=name or _ORG_NAMES[kind].format(n=n),
        credit_code=credit_code or valid_credit_code(_AUTO_SEED_BASE + n), kind=kind.value, **fields)


def make_user(ctx: ServiceContext, role: str, org: Organisation | None = None, username: str | None = None,
              password: str = DEFAULT_PASSWORD, totp: bool = False, display_name: str | None = None,
              phone: str = "") -> User:
    """A user of `role` in `org` (a new organisation of the fitting kind when None).

    totp=True enrols and enables TOTP; the secret is user.totp_secret. The enrolment code is the one
    of the previous 30-second step, so a test can log in with pyotp.TOTP(secret).at(clock.now())
    at the same frozen instant without tripping replay protection."""
    role = Role(role)
    n = next(_seq)
    sys_ctx = _system(ctx)
    if org is None:
        org = make_org(ctx, ORG_KIND_FOR_ROLE[role])
    user = services.create_user(sys_ctx, username=username or f"{role.value}{n}",
                                display_name=display_name or f"{role.value.title()} {n}", org_id=org.id,
                                role=role.value, password=password, phone=phone)
    if totp:
        secret, _ = services.start_totp_enrolment(sys_ctx, user)
        services.confirm_totp(sys_ctx, user, pyotp.TOTP(secret).at(ctx.now() - timedelta(seconds=30)))
    return user


def totp_code(user: User, clock, offset_steps: int = 0) -> str:
    """The user's TOTP code at the clock's instant (plus whole 30-second steps)."""
    return pyotp.TOTP(user.totp_secret).at(clock.now() + timedelta(seconds=30 * offset_steps))


def actor_ctx(session, clock, user: User, ip: str = "127.0.0.1") -> ServiceContext:
    """A ServiceContext acting as `user` (the shape core.web.service_context builds for a request)."""
    return ServiceContext(session=session, actor=services.actor_for(user), clock=clock, ip=ip)


def login_as(client, user: User, *, two_factor: bool = True) -> None:
    """Sign `user` in on the test client without the log-in pages. Commits first: the request
    boundary rolls back the shared session on a 4xx, which would otherwise drop uncommitted fixtures.

    two_factor=True marks the session as having passed TOTP (session["2fa_ok"]), which the roles in
    TWO_FACTOR_REQUIRED need before any page but the setup page; pass False to test that redirect."""
    db.session.commit()
    app = client.application
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # Flask-Login "strong" session protection compares it
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = f"{user.id}:{user.session_version}"
        sess["_fresh"] = True
        sess["_id"] = identifier
        if two_factor and (user.totp_enabled or user.role in TWO_FACTOR_REQUIRED):
            sess["2fa_ok"] = True


_CSRF_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token(client, path: str = "/auth/login") -> str:
    """A valid CSRF token for the client's session, read from a page that renders a form."""
    page = client.get(path)
    match = _CSRF_RE.search(page.get_data(as_text=True))
    if page.status_code != 200 or not match:
        raise AssertionError(f"GET {path} gave {page.status_code} without a CSRF token")
    return match.group(1)
