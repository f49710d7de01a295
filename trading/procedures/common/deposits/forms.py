"""Forms of the deposit pages (shape and CSRF only); the services check every value."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField, StringField, TextAreaField


class AmountForm(FlaskForm):
    deposit = StringField(_l("投标（竞买）保证金金额（元）"))


class StatementForm(FlaskForm):
    file = FileField(_l("银行流水文件（CSV）"))


class RefundEventForm(FlaskForm):
    event = SelectField(_l("退还事由"), validate_choice=False)
    at = StringField(_l("发生时间（北京时间，留空为现在）"))
    winner = SelectField(_l("中标（成交）人子账号（结果公告时其保证金待合同签订后退还）"), validate_choice=False)
    account = SelectField(_l("撤回投标的子账号"), validate_choice=False)


class RefundForm(FlaskForm):
    amount = StringField(_l("退还金额（元）"))
    bank_ref = StringField(_l("退款银行流水号"))
    note = StringField(_l("备注"))


class ForfeitForm(FlaskForm):
    reason = TextAreaField(_l("不予退还的理由和依据"))


class AssignForm(FlaskForm):
    virtual_account = StringField(_l("归集到虚拟子账号"))
    note = StringField(_l("归集依据"))
