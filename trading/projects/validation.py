"""Checking the fields of a registration (shared by register, update and the routing preview), so the
HTML form and the JSON API refuse the same things with the same codes. Pure except for the region
lookup, which takes the session."""

from __future__ import annotations

from dataclasses import dataclass

from trading.core.errors import InvalidInput
from trading.core.money import check_fen

from .enums import FISCAL_SOURCES, Category, FundingSource, OwnerType, Procedure
from .routing import RouteInput

MAX_LOTS = 20
#: fields a registration carries (owner_org_id is fixed at registration and never updated)
FIELDS = ("name", "approval_number", "approval_department", "funding_source", "fiscal_share_bp", "category",
          "owner_type", "total_investment_fen", "region_id", "procedure", "lots", "combined_total_fen",
          "description", "contact_name", "contact_phone")
ROUTE_FIELDS = ("category", "owner_type", "funding_source", "fiscal_share_bp", "total_investment_fen", "lots",
                "combined_total_fen")

_NAMES = {
    "name": ("项目名称", "Project name"), "approval_number": ("审批/核准文号", "Approval number"),
    "approval_department": ("审批部门", "Approving department"), "description": ("项目概况", "Description"),
    "contact_name": ("联系人", "Contact name"), "contact_phone": ("联系电话", "Contact phone"),
    "funding_source": ("资金来源", "Funding source"), "category": ("项目类别", "Category"),
    "owner_type": ("业主类型", "Owner type"), "procedure": ("交易方式", "Procedure"),
}


@dataclass(frozen=True)
class Cleaned:
    name: str
    approval_number: str
    approval_department: str
    funding_source: str
    fiscal_share_bp: int
    category: str
    owner_type: str
    total_investment_fen: int
    region_id: int
    procedure: str
    lots: tuple[tuple[str, int], ...]
    combined_total_fen: int | None
    description: str
    contact_name: str
    contact_phone: str

    @property
    def budget_fen(self) -> int:
        return sum(b for _, b in self.lots)

    def route_input(self) -> RouteInput:
        return RouteInput(self.category, self.owner_type, self.funding_source, self.fiscal_share_bp,
                          self.total_investment_fen, tuple(b for _, b in self.lots), self.combined_total_fen)


def text(value: object, field: str, *, lo: int, hi: int) -> str:
    zh, en = _NAMES.get(field, (field, field))
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"project.{field}_not_text", f"{zh}须为文本", f"{en} must be text", field=field)
    value = value.strip()
    if len(value) < lo:
        raise InvalidInput(f"project.{field}_required", f"请填写{zh}", f"Enter the {en.lower()}", field=field)
    if len(value) > hi:
        raise InvalidInput(f"project.{field}_too_long", f"{zh}不能超过{hi}个字（现为{len(value)}个字）",
                           f"The {en.lower()} is limited to {hi} characters (now {len(value)})", field=field)
    return value


def enum(value: object, kind: type, field: str) -> str:
    zh, en = _NAMES[field]
    try:
        return str(kind(value))
    except ValueError:
        raise InvalidInput(f"project.bad_{field}", f"{zh}取值无效，请从列表中选择", f"Choose a valid {en.lower()}",
                           field=field, details={"allowed": [str(k) for k in kind]}) from None


def fiscal_share(value: object, funding_source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10000:
        raise InvalidInput("project.bad_fiscal_share", "财政资金占比须在 0%–100% 之间（最多两位小数）",
                           "The fiscal share must be between 0 % and 100 % (two decimals at most)",
                           field="fiscal_share_bp")
    if funding_source in FISCAL_SOURCES and value == 0:
        raise InvalidInput("project.fiscal_share_missing", "资金来源为财政资金时，财政资金占比须大于0",
                           "Fiscal funding needs a fiscal share above 0 %", field="fiscal_share_bp")
    return value


def lots(value: object) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput("project.lots_required", "请至少填写一个标段（包）", "Enter at least one lot", field="lots")
    if len(value) > MAX_LOTS:
        raise InvalidInput("project.too_many_lots", f"标段（包）不能超过{MAX_LOTS}个", f"At most {MAX_LOTS} lots",
                           field="lots")
    out = []
    for i, lot in enumerate(value):
        if not isinstance(lot, dict):
            raise InvalidInput("project.bad_lot", "标段数据格式不正确", "Malformed lot", field=f"lots-{i}")
        name = lot.get("name")
        name = name.strip() if isinstance(name, str) else name
        if not name or not isinstance(name, str):
            raise InvalidInput("project.lot_name_required", f"请填写第{i + 1}个标段（包）的名称",
                               f"Enter the name of lot {i + 1}", field=f"lots-{i}-name")
        if len(name) > 100:
            raise InvalidInput("project.lot_name_too_long", f"第{i + 1}个标段（包）名称不能超过100个字",
                               f"The name of lot {i + 1} is limited to 100 characters", field=f"lots-{i}-name")
        out.append((name, check_fen(lot.get("budget_fen"), field=f"lots-{i}-budget")))
    return tuple(out)


def route_fields(data: dict) -> RouteInput:
    """Only what the router needs (the routing preview before the rest is filled in)."""
    funding = enum(data.get("funding_source"), FundingSource, "funding_source")
    category = enum(data.get("category"), Category, "category")
    owner_type = enum(data.get("owner_type"), OwnerType, "owner_type")
    share = fiscal_share(data.get("fiscal_share_bp"), funding)
    investment = check_fen(data.get("total_investment_fen"), field="total_investment_fen")
    the_lots = lots(data.get("lots"))
    budget = sum(b for _, b in the_lots)
    if investment < budget:
        raise InvalidInput("project.investment_below_budget",
                           "项目总投资不能小于各标段（包）预算之和", "The total investment cannot be less than the sum of the lots",
                           field="total_investment_fen")
    combined = data.get("combined_total_fen")
    if combined is not None:
        combined = check_fen(combined, field="combined_total_fen")
        if combined < budget:
            raise InvalidInput("project.combined_below_budget", "合并计算金额不能小于本项目各标段（包）预算之和",
                               "The combined total cannot be less than this project's lots", field="combined_total_fen")
    return RouteInput(category, owner_type, funding, share, investment, tuple(b for _, b in the_lots), combined)


def clean(data: dict, region_exists) -> Cleaned:
    """Every field of a registration, checked in form order so the first error is the first field."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidInput("project.unknown_field", f"无法识别的字段：{', '.join(sorted(unknown))}",
                           f"Unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    name = text(data.get("name"), "name", lo=1, hi=100)
    approval = text(data.get("approval_number"), "approval_number", lo=1, hi=60)
    department = text(data.get("approval_department"), "approval_department", lo=0, hi=60)
    inp = route_fields(data)
    region_id = data.get("region_id")
    if isinstance(region_id, bool) or not isinstance(region_id, int) or not region_exists(region_id):
        raise InvalidInput("project.bad_region", "请选择项目所在区域（乡镇）", "Choose the project's region",
                           field="region_id")
    procedure = enum(data.get("procedure"), Procedure, "procedure")
    return Cleaned(
        name=name, approval_number=approval, approval_department=department, funding_source=inp.funding_source,
        fiscal_share_bp=inp.fiscal_share_bp, category=inp.category, owner_type=inp.owner_type,
        total_investment_fen=inp.total_investment_fen, region_id=region_id, procedure=procedure,
        lots=lots(data.get("lots")), combined_total_fen=inp.combined_total_fen,
        description=text(data.get("description"), "description", lo=0, hi=2000),
        contact_name=text(data.get("contact_name"), "contact_name", lo=0, hi=40),
        contact_phone=text(data.get("contact_phone"), "contact_phone", lo=0, hi=20))
