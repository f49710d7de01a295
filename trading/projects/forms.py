"""Forms of the registration pages (shape only) and the conversion of their text into the service's
fields: yuan → fen through core.money.parse_yuan, percent → basis points. Ranges, lengths and
enums are checked by the service, so the HTML form and the JSON API refuse the same things."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import FieldList, FormField

from trading.core.errors import DomainError, InvalidInput
from trading.core.money import parse_yuan

#: lot rows a page shows without JavaScript; the script adds more (the service allows 20)
LOT_ROWS = 5
_PERCENT_RE = re.compile(r"^(\d{1,3})(?:\.(\d{1,2}))?$")


class LotForm(Form):
    name = StringField(_l("标段（包）名称"))
    budget = StringField(_l("预算/最高限价（元）"))


class ProjectForm(FlaskForm):
    name = StringField(_l("项目名称"))
    approval_number = StringField(_l("审批/核准/备案文号"))
    approval_department = StringField(_l("审批部门"))
    owner_org_id = SelectField(_l("委托业主单位"), coerce=int, validate_choice=False)
    category = SelectField(_l("项目类别"), validate_choice=False)
    owner_type = SelectField(_l("业主类型"), validate_choice=False)
    funding_source = SelectField(_l("资金来源"), validate_choice=False)
    fiscal_share = StringField(_l("财政资金占比（%）"), default="0")
    total_investment = StringField(_l("项目总投资（元）"))
    combined_total = StringField(_l("同一项目可合并计算的合同估算价合计（元，选填）"))
    region_id = SelectField(_l("项目所在地"), coerce=int, validate_choice=False)
    procedure = SelectField(_l("拟采用的交易方式"), validate_choice=False)
    description = TextAreaField(_l("项目概况"))
    contact_name = StringField(_l("联系人"))
    contact_phone = StringField(_l("联系电话"))
    lots = FieldList(FormField(LotForm), min_entries=LOT_ROWS, max_entries=100)
    expected_version = HiddenField()


class SubmitForm(FlaskForm):
    expected_version = HiddenField()
    comment = TextAreaField(_l("提交说明（选填）"))


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"))


def yuan_text(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def percent_text(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}".removesuffix(".00")


def parse_percent(text: str | None) -> int:
    """"35.5" → 3550 basis points (range checked by the service)."""
    cleaned = (text or "").strip().rstrip("%％").strip()
    match = _PERCENT_RE.match(cleaned)
    if not match:
        raise InvalidInput("project.fiscal_share_malformed", "财政资金占比请填写0–100之间的数字，最多两位小数，例如 35.5",
                           "Enter the fiscal share as a number from 0 to 100 with at most two decimals",
                           field="fiscal_share_bp")
    return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))


#: service field → form field, for putting a service error next to the input it concerns
FORM_FIELD = {"total_investment_fen": "total_investment", "combined_total_fen": "combined_total",
              "fiscal_share_bp": "fiscal_share"}


def to_fields(form: ProjectForm, *, agency: bool) -> tuple[dict, list[int], list[DomainError]]:
    """(service fields, form row of each lot, conversion errors). Blank lot rows are skipped."""
    errors: list[DomainError] = []

    def attempt(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as err:
            errors.append(err)
            return None

    combined = (form.combined_total.data or "").strip()
    fields = dict(
        name=form.name.data or "", approval_number=form.approval_number.data or "",
        approval_department=form.approval_department.data or "", category=form.category.data,
        owner_type=form.owner_type.data, funding_source=form.funding_source.data,
        fiscal_share_bp=attempt(parse_percent, form.fiscal_share.data),
        total_investment_fen=attempt(parse_yuan, form.total_investment.data or None, field="total_investment_fen"),
        combined_total_fen=attempt(parse_yuan, combined, field="combined_total_fen") if combined else None,
        region_id=form.region_id.data, procedure=form.procedure.data, description=form.description.data or "",
        contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "")
    lots, rows = [], []
    for row, entry in enumerate(form.lots):
        name, budget = (entry.form.name.data or "").strip(), (entry.form.budget.data or "").strip()
        if not name and not budget:
            continue
        # numbered like the service numbers lots (blank rows skipped); rows maps back to the form row
        lots.append({"name": name, "budget_fen": attempt(parse_yuan, budget or None, field=f"lots-{len(lots)}-budget")})
        rows.append(row)
    fields["lots"] = lots
    if agency:
        fields["owner_org_id"] = form.owner_org_id.data
    return fields, rows, errors


def attach_error(form: ProjectForm, err: DomainError, message: str, rows: list[int]) -> bool:
    """Put the message under the input it concerns; False when no single input fits (shown on top)."""
    name = FORM_FIELD.get(err.field or "", err.field or "")
    match = re.match(r"^lots-(\d+)-(name|budget)$", name)
    if match:
        index = int(match.group(1))
        row = rows[index] if index < len(rows) else index
        if row < len(form.lots.entries):
            form.lots.entries[row].form[match.group(2)].errors = [message]
            return True
        return False
    field = form._fields.get(name)
    if field is None or name == "lots":
        return False
    field.errors = list(field.errors or []) + [message]
    return True
