"""Organisations (单位): the directory (public fields for everyone but administrators, who also see the
contact details) and creation by an administrator."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from trading.accounts import services as accounts
from trading.accounts.rules import OrgKind, Role

from . import bp
from .fields import BeijingDateTime, Text
from .framework import PageQuery, ctx, operation, page_schema

KINDS = [k.value for k in OrgKind]


class OrgRefSchema(Schema):
    """An organisation as other records name it."""
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": KINDS})


class OrgPublicSchema(OrgRefSchema):
    """Directory fields anyone signed in may see (the credit code is public by law)."""
    credit_code = fields.String(required=True, metadata={"description": "统一社会信用代码"})
    region_id = fields.Integer(allow_none=True)


class OrgAdminSchema(OrgPublicSchema):
    """What an administrator sees: the contact details too."""
    contact_name = fields.String(required=True)
    contact_phone = fields.String(required=True)
    address = fields.String(required=True)
    created_at = BeijingDateTime(required=True)


class OrgQuery(PageQuery):
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": "单位类型 / kind"})


class OrgCreateSchema(Schema):
    name = Text(100, required=True, metadata={"description": "单位名称"})
    credit_code = Text(40, required=True, metadata={"description": "统一社会信用代码（18 位，GB 32100）",
                                                   "example": "91350100M000100Y43"})
    kind = fields.String(required=True, metadata={"enum": KINDS, "description": "单位类型"})
    region_id = fields.Integer(strict=True, allow_none=True, load_default=None)
    contact_name = Text(40, load_default="")
    contact_phone = Text(20, load_default="")
    address = Text(200, load_default="")


def org_schema() -> Schema:
    """Audience view: administrators get the contact details, everyone else the directory fields."""
    return OrgAdminSchema() if current_user.role == Role.ADMIN else OrgPublicSchema()


@operation(bp, "GET", "/organisations", summary="单位名录 / organisations", tag="organisations",
           query=OrgQuery, response=[page_schema(OrgPublicSchema), page_schema(OrgAdminSchema)],
           description="交易中心、监督、管理员可见全部单位；其他用户只见本单位。")
def list_organisations(query):
    rows = accounts.list_organisations(ctx(), kind=query.get("kind"))
    page, per_page = query["page"], query["per_page"]
    chunk = rows[(page - 1) * per_page: page * per_page]
    return {"items": org_schema().dump(chunk, many=True), "page": page, "per_page": per_page, "total": len(rows)}


@operation(bp, "GET", "/organisations/<int:org_id>", summary="单位详情 / an organisation", tag="organisations",
           response=[OrgPublicSchema, OrgAdminSchema])
def get_organisation(org_id):
    return org_schema().dump(accounts.get_visible_organisation(ctx(), org_id))


@operation(bp, "POST", "/organisations", summary="登记单位 / create an organisation", tag="organisations",
           body=OrgCreateSchema, response=OrgAdminSchema, status=201, errors=(403, 409), roles=("admin",))
def create_organisation(body):
    return OrgAdminSchema().dump(accounts.create_organisation(ctx(), **body))


