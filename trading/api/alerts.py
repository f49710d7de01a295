"""/api/v1 resources for electronic supervision alerts (电子监察预警): thin adapters over
trading/supervision/alerts/services.py, which decides who reads and who works which alert.

- GET  /alerts                         the alerts the caller may read, newest first, filtered, by cursor
- GET  /alerts/{alert_id}              one alert: rule and legal basis, evidence entries and links, workflow
- POST /alerts/{alert_id}/acknowledge  签收 (open → acknowledged)
- POST /alerts/{alert_id}/investigate  转入核查 (acknowledged → investigating), an optional note
- POST /alerts/{alert_id}/close        办结 with an outcome and the written finding

Supervisors read every alert and work them (never one about their own action); operators read the
alerts that are not about their own actions and change nothing; everyone else is refused (403).
An alert whose evidence reveals a lot's bidders is a 404 for everyone until that lot's deadline."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from trading.core.context import ServiceContext
from trading.projects.models import Lot
from trading.supervision.alerts import rules as alert_rules
from trading.supervision.alerts import services as alerts
from trading.supervision.alerts.models import SupervisionAlert

from . import bp
from .fields import BeijingDateTime, Text
from .framework import ctx, operation

TAG = "alerts"
READERS = alerts.READERS
WORKERS = (alerts.SUPERVISOR,)
STATUS_DOC = {"description": "open 待处理 | acknowledged 已签收 | investigating 核查中 | closed 已办结",
              "enum": list(alerts.STATUSES)}
SEVERITY_DOC = {"description": "red 严重 | yellow 警告", "enum": list(alert_rules.SEVERITIES)}
OUTCOME_DOC = {"description": "confirmed 查实 | unfounded 排除 | referred 移交处理", "enum": list(alerts.OUTCOMES)}
MAX_LIMIT = 100


class AlertQuery(Schema):
    status = fields.String(validate=validate.OneOf(("all", *alerts.STATUSES)), metadata={
        "description": "不填：未办结的预警；all：全部；或一个状态 / omitted: not closed; all; or one status"})
    severity = fields.String(validate=validate.OneOf(alert_rules.SEVERITIES), metadata=SEVERITY_DOC)
    rule = fields.String(validate=validate.OneOf(sorted(alert_rules.RULES)),
                         metadata={"description": "规则代码，例如 RF-04 / rule code"})
    project_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "项目编号 / project id"})
    lot_code = Text(44, metadata={"description": "标段交易编号 / lot code"})
    cursor = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "上一页返回的 next_cursor；不填为第一页 / next_cursor of the previous page"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": "每页条数（1–100） / items per page"})


class LegalBasisSchema(Schema):
    rule = fields.String(required=True, metadata={"description": "规则代码 / rule code"})
    name = fields.String(required=True, metadata={"description": "规则名称（中文） / rule name in Chinese"})
    name_en = fields.String(required=True)
    legal = fields.String(required=True, metadata={"description": "法律依据与条款 / law and article"})


class AlertSchema(Schema):
    id = fields.Integer(required=True)
    rule = fields.String(required=True)
    rule_name = fields.String(required=True)
    rule_name_en = fields.String(required=True)
    severity = fields.String(required=True, metadata=SEVERITY_DOC)
    status = fields.String(required=True, metadata=STATUS_DOC)
    summary = fields.String(required=True, metadata={"description": "预警说明（中文） / statement in Chinese"})
    summary_en = fields.String(required=True)
    project_id = fields.Integer(allow_none=True)
    lot_code = fields.String(allow_none=True)
    raised_at = BeijingDateTime(required=True)
    url = fields.String(required=True, metadata={"description": "本预警的 API 地址 / this alert's API address"})


class AlertPageSchema(Schema):
    items = fields.List(fields.Nested(AlertSchema), required=True)
    next_cursor = fields.Integer(allow_none=True, required=True, metadata={
        "description": "下一页的 cursor；null 表示没有更多 / cursor of the next page; null at the end"})


class EvidenceEntrySchema(Schema):
    seq = fields.Integer(required=True)
    at = BeijingDateTime(required=True)
    action = fields.String(required=True)
    entry_hash = fields.String(required=True, metadata={"description": "审计条目哈希（十六进制）"})
    entry = fields.Dict(required=True, metadata={"description": "审计条目正文 / the entry as the trail stores it"})
    url = fields.String(required=True, metadata={"description": "审计日志中的该条目（监督人员可读） / the entry in the trail"})


class EvidenceLotSchema(Schema):
    lot_id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.String(required=True)


class EvidenceOrgSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    credit_code = fields.String(required=True)
    url = fields.String(required=True)


class NoteSchema(Schema):
    at = BeijingDateTime(required=True)
    by = fields.Integer(allow_none=True)
    text = fields.String(required=True)


class WorkflowSchema(Schema):
    acknowledged_at = BeijingDateTime(allow_none=True)
    acknowledged_by = fields.Integer(allow_none=True)
    investigating_at = BeijingDateTime(allow_none=True)
    investigating_by = fields.Integer(allow_none=True)
    closed_at = BeijingDateTime(allow_none=True)
    closed_by = fields.Integer(allow_none=True)
    outcome = fields.String(allow_none=True, metadata=OUTCOME_DOC)
    finding = fields.String(required=True)
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    next = fields.List(fields.String(), required=True, metadata={
        "description": "当前状态可转入的状态 / statuses the alert may move to now"})
    can_work = fields.Boolean(required=True, metadata={
        "description": "调用者能否办理本预警（监督人员，且不涉及本人操作） / whether the caller may work it"})


class AlertDetailSchema(AlertSchema):
    basis = fields.Nested(LegalBasisSchema, required=True)
    facts = fields.Dict(required=True, metadata={"description": "触发规则的数据 / the figures that tripped the rule"})
    evidence = fields.List(fields.Nested(EvidenceEntrySchema), required=True)
    lots = fields.List(fields.Nested(EvidenceLotSchema), required=True)
    organisations = fields.List(fields.Nested(EvidenceOrgSchema), required=True)
    workflow = fields.Nested(WorkflowSchema, required=True)
    page_url = fields.String(required=True, metadata={"description": "监督工作台中的页面 / the workspace page"})


class InvestigateBody(Schema):
    note = Text(alerts.NOTE_MAX, load_default="", metadata={"description": "核查说明（可选） / optional note"})


class CloseBody(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(alerts.OUTCOMES), metadata=OUTCOME_DOC)
    finding = Text(alerts.FINDING_MAX, required=True, validate=[validate.Length(min=1)],
                   metadata={"description": "处理结论的书面说明 / the written finding"})


def _basis(rule: str) -> dict:
    b = alert_rules.RULES.get(rule)
    return {"rule": rule, "name": b.zh if b else rule, "name_en": b.en if b else rule, "legal": b.legal if b else ""}


def _row(alert: SupervisionAlert, codes: dict[int, str]) -> dict:
    basis = _basis(alert.rule)
    return {"id": alert.id, "rule": alert.rule, "rule_name": basis["name"], "rule_name_en": basis["name_en"],
            "severity": alert.severity, "status": alert.status, "summary": alert.summary_zh,
            "summary_en": alert.summary_en, "project_id": alert.project_id,
            "lot_code": codes.get(alert.lot_id) if alert.lot_id else None, "raised_at": alert.raised_at,
            "url": url_for("api.get_alert", alert_id=alert.id)}


def _detail(c: ServiceContext, alert: SupervisionAlert) -> dict:
    session = c.session
    linked = alerts.evidence_context(c, alert)
    lot_ids = [t.lot_id for t in linked["evidence_lots"]]
    lot_names = dict(session.execute(select(Lot.id, Lot.name).where(Lot.id.in_(lot_ids))).all()) if lot_ids else {}
    entries = [e | {"url": url_for("api.audit_entries", seq_from=e["seq"], seq_to=e["seq"])}
               for e in alerts.evidence_entries(c, alert)]
    workflow = {name: getattr(alert, name) for name in (
        "acknowledged_at", "acknowledged_by", "investigating_at", "investigating_by", "closed_at", "closed_by",
        "outcome", "finding")}
    workflow.update(notes=alerts.alert_notes(alert), next=list(alerts.TRANSITIONS[alert.status]),
                    can_work=alerts.can_work(c, alert))
    body = _row(alert, alerts.lot_codes(session, [alert])) | {
        "basis": _basis(alert.rule), "facts": alert.evidence.get("facts", {}), "evidence": entries,
        "lots": [{"lot_id": t.lot_id, "lot_code": t.lot_code, "name": lot_names.get(t.lot_id, ""),
                  "url": url_for("api.get_lot", lot_id=t.lot_id)} for t in linked["evidence_lots"]],
        "organisations": [{"id": o.id, "name": o.name, "credit_code": o.credit_code,
                           "url": url_for("api.get_organisation", org_id=o.id)} for o in linked["orgs"]],
        "workflow": workflow, "page_url": url_for("supervision.alert_detail", alert_id=alert.id)}
    return AlertDetailSchema().dump(body)


@operation(bp, "GET", "/alerts", summary="电子监察预警列表 / supervision alerts", tag=TAG, query=AlertQuery,
           response=AlertPageSchema, errors=(403,), roles=READERS,
           description="按编号从新到旧；用 next_cursor 翻页。操作员看不到涉及其本人操作的预警；"
                       "涉及投标人身份的预警在该标段投标截止前对任何人都不出现（招标投标法第二十二条）。")
def list_alerts(query):
    c = ctx()
    f = alerts.AlertFilters(status=query.get("status", ""), severity=query.get("severity", ""),
                            rule=query.get("rule", ""), lot_code=query.get("lot_code", ""),
                            project_id=query.get("project_id"))
    limit = query["limit"]
    rows = alerts.list_alerts(c, f, limit + 1, newest_first=True, before_id=query.get("cursor"))
    more, rows = len(rows) > limit, rows[:limit]
    codes = alerts.lot_codes(c.session, rows)
    return AlertPageSchema().dump({"items": [_row(a, codes) for a in rows],
                                   "next_cursor": rows[-1].id if more else None})


@operation(bp, "GET", "/alerts/<int:alert_id>", summary="预警详情、证据与法律依据 / an alert with its evidence",
           tag=TAG, response=AlertDetailSchema, errors=(403, 404), roles=READERS,
           description="证据为预警引用的审计条目（序号、哈希、正文）及相关标段、单位的链接。"
                       "看不到的预警与不存在的预警同样回答 404。")
def get_alert(alert_id):
    c = ctx()
    return _detail(c, alerts.get_alert(c, alert_id))


@operation(bp, "POST", "/alerts/<int:alert_id>/acknowledge", summary="签收预警 / acknowledge an alert", tag=TAG,
           response=AlertDetailSchema, errors=(403, 404, 409), roles=WORKERS,
           description="open → acknowledged。涉及本人操作的预警须由其他监督人员办理（403 alert.own_action）。")
def acknowledge_alert(alert_id):
    c = ctx()
    return _detail(c, alerts.acknowledge_alert(c, alert_id))


@operation(bp, "POST", "/alerts/<int:alert_id>/investigate", summary="转入核查 / start investigating", tag=TAG,
           body=InvestigateBody, response=AlertDetailSchema, errors=(403, 404, 409), roles=WORKERS,
           description="acknowledged → investigating，可附核查说明。")
def investigate_alert(alert_id, body):
    c = ctx()
    return _detail(c, alerts.investigate_alert(c, alert_id, body.get("note")))


@operation(bp, "POST", "/alerts/<int:alert_id>/close", summary="办结预警 / close with a finding", tag=TAG,
           body=CloseBody, response=AlertDetailSchema, errors=(403, 404, 409), roles=WORKERS,
           description="acknowledged 或 investigating → closed，须选择结论并写明处理说明。")
def close_alert(alert_id, body):
    c = ctx()
    return _detail(c, alerts.close_alert(c, alert_id, body["outcome"], body["finding"]))
