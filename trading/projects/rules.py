"""Entry registration rules, pure (domain/rules.md §1.1, §3): the value sets, the status transition
table with who may take each step, the guards templates use for buttons, review time-limit lights,
trade-code formats and the router (re-exported from routing.py). No Flask, no SQLAlchemy; time comes
in as `now`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from trading.accounts.rules import roles_for
from trading.core.errors import Conflict, Forbidden, InvalidInput
from trading.core.lights import light

from .enums import (  # noqa: F401  (re-exported: other packages import value sets from rules)
    CATEGORY_CODES,
    FISCAL_SOURCES,
    PROCEDURE_ORDER,
    Category,
    EntryAction,
    EntryStatus,
    FundingSource,
    OwnerType,
    Procedure,
    ReviewAction,
    choices,
    label,
)
from .routing import (  # noqa: F401
    Reason,
    RouteDecision,
    RouteInput,
    RouteLimits,
    route,
    splitting_warning,
    state_funding,
)

S, A = EntryStatus, EntryAction
# Roles come from the one permission table (accounts.rules.CAN): the owner side submits, the centre reviews.
PROJECT_SIDE = frozenset(roles_for("project.submit"))
CENTRE = frozenset(roles_for("project.review"))

#: (status, action) → (new status, roles that may take it). §1.1; "terminate" is the inactivity rule (§0.3).
TRANSITIONS: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    (S.DRAFT, A.SUBMIT): (S.SUBMITTED, PROJECT_SIDE),
    (S.RETURNED, A.SUBMIT): (S.SUBMITTED, PROJECT_SIDE),
    (S.SUBMITTED, A.ACCEPT): (S.ACCEPTED, CENTRE),
    (S.SUBMITTED, A.RETURN): (S.RETURNED, CENTRE),
    (S.SUBMITTED, A.REFUSE): (S.REFUSED, CENTRE),
    (S.ACCEPTED, A.TERMINATE): (S.TERMINATED, CENTRE),
}
#: statuses in which the owner side may still change the registration
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
TERMINAL = frozenset({S.REFUSED, S.TERMINATED})

_ACTION_ZH = {A.SUBMIT: "提交", A.RETURN: "退回", A.ACCEPT: "受理", A.REFUSE: "不予受理", A.TERMINATE: "终止"}


def _roles_for(action: str) -> frozenset[str]:
    return frozenset().union(*(roles for (_, a), (_, roles) in TRANSITIONS.items() if a == action))


def can_transition(status: str, action: str, role: str | None) -> bool:
    """For templates: show the button only when the step is open to this role now."""
    step = TRANSITIONS.get((status, action))
    return step is not None and role in step[1]


def ensure_transition(status: str, action: str, role: str | None) -> str:
    """The new status, or Forbidden (wrong role) / Conflict (not from this status)."""
    if role not in _roles_for(action):
        raise Forbidden("permission.role_required", "当前账号无权执行此操作", "Your account may not perform this action",
                        details={"action": action})
    step = TRANSITIONS.get((status, action))
    if step is None:
        raise Conflict("project.bad_transition",
                       f"项目当前状态为“{label('status', status)}”，不能{_ACTION_ZH.get(action, action)}",
                       f"A project in status '{label('status', status, 'en')}' cannot be given action '{action}'",
                       details={"status": status, "action": action})
    return step[0]


def can_edit(status: str, role: str | None) -> bool:
    return status in EDITABLE and role in PROJECT_SIDE


def ensure_editable(status: str) -> None:
    if status not in EDITABLE:
        raise Conflict("project.not_editable",
                       f"项目当前状态为“{label('status', status)}”，只有草稿或退回修改的项目可以修改",
                       "Only draft or returned projects can be changed", details={"status": status})


# --- Review time limit (限时办结, rules.md §5.3) ------------------------------------------------
LIGHTS = {"green": ("正常", "On time"), "yellow": ("临近时限", "Due soon"), "red": ("已超时", "Overdue"),
          "none": ("无时限", "No limit")}


def due_light(due: datetime | None, now: datetime, warn: timedelta = timedelta(hours=24)) -> str:
    """red from the due instant on (it is the 24:00 end of the review period), yellow within `warn`
    of it, green before; none when no due date. The one light rule: trading.core.lights."""
    if due is None:
        return "none"
    return str(light(due, now, warn=warn))


# --- Comments of the review -------------------------------------------------------------------
COMMENT_MIN, COMMENT_MAX = 5, 1000


def check_comment(comment: str | None, *, required: bool) -> str:
    """Return and refuse need a comment the owner can act on (≥ 5 characters); none is over 1000."""
    text = (comment or "").strip()
    if required and len(text) < COMMENT_MIN:
        raise InvalidInput("project.comment_required",
                           f"请填写审核意见（不少于{COMMENT_MIN}个字），说明需要补正或不予受理的理由",
                           f"Write a comment of at least {COMMENT_MIN} characters saying what to fix or why",
                           field="comment")
    if len(text) > COMMENT_MAX:
        raise InvalidInput("project.comment_too_long", f"审核意见不能超过{COMMENT_MAX}个字",
                           f"The comment is limited to {COMMENT_MAX} characters", field="comment")
    return text


# --- Trade codes (统一交易标识码) --------------------------------------------------------------
PREFIX_RE = re.compile(r"^[A-Za-z0-9]{1,10}$")
CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,44}$")


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
        raise InvalidInput("project.bad_prefix", "交易编码前缀只能是1–10位字母或数字",
                           "The trade-code prefix must be 1–10 ASCII letters or digits", field="trade_code_prefix")
    return prefix


def trade_code(prefix: str, year: int, category: str, n: int) -> str:
    """SFX2026-GC-0007: prefix, year, ASCII category code, a per (year, category) sequence number."""
    return f"{check_prefix(prefix)}{year}-{CATEGORY_CODES[Category(category)]}-{n:04d}"


def lot_code(trade: str, seq: int) -> str:
    return f"{trade}-{seq:02d}"
