"""招标出让 pages, thin (the rest of a land tender uses the common pages: notices, deposits, offers,
opening, evaluation, stages, awards — the same as 比选):

/land-tender/<lot>            the parcel (宗地) or mining right the lot grants, with links to the lot's
                              notice, stage and awards pages; public (the grant notice publishes it)
/land-tender/<lot>/parcel     POST: the owner or agency records or corrects it before the bid deadline
/land-tender/<lot>/reserve/none  POST: the owner or agency records that the lot has no reserve price

The lot page also says whether the lot has a sealed reserve price (底价) and, for the owner side before
the deadline, seals one in the browser (static/js/auction-reserve.js through the JSON API, as on the
auction setup page); its amount shows there after the opening to those reserve.may_see_amount."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError, NotFound
from trading.core.web import flash_error, service_context
from trading.projects.rules import label

from ..common.lots import before_deadline
from . import reserve, rules, services

bp = Blueprint("land_tender", __name__)

FIELDS = ("subject_ref", "location", "area_m2", "land_use", "term_years", "plot_ratio", "mineral")


def _page(lot_code: str, *, status: int = 200, form=None):
    ctx = service_context()
    try:
        trade, project, parcel = services.parcel_of(ctx, lot_code)
    except NotFound:
        abort(404)
    manage = bool(current_user.is_authenticated and ctx.actor.has("owner", "agency") and ctx.actor.org_id is not None
                  and ctx.actor.org_id in (project.owner_org_id, project.agency_org_id))
    return render_template("land_tender/parcel.html", trade=trade, project=project, parcel=parcel,
                           mu=rules.mu_of(parcel.area_m2) if parcel else None, mining=trade.procedure == rules.MINING,
                           procedure_label=label("procedure", trade.procedure, ctx.locale), manage=manage,
                           editable=manage and before_deadline(trade, ctx.now()),
                           reserve=reserve.reserve_status(ctx, lot_code),
                           form=form if form is not None else {}), status


@bp.route("/<lot_code>")
def parcel_page(lot_code: str):
    return _page(lot_code)


@bp.route("/<lot_code>/parcel", methods=["POST"])
@role_required("owner", "agency")
def set_parcel(lot_code: str):
    ctx = service_context()
    raw = {f: request.form.get(f, "") for f in FIELDS}
    try:
        services.set_parcel(ctx, lot_code, raw)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        flash_error(err)
        return _page(lot_code, status=err.status, form=raw)
    flash(_("宗地信息已保存。"), "success")
    return redirect(url_for("land_tender.parcel_page", lot_code=lot_code))


@bp.route("/<lot_code>/reserve/none", methods=["POST"])
@role_required("owner", "agency")
def reserve_none(lot_code: str):
    ctx = service_context()
    try:
        reserve.declare_none(ctx, lot_code)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        flash_error(err)
        return _page(lot_code, status=err.status)
    flash(_("已记录：本标段不设底价。"), "success")
    return redirect(url_for("land_tender.parcel_page", lot_code=lot_code))
