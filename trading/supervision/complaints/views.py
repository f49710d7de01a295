"""Pages: 投诉. Thin: load → check access → one service call → respond; a refused action shows its
reason on the page with its 4xx status (the request boundary rolls back, nothing is written).

- /complaints/                      supervisor: open and closed complaints with their clocks and lights;
                                    bidder: its own complaints; owner/agency: accepted ones about its projects
- /complaints/new                   bidder: the filing form (lot, matter, known date, prior objection, files)
- /complaints/<id>                  the complaint, its timeline and (supervisor) the action forms,
                                    (complainant) the withdrawal form
- /complaints/<id>/<step>           POST: accept, reject, suspend, lift, pause, resume, decide, withdraw
- /complaints/<id>/files/<file_id>  an evidence file
- /complaints/decisions             public: 投诉处理决定"""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trading.accounts.models import Organisation
from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError, InvalidInput, NotFound
from trading.core.i18n import current_locale
from trading.core.web import flash_error, service_context
from trading.extensions import db
from trading.projects.models import Project
from trading.projects.views import due_text

from . import rules, services
from . import timelimits as _timelimits  # noqa: F401  (the complaint clocks on the time-limit lists)

bp = Blueprint("complaints", __name__)

SUPERVISOR = "supervisor"
READERS = ("supervisor", "bidder", "owner", "agency")


@bp.context_processor
def _helpers():
    locale = current_locale()

    def label(table, value):
        pair = table.get(value)
        return (pair[1] if locale == "en" else pair[0]) if pair else (value or "")

    return {"matter_label": lambda v: label(rules.MATTER_LABELS, v),
            "status_label": lambda v: label(rules.STATUS_LABELS, v),
            "outcome_label": lambda v: label(rules.OUTCOME_LABELS, v),
            "pause_label": lambda v: label(rules.PAUSE_LABELS, v),
            "step_label": lambda v: label(services.STEP_LABELS, v),
            "dept_label": lambda regime: label(rules.DEPARTMENTS, rules.Regime(regime)),
            "matters": rules.MATTER_LABELS, "outcomes": rules.OUTCOME_LABELS, "pause_kinds": rules.PAUSE_LABELS,
            "due_text": due_text, "locale": locale}


def _lot_codes(rows) -> dict[int, str]:
    return {c.id: services.lot_code_of(db.session, c) for c in rows}


def _org_names(rows) -> dict[int, str]:
    ids = {c.complainant_org_id for c in rows}
    return {o.id: o.name for o in (db.session.get(Organisation, i) for i in ids)}


def _project_names(rows) -> dict[int, str]:
    ids = {c.project_id for c in rows}
    return {p.id: p.name for p in (db.session.get(Project, i) for i in ids)}


@bp.route("/")
@role_required(*READERS)
def index():
    ctx = service_context()
    rows = services.list_complaints(ctx)
    now = ctx.now()
    clocks = {c.id: services.clocks_of(ctx, c, now) for c in rows} if ctx.actor.has(SUPERVISOR) else {}
    return render_template("supervision/complaints/index.html", rows=rows, clocks=clocks, codes=_lot_codes(rows),
                           names=_project_names(rows), orgs=_org_names(rows), now=now, supervisor=ctx.actor.has(SUPERVISOR),
                           bidder=ctx.actor.has("bidder"))


def _form_page(status: int = 200):
    ctx = service_context()
    lot_code = (request.values.get("lot_code") or "").strip()
    objections = []
    if lot_code:
        try:
            objections = services.my_objections(ctx, lot_code)
        except NotFound:
            objections = []
    return render_template("supervision/complaints/new.html", form=request.form, lot_code=lot_code,
                           objections=objections), status


@bp.route("/new", methods=["GET"])
@role_required("bidder")
def new():
    return _form_page()


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _known_on(value: str | None, field: str = "known_on") -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"complaint.{field}_format", "日期格式应为 2026-11-20", "Dates look like 2026-11-20",
                           field=field) from None


def _declared(f) -> rules.Declared | None:
    """The written prior objection of the form, when any of its fields is filled in."""
    note = (f.get("declared_note") or "").strip()
    filed = _known_on(f.get("declared_filed_on"), "declared_objection")
    answered = _known_on(f.get("declared_answered_on"), "declared_objection")
    if not (note or filed or answered):
        return None
    if filed is None:
        raise InvalidInput("complaint.declared_dates", "请填写书面异议（质疑）的提出之日", "Give the day the objection was made",
                           field="declared_objection")
    return rules.Declared(note, filed, answered)


@bp.route("/new", methods=["POST"])
@role_required("bidder")
def create():
    f = request.form
    files = [(u.filename or "", u.read()) for u in request.files.getlist("files") if u and u.filename]
    try:
        c = services.file_complaint(service_context(), (f.get("lot_code") or "").strip(), matter=f.get("matter", ""),
                                    facts=f.get("facts", ""), request=f.get("request", ""),
                                    known_on=_known_on(f.get("known_on")), objection_id=_int(f.get("objection_id")),
                                    declared=_declared(f), files=files)
    except DomainError as err:
        flash_error(err)
        return _form_page(err.status)
    flash(_("投诉已提交，受理审查期限至 %(due)s", due=due_text(c.accept_due_at)), "success")
    return redirect(url_for("complaints.detail", complaint_id=c.id))


def _detail_page(complaint_id: int, status: int = 200):
    ctx = service_context()
    try:
        c = services.get_complaint(ctx, complaint_id)
    except NotFound:
        abort(404)
    now = ctx.now()
    return render_template("supervision/complaints/detail.html", c=c, lot_code=services.lot_code_of(db.session, c),
                           project=db.session.get(Project, c.project_id), orgs=_org_names([c]), clocks=services.clocks_of(ctx, c, now),
                           now=now, supervisor=ctx.actor.has(SUPERVISOR),
                           complainant=ctx.actor.has("bidder") and ctx.actor.org_id == c.complainant_org_id,
                           paused=services.paused(c), suspended=services.suspended(c, now),
                           decide_due=services.decide_due_or_none(ctx, c),
                           max_days=services.settings_of(ctx)["complaint.suspension_max_cd"]), status


@bp.route("/<int:complaint_id>")
@role_required(*READERS)
def detail(complaint_id: int):
    return _detail_page(complaint_id)


STEPS = {
    "accept": (lambda ctx, i, f: services.accept(ctx, i), _l("已受理")),
    "reject": (lambda ctx, i, f: services.reject(ctx, i, f.get("reason", "")), _l("已决定不予受理")),
    "suspend": (lambda ctx, i, f: services.suspend(ctx, i, _int(f.get("days")) or 0, f.get("reason", "")),
                _l("已暂停采购（招标）活动")),
    "lift": (lambda ctx, i, f: services.lift(ctx, i, f.get("reason", "")), _l("已解除暂停")),
    "pause": (lambda ctx, i, f: services.pause(ctx, i, f.get("kind", ""), f.get("reason", "")), _l("处理期限已中止计算")),
    "resume": (lambda ctx, i, f: services.resume(ctx, i), _l("处理期限已恢复计算")),
    "decide": (lambda ctx, i, f: services.decide(ctx, i, f.get("outcome", ""), f.get("decision", "")), _l("处理决定已作出")),
    "withdraw": (lambda ctx, i, f: services.withdraw(ctx, i, f.get("reason", "")), _l("投诉已撤回")),
}


@bp.route("/<int:complaint_id>/<step>", methods=["POST"])
@role_required(SUPERVISOR, "bidder")
def act(complaint_id: int, step: str):
    if step not in STEPS:
        abort(404)
    actor = service_context().actor
    if not actor.has("bidder" if step == "withdraw" else SUPERVISOR):
        abort(403)
    run, done = STEPS[step]
    try:
        run(service_context(), complaint_id, request.form)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        flash_error(err)
        return _detail_page(complaint_id, err.status)
    flash(str(done), "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint_id))


@bp.route("/<int:complaint_id>/files/<int:file_id>")
@role_required(*READERS)
def file(complaint_id: int, file_id: int):
    try:
        f, data = services.file_data(service_context(), complaint_id, file_id)
    except NotFound:
        abort(404)
    return send_file(io.BytesIO(data), download_name=f.name, as_attachment=True)


@bp.route("/decisions")
def decisions():
    rows = services.public_decisions(db.session)
    return render_template("supervision/complaints/decisions.html", rows=rows, codes=_lot_codes(rows),
                           names=_project_names(rows), orgs=_org_names(rows))
