"""Printable documents of a sale, rendered to PDF by WeasyPrint from templates/auctions/*_pdf.html
(always in Chinese, an official record):

- 竞买资格确认书: for the qualified buyer itself only, with its confidential 竞买号;
- 成交确认书: after a sale, for the winner, the owner side of the project, the centre and
  supervisors: the lot (parcel or asset), the buyer, the amount in figures and in capitals, the time.

Anyone else gets the 404 of an unknown lot (nothing to learn from the difference).

Imports: flask (rendering, lazily), weasyprint, core, accounts, projects, procedures.common, this package."""

from __future__ import annotations

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.core.context import ServiceContext
from trading.core.errors import not_found
from trading.core.money import format_yuan, to_capitals
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.lots import get_trade
from trading.projects.models import Lot, Project

from . import rules
from .models import Auction, AuctionApplication
from .services import get_auction, own_application


def _render(template: str, **values) -> bytes:
    from flask import current_app, render_template
    from flask_babel import force_locale
    from weasyprint import HTML

    with force_locale("zh"):
        html = render_template(template, county_name=current_app.config["COUNTY_NAME"], **values)
    return HTML(string=html).write_pdf()


def _base(ctx: ServiceContext, a: Auction) -> dict:
    trade = get_trade(ctx, a.lot_code)
    project = ctx.session.get(Project, a.project_id)
    owner = ctx.session.get(Organisation, project.owner_org_id) if project.owner_org_id else None
    return {"a": a, "trade": trade, "project": project, "lot": ctx.session.get(Lot, a.lot_id),
            "owner_name": owner.name if owner else "", "method": rules.METHOD_LABELS[rules.Method(a.method)][0],
            "area_mu": rules.mu_of(a.area_m2)}


def qualification_pdf(ctx: ServiceContext, lot_code: str) -> tuple[str, bytes]:
    a = get_auction(ctx, lot_code)
    app = own_application(ctx, a)
    if app is None or app.status != "qualified":
        raise not_found("竞买资格确认书", "Qualification")
    org = ctx.session.get(Organisation, app.bidder_org_id)
    account = ctx.session.execute(select(DepositAccount).where(
        DepositAccount.participation_id == app.participation_id)).scalar_one_or_none()
    values = _base(ctx, a)
    deposit = values["trade"].deposit_fen
    data = _render("auctions/qualification_pdf.html", app=app, buyer=org.name, account=account,
                   deposit=format_yuan(deposit), deposit_capitals=to_capitals(deposit) if deposit else "",
                   starting=format_yuan(a.starting_fen), starting_capitals=to_capitals(a.starting_fen),
                   increment=format_yuan(a.increment_fen), **values)
    return f"竞买资格确认书-{a.lot_code}.pdf", data


def may_read_confirmation(ctx: ServiceContext, a: Auction) -> bool:
    if a.outcome != rules.Outcome.SOLD:
        return False
    if ctx.actor.has("operator", "supervisor"):
        return True
    if ctx.actor.has("owner", "agency"):
        project = ctx.session.get(Project, a.project_id)
        return ctx.actor.org_id is not None and ctx.actor.org_id in (project.owner_org_id, project.agency_org_id)
    mine = own_application(ctx, a)
    return mine is not None and mine.id == a.leader_id


def confirmation_pdf(ctx: ServiceContext, lot_code: str) -> tuple[str, bytes]:
    a = get_auction(ctx, lot_code)
    if not may_read_confirmation(ctx, a):
        raise not_found("成交确认书", "Confirmation")
    winner = ctx.session.get(AuctionApplication, a.leader_id)
    org = ctx.session.get(Organisation, winner.bidder_org_id)
    data = _render("auctions/confirmation_pdf.html", buyer=org.name, bidder_no=winner.bidder_no,
                   amount=format_yuan(a.price_fen), capitals=to_capitals(a.price_fen),
                   basis=rules.OUTCOME_BASIS[a.basis][0] if a.basis else "",
                   reserve_note="设有底价（保留价），成交价不低于底价" if a.reserve_set_at else rules.NO_RESERVE[0],
                   number=f"{a.lot_code}-CJ", **_base(ctx, a))
    return f"成交确认书-{a.lot_code}.pdf", data
