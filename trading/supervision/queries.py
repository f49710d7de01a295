"""Read-only queries for supervisors: the audit trail with filters, and the project overview."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from trading.audit.models import AuditEntry
from trading.projects.models import Project

from .embargo import visible_now


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""          # prefix, e.g. "project." or "auth.login_failed"
    object_type: str = ""
    object_id: str = ""
    project_id: int | None = None
    actor_user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None   # keyset pagination: entries older than this seq


@dataclass
class AuditPage:
    entries: list[dict]
    next_before: int | None


def search_audit(session, f: AuditFilters, now: datetime, limit: int = 50) -> AuditPage:
    """Entries newest first; embargoed ones (a bidder's participation before the deadline) stay out."""
    q = select(AuditEntry).where(visible_now(now))
    if f.action:
        q = q.where(AuditEntry.action.startswith(f.action, autoescape=True))
    if f.object_type:
        q = q.where(AuditEntry.object_type == f.object_type)
    if f.object_id:
        q = q.where(AuditEntry.object_id == f.object_id)
    if f.project_id is not None:
        q = q.where(AuditEntry.project_id == f.project_id)
    if f.actor_user_id is not None:
        q = q.where(AuditEntry.actor_user_id == f.actor_user_id)
    if f.since is not None:
        q = q.where(AuditEntry.created_at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.created_at < f.until)
    if f.before_seq is not None:
        q = q.where(AuditEntry.seq < f.before_seq)
    rows = session.execute(q.order_by(AuditEntry.seq.desc()).limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [{"seq": r.seq, "at": r.created_at, "action": r.action, "object_type": r.object_type,
                "object_id": r.object_id, "project_id": r.project_id, "entry_hash": bytes(r.entry_hash).hex(),
                "entry": json.loads(bytes(r.body).decode("utf-8"))} for r in rows]
    return AuditPage(entries, rows[-1].seq if more and rows else None)


def project_counts(session) -> dict[str, int]:
    return dict(session.execute(select(Project.status, func.count()).group_by(Project.status)).all())


def recent_projects(session, limit: int = 20) -> list[Project]:
    return list(session.execute(select(Project).order_by(Project.id.desc()).limit(limit)).scalars())
