"""Criteria use cases: the project's owner or agency sets a lot's criteria (评分细则) before the
lot's deadline; each change is a new version, audited with its SHA-256; after the deadline they are
locked (the evaluation is built from what bidders could read when they prepared their offers).

Imports: core, audit, reference, accounts, projects, procedures.common, this package."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, NotFound, not_found
from trading.procedures.common.lots import before_deadline, get_trade, on_next_cycle
from trading.procedures.common.models import LotTrade
from trading.procedures.land_tender import reserve as land_reserve
from trading.projects.models import Project
from trading.reference.settings import catalogue, get_setting

from . import rules
from .models import LotCriteria


def canonical_sha256(body: Mapping) -> str:
    data = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _project_party(ctx: ServiceContext, trade: LotTrade) -> Project:
    """The caller must be the owner or agency of the lot's project (others get the 404 of an unknown lot)."""
    project = ctx.session.get(Project, trade.project_id)
    org = ctx.actor.org_id
    if org is None or org not in (project.owner_org_id, project.agency_org_id):
        raise not_found("标段", "Lot")
    return project


def latest(session: Session, lot_id: int) -> LotCriteria | None:
    return session.execute(select(LotCriteria).where(LotCriteria.lot_id == lot_id)
                           .order_by(LotCriteria.version.desc()).limit(1)).scalar_one_or_none()


def criteria_of(session: Session, lot_id: int) -> tuple[LotCriteria, rules.Criteria]:
    """The lot's current criteria, or NotFound when none were set (evaluation cannot start)."""
    row = latest(session, lot_id)
    if row is None:
        raise NotFound("criteria.missing", "该标段尚未设定评分细则", "No evaluation criteria were set for this lot")
    return row, rules.criteria_from_body(row.body)


def limits_for(ctx: ServiceContext, project: Project) -> rules.WeightLimits:
    settings = {code: get_setting(ctx, code) for code in catalogue() if code.startswith("criteria.")}
    return rules.weight_limits(project.category, settings)


def set_criteria(ctx: ServiceContext, lot_code: str, body: object) -> LotCriteria:
    """Validate and store a new version of the lot's criteria. Refused after the deadline (locked)."""
    ctx.require(*roles_for("criteria.set"))
    trade = get_trade(ctx, lot_code, lock=True)
    project = _project_party(ctx, trade)
    if not before_deadline(trade, ctx.now()):
        raise Conflict("criteria.locked", "已过投标（响应）截止时间，评分细则已锁定，不能再修改",
                       "The deadline has passed: the criteria are locked")
    criteria = rules.parse_criteria(body, limits_for(ctx, project))
    rules.check_method(criteria, trade.procedure)
    canonical = criteria.to_body()
    sha = canonical_sha256(canonical)
    old = latest(ctx.session, trade.lot_id)
    if old is not None and old.sha256 == sha:
        return old  # nothing changed: no new version
    version = (ctx.session.execute(select(func.max(LotCriteria.version)).where(LotCriteria.lot_id == trade.lot_id))
               .scalar() or 0) + 1
    row = LotCriteria(lot_id=trade.lot_id, version=version, body=canonical, sha256=sha,
                      created_by=ctx.actor.user_id, created_at=ctx.now())
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, "criteria.set", "lot_criteria", row.id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "version": [old.version if old else None, version],
                    "sha256": [old.sha256 if old else None, sha], "body": canonical})
    return row


def carry_over(ctx: ServiceContext, previous: LotTrade, trade: LotTrade) -> LotCriteria | None:
    """lots.on_next_cycle hook: the re-announced attempt `trade` starts with the failed attempt's
    current criteria as its version 1 (same body and SHA-256, `carried_from_id` set), audited; the
    owner edits it like any version until the new deadline. Nothing when the failed attempt had none."""
    old = latest(ctx.session, previous.lot_id)
    if old is None or latest(ctx.session, trade.lot_id) is not None:
        return None
    row = LotCriteria(lot_id=trade.lot_id, version=1, body=dict(old.body), sha256=old.sha256,
                      created_by=ctx.actor.user_id or old.created_by, created_at=ctx.now(), carried_from_id=old.id)
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, "criteria.carried_over", "lot_criteria", row.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "from_lot_code": previous.lot_code, "from_id": old.id,
                    "from_version": old.version, "version": 1, "sha256": old.sha256})
    return row


on_next_cycle(carry_over)


def carried_from(ctx: ServiceContext, row: LotCriteria | None) -> tuple[str, int] | None:
    """(lot code, version) a carried-over version came from, for the owner's page."""
    if row is None or row.carried_from_id is None:
        return None
    src = ctx.session.get(LotCriteria, row.carried_from_id)
    return ctx.session.get(LotTrade, src.lot_id).lot_code, src.version


def view_criteria(ctx: ServiceContext, lot_code: str) -> tuple[LotTrade, LotCriteria | None, bool]:
    """For the owner's page: the lot, its current criteria (or None) and whether they may change.
    Supervisors read any lot's criteria too (they read every record; the criteria reveal no bidder)."""
    if ctx.actor.has(*roles_for("supervision.read")):
        trade = get_trade(ctx, lot_code)
        return trade, latest(ctx.session, trade.lot_id), before_deadline(trade, ctx.now())
    ctx.require(*roles_for("criteria.set"))
    trade = get_trade(ctx, lot_code)
    _project_party(ctx, trade)
    return trade, latest(ctx.session, trade.lot_id), before_deadline(trade, ctx.now())


def versions(ctx: ServiceContext, lot_code: str) -> list[LotCriteria]:
    ctx.require(*roles_for("criteria.set"))
    trade = get_trade(ctx, lot_code)
    _project_party(ctx, trade)
    return list(ctx.session.execute(select(LotCriteria).where(LotCriteria.lot_id == trade.lot_id)
                                    .order_by(LotCriteria.version)).scalars())


def _method_of(session: Session, lot_id: int) -> str | None:
    """The lot's evaluation method, for 招标出让's reserve price (it binds under highest_price)."""
    row = latest(session, lot_id)
    return None if row is None else str(rules.criteria_from_body(row.body).method)


land_reserve.set_method_source(_method_of)
