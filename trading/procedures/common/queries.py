"""Read-only queries of the owner-side notice pages: the notices and accepted projects an actor may
publish for (their organisation's as owner or agency; the centre's operators and supervisors see all)."""

from __future__ import annotations

from sqlalchemy import or_, select

from trading.core.context import ServiceContext
from trading.projects.models import Project

from .models import Notice


def _visible(ctx: ServiceContext):
    if ctx.actor.has("operator", "supervisor"):
        return []
    org = ctx.actor.org_id if ctx.actor.org_id is not None else -1
    return [or_(Project.owner_org_id == org, Project.agency_org_id == org)]


def notices_for(ctx: ServiceContext, limit: int = 200) -> list[tuple[Notice, Project]]:
    rows = ctx.session.execute(
        select(Notice, Project).join(Project, Project.id == Notice.project_id).where(*_visible(ctx))
        .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)).all()
    return [(n, p) for n, p in rows]


def accepted_projects_for(ctx: ServiceContext) -> list[Project]:
    return list(ctx.session.execute(
        select(Project).where(Project.status == "accepted", *_visible(ctx))
        .order_by(Project.accepted_at.desc(), Project.id.desc())).scalars())
