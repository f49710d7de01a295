"""marshmallow schemas of notices (公告): the draft body (create and PATCH), the portal filters, the public
view (what the portal shows anyone) and the staff view for the project side, the centre and supervisors
(adds status, who drafted it and when), and the period check's violations."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from trading.core.i18n import current_locale
from trading.extensions import db
from trading.procedures.common import rules as notice_rules
from trading.procedures.common.rules import (
    KIND_LABELS,
    STATUS_LABELS,
    TRADE_LABELS,
    NoticeKind,
    PublicStatus,
    TradeType,
)
from trading.projects.models import Lot

from .fields import BeijingDateTime, Fen, Text, capitals_of

KINDS = [str(k) for k in NoticeKind]
DATE_FIELDS = ("docs_from", "docs_until", "objection_until", "deadline_at", "opening_at", "closing_at",
               "publicity_until")
_DATE_DOC = {
    "docs_from": "文件获取开始", "docs_until": "文件获取截止", "objection_until": "异议截止",
    "deadline_at": "投标（响应、竞买申请）截止", "opening_at": "开标/竞价开始", "closing_at": "挂牌截止/信息披露期满",
    "publicity_until": "公示期截止",
}


def _label(table, attr: str):
    return fields.Function(lambda n: notice_rules.label(table, getattr(n, attr), current_locale()),
                           metadata={"type": "string", "description": "显示名称 / label"})


# --- input -------------------------------------------------------------------------------------------

def _draft_fields(*, partial: bool) -> dict:
    req = {} if partial else {"required": True}

    def opt(default):
        return {} if partial else {"load_default": default}

    out = {
        "kind": fields.String(**req, metadata={"enum": KINDS, "description": "公告类型"}),
        "title": Text(200, **req, metadata={"description": "公告标题"}),
        "body": Text(50_000, **req, metadata={"description": "公告正文（纯文本）"}),
        "lot_id": fields.Integer(strict=True, allow_none=True, **opt(None), metadata={"description": "所属标段（包）"}),
        "previous_id": fields.Integer(strict=True, allow_none=True, **opt(None),
                                      metadata={"description": "所变更或所跟随的公告（变更公告必填）"}),
        "opening_place": Text(60, **opt(""), metadata={"description": "开标（活动）地点"}),
    }
    for name in DATE_FIELDS:
        out[name] = BeijingDateTime(allow_none=True, **opt(None),
                                    metadata={"description": _DATE_DOC[name] + "（带时区，null 表示不设）"})
    return out


NoticeCreateSchema = Schema.from_dict({
    "project_id": fields.Integer(strict=True, required=True, metadata={"description": "已受理的项目"}),
    **_draft_fields(partial=False),
}, name="NoticeCreate")

NoticeUpdateSchema = Schema.from_dict(_draft_fields(partial=True), name="NoticeUpdate")


class NoticeQuery(Schema):
    """The portal's filters (交易信息)."""
    trade_type = fields.String(validate=validate.OneOf([str(t) for t in TradeType]), metadata={"description": "交易类型"})
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": "公告类型"})
    region_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "区域（乡镇）"})
    date_from = fields.Date(metadata={"description": "发布日期起（北京时间，含）"})
    date_to = fields.Date(metadata={"description": "发布日期止（北京时间，含）"})
    keyword = fields.String(validate=validate.Length(max=100), metadata={"description": "标题关键词或项目编号"})
    project_code = fields.String(validate=validate.Length(max=40), metadata={"description": "项目编号"})
    status = fields.String(validate=validate.OneOf([str(s) for s in PublicStatus]),
                           metadata={"description": "报名中 open / 已截止 closed / 公示中 publicity / 已结束 ended"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# --- output ------------------------------------------------------------------------------------------

class NoticeLotSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(allow_none=True)
    name = fields.String(required=True)
    budget_fen = Fen(required=True)
    budget_capitals = capitals_of("budget_fen")


def _public_status(n) -> str:
    return str(notice_rules.public_status(n.deadline_at, n.publicity_until, n.superseded_by_id is not None,
                                          _now()))


def _now():
    return current_app.extensions["clock"].now()


class NoticePublicSchema(Schema):
    """What the portal shows anyone: no drafting metadata, no internal ids beyond the chain."""
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": KINDS})
    kind_label = _label(KIND_LABELS, "kind")
    title = fields.String(required=True)
    body = fields.String(required=True)
    body_sha256 = fields.String(allow_none=True, metadata={"description": "发布时正文的 SHA-256"})
    project_code = fields.String(required=True, metadata={"description": "项目编号（统一交易标识码）"})
    trade_type = fields.String(required=True, metadata={"enum": [str(t) for t in TradeType]})
    trade_type_label = _label(TRADE_LABELS, "trade_type")
    region_id = fields.Integer(required=True)
    lot = fields.Nested(NoticeLotSchema, allow_none=True, metadata={"description": "标段（包）"})
    previous_id = fields.Integer(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True, metadata={"description": "已被该公告变更或终止"})
    published_at = BeijingDateTime(allow_none=True)
    docs_from = BeijingDateTime(allow_none=True)
    docs_until = BeijingDateTime(allow_none=True)
    objection_until = BeijingDateTime(allow_none=True)
    deadline_at = BeijingDateTime(allow_none=True)
    opening_at = BeijingDateTime(allow_none=True)
    opening_place = fields.String(required=True)
    closing_at = BeijingDateTime(allow_none=True)
    publicity_until = BeijingDateTime(allow_none=True)
    public_status = fields.Function(_public_status, metadata={"type": "string",
                                                             "enum": [str(s) for s in PublicStatus]})
    public_status_label = fields.Function(
        lambda n: notice_rules.label(STATUS_LABELS, _public_status(n), current_locale()), metadata={"type": "string"})

    def get_attribute(self, obj, attr, default):
        if attr == "lot":  # a notice names its lot by id only
            return db.session.get(Lot, obj.lot_id) if obj.lot_id else None
        return super().get_attribute(obj, attr, default)


class NoticeStaffSchema(NoticePublicSchema):
    """The project side, the centre and supervisors also see drafts and who made them."""
    status = fields.String(required=True, metadata={"enum": ["draft", "published"]})
    project_id = fields.Integer(required=True)
    lot_id = fields.Integer(allow_none=True)
    created_by = fields.Integer(required=True)
    created_at = BeijingDateTime(required=True)
    updated_at = BeijingDateTime(allow_none=True)


class NoticePageSchema(Schema):
    items = fields.List(fields.Nested(NoticePublicSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "匹配条数；超过 10000 时为 10000"})
    total_capped = fields.Boolean(required=True, metadata={
        "description": "为 true 时实际匹配多于 total（计数到上限即停止） / more matches than total"})


class ViolationSchema(Schema):
    code = fields.String(required=True, metadata={"description": "period.* / dates.* / chain.* / calendar.*"})
    message = fields.Function(lambda v: v.message(current_locale()), metadata={"type": "string"}, required=True)
    field = fields.String(allow_none=True)
    rule = fields.String(metadata={"description": "规则名称"})
    source = fields.String(metadata={"description": "法律依据"})
    needed = fields.Integer(allow_none=True)
    actual = fields.Integer(allow_none=True)
    unit = fields.String(allow_none=True, metadata={"description": "CD 日历日 / WD 工作日"})
    proposed = BeijingDateTime(allow_none=True, metadata={"description": "最早合规时间"})


class CheckSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "现在发布是否合规"})
    violations = fields.List(fields.Nested(ViolationSchema), required=True)
