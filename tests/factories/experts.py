"""Experts, draws and panels for tests, made through the real services.

    op = operator_ctx(ctx)                                   # an operator acting (made once per session)
    e = make_expert(ctx, specialties=("GC01",), employer=org) # an expert account put in the pool
    owner, trade, bidders = drawable_lot(ctx, bidders=3)      # a 比选 lot past its deadline, 3 registered
    d = request_draw(op, trade.lot_code, size=5, specialties=["GC01"], experts_required=5)
    panel = run_draw(op, d.id)
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.deposits import deposit_lot
from trading.core.context import ServiceContext
from trading.evaluation.experts import services
from trading.evaluation.experts.rules import id_card_check_char
from trading.procedures.common.participation.services import register_for_lot

_seq = itertools.count(1)


def valid_id_card(n: int) -> str:
    """A valid 18-character 居民身份证号 (成都, born 1970-01-01 + n days mod 10,000)."""
    first17 = f"510104197{(n // 1000) % 10}0101{n % 1000:03d}"
    return first17 + id_card_check_char(first17)


def operator_ctx(ctx: ServiceContext) -> ServiceContext:
    """An operator's context, made once per test (kept in ctx.cache)."""
    op = ctx.cache.get("_experts_operator")
    if op is None:
        op = make_user(ctx, "operator")
        ctx.cache["_experts_operator"] = op
    return actor_ctx(ctx.session, ctx.clock, op)


def make_expert(ctx: ServiceContext, *, specialties=("GC01",), employer=None, region_id: int | None = None,
                name: str | None = None, years: int = 10, senior: bool = True, title: str = "高级工程师"):
    n = next(_seq)
    account = make_user(ctx, "expert", display_name=name or f"专家{n}")
    employer = employer or account.organisation
    return services.add_expert(operator_ctx(ctx), account.id, services.ExpertIn(
        name=name or f"专家{n}", id_card=valid_id_card(n), employer_org_id=employer.id, specialties=tuple(specialties),
        region_id=region_id, title=title, senior=senior, years=years))


def make_experts(ctx: ServiceContext, n: int, **kw) -> list:
    return [make_expert(ctx, **kw) for _ in range(n)]


def drawable_lot(ctx: ServiceContext, *, bidders: int = 3, procedure: str = "selection", owner=None):
    """(owner user, LotTrade, [bidder organisations]) of a published lot with `bidders` registered,
    the clock moved one minute past its deadline."""
    owner, trade = deposit_lot(ctx, owner=owner, procedure=procedure, deposit_yuan=None)
    orgs = []
    for _ in range(bidders):
        org = make_org(ctx, "bidder")
        user = make_user(ctx, "bidder", org=org)
        register_for_lot(actor_ctx(ctx.session, ctx.clock, user), trade.lot_code)
        orgs.append(org)
    ctx.clock.set(trade.deadline_at + timedelta(minutes=1))
    return owner, trade, orgs
