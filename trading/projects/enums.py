"""Value sets of project registration with their Chinese and English labels, pure (no Flask, no
SQLAlchemy). `rules.py` re-exports everything here; other packages import from `rules`."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    WORKS = "works"              # 工程
    GOODS = "goods"              # 货物
    SERVICES = "services"        # 服务
    LAND = "land"                # 国有建设用地使用权
    MINING = "mining"            # 矿业权
    STATE_ASSET = "state_asset"  # 国有产权/资产
    OTHER = "other"              # 其他


class OwnerType(StrEnum):
    #: 国家机关/事业单位/团体组织 using fiscal funds: a government-procurement buyer (政府采购法 Art. 2)
    GOV = "gov"
    #: 平台公司/国有企业/国家投资工程建设项目 outside the GP regime
    STATE_ENTERPRISE = "state_enterprise"
    OTHER = "other"


class FundingSource(StrEnum):
    FISCAL_NATIONAL = "fiscal_national"
    FISCAL_PROVINCIAL = "fiscal_provincial"
    FISCAL_CITY = "fiscal_city"
    FISCAL_COUNTY = "fiscal_county"
    STATE_ENTERPRISE = "state_enterprise"
    MIXED = "mixed"
    SELF_RAISED = "self_raised"


FISCAL_SOURCES = frozenset({FundingSource.FISCAL_NATIONAL, FundingSource.FISCAL_PROVINCIAL,
                            FundingSource.FISCAL_CITY, FundingSource.FISCAL_COUNTY})


class Procedure(StrEnum):
    SELECTION = "selection"            # 比选
    NEGOTIATION = "negotiation"        # 竞争性谈判
    CONSULTATION = "consultation"      # 竞争性磋商
    INQUIRY = "inquiry"                # 询价 (goods only)
    SINGLE_SOURCE = "single_source"    # 单一来源
    TENDER = "tender"                  # 公开招标 (招标投标法)
    GP_TENDER = "gp_tender"            # 政府采购公开招标
    LAND_TENDER = "land_tender"
    LAND_AUCTION = "land_auction"
    LAND_LISTING = "land_listing"
    MINING_TENDER = "mining_tender"
    MINING_AUCTION = "mining_auction"
    MINING_LISTING = "mining_listing"
    ASSET_TRANSFER = "asset_transfer"  # 产权转让（挂牌）
    ONLINE_BIDDING = "online_bidding"  # 网络竞价
    DIRECT = "direct"                  # 自行采购（不进场，备案）


#: the order procedures are listed in everywhere (route explanations, selects)
PROCEDURE_ORDER = {p: i for i, p in enumerate(Procedure)}


class EntryStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    TERMINATED = "terminated"


class EntryAction(StrEnum):
    """What an actor does to a registration (the keys of the transition table)."""
    SUBMIT = "submit"
    RETURN = "return"
    ACCEPT = "accept"
    REFUSE = "refuse"
    TERMINATE = "terminate"


class ReviewAction(StrEnum):
    """What an EntryReview row records."""
    SUBMITTED = "submitted"
    RESUBMITTED = "resubmitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    TERMINATED = "terminated"


#: ASCII category part of trade codes (统一交易标识码 must be ASCII: it enters sealed-offer contexts)
CATEGORY_CODES = {
    Category.WORKS: "GC", Category.GOODS: "HW", Category.SERVICES: "FW", Category.LAND: "TD",
    Category.MINING: "KQ", Category.STATE_ASSET: "CQ", Category.OTHER: "QT",
}

CATEGORY_LABELS = {
    Category.WORKS: ("工程", "Works"), Category.GOODS: ("货物", "Goods"), Category.SERVICES: ("服务", "Services"),
    Category.LAND: ("国有建设用地使用权", "Land-use right"), Category.MINING: ("矿业权", "Mining right"),
    Category.STATE_ASSET: ("国有产权/资产", "State property right / asset"), Category.OTHER: ("其他", "Other"),
}
OWNER_TYPE_LABELS = {
    OwnerType.GOV: ("国家机关/事业单位（财政性资金，政府采购人）", "State organ / public institution (GP buyer)"),
    OwnerType.STATE_ENTERPRISE: ("平台公司/国有企业（国家投资工程）", "State enterprise / platform company"),
    OwnerType.OTHER: ("其他单位", "Other"),
}
FUNDING_LABELS = {
    FundingSource.FISCAL_NATIONAL: ("中央财政资金", "Central fiscal funds"),
    FundingSource.FISCAL_PROVINCIAL: ("省级财政资金", "Provincial fiscal funds"),
    FundingSource.FISCAL_CITY: ("市级财政资金", "City fiscal funds"),
    FundingSource.FISCAL_COUNTY: ("县级财政资金", "County fiscal funds"),
    FundingSource.STATE_ENTERPRISE: ("国有企业资金", "State-enterprise funds"),
    FundingSource.MIXED: ("混合资金", "Mixed funds"),
    FundingSource.SELF_RAISED: ("自筹资金", "Self-raised funds"),
}
PROCEDURE_LABELS = {
    Procedure.SELECTION: ("比选", "Comparison selection"),
    Procedure.NEGOTIATION: ("竞争性谈判", "Competitive negotiation"),
    Procedure.CONSULTATION: ("竞争性磋商", "Competitive consultation"),
    Procedure.INQUIRY: ("询价", "Request for quotation"),
    Procedure.SINGLE_SOURCE: ("单一来源", "Single source"),
    Procedure.TENDER: ("公开招标（招标投标法）", "Public tender (Tendering Law)"),
    Procedure.GP_TENDER: ("政府采购公开招标", "GP public tender"),
    Procedure.LAND_TENDER: ("土地招标出让", "Land grant by tender"),
    Procedure.LAND_AUCTION: ("土地拍卖出让", "Land grant by auction"),
    Procedure.LAND_LISTING: ("土地挂牌出让", "Land grant by listing"),
    Procedure.MINING_TENDER: ("矿业权招标出让", "Mining right by tender"),
    Procedure.MINING_AUCTION: ("矿业权拍卖出让", "Mining right by auction"),
    Procedure.MINING_LISTING: ("矿业权挂牌出让", "Mining right by listing"),
    Procedure.ASSET_TRANSFER: ("产权转让（挂牌）", "Property-rights transfer (listing)"),
    Procedure.ONLINE_BIDDING: ("网络竞价", "Online bidding"),
    Procedure.DIRECT: ("自行采购（不进场，备案）", "Direct purchase (no entry; record only)"),
}
STATUS_LABELS = {
    EntryStatus.DRAFT: ("草稿", "Draft"),
    EntryStatus.SUBMITTED: ("待审核", "Submitted"),
    EntryStatus.RETURNED: ("退回修改", "Returned for correction"),
    EntryStatus.ACCEPTED: ("已受理", "Accepted"),
    EntryStatus.REFUSED: ("不予受理", "Refused"),
    EntryStatus.TERMINATED: ("已终止", "Terminated"),
}
REVIEW_LABELS = {
    ReviewAction.SUBMITTED: ("提交进场登记", "Submitted"),
    ReviewAction.RESUBMITTED: ("修改后重新提交", "Resubmitted"),
    ReviewAction.RETURNED: ("退回修改", "Returned for correction"),
    ReviewAction.ACCEPTED: ("受理", "Accepted"),
    ReviewAction.REFUSED: ("不予受理", "Refused"),
    ReviewAction.TERMINATED: ("终止", "Terminated"),
}
_TABLES = {
    "category": CATEGORY_LABELS,
    "owner_type": OWNER_TYPE_LABELS,
    "funding_source": FUNDING_LABELS,
    "procedure": PROCEDURE_LABELS,
    "status": STATUS_LABELS,
    "review": REVIEW_LABELS,
}


def label(kind: str, value: str, locale: str = "zh") -> str:
    """The label of `value` in the value set `kind` (category, owner_type, funding_source, procedure,
    status, review); the raw value if unknown, so a page never breaks on an old value."""
    pair = _TABLES.get(kind, {}).get(value)
    if pair is None:
        return str(value)
    return pair[1] if locale.startswith("en") else pair[0]


def choices(kind: str, locale: str = "zh") -> list[tuple[str, str]]:
    return [(str(k), label(kind, k, locale)) for k in _TABLES[kind]]
