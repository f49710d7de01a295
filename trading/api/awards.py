"""/api/v1 resource for a lot's award steps (定标/结果): thin adapters over
procedures.common.awards (services, objections, result, queries) — the same calls as the pages under
/awards/.

- GET  /lots/{code}/awards                    the state, for its audience: the project's owner/agency,
                                              the centre and supervisors see the candidates, the
                                              objections, the award, its letters and the contract; a
                                              participating bidder sees the published candidates, its
                                              own objections and its own letter; anyone else 404
- POST /lots/{code}/awards/publicity          publish the candidate publicity (比选/tender)
- POST /lots/{code}/awards/confirmation       the buyer confirms the 成交 supplier (GP)
- POST /lots/{code}/awards/passes             record why a candidate cannot be awarded (it waived, …)
- POST /lots/{code}/awards/award              award (result notice, letters)
- POST /lots/{code}/awards/contract           record the signed contract (a second record corrects)
- POST /lots/{code}/awards/default            the awarded supplier refused / did not sign / gave up / cannot perform
- POST /lots/{code}/awards/next               award the next-ranked candidate (the first award kept, superseded)
- POST /lots/{code}/awards/reprocure          end this attempt for re-procurement (the lot fails)
- POST /lots/{code}/objections                a participating bidder's 异议 (质疑 for GP), in its window
- POST /objections/{id}/reply                 the owner/agency replies

Refusals are DomainErrors: {"error", "message"} with a 4xx, and nothing written."""

from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, fields, validate

from trading.core.errors import InvalidInput
from trading.procedures.common.awards import objections, queries, reaward, result, rules, services

from . import bp
from .fields import BeijingDateTime, Fen, Text, capitals_of
from .framework import ctx, operation

PROJECT = ("owner", "agency")
TAG = "awards"


# --- schemas ---------------------------------------------------------------------------------------

class CandidateSchema(Schema):
    rank = fields.Integer(required=True)
    bidder_org_id = fields.Integer(required=True)
    name = fields.String(required=True)
    price_fen = fields.Integer(required=True)
    price_capitals = capitals_of("price_fen")
    score = fields.String(allow_none=True, metadata={"description": "综合得分（十进制字符串） / score"})
    passed_reason = fields.String(allow_none=True, metadata={"enum": [r.value for r in rules.PassReason]})
    passed_note = fields.String()


class WindowSchema(Schema):
    kind = fields.String(allow_none=True, metadata={"enum": ["objection", "challenge"]})
    opens_at = BeijingDateTime(allow_none=True)
    closes_at = BeijingDateTime(allow_none=True)
    open = fields.Boolean(required=True)


class ObjectionSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["objection", "challenge"]})
    bidder_org_id = fields.Integer(required=True)
    name = fields.String(required=True)
    filed_at = BeijingDateTime(required=True)
    text = fields.String(required=True)
    reply_due_at = BeijingDateTime(required=True)
    status = fields.String(required=True, metadata={"enum": ["open", "answered"]})
    reply = fields.String(required=True)
    answered_at = BeijingDateTime(allow_none=True)
    late = fields.Boolean(required=True)


class LetterSchema(Schema):
    id = fields.Integer(required=True)
    bidder_org_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["winner", "other"]})
    number = fields.String(required=True)
    issued_at = BeijingDateTime(required=True)
    pdf_url = fields.String(required=True)


class AwardSchema(Schema):
    id = fields.Integer(required=True)
    bidder_org_id = fields.Integer(required=True)
    name = fields.String(required=True)
    rank = fields.Integer(required=True)
    price_fen = fields.Integer(required=True)
    price_capitals = capitals_of("price_fen")
    determined_at = BeijingDateTime(required=True)
    result_notice_id = fields.Integer(allow_none=True)
    challenge_until = BeijingDateTime(allow_none=True)
    contract_due_at = BeijingDateTime(required=True)


class ContractSchema(Schema):
    id = fields.Integer(required=True)
    signed_on = fields.Date(required=True)
    amount_fen = fields.Integer(required=True)
    amount_capitals = capitals_of("amount_fen")
    late = fields.Boolean(required=True)
    note = fields.String(required=True)
    recorded_at = BeijingDateTime(required=True)


class DefaultSchema(Schema):
    id = fields.Integer(required=True)
    award_id = fields.Integer(required=True)
    bidder_org_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in rules.DefaultKind]})
    reason = fields.String(required=True)
    evidence_note = fields.String(required=True)
    evidence_sha256 = fields.String(allow_none=True)
    evidence_url = fields.String(allow_none=True)
    deposit = fields.String(required=True, metadata={"enum": ["forfeit", "refund"]})
    recorded_at = BeijingDateTime(required=True)
    outcome = fields.String(allow_none=True, metadata={"enum": ["reawarded", "ended"]})
    next_award_id = fields.Integer(allow_none=True)
    decided_at = BeijingDateTime(allow_none=True)
    decision_note = fields.String()


class ConfirmationSchema(Schema):
    bidder_org_id = fields.Integer(required=True)
    deemed = fields.Boolean(required=True, metadata={"description": "采购人逾期未确定，视为确定报价最低者 / silence"})


class ListSchema(Schema):
    id = fields.Integer(required=True)
    regime = fields.String(required=True, metadata={"enum": ["tender_law", "gp"]})
    status = fields.String(required=True, metadata={"enum": [s.value for s in rules.ListStatus]})
    proposed_at = BeijingDateTime(required=True)
    publish_due_at = BeijingDateTime(allow_none=True)
    publicity_from = BeijingDateTime(allow_none=True)
    publicity_until = BeijingDateTime(allow_none=True)
    confirm_due_at = BeijingDateTime(allow_none=True)
    notice_id = fields.Integer(allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema), required=True)


class LotAwardsSchema(Schema):
    """The project side's (and the centre's, supervisors') view."""
    audience = fields.Constant("project", required=True)
    lot_code = fields.String(required=True)
    lot_status = fields.String(required=True)
    candidates = fields.Nested(ListSchema, allow_none=True)
    confirmation = fields.Nested(ConfirmationSchema, allow_none=True)
    window = fields.Nested(WindowSchema, required=True)
    objections = fields.List(fields.Nested(ObjectionSchema), required=True)
    award = fields.Nested(AwardSchema, allow_none=True)
    letters = fields.List(fields.Nested(LetterSchema), required=True)
    contract = fields.Nested(ContractSchema, allow_none=True)
    award_status = fields.String(allow_none=True, metadata={"enum": ["active", "defaulted", "superseded"]})
    defaults = fields.List(fields.Nested(DefaultSchema), required=True)
    history = fields.List(fields.Nested(AwardSchema), required=True,
                          metadata={"description": "此前被替代的定标（保留备查） / earlier, superseded awards"})
    next_candidate = fields.Integer(allow_none=True, metadata={"description": "待决定时可依次确定的候选人 / next in line"})


class BidderAwardsSchema(Schema):
    """A participating bidder's view: only what is public, its own objections and its own letter."""
    audience = fields.Constant("bidder", required=True)
    lot_code = fields.String(required=True)
    lot_status = fields.String(required=True)
    candidates = fields.Nested(ListSchema, allow_none=True, metadata={"description": "公示或定标后才有 / once public"})
    window = fields.Nested(WindowSchema, required=True)
    objections = fields.List(fields.Nested(ObjectionSchema), required=True)
    letter = fields.Nested(LetterSchema, allow_none=True)


class BidderIn(Schema):
    bidder_org_id = fields.Integer(required=True, strict=True)


class PassIn(BidderIn):
    reason = fields.String(required=True, validate=validate.OneOf([r.value for r in rules.PassReason]))
    note = Text(required=True, max_length=500, metadata={"description": "事实和依据（4–500 字）"})


class AwardIn(BidderIn):
    team_names = fields.List(Text(max_length=40), load_default=list,
                             metadata={"description": "政府采购：谈判（询价）小组成员名单；已抽取的小组以抽取结果为准"})


class ContractIn(Schema):
    signed_on = fields.Date(required=True, metadata={"example": "2026-12-03"})
    amount_fen = Fen(required=True)
    note = Text(load_default="", max_length=500)


class TextIn(Schema):
    text = fields.String(required=True, metadata={"description": "具体事项和理由（10–5000 字）"})


class DefaultIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in rules.DefaultKind]))
    reason = fields.String(required=True, metadata={"description": "事实和理由（4–2000 字）"})
    evidence_note = fields.String(required=True, metadata={"description": "证据说明（4–500 字）"})
    evidence_base64 = fields.String(load_default=None, allow_none=True,
                                    metadata={"description": "证据文件（PDF、PNG 或 JPEG，不超过 10 MB）的 Base64"})
    evidence_name = Text(load_default="", max_length=200)


class NextIn(Schema):
    team_names = fields.List(Text(max_length=40), load_default=list,
                             metadata={"description": "政府采购：小组成员名单；不填沿用原结果公告"})


class ReprocureIn(Schema):
    reason = fields.String(required=True, metadata={"description": "重新采购（招标）的理由（4–500 字）"})


class ReplyIn(Schema):
    reply = fields.String(required=True, metadata={"description": "答复（10–5000 字）"})


# --- dumping ---------------------------------------------------------------------------------------

def _names(c, cl, extra=()) -> dict[int, str]:
    return services.org_names(c, [x.bidder_org_id for x in cl.candidates] + list(extra)) if cl else {}


def _list(cl, names) -> dict | None:
    if cl is None:
        return None
    return {"id": cl.id, "regime": cl.regime, "status": cl.status, "proposed_at": cl.proposed_at,
            "publish_due_at": cl.publish_due_at, "publicity_from": cl.publicity_from,
            "publicity_until": cl.publicity_until, "confirm_due_at": cl.confirm_due_at, "notice_id": cl.notice_id,
            "candidates": [{"rank": x.rank, "bidder_org_id": x.bidder_org_id, "name": names.get(x.bidder_org_id, ""),
                            "price_fen": x.price_fen, "score": str(x.score) if x.score is not None else None,
                            "passed_reason": x.passed_reason, "passed_note": x.passed_note} for x in cl.candidates]}


def _objection(o, names) -> dict:
    return {"id": o.id, "kind": o.kind, "bidder_org_id": o.bidder_org_id, "name": names.get(o.bidder_org_id, ""),
            "filed_at": o.filed_at, "text": o.text, "reply_due_at": o.reply_due_at, "status": o.status,
            "reply": o.reply, "answered_at": o.answered_at, "late": o.late}


def _letter(x) -> dict:
    return {"id": x.id, "bidder_org_id": x.bidder_org_id, "kind": x.kind, "number": x.number,
            "issued_at": x.issued_at, "pdf_url": f"/awards/letters/{x.id}.pdf"}


def _award(a, names) -> dict | None:
    if a is None:
        return None
    return {"id": a.id, "bidder_org_id": a.bidder_org_id, "name": names.get(a.bidder_org_id, ""), "rank": a.rank,
            "price_fen": a.price_fen, "determined_at": a.determined_at, "result_notice_id": a.result_notice_id,
            "challenge_until": a.challenge_until, "contract_due_at": a.contract_due_at}


def _contract(r) -> dict | None:
    if r is None:
        return None
    from trading.core.clock import to_beijing

    return {"id": r.id, "signed_on": to_beijing(r.signed_at).date(), "amount_fen": r.amount_fen, "late": r.late,
            "note": r.note, "recorded_at": r.recorded_at}


def _default(d) -> dict:
    return {"id": d.id, "award_id": d.award_id, "bidder_org_id": d.bidder_org_id, "kind": d.kind, "reason": d.reason,
            "evidence_note": d.evidence_note, "evidence_sha256": d.evidence_sha256,
            "evidence_url": f"/awards/defaults/{d.id}/evidence" if d.evidence_sha256 else None, "deposit": d.deposit,
            "recorded_at": d.recorded_at, "outcome": d.outcome, "next_award_id": d.next_award_id,
            "decided_at": d.decided_at, "decision_note": d.decision_note}


def _window(kind, win, is_open) -> dict:
    return {"kind": kind, "opens_at": win[0], "closes_at": win[1], "open": is_open}


def lot_state(c, lot_code: str) -> dict:
    """The audience-appropriate state of a lot's award (the GET, and every step's answer)."""
    if c.actor.has("bidder"):
        v = queries.bidder_view(c, lot_code)
        names = _names(c, v.candidates, [o.bidder_org_id for o in v.mine])
        return BidderAwardsSchema().dump({
            "lot_code": v.trade.lot_code, "lot_status": v.trade.status, "candidates": _list(v.candidates, names),
            "window": _window(v.kind.value if v.kind else None, v.window, v.window_open),
            "objections": [_objection(o, names) for o in v.mine], "letter": _letter(v.letter) if v.letter else None})
    v = queries.lot_awards(c, lot_code)
    cl = v.candidates
    kind = objections.kind_for(cl).value if cl is not None else None
    letters = [_letter(x) for x in v.award.letters] if v.award is not None else []
    names = {**v.names, **_names(c, cl, [v.award.bidder_org_id] if v.award else [])}
    return LotAwardsSchema().dump({
        "award_status": v.award.status if v.award is not None else None,
        "defaults": [_default(d) for d in v.defaults], "history": [_award(a, names) for a in v.history],
        "next_candidate": v.next_candidate.bidder_org_id if v.next_candidate else None,
        "lot_code": v.trade.lot_code, "lot_status": v.trade.status, "candidates": _list(cl, names),
        "confirmation": ({"bidder_org_id": v.confirmation.bidder_org_id, "deemed": v.confirmation.deemed}
                         if v.confirmation else None),
        "window": _window(kind, v.window, v.window_open),
        "objections": [_objection(o, names) for o in v.objections], "award": _award(v.award, names),
        "letters": letters, "contract": _contract(v.contract)})


STATE = [LotAwardsSchema, BidderAwardsSchema]


# --- operations --------------------------------------------------------------------------------------

@operation(bp, "GET", "/lots/<lot_code>/awards", summary="标段定标情况 / a lot's award state", tag=TAG,
           response=STATE, errors=(404,), roles=("owner", "agency", "operator", "supervisor", "bidder"),
           description="本项目招标人（采购人）、代理机构、交易中心和监督人员看到候选人、异议（质疑）、定标、通知书和合同；"
                       "参加本标段的投标人只看到已公示的候选人、本单位的异议和通知书；其他人 404。")
def award_state(lot_code):
    return lot_state(ctx(), lot_code)


@operation(bp, "POST", "/lots/<lot_code>/awards/publicity", summary="发布候选人公示 / publish the candidates",
           tag=TAG, response=LotAwardsSchema, status=201, errors=(404, 409), roles=PROJECT,
           description="比选（招标）项目：公示期不少于 3 日；政府采购项目 409 award.no_publicity；重复发布 409。")
def award_publicity(lot_code):
    c = ctx()
    services.publish_candidates(c, lot_code)
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/lots/<lot_code>/awards/confirmation", summary="采购人确定成交供应商 / the buyer confirms",
           tag=TAG, body=BidderIn, response=LotAwardsSchema, errors=(404, 409), roles=PROJECT,
           description="政府采购：确认期限内确定报价最低（排名第一）的候选人；排名在前者放弃或不能成交并记录理由后方可顺延。")
def award_confirmation(lot_code, body):
    c = ctx()
    services.confirm_supplier(c, lot_code, body["bidder_org_id"])
    return lot_state(c, lot_code)


@operation(bp, "POST", "/lots/<lot_code>/awards/passes", summary="记录候选人放弃或不能中标 / pass a candidate over",
           tag=TAG, body=PassIn, response=LotAwardsSchema, status=201, errors=(404, 409), roles=PROJECT,
           description="定标前记录候选人放弃中标、不能履行、未提交履约保证金、违法或拒签合同，其后的候选人方可依次确定。")
def award_pass(lot_code, body):
    c = ctx()
    services.pass_candidate(c, lot_code, body["bidder_org_id"], body["reason"], body["note"])
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/lots/<lot_code>/awards/award", summary="定标并发出结果公告和通知书 / award", tag=TAG,
           body=AwardIn, response=LotAwardsSchema, status=201, errors=(404, 409), roles=PROJECT,
           description="公示期届满前、异议（质疑）未答复时 422；已定标 409 award.already_awarded；均不作任何改变。")
def award_award(lot_code, body):
    c = ctx()
    result.award(c, lot_code, body["bidder_org_id"], team_names=body["team_names"])
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/lots/<lot_code>/awards/contract", summary="登记合同签订 / record the contract", tag=TAG,
           body=ContractIn, response=LotAwardsSchema, status=201, errors=(404, 409), roles=PROJECT,
           description="在签约期限内（采购与比选：通知书发出后 30 日；招标出让：成交后 award.land_contract_wd 个工作日）；首次登记开始退还保证金的计时，再次登记为更正。质疑未答复时暂停（422）。")
def award_contract(lot_code, body):
    c = ctx()
    result.record_contract(c, lot_code, body["signed_on"], body["amount_fen"], body["note"])
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/lots/<lot_code>/awards/default", summary="记录中标（成交）人拒签、逾期未签或放弃 / the winner defaults",
           tag=TAG, body=DefaultIn, response=LotAwardsSchema, status=201, errors=(404, 409), roles=PROJECT,
           description="情形：refused_contract 拒绝签订合同、not_signed 未在规定期限内签订（期限届满后）、waived 放弃、"
                       "cannot_perform 因不可抗力不能履行。前三种保证金不予退还，不可抗力的予以退还。合同已签订或已记录时 409。")
def award_default(lot_code, body):
    data = None
    if body["evidence_base64"]:
        try:
            data = base64.b64decode(body["evidence_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("award.evidence_base64", "证据文件须为 Base64 编码", "The evidence must be Base64",
                               field="evidence_base64") from None
    c = ctx()
    reaward.record_default(c, lot_code, body["kind"], body["reason"], body["evidence_note"], evidence=data,
                           evidence_name=body["evidence_name"])
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/lots/<lot_code>/awards/next", summary="确定下一候选人 / award the next candidate", tag=TAG,
           body=NextIn, response=LotAwardsSchema, status=201, errors=(404, 409), roles=PROJECT,
           description="记录拒签或放弃后，按候选人排序确定下一候选人：新的结果变更公告和通知书；原定标保留并标为已替代。"
                       "未记录 409 award.no_default；无候选人 409 award.no_next_candidate。")
def award_next(lot_code, body):
    c = ctx()
    reaward.award_next(c, lot_code, team_names=body["team_names"])
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/lots/<lot_code>/awards/reprocure", summary="重新采购（招标） / re-procure", tag=TAG,
           body=ReprocureIn, response=LotAwardsSchema, errors=(404, 409), roles=PROJECT,
           description="记录拒签或放弃后终结本次采购：标段转为流标，其他保证金开始退还，可发布重新采购公告（<编号>-A<n>）。")
def award_reprocure(lot_code, body):
    c = ctx()
    reaward.end_for_reprocurement(c, lot_code, body["reason"])
    return lot_state(c, lot_code)


@operation(bp, "POST", "/lots/<lot_code>/objections", summary="提出异议（质疑） / file an objection", tag=TAG,
           body=TextIn, response=BidderAwardsSchema, status=201, errors=(403, 404), roles=("bidder",),
           description="参加本标段的投标人在异议期内（比选：候选人公示期；政府采购：结果公告期满后 7 个工作日）提出；"
                       "期外 422 award.objection_window_closed / award.objection_not_open。")
def award_objection(lot_code, body):
    c = ctx()
    objections.file_objection(c, lot_code, body["text"])
    return lot_state(c, lot_code), 201


@operation(bp, "POST", "/objections/<int:objection_id>/reply", summary="答复异议（质疑） / reply to an objection",
           tag=TAG, body=ReplyIn, response=LotAwardsSchema, errors=(404, 409), roles=PROJECT,
           description="逾期答复记为逾期；已答复 409 award.objection_answered。")
def award_reply(objection_id, body):
    c = ctx()
    obj = objections.answer_objection(c, objection_id, body["reply"])
    from trading.procedures.common.models import LotTrade

    return lot_state(c, c.session.get(LotTrade, obj.lot_id).lot_code)
