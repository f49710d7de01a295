"""Entry registration pages (blueprint 'projects', under /projects): the owner side's "my projects",
the registration form with lots and the routing preview, the project page with its route
explanation and review trail, submission; the centre's review queue with due-date lights and the
review page (accept / return / refuse). Supervisors read any project page. Thin: parse the form →
one service → redirect, or re-render with the message and a 4xx."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from trading.accounts.models import Organisation
from trading.accounts.web_auth import role_required
from trading.core.clock import to_beijing
from trading.core.errors import DomainError
from trading.core.i18n import current_locale
from trading.core.web import fmt_beijing, fmt_beijing_long, service_context
from trading.reference.services import list_regions
from trading.reference.workdays import CalendarYearMissing

from . import forms, queries, rules, services
from .models import Project
from .rules import EntryStatus, RouteDecision

bp = Blueprint("projects", __name__)

PROJECT_SIDE = ("owner", "agency")
REVIEW_ACTIONS = {"accept": services.accept_project, "return": services.return_project,
                  "refuse": services.refuse_project}


def due_text(value: datetime | None, *, long: bool = False) -> str:
    """A period end at 24:00 Beijing time is written as 24时 of its last day (not 0时 of the next),
    the way statutory periods are stated (rules.md §0.1)."""
    if value is None:
        return ""
    v = to_beijing(value)
    if (v.hour, v.minute, v.second) != (0, 0, 0):
        return fmt_beijing_long(value) if long else fmt_beijing(value)
    d = v.date() - timedelta(days=1)
    if not long:
        return f"{d.isoformat()} 24:00"
    if current_locale() == "en":
        return f"{d.isoformat()} 24:00 (Beijing time)"
    return f"{d.year}年{d.month}月{d.day}日24时00分（北京时间）"


@bp.context_processor
def _helpers():
    locale = current_locale()
    return {"plabel": lambda kind, value: rules.label(kind, value, locale), "due_text": due_text,
            "reason_text": lambda r: r["en"] if locale == "en" else r["zh"],
            "light_of": rules.due_light, "LIGHTS": rules.LIGHTS, "can_transition": rules.can_transition,
            "can_edit": rules.can_edit, "locale": locale}


def _role(ctx) -> str | None:
    return ctx.actor.acting_role


def _int(text: object) -> int | None:
    try:
        return int(str(text))
    except (TypeError, ValueError):
        return None


# --- the owner side -------------------------------------------------------------------------------------
@bp.route("/")
@role_required(*PROJECT_SIDE)
def my_projects():
    ctx = service_context()
    status = request.args.get("status") or None
    if status not in {s.value for s in EntryStatus}:
        status = None
    pager = queries.projects_for(ctx, status=status, page=request.args.get("page", 1, type=int))
    return render_template("projects/my_projects.html", pager=pager, status=status,
                           counts=queries.status_counts(ctx), statuses=list(EntryStatus))


def _choices(form: forms.ProjectForm, ctx, *, agency: bool) -> None:
    locale = current_locale()
    for kind in ("category", "owner_type", "funding_source", "procedure"):
        form[kind].choices = rules.choices(kind, locale)
    form.region_id.choices = [(0, _("请选择"))] + [
        (r.id, r.name_en if locale == "en" and r.name_en else r.name) for r in list_regions(ctx.session)]
    if agency:
        form.owner_org_id.choices = [(0, _("请选择"))] + queries.owner_organisations(ctx)
    else:
        del form.owner_org_id


def _form_page(form, project: Project | None, *, errors=(), rows=(), decision: RouteDecision | None = None,
               status: int = 200):
    top = []
    for err in errors:
        message = err.message(current_locale())
        if not forms.attach_error(form, err, message, list(rows)):
            top.append(message)
    return render_template("projects/form.html", form=form, project=project, top_errors=top, decision=decision,
                           lot_rows=forms.LOT_ROWS), status


def _quiet_route(ctx, fields: dict) -> RouteDecision | None:
    """The route for the fields as typed, if they are complete enough (shown next to an error)."""
    try:
        return services.route_for(ctx, **fields)
    except DomainError:
        return None


def _post_form(form: forms.ProjectForm, ctx, project: Project | None):
    if not form.validate():  # only the CSRF token is validated here; the service checks the rest
        abort(400)
    fields, rows, errors = forms.to_fields(form, agency=project is None and ctx.actor.has("agency"))
    if errors:
        return _form_page(form, project, errors=errors, rows=rows, status=422)
    if request.form.get("action") == "preview":
        try:
            return _form_page(form, project, decision=services.route_for(ctx, **fields))
        except DomainError as err:
            return _form_page(form, project, errors=[err], rows=rows, status=err.status)
    try:
        if project is None:
            project = services.register_project(ctx, **fields)
            flash(_("项目登记已保存为草稿，确认无误后请提交进场审核。"), "success")
        else:
            services.update_project(ctx, project.id, expected_version=_int(form.expected_version.data), **fields)
            flash(_("修改已保存。"), "success")
    except CalendarYearMissing:
        raise
    except DomainError as err:
        return _form_page(form, project, errors=[err], rows=rows, decision=_quiet_route(ctx, fields),
                          status=err.status)
    return redirect(url_for(".project_detail", project_id=project.id))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*PROJECT_SIDE)
def new_project():
    ctx = service_context()
    form = forms.ProjectForm()
    _choices(form, ctx, agency=ctx.actor.has("agency"))
    if request.method == "POST":
        return _post_form(form, ctx, None)
    org = ctx.session.get(Organisation, ctx.actor.org_id) if ctx.actor.has("owner") else None
    if org is not None and org.region_id:
        form.region_id.data = org.region_id  # an owner's projects are usually where it sits
    return _form_page(form, None)


def _initial(project: Project) -> dict:
    data = {f: getattr(project, f) for f in ("name", "approval_number", "approval_department", "category",
                                             "owner_type", "funding_source", "region_id", "procedure",
                                             "description", "contact_name", "contact_phone")}
    return data | {"fiscal_share": forms.percent_text(project.fiscal_share_bp),
                   "total_investment": forms.yuan_text(project.total_investment_fen),
                   "combined_total": forms.yuan_text(project.combined_total_fen),
                   "lots": [{"name": lot.name, "budget": forms.yuan_text(lot.budget_fen)} for lot in project.lots],
                   "expected_version": str(project.version)}


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@role_required(*PROJECT_SIDE)
def edit_project(project_id: int):
    ctx = service_context()
    project = services.get_visible_project(ctx, project_id)
    rules.ensure_editable(project.status)
    form = forms.ProjectForm() if request.method == "POST" else forms.ProjectForm(data=_initial(project))
    _choices(form, ctx, agency=False)
    if request.method == "POST":
        return _post_form(form, ctx, project)
    return _form_page(form, project, decision=RouteDecision.from_dict(project.route))


# --- the project page -------------------------------------------------------------------------------------
def _detail_page(ctx, project: Project, *, review: bool = False, error: str | None = None, status: int = 200,
                 comment: str = ""):
    submit_form = forms.SubmitForm(formdata=None, expected_version=str(project.version))
    review_form = forms.ReviewForm(formdata=None, comment=comment)
    return render_template("projects/detail.html", project=project, route=RouteDecision.from_dict(project.route),
                           role=_role(ctx), review=review, error=error, submit_form=submit_form,
                           review_form=review_form, now=ctx.now()), status


@bp.route("/<int:project_id>")
@login_required
def project_detail(project_id: int):
    """Owner side, the centre (once submitted) and supervisors (read-only); anyone else gets 404."""
    ctx = service_context()
    return _detail_page(ctx, services.get_visible_project(ctx, project_id))


@bp.route("/<int:project_id>/submit", methods=["POST"])
@role_required(*PROJECT_SIDE)
def submit(project_id: int):
    ctx = service_context()
    form = forms.SubmitForm()
    if not form.validate():
        abort(400)
    try:
        services.submit_project(ctx, project_id, expected_version=_int(form.expected_version.data),
                                comment=form.comment.data or "",
                                trade_code_prefix=current_app.config["TRADE_CODE_PREFIX"])
    except CalendarYearMissing:
        raise
    except DomainError as err:
        project = services.get_visible_project(ctx, project_id)
        return _detail_page(ctx, project, error=err.message(current_locale()), status=err.status)
    flash(_("已提交进场审核。"), "success")
    return redirect(url_for(".project_detail", project_id=project_id))


# --- the centre ------------------------------------------------------------------------------------------
@bp.route("/review")
@role_required("operator")
def review_queue():
    ctx = service_context()
    status = request.args.get("status") or EntryStatus.SUBMITTED.value
    if status not in {s.value for s in EntryStatus} - {EntryStatus.DRAFT.value}:
        status = EntryStatus.SUBMITTED.value
    pager = queries.projects_for(ctx, status=status, page=request.args.get("page", 1, type=int))
    return render_template("projects/review_queue.html", pager=pager, status=status, now=ctx.now(),
                           counts=queries.status_counts(ctx),
                           statuses=[s for s in EntryStatus if s != EntryStatus.DRAFT])


@bp.route("/<int:project_id>/review", methods=["GET", "POST"])
@role_required("operator")
def review(project_id: int):
    ctx = service_context()
    if request.method == "GET":
        return _detail_page(ctx, services.get_visible_project(ctx, project_id), review=True)
    form = forms.ReviewForm()
    action = request.form.get("action")
    if not form.validate() or action not in REVIEW_ACTIONS:
        abort(400)
    try:
        REVIEW_ACTIONS[action](ctx, project_id, form.comment.data or "")
    except DomainError as err:
        project = services.get_visible_project(ctx, project_id)
        return _detail_page(ctx, project, review=True, error=err.message(current_locale()), status=err.status,
                            comment=form.comment.data or "")
    flash({"accept": _("已受理。"), "return": _("已退回修改，意见已发送给登记单位。"),
           "refuse": _("已作出不予受理决定。")}[action], "success")
    return redirect(url_for(".review_queue"))


