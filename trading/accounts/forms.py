"""Log-in, account and administration forms: shape only. Lengths, formats and policies are checked by
the services (the JSON API and the CLI go through the same rules); CSRF comes with FlaskForm."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[InputRequired(message=_l("请填写用户名"))],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("密码"), validators=[InputRequired(message=_l("请填写密码"))],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class TotpForm(FlaskForm):
    code = StringField(_l("6 位验证码"), validators=[InputRequired(message=_l("请填写验证码"))],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 6,
                                  "pattern": "[0-9]*"})


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[InputRequired(message=_l("请填写当前密码"))],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("新密码"), validators=[InputRequired(message=_l("请填写新密码"))],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("再次输入新密码"), validators=[InputRequired(message=_l("请再次输入新密码"))],
                            render_kw={"autocomplete": "new-password"})


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称（用途）"))
    expires_days = StringField(_l("有效期（天，留空为长期）"), validators=[Optional()],
                               render_kw={"inputmode": "numeric"})


class ButtonForm(FlaskForm):
    """A POST with nothing but its CSRF token (log-out, revoke, deactivate, load built-in years)."""


class OrganisationForm(FlaskForm):
    name = StringField(_l("单位名称"))
    credit_code = StringField(_l("统一社会信用代码"), render_kw={"autocapitalize": "characters", "maxlength": 24})
    kind = SelectField(_l("单位类型"))
    region_id = SelectField(_l("所在区域"), validators=[Optional()])
    contact_name = StringField(_l("联系人"))
    contact_phone = StringField(_l("联系电话"))
    address = StringField(_l("地址"))


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), render_kw={"autocapitalize": "none"})
    display_name = StringField(_l("姓名"))
    org_id = SelectField(_l("所属单位"))
    role = SelectField(_l("角色"))
    password = PasswordField(_l("初始密码"), render_kw={"autocomplete": "new-password"})
    phone = StringField(_l("手机号"))


class SettingForm(FlaskForm):
    value = StringField(_l("新值"))


class CalendarUploadForm(FlaskForm):
    file = FileField(_l("年度节假日安排（JSON 文件）"))
