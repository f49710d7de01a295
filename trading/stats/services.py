"""Use cases of the statistics package: reading a month's report (operators, supervisors, the CLI)
and recording that a month's report was issued, with the SHA-256 of each file, in the audit trail
(the page's time limit reads it: the report of the previous month is due by the 3rd)."""

from __future__ import annotations

import re

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import InvalidInput

from . import queries, rules

READERS = ("operator", "supervisor", "system")
ISSUERS = ("operator", "system")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def monthly_report(ctx: ServiceContext, month: rules.Month) -> rules.MonthlyReport:
    ctx.require(*READERS)
    return rules.monthly_report(queries.load_rows(ctx.session, month), month)


def public_report(ctx: ServiceContext, month: rules.Month) -> rules.MonthlyReport:
    """Anyone: the aggregate figures of a month that has ended (the view shows no lot names)."""
    if (month.year, month.month) >= (rules.month_of(ctx.now()).year, rules.month_of(ctx.now()).month):
        raise InvalidInput("stats.month_not_ended", "该月尚未结束，统计数据在月末后公布",
                           "That month has not ended; its figures are published after the month ends",
                           field="month")
    return rules.monthly_report(queries.load_rows(ctx.session, month), month)


def report_due(ctx: ServiceContext) -> rules.DueStatus:
    ctx.require(*READERS)
    return rules.report_due(ctx.now(), queries.issued_months(ctx.session))


def issue_monthly_report(ctx: ServiceContext, month: rules.Month, files: dict[str, str]) -> None:
    """Record that the month's report files were issued (报送): file name → SHA-256 (hex)."""
    ctx.require(*ISSUERS)
    if not files or not all(isinstance(v, str) and _SHA256.match(v) for v in files.values()):
        raise InvalidInput("stats.bad_files", "报送的文件摘要无效", "The issued files' digests are invalid")
    record(ctx, queries.ISSUED_ACTION, "stats_month", str(month),
           payload={"month": str(month), "files": dict(sorted(files.items())),
                    "due_at": month.due_at.isoformat(), "late": ctx.now() >= month.due_at})
    ctx.session.flush()
