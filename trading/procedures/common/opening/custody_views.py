"""Pages of the opening-key custodians (开标密钥保管人) and the printable opening record (开标记录), on
the `opening` blueprint (views.py imports this module). Thin: load → one service call → respond.

/opening/custody                       my custody: my custodian key (enrol / change the passphrase) and
                                       the lots whose shares I hold (opening.my_custody)
/opening/custody/<lot>                 one lot: k-of-n progress; after the deadline, with a two-factor
                                       session, the share-submission form
/opening/custody/<lot>/share.json      my sealed share, as handed to me (JSON)
/opening/<lot>/record                  the printable opening record; bidders confirm or dispute it,
                                       the host answers disputes"""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required

from trading.accounts import custodians as custody
from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError
from trading.core.web import flash_error, service_context
from trading.extensions import db

from ..lots import get_trade
from . import rules
from . import services as opening
from .views import bp

CUSTODIAN_ROLES = roles_for("opening.submit_share")


@bp.app_template_global()
def failure_category_label(category: str | None) -> str:
    zh, en = rules.CAUSE_LABELS.get(category, (category or "", category or ""))
    return en if service_context().locale == "en" else zh


@bp.app_template_global()
def failure_consequence_label(consequence: str | None) -> str:
    zh, en = rules.CONSEQUENCE_LABELS.get(consequence, (consequence or "", consequence or ""))
    return en if service_context().locale == "en" else zh


def _two_factor_session() -> bool:
    return bool(session.get("2fa_ok"))


@bp.route("/custody")
@role_required(*CUSTODIAN_ROLES)
def my_custody():
    ctx = service_context()
    items = opening.my_custody(ctx)
    key = custody.my_custodian_key(ctx)
    user = custody.current_user_row(ctx)
    return render_template("opening/custody.html", items=items, key=key, totp_enabled=user.totp_enabled)


@bp.route("/custody/enrol", methods=["POST"])
@role_required(*CUSTODIAN_ROLES)
def enrol_custodian():
    ctx = service_context()
    passphrase = request.form.get("passphrase", "")
    if passphrase != request.form.get("passphrase_again", ""):
        flash(_("两次输入的保管口令不一致"), "danger")
        return redirect(url_for(".my_custody"))
    try:
        custody.enrol_custodian(ctx, passphrase)
    except DomainError as err:
        flash_error(err)
        return redirect(url_for(".my_custody"))
    flash(_("保管口令已登记。请牢记：平台不保存口令，开标时需要您本人输入。"), "success")
    return redirect(url_for(".my_custody"))


@bp.route("/custody/<lot_code>", methods=["GET", "POST"])
@role_required(*CUSTODIAN_ROLES)
def custody_lot(lot_code: str):
    ctx = service_context()
    item = opening.custody_item(ctx, lot_code)
    if request.method == "POST":
        if not _two_factor_session():
            flash(_("提交密钥份额须以双因素认证登录。"), "danger")
            return redirect(url_for(".custody_lot", lot_code=lot_code))
        try:
            outcome = opening.submit_share(ctx, lot_code, request.form.get("passphrase", ""))
        except opening.ShareRefused as err:
            db.session.commit()  # the refused attempt is evidence: keep its record
            flash_error(err)
            return redirect(url_for(".custody_lot", lot_code=lot_code))
        except DomainError as err:
            if err.status == 404:
                raise
            flash_error(err)
            return redirect(url_for(".custody_lot", lot_code=lot_code))
        if outcome.opened:
            flash(_("份额已接受，已达到 %(k)d 份，开标完成。", k=outcome.k), "success")
            return redirect(url_for(".record", lot_code=lot_code))
        flash(_("份额已接受（%(a)d / %(k)d）。", a=outcome.accepted, k=outcome.k), "success")
        return redirect(url_for(".custody_lot", lot_code=lot_code))
    progress = opening.share_progress(ctx, lot_code)
    return render_template("opening/custody_lot.html", item=item, progress=progress,
                           two_factor=_two_factor_session())


@bp.route("/custody/<lot_code>/share.json")
@role_required(*CUSTODIAN_ROLES)
def custody_share_blob(lot_code: str):
    ctx = service_context()
    doc = opening.custody_blob(ctx, lot_code)
    body = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True)
    filename = f"custodian-share-{lot_code}-x{doc['x']}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@bp.route("/<lot_code>/record")
@login_required
def record(lot_code: str):
    ctx = service_context()
    rec = opening.get_record(ctx, lot_code)
    trade = get_trade(ctx, lot_code)
    responses = opening.record_responses(ctx, rec.id)
    orgs = {o.id: o for o in db.session.query(Organisation).filter(
        Organisation.id.in_([r.bidder_org_id for r in responses] or [-1]))}
    numbers = {b["credit_code"]: b["no"] for b in rec.body["bidders"]}
    rows = [{"row": r, "no": numbers.get(orgs[r.bidder_org_id].credit_code)} for r in responses]
    my_org = db.session.get(Organisation, ctx.actor.org_id) if ctx.actor.org_id else None
    my_no = numbers.get(my_org.credit_code) if my_org and ctx.actor.has("bidder") else None
    responded = my_org is not None and any(r.bidder_org_id == my_org.id for r in responses)
    open_window = ctx.now() < rec.respond_until
    return render_template("opening/custody_record.html", rec=rec, body=rec.body, trade=trade, rows=rows,
                           my_no=my_no, responded=responded, open_window=open_window,
                           can_reply=ctx.actor.has(*roles_for("opening.host")),
                           extras=opening.record_view_extras(ctx, trade))


@bp.route("/<lot_code>/record/respond", methods=["POST"])
@login_required
def record_respond(lot_code: str):
    ctx = service_context()
    try:
        opening.respond_to_record(ctx, lot_code, request.form.get("response", ""), request.form.get("reason", ""))
    except DomainError as err:
        if err.status in (403, 404):  # a role that may not act: refused, not a flash
            raise
        flash_error(err)
        return redirect(url_for(".record", lot_code=lot_code))
    flash(_("已提交"), "success")
    return redirect(url_for(".record", lot_code=lot_code))


@bp.route("/<lot_code>/record/responses/<int:response_id>/reply", methods=["POST"])
@role_required(*roles_for("opening.host"))
def record_reply(lot_code: str, response_id: int):
    ctx = service_context()
    try:
        opening.reply_to_dispute(ctx, response_id, request.form.get("reply", ""))
    except DomainError as err:
        if err.status == 404:
            abort(404)
        flash_error(err)
        return redirect(url_for(".record", lot_code=lot_code))
    flash(_("答复已发布"), "success")
    return redirect(url_for(".record", lot_code=lot_code))
