"""Read-only project lists: "my projects" for the owner side, the centre's review queue, and the
supervisor's view — each filtered by the same visibility rule as services.can_see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, select, true

from trading.core.context import ServiceContext

from .models import Project
from .rules import EntryStatus

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def visible_clause(ctx: ServiceContext):
    """SQL for "projects this actor may see" (the same rule as services.can_see)."""
    a = ctx.actor
    if a.has("supervisor", "system"):
        return true()
    if a.has("operator"):
        return Project.status != EntryStatus.DRAFT
    if a.has("owner") and a.org_id is not None:
        return Project.owner_org_id == a.org_id
    if a.has("agency") and a.org_id is not None:
        return Project.agency_org_id == a.org_id
    return false()


def _page_numbers(page: object, per_page: object) -> tuple[int, int]:
    page = page if isinstance(page, int) and not isinstance(page, bool) and page > 0 else 1
    per_page = per_page if isinstance(per_page, int) and not isinstance(per_page, bool) and per_page > 0 else 20
    return page, min(per_page, MAX_PER_PAGE)


def projects_for(ctx: ServiceContext, *, status: str | None = None, page: int = 1, per_page: int = 20) -> Page:
    """The actor's visible projects, newest first; with status="submitted" the oldest due date first
    (the review queue order)."""
    page, per_page = _page_numbers(page, per_page)
    where = [visible_clause(ctx)]
    if status:
        where.append(Project.status == status)
    total = ctx.session.execute(select(func.count()).select_from(Project).where(*where)).scalar_one()
    order = ((Project.review_due_at.asc(), Project.submitted_at.asc(), Project.id.asc())
             if status == EntryStatus.SUBMITTED else (Project.id.desc(),))
    items = list(ctx.session.execute(select(Project).where(*where).order_by(*order)
                                     .limit(per_page).offset((page - 1) * per_page)).scalars())
    pages = max(1, -(-total // per_page))
    return Page(items=items, page=page, pages=pages, total=total)


def status_counts(ctx: ServiceContext) -> dict[str, int]:
    rows = ctx.session.execute(select(Project.status, func.count()).where(visible_clause(ctx))
                               .group_by(Project.status)).all()
    return {status: n for status, n in rows}


def owner_organisations(ctx: ServiceContext) -> list[tuple[int, str]]:
    """The owner organisations an agency may register for (id, name), for the registration form."""
    from trading.accounts.models import Organisation
    from trading.accounts.rules import OrgKind
    rows = ctx.session.execute(select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.OWNER)
                               .order_by(Organisation.name, Organisation.id)).all()
    return [(i, n) for i, n in rows]
