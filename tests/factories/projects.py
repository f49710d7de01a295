"""Projects for tests, made through the real entry services.

    owner = make_user(ctx, "owner"); ctx_owner = actor_ctx(session, clock, owner)
    draft = make_project(ctx_owner)                                 # a draft selection (比选) works project
    draft = make_project(ctx_owner, category="goods", owner_type="gov", procedure="negotiation")
    live = accepted_project(ctx_owner, ctx_operator)                # submitted and accepted

Defaults describe a state-enterprise works project in the 200,000–2,000,000 band (route: 比选 or
voluntary tender). The 2026 calendar is loaded when a submission needs it (2027 stays unknown)."""

from __future__ import annotations

import itertools

from trading.core.context import ServiceContext
from trading.projects import services
from trading.projects.models import Project
from trading.reference.models import CalendarYear, Region
from trading.reference.services import load_builtin_years

_seq = itertools.count(1)
WAN = 1_000_000  # fen in 10,000 yuan


def _system(ctx: ServiceContext) -> ServiceContext:
    return ServiceContext(session=ctx.session, clock=ctx.clock, ip="127.0.0.1")


def make_region(ctx: ServiceContext, code: str = "511000", name: str = "城区", name_en: str = "County seat") -> Region:
    row = ctx.session.query(Region).filter_by(code=code).one_or_none()
    if row is None:
        row = Region(code=code, name=name, name_en=name_en, sort=0)
        ctx.session.add(row)
        ctx.session.flush()
    return row


def ensure_calendar(ctx: ServiceContext, years=(2026,)) -> None:
    missing = [y for y in years if ctx.session.get(CalendarYear, y) is None]
    if missing:
        load_builtin_years(_system(ctx), missing)


def project_fields(ctx: ServiceContext, **overrides) -> dict:
    """Valid registration fields (the defaults of make_project), for tests that call the service."""
    n = next(_seq)
    fields = dict(
        name=f"示范县第{n}号乡村道路硬化工程", approval_number=f"示发改投资〔2026〕{n}号",
        approval_department="示范县发展和改革局", funding_source="state_enterprise", fiscal_share_bp=0,
        category="works", owner_type="state_enterprise", total_investment_fen=150 * WAN,
        procedure="selection", lots=[{"name": "一标段", "budget_fen": 80 * WAN}],
        combined_total_fen=None, description="道路硬化 3.2 公里", contact_name="张工", contact_phone="0838-1234567")
    fields.update(overrides)
    if "region_id" not in fields:
        fields["region_id"] = make_region(ctx).id
    return fields


def make_project(ctx_owner: ServiceContext, **overrides) -> Project:
    """A draft registered by the owner (or agency: pass owner_org_id) acting in ctx_owner."""
    owner_org_id = overrides.pop("owner_org_id", None)
    return services.register_project(ctx_owner, owner_org_id=owner_org_id, **project_fields(ctx_owner, **overrides))


def submitted_project(ctx_owner: ServiceContext, **overrides) -> Project:
    project = make_project(ctx_owner, **overrides)
    ensure_calendar(ctx_owner)
    return services.submit_project(ctx_owner, project.id)


def accepted_project(ctx_owner: ServiceContext, ctx_operator: ServiceContext, **overrides) -> Project:
    project = submitted_project(ctx_owner, **overrides)
    return services.accept_project(ctx_operator, project.id, "材料齐全，予以受理")
