"""Pages: 专家库 and 专家抽取. Thin: load → check access → one service call → respond.

- /experts/                     the centre's pool: search, add one, CSV import (supervisor reads)
- /experts/<id>                 one expert: specialties, relations, unavailable periods, status
- /experts/me                   an expert's own record and assignments (no project before check-in)
- /experts/draws/<lot_code>     the centre's draw page: request (seed committed), run, counts only
                                while sealed, replacement, start; the supervisor re-verifies draws"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from trading.accounts.models import User
from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError, InvalidInput, NotFound
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.evaluation.draw import panel_services
from trading.evaluation.draw import services as draw
from trading.evaluation.panels import PanelStatus
from trading.reference.models import Region

from . import queries, rules, services
from .forms import DrawForm, ExpertForm, ImportForm, ReasonForm, RelationForm, StatusForm, UnavailableForm

bp = Blueprint("experts", __name__)

CENTRE_SIDE = ("operator", "supervisor")


@bp.context_processor
def _helpers():
    locale = current_locale()

    def label(table, value):
        pair = table.get(value)
        return (pair[1] if locale == "en" else pair[0]) if pair else value

    return {"status_label": lambda s: label(rules.STATUS_LABELS, s),
            "relation_label": lambda k: label(rules.RELATION_LABELS, k)}


def _msg(err: DomainError) -> str:
    return err.message(current_locale())


def _region_choices() -> list[tuple[str, str]]:
    ctx = service_context()
    regions = ctx.session.execute(select(Region).order_by(Region.sort, Region.code)).scalars()
    return [("", _("（不限）"))] + [(str(r.id), r.name) for r in regions]


# --- the pool ------------------------------------------------------------------------------------

def _index_page(*, form=None, import_form=None, import_errors=None, status: int = 200):
    ctx = service_context()
    args = request.args
    page = args.get("page", 1, type=int) or 1
    rows, total = queries.search_experts(ctx, q=args.get("q", ""), specialty=args.get("specialty", ""),
                                         status=args.get("status", ""), page=page)
    form = form or ExpertForm(formdata=None)
    form.region_id.choices = _region_choices()
    return render_template("experts/index.html", rows=rows, total=total, page=page, pages=-(-total // queries.PAGE),
                           form=form, import_form=import_form or ImportForm(formdata=None),
                           import_errors=import_errors or [], manage=ctx.actor.has("operator"),
                           draws=queries.recent_draws(ctx),
                           statuses=list(rules.STATUS_LABELS)), status


@bp.route("/")
@role_required(*CENTRE_SIDE)
def index():
    return _index_page()


@bp.route("/add", methods=["POST"])
@role_required("operator")
def add():
    form = ExpertForm()
    form.validate_on_submit()
    ctx = service_context()
    try:
        user = ctx.session.execute(select(User).where(User.username == (form.username.data or "").strip().lower())
                                   ).scalar_one_or_none()
        if user is None:
            raise InvalidInput("expert.account_invalid", "须选择角色为“评审专家”的账号",
                               "Choose an account of role Expert", field="username")
        employer = queries.org_by_credit_code(ctx, form.employer.data)
        if employer is None:
            raise InvalidInput("expert.employer_unknown", "工作单位不存在", "Unknown employer", field="employer")
        expert = services.add_expert(ctx, user.id, services.ExpertIn(
            name=form.name.data or "", id_card=form.id_card.data or "", employer_org_id=employer.id,
            specialties=form.specialties.data or "", region_id=int(form.region_id.data) if form.region_id.data else None,
            title=form.title.data or "", senior=bool(form.senior.data), years=form.years.data or 0))
    except DomainError as err:
        field = {"user_id": "username", "employer_org_id": "employer"}.get(err.field or "", err.field or "name")
        target = getattr(form, field, None) or form.name
        target.errors = [*target.errors, _msg(err)]
        return _index_page(form=form, status=err.status)
    flash(_("已加入专家库"), "success")
    return redirect(url_for("experts.detail", expert_id=expert.id))


@bp.route("/import", methods=["POST"])
@role_required("operator")
def import_csv():
    form = ImportForm()
    form.validate_on_submit()
    upload = form.file.data
    try:
        if not upload or not getattr(upload, "read", None):
            raise InvalidInput("expert.import_empty", "请选择专家名单文件（CSV）", "Choose a CSV file", field="file")
        experts = services.import_experts(service_context(), upload.read(services.MAX_IMPORT_BYTES + 1),
                                          upload.filename or "experts.csv")
    except DomainError as err:
        form.file.errors = [*form.file.errors, _msg(err)]
        lines = err.details.get("errors", [])
        return _index_page(import_form=form, import_errors=lines, status=err.status)
    flash(_("已导入 %(n)s 名专家", n=len(experts)), "success")
    return redirect(url_for("experts.index"))


@bp.route("/template.csv")
@role_required("operator")
def csv_template():
    """The import file's header and one example line (UTF-8 with BOM, so spreadsheet programs open it).
    The example's numbers pass their check digits (the ID card is the standard's own example; the
    employer's code is on division 519900, which no real county uses), so only the account and the
    employer have to exist for the line to import."""
    example = "zhang.san,张三,11010519491231002X,91519900MA6C4Q8T16,511000,高级工程师,是,12,GC01;SZ02"
    body = "\ufeff" + ",".join(rules.COLUMNS.values()) + "\r\n" + example + "\r\n"
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=experts-template.csv"})


# --- one expert ----------------------------------------------------------------------------------

def _detail_page(expert_id: int, *, forms: dict | None = None, status: int = 200, template="experts/detail.html"):
    ctx = service_context()
    try:
        record = queries.expert_record(ctx, expert_id)
    except NotFound:
        abort(404)
    forms = forms or {}
    locale = current_locale()
    status_form = forms.get("status") or StatusForm(formdata=None)
    status_form.status.choices = [(s.value, v[1] if locale == "en" else v[0]) for s, v in rules.STATUS_LABELS.items()]
    relation_form = forms.get("relation") or RelationForm(formdata=None)
    relation_form.kind.choices = [(k.value, v[1] if locale == "en" else v[0]) for k, v in rules.RELATION_LABELS.items()]
    assignments = panel_services.my_assignments(ctx) if ctx.actor.user_id == record.row.expert.user_id else []
    return render_template(template, record=record, status_form=status_form, relation_form=relation_form,
                           unavailable_form=forms.get("unavailable") or UnavailableForm(formdata=None),
                           manage=ctx.actor.has("operator"), own=ctx.actor.user_id == record.row.expert.user_id,
                           assignments=assignments), status


@bp.route("/<int:expert_id>")
@role_required("operator", "supervisor", "expert")
def detail(expert_id: int):
    return _detail_page(expert_id)


@bp.route("/me")
@role_required("expert")
def me():
    ctx = service_context()
    expert_id = queries.my_expert_id(ctx)
    if expert_id is None:
        return render_template("experts/not_in_pool.html")
    return _detail_page(expert_id)


@bp.route("/<int:expert_id>/status", methods=["POST"])
@role_required("operator")
def change_status(expert_id: int):
    form = StatusForm()
    form.validate_on_submit()
    try:
        services.set_expert_status(service_context(), expert_id, form.status.data or "", reason=form.reason.data or "")
    except DomainError as err:
        form.reason.errors = [*form.reason.errors, _msg(err)]
        return _detail_page(expert_id, forms={"status": form}, status=err.status)
    flash(_("专家状态已更新"), "success")
    return redirect(url_for("experts.detail", expert_id=expert_id))


@bp.route("/<int:expert_id>/relations", methods=["POST"])
@role_required("operator", "expert")
def declare_relation(expert_id: int):
    form = RelationForm()
    form.validate_on_submit()
    ctx = service_context()
    try:
        org = queries.org_by_credit_code(ctx, form.org.data)
        if org is None:
            raise InvalidInput("expert.relation_org", "关联单位不存在", "Unknown organisation", field="org")
        services.declare_relation(ctx, expert_id, org_id=org.id, kind=form.kind.data or "", from_on=form.from_on.data,
                                  to_on=form.to_on.data, note=form.note.data or "")
    except DomainError as err:
        if err.status in (403, 404):
            abort(err.status)
        form.org.errors = [*form.org.errors, _msg(err)]
        return _detail_page(expert_id, forms={"relation": form}, status=err.status)
    flash(_("关联关系已申报"), "success")
    return redirect(url_for("experts.detail", expert_id=expert_id))


@bp.route("/<int:expert_id>/unavailable", methods=["POST"])
@role_required("operator", "expert")
def declare_unavailable(expert_id: int):
    form = UnavailableForm()
    form.validate_on_submit()
    try:
        if not form.start_on.data or not form.end_on.data:
            raise InvalidInput("expert.period_dates", "请填写开始和结束日期", "Give both dates", field="start_on")
        services.declare_unavailable(service_context(), expert_id, form.start_on.data, form.end_on.data,
                                     form.reason.data or "")
    except DomainError as err:
        if err.status in (403, 404):
            abort(err.status)
        form.start_on.errors = [*form.start_on.errors, _msg(err)]
        return _detail_page(expert_id, forms={"unavailable": form}, status=err.status)
    flash(_("不可参评期间已登记"), "success")
    return redirect(url_for("experts.detail", expert_id=expert_id))


# --- the draw of a lot ---------------------------------------------------------------------------

def _draw_page(lot_code: str, *, form=None, status: int = 200, verification=None):
    ctx = service_context()
    try:
        draws = queries.lot_draws(ctx, lot_code)
    except NotFound:
        abort(404)
    view = panel_services.panel_view(ctx, lot_code)
    seats = draw.active_members(ctx.session, draws[0].lot_id) if draws and view else []
    names = {member_id: name for member_id, name, _role in view.names} if view else {}
    return render_template("experts/draw.html", lot_code=lot_code, draws=draws, view=view, seats=seats, names=names,
                           form=form or DrawForm(formdata=None), reason_form=ReasonForm(formdata=None),
                           manage=ctx.actor.has("operator"), verification=verification,
                           sealed=PanelStatus.SEALED.value), status


@bp.route("/draws/<lot_code>")
@role_required(*CENTRE_SIDE)
def lot_draw(lot_code: str):
    return _draw_page(lot_code)


@bp.route("/draws/<lot_code>/request", methods=["POST"])
@role_required("operator")
def request_draw(lot_code: str):
    form = DrawForm()
    form.validate_on_submit()
    ctx = service_context()
    try:
        avoid = []
        for code in re.split(r"[;,，；\s]+", form.avoid.data or ""):
            if code:
                org = queries.org_by_credit_code(ctx, code)
                if org is None:
                    raise InvalidInput("draw.avoid_unknown", f"没有统一社会信用代码为 {code} 的单位",
                                       f"No organisation with the code {code}", field="avoid")
                avoid.append(org.id)
        draw.request_draw(ctx, lot_code, size=form.size.data or 0, specialties=form.specialties.data or "",
                          experts_required=form.experts_required.data or 0, avoid_org_ids=avoid,
                          evaluation_on=form.evaluation_on.data)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        field = getattr(form, err.field or "", None) or form.specialties
        field.errors = [*field.errors, _msg(err)]
        return _draw_page(lot_code, form=form, status=err.status)
    flash(_("抽取申请已记录，随机种子的哈希值已写入审计日志；请执行抽取。"), "success")
    return redirect(url_for("experts.lot_draw", lot_code=lot_code))


def _post(lot_code: str, action, ok_message: str):
    ReasonForm().validate_on_submit()
    try:
        action(service_context())
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        flash(_msg(err), "danger")
        return _draw_page(lot_code, status=err.status)
    flash(ok_message, "success")
    return redirect(url_for("experts.lot_draw", lot_code=lot_code))


@bp.route("/draws/<lot_code>/<int:draw_id>/run", methods=["POST"])
@role_required("operator")
def run_draw(lot_code: str, draw_id: int):
    return _post(lot_code, lambda ctx: draw.run_draw(ctx, draw_id), _("抽取完成，名单已密封至评审开始"))


@bp.route("/draws/<lot_code>/members/<int:member_id>/replace", methods=["POST"])
@role_required("operator")
def replace(lot_code: str, member_id: int):
    reason = request.form.get("reason", "")
    return _post(lot_code, lambda ctx: draw.replace_member(ctx, member_id, reason=reason), _("已按同一随机方法补抽"))


@bp.route("/draws/<lot_code>/start", methods=["POST"])
@role_required("operator")
def start(lot_code: str):
    return _post(lot_code, lambda ctx: draw.start_panel(ctx, lot_code), _("评审已开始，名单对评审成员和交易中心可见"))


@bp.route("/draws/<lot_code>/<int:draw_id>/verify")
@role_required(*CENTRE_SIDE)
def verify(lot_code: str, draw_id: int):
    ctx = service_context()
    try:
        if draw_id not in {d.id for d in queries.lot_draws(ctx, lot_code)}:
            abort(404)
        result = draw.verify_draw(ctx.session, draw_id)
    except NotFound:
        abort(404)
    return _draw_page(lot_code, verification=result)
