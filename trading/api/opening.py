"""/api/v1 resources for opening (开标): a custodian's share submission, the opening record (public once
the lot is opened, 404 before), and a bidder's confirmation or dispute of it. Thin adapters over
trading.procedures.common.opening.services.

A refused share submission is evidence: the service records the attempt (who, when, IP) and raises;
this adapter commits that record before the error answer (which otherwise rolls back)."""

from __future__ import annotations

from flask import g, session
from marshmallow import Schema, fields, validate

from trading.core.errors import Forbidden
from trading.extensions import db
from trading.procedures.common.opening import services as opening

from . import bp
from .fields import BeijingDateTime, Text
from .framework import PUBLIC, ctx, operation

CUSTODIANS = ("operator", "supervisor", "expert")
BIDDER = ("bidder",)


class ShareBodySchema(Schema):
    passphrase = fields.String(required=True, validate=validate.Length(min=1, max=256), metadata={
        "description": "保管口令（仅用于在服务器上解封本人的密钥份额，不保存、不记录） / the custodian passphrase"})


class ShareOutcomeSchema(Schema):
    lot_code = fields.String(required=True)
    x = fields.Integer(required=True, metadata={"description": "本人份额序号 / the share's index"})
    accepted = fields.Integer(required=True, metadata={"description": "已接受的份额数 / shares accepted so far"})
    k = fields.Integer(required=True)
    n = fields.Integer(required=True)
    opened = fields.Boolean(required=True, metadata={"description": "本次提交是否完成开标 / this share opened the lot"})
    lot_status = fields.String(required=True)


class RecordPartSchema(Schema):
    part = fields.String(required=True, metadata={"enum": ["price", "documents"]})
    submission_id = fields.String(required=True)
    payload_sha256 = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"enum": ["opened", "failed"]})
    files = fields.List(fields.String(), allow_none=True)
    failure = fields.Dict(allow_none=True, metadata={
        "description": "{kind, category: bidder_cert|bidder_network|platform|third_party_ca, "
                       "consequence: revocation(撤销)|withdrawal(撤回)}"})


class RecordBidderSchema(Schema):
    no = fields.Integer(required=True)
    name = fields.String(required=True)
    credit_code = fields.String(required=True)
    valid = fields.Boolean(required=True)
    price_fen = fields.Integer(allow_none=True)
    price_yuan = fields.String(allow_none=True)
    price_capitals = fields.String(allow_none=True, metadata={"description": "大写金额"})
    duration_days = fields.Integer(allow_none=True)
    quality = fields.String(allow_none=True)
    remarks = fields.String(allow_none=True)
    parts = fields.List(fields.Nested(RecordPartSchema), required=True)


class NextStepSchema(Schema):
    code = fields.String(required=True)
    zh = fields.String(required=True)
    en = fields.String(required=True)
    basis = fields.String(required=True)


class ResponseSchema(Schema):
    id = fields.Integer(required=True)
    bidder_no = fields.Integer(allow_none=True)
    response = fields.String(required=True, metadata={"enum": ["confirm", "dispute"]})
    reason = fields.String(required=True)
    at = BeijingDateTime(required=True)
    reply = fields.String(allow_none=True)
    replied_at = BeijingDateTime(allow_none=True)


class OpeningRecordSchema(Schema):
    id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    lot_name = fields.String(required=True)
    project_code = fields.String(allow_none=True)
    project_name = fields.String(required=True)
    procedure = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"enum": ["opened", "failed"]})
    valid_offers = fields.Integer(required=True)
    min_valid_offers = fields.Integer(required=True)
    opened_at = BeijingDateTime(required=True)
    respond_until = BeijingDateTime(required=True)
    sha256 = fields.String(required=True, metadata={"description": "SHA-256 of the canonical JSON of `body`"})
    opening_key = fields.Dict(required=True, metadata={"description": "{kid (hex), k, n, shares}"})
    bidders = fields.List(fields.Nested(RecordBidderSchema), required=True)
    next_steps = fields.List(fields.Nested(NextStepSchema), required=True)
    responses = fields.List(fields.Nested(ResponseSchema), required=True)
    body = fields.Dict(required=True, metadata={"description": "开标记录原文（其 SHA-256 即 sha256） / the record as hashed"})


class RespondBodySchema(Schema):
    response = fields.String(required=True, validate=validate.OneOf(["confirm", "dispute"]),
                             metadata={"enum": ["confirm", "dispute"]})
    reason = Text(2000, load_default="", metadata={"description": "异议理由（提出异议时必填） / required for a dispute"})


def record_json(context, rec) -> dict:
    body = rec.body
    numbers = {}
    from trading.accounts.models import Organisation
    responses = opening.record_responses(context, rec.id)
    for r in responses:
        org = context.session.get(Organisation, r.bidder_org_id)
        numbers[r.id] = next((b["no"] for b in body["bidders"] if b["credit_code"] == org.credit_code), None)
    return OpeningRecordSchema().dump({
        "id": rec.id, "lot_code": body["lot_code"], "lot_name": body["lot_name"], "project_code": body["project_code"],
        "project_name": body["project_name"], "procedure": body["procedure"], "outcome": rec.outcome,
        "valid_offers": rec.valid_offers, "min_valid_offers": body["min_valid_offers"], "opened_at": rec.created_at,
        "respond_until": rec.respond_until, "sha256": rec.sha256, "opening_key": body["opening_key"],
        "bidders": body["bidders"], "next_steps": body["next_steps"],
        "responses": [{"id": r.id, "bidder_no": numbers[r.id], "response": r.response, "reason": r.reason,
                       "at": r.at, "reply": r.reply, "replied_at": r.replied_at} for r in responses],
        "body": body})


def _require_two_factor_session() -> None:
    if g.get("token_auth"):
        return  # a token is created from a signed-in (two-factor) session
    if not session.get("2fa_ok"):
        raise Forbidden("opening.two_factor_session", "提交密钥份额须以双因素认证登录",
                        "Sign in with two-factor authentication to submit a share")


@operation(bp, "POST", "/lots/<lot_code>/shares", summary="保管人提交密钥份额 / a custodian submits its share",
           tag="opening", body=ShareBodySchema, response=ShareOutcomeSchema, errors=(403, 404, 409, 429), roles=CUSTODIANS,
           description="投标截止（服务器时间）之后，保管人以保管口令解封本人的份额；份额与公布的承诺值核对，"
                       "错误的份额被拒绝并记录（保管人、时间、IP）。第 k 份有效份额到达时自动开标。"
                       " / After the deadline; a wrong share is refused, attributed and recorded; the k-th opens the lot.")
def submit_share(lot_code, body):
    _require_two_factor_session()
    try:
        outcome = opening.submit_share(ctx(), lot_code, body["passphrase"])
    except opening.ShareRefused:
        db.session.commit()  # keep the record of the refused attempt
        raise
    return ShareOutcomeSchema().dump(outcome)


@operation(bp, "GET", "/lots/<lot_code>/opening-record", summary="开标记录 / the opening record", tag="opening",
           auth=PUBLIC, response=OpeningRecordSchema, errors=(404,),
           description="开标后公开（招标投标法第三十六条；20号令第三十二条）；开标前 404。 / Public once opened; 404 before.")
def get_opening_record(lot_code):
    context = ctx()
    return record_json(context, opening.get_record(context, lot_code))


@operation(bp, "POST", "/lots/<lot_code>/opening-record/responses",
           summary="投标人确认或对开标记录提出异议 / a bidder confirms or disputes the record", tag="opening",
           body=RespondBodySchema, response=ResponseSchema, status=201, errors=(403, 404, 409), roles=BIDDER,
           description="在确认时限内（规则参数 opening.record_confirm_minutes）；异议须写明理由，由主持人当场答复。")
def respond_to_record(lot_code, body):
    context = ctx()
    row = opening.respond_to_record(context, lot_code, body["response"], body["reason"])
    rec = opening.get_record(context, lot_code)
    from trading.accounts.models import Organisation
    org = context.session.get(Organisation, row.bidder_org_id)
    no = next((b["no"] for b in rec.body["bidders"] if b["credit_code"] == org.credit_code), None)
    return ResponseSchema().dump({"id": row.id, "bidder_no": no, "response": row.response, "reason": row.reason,
                                  "at": row.at, "reply": row.reply, "replied_at": row.replied_at})
