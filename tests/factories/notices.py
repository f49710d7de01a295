"""Notices for tests, made through the real services.

    cal = load_calendar(ctx)                              # the official 2026 schedule (2027 stays unknown)
    project = notice_project(ctx, owner)                  # an accepted project of owner's organisation
    draft = make_notice(ctx_owner, project)               # a compliant announcement for the procedure
    live = published_notice(ctx_owner, project)           # … published at the clock's now

Dates default to a compliant schedule relative to the clock, so a test that breaks a rule sets the
one date it is about."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

from trading.core.clock import BEIJING, to_beijing
from trading.core.context import ServiceContext
from trading.procedures.common import services
from trading.procedures.common.models import Notice
from trading.projects.models import Project
from trading.reference.models import CalendarYear, Region
from trading.reference.services import load_builtin_years

_seq = itertools.count(1)


def load_calendar(ctx: ServiceContext, years=(2026,)) -> None:
    sys_ctx = ServiceContext(session=ctx.session, clock=ctx.clock, ip="127.0.0.1")
    if not all(ctx.session.get(CalendarYear, y) for y in years):
        load_builtin_years(sys_ctx, list(years))


def region(ctx: ServiceContext, code: str = "511000", name: str = "城区", name_en: str = "County seat") -> Region:
    row = ctx.session.query(Region).filter_by(code=code).one_or_none()
    if row is None:
        row = Region(code=code, name=name, name_en=name_en, sort=int(code[-3:]))
        ctx.session.add(row)
        ctx.session.flush()
    return row


def notice_project(ctx: ServiceContext, owner, *, agency_org=None, category: str = "works",
                   owner_type: str = "state_enterprise", procedure: str = "tender", status: str = "accepted",
                   name: str | None = None, region_row: Region | None = None) -> Project:
    """An accepted project of `owner`'s organisation, written directly (the entry flow is tested in
    the projects package; here only its outcome matters)."""
    n = next(_seq)
    reg = region_row or region(ctx)
    now = ctx.now()
    project = Project(
        trade_code=f"SFX-2026-GC-{n:04d}", name=name or f"示范县第{n}号道路改造工程", approval_number=f"示发改〔2026〕{n}号",
        approval_department="示范县发展和改革局", funding_source="fiscal_county", fiscal_share_bp=10000,
        category=category, owner_type=owner_type, total_investment_fen=150_000_000, budget_fen=150_000_000,
        procedure=procedure, route={}, status=status, owner_org_id=owner.org_id,
        agency_org_id=agency_org.id if agency_org else None, region_id=reg.id, created_by=owner.id,
        created_at=now, submitted_at=now, accepted_at=now if status == "accepted" else None)
    ctx.session.add(project)
    ctx.session.flush()
    return project


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
    notice = make_notice(ctx, project, **overrides)
    return services.publish_notice(ctx, notice.id)
