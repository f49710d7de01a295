"""The monthly report's time limit (限时办结: the previous month's report is due by the 3rd) as a row of
the supervision overdue list. Registered from here because stats sits above supervision: supervision
cannot import it, so it hands supervision its provider (supervision.timelimits.registry)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from trading.supervision.timelimits.registry import register_provider
from trading.supervision.timelimits.rules import CENTRE, Scope, StepKind, StepRow

from . import queries, rules


def monthly_report(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    """The report due now (the previous month's), open or issued; a centre task, so no project."""
    if scope.org_id is not None or scope.project_id is not None:
        return []
    due = rules.report_due(now, queries.issued_months(session))
    return [StepRow(StepKind.MONTHLY_REPORT, str(due.month), f"{due.month} 月度交易统计报表", CENTRE[0], due.due_at,
                    due.issued_at, link=("stats.monthly", {"month": str(due.month)}), start_at=due.month.end)]


register_provider("monthly_report", monthly_report)
