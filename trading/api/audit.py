"""Audit trail (操作日志): search entries and verify the hash chain. Supervisors and administrators only;
reading the trail changes nothing, so these endpoints record nothing."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from trading.accounts.rules import roles_for
from trading.audit import services as audit_services
from trading.audit.models import AuditEntry
from trading.core.context import ServiceContext
from trading.supervision.embargo import visible_now

from . import bp
from .fields import BeijingDateTime, Text
from .framework import PageQuery, ctx, operation, page_schema, paged

# 三员分立 and 管办分离: only supervisors read the trail (accounts.rules.CAN is the one table)
AUDIT_READERS = roles_for("audit.read")


class AuditQuery(PageQuery):
    action = Text(64, metadata={"description": "操作代码，例如 project.submit / action code"})
    object_type = Text(32, metadata={"description": "对象类型，例如 project / object type"})
    object_id = Text(64, metadata={"description": "对象编号 / object id"})
    project_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "项目编号 / project id"})
    seq_from = fields.Integer(validate=validate.Range(min=0), metadata={"description": "起始序号（含）"})
    seq_to = fields.Integer(validate=validate.Range(min=0), metadata={"description": "截止序号（含）"})


class AuditEntrySchema(Schema):
    seq = fields.Integer(required=True)
    at = BeijingDateTime(attribute="created_at", required=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True)
    project_id = fields.Integer(allow_none=True)
    actor_user_id = fields.Integer(allow_none=True)
    actor_org_id = fields.Integer(allow_none=True)
    entry_hash = fields.Function(lambda e: bytes(e.entry_hash).hex(), metadata={"type": "string"},
                                 required=True)
    entry = fields.Function(lambda e: json.loads(bytes(e.body).decode("utf-8")), metadata={"type": "object"},
                            required=True)


class VerifySchema(Schema):
    ok = fields.Boolean(required=True)
    count = fields.Integer(required=True)
    bad_seq = fields.Integer(allow_none=True, required=True)
    reason = fields.String(required=True)


def search_entries(context: ServiceContext, *, page: int, per_page: int, **filters) -> tuple[list, int]:
    """Entries in seq order matching the filters (read-only, supervisor or admin)."""
    context.require(*AUDIT_READERS)
    conditions = [visible_now(context.now())]
    for name in ("action", "object_type", "object_id", "project_id"):
        if filters.get(name) not in (None, ""):
            conditions.append(getattr(AuditEntry, name) == filters[name])
    if filters.get("seq_from") is not None:
        conditions.append(AuditEntry.seq >= filters["seq_from"])
    if filters.get("seq_to") is not None:
        conditions.append(AuditEntry.seq <= filters["seq_to"])
    session = context.session
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
    rows = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.seq)
                          .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), int(total or 0)


def verify_trail(context: ServiceContext):
    context.require(*AUDIT_READERS)
    return audit_services.verify(context.session)


@operation(bp, "GET", "/audit/entries", summary="检索审计日志 / search the audit trail", tag="audit",
           query=AuditQuery, response=page_schema(AuditEntrySchema), errors=(403,), roles=AUDIT_READERS)
def audit_entries(query):
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = search_entries(ctx(), page=page, per_page=per_page, **query)
    return paged(AuditEntrySchema, rows, page=page, per_page=per_page, total=total)


@operation(bp, "GET", "/audit/verify", summary="校验审计哈希链 / verify the hash chain", tag="audit",
           response=VerifySchema, errors=(403,), roles=AUDIT_READERS)
def audit_verify():
    result = verify_trail(ctx())
    return VerifySchema().dump({"ok": result.ok, "count": result.count, "bad_seq": result.bad_seq,
                                "reason": result.reason})
