"""Supervision (行政监督/纪检监察), read-only: a project's full record as a timeline, and the supervisors'
own access log — so a provincial supervision platform can read what the workspace shows. Supervisors
only; every read is itself written to the access log (supervision.views)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trading.supervision import labels
from trading.supervision import timeline as timelines
from trading.supervision.access import services as access_log

from . import bp
from .fields import BeijingDateTime, Text
from .framework import ctx, operation

SUPERVISORS = ("supervisor",)


class TimelineQuery(Schema):
    after = fields.Integer(validate=validate.Range(min=0), metadata={"description": "从该日志序号之后继续 / continue after this seq"})


class DocSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "notice | document | criteria | opening_record"})
    id = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(allow_none=True, required=True)
    sha256 = fields.String(required=True)
    lot_code = fields.String(required=True)


class TimelineRowSchema(Schema):
    seq = fields.Integer(required=True)
    entry_hash = fields.String(required=True)
    at = BeijingDateTime(required=True)
    action = fields.String(required=True)
    label = fields.Function(lambda r: labels.action_label(r.action), metadata={"type": "string"}, required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True)
    lot_code = fields.String(required=True)
    actor_username = fields.String(required=True)
    actor_name = fields.String(required=True)
    actor_role = fields.String(required=True)
    org_id = fields.Integer(allow_none=True, required=True)
    org_name = fields.String(required=True)
    ip = fields.String(required=True)
    digests = fields.Function(lambda r: [{"key": k, "sha256": v} for k, v in r.digests],
                              metadata={"type": "array"}, required=True)
    doc = fields.Nested(DocSchema, allow_none=True, required=True)
    payload = fields.Dict(required=True)


class TimelineSchema(Schema):
    project_id = fields.Integer(required=True)
    trade_code = fields.String(allow_none=True, required=True)
    name = fields.String(required=True)
    items = fields.List(fields.Nested(TimelineRowSchema), required=True)
    next_after = fields.Integer(allow_none=True, required=True)


@operation(bp, "GET", "/supervision/projects/<int:project_id>/timeline", tag="supervision",
           summary="项目全过程记录 / a project's full record as a timeline", query=TimelineQuery,
           response=TimelineSchema, errors=(403, 404), roles=SUPERVISORS)
def supervision_timeline(project_id, query):
    c = ctx()
    project = timelines.find_project(c, str(project_id))
    tl = timelines.project_timeline(c, project, after_seq=query.get("after"))
    return TimelineSchema().dump({"project_id": project.id, "trade_code": project.trade_code, "name": project.name,
                                  "items": tl.rows, "next_after": tl.next_after})


class AccessLogQuery(Schema):
    user = Text(40, metadata={"description": "用户名 / username"})
    org_id = fields.Integer(validate=validate.Range(min=1))
    object_type = Text(32, metadata={"description": "project | lot | notice | document | …"})
    object = Text(64, metadata={"description": "对象编号 / object code or id"})
    since = BeijingDateTime(metadata={"description": "起始时间（含） / from (inclusive)"})
    until = BeijingDateTime(metadata={"description": "截止时间（不含） / until (exclusive)"})
    before = fields.Integer(validate=validate.Range(min=1), metadata={"description": "更早于该编号 / older than this id"})


class AccessRowSchema(Schema):
    id = fields.Integer(required=True)
    at = BeijingDateTime(required=True)
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    org_id = fields.Integer(allow_none=True, required=True)
    org_name = fields.String(required=True)
    endpoint = fields.String(required=True)
    path = fields.String(required=True)
    object_type = fields.String(required=True)
    object_code = fields.String(required=True)
    ip = fields.String(required=True)
    user_agent = fields.String(required=True)


class AccessLogSchema(Schema):
    items = fields.List(fields.Nested(AccessRowSchema), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


@operation(bp, "GET", "/supervision/access-log", tag="supervision",
           summary="监督人员查阅记录 / who among the supervisors looked at what", query=AccessLogQuery,
           response=AccessLogSchema, errors=(403, 422), roles=SUPERVISORS)
def supervision_access_log(query):
    f = access_log.ViewFilters(user=query.get("user") or "", org_id=query.get("org_id"),
                               object_type=query.get("object_type") or "", object_code=query.get("object") or "",
                               since=query.get("since"), until=query.get("until"), before_id=query.get("before"))
    page = access_log.list_views(ctx(), f)
    return AccessLogSchema().dump({"items": page.rows, "next_before": page.next_before})
