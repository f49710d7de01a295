"""Roles, separation of duties (管办分离) and the 统一社会信用代码 check, pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from trading.reference.settings import SettingDef, define


class Role(StrEnum):
    OPERATOR = "operator"      # 交易中心: runs trades; no approve/supervise/penalise powers
    OWNER = "owner"            # 业主/采购人/出让人/转让方
    AGENCY = "agency"          # 招标/采购代理机构
    BIDDER = "bidder"          # 投标人/供应商/竞买人
    EXPERT = "expert"          # 评审专家
    SUPERVISOR = "supervisor"  # 行政监督/纪检监察: sees everything, operates nothing
    ADMIN = "admin"            # 系统管理员: accounts, settings, calendar


ROLE_LABELS = {
    Role.OPERATOR: ("交易中心", "Trading centre operator"),
    Role.OWNER: ("业主/采购人", "Project owner / purchaser"),
    Role.AGENCY: ("代理机构", "Agency"),
    Role.BIDDER: ("投标人/供应商", "Bidder / supplier"),
    Role.EXPERT: ("评审专家", "Expert"),
    Role.SUPERVISOR: ("监督人员", "Supervisor"),
    Role.ADMIN: ("系统管理员", "Administrator"),
}

#: roles that must have two-factor enabled before they can act
TWO_FACTOR_REQUIRED = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})

#: roles that act for a project owner (registering projects, publishing notices)
PROJECT_SIDE = frozenset({Role.OWNER, Role.AGENCY})


class OrgKind(StrEnum):
    CENTRE = "centre"            # 公共资源交易中心
    OWNER = "owner"              # 业主单位/采购人/出让人
    AGENCY = "agency"            # 代理机构
    BIDDER = "bidder"            # 投标企业/供应商
    SUPERVISOR = "supervisor"    # 行政监督部门/纪检监察
    EXPERT_EMPLOYER = "expert_employer"  # 专家所在单位


ORG_KIND_LABELS = {
    OrgKind.CENTRE: ("公共资源交易中心", "Trading centre"),
    OrgKind.OWNER: ("业主单位/采购人", "Project owner / purchaser"),
    OrgKind.AGENCY: ("代理机构", "Agency"),
    OrgKind.BIDDER: ("投标企业/供应商", "Bidder / supplier"),
    OrgKind.SUPERVISOR: ("行政监督部门", "Supervising authority"),
    OrgKind.EXPERT_EMPLOYER: ("专家所在单位", "Expert's employer"),
}

#: which roles a user of an organisation of each kind may hold
ROLES_BY_ORG_KIND = {
    OrgKind.CENTRE: {Role.OPERATOR, Role.ADMIN},
    OrgKind.OWNER: {Role.OWNER},
    OrgKind.AGENCY: {Role.AGENCY},
    OrgKind.BIDDER: {Role.BIDDER},
    OrgKind.SUPERVISOR: {Role.SUPERVISOR},
    OrgKind.EXPERT_EMPLOYER: {Role.EXPERT},
}

# --- 统一社会信用代码 (GB 32100-2015) --------------------------------------------------------------
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """None when valid, else a short reason code: length, charset, division, check."""
    if len(code) != 18:
        return "length"
    if any(c not in CREDIT_CHARSET for c in code):
        return "charset"
    if not code[2:8].isdigit():
        return "division"  # positions 3–8 are the administrative division code (GB/T 2260)
    if credit_code_check_char(code[:17]) != code[17]:
        return "check"
    return None


def is_valid_credit_code(code: str) -> bool:
    return credit_code_problem(code) is None


def normalise_credit_code(raw: str) -> str:
    """What people type: spaces, lower case. GB 32100 codes are upper case without separators."""
    return "".join((raw or "").split()).upper()


# --- Passwords ------------------------------------------------------------------------------------
PASSWORD_MIN = 10
#: Argon2 accepts any length; a cap keeps a megabyte "password" from costing a hash of a megabyte
PASSWORD_MAX = 128


def password_problem(password: str) -> str | None:
    """None when the password meets the policy (≥ 10 characters, letters and digits), else a reason:
    too_short, too_long, needs_letter, needs_digit."""
    if len(password) < PASSWORD_MIN:
        return "too_short"
    if len(password) > PASSWORD_MAX:
        return "too_long"
    if not any(c.isascii() and c.isalpha() for c in password):
        return "needs_letter"
    if not any(c.isdigit() for c in password):
        return "needs_digit"
    return None


# --- Separation of duties (管办分离) ----------------------------------------------------------------
# The documented source of who may do what. Services name the same roles in ctx.require(...); the
# table test keeps the principles true: the centre (operator) runs trades but holds no supervise,
# audit-read or penalise power (宁波条例 Art. 10, 濮阳条例 Art. 27); the supervisor reads everything
# and operates nothing; the administrator manages accounts and settings but takes no part in trades.
READ_ACTIONS = frozenset({"project.read_all", "notice.read_all", "audit.read", "supervision.read",
                          "participation.read_after_deadline", "deposit.read_all", "expert.read_all",
                          "award.read_all", "evaluation.progress"})
#: holding a share of an opening key is custody, not operation: a supervisor may be one of the k of n
#: so that no opening can happen without an institution that does not run the trade
CUSTODY_ACTIONS = frozenset({"custodian.enrol", "opening.submit_share"})
#: handling complaints (投诉处理) is the supervising department's own duty, not running a trade: it
#: accepts, suspends and decides, and never acts for a party (招标投标法实施条例 Art. 61; 94号令)
SUPERVISE_ACTIONS = frozenset({"complaint.handle"})

CAN: dict[str, frozenset[Role]] = {
    # entry registration (进场登记) and review (进场审核)
    "project.register": frozenset({Role.OWNER, Role.AGENCY}),
    "project.update": frozenset({Role.OWNER, Role.AGENCY}),
    "project.submit": frozenset({Role.OWNER, Role.AGENCY}),
    "project.review": frozenset({Role.OPERATOR}),
    "project.read_all": frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # notices (公告): the centre publishes too — publication is one of its services (rules.md §1.0)
    "notice.create": frozenset({Role.OWNER, Role.AGENCY, Role.OPERATOR}),
    "notice.publish": frozenset({Role.OWNER, Role.AGENCY, Role.OPERATOR}),
    "notice.read_all": frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # supervision: reading the record and the audit trail
    "supervision.read": frozenset({Role.SUPERVISOR}),
    "audit.read": frozenset({Role.SUPERVISOR}),
    # administration
    "settings.update": frozenset({Role.ADMIN}),
    "calendar.load": frozenset({Role.ADMIN}),
    "org.create": frozenset({Role.ADMIN}),
    "user.create": frozenset({Role.ADMIN}),
    "user.deactivate": frozenset({Role.ADMIN}),
    # sealed offers (issue 3): the bidder's own keys and offers; custodians of opening keys
    "signing_key.manage": frozenset({Role.BIDDER}),
    "offer.participate": frozenset({Role.BIDDER}),
    "opening.record_respond": frozenset({Role.BIDDER}),
    # 开标密钥保管人: drawn from the centre, the supervising departments and the expert pool, so
    # that k of n always spans several institutions; they hold shares, they do not run the trade
    "custodian.enrol": frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.EXPERT}),
    "opening.submit_share": frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.EXPERT}),
    # who may see participants, submissions and deposits of a lot, after its deadline only
    "participation.read_after_deadline": frozenset({Role.OWNER, Role.AGENCY, Role.OPERATOR, Role.SUPERVISOR}),
    "opening.host": frozenset({Role.OPERATOR}),
    "deposit.manage": frozenset({Role.OPERATOR}),
    "deposit.read_all": frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # awards (定标): the report's signers (or the system) propose the candidates; the owner/agency
    # publishes, confirms, answers objections, awards and records the contract; bidders object
    "award.propose": frozenset({Role.EXPERT, Role.OWNER, Role.AGENCY, Role.OPERATOR}),
    "award.manage": frozenset({Role.OWNER, Role.AGENCY}),
    "award.object": frozenset({Role.BIDDER}),
    "award.read_all": frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # expert pool (专家库) and the random draw of panels (issue 4): the centre keeps the pool and
    # runs the draw; the supervisor reads the pool and re-runs draws from the audit trail
    "expert.manage": frozenset({Role.OPERATOR}),
    "expert.read_all": frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    "expert.draw": frozenset({Role.OPERATOR}),
    "panel.start": frozenset({Role.OPERATOR, Role.AGENCY, Role.OWNER}),
    # evaluation (issue 4): the criteria (评分细则) are the project side's; panel members score (a buyer
    # representative signs in as an owner); progress without scores for the project side and the centre
    "criteria.set": frozenset({Role.OWNER, Role.AGENCY}),
    "evaluation.score": frozenset({Role.EXPERT, Role.OWNER}),
    "evaluation.progress": frozenset({Role.OWNER, Role.AGENCY, Role.OPERATOR, Role.SUPERVISOR}),
    # complaints (投诉): a bidder/supplier files; the competent department (行政监督部门/财政部门) handles;
    # the respondent owner/agency reads complaints about its projects once accepted
    "complaint.file": frozenset({Role.BIDDER}),
    "complaint.handle": frozenset({Role.SUPERVISOR}),
    "complaint.respond_read": frozenset({Role.OWNER, Role.AGENCY}),
    # every signed-in person manages their own credentials
    "account.manage_own": frozenset(Role),
}


def can(role: str, action: str) -> bool:
    """True when `role` may perform `action`. Unknown actions are refused (fail closed)."""
    return role in CAN.get(action, frozenset())


def roles_for(action: str) -> tuple[str, ...]:
    """The roles for ctx.require(*roles_for(action)); raises KeyError for an unknown action."""
    return tuple(sorted(r.value for r in CAN[action]))


# --- Settings this package reads (auth.max_failures and auth.lock_minutes are in the catalogue) ---
define(
    SettingDef("auth.max_failures_ip", 20, "count", "等保 2.0 登录失败处理 [P]; 一个办公网出口 IP 由多人共用",
               "同一 IP 登录失败锁定次数", "Failed log-ins from one IP before lock", 1),
)


# --- Log-in throttling ----------------------------------------------------------------------------
def lock_remaining(failures_desc: list[datetime], now: datetime, max_failures: int,
                   lock: timedelta) -> timedelta | None:
    """How long a log-in stays refused, or None when it is not locked.

    `failures_desc` are the failure instants (newest first) that fall inside the lock window. The lock
    holds while `max_failures` of them are younger than `lock`; it lifts when the max_failures-th newest
    one ages out."""
    recent = [t for t in failures_desc if now - t < lock]
    if len(recent) < max_failures:
        return None
    return recent[max_failures - 1] + lock - now


def whole_minutes(delta: timedelta) -> int:
    """Minutes shown to a person: rounded up, at least 1."""
    return max(1, -(-int(delta.total_seconds()) // 60))
