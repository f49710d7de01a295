"""Report pages, on the `evaluation` blueprint (scoring/views.py imports this module).

/evaluation/<lot>/report            the report: summary, candidates, signatures; a member's signing form
/evaluation/<lot>/report/generate   POST: a member makes the report once every sheet is in
/evaluation/<lot>/report/sign       POST: agree / dissent / refuse, with a fresh two-factor code
/evaluation/<lot>/fail              POST: a member records 流标 when too few offers qualify
/evaluation/<lot>/report.pdf        the printable report (members; project side, centre, supervisor)"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from trading.accounts.models import User
from trading.accounts.rules import roles_for
from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError
from trading.core.web import flash_error, service_context

from ..scoring.views import bp
from . import pdf
from . import services as reports


@bp.route("/<lot_code>/report")
@login_required
def report(lot_code: str):
    ctx = service_context()
    view = reports.view_report(ctx, lot_code)
    members = {m["id"]: m for m in (view.report.body["members"] if view.report else [])}
    me = ctx.session.get(User, ctx.actor.user_id)
    return render_template("evaluation/report.html", view=view, members=members,
                           totp_enabled=bool(me and me.totp_enabled),
                           my_signature=view.signatures.get(view.member.id) if view.member else None)


@bp.route("/<lot_code>/report/generate", methods=["POST"])
@role_required(*roles_for("evaluation.score"))
def generate(lot_code: str):
    ctx = service_context()
    try:
        reports.generate_report(ctx, lot_code)
    except DomainError as err:
        if err.status == 404:
            raise
        flash_error(err)
        return redirect(url_for(".room", lot_code=lot_code))
    flash(_("评审报告已生成，请各成员逐一签署。"), "success")
    return redirect(url_for(".report", lot_code=lot_code))


@bp.route("/<lot_code>/fail", methods=["POST"])
@role_required(*roles_for("evaluation.score"))
def fail(lot_code: str):
    """流标 from the evaluation (too few offers qualify); the service refuses when enough do."""
    ctx = service_context()
    try:
        reports.fail_evaluation(ctx, lot_code, request.form.get("reason", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        flash_error(err)
        return redirect(url_for(".room", lot_code=lot_code))
    flash(_("已记录流标；项目方可重新公告或按规定变更采购方式。"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


@bp.route("/<lot_code>/report/sign", methods=["POST"])
@role_required(*roles_for("evaluation.score"))
def sign(lot_code: str):
    ctx = service_context()
    try:
        sig = reports.sign_report(ctx, lot_code, request.form.get("act", ""), code=request.form.get("code", ""),
                                  dissent=request.form.get("dissent", ""),
                                  report_sha256=request.form.get("report_sha256") or None)
    except DomainError as err:
        if err.status == 404:
            raise
        flash_error(err)
        return redirect(url_for(".report", lot_code=lot_code))
    if sig.act == "refused" and sig.counts_as == "agree":
        flash(_("您拒绝签字且未书面说明理由，依法视为同意评审结论；已如实记录。"), "warning")
    else:
        flash(_("已签署评审报告。"), "success")
    return redirect(url_for(".report", lot_code=lot_code))


@bp.route("/<lot_code>/report.pdf")
@login_required
def report_pdf(lot_code: str):
    ctx = service_context()
    view = reports.view_report(ctx, lot_code)
    if view.report is None:
        abort(404)
    data = pdf.report_pdf(view.report, view.signatures)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="report-{lot_code}.pdf"',
                             "Cache-Control": "no-store"})
