"""/api/v1 resource for complaints (投诉): thin adapters over supervision.complaints.services — the
same calls as the pages under /complaints/.

- GET  /complaints                        the caller's complaints: all (supervisor), its own (bidder),
                                          accepted ones about its projects (owner/agency)
- GET  /complaints/clocks                 supervisor: every open complaint's running clocks and lights
- GET  /complaint-decisions               public: decided complaints (投诉处理决定)
- POST /lots/{lot_code}/complaints        a bidder/supplier files, inside the statutory window
- GET  /complaints/{id}                   one complaint with its clocks (404 to whoever may not see it)
- POST /complaints/{id}/accept            supervisor: accept (受理)
- POST /complaints/{id}/rejection         supervisor: refuse to accept (不予受理), with the reason
- POST /complaints/{id}/suspension        supervisor: suspend the lot's procurement (暂停) for n days
- POST /complaints/{id}/suspension/lift   supervisor: lift the suspension early
- POST /complaints/{id}/pause             supervisor: stop the decision clock (testing, expert review)
- POST /complaints/{id}/resume            supervisor: the clock runs again
- POST /complaints/{id}/decision          supervisor: the written decision (upheld / partly / dismissed)
- POST /complaints/{id}/withdrawal        the complainant withdraws

Refusals are DomainErrors: {"error", "message"} with a 4xx, and nothing written."""

from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, fields, validate

from trading.core.errors import InvalidInput
from trading.extensions import db
from trading.supervision.complaints import rules, services

from . import bp
from .fields import BeijingDateTime, Text
from .framework import PUBLIC, ctx, operation

TAG = "complaints"
SUPERVISOR = ("supervisor",)
READERS = ("supervisor", "bidder", "owner", "agency")


# --- schemas ---------------------------------------------------------------------------------------

class ComplaintClockSchema(Schema):
    step = fields.String(required=True, metadata={"enum": ["accept", "decide", "suspension"]})
    due_at = BeijingDateTime(allow_none=True, metadata={"description": "到期时刻；中止计时期间为 null / null while paused"})
    light = fields.String(required=True, metadata={"enum": [rules.GREEN, rules.YELLOW, rules.RED]})
    paused = fields.Boolean(required=True)
    calendar_missing = fields.Boolean(required=True, metadata={"description": "期限所跨年份的节假日安排尚未导入"})


class ComplaintPauseSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in rules.PauseKind]})
    reason = fields.String(required=True)
    started_at = BeijingDateTime(required=True)
    ended_at = BeijingDateTime(allow_none=True)


class ComplaintFileSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class ComplaintSuspensionSchema(Schema):
    ordered_at = BeijingDateTime(required=True)
    ends_at = BeijingDateTime(required=True)
    lifted_at = BeijingDateTime(allow_none=True)
    reason = fields.String(required=True)
    active = fields.Boolean(required=True)


class ComplaintDeclaredSchema(Schema):
    note = fields.String(required=True)
    filed_on = fields.Date(required=True)
    answered_on = fields.Date(allow_none=True)


class ComplaintSchema(Schema):
    id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    project_id = fields.Integer(required=True)
    regime = fields.String(required=True, metadata={"enum": ["tender_law", "gp"]})
    department = fields.String(required=True, metadata={"description": "受理部门：行政监督部门或财政部门"})
    matter = fields.String(required=True, metadata={"enum": [m.value for m in rules.Matter]})
    complainant_org_id = fields.Integer(required=True)
    filed_at = BeijingDateTime(required=True)
    known_on = fields.Date(allow_none=True)
    objection_id = fields.Integer(allow_none=True)
    declared_objection = fields.Nested(ComplaintDeclaredSchema, allow_none=True,
                                       metadata={"description": "平台外提出的书面异议（质疑） / a written objection made elsewhere"})
    facts = fields.String(required=True)
    request = fields.String(required=True)
    window_closes_at = BeijingDateTime(required=True)
    accept_due_at = BeijingDateTime(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in rules.Status]})
    accepted_at = BeijingDateTime(allow_none=True)
    rejected_at = BeijingDateTime(allow_none=True)
    reject_reason = fields.String(required=True)
    decide_due_at = BeijingDateTime(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"enum": [o.value for o in rules.Outcome]})
    decision = fields.String(required=True)
    decided_at = BeijingDateTime(allow_none=True)
    withdrawn_at = BeijingDateTime(allow_none=True)
    withdraw_reason = fields.String(required=True)
    suspension = fields.Nested(ComplaintSuspensionSchema, allow_none=True)
    pauses = fields.List(fields.Nested(ComplaintPauseSchema), required=True)
    files = fields.List(fields.Nested(ComplaintFileSchema), required=True)
    clocks = fields.List(fields.Nested(ComplaintClockSchema), required=True)


class ComplaintListSchema(Schema):
    items = fields.List(fields.Nested(ComplaintSchema), required=True)


class ComplaintClockRowSchema(ComplaintClockSchema):
    complaint_id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in rules.Status]})


class ComplaintClocksSchema(Schema):
    items = fields.List(fields.Nested(ComplaintClockRowSchema), required=True)


class ComplaintDecisionSchema(Schema):
    id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    department = fields.String(required=True)
    matter = fields.String(required=True, metadata={"enum": [m.value for m in rules.Matter]})
    outcome = fields.String(required=True, metadata={"enum": [o.value for o in rules.Outcome]})
    decision = fields.String(required=True)
    decided_at = BeijingDateTime(required=True)


class ComplaintDecisionsSchema(Schema):
    items = fields.List(fields.Nested(ComplaintDecisionSchema), required=True)


class ComplaintFileIn(Schema):
    name = Text(max_length=200, load_default="")
    content_base64 = fields.String(required=True, metadata={"description": "PDF/PNG/JPEG，Base64，≤ 10 MB"})


class ComplaintDeclaredIn(Schema):
    note = Text(max_length=500, required=True, metadata={"description": "异议（质疑）的内容和提出方式"})
    filed_on = fields.Date(required=True)
    answered_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "答复之日；未答复为 null"})


class ComplaintIn(Schema):
    matter = fields.String(required=True, validate=validate.OneOf([m.value for m in rules.Matter]))
    facts = Text(max_length=services.FACTS_MAX, required=True)
    request = Text(max_length=services.REQUEST_MAX, required=True)
    known_on = fields.Date(load_default=None, allow_none=True,
                           metadata={"description": "知道或者应当知道之日（招标投标项目必填） / the day the complainant knew"})
    objection_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                  metadata={"description": "平台上对评标（成交）结果的异议（质疑）编号 / the prior objection"})
    declared_objection = fields.Nested(ComplaintDeclaredIn, load_default=None, allow_none=True,
                                       metadata={"description": "招标文件、开标（及政府采购结果以外）事项的书面异议（质疑）"})
    files = fields.List(fields.Nested(ComplaintFileIn), load_default=list, validate=validate.Length(max=services.FILES_MAX))


class ComplaintReasonIn(Schema):
    reason = Text(max_length=services.REASON_MAX, required=True)


class ComplaintSuspensionIn(Schema):
    days = fields.Integer(required=True, strict=True, metadata={"description": "暂停天数（日历日） / calendar days"})
    reason = Text(max_length=services.REASON_MAX, required=True)


class ComplaintPauseIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in rules.PauseKind]))
    reason = Text(max_length=services.REASON_MAX, required=True)


class ComplaintDecisionIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in rules.Outcome]))
    decision = Text(max_length=services.DECISION_MAX, required=True)


# --- dumping ---------------------------------------------------------------------------------------

def _clock(row: services.ClockRow) -> dict:
    return {"step": row.step, "due_at": row.due_at, "light": row.light, "paused": row.paused,
            "calendar_missing": row.calendar_missing}


def dump(c_ctx, c) -> dict:
    now = c_ctx.now()
    suspension = None
    if c.suspended_at is not None:
        suspension = {"ordered_at": c.suspended_at, "ends_at": c.suspension_ends_at, "lifted_at": c.suspension_lifted_at,
                      "reason": c.suspension_reason, "active": services.suspended(c, now)}
    data = {
        "id": c.id, "lot_code": services.lot_code_of(c_ctx.session, c), "project_id": c.project_id, "regime": c.regime,
        "department": rules.department_for(c.regime)[0], "matter": c.matter, "complainant_org_id": c.complainant_org_id,
        "filed_at": c.filed_at, "known_on": c.known_on, "objection_id": c.objection_id,
        "declared_objection": {"note": c.declared_objection, "filed_on": c.declared_filed_on,
                               "answered_on": c.declared_answered_on} if c.declared_filed_on else None,
        "facts": c.facts,
        "request": c.request, "window_closes_at": c.window_closes_at, "accept_due_at": c.accept_due_at,
        "status": c.status, "accepted_at": c.accepted_at, "rejected_at": c.rejected_at, "reject_reason": c.reject_reason,
        "decide_due_at": c.decide_due_at if c.decided_at else services.decide_due_or_none(c_ctx, c), "outcome": c.outcome,
        "decision": c.decision, "decided_at": c.decided_at, "withdrawn_at": c.withdrawn_at,
        "withdraw_reason": c.withdraw_reason, "suspension": suspension,
        "pauses": [{"id": p.id, "kind": p.kind, "reason": p.reason, "started_at": p.started_at, "ended_at": p.ended_at}
                   for p in c.pauses],
        "files": [{"id": f.id, "name": f.name, "size": f.size, "sha256": f.sha256} for f in c.files],
        "clocks": [_clock(r) for r in services.clocks_of(c_ctx, c, now)],
    }
    return ComplaintSchema().dump(data)


def _declared(d: dict | None) -> rules.Declared | None:
    return rules.Declared(d["note"], d["filed_on"], d["answered_on"]) if d else None


def _decoded(files: list[dict]) -> list[tuple[str, bytes]]:
    out = []
    for f in files:
        try:
            out.append((f["name"], base64.b64decode(f["content_base64"], validate=True)))
        except (binascii.Error, ValueError):
            raise InvalidInput("complaint.file_base64", "证据文件须为 Base64 编码", "Evidence files must be Base64",
                               field="files") from None
    return out


# --- operations --------------------------------------------------------------------------------------

@operation(bp, "GET", "/complaints", summary="投诉列表 / complaints", tag=TAG, response=ComplaintListSchema,
           errors=(403,), roles=READERS,
           description="监督人员看到全部投诉；投诉人看到本单位的投诉；招标人（采购人）和代理机构看到已受理的、针对本单位项目的投诉。")
def complaint_list():
    c = ctx()
    return {"items": [dump(c, row) for row in services.list_complaints(c)]}


@operation(bp, "GET", "/complaints/clocks", summary="投诉时限 / complaint clocks", tag=TAG,
           response=ComplaintClocksSchema, errors=(403,), roles=SUPERVISOR,
           description="未办结投诉的受理审查、处理决定和暂停期满时限，绿灯、黄灯（临近）和红灯（已到期），按到期先后排列。")
def complaint_clocks():
    c = ctx()
    c.require(*services.HANDLERS)
    rows = services.open_complaint_clocks(c.session, c.now())
    return {"items": [{**_clock(r), "complaint_id": r.complaint.id, "status": r.complaint.status,
                       "lot_code": services.lot_code_of(c.session, r.complaint)} for r in rows]}


@operation(bp, "GET", "/complaint-decisions", summary="投诉处理决定公告 / published decisions", tag=TAG, auth=PUBLIC,
           response=ComplaintDecisionsSchema)
def complaint_decisions():
    rows = services.public_decisions(db.session)
    return {"items": ComplaintDecisionSchema(many=True).dump([
        {"id": r.id, "lot_code": services.lot_code_of(db.session, r), "department": rules.department_for(r.regime)[0],
         "matter": r.matter, "outcome": r.outcome, "decision": r.decision, "decided_at": r.decided_at} for r in rows])}


@operation(bp, "POST", "/lots/<lot_code>/complaints", summary="提出投诉 / file a complaint", tag=TAG,
           body=ComplaintIn, response=ComplaintSchema, status=201, errors=(403, 404), roles=("bidder",),
           description="招标投标：知道之日起 10 日内，招标文件、开标、评标结果事项须先提出异议（异议答复期间不计入）；"
                       "政府采购：须先提出质疑，答复期满后 15 个工作日内。超期 422 complaint.window_closed；"
                       "缺少在先异议（质疑） 422 complaint.objection_required。")
def complaint_file(lot_code, body):
    c = ctx()
    row = services.file_complaint(c, lot_code, matter=body["matter"], facts=body["facts"], request=body["request"],
                                  known_on=body["known_on"], objection_id=body["objection_id"],
                                  declared=_declared(body["declared_objection"]), files=_decoded(body["files"]))
    return dump(c, row), 201


@operation(bp, "GET", "/complaints/<int:complaint_id>", summary="投诉详情 / a complaint", tag=TAG,
           response=ComplaintSchema, errors=(404,), roles=READERS)
def complaint_detail(complaint_id):
    c = ctx()
    return dump(c, services.get_complaint(c, complaint_id))


def _step(fn, complaint_id, *args):
    c = ctx()
    return dump(c, fn(c, complaint_id, *args))


@operation(bp, "POST", "/complaints/<int:complaint_id>/accept", summary="受理投诉 / accept", tag=TAG,
           response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR,
           description="受理审查期限内；逾期受理记为逾期。非待受理状态 409 complaint.wrong_status。")
def complaint_accept(complaint_id):
    return _step(services.accept, complaint_id)


@operation(bp, "POST", "/complaints/<int:complaint_id>/rejection", summary="不予受理 / refuse to accept", tag=TAG,
           body=ComplaintReasonIn, response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR)
def complaint_reject(complaint_id, body):
    return _step(services.reject, complaint_id, body["reason"])


@operation(bp, "POST", "/complaints/<int:complaint_id>/suspension", summary="暂停采购活动 / suspend the procurement",
           tag=TAG, body=ComplaintSuspensionIn, response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR,
           description="最长 30 日（参数 complaint.suspension_max_cd）；暂停期间标段不能办理任何步骤（409 complaint.suspended）。")
def complaint_suspend(complaint_id, body):
    return _step(services.suspend, complaint_id, body["days"], body["reason"])


@operation(bp, "POST", "/complaints/<int:complaint_id>/suspension/lift", summary="解除暂停 / lift the suspension",
           tag=TAG, body=ComplaintReasonIn, response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR)
def complaint_lift(complaint_id, body):
    return _step(services.lift, complaint_id, body["reason"])


@operation(bp, "POST", "/complaints/<int:complaint_id>/pause", summary="中止计时 / pause the decision clock", tag=TAG,
           body=ComplaintPauseIn, response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR,
           description="检验、检测、鉴定或专家评审所需时间不计算在处理期限内。")
def complaint_pause(complaint_id, body):
    return _step(services.pause, complaint_id, body["kind"], body["reason"])


@operation(bp, "POST", "/complaints/<int:complaint_id>/resume", summary="恢复计时 / resume the clock", tag=TAG,
           response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR)
def complaint_resume(complaint_id):
    return _step(services.resume, complaint_id)


@operation(bp, "POST", "/complaints/<int:complaint_id>/decision", summary="作出处理决定 / decide", tag=TAG,
           body=ComplaintDecisionIn, response=ComplaintSchema, errors=(403, 404, 409), roles=SUPERVISOR,
           description="投诉成立 upheld、部分成立 partly、驳回 dismissed，附处理决定书正文；中止计时期间 409 complaint.paused。")
def complaint_decide(complaint_id, body):
    return _step(services.decide, complaint_id, body["outcome"], body["decision"])


@operation(bp, "POST", "/complaints/<int:complaint_id>/withdrawal", summary="撤回投诉 / withdraw", tag=TAG,
           body=ComplaintReasonIn, response=ComplaintSchema, errors=(403, 404, 409), roles=("bidder",))
def complaint_withdraw(complaint_id, body):
    return _step(services.withdraw, complaint_id, body["reason"])
