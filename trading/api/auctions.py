"""/api/v1 resources for 拍卖 / 挂牌 / 网络竞价: thin adapters over procedures.auction.

- GET  /auctions/{lot_code}          the room's state (current price and 大写, increment, phase, deadline,
                                     server time, my status, masked history; ?amount_fen= classifies a jump)
- POST /auctions/{lot_code}/bids     a bid {answers_price, amount_fen, client_bid_id}
- POST /auctions/{lot_code}/pause    a supervisor pauses the trade {reason}
- POST /auctions/{lot_code}/resume   a supervisor resumes it {reason}
- PUT  /auctions/{lot_code}/listing  the owner side (or the centre) configures the listing terms
- POST /auctions/{lot_code}/applications          a buyer applies (竞买申请): its deposit sub-account
- POST /auction-applications/{application_id}/decision   the operator qualifies or refuses (reason)
- POST /auctions/{lot_code}/start    the operator starts the bidding at the announced time
- POST /auctions/{lot_code}/opt-in   挂牌: a qualified buyer joins the timed phase (参加限时竞价), during the
                                     listing or in the opt-in window after its close
- POST /auctions/{lot_code}/increment  the host adjusts the increment while bidding runs {increment_fen, reason}

A refused bid is an attempt the platform keeps (auction_bid, with its reason): the view commits it and
then answers 409 (the price moved, the time is up, paused) or 422 (the amount breaks the increment
rule) or 403 (not qualified), with the error, the message and the stored attempt. A malformed body is
not an attempt: 422, nothing written."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from trading.core.i18n import current_locale
from trading.core.money import MAX_FEN
from trading.extensions import db
from trading.procedures.auction import queries, services
from trading.procedures.auction.models import Auction
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.lots import get_trade

from . import bp
from .fields import BeijingDateTime, Fen, Text, capitals_of
from .framework import ctx, operation

TAG = "auctions"
PREFIX = "/auctions/<lot_code>"

#: refusal code → HTTP status of the answer (the attempt is stored either way)
REFUSAL_STATUS = {"auction.not_qualified": 403, "auction.below_minimum": 422, "auction.not_multiple": 422,
                  "auction.bad_amount": 422}


class AuctionQuickSchema(Schema):
    multiple = fields.Integer(required=True)
    amount_fen = Fen(required=True)
    amount_capitals = capitals_of("amount_fen")


class AuctionHistorySchema(Schema):
    seq = fields.Integer(required=True)
    bidder = fields.String(required=True, metadata={"description": "竞买号（遮蔽，如 ****12） / masked bidder number"})
    amount_fen = Fen(required=True)
    amount_capitals = capitals_of("amount_fen")
    at = BeijingDateTime(required=True, metadata={"description": "服务器收到时间 / server time of arrival"})
    mine = fields.Boolean(required=True)


class AuctionMeSchema(Schema):
    status = fields.String(required=True, metadata={
        "description": "none 非竞买人 | applied 待审查 | refused 未通过 | no_bid 未报价 | leading 领先 | outbid 已被超越"})
    bidder_no = fields.String(allow_none=True, metadata={"description": "本单位竞买号（仅本人可见）"})
    wants_timed = fields.Boolean(required=True)
    can_opt_in = fields.Boolean(required=True, metadata={"description": "现在可报名参加限时竞价 / may opt in now"})


class AuctionJumpSchema(Schema):
    amount_fen = Fen(required=True)
    amount_capitals = capitals_of("amount_fen")
    steps = fields.Integer(required=True, metadata={"description": "加价幅度倍数 / increments"})
    bp = fields.Integer(allow_none=True, metadata={"description": "相对当前价（万分比） / share of the price, bp"})
    large = fields.Boolean(required=True, metadata={"description": "大额加价，须提示确认 / warn before confirming"})


class AuctionSubjectSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "parcel 宗地 | asset 资产/产权"})
    ref = fields.String(required=True, metadata={"description": "宗地编号 / 资产编号"})
    location = fields.String(required=True)
    area_m2 = fields.String(allow_none=True, metadata={"description": "面积（平方米，两位小数） / area in ㎡"})
    area_mu = fields.String(allow_none=True, metadata={"description": "面积（亩，由平方米换算） / area in mu, derived"})
    land_use = fields.String(required=True)
    term_years = fields.Integer(allow_none=True, metadata={"description": "出让年限 / term (years)"})
    plot_ratio = fields.String(required=True, metadata={"description": "容积率 / plot ratio"})
    description = fields.String(required=True)
    appraisal_fen = Fen(allow_none=True, metadata={"description": "评估值（分） / appraisal"})
    appraisal_capitals = capitals_of("appraisal_fen")


class AuctionStateSchema(Schema):
    class Meta:
        ordered = True

    lot_code = fields.String(required=True)
    procedure = fields.String(required=True)
    method = fields.String(required=True, metadata={"description": "auction 拍卖 | listing 挂牌 | online 网络竞价"})
    method_label = fields.String(required=True)
    phase = fields.String(required=True, metadata={"description": "scheduled | free | opt_in（挂牌截止后报名参加限时竞价）| timed | ended"})
    phase_label = fields.String(required=True)
    paused = fields.Boolean(required=True)
    pause_reason = fields.String(required=True)
    bidding_open = fields.Boolean(required=True)
    starting_fen = Fen(required=True)
    starting_capitals = capitals_of("starting_fen")
    increment_fen = Fen(required=True)
    increment_capitals = capitals_of("increment_fen")
    price_fen = Fen(allow_none=True, metadata={"description": "当前最高价（无人报价为 null） / current highest bid"})
    price_capitals = capitals_of("price_fen")
    answers_price = fields.Integer(required=True, metadata={"description": "报价须应答的价格 / the price a bid answers"})
    next_minimum_fen = Fen(required=True)
    next_minimum_capitals = capitals_of("next_minimum_fen")
    quick = fields.List(fields.Nested(AuctionQuickSchema), required=True)
    start_at = BeijingDateTime(required=True)
    free_until_at = BeijingDateTime(required=True)
    deadline_at = BeijingDateTime(allow_none=True)
    deadline_ms = fields.Integer(allow_none=True, metadata={"description": "截止（毫秒时间戳） / deadline, epoch ms"})
    server_now_at = BeijingDateTime(required=True)
    server_now_ms = fields.Integer(required=True, metadata={"description": "服务器时间（毫秒时间戳） / server time, epoch ms"})
    paused_left_ms = fields.Integer(allow_none=True)
    countdown_s = fields.Integer(required=True)
    bids = fields.Integer(required=True)
    version = fields.Integer(required=True)
    outcome = fields.String(allow_none=True, metadata={"description": "sold 成交 | no_sale 流拍"})
    outcome_label = fields.String(allow_none=True)
    winner = fields.String(allow_none=True)
    timed_start_fen = Fen(allow_none=True, metadata={"description": "限时竞价起始价 / the timed phase's start price"})
    timed_start_capitals = capitals_of("timed_start_fen")
    floor_statement = fields.String(allow_none=True, metadata={
        "description": "是否设有底价的说明（《拍卖法》第五十条）；尚可录入时为 null / whether a reserve exists"})
    large_jump_steps = fields.Integer(required=True)
    large_jump_bp = fields.Integer(required=True)
    me = fields.Nested(AuctionMeSchema, required=True)
    history = fields.List(fields.Nested(AuctionHistorySchema), required=True)
    jump = fields.Nested(AuctionJumpSchema, allow_none=True)
    subject = fields.Nested(AuctionSubjectSchema, required=True)


class JumpQueryIn(Schema):
    amount_fen = fields.Integer(validate=validate.Range(min=1, max=MAX_FEN), metadata={
        "description": "待确认的报价金额（分）：返回 jump（大额加价提示） / classify this amount (fen)"})


class BidIn(Schema):
    answers_price = Fen(required=True, validate=validate.Range(min=1),
                        metadata={"description": "本次报价应答的当前价（分） / the current price this bid answers"})
    amount_fen = Fen(required=True, validate=validate.Range(min=1))
    client_bid_id = Text(max_length=64, required=True, validate=[validate.Length(min=1)],
                         metadata={"description": "客户端生成的报价编号，重试时不变 / the client's id, the same on a retry"})
    answers_increment = Fen(load_default=None, allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "报价所依据的加价幅度（分）；与现行幅度不同的报价被拒绝（409 auction.increment_changed）"})


class BidOutSchema(Schema):
    class Meta:
        ordered = True

    accepted = fields.Boolean(required=True)
    replay = fields.Boolean(required=True, metadata={"description": "重试：返回首次结果 / a retry: the first answer"})
    seq = fields.Integer(allow_none=True)
    answers_fen = Fen(required=True)
    answers_capitals = capitals_of("answers_fen")
    amount_fen = Fen(required=True)
    amount_capitals = capitals_of("amount_fen")
    received_at = BeijingDateTime(required=True)
    reason = fields.String(allow_none=True)
    price_fen = Fen(allow_none=True)
    price_capitals = capitals_of("price_fen")
    deadline_at = BeijingDateTime(allow_none=True)
    deadline_ms = fields.Integer(allow_none=True)
    phase = fields.String(required=True)
    version = fields.Integer(required=True)


class ReasonIn(Schema):
    reason = Text(max_length=500, required=True, metadata={"description": "理由（审计留痕） / reason (audited)"})


class PauseOutSchema(Schema):
    lot_code = fields.String(required=True)
    phase = fields.String(required=True)
    paused = fields.Boolean(required=True)
    paused_left_ms = fields.Integer(allow_none=True)
    deadline_at = BeijingDateTime(allow_none=True)
    version = fields.Integer(required=True)


_BID_OUT = BidOutSchema()  # made once: the bid answer is the busiest dump of the room


def _bid_out(r: services.BidResult) -> dict:
    return _BID_OUT.dump({
        "accepted": r.accepted, "replay": r.replay, "seq": r.seq, "answers_fen": r.answers_fen,
        "amount_fen": r.amount_fen, "received_at": r.received_at, "reason": r.reason, "price_fen": r.price_fen,
        "deadline_at": r.deadline, "deadline_ms": queries._ms(r.deadline), "phase": r.phase, "version": r.version})


@operation(bp, "GET", PREFIX, summary="竞价大厅状态 / the bidding room's state", tag=TAG, query=JumpQueryIn,
           response=AuctionStateSchema, errors=(404,),
           description="当前价（含大写）、加价幅度、阶段与截止时间、服务器时间（毫秒，用于校时）、本单位状态（领先/已被超越）"
                       "与竞买号、成交记录（竞买号遮蔽）。带 amount_fen 时返回该金额的大额加价判断。底价从不返回。")
def auction_state(lot_code, query):
    return AuctionStateSchema().dump(queries.room_state(ctx(), lot_code, amount_fen=query.get("amount_fen")))


@operation(bp, "POST", PREFIX + "/bids", summary="报价 / place a bid", tag=TAG, body=BidIn, response=BidOutSchema,
           status=201, errors=(403, 404, 409), roles=("bidder",),
           description="报价须写明所应答的当前价（answers_price）；当前价已变化的报价被拒绝（409 auction.stale），不会静默超越。"
                       "金额 = 当前价 + 加价幅度的整数倍（首次报价可等于起始价）。同一 client_bid_id 重试返回首次结果"
                       "（200，replay=true），不会重复报价。被拒绝的报价同样留存（含原因）：409/422/403，正文含 bid。")
def auction_bid(lot_code, body):
    c = ctx()
    r = services.place_bid(c, lot_code, answers_price=body["answers_price"], amount_fen=body["amount_fen"],
                           client_bid_id=body["client_bid_id"], answers_increment=body["answers_increment"])
    if r.accepted:
        return _bid_out(r), (200 if r.replay else 201)
    # the refused attempt is part of the bid log: keep it, then answer with the refusal
    db.session.commit()
    message = r.message_en if current_locale() == "en" else r.message_zh
    body_out = {"error": r.reason, "message": message, "bid": _bid_out(r)}
    if r.details:
        body_out["details"] = r.details
    return body_out, REFUSAL_STATUS.get(r.reason, 409)


def _pause_out(a) -> dict:
    return PauseOutSchema().dump({"lot_code": a.lot_code, "phase": a.phase, "paused": a.paused_left_ms is not None,
                                  "paused_left_ms": a.paused_left_ms, "deadline_at": a.deadline, "version": a.version})


@operation(bp, "POST", PREFIX + "/pause", summary="暂停交易 / pause the trade", tag=TAG, body=ReasonIn,
           response=PauseOutSchema, errors=(403, 404, 409), roles=("supervisor",),
           description="监督人员暂停交易，须说明理由（审计留痕）；倒计时冻结，剩余时间保存，暂停期间不接受报价。")
def auction_pause(lot_code, body):
    return _pause_out(services.pause(ctx(), lot_code, body["reason"]))


@operation(bp, "POST", PREFIX + "/resume", summary="恢复交易 / resume the trade", tag=TAG, body=ReasonIn,
           response=PauseOutSchema, errors=(403, 404, 409), roles=("supervisor",),
           description="恢复后按暂停时的剩余时间继续计时。")
def auction_resume(lot_code, body):
    return _pause_out(services.resume(ctx(), lot_code, body["reason"]))


# --- listing, applications, qualification, start -----------------------------------------------------

class ListingIn(Schema):
    starting_fen = Fen(required=True, validate=validate.Range(min=1), metadata={"description": "起始价（分）"})
    increment_fen = Fen(required=True, validate=validate.Range(min=1), metadata={"description": "加价幅度（分）"})
    deposit_fen = Fen(load_default=0, metadata={"description": "竞买保证金（分）；土地不低于起始价的 20%"})
    countdown_s = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1),
                                 metadata={"description": "限时竞价倒计时（秒），默认按设置 / countdown seconds"})
    start_at = BeijingDateTime(load_default=None, allow_none=True, metadata={"description": "竞价开始（默认按公告）"})
    free_until = BeijingDateTime(load_default=None, allow_none=True,
                                 metadata={"description": "挂牌（自由报价）截止（默认按公告）"})
    subject_ref = Text(max_length=60, load_default="")
    location = Text(max_length=200, load_default="")
    area_m2 = fields.Decimal(load_default=None, allow_none=True, as_string=True, places=2,
                             metadata={"description": "面积（平方米） / area in ㎡"})
    land_use = Text(max_length=60, load_default="")
    term_years = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=100))
    plot_ratio = Text(max_length=40, load_default="")
    description = Text(max_length=4000, load_default="")
    appraisal_fen = Fen(load_default=None, allow_none=True, metadata={"description": "评估值（分） / appraisal"})


class ListingOutSchema(Schema):
    class Meta:
        ordered = True

    lot_code = fields.String(required=True)
    method = fields.String(required=True)
    phase = fields.String(required=True)
    starting_fen = Fen(required=True)
    starting_capitals = capitals_of("starting_fen")
    increment_fen = Fen(required=True)
    increment_capitals = capitals_of("increment_fen")
    countdown_s = fields.Integer(required=True)
    start_at = BeijingDateTime(required=True)
    free_until = BeijingDateTime(required=True)
    reserve_sealed = fields.Boolean(required=True, metadata={"description": "底价已密封录入（金额从不返回）"})
    version = fields.Integer(required=True)


class ApplicationOutSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "applied 待审查 | qualified 已确认 | refused 不予确认"})
    created = fields.Boolean(required=True, metadata={"description": "本次新建（false：已有申请）"})
    bidder_no = fields.String(allow_none=True, metadata={"description": "竞买号（仅本单位可见，确认后才有）"})
    decision_note = fields.String(required=True)
    virtual_account = fields.String(allow_none=True, metadata={"description": "保证金专用子账号"})
    deposit_fen = Fen(required=True)
    deposit_capitals = capitals_of("deposit_fen")


class DecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["qualify", "refuse"]),
                             metadata={"description": "qualify 确认资格 | refuse 不予确认（须说明理由）"})
    note = Text(max_length=500, load_default="")


def _listing_out(a) -> dict:
    return ListingOutSchema().dump({"lot_code": a.lot_code, "method": a.method, "phase": a.phase,
                                    "starting_fen": a.starting_fen, "increment_fen": a.increment_fen,
                                    "countdown_s": a.countdown_s, "start_at": a.start_at, "free_until": a.free_until,
                                    "reserve_sealed": a.reserve_set_at is not None, "version": a.version})


def _application_out(c, app_row, created: bool, show_no: bool) -> dict:
    a = c.session.get(Auction, app_row.lot_id)
    account = c.session.execute(select(DepositAccount).where(
        DepositAccount.participation_id == app_row.participation_id)).scalar_one_or_none()
    return ApplicationOutSchema().dump({
        "id": app_row.id, "lot_code": a.lot_code, "status": app_row.status, "created": created,
        "bidder_no": app_row.bidder_no if show_no else None, "decision_note": app_row.decision_note,
        "virtual_account": account.virtual_account if account is not None and show_no else None,
        "deposit_fen": get_trade(c, a.lot_code).deposit_fen})


@operation(bp, "PUT", PREFIX + "/listing", summary="设置竞价条件 / configure the listing", tag=TAG, body=ListingIn,
           response=ListingOutSchema, errors=(403, 404, 409, 422), roles=("owner", "agency", "operator"),
           description="项目业主/代理机构（或交易中心）设置标的情况、起始价、加价幅度、保证金、时间安排与限时竞价倒计时；"
                       "竞价开始前可修改，每次修改审计留痕。底价另行密封录入，从不以明文接收或返回。")
def auction_listing(lot_code, body):
    a = services.configure_listing(ctx(), lot_code, **body)
    return _listing_out(a)


@operation(bp, "POST", PREFIX + "/applications", summary="竞买申请 / apply to bid", tag=TAG,
           response=ApplicationOutSchema, status=201, errors=(403, 404, 422), roles=("bidder",),
           description="竞买人提交竞买申请，系统生成保证金专用子账号；重复提交返回已有申请（200）。")
def auction_apply(lot_code):
    c = ctx()
    row, created = services.apply(c, lot_code)
    return _application_out(c, row, created, True), (201 if created else 200)


@operation(bp, "POST", "/auction-applications/<int:application_id>/decision", summary="资格审查 / qualify or refuse",
           tag=TAG, body=DecisionIn, response=ApplicationOutSchema, errors=(403, 404, 409, 422), roles=("operator",),
           description="交易中心确认竞买资格（保证金须按时足额到账，确认后生成竞买号）或不予确认（须说明理由）。"
                       "竞买号不在此返回：只有竞买人本单位可见。")
def auction_decide(application_id, body):
    c = ctx()
    row = services.qualify(c, application_id, approve=body["decision"] == "qualify", note=body["note"])
    return _application_out(c, row, False, False)


@operation(bp, "POST", PREFIX + "/start", summary="开始竞价 / start the bidding", tag=TAG,
           response=ListingOutSchema, errors=(403, 404, 409), roles=("operator",),
           description="交易中心在公告的开始时间开始竞价；拍卖竞买人不足或无合格竞买人时直接流拍。")
def auction_start(lot_code):
    return _listing_out(services.start_bidding(ctx(), lot_code))


class OptInOutSchema(Schema):
    lot_code = fields.String(required=True)
    phase = fields.String(required=True)
    wants_timed = fields.Boolean(required=True)
    deadline_at = BeijingDateTime(allow_none=True, metadata={"description": "本阶段截止 / end of the running phase"})


@operation(bp, "POST", PREFIX + "/opt-in", summary="参加限时竞价 / opt in to the timed phase", tag=TAG,
           response=OptInOutSchema, errors=(403, 404, 409), roles=("bidder",),
           description="挂牌：合格竞买人在挂牌期内，或挂牌截止后的报名时间内（按设置，默认 5 分钟，汕头规则）报名参加限时竞价；"
                       "报名时间内仅限挂牌期内有有效报价者（按设置）。报名截止时两家以上报名的，转入限时竞价，否则按挂牌结果。"
                       "重复报名不改变任何记录。")
def auction_opt_in(lot_code):
    c = ctx()
    row = services.opt_in(c, lot_code)
    a = services.get_auction(c, lot_code)
    return OptInOutSchema().dump({"lot_code": a.lot_code, "phase": a.phase, "wants_timed": row.wants_timed,
                                  "deadline_at": a.deadline})


class IncrementIn(Schema):
    increment_fen = Fen(required=True, validate=validate.Range(min=1), metadata={"description": "新加价幅度（分）"})
    reason = Text(max_length=500, required=True, metadata={"description": "理由（审计留痕） / reason (audited)"})


class IncrementOutSchema(Schema):
    lot_code = fields.String(required=True)
    phase = fields.String(required=True)
    increment_fen = Fen(required=True)
    increment_capitals = capitals_of("increment_fen")
    version = fields.Integer(required=True)


@operation(bp, "POST", PREFIX + "/increment", summary="调整加价幅度 / adjust the increment", tag=TAG, body=IncrementIn,
           response=IncrementOutSchema, errors=(403, 404, 409, 422), roles=("operator",),
           description="主持人（交易中心）在竞价进行中调整加价幅度，须说明理由（审计留痕），并实时通知竞价大厅（auction:increment）。"
                       "注明原加价幅度、尚在途中的报价被拒绝（409 auction.increment_changed）。")
def auction_increment(lot_code, body):
    a = services.adjust_increment(ctx(), lot_code, body["increment_fen"], body["reason"])
    return IncrementOutSchema().dump({"lot_code": a.lot_code, "phase": a.phase, "increment_fen": a.increment_fen,
                                      "version": a.version})
