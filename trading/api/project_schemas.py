"""marshmallow schemas of projects and lots: the registration body (create and PATCH), the review
bodies, and the staff view of a project with its lots, route decision and review trail.

Only the owner side, the centre and supervisors can see a project, so there is one audience view;
bidders meet projects only through published notices."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trading.core.i18n import current_locale
from trading.projects import rules as project_rules
from trading.projects.enums import Category, EntryStatus, FundingSource, OwnerType, Procedure, ReviewAction

from .fields import BeijingDateTime, Fen, Text, capitals_of
from .organisations import OrgRefSchema


def _enum(kind) -> list[str]:
    return [str(k) for k in kind]


def _label(kind: str, attr: str):
    return fields.Function(lambda obj: project_rules.label(kind, getattr(obj, attr), current_locale()),
                           metadata={"type": "string", "description": "显示名称 / label"})


# --- input -------------------------------------------------------------------------------------------

class LotInSchema(Schema):
    name = Text(100, required=True, metadata={"description": "标段（包）名称"})
    budget_fen = Fen(required=True, metadata={"description": "预算/最高限价，单位：分 / budget in fen"})


def _registration_fields(*, partial: bool) -> dict:
    """The registration fields; for PATCH every field is optional and has no default, so a field
    left out keeps its value."""
    req = {} if partial else {"required": True}

    def opt(default):
        return {} if partial else {"load_default": default}

    return {
        "name": Text(100, **req, metadata={"description": "项目名称"}),
        "approval_number": Text(60, **req, metadata={"description": "审批/核准/备案文号"}),
        "approval_department": Text(60, **opt(""), metadata={"description": "审批部门"}),
        "funding_source": fields.String(**req, metadata={"enum": _enum(FundingSource), "description": "资金来源"}),
        "fiscal_share_bp": fields.Integer(strict=True, **req, validate=validate.Range(min=0, max=10000),
                                          metadata={"description": "财政资金占比，万分之一（0–10000） / basis points"}),
        "category": fields.String(**req, metadata={"enum": _enum(Category), "description": "项目类别"}),
        "owner_type": fields.String(**req, metadata={"enum": _enum(OwnerType), "description": "业主类型"}),
        "total_investment_fen": Fen(**req, metadata={"description": "项目总投资，单位：分"}),
        "region_id": fields.Integer(strict=True, **req, metadata={"description": "所在区域（乡镇）编号"}),
        "procedure": fields.String(**req, metadata={"enum": _enum(Procedure), "description": "交易方式"}),
        "lots": fields.List(fields.Nested(LotInSchema), **req, validate=validate.Length(min=1, max=20),
                            metadata={"description": "标段（包），1–20 个；PATCH 时给出则整体替换"}),
        "combined_total_fen": Fen(allow_none=True, **opt(None),
                                  metadata={"description": "同一项目可合并计算的合同估算总额，单位：分"}),
        "description": Text(2000, **opt(""), metadata={"description": "项目概况"}),
        "contact_name": Text(40, **opt(""), metadata={"description": "联系人"}),
        "contact_phone": Text(20, **opt(""), metadata={"description": "联系电话"}),
    }


ProjectCreateSchema = Schema.from_dict({
    **_registration_fields(partial=False),
    "owner_org_id": fields.Integer(strict=True, allow_none=True, load_default=None, metadata={
        "description": "代理机构登记时填写委托的业主单位；业主登记时省略 / the owner an agency acts for"}),
}, name="ProjectCreate")

ProjectUpdateSchema = Schema.from_dict({
    **_registration_fields(partial=True),
    "expected_version": fields.Integer(strict=True, required=True, metadata={
        "description": "读取时的 version；项目已被他人修改时返回 409 / the version you read"}),
}, name="ProjectUpdate")


class SubmitSchema(Schema):
    expected_version = fields.Integer(strict=True, allow_none=True, load_default=None,
                                      metadata={"description": "读取时的 version（建议提供）"})
    comment = Text(1000, load_default="", metadata={"description": "提交说明（可选）"})


class CommentRequiredSchema(Schema):
    comment = Text(1000, required=True, metadata={"description": "审核意见（不少于 5 个字），说明需要补正或不予受理的理由"})


class CommentOptionalSchema(Schema):
    comment = Text(1000, load_default="", metadata={"description": "审核意见（可选）"})


class ProjectQuery(Schema):
    status = fields.String(validate=validate.OneOf(_enum(EntryStatus)),
                           metadata={"description": "按状态筛选 / filter by status"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# --- output ------------------------------------------------------------------------------------------

class LotSchema(Schema):
    id = fields.Integer(required=True)
    project_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    code = fields.String(allow_none=True, metadata={"description": "标段编号，首次提交时生成"})
    name = fields.String(required=True)
    budget_fen = fields.Integer(required=True)
    budget_capitals = capitals_of("budget_fen")


class ReasonSchema(Schema):
    code = fields.String(required=True)
    text = fields.Function(lambda r: r.get("en") if current_locale() == "en" else r.get("zh"),
                           metadata={"type": "string"}, required=True)
    zh = fields.String(required=True)
    en = fields.String(required=True)
    rule = fields.String(required=True, metadata={"description": "依据的法规条款 / the rule it rests on"})


class RouteSchema(Schema):
    """The routing decision as stored with the project (must it enter, which procedures, why)."""
    must_enter = fields.Boolean(required=True)
    required_method = fields.String(allow_none=True)
    allowed = fields.List(fields.String(), required=True)
    reasons = fields.List(fields.Nested(ReasonSchema), required=True)
    warnings = fields.List(fields.Nested(ReasonSchema), load_default=list)
    conditions = fields.Dict(keys=fields.String(), values=fields.Nested(ReasonSchema))
    state_funded = fields.Boolean()
    gp_buyer = fields.Boolean()
    value_fen = fields.Integer(metadata={"description": "比较门槛所用金额，单位：分"})
    value_capitals = capitals_of("value_fen")


class ReviewSchema(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True, metadata={"enum": _enum(ReviewAction)})
    action_label = _label("review", "action")
    comment = fields.String(required=True)
    actor_user_id = fields.Integer(required=True)
    actor_name = fields.Function(lambda r: r.actor.display_name if r.actor else "", metadata={"type": "string"})
    at = BeijingDateTime(required=True)


class ProjectSummarySchema(Schema):
    id = fields.Integer(required=True)
    trade_code = fields.String(allow_none=True, metadata={"description": "统一交易标识码，首次提交时生成"})
    name = fields.String(required=True)
    category = fields.String(required=True, metadata={"enum": _enum(Category)})
    procedure = fields.String(required=True, metadata={"enum": _enum(Procedure)})
    procedure_label = _label("procedure", "procedure")
    status = fields.String(required=True, metadata={"enum": _enum(EntryStatus)})
    status_label = _label("status", "status")
    budget_fen = fields.Integer(required=True)
    budget_capitals = capitals_of("budget_fen")
    owner_org = fields.Nested(OrgRefSchema, required=True)
    agency_org = fields.Nested(OrgRefSchema, allow_none=True)
    region_id = fields.Integer(required=True)
    created_at = BeijingDateTime(required=True)
    submitted_at = BeijingDateTime(allow_none=True)
    accepted_at = BeijingDateTime(allow_none=True)
    review_due_at = BeijingDateTime(allow_none=True, metadata={"description": "进场审核时限"})
    version = fields.Integer(required=True, metadata={"description": "修改时作为 expected_version 提交"})


class ProjectSchema(ProjectSummarySchema):
    approval_number = fields.String(required=True)
    approval_department = fields.String(required=True)
    funding_source = fields.String(required=True, metadata={"enum": _enum(FundingSource)})
    fiscal_share_bp = fields.Integer(required=True)
    owner_type = fields.String(required=True, metadata={"enum": _enum(OwnerType)})
    total_investment_fen = fields.Integer(required=True)
    total_investment_capitals = capitals_of("total_investment_fen")
    combined_total_fen = fields.Integer(allow_none=True)
    combined_total_capitals = capitals_of("combined_total_fen")
    description = fields.String(required=True)
    contact_name = fields.String(required=True)
    contact_phone = fields.String(required=True)
    created_by = fields.Integer(required=True)
    lots = fields.List(fields.Nested(LotSchema), required=True)
    route = fields.Nested(RouteSchema, required=True)
    reviews = fields.List(fields.Nested(ReviewSchema), required=True, metadata={"description": "进场审核记录"})
