"""Notices for tests, made through the real services.

    load_calendar(ctx)                                    # the official 2026 schedule (2027 stays unknown)
    project = notice_project(ctx, owner)                  # an accepted tender project of owner's organisation
    draft = make_notice(ctx_owner, project)               # a compliant announcement for the procedure
    live = published_notice(ctx_owner, project)           # … published at the clock's now

Dates default to a compliant schedule relative to the clock, so a test that breaks a rule sets the
one date it is about."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.projects import accepted_project, make_project, make_region, submitted_project
from trading.accounts.models import User
from trading.core.clock import BEIJING, to_beijing
from trading.core.context import ServiceContext
from trading.procedures.common import services
from trading.procedures.common.models import Notice
from trading.projects.models import Project
from trading.reference.models import CalendarYear
from trading.reference.services import load_builtin_years

#: government buyers spend fiscal funds (the router wants the share)
_GP_FUNDS = dict(funding_source="fiscal_county", fiscal_share_bp=10_000)


def load_calendar(ctx: ServiceContext, years=(2026,)) -> None:
    sys_ctx = ServiceContext(session=ctx.session, clock=ctx.clock, ip="127.0.0.1")
    if not all(ctx.session.get(CalendarYear, y) for y in years):
        load_builtin_years(sys_ctx, list(years))


def region(ctx: ServiceContext, code: str = "511000", name: str = "城区", name_en: str = "County seat"):
    return make_region(ctx, code, name, name_en)


def _operator_ctx(ctx: ServiceContext) -> ServiceContext:
    op = ctx.session.execute(select(User).where(User.role == "operator").limit(1)).scalar_one_or_none()
    return actor_ctx(ctx.session, ctx.clock, op or make_user(ctx, "operator"))


def notice_project(ctx: ServiceContext, owner, *, agency=None, status: str = "accepted", procedure: str = "tender",
                   region_row=None, **overrides) -> Project:
    """A project of `owner`'s organisation through the real entry flow (registered by `agency` for
    the owner when given), accepted by an operator unless `status` says draft or submitted."""
    if overrides.get("owner_type") == "gov":
        overrides = {**_GP_FUNDS, **overrides}
    if region_row is not None:
        overrides["region_id"] = region_row.id
    if agency is not None:
        overrides["owner_org_id"] = owner.org_id
    octx = actor_ctx(ctx.session, ctx.clock, agency or owner)
    load_calendar(ctx)
    ensure_custodians(ctx)  # publishing a sealed procedure's announcement runs the opening-key ceremony
    if status == "draft":
        return make_project(octx, procedure=procedure, **overrides)
    if status == "submitted":
        return submitted_project(octx, procedure=procedure, **overrides)
    return accepted_project(octx, _operator_ctx(ctx), procedure=procedure, **overrides)


def bj_at(now: datetime, days: int, hh: int = 9, mm: int = 30) -> datetime:
    """The Beijing day `days` after now's, at hh:mm."""
    d = to_beijing(now).date() + timedelta(days=days)
    return datetime.combine(d, time(hh, mm), tzinfo=BEIJING)


def compliant_dates(procedure: str, kind: str, now: datetime) -> dict:
    if kind == "announcement" and procedure in ("tender", "gp_tender"):
        return dict(docs_from=now, docs_until=bj_at(now, 10, 17, 0), objection_until=bj_at(now, 14, 17, 0),
                    deadline_at=bj_at(now, 26), opening_at=bj_at(now, 26))
    if kind == "announcement" and procedure in ("selection", "negotiation", "inquiry", "consultation"):
        return dict(deadline_at=bj_at(now, 12), opening_at=bj_at(now, 12))
    if kind == "land_grant":
        return dict(opening_at=bj_at(now, 25, 9, 0), deadline_at=bj_at(now, 32, 17, 0), closing_at=bj_at(now, 40, 15, 0))
    if kind in ("candidates", "result", "deal_publicity"):
        return dict(publicity_until=bj_at(now, 6, 17, 0))
    return {}


def make_notice(ctx: ServiceContext, project: Project, **overrides) -> Notice:
    kind = overrides.pop("kind", "land_grant" if project.category in ("land", "mining") else "announcement")
    values = dict(title=f"{project.name}{'招标公告' if kind == 'announcement' else '公告'}",
                  body="一、项目概况\n项目名称：" + project.name + "\n\n二、投标人资格要求\n具备相应资质。")
    if kind != "change":
        values.update(compliant_dates(project.procedure, kind, ctx.now()))
    values.update(overrides)
    return services.create_notice(ctx, project.id, kind=kind, **values)


def published_notice(ctx: ServiceContext, project: Project, **overrides) -> Notice:
    load_calendar(ctx)
    ensure_custodians(ctx)  # a sealed procedure's announcement needs its opening-key custodians
    notice = make_notice(ctx, project, **overrides)
    return services.publish_notice(ctx, notice.id)
