"""Notice forms: shape only. Lengths, kinds, chain and period rules are the services' (the JSON API
goes through the same checks). Key dates are typed as Beijing wall-clock time (datetime-local) and
turned into aware instants by `beijing_dates`."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from trading.core.clock import BEIJING, to_beijing

from .rules import KEY_DATES

_DT = "%Y-%m-%dT%H:%M"


def _date_field(label):
    return DateTimeLocalField(label, format=_DT, validators=[Optional()],
                              render_kw={"step": 60})


class NoticeForm(FlaskForm):
    project_id = SelectField(_l("项目"), coerce=int, validators=[InputRequired(message=_l("请选择项目"))])
    kind = SelectField(_l("公告类型"), validators=[InputRequired(message=_l("请选择公告类型"))])
    title = StringField(_l("公告标题"), validators=[InputRequired(message=_l("请填写公告标题"))],
                        render_kw={"maxlength": 200})
    body = TextAreaField(_l("公告正文"), validators=[InputRequired(message=_l("请填写公告正文"))],
                         render_kw={"rows": 14, "maxlength": 50000})
    docs_from = _date_field(_l("文件获取开始"))
    docs_until = _date_field(_l("文件获取截止"))
    objection_until = _date_field(_l("异议截止"))
    deadline_at = _date_field(_l("投标（响应）截止"))
    opening_at = _date_field(_l("开标（活动开始）"))
    opening_place = StringField(_l("开标（活动）地点"), validators=[Optional()], render_kw={"maxlength": 60})
    closing_at = _date_field(_l("挂牌（披露）截止"))
    publicity_until = _date_field(_l("公示期截止"))

    def beijing_dates(self) -> dict[str, datetime | None]:
        """The key dates as aware instants: the browser sends Beijing wall-clock time without a zone."""
        return {f: (getattr(self, f).data.replace(tzinfo=BEIJING) if getattr(self, f).data else None)
                for f in KEY_DATES}

    def fill_dates(self, notice) -> None:
        for f in KEY_DATES:
            v = getattr(notice, f)
            getattr(self, f).data = to_beijing(v).replace(tzinfo=None) if v else None


class ButtonForm(FlaskForm):
    """A POST with nothing but the CSRF token (publish)."""
