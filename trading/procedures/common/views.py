"""Owner-side notice pages (blueprint 'notices', under /notices/manage): my notices, a new notice for
an accepted project, edit a draft, preview with the period checks, publish, and start a change notice
from a published one. Thin: parse the form → one service → redirect or re-render with the message.
(/notices and /notices/<id> are the public portal's.)"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.reference.workdays import CalendarYearMissing

from . import presenters, queries, services
from .forms import ButtonForm, NoticeForm
from .rules import KEY_DATES, KIND_LABELS, NoticeKind, label, procedure_family

bp = Blueprint("notices", __name__)

WRITERS = ("owner", "agency", "operator")
READERS = WRITERS + ("supervisor",)


@bp.context_processor
def _helpers():
    return presenters.helpers(current_locale())


def _kind_choices(kinds=None):
    return [(k, label(KIND_LABELS, k, current_locale())) for k in (kinds or list(NoticeKind))]


def _project_choices(ctx):
    return [(p.id, f"{p.trade_code or ''} {p.name}".strip()) for p in queries.accepted_projects_for(ctx)]


def _show_error(form: NoticeForm | None, err: DomainError) -> None:
    """The message next to its field when the form has it, else at the top of the page."""
    msg = err.message(current_locale())
    field = getattr(form, err.field, None) if form is not None and err.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [msg]
    else:
        flash(msg, "danger")


def _values(form: NoticeForm) -> dict:
    return dict(kind=form.kind.data, title=form.title.data, body=form.body.data,
                opening_place=form.opening_place.data or "", **form.beijing_dates())


@bp.route("/manage/")
@role_required(*READERS)
def my_notices():
    ctx = service_context()
    return render_template("notices/my_notices.html", rows=queries.notices_for(ctx), now=ctx.now(),
                           can_write=ctx.actor.has(*WRITERS))


@bp.route("/manage/new", methods=["GET", "POST"])
@role_required(*WRITERS)
def new_notice():
    ctx = service_context()
    form = NoticeForm()
    form.project_id.choices = _project_choices(ctx)
    form.kind.choices = _kind_choices()
    if request.method == "GET" and request.args.get("project_id", "").isdigit():
        form.project_id.data = int(request.args["project_id"])
    if form.validate_on_submit():
        try:
            notice = services.create_notice(ctx, form.project_id.data, **_values(form))
        except CalendarYearMissing:
            raise
        except DomainError as err:
            _show_error(form, err)
            return render_template("notices/edit.html", form=form, mode="new"), err.status
        return redirect(url_for(".preview", notice_id=notice.id))
    status = 422 if form.errors else 200
    return render_template("notices/edit.html", form=form, mode="new"), status


@bp.route("/manage/<int:notice_id>/edit", methods=["GET", "POST"])
@role_required(*WRITERS)
def edit_notice(notice_id: int):
    ctx = service_context()
    notice = services.get_visible_notice(ctx, notice_id)
    if notice.status != "draft":
        flash(_published_msg(), "warning")
        return redirect(url_for(".preview", notice_id=notice.id))
    form = NoticeForm(obj=notice if request.method == "GET" else None)
    form.project_id.choices = [(notice.project_id, notice.project_code)]
    form.project_id.data = notice.project_id
    form.kind.choices = _kind_choices()
    if request.method == "GET":
        form.fill_dates(notice)
    if form.validate_on_submit():
        try:
            services.update_notice(ctx, notice.id, **_values(form))
        except CalendarYearMissing:
            raise
        except DomainError as err:
            _show_error(form, err)
            return render_template("notices/edit.html", form=form, mode="edit", notice=notice), err.status
        return redirect(url_for(".preview", notice_id=notice.id))
    return render_template("notices/edit.html", form=form, mode="edit", notice=notice), (422 if form.errors else 200)


def _published_msg() -> str:
    from flask_babel import gettext
    return gettext("已发布的公告不能修改；如需变更，请发布变更公告")


@bp.route("/manage/<int:notice_id>/change", methods=["GET", "POST"])
@role_required(*WRITERS)
def new_change(notice_id: int):
    """A change notice for a published one, its key dates filled in from the original."""
    ctx = service_context()
    original = services.get_visible_notice(ctx, notice_id)
    if original.status != "published":
        abort(404)
    form = NoticeForm()
    form.project_id.choices = [(original.project_id, original.project_code)]
    form.project_id.data = original.project_id
    form.kind.choices = _kind_choices([NoticeKind.CHANGE])
    if request.method == "GET":
        form.kind.data = NoticeKind.CHANGE
        form.fill_dates(original)
        form.opening_place.data = original.opening_place
    if form.validate_on_submit():
        try:
            notice = services.create_notice(ctx, original.project_id, previous_id=original.id, **_values(form))
        except CalendarYearMissing:
            raise
        except DomainError as err:
            _show_error(form, err)
            return render_template("notices/edit.html", form=form, mode="change", original=original), err.status
        return redirect(url_for(".preview", notice_id=notice.id))
    return render_template("notices/edit.html", form=form, mode="change", original=original), (
        422 if form.errors else 200)


def _render_preview(notice, *, refusal: DomainError | None = None, status: int = 200):
    ctx = service_context()
    from trading.projects.models import Project
    project = ctx.session.get(Project, notice.project_id)
    family = procedure_family(project.procedure)
    violations = services.check_notice(ctx, notice.id) if notice.status == "draft" else []
    return render_template(
        "notices/preview.html", notice=notice, project=project, family=family, now=ctx.now(),
        violations=violations, refusal=refusal, key_dates=[f for f in KEY_DATES if getattr(notice, f)],
        paragraphs=presenters.paragraphs(notice.body), form=ButtonForm(), locale=current_locale(),
        can_write=ctx.actor.has(*WRITERS)), status


@bp.route("/manage/<int:notice_id>")
@role_required(*READERS)
def preview(notice_id: int):
    return _render_preview(services.get_visible_notice(service_context(), notice_id))


@bp.route("/manage/<int:notice_id>/publish", methods=["POST"])
@role_required(*WRITERS)
def publish(notice_id: int):
    ctx = service_context()
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        notice = services.publish_notice(ctx, notice_id)
    except CalendarYearMissing:
        raise  # the error handler alerts the administrators and shows the message
    except DomainError as err:
        ctx.session.rollback()
        return _render_preview(services.get_visible_notice(ctx, notice_id), refusal=err, status=err.status)
    from flask_babel import gettext
    flash(gettext("公告已发布"), "success")
    return redirect(url_for(".preview", notice_id=notice.id))
