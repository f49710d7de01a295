"""Roles, separation of duties (管办分离) and the 统一社会信用代码 check, pure."""

from __future__ import annotations

from enum import StrEnum


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
