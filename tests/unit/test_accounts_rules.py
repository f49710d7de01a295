"""Pure account rules: password policy, the separation-of-duties table (管办分离), the log-in lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trading.accounts.rules import (
    CAN,
    CUSTODY_ACTIONS,
    READ_ACTIONS,
    ROLES_BY_ORG_KIND,
    SUPERVISE_ACTIONS,
    TWO_FACTOR_REQUIRED,
    OrgKind,
    Role,
    can,
    lock_remaining,
    password_problem,
    roles_for,
    whole_minutes,
)


@pytest.mark.parametrize("password,problem", [
    ("abcdefgh12", None),                 # exactly 10, letters and digits
    ("Passw0rd!demo", None),
    ("中文密码abc123456", None),            # other characters are fine alongside letters and digits
    ("abcdefg12", "too_short"),           # 9
    ("", "too_short"),
    ("a1" * 64 + "x", "too_long"),        # 129
    ("a1" * 64, None),                    # 128
    ("1234567890", "needs_letter"),
    ("１２３４５６７８９０ab", None),         # full-width digits count as digits
    ("密码密码密码密码密码1", "needs_letter"),  # CJK characters are not the letters the policy asks for
    ("abcdefghij", "needs_digit"),
    ("abcdefghij!!", "needs_digit"),
])
def test_password_policy(password, problem):
    assert password_problem(password) == problem


# --- separation of duties --------------------------------------------------------------------------
MATRIX = [
    # action, roles that may, roles that may not (every role is listed once per row)
    ("project.register", {"owner", "agency"}, {"operator", "bidder", "expert", "supervisor", "admin"}),
    ("project.review", {"operator"}, {"owner", "agency", "bidder", "expert", "supervisor", "admin"}),
    ("project.read_all", {"operator", "supervisor"}, {"owner", "agency", "bidder", "expert", "admin"}),
    ("notice.publish", {"owner", "agency", "operator"}, {"bidder", "expert", "supervisor", "admin"}),
    ("audit.read", {"supervisor"}, {"operator", "owner", "agency", "bidder", "expert", "admin"}),
    ("supervision.read", {"supervisor"}, {"operator", "owner", "agency", "bidder", "expert", "admin"}),
    ("settings.update", {"admin"}, {"operator", "owner", "agency", "bidder", "expert", "supervisor"}),
    ("org.create", {"admin"}, {"operator", "owner", "agency", "bidder", "expert", "supervisor"}),
    ("user.create", {"admin"}, {"operator", "owner", "agency", "bidder", "expert", "supervisor"}),
]


@pytest.mark.parametrize("action,allowed,refused", MATRIX)
def test_permission_matrix(action, allowed, refused):
    assert allowed | refused == {r.value for r in Role}
    for role in allowed:
        assert can(role, action), (role, action)
    for role in refused:
        assert not can(role, action), (role, action)


def test_operator_runs_trades_but_never_supervises_or_reads_the_audit_trail():
    mine = {a for a, roles in CAN.items() if Role.OPERATOR in roles}
    assert "project.review" in mine
    assert not {a for a in mine if a.startswith(("supervision.", "audit.", "penalty.", "complaint."))}
    assert not {a for a in mine if a.startswith(("settings.", "org.", "user."))}


def test_supervisor_only_reads():
    mine = {a for a, roles in CAN.items() if Role.SUPERVISOR in roles} - {"account.manage_own"}
    assert mine and mine <= READ_ACTIONS | CUSTODY_ACTIONS | SUPERVISE_ACTIONS
    assert SUPERVISE_ACTIONS == {"complaint.handle"}  # handling complaints only; it runs no trade


def test_admin_takes_no_part_in_trades():
    mine = {a for a, roles in CAN.items() if Role.ADMIN in roles}
    assert not {a for a in mine if a.startswith(("project.", "notice.", "audit.", "supervision."))}


def test_unknown_action_is_refused_and_roles_for_matches_the_table():
    assert not can("admin", "project.delete_everything")
    assert roles_for("project.review") == ("operator",)
    assert roles_for("project.register") == ("agency", "owner")
    with pytest.raises(KeyError):
        roles_for("no.such.action")


def test_every_role_can_manage_its_own_account():
    assert all(can(r, "account.manage_own") for r in Role)


def test_roles_fit_org_kinds():
    assert set().union(*ROLES_BY_ORG_KIND.values()) == set(Role)
    assert set(ROLES_BY_ORG_KIND) == set(OrgKind)
    assert ROLES_BY_ORG_KIND[OrgKind.CENTRE] == {Role.OPERATOR, Role.ADMIN}
    assert TWO_FACTOR_REQUIRED == {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN}


# --- log-in lock -----------------------------------------------------------------------------------
NOW = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
LOCK = timedelta(minutes=15)


def ago(*minutes):
    return [NOW - timedelta(minutes=m) for m in minutes]


@pytest.mark.parametrize("failures,expected", [
    (ago(), None),
    (ago(1, 2, 3, 4), None),                              # four failures: not yet
    (ago(0, 1, 2, 3, 4), timedelta(minutes=11)),          # five: locked until the 5th newest ages out
    (ago(0, 1, 2, 3, 4, 5, 6), timedelta(minutes=11)),    # more failures do not lengthen the lock
    (ago(1, 2, 3, 4, 15), None),                          # one is exactly 15 minutes old: out of the window
    (ago(10, 11, 12, 13, 14), timedelta(minutes=1)),
])
def test_lock_remaining(failures, expected):
    assert lock_remaining(failures, NOW, 5, LOCK) == expected


@pytest.mark.parametrize("delta,minutes", [
    (timedelta(seconds=1), 1), (timedelta(minutes=1), 1), (timedelta(minutes=1, seconds=1), 2),
    (timedelta(minutes=15), 15), (timedelta(0), 1),
])
def test_whole_minutes_round_up(delta, minutes):
    assert whole_minutes(delta) == minutes
