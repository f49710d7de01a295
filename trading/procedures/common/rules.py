"""Notice rules, pure: kinds and their labels, the portal's trade types, which key dates each kind
needs, the order key dates must follow, the chain a notice joins (公告链), the public status shown on
the portal — and, from periods.py, the statutory period table. No Flask, no SQLAlchemy; time comes
in as `now`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trading.projects.rules import Procedure

from .periods import PERIOD_RULES, PeriodRule, Violation, check_periods, fmt_bj, rules_for  # noqa: F401


class NoticeKind(StrEnum):
    ANNOUNCEMENT = "announcement"      # 交易公告 / 招标公告 / 采购公告 / 比选公告
    CHANGE = "change"                  # 变更（更正）/澄清公告
    CANDIDATES = "candidates"          # 中标候选人公示
    RESULT = "result"                  # 中标（成交）结果公告
    TERMINATION = "termination"        # 终止公告
    CONTRACT = "contract"              # 合同公示
    LAND_GRANT = "land_grant"          # 出让公告
    DEAL_PUBLICITY = "deal_publicity"  # 成交公示
    DISCLOSURE = "disclosure"          # 信息披露公告
    OTHER = "other"


KIND_LABELS: dict[str, tuple[str, str]] = {
    NoticeKind.ANNOUNCEMENT: ("交易公告", "Announcement"),
    NoticeKind.CHANGE: ("变更/澄清公告", "Change / clarification"),
    NoticeKind.CANDIDATES: ("中标候选人公示", "Candidate publicity"),
    NoticeKind.RESULT: ("结果公告", "Result"),
    NoticeKind.TERMINATION: ("终止公告", "Termination"),
    NoticeKind.CONTRACT: ("合同公示", "Contract"),
    NoticeKind.LAND_GRANT: ("出让公告", "Land grant notice"),
    NoticeKind.DEAL_PUBLICITY: ("成交公示", "Deal publicity"),
    NoticeKind.DISCLOSURE: ("信息披露公告", "Disclosure"),
    NoticeKind.OTHER: ("其他公告", "Other"),
}


class TradeType(StrEnum):
    ENGINEERING = "engineering"   # 工程建设
    PROCUREMENT = "procurement"   # 政府采购
    LAND_MINING = "land_mining"   # 土地使用权与矿业权
    STATE_ASSET = "state_asset"   # 国有产权
    OTHER = "other"               # 其他


TRADE_LABELS: dict[str, tuple[str, str]] = {
    TradeType.ENGINEERING: ("工程建设", "Construction"),
    TradeType.PROCUREMENT: ("政府采购", "Government procurement"),
    TradeType.LAND_MINING: ("土地使用权与矿业权", "Land and mining rights"),
    TradeType.STATE_ASSET: ("国有产权", "State-owned property"),
    TradeType.OTHER: ("其他", "Other"),
}


class PublicStatus(StrEnum):
    OPEN = "open"            # 报名中: the deadline is still ahead
    CLOSED = "closed"        # 已截止: the deadline has passed
    PUBLICITY = "publicity"  # 公示中: a publicity period is running
    ENDED = "ended"          # 已结束: nothing ahead, or replaced by a later notice


STATUS_LABELS: dict[str, tuple[str, str]] = {
    PublicStatus.OPEN: ("报名中", "Open"),
    PublicStatus.CLOSED: ("已截止", "Closed"),
    PublicStatus.PUBLICITY: ("公示中", "In publicity"),
    PublicStatus.ENDED: ("已结束", "Ended"),
}


def label(table: Mapping[str, tuple[str, str]], key: str, locale: str = "zh") -> str:
    zh, en = table.get(key, (key, key))
    return en if locale == "en" else zh


def trade_type_for(category: str, owner_type: str) -> TradeType:
    """Portal tab of a project. Goods and services bought by a government buyer are 政府采购; works,
    and goods/services of state-invested engineering outside the GP regime, are 工程建设 (16号令)."""
    if category in ("land", "mining"):
        return TradeType.LAND_MINING
    if category == "state_asset":
        return TradeType.STATE_ASSET
    if category in ("goods", "services"):
        return TradeType.PROCUREMENT if owner_type == "gov" else TradeType.ENGINEERING
    if category == "works":
        return TradeType.ENGINEERING
    return TradeType.OTHER


#: procedure of a project (projects.rules.Procedure) → the family the period table speaks of
PROCEDURE_FAMILIES: dict[str, str] = {
    Procedure.TENDER: "tender",
    Procedure.SELECTION: "selection",
    Procedure.NEGOTIATION: "negotiation",
    Procedure.INQUIRY: "inquiry",
    Procedure.CONSULTATION: "consultation",
    Procedure.SINGLE_SOURCE: "single_source",
    Procedure.GP_TENDER: "gp_tender",
    # mining rights use the land machinery (rules.md H)
    Procedure.LAND_TENDER: "land", Procedure.LAND_AUCTION: "land", Procedure.LAND_LISTING: "land_listing",
    # a mining-right notice runs ≥ 20 WD (period.mining_notice_wd, rules.md H) and a mining listing
    # ≥ 10 WD (period.mining_listing_wd): families of their own
    Procedure.MINING_TENDER: "mining", Procedure.MINING_AUCTION: "mining", Procedure.MINING_LISTING: "mining_listing",
    Procedure.ASSET_TRANSFER: "asset",
    Procedure.ONLINE_BIDDING: "auction",
    Procedure.DIRECT: "other",
}


def procedure_family(procedure: str) -> str:
    return PROCEDURE_FAMILIES.get(procedure, "other")


KEY_DATES = ("docs_from", "docs_until", "objection_until", "deadline_at", "opening_at", "closing_at",
             "publicity_until")

#: labels of the key dates (zh, en); land and asset sales name some of them differently
DATE_LABELS: dict[str, tuple[str, str]] = {
    "published_at": ("发布", "Published"),
    "docs_from": ("文件获取开始", "Documents available from"),
    "docs_until": ("文件获取截止", "Documents available until"),
    "objection_until": ("异议截止", "Objections until"),
    "deadline_at": ("投标（响应）截止", "Bid / response deadline"),
    "opening_at": ("开标", "Opening"),
    "closing_at": ("挂牌（披露）截止", "Listing / disclosure closes"),
    "publicity_until": ("公示期截止", "Publicity ends"),
}
_FAMILY_DATE_LABELS = {
    ("land", "deadline_at"): ("竞买申请截止", "Bidder applications close"),
    ("land", "opening_at"): ("出让活动开始", "Sale starts"),
    ("mining", "deadline_at"): ("竞买申请截止", "Bidder applications close"),
    ("mining", "opening_at"): ("出让活动开始", "Sale starts"),
    ("land_listing", "deadline_at"): ("竞买申请截止", "Bidder applications close"),
    ("land_listing", "opening_at"): ("挂牌开始", "Listing starts"),
    ("land_listing", "closing_at"): ("挂牌截止", "Listing closes"),
    ("mining_listing", "deadline_at"): ("竞买申请截止", "Bidder applications close"),
    ("mining_listing", "opening_at"): ("挂牌开始", "Listing starts"),
    ("mining_listing", "closing_at"): ("挂牌截止", "Listing closes"),
    ("asset", "closing_at"): ("信息披露期满", "Disclosure ends"),
    ("asset", "deadline_at"): ("受让申请截止", "Applications close"),
    ("auction", "opening_at"): ("拍卖（竞价）开始", "Auction starts"),
}


def date_label(field: str, family: str = "", locale: str = "zh") -> str:
    zh, en = _FAMILY_DATE_LABELS.get((family, field), DATE_LABELS[field])
    return en if locale == "en" else zh


def required_dates(family: str, kind: str) -> tuple[str, ...]:
    """Key dates a notice must carry before it is published."""
    if kind in (NoticeKind.ANNOUNCEMENT, NoticeKind.LAND_GRANT, NoticeKind.DISCLOSURE):
        if family in ("tender", "gp_tender"):
            return ("docs_from", "docs_until", "deadline_at", "opening_at")
        if family in ("selection", "negotiation", "inquiry", "consultation"):
            return ("deadline_at", "opening_at")
        if family in ("land", "mining"):
            return ("deadline_at", "opening_at")
        if family in ("land_listing", "mining_listing"):
            return ("deadline_at", "opening_at", "closing_at")
        if family == "asset":
            return ("closing_at",)
        if family == "auction":
            return ("opening_at",)
        if family == "single_source":
            return ("publicity_until",)
        return ()
    if kind == NoticeKind.CANDIDATES or kind == NoticeKind.DEAL_PUBLICITY:
        return ("publicity_until",)
    if kind == NoticeKind.RESULT and family in ("gp_tender", "negotiation", "inquiry", "consultation", "single_source"):
        return ("publicity_until",)
    return ()


def date_order(family: str) -> tuple[tuple[str, str], ...]:
    """Pairs (earlier, later) the key dates must respect. In a land listing the applications close
    during the listing, after it starts (rules.md G3.2)."""
    common = (("docs_from", "docs_until"), ("docs_until", "deadline_at"), ("objection_until", "deadline_at"))
    if family in ("land_listing", "mining_listing"):
        return common + (("opening_at", "deadline_at"), ("deadline_at", "closing_at"), ("opening_at", "closing_at"))
    return common + (("deadline_at", "opening_at"), ("opening_at", "closing_at"))


def date_problems(family: str, kind: str, dates: Mapping[str, datetime | None], now: datetime) -> list[Violation]:
    """Missing key dates, dates out of order, and a deadline already passed at publish time."""
    out: list[Violation] = []
    for f in required_dates(family, kind):
        if dates.get(f) is None:
            zh, en = date_label(f, family), date_label(f, family, "en")
            out.append(Violation("dates.missing", f"请填写「{zh}」", f"Enter “{en}”", field=f))
    for a, b in date_order(family):
        va, vb = dates.get(a), dates.get(b)
        if va and vb and va > vb:
            out.append(Violation(
                "dates.order", f"「{date_label(a, family)}」不能晚于「{date_label(b, family)}」",
                f"“{date_label(a, family, 'en')}” cannot be after “{date_label(b, family, 'en')}”", field=b))
    deadline = dates.get("deadline_at")
    if deadline is not None and deadline <= now and kind not in (NoticeKind.RESULT, NoticeKind.TERMINATION,
                                                                 NoticeKind.CONTRACT):
        out.append(Violation("dates.deadline_passed", f"截止时间{fmt_bj(deadline)}已过，请设定将来的时间",
                             f"The deadline {fmt_bj(deadline, 'en')} has passed; set a future time",
                             field="deadline_at"))
    publicity = dates.get("publicity_until")
    if publicity is not None and publicity <= now:
        out.append(Violation("dates.publicity_passed", "公示期截止时间已过，请设定将来的时间",
                             "The publicity end has passed; set a future time", field="publicity_until"))
    return out


# --- the chain of notices of one project ------------------------------------------------------

@dataclass(frozen=True)
class NoticeFacts:
    """What the chain rules need to know about a notice."""
    id: int | None
    project_id: int
    kind: str
    status: str  # draft | published


#: kinds that open a procedure; everything else follows one of them
OPENERS = frozenset({NoticeKind.ANNOUNCEMENT, NoticeKind.LAND_GRANT, NoticeKind.DISCLOSURE, NoticeKind.OTHER})


def chain_problems(kind: str, project_id: int, previous: NoticeFacts | None,
                   project_notices: Iterable[NoticeFacts]) -> list[Violation]:
    """A follower (change, candidates, result, termination …) needs a published opener of the same
    project; a change names the published notice it changes; nothing follows a termination."""
    published = [n for n in project_notices if n.status == "published"]
    out: list[Violation] = []
    if any(n.kind == NoticeKind.TERMINATION for n in published):
        out.append(Violation("chain.terminated", "该项目已发布终止公告，不能再发布公告",
                             "The project has a termination notice; no further notice may be published"))
    if kind not in OPENERS and not any(n.kind in OPENERS for n in published):
        out.append(Violation("chain.no_announcement", "请先发布该项目的交易公告，再发布此类公告",
                             "Publish the project's announcement before this kind of notice", field="kind"))
    if kind == NoticeKind.CHANGE and previous is None:
        out.append(Violation("chain.change_needs_previous", "变更公告须注明所变更的原公告",
                             "A change notice must name the notice it changes", field="previous_id"))
    if previous is not None:
        if previous.project_id != project_id:
            out.append(Violation("chain.other_project", "关联公告不属于同一项目",
                                 "The linked notice belongs to another project", field="previous_id"))
        elif previous.status != "published":
            out.append(Violation("chain.previous_unpublished", "只能关联已发布的公告",
                                 "Only a published notice can be linked", field="previous_id"))
        elif previous.kind == NoticeKind.TERMINATION:
            out.append(Violation("chain.after_termination", "终止公告之后不能再发布公告",
                                 "Nothing can follow a termination notice", field="previous_id"))
    return out


def public_status(deadline_at: datetime | None, publicity_until: datetime | None, superseded: bool,
                  now: datetime) -> PublicStatus:
    """The badge on the portal. The SQL in portal/queries.py mirrors this exactly (tested)."""
    if superseded:
        return PublicStatus.ENDED
    if deadline_at is not None and deadline_at > now:
        return PublicStatus.OPEN
    if publicity_until is not None and publicity_until > now:
        return PublicStatus.PUBLICITY
    if deadline_at is not None:
        return PublicStatus.CLOSED
    return PublicStatus.ENDED


def next_deadline(dates: Mapping[str, datetime | None], now: datetime) -> tuple[str, datetime] | None:
    """The next key date still ahead (for the countdown), as (field, instant)."""
    ahead = [(v, f) for f, v in dates.items() if f in KEY_DATES and f != "docs_from" and v is not None and v > now]
    if not ahead:
        return None
    v, f = min(ahead)
    return f, v


# --- the title search index (portal keyword search) ------------------------------------------

def _term_char(ch: str) -> str | None:
    """A title character as the search index keeps it: letters (CJK included) and digits, lower-cased
    one character for one (so a substring of the title stays a substring); anything else breaks terms."""
    if not ch.isalnum():
        return None
    low = ch.lower()
    return low if len(low) == 1 else ch


def title_terms(title: str) -> set[str]:
    """The character bigrams of a title that the keyword search looks up: every two adjacent letters
    or digits, lower-cased ("LED显示屏" → le, ed, d显, 显示, 示屏). A keyword found in a title has all
    its own terms among the title's, so the terms narrow the candidates and a LIKE confirms them."""
    chars = [_term_char(c) for c in title]
    return {a + b for a, b in zip(chars, chars[1:], strict=False) if a and b}
