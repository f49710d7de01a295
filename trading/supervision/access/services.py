"""Writing and reading the supervisors' access log. Only `log_view` writes, and it only inserts:
there is no function here (or anywhere) that updates or deletes a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from trading.accounts.models import Organisation, User
from trading.core.context import ServiceContext
from trading.core.errors import InvalidInput

from .models import SupervisionViewLog

SUPERVISOR = "supervisor"
PAGE_SIZE = 100


def log_view(ctx: ServiceContext, *, endpoint: str, path: str, object_type: str = "", object_code: str = "") -> None:
    """Append one row: this supervisor read this record now. Written in the request's own
    transaction (committed with the response), never in the audit chain (see models)."""
    actor = ctx.actor
    if actor.user_id is None or not actor.has(SUPERVISOR):
        return
    ctx.session.add(SupervisionViewLog(
        at=ctx.now(), user_id=actor.user_id, org_id=actor.org_id, username=actor.username[:40],
        endpoint=endpoint[:80], path=path[:300], object_type=object_type[:32], object_code=str(object_code)[:64],
        ip=(ctx.ip or "")[:45], user_agent=(ctx.user_agent or "")[:200]))


@dataclass(frozen=True)
class ViewFilters:
    user: str = ""               # username, exact
    org_id: int | None = None
    object_type: str = ""
    object_code: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset pagination: rows older than this id

    def validate(self) -> None:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise InvalidInput("access_log.bad_range", "结束日期不能早于开始日期",
                               "The end date must not be before the start date", field="to")


@dataclass
class ViewPage:
    rows: list[dict]
    next_before: int | None


def list_views(ctx: ServiceContext, f: ViewFilters, limit: int = PAGE_SIZE) -> ViewPage:
    """Newest first. Supervisors only: 纪检监察 see who (in their own department and the others)
    looked at which record, when and from where."""
    ctx.require(SUPERVISOR)
    f.validate()
    q = (select(SupervisionViewLog, Organisation.name, User.display_name)
         .outerjoin(Organisation, Organisation.id == SupervisionViewLog.org_id)
         .outerjoin(User, User.id == SupervisionViewLog.user_id))
    if f.user:
        q = q.where(SupervisionViewLog.username == f.user)
    if f.org_id is not None:
        q = q.where(SupervisionViewLog.org_id == f.org_id)
    if f.object_type:
        q = q.where(SupervisionViewLog.object_type == f.object_type)
    if f.object_code:
        q = q.where(SupervisionViewLog.object_code == f.object_code)
    if f.since is not None:
        q = q.where(SupervisionViewLog.at >= f.since)
    if f.until is not None:
        q = q.where(SupervisionViewLog.at < f.until)
    if f.before_id is not None:
        q = q.where(SupervisionViewLog.id < f.before_id)
    found = ctx.session.execute(q.order_by(SupervisionViewLog.id.desc()).limit(limit + 1)).all()
    more = len(found) > limit
    found = found[:limit]
    rows = [{"id": r.id, "at": r.at, "user_id": r.user_id, "username": r.username, "display_name": display or "",
             "org_id": r.org_id, "org_name": org or "", "endpoint": r.endpoint, "path": r.path,
             "object_type": r.object_type, "object_code": r.object_code, "ip": r.ip, "user_agent": r.user_agent}
            for r, org, display in found]
    return ViewPage(rows, found[-1][0].id if more and found else None)


def supervisor_orgs(ctx: ServiceContext) -> list[tuple[int, str]]:
    """The organisations whose supervisors appear in the log (the filter's choices)."""
    ctx.require(SUPERVISOR)
    ids = select(SupervisionViewLog.org_id).distinct()
    return [(i, n) for i, n in ctx.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)).order_by(Organisation.name)).all()]
