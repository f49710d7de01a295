"""System administration (blueprint `admin`, /admin, administrators only): organisations, users,
rule settings and the working-day calendar. Thin: the services validate, permit and audit."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from trading.core.errors import DomainError, InvalidInput
from trading.core.i18n import current_locale
from trading.core.money import format_yuan, parse_yuan
from trading.core.web import service_context
from trading.reference import services as reference
from trading.reference.settings import definition

from . import queries, services
from .forms import ButtonForm, CalendarUploadForm, OrganisationForm, SettingForm, UserForm
from .rules import ORG_KIND_LABELS, ROLE_LABELS
from .web_auth import role_required

bp = Blueprint("admin", __name__)

#: a year's schedule is a few dozen lines; anything bigger is not one
MAX_CALENDAR_BYTES = 256 * 1024


@bp.before_request
@role_required("admin")
def _admins_only():
    return None


def _label(pair: tuple[str, str]) -> str:
    return pair[1] if current_locale() == "en" else pair[0]


def _show_error(form, err: DomainError, default_field: str) -> None:
    """Put the service's message on the field it names (or the form's main field)."""
    field = getattr(form, err.field or "", None) or getattr(form, default_field)
    field.errors = [*field.errors, err.message(current_locale())]


@bp.route("/")
def index():
    summary = queries.admin_summary(service_context().session)
    return render_template("admin/index.html", summary=summary)


# --- organisations --------------------------------------------------------------------------------
def _org_form(formdata=True) -> OrganisationForm:
    form = OrganisationForm() if formdata else OrganisationForm(formdata=None)
    form.kind.choices = [(k.value, _label(v)) for k, v in ORG_KIND_LABELS.items()]
    form.region_id.choices = [("", "—")] + [(str(r.id), r.name) for r in reference.list_regions(service_context().session)]
    return form


def _organisations_page(form, status=200):
    orgs = services.list_organisations(service_context())
    labels = {k.value: _label(v) for k, v in ORG_KIND_LABELS.items()}
    return render_template("admin/organisations.html", orgs=orgs, form=form, kind_labels=labels), status


@bp.route("/organisations")
def organisations():
    return _organisations_page(_org_form(formdata=False))


@bp.route("/organisations", methods=["POST"])
def create_organisation():
    form = _org_form()
    form.validate_on_submit()
    try:
        org = services.create_organisation(
            service_context(), name=form.name.data, credit_code=form.credit_code.data or "", kind=form.kind.data,
            region_id=int(form.region_id.data) if form.region_id.data else None, contact_name=form.contact_name.data,
            contact_phone=form.contact_phone.data, address=form.address.data)
    except DomainError as err:
        _show_error(form, err, "name")
        return _organisations_page(form, err.status)
    flash(_("已登记单位：%(name)s", name=org.name), "success")
    return redirect(url_for("admin.organisations"))


# --- users ----------------------------------------------------------------------------------------
def _user_form(formdata=True) -> UserForm:
    ctx = service_context()
    form = UserForm() if formdata else UserForm(formdata=None)
    form.org_id.choices = [(str(o.id), f"{o.name}（{_label(ORG_KIND_LABELS[o.kind])}）")
                           for o in services.list_organisations(ctx)]
    form.role.choices = [(r.value, _label(v)) for r, v in ROLE_LABELS.items()]
    return form


def _users_page(form, status=200):
    users = services.list_users(service_context())
    labels = {r.value: _label(v) for r, v in ROLE_LABELS.items()}
    return render_template("admin/users.html", users=users, form=form, role_labels=labels,
                           button_form=ButtonForm(formdata=None)), status


@bp.route("/users")
def users():
    return _users_page(_user_form(formdata=False))


@bp.route("/users", methods=["POST"])
def create_user():
    form = _user_form()
    form.validate_on_submit()
    try:
        org_id = int(form.org_id.data) if (form.org_id.data or "").isdigit() else None
        user = services.create_user(service_context(), username=form.username.data or "",
                                    display_name=form.display_name.data, org_id=org_id, role=form.role.data or "",
                                    password=form.password.data or "", phone=form.phone.data)
    except DomainError as err:
        _show_error(form, err, "username")
        return _users_page(form, err.status)
    flash(_("已创建用户：%(username)s", username=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: int):
    user = services.deactivate_user(service_context(), user_id)
    flash(_("已停用用户：%(username)s", username=user.username), "success")
    return redirect(url_for("admin.users"))


# --- rule settings --------------------------------------------------------------------------------
def display_setting(unit: str, value: int) -> str:
    if unit == "fen":
        return format_yuan(value) + " " + _("元")
    if unit == "bp":
        return f"{value / 100:g} %"
    if unit == "bool":
        return _("是") if value else _("否")
    names = {"CD": _("日"), "WD": _("个工作日"), "min": _("分钟"), "count": _("次")}
    return f"{value} {names.get(unit, unit)}"


def parse_setting(unit: str, raw: str | None) -> int:
    """The typed text as the stored integer: yuan → fen for money, 是/否 or 1/0 for flags."""
    raw = (raw or "").strip()
    if unit == "fen":
        return parse_yuan(raw, field="value", allow_zero=True)
    if unit == "bool" and raw in ("是", "否", "true", "false"):
        return int(raw in ("是", "true"))
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput("setting.type", "参数须为整数", "The setting must be an integer", field="value") from None


@bp.route("/settings")
def settings():
    rows = queries.settings_overview(service_context().session)
    return render_template("admin/settings.html", rows=rows, show=display_setting)


@bp.route("/settings/<code>", methods=["GET", "POST"])
def edit_setting(code: str):
    ctx = service_context()
    d = definition(code)  # 404 for an unknown code
    form = SettingForm()
    status = 200
    if form.validate_on_submit():
        try:
            reference.update_setting(ctx, code, parse_setting(d.unit, form.value.data))
        except DomainError as err:
            _show_error(form, err, "value")
            status = err.status
        else:
            flash(_("已修改参数：%(label)s", label=d.label_zh), "success")
            return redirect(url_for("admin.settings"))
    elif form.is_submitted():
        status = 422
    row = queries.setting_row(ctx.session, code)
    if not form.is_submitted():
        form.value.data = format_yuan(row.current) if d.unit == "fen" else str(row.current)
    return render_template("admin/setting_edit.html", row=row, form=form, show=display_setting), status


# --- working-day calendar -------------------------------------------------------------------------
def parse_calendar_json(raw: bytes) -> tuple[int, list[tuple[date, bool, str]], str]:
    """The file format of `flask calendar load-file`: {"year": 2027, "source": "国办发明电〔…〕…号",
    "days": [["2027-01-01", false, "元旦"], …]} (false = holiday on a weekday, true = make-up day)."""
    bad = InvalidInput("calendar.malformed",
                       '文件格式不正确：应为 JSON，含 "year"、"source" 和 "days"（每项为 [日期, 是否上班, 名称]）',
                       'Malformed file: JSON with "year", "source" and "days" ([date, is_workday, name] each)',
                       field="file")
    if len(raw) > MAX_CALENDAR_BYTES:
        raise bad
    try:
        data = json.loads(raw.decode("utf-8"))
        year, source = data["year"], data["source"]
        if not isinstance(year, int) or isinstance(year, bool) or not isinstance(source, str):
            raise bad
        days = []
        for d, w, n in data["days"]:
            if not isinstance(w, bool) or not isinstance(n, str):
                raise bad
            days.append((date.fromisoformat(d), w, n))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise bad from None
    return year, days, source


def _calendar_page(upload_form=None, status=200):
    rows = queries.calendar_years(service_context().session)
    return render_template("admin/calendar.html", rows=rows, builtin=reference.builtin_years(),
                           upload_form=upload_form or CalendarUploadForm(formdata=None),
                           button_form=ButtonForm(formdata=None)), status


@bp.route("/calendar")
def calendar():
    return _calendar_page()


@bp.route("/calendar/builtin", methods=["POST"])
def load_builtin_years():
    years = reference.load_builtin_years(service_context())
    flash(_("已导入内置节假日安排：%(first)s–%(last)s 年", first=years[0], last=years[-1]), "success")
    return redirect(url_for("admin.calendar"))


@bp.route("/calendar/upload", methods=["POST"])
def upload_calendar_year():
    form = CalendarUploadForm()
    form.validate_on_submit()
    try:
        if not form.file.data:
            raise InvalidInput("calendar.file_missing", "请选择要导入的 JSON 文件", "Choose a JSON file", field="file")
        year, days, source = parse_calendar_json(form.file.data.read(MAX_CALENDAR_BYTES + 1))
        reference.load_calendar_year(service_context(), year, days, source)
    except DomainError as err:
        _show_error(form, err, "file")
        return _calendar_page(form, err.status)
    flash(_("已导入 %(year)s 年节假日安排", year=year), "success")
    return redirect(url_for("admin.calendar"))
