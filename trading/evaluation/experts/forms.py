"""Forms of the expert pool and draw pages (shape and CSRF only); the services check every value."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, FileField, IntegerField, SelectField, StringField
from wtforms.validators import Optional


class ExpertForm(FlaskForm):
    username = StringField(_l("专家账号（用户名）"))
    name = StringField(_l("姓名"))
    id_card = StringField(_l("身份证号"))
    employer = StringField(_l("工作单位统一社会信用代码"))
    region_id = SelectField(_l("所在地区"), validate_choice=False)
    title = StringField(_l("职称"))
    senior = BooleanField(_l("高级职称"))
    years = IntegerField(_l("从业年限"), validators=[Optional()])
    specialties = StringField(_l("专业代码（多个用分号分隔）"))


class ImportForm(FlaskForm):
    file = FileField(_l("专家名单文件（CSV）"))


class StatusForm(FlaskForm):
    status = SelectField(_l("状态"), validate_choice=False)
    reason = StringField(_l("原因"))


class RelationForm(FlaskForm):
    org = StringField(_l("关联单位统一社会信用代码"))
    kind = SelectField(_l("关系类型"), validate_choice=False)
    from_on = DateField(_l("起始日期"), validators=[Optional()])
    to_on = DateField(_l("结束日期（仍在职留空）"), validators=[Optional()])
    note = StringField(_l("说明"))


class UnavailableForm(FlaskForm):
    start_on = DateField(_l("开始日期"), validators=[Optional()])
    end_on = DateField(_l("结束日期"), validators=[Optional()])
    reason = StringField(_l("原因"))


class DrawForm(FlaskForm):
    size = IntegerField(_l("成员总数（单数）"), validators=[Optional()])
    experts_required = IntegerField(_l("其中专家人数（不少于三分之二）"), validators=[Optional()])
    specialties = StringField(_l("专业代码（多个用分号分隔）"))
    evaluation_on = DateField(_l("评审日期"), validators=[Optional()])
    avoid = StringField(_l("另需回避的单位（统一社会信用代码，分号分隔）"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因"))
