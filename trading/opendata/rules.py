"""Open data (OCDS 1.1.5) rules, pure: identifiers, the mapping of our procedures, notices and audit
actions to OCDS codes, money in yuan as Decimal, the opaque feed cursor, the record merge and the
JSON writer that prints Decimals as JSON numbers. No Flask, no SQLAlchemy; time comes in as values.

Choices (documented here and on /opendata/):

* **ocid** = ``<prefix>-<lot code>``. The prefix (setting ``OCDS_OCID_PREFIX``, ``ocds-`` + six
  characters) is the one the Open Contracting Partnership assigns to a publisher when it registers
  (free, through the OCDS helpdesk: https://standard.open-contracting.org/1.1/en/schema/identifiers/).
  The default ``ocds-000000`` is a placeholder that no publisher holds: a production installation sets
  the registered one. One contracting process per lot (标段/包): the lot is what is opened, awarded and
  contracted. A re-announcement after 流标 is a new lot code (``…-A2``), hence a new ocid that names the
  failed one in ``relatedProcesses`` (``unsuccessfulProcess``).
* **release id** = ``<audit seq>-<tag>``: one release per audit entry, so the id never changes and is
  unique within its ocid.
* **organisation identifiers**: the 统一社会信用代码 (GB 32100-2015) under the scheme ``CN-USCC``.
  org-id.guide codes are ``<ISO 3166 country>-<register>``; the USCC is China's single register-wide
  code (SAMR business registration, tax, organisation code), so ``CN-USCC`` names it. The party id is
  ``CN-USCC-<code>``, stable across releases and processes.
* **money**: integer fen in our data; OCDS amounts are yuan with two decimals, built as ``Decimal``
  and written as JSON numbers by `dumps` (never through float).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from trading.core.clock import rfc3339
from trading.core.errors import InvalidInput

OCDS_VERSION = "1.1"
CURRENCY = "CNY"
ORG_SCHEME = "CN-USCC"
LANGUAGE = "zh"
DEFAULT_PREFIX = "ocds-000000"
_PREFIX_RE = re.compile(r"^ocds-[a-z0-9]{6}$")

#: our sale procedures (出让/转让): published with the local sale extension (extensions/sale)
SALE_METHODS: dict[str, str] = {
    "land_tender": "tender", "land_auction": "auction", "land_listing": "listing",
    "mining_tender": "tender", "mining_auction": "auction", "mining_listing": "listing",
    "asset_transfer": "listing", "online_bidding": "onlineBidding",
}
SALE_OBJECTS: dict[str, str] = {"land": "landUseRight", "mining": "miningRight", "state_asset": "stateAsset"}

#: procurementMethod (closed codelist `method`) and the local name in procurementMethodDetails.
#: 公开招标 is open. 比选, 谈判, 磋商 and 询价 admit only suppliers that pass a qualification check
#: (比选申请人资格审查; 74号令 Art. 12: suppliers invited through a public notice, the supplier database or
#: recommendation, then checked) — selective. 单一来源 and 自行采购 award one supplier without
#: competition — direct. Land, mining and asset sales are announced to every qualified buyer — open.
METHODS: dict[str, tuple[str, str]] = {
    "tender": ("open", "公开招标（招标投标法）"),
    "gp_tender": ("open", "政府采购公开招标"),
    "selection": ("selective", "比选"),
    "negotiation": ("selective", "竞争性谈判"),
    "consultation": ("selective", "竞争性磋商"),
    "inquiry": ("selective", "询价"),
    "single_source": ("direct", "单一来源采购"),
    "direct": ("direct", "自行采购（备案）"),
    "land_tender": ("open", "国有建设用地使用权招标出让"),
    "land_auction": ("open", "国有建设用地使用权拍卖出让"),
    "land_listing": ("open", "国有建设用地使用权挂牌出让"),
    "mining_tender": ("open", "矿业权招标出让"),
    "mining_auction": ("open", "矿业权拍卖出让"),
    "mining_listing": ("open", "矿业权挂牌出让"),
    "asset_transfer": ("open", "国有产权（资产）挂牌转让"),
    "online_bidding": ("open", "网络竞价"),
}
#: awardCriteria where the law fixes it: 谈判/询价 award the lowest price among responsive offers
#: (74号令 Art. 36, 49); 比选 scores (综合评分); a sale goes to the highest price
AWARD_CRITERIA: dict[str, str] = {"negotiation": "priceOnly", "inquiry": "priceOnly", "selection": "ratedCriteria",
                                  "consultation": "ratedCriteria"}
#: 招标出让 (land / mining rights by tender): awardCriteria follows the method of the lot's criteria —
#: the highest price (price only) or the best comprehensive score (rated criteria) — with the local
#: rule in awardCriteriaDetails (the codelist's priceOnly speaks of the lowest price: a sale reverses it)
TENDER_SALES = frozenset({"land_tender", "mining_tender"})
SALE_AWARD_CRITERIA: dict[str, tuple[str, str]] = {
    "highest_price": ("priceOnly", "最高价法：报价不低于起始价且最高的投标人中标"),
    "comprehensive": ("ratedCriteria", "综合评估法：按评分细则综合得分最高的投标人中标（得分相同的，报价高者优先）"),
}
#: the parcel's area: square metres (UN/CEFACT Rec. 20 MTK)
SQUARE_METRE = {"scheme": "UNCEFACT", "id": "MTK", "name": "平方米"}
MAIN_CATEGORIES = {"works": "works", "goods": "goods", "services": "services"}

#: audit action → the release it makes (the releaseTag codelist). Only lot-level entries of public
#: events: who registered or submitted (embargoed until the deadline) is never read.
TAGS: dict[str, str] = {
    "lot.trading_opened": "tender",              # announcement / grant notice / disclosure published
    "lot.redated": "tenderAmendment",            # change notice (变更公告) dated the lot again
    "lot.terminated": "tenderCancellation",      # termination notice (终止公告)
    "lot.terminate": "tenderCancellation",       # terminated from the stage machine (reason recorded)
    "lot.cancel": "tenderCancellation",
    "opening.record_published": "tenderUpdate",  # the opening record: the tenderers become public
    "lot.fail": "tenderUpdate",                  # 流标 in the evaluation or a 流拍
    "award.candidates_publicized": "award",      # 中标/中选候选人公示: pending awards
    "award.determined": "award",                 # 定标/确定成交
    "award.winner_defaulted": "awardUpdate",     # the winner refused / did not sign / gave up: award cancelled
    "award.reawarded": "award",                  # the next candidate awarded (结果变更公告)
    "award.ended_for_reprocurement": "tenderUpdate",  # no next candidate: the attempt is unsuccessful
    "lot.sell": "award",                         # a sale's winning bid (auction outcome hook)
    "award.contract_recorded": "contract",
    "award.contract_corrected": "contractUpdate",
    "lot.sign_contract": "contract",             # a sale's contract (auction outcome hook)
    "land_tender.parcel_set": "tenderUpdate",    # 招标出让: the parcel (宗地) or mining right described
}
#: actions that make a release only for a sale (the procurement side has its own entries)
SALE_ONLY = frozenset({"lot.sell", "lot.sign_contract"})


# --- identifiers -------------------------------------------------------------------------------

def check_prefix(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix or ""):
        raise ValueError(f"OCDS_OCID_PREFIX must be 'ocds-' and six lowercase letters or digits, not {prefix!r}")
    return prefix


def ocid(prefix: str, lot_code: str) -> str:
    return f"{check_prefix(prefix)}-{lot_code}"


def lot_code_of(prefix: str, value: str) -> str | None:
    """The lot code inside an ocid of this publisher; None for another prefix or an empty code."""
    head = f"{check_prefix(prefix)}-"
    return (value[len(head):] or None) if value.startswith(head) else None


def release_id(seq: int, tag: str) -> str:
    return f"{seq}-{tag}"


def party_id(credit_code: str) -> str:
    return f"{ORG_SCHEME}-{credit_code}"


def is_sale(procedure: str) -> bool:
    return procedure in SALE_METHODS


def tag_for(action: str, procedure: str) -> str | None:
    """The release tag of an audit action for a lot of `procedure`, None when it makes no release."""
    if action in SALE_ONLY and not is_sale(procedure):
        return None
    return TAGS.get(action)


# --- sales by tender ------------------------------------------------------------------------------

def sale_award_criteria(method: str | None) -> dict:
    """{"awardCriteria", "awardCriteriaDetails"} of a sale by tender whose criteria name `method`;
    {} before the criteria are set (or for a method a sale does not use)."""
    if method not in SALE_AWARD_CRITERIA:
        return {}
    code, details = SALE_AWARD_CRITERIA[method]
    return {"awardCriteria": code, "awardCriteriaDetails": details}


def parcel_item(parcel: dict, *, mining: bool) -> dict:
    """The tender's item for the parcel (宗地) or mining right a sale by tender grants, from the
    land_tender.parcel_set entry's `new` figures: a description in the notice's words (empty figures
    left out) and, when the area is known, its quantity in square metres."""
    area = parcel.get("area_m2")
    area_dec = Decimal(str(area)) if area not in (None, "") else None
    parts = [("矿业权名称" if mining else "宗地编号", parcel.get("subject_ref")), ("坐落", parcel.get("location")),
             ("面积", f"{area_dec}平方米" if area_dec is not None else None),
             ("开采矿种", parcel.get("mineral")), ("土地用途", parcel.get("land_use")),
             ("出让年限", f"{parcel['term_years']}年" if parcel.get("term_years") else None),
             ("容积率", parcel.get("plot_ratio"))]
    item: dict = {"id": "1", "description": "；".join(f"{k}：{v}" for k, v in parts if v)}
    if area_dec is not None:
        item["quantity"] = area_dec
        item["unit"] = dict(SQUARE_METRE)
    return item


# --- values ------------------------------------------------------------------------------------

def yuan(fen: int) -> Decimal:
    """Integer fen → yuan with exactly two decimals (812345.67), no float on the way."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("money is integer fen")
    return Decimal(fen).scaleb(-2)


def value(fen: int | None) -> dict | None:
    return None if fen is None else {"amount": yuan(fen), "currency": CURRENCY}


def premium_rate(deal_fen: int, start_fen: int) -> Decimal | None:
    """溢价率 (成交价 − 起始价) / 起始价 as a fraction with 4 decimals (0.1250 = 12.50 %), half up."""
    if not start_fen:
        return None
    return (Decimal(deal_fen - start_fen) / Decimal(start_fen)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def date(value: datetime | str | None) -> str | None:
    """An OCDS date-time: RFC 3339 UTC with milliseconds (an audit payload's string is already one)."""
    if value is None or isinstance(value, str):
        return value
    return rfc3339(value)


def beijing_day(day: str) -> str:
    """A calendar day (a contract signed on 2026-12-03, Beijing) as the start of that day, +08:00."""
    return f"{day}T00:00:00+08:00" if len(day) == 10 else day


# --- the feed cursor -----------------------------------------------------------------------------

def encode_cursor(after_seq: int) -> str:
    """Opaque to clients: the last audit seq a page covered (a page never moves when entries append,
    because seqs are assigned under the audit head lock, in commit order)."""
    return base64.urlsafe_b64encode(f"v1:{after_seq}".encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> int:
    if not token:
        return -1
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        version, _, seq = raw.partition(":")
        if version == "v1" and seq.isdigit():
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("opendata.cursor", "分页游标无效，请使用上一页返回的 next 链接",
                       "Invalid cursor: follow the next link of the previous page", field="cursor")


MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def parse_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput("opendata.limit", f"每页条数须为 1–{MAX_LIMIT} 的整数",
                           f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
    return int(text)


# --- compiling a record (OCDS 1.1 merge) --------------------------------------------------------

def _merge(target: dict, source: Mapping) -> dict:
    """OCDS merge of one release into the compiled state: objects merge field by field, arrays of
    objects with ids merge by id (kept in first-seen order), other arrays and values replace, null
    removes."""
    for key, new in source.items():
        if new is None:
            target.pop(key, None)
        elif isinstance(new, Mapping):
            target[key] = _merge(dict(target.get(key) or {}), new)
        elif isinstance(new, list) and new and all(isinstance(x, Mapping) and "id" in x for x in new):
            old = {x["id"]: x for x in target.get(key) or [] if isinstance(x, Mapping) and "id" in x}
            merged = dict(old)
            for item in new:
                merged[item["id"]] = _merge(dict(old.get(item["id"]) or {}), item)
            target[key] = list(merged.values())
        else:
            target[key] = copy.deepcopy(new)
    return target


def compile_release(ocid_value: str, releases: Iterable[Mapping]) -> dict:
    """The compiledRelease of an ocid: its releases merged in date order (ties keep the given order,
    the audit order)."""
    ordered = sorted(releases, key=lambda r: r["date"])
    if not ordered:
        raise ValueError("a record needs at least one release")
    compiled: dict = {}
    for r in ordered:
        _merge(compiled, {k: v for k, v in r.items() if k not in ("id", "date", "tag")})
    last = ordered[-1]
    return {"ocid": ocid_value, "id": f"{ocid_value}-compiled-{last['id']}", "date": last["date"],
            "tag": ["compiled"], **{k: v for k, v in compiled.items() if k != "ocid"}}


def _version(target: dict, source: Mapping, meta: dict) -> None:
    for key, new in source.items():
        if isinstance(new, Mapping):
            _version(target.setdefault(key, {}), new, meta)
        elif isinstance(new, list) and new and all(isinstance(x, Mapping) and "id" in x for x in new):
            items = target.setdefault(key, [])
            index = {x["id"]: x for x in items}
            for item in new:
                obj = index.get(item["id"])
                if obj is None:
                    obj = {"id": item["id"]}
                    items.append(obj)
                    index[item["id"]] = obj
                _version(obj, {k: v for k, v in item.items() if k != "id"}, meta)
        else:
            history = target.setdefault(key, [])
            if not history or history[-1]["value"] != new:
                history.append({**meta, "value": copy.deepcopy(new)})


def versioned_release(ocid_value: str, releases: Iterable[Mapping]) -> dict:
    """The versionedRelease of an ocid (OCDS 1.1 merge, versioned): every field's history as
    [{releaseID, releaseDate, releaseTag, value}] with an entry only where the value changed; objects in
    arrays keep their plain id. The public change log of a process, field by field."""
    out: dict = {"ocid": ocid_value}
    for r in sorted(releases, key=lambda r: r["date"]):
        meta = {"releaseID": r["id"], "releaseDate": r["date"], "releaseTag": list(r["tag"])}
        _version(out, {k: v for k, v in r.items() if k not in ("ocid", "id", "date", "tag")}, meta)
    return out


# --- writing JSON ------------------------------------------------------------------------------

def _write(v: Any, out: list[str]) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, Decimal):
        if not v.is_finite():
            raise ValueError("a JSON number must be finite")
        out.append(format(v, "f"))
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, Mapping):
        out.append("{")
        for i, (k, item) in enumerate(v.items()):
            if not isinstance(k, str):
                raise TypeError("JSON keys are strings")
            out.append(("," if i else "") + json.dumps(k, ensure_ascii=False) + ":")
            _write(item, out)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:  # floats included: money and rates are Decimal here
        raise TypeError(f"cannot write {type(v).__name__} as OCDS JSON")


def dumps(obj: Any) -> str:
    """Compact UTF-8 JSON where a Decimal is a JSON number written digit for digit (812345.67)."""
    out: list[str] = []
    _write(obj, out)
    return "".join(out)


# --- packages ------------------------------------------------------------------------------------

class Publication:
    """Who publishes and where: the ocid prefix, the public base URL (no trailing slash) and the
    publisher's name (the centre)."""

    def __init__(self, prefix: str, base_url: str, publisher_name: str) -> None:
        self.prefix = check_prefix(prefix)
        self.base_url = base_url.rstrip("/")
        self.publisher_name = publisher_name

    def notice_url(self, notice_id: int) -> str:
        return f"{self.base_url}/notices/{notice_id}"

    @property
    def policy_url(self) -> str:
        return f"{self.base_url}/opendata/"

    @property
    def extension_urls(self) -> list[str]:
        return [f"{self.base_url}/opendata/extensions/sale/extension.json"]

    def record_url(self, ocid_value: str) -> str:
        return f"{self.base_url}/opendata/records/{ocid_value}.json"


def _package_head(pub: Publication, uri: str, published: datetime) -> dict:
    return {"uri": uri, "version": OCDS_VERSION, "extensions": pub.extension_urls,
            "publishedDate": rfc3339(published), "publisher": {"name": pub.publisher_name, "uri": pub.base_url},
            "publicationPolicy": pub.policy_url}


def release_package(pub: Publication, uri: str, published: datetime, releases: list[dict],
                    next_uri: str | None = None) -> dict:
    """A release package; `links.next` (the pagination extension's field) when a feed page has one."""
    pkg = {**_package_head(pub, uri, published), "releases": releases}
    if next_uri is not None:
        pkg["links"] = {"next": next_uri}
    return pkg


def record_package(pub: Publication, uri: str, published: datetime, records: list[tuple[str, list[dict]]]) -> dict:
    """A record package: per ocid its releases (embedded), the compiledRelease and the versionedRelease."""
    return {**_package_head(pub, uri, published),
            "records": [{"ocid": o, "releases": rs, "compiledRelease": compile_release(o, rs),
                         "versionedRelease": versioned_release(o, rs)} for o, rs in records]}
