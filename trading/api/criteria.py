"""/api/v1 resource for a lot's evaluation criteria (评分细则): thin adapters over
evaluation.criteria.services.

- GET /lots/{lot_code}/criteria   the current version (owner/agency of the project)
- PUT /lots/{lot_code}/criteria   a new version, before the deadline only (409 criteria.locked after)

Points are decimal strings ("37.5"); a JSON float is refused (criteria.points), so no rounding hides."""

from __future__ import annotations

from marshmallow import Schema, fields

from trading.evaluation.criteria import services

from . import bp
from .fields import BeijingDateTime, capitals_of
from .framework import ctx, operation

POINTS = {"description": "分值，字符串形式的十进制数，最多两位小数 / points as a decimal string, ≤ 2 decimals"}


class ItemSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    group = fields.String(required=True, metadata={"enum": ["technical", "commercial"]})
    max = fields.Raw(required=True, metadata=POINTS)


class RejectionSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class CriteriaUpdateSchema(Schema):
    method = fields.String(required=True, metadata={"enum": ["comprehensive", "lowest_price", "highest_price"]})
    price_weight = fields.Raw(load_default=None, metadata=POINTS)
    items = fields.List(fields.Nested(ItemSchema), load_default=list)
    rejections = fields.List(fields.Nested(RejectionSchema), required=True)
    max_price_fen = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   metadata={"description": "最高限价（分），可为空 / price ceiling in fen"})
    tie_break = fields.String(load_default="technical", metadata={"enum": ["technical", "draw"]})
    min_price_fen = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   metadata={"description": "起始价（分），最高价法低于者否决，可为空 / starting price in fen "
                                                            "(highest_price: a lower offer is rejected)"})


class CriteriaSchema(CriteriaUpdateSchema):
    max_price_capitals = capitals_of("max_price_fen")
    min_price_capitals = capitals_of("min_price_fen")
    lot_code = fields.String(required=True)
    version = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    created_at = BeijingDateTime(required=True)
    editable = fields.Boolean(required=True, metadata={"description": "截止前可修改 / open until the deadline"})


def _dump(lot_code: str, row, editable: bool) -> dict:
    return CriteriaSchema().dump({**row.body, "lot_code": lot_code, "version": row.version, "sha256": row.sha256,
                                  "created_at": row.created_at, "editable": editable})


@operation(bp, "GET", "/lots/<lot_code>/criteria", summary="标段评分细则 / a lot's evaluation criteria",
           tag="evaluation", response=CriteriaSchema, errors=(403, 404), roles=("owner", "agency", "supervisor"),
           description="当前版本；未设定时 404 criteria.missing。监督人员可读任一标段的评分细则（只读）。")
def get_criteria(lot_code):
    trade, row, editable = services.view_criteria(ctx(), lot_code)
    if row is None:
        services.criteria_of(ctx().session, trade.lot_id)  # raises criteria.missing
    return _dump(lot_code, row, editable)


@operation(bp, "PUT", "/lots/<lot_code>/criteria", summary="设定评分细则 / set the evaluation criteria",
           tag="evaluation", body=CriteriaUpdateSchema, response=CriteriaSchema, errors=(403, 404, 409),
           roles=("owner", "agency"),
           description="截止前保存为新版本（内容未变时返回原版本）；截止后 409 criteria.locked。综合评估法："
                       "价格分与各评分项满分之和须为 100；价格分须在按项目类别设定的范围内。")
def put_criteria(lot_code, body):
    row = services.set_criteria(ctx(), lot_code, body)
    return _dump(lot_code, row, True)
