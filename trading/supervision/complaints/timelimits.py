"""The complaints' running clocks (acceptance review, decision, suspension end) as rows of the
supervision time-limit list (限时办结), through its provider registry. Open clocks only; the project's
owner and agency (and the project page) see a row only once the complaint is accepted (before that the
respondent is not told of it).

Not registered on import: the centre's own list (/time-limits/, operators) shows every provider's rows,
and whether the centre should see complaints under review is the lead's call. `register()` plugs it in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from trading.core.lights import Light
from trading.projects.models import Project
from trading.supervision.timelimits.registry import register_provider
from trading.supervision.timelimits.rules import Scope, StepRow

from . import rules, services

KIND = "complaint"
KIND_LABEL = ("投诉处理", "Complaint handling")


def complaint_steps(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    out = []
    for row in services.open_complaint_clocks(session, now):
        c = row.complaint
        if row.due_at is None:  # paused (excluded time) or a calendar year not loaded: no instant to show
            continue
        project = session.get(Project, c.project_id)
        orgs = frozenset(i for i in (project.owner_org_id, project.agency_org_id) if i is not None)
        step = services.STEP_LABELS[row.step][0]
        out.append(StepRow(KIND, services.lot_code_of(session, c), f"投诉 #{c.id} · {step}",
                           rules.department_for(c.regime)[0], row.due_at, light=Light(row.light),
                           link=("complaints.detail", {"complaint_id": c.id}), start_at=c.filed_at,
                           org_ids=orgs if c.accepted_at is not None else frozenset(),
                           project_id=c.project_id if c.accepted_at is not None else None, kind_label=KIND_LABEL))
    return out


def register() -> None:
    register_provider("complaints", complaint_steps)
