"""/api/v1 resource for 招标出让 (land / mining rights by tender): the parcel (宗地) or mining right a
tender lot grants — thin adapters over procedures.land_tender.services.

- GET /land-tender/{lot_code}/parcel   anyone, once the grant notice is published (like the parcel page);
                                       before the owner records it the figures are empty (recorded=false)
- PUT /land-tender/{lot_code}/parcel   the project's owner or agency, before the bid deadline
                                       (409 land_tender.parcel_locked after); every version is audited

The area is a decimal string of square metres ("12345.67"); a JSON float is refused (parcel.area_m2),
so no rounding hides. A lot of another procedure is 404, as on the page.

The sealed reserve price (底价), thin adapters over procedures.land_tender.reserve (the envelope is the
auction reserve's: the same body schema):
- GET  /land-tender/{lot_code}/reserve        public: undecided | none | sealed | opened | failed; the
                                              amount after the opening, to the owner side, centre, supervisors
- POST /land-tender/{lot_code}/reserve/start  owner/agency before the deadline: context + the lot's opening key
- PUT  /land-tender/{lot_code}/reserve        the sealed envelope, once
- POST /land-tender/{lot_code}/reserve/none   the lot has no reserve, once
The reserve opens at the opening with the offers (no share endpoint of its own)."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields

from trading.procedures.land_tender import reserve, rules, services

from . import bp
from .auction_reserve import OpeningKeyOut, ReserveIn, _b64
from .fields import BeijingDateTime, Fen, capitals_of
from .framework import PUBLIC, ctx, operation

CENT = Decimal("0.01")
TAG = "land-tender"
PATH = "/land-tender/<lot_code>/parcel"
AREA = {"description": "面积（平方米），字符串形式的十进制数，最多两位小数 / area in square metres as a decimal "
                       "string, ≤ 2 decimals", "example": "12345.67"}
TERM = {"description": "出让年限（年，1–70 的整数）/ grant term in whole years, 1–70", "example": 70}


class ParcelIn(Schema):
    subject_ref = fields.String(load_default="", metadata={"description": "宗地编号或矿业权名称 / parcel number or the "
                                                                          "mining right's name (required)"})
    location = fields.String(load_default="", metadata={"description": "坐落（土地必填）/ location (land: required)"})
    area_m2 = fields.Raw(load_default=None, allow_none=True, metadata=AREA)
    land_use = fields.String(load_default="", metadata={"description": "土地用途 / land use"})
    term_years = fields.Raw(load_default=None, allow_none=True, metadata=TERM)
    plot_ratio = fields.String(load_default="", metadata={"description": "容积率，按公告写法 / plot ratio as announced"})
    mineral = fields.String(load_default="", metadata={"description": "开采矿种（矿业权必填）/ mineral (mining: required)"})


class ParcelOut(Schema):
    lot_code = fields.String(required=True)
    procedure = fields.String(required=True, metadata={"enum": ["land_tender", "mining_tender"]})
    recorded = fields.Boolean(required=True, metadata={"description": "出让人是否已填写 / whether the grantor recorded it"})
    subject_ref = fields.String(required=True)
    location = fields.String(required=True)
    area_m2 = fields.String(required=True, allow_none=True, metadata=AREA)
    area_mu = fields.String(required=True, allow_none=True,
                            metadata={"description": "折合亩数（两位小数）/ the area in mu (2 decimals)"})
    land_use = fields.String(required=True)
    term_years = fields.Integer(required=True, allow_none=True)
    plot_ratio = fields.String(required=True)
    mineral = fields.String(required=True)
    updated_at = BeijingDateTime(required=True, allow_none=True)
    deadline_at = BeijingDateTime(required=True, allow_none=True,
                                  metadata={"description": "投标截止，此后不能修改 / the bid deadline, no change after"})


def _dump(trade, parcel) -> dict:
    mu = rules.mu_of(parcel.area_m2) if parcel is not None else None
    return ParcelOut().dump({
        "lot_code": trade.lot_code, "procedure": trade.procedure, "recorded": parcel is not None,
        "subject_ref": parcel.subject_ref if parcel else "", "location": parcel.location if parcel else "",
        "area_m2": str(Decimal(parcel.area_m2).quantize(CENT)) if parcel is not None and parcel.area_m2 is not None
        else None,
        "area_mu": str(mu) if mu is not None else None,
        "land_use": parcel.land_use if parcel else "", "term_years": parcel.term_years if parcel else None,
        "plot_ratio": parcel.plot_ratio if parcel else "", "mineral": parcel.mineral if parcel else "",
        "updated_at": parcel.updated_at if parcel else None, "deadline_at": trade.deadline_at})


@operation(bp, "GET", PATH, summary="招标出让宗地信息 / the parcel of a land or mining tender", tag=TAG, auth=PUBLIC,
           response=ParcelOut, errors=(404,),
           description="出让公告发布后公开（与宗地信息页相同）；出让人尚未填写时 recorded=false、各项为空。"
                       "非招标出让的标段 404。")
def land_tender_parcel(lot_code):
    trade, _project, parcel = services.parcel_of(ctx(), lot_code)
    return _dump(trade, parcel)


@operation(bp, "PUT", PATH, summary="填写宗地信息 / record the parcel", tag=TAG, body=ParcelIn, response=ParcelOut,
           errors=(403, 404, 409), roles=("owner", "agency"),
           description="本项目的出让人或代理机构在投标截止前填写或更正（整体替换，审计留痕旧值与新值）；截止后 409 "
                       "land_tender.parcel_locked。土地须填宗地编号、坐落与面积；矿业权须填名称与矿种。")
def land_tender_set_parcel(lot_code, body):
    c = ctx()
    services.set_parcel(c, lot_code, body)
    trade, _project, parcel = services.parcel_of(c, lot_code)
    return _dump(trade, parcel)


# --- the sealed reserve price (底价) ------------------------------------------------------------------
RESERVE = "/land-tender/<lot_code>/reserve"


class LandReserveStartOut(Schema):
    lot_id = fields.String(required=True, metadata={"description": "信封 context 的 lot_id（标段交易编号）"})
    bidder_id = fields.String(required=True, metadata={"description": "信封 context 的 bidder_id（本单位统一社会信用代码）"})
    part = fields.String(required=True, metadata={"description": "reserve"})
    submission_id = fields.String(required=True)
    opening_key = fields.Nested(OpeningKeyOut, required=True,
                                metadata={"description": "本标段的开标公钥（投标文件同样密封于此）"})
    deadline_at = BeijingDateTime(required=True, metadata={"description": "底价须在投标截止前密封录入 / seal before"})
    max_payload_len = fields.Integer(required=True)
    plaintext = fields.String(required=True, metadata={"description": '明文格式 {"v":1,"reserve_fen":N}'})


class LandReserveOut(Schema):
    lot_code = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "enum": ["undecided", "none", "sealed", "opened", "failed"],
        "description": "undecided 尚未确定 | none 不设底价 | sealed 已密封 | opened 已随开标开启 | failed 开启失败"})
    deadline_at = BeijingDateTime(required=True, allow_none=True)
    sealed_at = BeijingDateTime(allow_none=True)
    payload_sha256 = fields.String(allow_none=True)
    opened_at = BeijingDateTime(allow_none=True)
    reserve_fen = Fen(allow_none=True, metadata={
        "description": "开标后仅向本项目出让人/代理机构、交易中心与监督人员显示；开标前任何人为 null"})
    reserve_capitals = capitals_of("reserve_fen")
    failure_kind = fields.String(allow_none=True)
    binding = fields.Boolean(required=True, metadata={
        "description": "最高价法下底价约束中标（报价低于底价的不得中标）/ the reserve binds under highest_price"})
    can_manage = fields.Boolean(required=True)


@operation(bp, "GET", RESERVE, summary="底价状态 / the reserve's state", tag=TAG, auth=PUBLIC, response=LandReserveOut,
           errors=(404,), description="是否设有密封底价（可公开）；金额仅在开标时随投标文件开启后，向本项目出让人或代理机构、"
                                      "交易中心与监督人员显示。")
def land_tender_reserve(lot_code):
    return LandReserveOut().dump(reserve.reserve_status(ctx(), lot_code))


@operation(bp, "POST", RESERVE + "/start", summary="开始密封录入底价 / start sealing the reserve", tag=TAG,
           response=LandReserveStartOut, status=201, errors=(403, 404, 409), roles=("owner", "agency"),
           description="返回密封底价所需的信封 context 与本标段的开标公钥；投标截止前、尚未确定底价设定时可用。")
def land_tender_reserve_start(lot_code):
    info = reserve.start_reserve(ctx(), lot_code)
    return LandReserveStartOut().dump({**info, "plaintext": '{"v":1,"reserve_fen":<分>}'}), 201


@operation(bp, "PUT", RESERVE, summary="提交密封底价 / submit the sealed reserve", tag=TAG, body=ReserveIn,
           response=LandReserveOut, errors=(403, 404, 409, 422), roles=("owner", "agency"),
           description="密封信封的全部检查（context、开标公钥、签名、摘要）通过后保存，只能一次；服务器不接收也不保存底价明文。")
def land_tender_reserve_put(lot_code, body):
    c = ctx()
    reserve.put_reserve(c, lot_code, submission_id=body["submission_id"], manifest_raw=body["manifest"],
                        payload=_b64(body["payload"], "payload"), signer_public=_b64(body["signer_public"], "signer_public"))
    return LandReserveOut().dump(reserve.reserve_status(c, lot_code))


@operation(bp, "POST", RESERVE + "/none", summary="声明不设底价 / record that the lot has no reserve", tag=TAG,
           response=LandReserveOut, errors=(403, 404, 409), roles=("owner", "agency"),
           description="投标截止前记录本标段不设底价（只能一次，与密封底价二选一），审计留痕。")
def land_tender_reserve_none(lot_code):
    c = ctx()
    reserve.declare_none(c, lot_code)
    return LandReserveOut().dump(reserve.reserve_status(c, lot_code))
