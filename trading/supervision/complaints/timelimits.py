"""The complaints' running clocks (acceptance review, decision, suspension end) as rows of the
supervision time-limit list (限时办结), through its provider registry (registered when the complaint
pages are imported, like the statistics' provider). Open clocks only. A complaint under acceptance
review is the supervisors' alone (Scope.supervision); once accepted, the centre's list and the
project's owner and agency (and the project page) see its clocks too: a suspension stops the trade
the centre runs, and the respondent has been told."""

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
        if c.accepted_at is None and not scope.supervision:
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
    register_provider(KIND, complaint_steps)  # under its kind: the filter knows it even with no row


register()
