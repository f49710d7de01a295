"""竞争性谈判 round quotes for the browser sealing widget (static/js/sealing/offer.js with
data-api="/api/v1/negotiation" and the round's trade code as its lot): the same protocol as a lot's
sealed offer (sealing parameters → start → manifest → chunk → complete → signed receipt), over
procedures.negotiation (quotes, uploads). A quote is one price sheet: one chunk."""

from __future__ import annotations

from marshmallow import Schema, fields

from trading.core.errors import InvalidInput
from trading.procedures.common.participation import receipts
from trading.procedures.common.participation.rules import parse_index
from trading.procedures.negotiation import quotes, uploads

from . import bp
from .fields import BeijingDateTime, capitals_of
from .framework import PUBLIC, ctx, operation
from .offers import (
    BIDDER,
    MANIFEST_MAX_BYTES,
    ChunkSchema,
    ManifestAcceptedSchema,
    RegistrationSchema,
    SealingSchema,
    SignedReceiptSchema,
    StartedSchema,
    StartSchema,
    SubmissionStateSchema,
    _iso,
    _limited_body,
)

PREFIX = "/negotiation"


@operation(bp, "GET", PREFIX + "/lots/<round_code>/sealing", summary="谈判轮次的密封参数 / a round's sealing parameters",
           tag="negotiation", response=SealingSchema, description="轮次编号 <标段编号>-R<n> 是信封的 lot_id；本轮开标公钥公开。")
def negotiation_sealing(round_code):
    c = ctx()
    info = quotes.sealing_info(c, round_code)
    bidder_id = None
    if c.actor.has("bidder") and c.actor.org_id:
        from trading.accounts.models import Organisation

        org = c.session.get(Organisation, c.actor.org_id)
        bidder_id = org.credit_code if org else None
    return {**info, "bidder_id": bidder_id, "deadline_at": _iso(info["closes_at"]), "server_now": _iso(info["server_now"]),
            "upload_chunk_bytes": quotes.MAX_QUOTE_BYTES}


@operation(bp, "POST", PREFIX + "/lots/<round_code>/registration", summary="确认本单位仍在谈判中 / still in?",
           tag="negotiation", response=RegistrationSchema, errors=(403,), roles=BIDDER,
           description="谈判供应商由首次响应开启结果确定，不另行报名：仍在谈判中的供应商得到 200（不写入任何记录），"
                       "已退出的 403，其他人 404。供离线制作工具与投标时相同的流程使用。")
def negotiation_registration(round_code):
    c = ctx()
    rnd = quotes.get_round(c, round_code)
    _, sup = quotes._supplier(c, rnd)
    return {"lot_code": round_code, "registered_at": _iso(sup.joined_at), "status": "registered"}, 200


@operation(bp, "POST", PREFIX + "/lots/<round_code>/submissions", summary="开始递交本轮报价 / start a round quote",
           tag="negotiation", body=StartSchema, response=StartedSchema, status=201, errors=(403, 409), roles=BIDDER)
def negotiation_start(round_code, body):
    if body["part"] != "price":
        raise InvalidInput("offer.part_invalid", "谈判轮次只接受报价（price）", "A round takes the price part only", field="part")
    c = ctx()
    quote = quotes.start_quote(c, round_code)
    from trading.accounts.models import Organisation

    org = c.session.get(Organisation, quote.bidder_org_id)
    return {"submission_id": quote.submission_id,
            "context": {"lot_id": round_code, "bidder_id": org.credit_code, "part": "price",
                        "submission_id": quote.submission_id},
            "upload_chunk_bytes": quotes.MAX_QUOTE_BYTES}, 201


@operation(bp, "PUT", PREFIX + "/submissions/<sid>/manifest", summary="本轮报价清单 / a round quote's manifest",
           tag="negotiation", response=ManifestAcceptedSchema, errors=(403, 409), roles=BIDDER)
def negotiation_manifest(sid):
    quote = uploads.put_quote_manifest(ctx(), sid, _limited_body(MANIFEST_MAX_BYTES))
    return {"payload_len": quote.payload_len, "chunks_expected": 1, "upload_chunk_bytes": quotes.MAX_QUOTE_BYTES}


@operation(bp, "PUT", PREFIX + "/submissions/<sid>/chunks/<index>", summary="本轮报价数据 / a round quote's data",
           tag="negotiation", response=ChunkSchema, errors=(403, 409), roles=BIDDER)
def negotiation_chunk(sid, index):
    i = parse_index(index)
    if i is None:
        raise InvalidInput("upload.chunk_index", "数据块序号须为非负整数", "The chunk index must be a non-negative integer")
    uploads.put_quote_chunk(ctx(), sid, i, _limited_body(quotes.MAX_QUOTE_BYTES))
    return {"index": i, "chunks_received": 1, "chunks_expected": 1}


@operation(bp, "GET", PREFIX + "/submissions/<sid>", summary="本轮报价上传状态 / a round quote's state",
           tag="negotiation", response=SubmissionStateSchema, roles=BIDDER)
def negotiation_state(sid):
    c = ctx()
    return uploads.quote_state(c, uploads.own_quote(c, sid))


@operation(bp, "POST", PREFIX + "/submissions/<sid>/complete", summary="完成本轮报价并取得回执 / complete",
           tag="negotiation", response=SignedReceiptSchema, status=201, errors=(403, 409), roles=BIDDER,
           description="检查分块结构、SHA-256、签名与本轮截止时间（服务器时间）；本单位本轮之前的报价标为已替换。")
def negotiation_complete(sid):
    c = ctx()
    quote = uploads.complete_quote(c, sid)
    return uploads.quote_receipt(c, quote), 201


@operation(bp, "GET", PREFIX + "/receipt-key", summary="回执验证公钥 / receipt key", tag="negotiation", auth=PUBLIC)
def negotiation_receipt_key():
    return receipts.public_key_info()


@operation(bp, "POST", PREFIX + "/lots/<lot_code>/rounds/close", summary="结束当前谈判轮次 / close the current round",
           tag="negotiation", status=200, errors=(403, 409, 422), roles=("operator", "agency"),
           description="本轮报价截止后由谈判小组（交易中心或本项目代理机构记录）结束；同一轮重复结束为 409，不作任何改变。")
def negotiation_close_round(lot_code):
    from trading.procedures.negotiation import services

    rnd = services.close_round(ctx(), lot_code)
    return {"round": rnd.no, "round_code": rnd.code, "closed_at": _iso(rnd.closed_at)}


class ExcludedSchema(Schema):
    bidder_org_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, metadata={"description": "未满足实质性要求的事实和理由（4–500 字）"})


class ReportInSchema(Schema):
    excluded = fields.List(fields.Nested(ExcludedSchema), load_default=list,
                           metadata={"description": "谈判小组认定未满足实质性要求的供应商 / non-responsive suppliers"})
    opinion = fields.String(load_default="", metadata={"description": "评审意见 / the team's opinion"})
    dissent = fields.String(load_default="", metadata={"description": "小组成员的不同意见 / a member's dissent"})


class RankedSchema(Schema):
    bidder_org_id = fields.Integer(required=True)
    rank = fields.Integer(required=True)
    price_fen = fields.Integer(required=True)
    price_capitals = capitals_of("price_fen")


class ReportSchema(Schema):
    lot_code = fields.String(required=True)
    outcome = fields.String(required=True, metadata={"enum": ["recommended", "terminated"]})
    lot_status = fields.String(required=True)
    ranking = fields.List(fields.Nested(RankedSchema), required=True)
    excluded = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    candidate_list_id = fields.Integer(allow_none=True)
    recorded_at = BeijingDateTime(required=True)


@operation(bp, "POST", PREFIX + "/lots/<lot_code>/report", summary="提交谈判报告，推荐成交候选人 / the team's report",
           tag="negotiation", body=ReportInSchema, response=ReportSchema, status=201, errors=(403, 404, 409, 422),
           roles=("operator", "agency"),
           description="最后报价阶段结束后，由谈判小组（交易中心或本项目代理机构记录）提交：满足实质性要求的供应商按最后报价"
                       "由低到高排序并推荐成交候选人（74号令第三十五条），标段进入采购人确认；不足最少家数的，竞争性谈判终止"
                       "（第三十七条）。最后报价阶段未结束时 409 negotiation.final_not_closed；重复提交 409 "
                       "negotiation.already_reported；均不作任何改变。")
def negotiation_report(lot_code, body):
    from trading.procedures.negotiation import services

    c = ctx()
    excluded: dict = {}
    for row in body["excluded"]:
        if row["bidder_org_id"] in excluded:
            raise InvalidInput("negotiation.excluded_duplicate", "同一供应商只能列一次", "List a supplier once",
                               field="excluded")
        excluded[row["bidder_org_id"]] = row["reason"]
    report = services.report_negotiation(c, lot_code, excluded=excluded, opinion=body["opinion"],
                                         dissent=body["dissent"])
    trade = services._trade(c, lot_code)
    return ReportSchema().dump({"lot_code": lot_code, "outcome": report.outcome, "lot_status": trade.status,
                                "ranking": report.ranking, "excluded": report.excluded,
                                "candidate_list_id": report.candidate_list_id, "recorded_at": report.recorded_at}), 201
