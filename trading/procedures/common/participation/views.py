"""Pages: 投标（响应）. The bidder's "我参与的项目", a lot page (registration, tender documents with their
SHA-256, the two sealed parts with the browser sealing widget, receipts, replace / withdraw /
self-test), receipt downloads (JSON and PDF), and the owner side's document page (upload; the
participant and download lists only after the deadline). Thin: load → check access → one service
call → respond. A page never shows anyone but the bidder itself whether it registered or submitted."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError, Forbidden, InvalidInput, not_found
from trading.core.i18n import current_locale
from trading.core.web import flash_error, service_context

from ..lots import SEALED_PROCEDURES, get_trade
from ..models import LotTrade
from . import completion, documents, queries, receipts, rules, services

bp = Blueprint("offers", __name__)


@bp.context_processor
def _helpers():
    locale = current_locale()
    return {"stage_label": lambda code: rules.label(rules.STAGE_LABELS, code, locale),
            "next_step_label": lambda code: rules.label(rules.NEXT_STEP_LABELS, code, locale),
            "deadline_label": lambda code: rules.label(rules.DEADLINE_LABELS, code, locale),
            "part_label": lambda part: rules.label(rules.PART_LABELS, part, locale)}


@bp.app_context_processor
def _portal_links():
    """offer_lots_for(project): the lots a signed-in bidder can open on its own lot page (报名/投标)
    — used by the portal's notice page. Public facts only (the lots of a published announcement)."""
    def offer_lots_for(project) -> list[tuple[str, str]]:
        if not (current_user.is_authenticated and current_user.role == "bidder" and project is not None
                and project.procedure in SEALED_PROCEDURES):
            return []
        ctx = service_context()
        codes = set(ctx.session.execute(select(LotTrade.lot_code).where(
            LotTrade.project_id == project.id, LotTrade.sealed.is_(True))).scalars())
        return [(lot.code, lot.name) for lot in project.lots if lot.code in codes]
    return {"offer_lots_for": offer_lots_for}


@bp.route("/")
@role_required("bidder")
def my_lots():
    ctx = service_context()
    return render_template("offers/my_lots.html", rows=queries.my_lots(ctx), now=ctx.now())


def _render_lot(lot_code: str, selftest: tuple[str, dict] | None = None, status: int = 200):
    ctx = service_context()
    view = queries.lot_view(ctx, lot_code)
    return render_template("offers/lot.html", v=view, now=ctx.now(), selftest=selftest,
                           replace=request.args.get("replace")), status


@bp.route("/lots/<lot_code>")
@role_required("bidder")
def lot_page(lot_code):
    return _render_lot(lot_code)


@bp.route("/lots/<lot_code>/register", methods=["POST"])
@role_required("bidder")
def register(lot_code):
    try:
        created = services.register_for_lot(service_context(), lot_code)[1]
        flash(_("报名成功，可以下载招标文件并递交投标文件。") if created else _("本单位已报名。"), "success")
    except DomainError as err:
        flash_error(err)
    return redirect(url_for("offers.lot_page", lot_code=lot_code))


@bp.route("/documents/<int:document_id>")
@login_required
def download_document(document_id):
    doc, f = documents.obtain_document(service_context(), document_id)
    response = send_file(f, mimetype=doc.content_type, as_attachment=True, download_name=doc.filename)
    response.headers["X-Content-SHA256"] = doc.sha256
    return response


def _lot_code_of(sub) -> str:
    return service_context().session.get(LotTrade, sub.lot_id).lot_code


@bp.route("/submissions/<sid>/withdraw", methods=["POST"])
@role_required("bidder")
def withdraw(sid):
    ctx = service_context()
    sub = services.own_submission(ctx, sid)
    try:
        completion.withdraw_submission(ctx, sid)
        flash(_("已撤回，撤回回执已生成。"), "success")
    except DomainError as err:
        flash_error(err)
    return redirect(url_for("offers.lot_page", lot_code=_lot_code_of(sub)))


@bp.route("/submissions/<sid>/selftest", methods=["POST"])
@role_required("bidder")
def selftest(sid):
    ctx = service_context()
    sub = services.own_submission(ctx, sid)
    return _render_lot(_lot_code_of(sub), selftest=(sub.submission_id, completion.self_test(ctx, sid)))


def _receipt_context(receipt) -> dict:
    ctx = service_context()
    trade = ctx.session.get(LotTrade, receipt.submission.lot_id)
    from trading.projects.models import Lot, Project
    return {"lot": ctx.session.get(Lot, trade.lot_id), "project": ctx.session.get(Project, trade.project_id),
            "key": receipts.public_key_info()}


@bp.route("/receipts/<receipt_id>.pdf")
@role_required("bidder")
def receipt_pdf(receipt_id):
    receipt = services.own_receipt(service_context(), receipt_id)
    data = receipts.pdf_bytes(receipt, **_receipt_context(receipt))
    body = receipts.body_of(receipt)
    name = f"receipt-{body['lot_id']}-{body['part']}-{body['submission_id']}.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/receipts/<receipt_id>.json")
@role_required("bidder")
def receipt_json(receipt_id):
    ctx = service_context()
    receipt = services.own_receipt(ctx, receipt_id)
    body = receipts.body_of(receipt)
    name = f"receipt-{body['lot_id']}-{body['part']}-{body['submission_id']}.json"
    data = receipts.as_json_with_proof(ctx.session, receipt)
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- the owner side: tender documents; participants after the deadline --------------------------------

@bp.route("/manage/<lot_code>", methods=["GET", "POST"])
@role_required("owner", "agency", "operator", "supervisor")
def manage(lot_code):
    ctx = service_context()
    trade = get_trade(ctx, lot_code)
    from trading.projects.models import Lot, Project
    from trading.projects.services import can_see
    project = ctx.session.get(Project, trade.project_id)
    if not can_see(ctx, project):
        raise not_found("标段", "Lot")
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise InvalidInput("document.file_required", "请选择文件", "Choose a file", field="file")
            doc = documents.upload_tender_document(ctx, lot_code, title=request.form.get("title", ""),
                                                   filename=upload.filename, content_type=upload.mimetype,
                                                   stream=upload.stream, description=request.form.get("description", ""))
            flash(_("已发布：%(title)s（SHA-256 %(sha)s）", title=doc.title, sha=doc.sha256), "success")
            return redirect(url_for("offers.manage", lot_code=lot_code))
        except DomainError as err:
            flash_error(err)
            status = err.status
    participants = downloads = None
    sealed_message = None
    try:
        participants = queries.participants_after_deadline(ctx, lot_code)
        downloads = queries.downloads_after_deadline(ctx, lot_code)
    except Forbidden as err:
        sealed_message = err.message(current_locale())
    return render_template("offers/manage.html", trade=trade, project=project, lot=ctx.session.get(Lot, trade.lot_id),
                           documents=queries.documents_of(ctx, trade), participants=participants,
                           downloads=downloads, sealed_message=sealed_message, now=ctx.now(),
                           can_upload=ctx.actor.has("owner", "agency")), status
