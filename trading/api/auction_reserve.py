"""/api/v1 resources for an auction lot's sealed reserve price (底价): thin adapters over
procedures.auction.reserve.

- POST /auctions/{lot_code}/reserve/start   the owner (or agency) starts: the envelope context (lot code,
                                             its organisation's credit code, part "reserve", a submission
                                             id) and the lot's opening public key; the sealing happens
                                             in the browser (static/js/sealing/envelope.js) or with the
                                             offline tool (`seal --part reserve --price-yuan …`)
- PUT  /auctions/{lot_code}/reserve         the sealed envelope {submission_id, manifest, payload (base64),
                                             signer_public (base64 raw P-256 point)}, once, before the close
- GET  /auctions/{lot_code}/reserve         public: whether a sealed reserve exists, its digest; the amount
                                             only once opened
- POST /auctions/{lot_code}/reserve/shares  a custodian's share after bidding ended; the k-th opens it"""

from __future__ import annotations

import base64
import binascii

from flask import g, session
from marshmallow import Schema, fields, validate

from trading.core.errors import Forbidden, InvalidInput
from trading.extensions import db
from trading.procedures.auction import reserve

from . import bp
from .fields import BeijingDateTime, Fen, capitals_of
from .framework import PUBLIC, ctx, operation
from .opening import CUSTODIANS, ShareBodySchema, ShareOutcomeSchema

TAG = "auctions"
PREFIX = "/auctions/<lot_code>/reserve"


class OpeningKeyOut(Schema):
    public = fields.String(required=True, metadata={"description": "开标公钥（base64 原始点） / raw point, base64"})
    kid = fields.String(required=True)


class ReserveStartOut(Schema):
    lot_id = fields.String(required=True, metadata={"description": "信封 context 的 lot_id（标的交易编号）"})
    bidder_id = fields.String(required=True, metadata={"description": "信封 context 的 bidder_id（本单位统一社会信用代码）"})
    part = fields.String(required=True, metadata={"description": "reserve"})
    submission_id = fields.String(required=True)
    opening_key = fields.Nested(OpeningKeyOut, required=True)
    free_until = BeijingDateTime(required=True, metadata={"description": "底价须在此之前密封录入 / enter before"})
    max_payload_len = fields.Integer(required=True)
    plaintext = fields.String(required=True, metadata={"description": '明文格式 {"v":1,"reserve_fen":N}'})


class ReserveIn(Schema):
    submission_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    manifest = fields.Dict(required=True, metadata={"description": "ptbid/v1 manifest (JSON)"})
    payload = fields.String(required=True, validate=validate.Length(max=8192), metadata={"description": "base64"})
    signer_public = fields.String(required=True, validate=validate.Length(max=200),
                                  metadata={"description": "签名公钥（base64 原始点，65 字节） / raw P-256 point"})


class ReserveOut(Schema):
    lot_code = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "none 无底价 | sealed 已密封 | opened 已开启 | failed 开启失败"})
    sealed_at = BeijingDateTime(allow_none=True)
    payload_sha256 = fields.String(allow_none=True)
    reserve_fen = Fen(allow_none=True, metadata={"description": "开启后的底价（开启前为 null） / null until opened"})
    reserve_capitals = capitals_of("reserve_fen")
    failure_kind = fields.String(allow_none=True)


def _b64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidInput("auction.reserve_base64", "须为 base64 编码", "Must be base64", field=field) from None


@operation(bp, "POST", PREFIX + "/start", summary="开始密封录入底价 / start sealing the reserve", tag=TAG,
           response=ReserveStartOut, status=201, errors=(403, 404, 409), roles=("owner", "agency"),
           description="返回密封底价所需的信封 context 与本标的开标公钥（如尚无开标密钥，则此时举行密钥仪式）。"
                       "底价只能录入一次，且须在自由报价（挂牌）期截止前。")
def reserve_start(lot_code):
    info = reserve.start_reserve(ctx(), lot_code)
    return ReserveStartOut().dump({**info, "plaintext": '{"v":1,"reserve_fen":<分>}'}), 201


@operation(bp, "PUT", PREFIX, summary="提交密封底价 / submit the sealed reserve", tag=TAG, body=ReserveIn,
           response=ReserveOut, errors=(403, 404, 409, 422), roles=("owner", "agency"),
           description="密封信封的全部检查（context、开标公钥、签名、摘要）通过后保存；服务器不接收也不保存底价明文。")
def reserve_put(lot_code, body):
    c = ctx()
    reserve.put_reserve(c, lot_code, submission_id=body["submission_id"], manifest_raw=body["manifest"],
                        payload=_b64(body["payload"], "payload"), signer_public=_b64(body["signer_public"], "signer_public"))
    return ReserveOut().dump(reserve.reserve_status(c, lot_code))


@operation(bp, "GET", PREFIX, summary="底价状态 / the reserve's state", tag=TAG, auth=PUBLIC, response=ReserveOut,
           errors=(404,), description="是否设有密封底价（拍卖法第五十条）；底价金额仅在竞价结束、保管人开启后公开。")
def reserve_get(lot_code):
    return ReserveOut().dump(reserve.reserve_status(ctx(), lot_code))


@operation(bp, "POST", PREFIX + "/shares", summary="保管人提交密钥份额开启底价 / a custodian opens the reserve",
           tag=TAG, body=ShareBodySchema, response=ShareOutcomeSchema, errors=(403, 404, 409, 422, 429),
           roles=CUSTODIANS, description="竞价结束后，保管人以保管口令解封本人的份额；第 k 份有效份额到达时开启底价并确定竞价结果。")
def reserve_share(lot_code, body):
    if not g.get("token_auth") and not session.get("2fa_ok"):
        raise Forbidden("opening.two_factor_session", "提交密钥份额须以双因素认证登录",
                        "Sign in with two-factor authentication to submit a share")
    try:
        out = reserve.submit_reserve_share(ctx(), lot_code, body["passphrase"])
    except reserve.ShareRefused:
        db.session.commit()  # keep the record of the refused attempt
        raise
    return ShareOutcomeSchema().dump(out)
