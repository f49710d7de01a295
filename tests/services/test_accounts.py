"""Accounts use cases: organisations and users with their validations, log-in with throttling, TOTP
with replay protection, API tokens, password change, deactivation — each audited, none leaking secrets."""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from tests.factories.accounts import (
    DEFAULT_PASSWORD,
    actor_ctx,
    make_org,
    make_user,
    totp_code,
    valid_credit_code,
)
from trading.accounts import services
from trading.accounts.models import LoginFailure, Organisation, User
from trading.accounts.tokens import user_for_token
from trading.audit.models import AuditEntry, AuditHead
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Throttled
from trading.reference.services import update_setting


def next_seq(session) -> int:
    return session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()


def entries(session, action: str) -> list[dict]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()
    return [json.loads(bytes(r.body)) for r in rows]


def failures(session, username: str) -> int:
    return session.execute(select(func.count()).select_from(LoginFailure)
                           .where(LoginFailure.username == username)).scalar_one()


# --- organisations --------------------------------------------------------------------------------
def test_create_organisation_normalises_and_audits(ctx, session):
    org = services.create_organisation(ctx, name="  示范县交通运输局  ", credit_code=valid_credit_code(42).lower(),
                                       kind="owner")
    assert org.name == "示范县交通运输局"
    assert org.credit_code == valid_credit_code(42)
    [entry] = entries(session, "organisation.created")
    assert entry["payload"] == {"name": "示范县交通运输局", "credit_code": valid_credit_code(42), "kind": "owner",
                                "region_id": None}


@pytest.mark.parametrize("fields,code,field", [
    ({"credit_code": "91350100M000100Y44"}, "org.credit_code_check", "credit_code"),
    ({"credit_code": "91350100M000O00Y43"}, "org.credit_code_charset", "credit_code"),
    ({"credit_code": "91350100M000100"}, "org.credit_code_length", "credit_code"),
    ({"name": "单" * 101}, "org.name_too_long", "name"),
    ({"name": " "}, "org.name_required", "name"),
    ({"kind": "bank"}, "org.kind_invalid", "kind"),
    ({"region_id": 999}, "org.region_unknown", "region_id"),
    ({"contact_phone": "1" * 21}, "org.contact_phone_too_long", "contact_phone"),
])
def test_create_organisation_refuses_bad_input(ctx, session, fields, code, field):
    before = next_seq(session)
    args = {"name": "示范县水务局", "credit_code": "91350100M000100Y43", "kind": "owner", **fields}
    with pytest.raises(InvalidInput) as exc:
        services.create_organisation(ctx, **args)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert next_seq(session) == before
    assert session.execute(select(func.count(Organisation.id))).scalar_one() == 0


def test_duplicate_credit_code_conflicts(ctx):
    services.create_organisation(ctx, name="甲单位", credit_code="91350100M000100Y43", kind="owner")
    with pytest.raises(Conflict) as exc:
        services.create_organisation(ctx, name="乙单位", credit_code="91350100m000100y43", kind="bidder")
    assert exc.value.code == "org.credit_code_taken"


@pytest.mark.parametrize("role", ["operator", "owner", "supervisor", "bidder"])
def test_only_admins_create_organisations_and_users(ctx, session, clock, role):
    actor = make_user(ctx, role)
    c = actor_ctx(session, clock, actor)
    with pytest.raises(Forbidden):
        services.create_organisation(c, name="某单位", credit_code=valid_credit_code(3), kind="owner")
    with pytest.raises(Forbidden):
        services.create_user(c, username="newbie", display_name="新人", org_id=actor.org_id, role=role,
                             password=DEFAULT_PASSWORD)


def test_organisation_visibility(ctx, session, clock):
    owner = make_user(ctx, "owner")
    other = make_org(ctx, "owner")
    c = actor_ctx(session, clock, owner)
    assert services.get_visible_organisation(c, owner.org_id).id == owner.org_id
    with pytest.raises(NotFound):
        services.get_visible_organisation(c, other.id)
    assert [o.id for o in services.list_organisations(c)] == [owner.org_id]
    sup = actor_ctx(session, clock, make_user(ctx, "supervisor"))
    assert services.get_visible_organisation(sup, other.id).id == other.id
    assert {o.kind for o in services.list_organisations(sup, kind="owner")} == {"owner"}


# --- users ----------------------------------------------------------------------------------------
def test_create_user_hashes_with_argon2id_and_audits_without_secrets(ctx, session):
    org = make_org(ctx, "agency")
    user = services.create_user(ctx, username=" Zhang.San ", display_name="张三", org_id=org.id, role="agency",
                                password="Secret1234567", phone="13800000000")
    assert user.username == "zhang.san"
    assert user.password_hash.startswith("$argon2id$")
    assert "Secret1234567" not in user.password_hash
    [entry] = entries(session, "user.created")
    assert entry["payload"] == {"username": "zhang.san", "display_name": "张三", "org_id": org.id, "role": "agency"}
    assert "Secret" not in json.dumps(entry, ensure_ascii=False)


@pytest.mark.parametrize("fields,code,field", [
    ({"role": "operator"}, "user.role_mismatch", "role"),        # an owner organisation has no operators
    ({"role": "king"}, "user.role_invalid", "role"),
    ({"password": "short1"}, "auth.password_too_short", "password"),
    ({"password": "onlyletters"}, "auth.password_needs_digit", "password"),
    ({"password": "1234567890"}, "auth.password_needs_letter", "password"),
    ({"username": "ab"}, "user.username_invalid", "username"),
    ({"username": "张三"}, "user.username_invalid", "username"),
    ({"username": "a" * 41}, "user.username_invalid", "username"),
    ({"display_name": "名" * 41}, "user.display_name_too_long", "display_name"),
    ({"display_name": ""}, "user.display_name_required", "display_name"),
    ({"org_id": 12345}, "user.org_unknown", "org_id"),
])
def test_create_user_refuses_bad_input(ctx, session, fields, code, field):
    org = make_org(ctx, "owner")
    before = next_seq(session)
    args = {"username": "wang", "display_name": "王五", "org_id": org.id, "role": "owner",
            "password": DEFAULT_PASSWORD, **fields}
    with pytest.raises(InvalidInput) as exc:
        services.create_user(ctx, **args)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert next_seq(session) == before


def test_duplicate_username_conflicts_whatever_the_case(ctx):
    make_user(ctx, "bidder", username="li.si")
    with pytest.raises(Conflict) as exc:
        make_user(ctx, "bidder", username="LI.SI")
    assert exc.value.code == "user.username_taken"


# --- authentication and throttling ----------------------------------------------------------------
def test_authenticate_records_the_login(ctx, session):
    user = make_user(ctx, "owner", username="owner.a")
    assert services.authenticate(ctx, "Owner.A ", DEFAULT_PASSWORD).id == user.id
    [entry] = entries(session, "auth.login")
    assert entry["actor"]["user"] == user.id and entry["payload"] == {"method": "password"}


def test_unknown_user_and_wrong_password_look_the_same(ctx, session):
    make_user(ctx, "owner", username="owner.b")
    errors = []
    for username, password in [("owner.b", "Wrong1234567"), ("nobody", DEFAULT_PASSWORD)]:
        with pytest.raises(InvalidInput) as exc:
            services.authenticate(ctx, username, password)
        errors.append((exc.value.code, exc.value.message_zh, exc.value.message_en, exc.value.status))
    assert errors[0] == errors[1]
    reasons = [e["payload"] for e in entries(session, "auth.login_failed")]
    assert reasons == [{"username": "owner.b", "reason": "bad_password"},
                       {"username": "nobody", "reason": "unknown_user"}]
    assert "Wrong1234567" not in json.dumps(reasons)


def test_lock_after_max_failures_even_with_the_right_password(ctx, session, clock):
    make_user(ctx, "bidder", username="bidder.c")
    for _ in range(5):
        with pytest.raises(InvalidInput):
            services.authenticate(ctx, "bidder.c", "Wrong1234567")
        clock.advance(seconds=30)
    assert failures(session, "bidder.c") == 5
    assert len(entries(session, "auth.locked")) == 1
    with pytest.raises(Throttled) as exc:
        services.authenticate(ctx, "bidder.c", DEFAULT_PASSWORD)
    assert exc.value.code == "auth.locked" and exc.value.status == 429
    # the 1st of the five failures was 2.5 minutes ago: 12.5 minutes remain, shown as 13
    assert "13 分钟" in exc.value.message_zh and exc.value.details == {"minutes": 13}
    clock.advance(minutes=12)
    with pytest.raises(Throttled):
        services.authenticate(ctx, "bidder.c", DEFAULT_PASSWORD)
    clock.advance(minutes=1)
    assert services.authenticate(ctx, "bidder.c", DEFAULT_PASSWORD).username == "bidder.c"
    assert failures(session, "bidder.c") == 0  # a completed log-in clears the account's failures


def test_inactive_user_cannot_log_in(ctx, session, clock):
    admin = make_user(ctx, "admin")
    user = make_user(ctx, "owner", username="owner.gone")
    services.deactivate_user(actor_ctx(session, clock, admin), user.id)
    with pytest.raises(InvalidInput) as exc:
        services.authenticate(ctx, "owner.gone", DEFAULT_PASSWORD)
    assert exc.value.code == "auth.invalid"
    assert entries(session, "auth.login_failed")[-1]["payload"]["reason"] == "inactive"


def test_ip_lock_covers_many_usernames(ctx, session, clock):
    admin = make_user(ctx, "admin")
    update_setting(actor_ctx(session, clock, admin), "auth.max_failures_ip", 3)
    make_user(ctx, "owner", username="victim")
    for name in ("x1", "x2", "x3"):
        with pytest.raises(InvalidInput):
            services.authenticate(ctx, name, "Wrong1234567")
    with pytest.raises(Throttled):
        services.authenticate(ctx, "victim", DEFAULT_PASSWORD)
    elsewhere = ServiceContext(session=session, clock=clock, ip="10.0.0.9")
    assert services.authenticate(elsewhere, "victim", DEFAULT_PASSWORD).username == "victim"


def test_lock_figures_come_from_settings(ctx, session, clock):
    admin = make_user(ctx, "admin")
    update_setting(actor_ctx(session, clock, admin), "auth.max_failures", 2)
    update_setting(actor_ctx(session, clock, admin), "auth.lock_minutes", 60)
    make_user(ctx, "owner", username="owner.d")
    ctx.cache.clear()
    for _ in range(2):
        with pytest.raises(InvalidInput):
            services.authenticate(ctx, "owner.d", "Wrong1234567")
    clock.advance(minutes=59)
    with pytest.raises(Throttled):
        services.authenticate(ctx, "owner.d", DEFAULT_PASSWORD)
    clock.advance(minutes=1)
    services.authenticate(ctx, "owner.d", DEFAULT_PASSWORD)


# --- TOTP -----------------------------------------------------------------------------------------
def test_totp_enrolment_and_replay(ctx, session, clock):
    user = make_user(ctx, "operator", username="op.e")
    c = actor_ctx(session, clock, user)
    secret, uri = services.start_totp_enrolment(c, user, issuer="示范县公共资源交易平台")
    assert uri.startswith("otpauth://totp/") and "op.e" in uri and secret in uri
    assert services.start_totp_enrolment(c, user)[0] == secret  # a reload shows the same secret
    code = pyotp.TOTP(secret).at(clock.now())
    with pytest.raises(InvalidInput):
        services.confirm_totp(c, user, "000000" if code != "000000" else "111111")
    services.confirm_totp(c, user, code)
    assert user.totp_enabled
    with pytest.raises(Conflict):
        services.start_totp_enrolment(c, user)
    with pytest.raises(InvalidInput) as exc:
        services.verify_totp(c, user, code)          # the same code again: a replay
    assert exc.value.code == "auth.totp_replay"
    clock.advance(seconds=30)
    services.verify_totp(c, user, totp_code(user, clock))
    assert len(entries(session, "auth.totp_enabled")) == 1
    assert secret not in json.dumps([e for a in ("auth.totp_enabled", "auth.totp_enrolment_started")
                                     for e in entries(session, a)])


@pytest.mark.parametrize("offset,ok", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_totp_window_is_one_step(ctx, session, clock, offset, ok):
    user = make_user(ctx, "supervisor", totp=True)
    user.totp_last_step = None  # forget the enrolment code's step (-1) so only the window decides
    c = actor_ctx(session, clock, user)
    code = totp_code(user, clock, offset)
    if ok:
        services.verify_totp(c, user, code)
    else:
        with pytest.raises(InvalidInput):
            services.verify_totp(c, user, code)


def test_enrolling_someone_else_is_refused(ctx, session, clock):
    a, b = make_user(ctx, "owner"), make_user(ctx, "owner")
    with pytest.raises(NotFound):
        services.start_totp_enrolment(actor_ctx(session, clock, a), b)


def test_totp_login_step_is_throttled_and_audited(ctx, session, clock):
    user = make_user(ctx, "admin", username="admin.f", totp=True)
    assert services.authenticate(ctx, "admin.f", DEFAULT_PASSWORD).id == user.id
    assert entries(session, "auth.login") == []      # not logged in until the code is checked
    for _ in range(5):
        with pytest.raises(InvalidInput):
            services.complete_totp_login(ctx, user.id, "12345x")
    with pytest.raises(Throttled):
        services.complete_totp_login(ctx, user.id, totp_code(user, clock))
    with pytest.raises(Throttled):
        services.authenticate(ctx, "admin.f", DEFAULT_PASSWORD)
    clock.advance(minutes=16)
    services.complete_totp_login(ctx, user.id, totp_code(user, clock))
    assert entries(session, "auth.login")[-1]["payload"] == {"method": "password+totp"}


def test_factory_totp_user_can_log_in_at_the_same_instant(ctx, clock):
    user = make_user(ctx, "operator", totp=True)
    assert services.complete_totp_login(ctx, user.id, totp_code(user, clock)).id == user.id


# --- password change and deactivation -------------------------------------------------------------
def test_change_password(ctx, session, clock):
    user = make_user(ctx, "owner", username="owner.g")
    c = actor_ctx(session, clock, user)
    with pytest.raises(InvalidInput) as exc:
        services.change_password(c, current_password="Wrong1234567", new_password="NewPassw0rd1")
    assert exc.value.field == "current_password"
    with pytest.raises(InvalidInput) as exc:
        services.change_password(c, current_password=DEFAULT_PASSWORD, new_password="short")
    assert exc.value.field == "new_password"
    with pytest.raises(InvalidInput):
        services.change_password(c, current_password=DEFAULT_PASSWORD, new_password=DEFAULT_PASSWORD)
    services.change_password(c, current_password=DEFAULT_PASSWORD, new_password="NewPassw0rd1")
    assert user.session_version == 2
    assert entries(session, "auth.password_changed")[0]["payload"] == {"session_version": 2}
    with pytest.raises(InvalidInput):
        services.authenticate(ctx, "owner.g", DEFAULT_PASSWORD)
    services.authenticate(ctx, "owner.g", "NewPassw0rd1")


def test_deactivation(ctx, session, clock):
    admin = make_user(ctx, "admin")
    user = make_user(ctx, "bidder")
    a = actor_ctx(session, clock, admin)
    services.deactivate_user(a, user.id)
    assert not user.is_active and user.session_version == 2
    assert entries(session, "user.deactivated")[0]["payload"] == {"username": user.username}
    with pytest.raises(Conflict):
        services.deactivate_user(a, user.id)
    with pytest.raises(Forbidden):
        services.deactivate_user(a, admin.id)
    with pytest.raises(NotFound):
        services.deactivate_user(a, 9999)


# --- API tokens -----------------------------------------------------------------------------------
def test_token_lifecycle(ctx, session, clock):
    user = make_user(ctx, "agency")
    c = actor_ctx(session, clock, user)
    row, plaintext = services.create_api_token(c, name="对接系统", expires_days=30)
    assert plaintext.startswith("tpt_") and row.prefix == plaintext[:12]
    assert plaintext not in (row.token_sha256, row.prefix)
    [entry] = entries(session, "token.created")
    assert entry["payload"]["prefix"] == row.prefix and plaintext not in json.dumps(entry)
    clock.advance(hours=1)
    assert user_for_token(session, plaintext, clock.now()).id == user.id
    assert row.last_used_at == clock.now()
    assert user_for_token(session, plaintext + "x", clock.now()) is None
    assert user_for_token(session, "", clock.now()) is None
    assert user_for_token(session, "t" * 500, clock.now()) is None
    assert user_for_token(session, plaintext, clock.now() + timedelta(days=30)) is None  # expired
    services.revoke_api_token(c, row.id)
    assert user_for_token(session, plaintext, clock.now()) is None
    assert entries(session, "token.revoked")[0]["payload"] == {"name": "对接系统", "prefix": row.prefix}
    with pytest.raises(Conflict):
        services.revoke_api_token(c, row.id)


def test_tokens_are_private_and_die_with_the_account(ctx, session, clock):
    owner, stranger, admin = make_user(ctx, "owner"), make_user(ctx, "owner"), make_user(ctx, "admin")
    row, plaintext = services.create_api_token(actor_ctx(session, clock, owner), name="ERP")
    with pytest.raises(NotFound):
        services.revoke_api_token(actor_ctx(session, clock, stranger), row.id)
    assert services.list_api_tokens(actor_ctx(session, clock, stranger)) == []
    services.deactivate_user(actor_ctx(session, clock, admin), owner.id)
    assert user_for_token(session, plaintext, clock.now()) is None


@pytest.mark.parametrize("fields,code", [
    ({"name": ""}, "token.name_required"),
    ({"name": "n" * 61}, "token.name_too_long"),
    ({"name": "ok", "expires_days": 0}, "token.expires_range"),
    ({"name": "ok", "expires_days": 367}, "token.expires_range"),
])
def test_token_input_is_checked(ctx, session, clock, fields, code):
    c = actor_ctx(session, clock, make_user(ctx, "bidder"))
    with pytest.raises(InvalidInput) as exc:
        services.create_api_token(c, **fields)
    assert exc.value.code == code


def test_system_context_has_no_own_tokens(ctx):
    with pytest.raises(Forbidden):
        services.create_api_token(ctx, name="x")


def test_user_rows_keep_org(ctx, session):
    user = make_user(ctx, "expert")
    assert session.get(User, user.id).organisation.kind == "expert_employer"
