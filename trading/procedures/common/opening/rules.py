"""Opening rules, pure: the ceremony's choice of custodians, the price sheet (唱标 sheet) parser, the
cause category and Art. 31 consequence of a failed envelope, the count of valid offers, the next steps of
a failed lot (流标), the reserve-price sheet (底价), and the response window of the opening record. No
Flask, no SQLAlchemy."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trading.reference.settings import SettingDef, define
from trading.sealing.failures import Failure

define(
    SettingDef("opening.custodians_k", 3, "count", "design/sealing.md: 3 of 5 [P]",
               "开标密钥门限 k（需要的保管人数）", "Opening-key threshold k", 2, 9),
    SettingDef("opening.custodians_n", 5, "count", "design/sealing.md: 3 of 5 [P]",
               "开标密钥保管人数 n", "Opening-key custodians n", 2, 15),
    SettingDef("opening.custodian_institutions", 3, "count", "issue 3: 至少三个单位 [P]",
               "保管人至少来自的单位数", "Custodians' fewest institutions", 1, 15),
    SettingDef("opening.record_confirm_minutes", 30, "min", "rules.md §2.3 decrypt_window_min 30 [U]",
               "开标记录确认/异议时限（分钟）", "Opening record confirm/dispute window (minutes)", 5, 1440),
)


# --- custodians --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    user_id: int
    org_id: int
    key_id: int


class CustodianShortage(ValueError):
    """The pool cannot give n custodians from enough institutions; `missing` says what is short."""

    def __init__(self, missing: dict[str, int]):
        super().__init__(str(missing))
        self.missing = missing


def pick_custodians(candidates: Sequence[Candidate], *, n: int, k: int, institutions: int,
                    rng: secrets.SystemRandom | None = None) -> list[Candidate]:
    """n distinct custodians at random, from at least `institutions` organisations, and no organisation
    holding k or more shares (so that no single institution can open a lot alone).

    Feasible iff there are ≥ `institutions` organisations and Σ_org min(users_org, k−1) ≥ n; then
    any random filling order reaches n (the capacity left does not depend on which users were drawn)."""
    rng = rng or secrets.SystemRandom()
    by_org: dict[int, list[Candidate]] = {}
    for c in {c.user_id: c for c in candidates}.values():
        by_org.setdefault(c.org_id, []).append(c)
    cap = k - 1
    capacity = sum(min(len(users), cap) for users in by_org.values())
    if len(by_org) < institutions or capacity < n:
        raise CustodianShortage({"missing_custodians": max(0, n - capacity),
                                 "missing_institutions": max(0, institutions - len(by_org)),
                                 "available_custodians": sum(len(u) for u in by_org.values()),
                                 "available_institutions": len(by_org)})
    orgs = list(by_org)
    rng.shuffle(orgs)
    chosen: list[Candidate] = []
    for org in orgs[:institutions]:
        chosen.append(rng.choice(by_org[org]))
    taken = {c.user_id for c in chosen}
    per_org = Counter(c.org_id for c in chosen)
    rest = [c for users in by_org.values() for c in users if c.user_id not in taken]
    rng.shuffle(rest)
    for c in rest:
        if len(chosen) == n:
            break
        if per_org[c.org_id] < cap:
            chosen.append(c)
            per_org[c.org_id] += 1
    if len(chosen) < n:  # pragma: no cover - excluded by the capacity check above
        raise CustodianShortage({"missing_custodians": n - len(chosen), "missing_institutions": 0,
                                 "available_custodians": len(candidates), "available_institutions": len(by_org)})
    rng.shuffle(chosen)
    return chosen


# --- the price sheet (唱标) --------------------------------------------------------------------------

PRICE_SHEET_KEYS = frozenset({"v", "price_fen", "duration_days", "quality", "remarks"})
MAX_PRICE_FEN = 10**15          # 10 trillion yuan: beyond any county trade
MAX_DURATION_DAYS = 36_500
MAX_QUALITY = 200
MAX_REMARKS = 2000
MAX_SHEET_BYTES = 16 * 1024


class PriceSheetError(ValueError):
    """`code` is stable (price_sheet.<reason>), `detail` an English explanation."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class PriceSheet:
    price_fen: int
    duration_days: int | None
    quality: str
    remarks: str


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise PriceSheetError("price_sheet.json", f"duplicate key {key!r}")
        out[key] = value
    return out


def _bad_constant(name: str) -> object:
    raise PriceSheetError("price_sheet.json", f"JSON constant {name}")


def parse_price_sheet(plaintext: bytes) -> PriceSheet:
    """Strict: UTF-8 JSON object with exactly {"v": 1, "price_fen": int > 0, "duration_days": int ≥ 1 |
    null, "quality": str, "remarks": str}; no duplicate keys, no floats for integers, no booleans."""
    if len(plaintext) > MAX_SHEET_BYTES:
        raise PriceSheetError("price_sheet.too_large", f"over {MAX_SHEET_BYTES} bytes")
    try:
        text = bytes(plaintext).decode("utf-8")
    except UnicodeDecodeError:
        raise PriceSheetError("price_sheet.encoding", "not UTF-8") from None
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_bad_constant)
    except PriceSheetError:
        raise
    except (ValueError, RecursionError):
        raise PriceSheetError("price_sheet.json", "not JSON") from None
    if not isinstance(obj, dict):
        raise PriceSheetError("price_sheet.json", "not a JSON object")
    if set(obj) != PRICE_SHEET_KEYS:
        raise PriceSheetError("price_sheet.keys", "keys must be exactly v, price_fen, duration_days, quality, remarks")
    if type(obj["v"]) is not int or obj["v"] != 1:
        raise PriceSheetError("price_sheet.version", "v is not the integer 1")
    price = obj["price_fen"]
    if type(price) is not int or not 0 < price <= MAX_PRICE_FEN:
        raise PriceSheetError("price_sheet.price", "price_fen is not an integer in 1..10^15")
    duration = obj["duration_days"]
    if duration is not None and (type(duration) is not int or not 1 <= duration <= MAX_DURATION_DAYS):
        raise PriceSheetError("price_sheet.duration", "duration_days is not null or an integer in 1..36500")
    quality, remarks = obj["quality"], obj["remarks"]
    if not isinstance(quality, str) or len(quality) > MAX_QUALITY:
        raise PriceSheetError("price_sheet.quality", f"quality is not a string of at most {MAX_QUALITY} characters")
    if not isinstance(remarks, str) or len(remarks) > MAX_REMARKS:
        raise PriceSheetError("price_sheet.remarks", f"remarks is not a string of at most {MAX_REMARKS} characters")
    return PriceSheet(price_fen=price, duration_days=duration, quality=quality, remarks=remarks)


# --- failures: cause category and Art. 31 consequence -------------------------------------------------

class Cause(StrEnum):
    BIDDER_CERT = "bidder_cert"          # the bidder's key, certificate, sealing tool or file
    BIDDER_NETWORK = "bidder_network"    # the bidder's own connection
    PLATFORM = "platform"                # this platform (storage, software)
    THIRD_PARTY_CA = "third_party_ca"    # a certificate authority or other third party


class Consequence(StrEnum):
    REVOCATION = "revocation"    # 撤销: caused by the bidder (20号令 Art. 31)
    WITHDRAWAL = "withdrawal"    # 撤回: caused by someone else; deposit refunded


CAUSE_LABELS = {
    Cause.BIDDER_CERT: ("投标人密钥/证书/制作工具原因", "Bidder's key, certificate or sealing tool"),
    Cause.BIDDER_NETWORK: ("投标人网络原因", "Bidder's network"),
    Cause.PLATFORM: ("交易平台原因", "Trading platform"),
    Cause.THIRD_PARTY_CA: ("第三方（CA 等）原因", "Third party (CA etc.)"),
}
CONSEQUENCE_LABELS = {
    Consequence.REVOCATION: ("视为撤销投标文件", "Deemed revoked (撤销)"),
    Consequence.WITHDRAWAL: ("视为撤回投标文件", "Deemed withdrawn (撤回)"),
}

#: The platform checked manifest, context, opening kid, signer, layout, digest and signature when the
#: envelope was accepted; at the opening such a failure means the stored copy changed: the platform's
#: fault. A wrap or chunk that does not open although the bidder signed exactly those bytes was sealed
#: wrongly by the bidder's own tool or key.
_CAUSE_BY_FAILURE = {
    Failure.WRAP: Cause.BIDDER_CERT,
    Failure.CHUNK_AUTH: Cause.BIDDER_CERT,
}


def cause_of(kind: str) -> Cause:
    """The cause category of a failure kind: an envelope Failure value, "price_sheet.*" (the bidder's
    own content), or "platform.*" (missing blob, internal error)."""
    if kind.startswith("price_sheet."):
        return Cause.BIDDER_CERT
    for failure, cause in _CAUSE_BY_FAILURE.items():
        if failure.value == kind:
            return cause
    return Cause.PLATFORM


def consequence_of(cause: str) -> Consequence:
    return Consequence.REVOCATION if cause in (Cause.BIDDER_CERT, Cause.BIDDER_NETWORK) else Consequence.WITHDRAWAL


def is_valid_offer(parts: dict[str, str]) -> bool:
    """A bidder's offer counts when its price part opened and no accepted part failed. `parts` maps
    part → "opened" | "failed" for the bidder's accepted envelopes."""
    return parts.get("price") == "opened" and all(v == "opened" for v in parts.values())


# --- 流标: next steps ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NextStep:
    code: str
    zh: str
    en: str
    basis: str


_RETENDER = NextStep("re_announce", "修改招标文件后重新招标（重新发布招标公告）", "Fix the documents and tender again",
                     "招标投标法第二十八条；实施条例第四十四条")
_TENDER_APPROVAL = NextStep("no_further_tender", "依法必须招标项目重新招标后仍不足三家的，报项目审批、核准部门批准后可不再招标",
                            "After a second failure, the approving department may allow no further tender",
                            "工程建设项目施工招标投标办法第三十八条")
_GP_RETENDER = NextStep("re_announce", "修改采购文件后重新组织采购（重新发布公告）", "Fix the documents and procure again",
                        "政府采购法第三十六条；87号令第四十三条")
_GP_SWITCH = NextStep("switch_method", "经设区的市级以上财政部门批准，变更采购方式（竞争性谈判、单一来源等）",
                      "Switch the procurement method with the finance department's approval",
                      "政府采购法第三十七条；87号令第四十三条")
_RESELECT = NextStep("re_announce", "重新发布公告，重新组织", "Announce and run the procedure again", "74号令")
_SWITCH = NextStep("switch_method", "按规定报批后变更交易方式", "Switch the method after approval", "74号令第二十七条")
_LAND = NextStep("re_announce", "终止本次出让，重新公告出让（或改为拍卖、挂牌）",
                 "End this grant and announce again (or switch to auction or listing)", "39号令第十三条")

NEXT_STEPS: dict[str, tuple[NextStep, ...]] = {
    "tender": (_RETENDER, _TENDER_APPROVAL),
    "gp_tender": (_GP_RETENDER, _GP_SWITCH),
    "selection": (_RESELECT, _SWITCH),
    "negotiation": (_RESELECT, _SWITCH),
    "consultation": (_RESELECT, _SWITCH),
    "inquiry": (_RESELECT, _SWITCH),
    "land_tender": (_LAND,),
    "mining_tender": (_LAND,),
}


def next_steps(procedure: str) -> tuple[NextStep, ...]:
    return NEXT_STEPS.get(procedure, (_RESELECT,))


# --- the sealed reserve price (底价): auction lots and 招标出让 lots -----------------------------------

def parse_reserve_sheet(plain: bytes) -> int:
    """The plaintext of a reserve envelope (part "reserve"): UTF-8 JSON {"v": 1, "reserve_fen":
    <positive integer>}, exactly these keys. Anything else raises ValueError with a short reason."""
    try:
        data = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("reserve sheet is not UTF-8 JSON") from None
    if not isinstance(data, dict) or set(data) != {"v", "reserve_fen"}:
        raise ValueError("reserve sheet needs exactly the keys v and reserve_fen")
    fen, v = data["reserve_fen"], data["v"]
    if type(v) is not int or v != 1:
        raise ValueError("reserve sheet version is not 1")
    if type(fen) is not int or fen <= 0:
        raise ValueError("reserve_fen is not a positive integer")
    return fen


def reserve_sheet(reserve_fen: int) -> bytes:
    return json.dumps({"v": 1, "reserve_fen": reserve_fen}, separators=(",", ":")).encode("ascii")


# --- the record ---------------------------------------------------------------------------------------

def canonical_json(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_digest(body: dict) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


def may_respond(now: datetime, respond_until: datetime) -> bool:
    return now < respond_until
