"""Pages: 保证金. Thin: load → check access → one service call → respond.

- /deposits/            the centre's ledger, statement import, unmatched rows, refunds due (supervisors read)
- /deposits/mine        a bidder's sub-accounts (amount in figures and 大写, due time, arrival, refund)
- /deposits/lots/<code> per-bidder status after the deadline; the centre records refunds there
- /deposits/lots/<code>/amount  the owner/agency sets the lot's deposit (before registration)"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trading.accounts.web_auth import role_required
from trading.core.clock import BEIJING
from trading.core.errors import DomainError, InvalidInput, NotFound
from trading.core.i18n import current_locale
from trading.core.money import format_yuan, parse_yuan
from trading.core.web import service_context
from trading.projects.models import Lot
from trading.projects.services import get_visible_project
from trading.projects.views import due_text

from . import queries, refunds, rules, services, statements
from .forms import AmountForm, AssignForm, ForfeitForm, RefundEventForm, RefundForm, StatementForm

bp = Blueprint("deposits", __name__)

CENTRE_SIDE = ("operator", "supervisor")
LOT_READERS = ("owner", "agency", "operator", "supervisor")
MAX_UPLOAD = statements.MAX_STATEMENT_BYTES


@bp.context_processor
def _helpers():
    locale = current_locale()

    def label(table, value):
        pair = table.get(value)
        return (pair[1] if locale == "en" else pair[0]) if pair else value

    return {"status_label": lambda s: label(rules.STATUS_LABELS, s),
            "event_label": lambda e: label(rules.REFUND_EVENT_LABELS, e),
            "account_text": rules.format_account, "due_text": due_text, "locale": locale}


def _error(form, err: DomainError, default: str) -> None:
    field = getattr(form, err.field or "", None) or getattr(form, default)
    field.errors = [*field.errors, err.message(current_locale())]


# --- the centre ---------------------------------------------------------------------------------
def _index_page(*, report=None, upload_form=None, status: int = 200):
    ctx = service_context()
    return render_template(
        "deposits/index.html", ledger=queries.ledger(ctx), refunds=queries.refunds_due(ctx),
        unmatched=queries.ledger(ctx, unmatched_only=True), statements=queries.statements(ctx), report=report,
        upload_form=upload_form or StatementForm(formdata=None), assign_form=AssignForm(formdata=None),
        manage=ctx.actor.has("operator"), now=ctx.now()), status


@bp.route("/")
@role_required(*CENTRE_SIDE)
def index():
    return _index_page()


@bp.route("/statements", methods=["POST"])
@role_required("operator")
def import_statement():
    form = StatementForm()
    form.validate_on_submit()
    try:
        upload = form.file.data
        if not upload or not getattr(upload, "read", None):
            raise InvalidInput("deposit.statement_empty", "请选择银行流水文件（CSV）", "Choose a bank statement file (CSV)",
                               field="file")
        data = upload.read(MAX_UPLOAD + 1)
        report = statements.import_bank_statement(service_context(), upload.filename or "statement.csv", data)
    except DomainError as err:
        _error(form, err, "file")
        return _index_page(upload_form=form, status=err.status)
    return _index_page(report=report)


@bp.route("/unmatched/<int:entry_id>/assign", methods=["POST"])
@role_required("operator")
def assign_unmatched(entry_id: int):
    form = AssignForm()
    form.validate_on_submit()
    try:
        statements.assign_unmatched(service_context(), entry_id, form.virtual_account.data or "", form.note.data or "")
    except DomainError as err:
        flash(err.message(current_locale()), "danger")
        return redirect(url_for("deposits.index"))
    flash(_("已归集到子账号"), "success")
    return redirect(url_for("deposits.index"))


# --- the bidder ---------------------------------------------------------------------------------
@bp.route("/mine")
@role_required("bidder")
def my_deposits():
    ctx = service_context()
    return render_template("deposits/mine.html", rows=queries.my_deposits(ctx), now=ctx.now())


# --- a lot --------------------------------------------------------------------------------------
def _lot_page(lot_code: str, *, forms: dict | None = None, status: int = 200):
    ctx = service_context()
    try:
        trade, rows = queries.lot_deposits(ctx, lot_code)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        return render_template("deposits/lot.html", trade=None, lot_code=lot_code, rows=[],
                               refusal=err.message(current_locale()), now=ctx.now()), err.status
    forms = forms or {}
    event_form = forms.get("event") or RefundEventForm(formdata=None)
    locale = current_locale()
    event_form.event.choices = [(e.value, v[1] if locale == "en" else v[0]) for e, v in rules.REFUND_EVENT_LABELS.items()]
    accounts = [("", _("（无）"))] + [(str(r.account.id), f"{r.bidder_name}（{r.account.virtual_account}）") for r in rows]
    event_form.winner.choices = accounts
    event_form.account.choices = accounts
    return render_template("deposits/lot.html", trade=trade, lot_code=lot_code, rows=rows, refusal=None,
                           event_form=event_form, refund_form=forms.get("refund") or RefundForm(formdata=None),
                           forfeit_form=forms.get("forfeit") or ForfeitForm(formdata=None),
                           failed_account=forms.get("account_id"), manage=ctx.actor.has("operator"),
                           now=ctx.now()), status


@bp.route("/lots/<lot_code>")
@role_required(*LOT_READERS)
def lot_deposits(lot_code: str):
    return _lot_page(lot_code)


def _beijing_input(text: str | None) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise InvalidInput("deposit.event_time", "时间格式应为 2026-12-14 10:00（北京时间）",
                       "Use 2026-12-14 10:00 (Beijing time)", field="at")


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


@bp.route("/lots/<lot_code>/refund-event", methods=["POST"])
@role_required("operator")
def refund_event(lot_code: str):
    form = RefundEventForm()
    form.validate_on_submit()
    try:
        changed = refunds.record_refund_event(
            service_context(), lot_code, form.event.data or "", _beijing_input(form.at.data),
            account_id=_int_or_none(form.account.data), winner_account_id=_int_or_none(form.winner.data))
    except DomainError as err:
        _error(form, err, "event")
        return _lot_page(lot_code, forms={"event": form}, status=err.status)
    flash(_("已登记退还事由，%(n)s 个子账号开始计算退还期限", n=len(changed)), "success")
    return redirect(url_for("deposits.lot_deposits", lot_code=lot_code))


@bp.route("/lots/<lot_code>/accounts/<int:account_id>/refund", methods=["POST"])
@role_required("operator")
def refund(lot_code: str, account_id: int):
    form = RefundForm()
    form.validate_on_submit()
    try:
        amount = parse_yuan(form.amount.data, field="amount")
        out = refunds.record_refund(service_context(), account_id, amount, form.bank_ref.data or "",
                                     form.note.data or "")
    except DomainError as err:
        _error(form, err, "amount")
        return _lot_page(lot_code, forms={"refund": form, "account_id": account_id}, status=err.status)
    flash(_("已登记退还 %(amount)s 元", amount=format_yuan(out.entry.amount_fen))
          + ("" if not out.overdue else _("（已逾期退还）")), "warning" if out.overdue else "success")
    return redirect(url_for("deposits.lot_deposits", lot_code=lot_code))


@bp.route("/lots/<lot_code>/accounts/<int:account_id>/forfeit", methods=["POST"])
@role_required("operator")
def forfeit(lot_code: str, account_id: int):
    form = ForfeitForm()
    form.validate_on_submit()
    try:
        refunds.forfeit(service_context(), account_id, form.reason.data or "")
    except DomainError as err:
        _error(form, err, "reason")
        return _lot_page(lot_code, forms={"forfeit": form, "account_id": account_id}, status=err.status)
    flash(_("已登记不予退还"), "success")
    return redirect(url_for("deposits.lot_deposits", lot_code=lot_code))


# --- the lot's amount (owner / agency) ------------------------------------------------------------
def _amount_page(lot_code: str, form: AmountForm | None = None, status: int = 200):
    ctx = service_context()
    try:
        info = queries.lot_deposit_form(ctx, lot_code)
    except NotFound:
        lot = ctx.session.query(Lot).filter_by(code=lot_code).one_or_none()
        if lot is None:
            abort(404)
        try:
            project = get_visible_project(ctx, lot.project_id)
        except NotFound:
            abort(404)
        return render_template("deposits/amount.html", info=None, lot=lot, project=project, form=None), 200
    if form is None:
        form = AmountForm(formdata=None, deposit=format_yuan(info.trade.deposit_fen).replace(",", ""))
    return render_template("deposits/amount.html", info=info, lot=info.lot, project=info.project, form=form), status


@bp.route("/lots/<lot_code>/amount", methods=["GET", "POST"])
@role_required("owner", "agency", "operator")
def lot_amount(lot_code: str):
    if request.method == "GET":
        return _amount_page(lot_code)
    form = AmountForm()
    form.validate_on_submit()
    try:
        fen = parse_yuan(form.deposit.data, field="deposit", allow_zero=True)
        services.set_lot_deposit(service_context(), lot_code, fen)
    except NotFound:
        abort(404)
    except DomainError as err:
        _error(form, err, "deposit")
        return _amount_page(lot_code, form, err.status)
    flash(_("保证金金额已保存"), "success")
    return redirect(url_for("deposits.lot_amount", lot_code=lot_code))
