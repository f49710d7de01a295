"""Audit trail (操作日志): search entries and verify the hash chain. Supervisors and administrators only;
reading the trail changes nothing, so these endpoints record nothing."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from trading.accounts.rules import roles_for
from trading.audit import checkpoints
from trading.audit import keys as audit_keys
from trading.audit import services as audit_services
from trading.audit.models import AuditEntry
from trading.core.context import ServiceContext
from trading.core.errors import not_found
from trading.supervision.embargo import visible_now

from . import bp
from .fields import BeijingDateTime, Text
from .framework import PUBLIC, PageQuery, ctx, operation, page_schema, paged

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


# --- stage 2: checkpoints, proofs, witnesses (design/audit.md) ------------------------------------
# Checkpoints, consistency proofs and the public keys are public: a checkpoint is a size and a root,
# a proof only hashes; anyone may hold the platform to them. Cosigning is for a witness's own log-in.

class LogKeySchema(Schema):
    origin = fields.String(required=True)
    vkey = fields.String(required=True, metadata={"description": "签名笔记验证密钥 name+keyid+base64"})
    witnesses = fields.List(fields.Dict(), required=True,
                            metadata={"description": "[{name, public, org_id, last_cosigned_size}]"})


class CheckpointSchema(Schema):
    size = fields.Integer(required=True)
    root = fields.String(required=True, metadata={"description": "base64 RFC 9162 根哈希"})
    note = fields.String(required=True, metadata={"description": "C2SP 检查点签名笔记（含副署行）"})
    created_at = fields.DateTime(required=True, metadata={"description": "RFC 3339 UTC"})
    reason = fields.String(required=True)
    milestone_action = fields.String(allow_none=True)
    milestone_seq = fields.Integer(allow_none=True)
    detail = fields.Dict(allow_none=True)
    witnessed = fields.Boolean(required=True)


class ConsistencyQuery(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=0))
    second = fields.Integer(required=True, validate=validate.Range(min=0))


class ProofSchema(Schema):
    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    proof = fields.List(fields.String(), required=True)


class CosignatureBody(Schema):
    line = fields.String(required=True, validate=validate.Length(min=10, max=400),
                         metadata={"description": "C2SP tlog-cosignature/v1 签名行“— <name> <base64>”"})


class CosignedSchema(Schema):
    size = fields.Integer(required=True)
    witness = fields.String(required=True)
    timestamp = fields.Integer(required=True)


@operation(bp, "GET", "/audit/log-key", summary="审计日志公钥与见证人 / log key and witnesses", tag="audit",
           auth=PUBLIC, response=LogKeySchema)
def audit_log_key():
    from trading.audit.models import AuditWitness
    session = ctx().session
    witnesses = [{"name": w.name, "public": checkpoints.b64(bytes(w.public_raw)), "org_id": w.org_id,
                  "last_cosigned_size": checkpoints.last_cosigned_size(session, w.id)}
                 for w in session.execute(select(AuditWitness).where(AuditWitness.active.is_(True))
                                          .order_by(AuditWitness.id)).scalars()]
    return {"origin": audit_keys.origin(), "vkey": audit_keys.log_verifier_key(), "witnesses": witnesses}


@operation(bp, "GET", "/audit/checkpoints/latest", summary="最新检查点 / latest checkpoint", tag="audit",
           auth=PUBLIC, response=CheckpointSchema, errors=(404,))
def audit_checkpoint_latest():
    session = ctx().session
    cp = checkpoints.latest_checkpoint(session)
    if cp is None:
        raise not_found("检查点", "checkpoint")
    return checkpoints.checkpoint_json(session, cp)


@operation(bp, "GET", "/audit/checkpoints/<int:size>", summary="指定规模的检查点 / checkpoint of a size",
           tag="audit", auth=PUBLIC, response=CheckpointSchema, errors=(404,))
def audit_checkpoint(size):
    session = ctx().session
    cp = checkpoints.checkpoint_at(session, size)
    if cp is None:
        raise not_found("检查点", "checkpoint")
    return checkpoints.checkpoint_json(session, cp)


@operation(bp, "GET", "/audit/consistency", summary="一致性证明 / consistency proof (RFC 9162)", tag="audit",
           auth=PUBLIC, query=ConsistencyQuery, response=ProofSchema, errors=(404,))
def audit_consistency(query):
    proof = checkpoints.consistency(ctx().session, query["first"], query["second"])
    return {"first": query["first"], "second": query["second"], "proof": [checkpoints.b64(p) for p in proof]}


@operation(bp, "POST", "/audit/checkpoints/<int:size>/cosignatures", summary="见证人副署 / witness cosignature",
           tag="audit", body=CosignatureBody, response=CosignedSchema, status=201, errors=(403, 404),
           roles=("supervisor",),
           description="行政监督部门以登记的 Ed25519 密钥对检查点副署（先自行验证一致性证明）。")
def audit_cosign(size, body):
    c = ctx()
    c.require("supervisor")
    cosig = checkpoints.submit_cosignature(c, size, body["line"])
    from trading.audit.models import AuditWitness
    witness = c.session.get(AuditWitness, cosig.witness_id)
    return {"size": size, "witness": witness.name, "timestamp": cosig.timestamp}, 201
