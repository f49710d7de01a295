"""Pages: 定标/结果. Thin: load → check access → one service call → respond; a refused action shows
its reason on the page with its 4xx status (the request boundary rolls back, nothing is written).

- /awards/                     owner/agency: lots with candidates, contracts due (time-limit reminders);
                               centre/supervisor: every contract due soon or overdue
- /awards/lots/<code>          owner/agency (centre, supervisor read): candidates, publicity, buyer
                               confirmation, objections inbox with reply clocks, award, contract record
- /awards/mine                 bidder: its result letters
- /awards/bid/<code>           bidder: the published candidates, the objection form (only during its
                               window), its objections and replies, its letter
- /awards/letters/<id>.pdf     the letter as PDF (its bidder, the project side, centre, supervisor)"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError, InvalidInput, NotFound
from trading.core.i18n import current_locale
from trading.core.money import parse_yuan
from trading.core.web import flash_error, service_context
from trading.projects.views import due_text

from . import objections, queries, reaward, result, rules, services

bp = Blueprint("awards", __name__)

PROJECT_SIDE = ("owner", "agency")
LOT_READERS = ("owner", "agency", "operator", "supervisor")


@bp.context_processor
def _helpers():
    locale = current_locale()

    def label(table, value):
        pair = table.get(value)
        return (pair[1] if locale == "en" else pair[0]) if pair else value

    return {"kind_label": lambda k: label(rules.OBJECTION_KIND_LABELS, k),
            "pass_label": lambda r: label(rules.PASS_REASON_LABELS, r), "pass_reasons": rules.PASS_REASON_LABELS,
            "default_label": lambda k: label(rules.DEFAULT_KIND_LABELS, k), "default_kinds": rules.DEFAULT_KIND_LABELS,
            "due_text": due_text, "locale": locale}


@bp.route("/")
@role_required(*LOT_READERS)
def index():
    """The owner/agency's lots and its contract reminders; the centre and supervisors see every
    contract that is due soon or overdue (the time-limit list's award entries)."""
    ctx = service_context()
    side = ctx.actor.has(*PROJECT_SIDE)
    due = queries.overdue_contracts(ctx.session, ctx.now(), org_id=ctx.actor.org_id if side else None)
    return render_template("awards/index.html", lots=queries.managed_lots(ctx) if side else [], due=due,
                           side=side, now=ctx.now())


def _lot_page(lot_code: str, *, status: int = 200):
    ctx = service_context()
    try:
        view = queries.lot_awards(ctx, lot_code)
    except NotFound:
        abort(404)
    manage = ctx.actor.has(*PROJECT_SIDE)
    team = result.panel_names(ctx, view.trade.lot_id) if manage else []
    return render_template("awards/lot.html", v=view, manage=manage, now=ctx.now(), team=team), status


@bp.route("/lots/<lot_code>")
@role_required(*LOT_READERS)
def lot(lot_code: str):
    return _lot_page(lot_code)


def _act(lot_code: str, action, done: str):
    """Run one service call; on refusal show the lot page with the reason and its 4xx status."""
    try:
        action(service_context())
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        flash_error(err)
        return _lot_page(lot_code, status=err.status)
    flash(done, "success")
    return redirect(url_for("awards.lot", lot_code=lot_code))


def _org_id() -> int | None:
    try:
        return int(request.form.get("bidder_org_id", ""))
    except ValueError:
        return None


@bp.route("/lots/<lot_code>/publish", methods=["POST"])
@role_required(*PROJECT_SIDE)
def publish(lot_code: str):
    return _act(lot_code, lambda ctx: services.publish_candidates(ctx, lot_code), _("候选人公示已发布"))


@bp.route("/lots/<lot_code>/confirm", methods=["POST"])
@role_required(*PROJECT_SIDE)
def confirm(lot_code: str):
    return _act(lot_code, lambda ctx: services.confirm_supplier(ctx, lot_code, _org_id()), _("已确定成交供应商"))


@bp.route("/lots/<lot_code>/pass", methods=["POST"])
@role_required(*PROJECT_SIDE)
def pass_over(lot_code: str):
    return _act(lot_code, lambda ctx: services.pass_candidate(
        ctx, lot_code, _org_id(), request.form.get("reason", ""), request.form.get("note", "")), _("已记录"))


@bp.route("/lots/<lot_code>/award", methods=["POST"])
@role_required(*PROJECT_SIDE)
def award(lot_code: str):
    team = [n for n in (request.form.get("team_names") or "").replace("，", "\n").replace("、", "\n").splitlines()]
    return _act(lot_code, lambda ctx: result.award(ctx, lot_code, _org_id(), team_names=team),
                _("已定标，结果公告和通知书已发出"))


def _date(text: str | None) -> date | None:
    try:
        return datetime.strptime((text or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("award.contract_date", "请按 2026-12-03 的格式填写合同签订日期",
                           "Give the contract date as 2026-12-03", field="signed_on") from None


@bp.route("/lots/<lot_code>/contract", methods=["POST"])
@role_required(*PROJECT_SIDE)
def contract(lot_code: str):
    return _act(lot_code, lambda ctx: result.record_contract(
        ctx, lot_code, _date(request.form.get("signed_on")), parse_yuan(request.form.get("amount"), field="amount"),
        request.form.get("note", "")), _("合同已登记"))


@bp.route("/lots/<lot_code>/default", methods=["POST"])
@role_required(*PROJECT_SIDE)
def record_default(lot_code: str):
    """The awarded supplier refused to sign, did not sign in time, gave up or cannot perform."""
    upload = request.files.get("evidence")
    data = upload.read(reaward.EVIDENCE_MAX_BYTES + 1) if upload and upload.filename else None
    return _act(lot_code, lambda ctx: reaward.record_default(
        ctx, lot_code, request.form.get("kind", ""), request.form.get("reason", ""),
        request.form.get("evidence_note", ""), evidence=data, evidence_name=upload.filename if data else ""),
                _("已记录，请确定下一候选人或重新采购"))


@bp.route("/lots/<lot_code>/next", methods=["POST"])
@role_required(*PROJECT_SIDE)
def award_next(lot_code: str):
    team = [n for n in (request.form.get("team_names") or "").replace("，", "\n").replace("、", "\n").splitlines()]
    return _act(lot_code, lambda ctx: reaward.award_next(ctx, lot_code, team_names=team),
                _("已确定下一候选人，结果变更公告和通知书已发出"))


@bp.route("/lots/<lot_code>/reprocure", methods=["POST"])
@role_required(*PROJECT_SIDE)
def reprocure(lot_code: str):
    return _act(lot_code, lambda ctx: reaward.end_for_reprocurement(ctx, lot_code, request.form.get("reason", "")),
                _("本次采购（比选）已终结，可发布重新采购公告"))


@bp.route("/defaults/<int:default_id>/evidence")
@role_required(*LOT_READERS)
def default_evidence(default_id: int):
    import io

    try:
        dflt, data = reaward.evidence_file(service_context(), default_id)
    except NotFound:
        abort(404)
    kind = next((k for magic, k in reaward.EVIDENCE_TYPES if data.startswith(magic)), "pdf")
    mimetype = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}[kind]
    return send_file(io.BytesIO(data), mimetype=mimetype, download_name=dflt.evidence_name or f"evidence.{kind}",
                     as_attachment=True)


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@role_required(*PROJECT_SIDE)
def answer(objection_id: int):
    lot_code = request.form.get("lot_code", "")
    return _act(lot_code, lambda ctx: objections.answer_objection(ctx, objection_id, request.form.get("reply", "")),
                _("答复已发出"))


# --- the bidder ------------------------------------------------------------------------------------
@bp.route("/mine")
@role_required("bidder")
def mine():
    ctx = service_context()
    return render_template("awards/mine.html", rows=queries.my_letters(ctx), lots=queries.my_result_lots(ctx),
                           now=ctx.now())


def _bid_page(lot_code: str, *, text: str = "", status: int = 200):
    ctx = service_context()
    try:
        view = queries.bidder_view(ctx, lot_code)
    except NotFound:
        abort(404)
    return render_template("awards/bid.html", v=view, text=text, now=ctx.now()), status


@bp.route("/bid/<lot_code>")
@role_required("bidder")
def bid(lot_code: str):
    return _bid_page(lot_code)


@bp.route("/bid/<lot_code>/objection", methods=["POST"])
@role_required("bidder")
def file_objection(lot_code: str):
    text = request.form.get("text", "")
    try:
        objections.file_objection(service_context(), lot_code, text)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        flash_error(err)
        return _bid_page(lot_code, text=text, status=err.status)
    flash(_("已提交，答复期限见下表"), "success")
    return redirect(url_for("awards.bid", lot_code=lot_code))


@bp.route("/letters/<int:letter_id>.pdf")
@role_required("bidder", "owner", "agency", "operator", "supervisor")
def letter_pdf(letter_id: int):
    import io

    try:
        letter, data = result.letter_pdf(service_context(), letter_id)
    except NotFound:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=f"{letter.number}.pdf",
                     as_attachment=False)
