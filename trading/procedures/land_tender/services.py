"""招标出让 services: the parcel (or mining right) of a tender lot. Everything else a land tender does
goes through the common services (notices, deposits, participation, opening, evaluation, awards) and
the stage machine in rules.py.

set_parcel   the owner or agency records the parcel before the bid deadline (audited old → new)
parcel_of    anyone reads it (the grant notice publishes it); None before it is recorded

Imports: core, audit, projects, procedures.common (lots), this package."""

from __future__ import annotations

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, not_found
from trading.projects.models import Project

from ..common.lots import before_deadline, get_trade
from ..common.models import LotTrade
from . import rules
from .models import TenderParcel


def tender_lot(ctx: ServiceContext, lot_code: str, *, lock: bool = False) -> tuple[LotTrade, Project]:
    """The lot of a land / mining tender, or the 404 of an unknown lot (other procedures included)."""
    trade = get_trade(ctx, lot_code, lock=lock)
    if not rules.is_land_tender(trade.procedure):
        raise not_found("标段", "Lot")
    return trade, ctx.session.get(Project, trade.project_id)


def parcel_of(ctx: ServiceContext, lot_code: str) -> tuple[LotTrade, Project, TenderParcel | None]:
    trade, project = tender_lot(ctx, lot_code)
    return trade, project, ctx.session.get(TenderParcel, trade.lot_id)


def set_parcel(ctx: ServiceContext, lot_code: str, raw: object) -> TenderParcel:
    """Record (or correct) the lot's parcel: the project's owner or agency, before the bid deadline
    (bidders price what the notice described). Validation is rules.parse_parcel; nothing is written
    when it refuses."""
    ctx.require("owner", "agency")
    trade, project = tender_lot(ctx, lot_code, lock=True)
    if ctx.actor.org_id is None or ctx.actor.org_id not in (project.owner_org_id, project.agency_org_id):
        raise Forbidden("land_tender.not_party", "只有本项目的出让人或代理机构可以填写宗地信息",
                        "Only the project's grantor or agency may record the parcel")
    if not before_deadline(trade, ctx.now()):
        raise Conflict("land_tender.parcel_locked", "投标截止后不能再修改宗地信息",
                       "The parcel cannot change after the bid deadline")
    parcel = rules.parse_parcel(raw, trade.procedure)
    row = ctx.session.get(TenderParcel, trade.lot_id)
    old = None
    if row is None:
        row = TenderParcel(lot_id=trade.lot_id, project_id=trade.project_id)
        ctx.session.add(row)
    else:
        old = _as_parcel(row).as_dict()
    for name, value in vars(parcel).items():
        setattr(row, name, value)
    row.updated_by, row.updated_at = ctx.actor.user_id, ctx.now()
    ctx.session.flush()
    record(ctx, "land_tender.parcel_set", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "old": old, "new": parcel.as_dict()})
    return row


def _as_parcel(row: TenderParcel) -> rules.Parcel:
    return rules.Parcel(row.subject_ref, row.location, row.area_m2, row.land_use, row.term_years, row.plot_ratio,
                        row.mineral)
