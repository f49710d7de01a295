"""The expert draw, pure: avoidance filters (回避, rules.md §4.3), a deterministic random bit generator
and sampling without replacement. No Flask, no SQLAlchemy, no clock, no `random`: the same pool
snapshot, request and 32-byte seed always give the same panel, which is what makes a draw
re-runnable by a supervisor from the audit trail.

DRBG (documented so anyone can re-implement it):
    block_i = HMAC-SHA256(key=seed, msg=b"trading.expert-draw.v1" || uint64_be(i)),  i = 0, 1, 2, …
The blocks are read as a stream of unsigned 64-bit big-endian integers (4 per block, in order).
uniform(n): take the next integer x; accept when x < limit = 2^64 − (2^64 mod n) and return x mod n,
otherwise reject it and take the next one (rejection sampling: every index equally likely, no
modulo bias).
Sampling: the eligible candidates sorted by expert id, then a partial Fisher–Yates shuffle:
for i in 0 … k−1: j = i + uniform(n − i); swap a[i], a[j]. The panel is a[0:k] in that order.

Imports: core.errors only."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from trading.core.errors import RuleViolation

DRBG_LABEL = b"trading.expert-draw.v1"
SEED_BYTES = 32


class ExpertStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"


class RelationKind(StrEnum):
    EMPLOYMENT = "employment"       # 任职/受雇 (counts while it ended within the look-back)
    DIRECTORSHIP = "directorship"   # 董事、监事
    SHAREHOLDING = "shareholding"   # 股东、实际控制人
    RELATIVE = "relative"           # 近亲属是其法定代表人/负责人
    OTHER = "other"                 # 其他可能影响公正的关系


class Exclusion(StrEnum):
    """Why a candidate was not eligible; the first reason that applies is recorded."""
    EXCLUDED = "excluded"           # named outright (already on this lot's panel, declared a conflict)
    STATUS = "status"               # suspended or blacklisted
    EMPLOYER = "employer"           # works for the owner, the agency or a bidder
    RELATION = "relation"           # declared relation with one of them
    REGION = "region"               # same region as the owner (setting draw.regional_avoidance)
    UNAVAILABLE = "unavailable"     # declared unavailable on the evaluation day
    FREQUENCY = "frequency"         # too many panels for the same owner in the last 365 days


class Relation(NamedTuple):
    org_id: int
    kind: str
    from_on: date | None = None
    to_on: date | None = None       # None: current


class Candidate(NamedTuple):
    """One expert as the draw sees it (what the pool snapshot digest covers). A named tuple: a draw
    builds one per expert of the pool, 20,000 of them in the benchmark."""
    id: int
    status: str
    employer_org_id: int
    region_id: int | None = None
    relations: tuple[Relation, ...] = ()
    #: (start, end) periods declared unavailable, both days included
    unavailable: tuple[tuple[date, date], ...] = ()
    #: panels of the same owner this expert sat on in the 365 days before the draw
    recent_panels: int = 0


@dataclass(frozen=True)
class DrawRequest:
    count: int                          # experts to draw
    evaluation_on: date
    avoid_org_ids: frozenset[int]       # owner, agency, bidders, and any other the operator named
    owner_region_id: int | None = None
    exclude_expert_ids: frozenset[int] = frozenset()
    regional_avoidance: bool = False
    employment_lookback_years: int = 3
    #: at most this many panels for the same owner within 365 days; 0: no cap
    frequency_cap: int = 0


@dataclass(frozen=True)
class DrawOutcome:
    eligible_ids: tuple[int, ...]
    chosen_ids: tuple[int, ...]
    excluded: dict[int, str] = field(default_factory=dict)

    def excluded_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.excluded.values():
            counts[reason] = counts.get(reason, 0) + 1
        return dict(sorted(counts.items()))


# --- avoidance --------------------------------------------------------------------------------

def lookback_start(on: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February → 28 February)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def relation_counts(rel: Relation, avoid: frozenset[int], on: date, lookback_years: int) -> bool:
    """A declared relation with an organisation to avoid makes the expert ineligible; an employment
    only while it had not ended before the look-back start (rules.md §4.3 GP 1: within 3 years).
    Other kinds count whatever their dates: the declaration is what the expert says is current."""
    if rel.org_id not in avoid:
        return False
    if rel.kind == RelationKind.EMPLOYMENT and rel.to_on is not None:
        return rel.to_on >= lookback_start(on, lookback_years)
    return True


def exclusion_of(c: Candidate, req: DrawRequest) -> Exclusion | None:
    """The first avoidance reason that applies to the candidate, or None when eligible."""
    if c.id in req.exclude_expert_ids:
        return Exclusion.EXCLUDED
    if c.status != ExpertStatus.ACTIVE:
        return Exclusion.STATUS
    if c.employer_org_id in req.avoid_org_ids:
        return Exclusion.EMPLOYER
    if any(relation_counts(r, req.avoid_org_ids, req.evaluation_on, req.employment_lookback_years)
           for r in c.relations):
        return Exclusion.RELATION
    if req.regional_avoidance and req.owner_region_id is not None and c.region_id == req.owner_region_id:
        return Exclusion.REGION
    if any(start <= req.evaluation_on <= end for start, end in c.unavailable):
        return Exclusion.UNAVAILABLE
    if req.frequency_cap and c.recent_panels >= req.frequency_cap:
        return Exclusion.FREQUENCY
    return None


def eligible(pool: Sequence[Candidate], req: DrawRequest) -> tuple[list[int], dict[int, str]]:
    """(eligible ids sorted, {excluded id: reason})."""
    ok: list[int] = []
    excluded: dict[int, str] = {}
    for c in pool:
        reason = exclusion_of(c, req)
        if reason is None:
            ok.append(c.id)
        else:
            excluded[c.id] = reason.value
    ok.sort()
    return ok, excluded


# --- DRBG and sampling --------------------------------------------------------------------------

def drbg_words(seed: bytes) -> Iterator[int]:
    """The stream of 64-bit integers of the DRBG (see the module docstring)."""
    if len(seed) != SEED_BYTES:
        raise ValueError("the draw seed must be 32 bytes")
    counter = 0
    while True:
        block = hmac.new(seed, DRBG_LABEL + counter.to_bytes(8, "big"), hashlib.sha256).digest()
        for i in range(0, 32, 8):
            yield int.from_bytes(block[i:i + 8], "big")
        counter += 1


def uniform(words: Iterator[int], n: int) -> int:
    """An unbiased integer in [0, n) by rejection sampling."""
    if n <= 0:
        raise ValueError("n must be positive")
    limit = (1 << 64) - ((1 << 64) % n)
    while True:
        x = next(words)
        if x < limit:
            return x % n


def sample_indexes(seed: bytes, n: int, k: int) -> list[int]:
    """k distinct indexes of range(n), in draw order (partial Fisher–Yates)."""
    if not 0 <= k <= n:
        raise ValueError("cannot draw k of n")
    words = drbg_words(seed)
    a = list(range(n))
    for i in range(k):
        j = i + uniform(words, n - i)
        a[i], a[j] = a[j], a[i]
    return a[:k]


def too_few(available: int, wanted: int) -> RuleViolation:
    return RuleViolation("draw.too_few_experts",
                         f"符合条件的专家不足：需要 {wanted} 名，可抽取 {available} 名；未抽取，未记录任何结果",
                         f"Too few eligible experts: {wanted} needed, {available} available; nothing was drawn",
                         details={"needed": wanted, "available": available})


def draw(pool: Sequence[Candidate], req: DrawRequest, seed: bytes) -> DrawOutcome:
    """Filter, then sample `req.count` of the eligible ids. Raises RuleViolation when too few."""
    ids, excluded = eligible(pool, req)
    return DrawOutcome(tuple(ids), sample_eligible(ids, req.count, seed), excluded)


def plain_sample(ids: Sequence[int], k: int, seed: bytes) -> list[int]:
    """The same sampler without avoidance (the benchmark's baseline)."""
    ordered = sorted(ids)
    return [ordered[i] for i in sample_indexes(seed, len(ordered), k)]


# --- the snapshot digest -------------------------------------------------------------------------

def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def candidate_record(c: Candidate) -> list:
    """The canonical JSON form of a candidate (relations and periods sorted)."""
    rels = sorted([r.org_id, r.kind, _day(r.from_on), _day(r.to_on)] for r in c.relations) if c.relations else []
    periods = sorted([s.isoformat(), e.isoformat()] for s, e in c.unavailable) if c.unavailable else []
    return [c.id, c.status, c.employer_org_id, c.region_id, rels, periods, c.recent_panels]


def candidate_from_record(rec: Sequence) -> Candidate:
    cid, status, employer, region, rels, periods, recent = rec
    if not rels and not periods:
        return Candidate(cid, status, employer, region, (), (), recent)
    return Candidate(
        id=cid, status=status, employer_org_id=employer, region_id=region,
        relations=tuple(Relation(o, k, date.fromisoformat(f) if f else None, date.fromisoformat(t) if t else None)
                        for o, k, f, t in rels),
        unavailable=tuple((date.fromisoformat(s), date.fromisoformat(e)) for s, e in periods),
        recent_panels=recent)


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True)


def _record_json(c: Candidate, statuses: dict[str, str]) -> str:
    """json of candidate_record(c), written directly for the common candidate with no relation and no
    period (building 20,000 small lists for json.dumps costs more than the rest of the draw)."""
    if c.relations or c.unavailable:
        return _json(candidate_record(c))
    status = statuses.get(c.status)
    if status is None:
        status = statuses[c.status] = _json(c.status)
    region = "null" if c.region_id is None else int(c.region_id)
    return f"[{int(c.id)},{status},{int(c.employer_org_id)},{region},[],[],{int(c.recent_panels)}]"


def snapshot_bytes(pool: Iterable[Candidate]) -> bytes:
    """Canonical bytes of the pool snapshot: the JSON array of candidate_record(c) for the candidates
    sorted by id, compact (no spaces), ASCII only."""
    pool = list(pool)
    if any(a.id >= b.id for a, b in zip(pool, pool[1:], strict=False)):
        pool.sort(key=lambda c: c.id)
    statuses: dict[str, str] = {}
    return ("[" + ",".join(_record_json(c, statuses) for c in pool) + "]").encode("ascii")


def snapshot_from_bytes(data: bytes) -> list[Candidate]:
    return [candidate_from_record(r) for r in json.loads(data.decode("ascii"))]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ids_sha256(ids: Sequence[int]) -> str:
    """Digest of a sorted id list as committed in the audit trail: SHA-256 of its compact JSON."""
    return sha256_hex(_json([int(i) for i in ids]).encode("ascii"))


def sample_eligible(eligible_ids: Sequence[int], count: int, seed: bytes) -> tuple[int, ...]:
    """The panel from an already filtered, sorted id list (what draw() does after eligible())."""
    if len(eligible_ids) < count:
        raise too_few(len(eligible_ids), count)
    return tuple(eligible_ids[i] for i in sample_indexes(seed, len(eligible_ids), count))


# --- request as audited --------------------------------------------------------------------------

def request_record(req: DrawRequest) -> dict:
    """What the request's audit entry carries so the draw can be re-run from it."""
    return {"count": req.count, "evaluation_on": req.evaluation_on.isoformat(),
            "avoid_org_ids": sorted(req.avoid_org_ids), "owner_region_id": req.owner_region_id,
            "exclude_expert_ids": sorted(req.exclude_expert_ids), "regional_avoidance": req.regional_avoidance,
            "employment_lookback_years": req.employment_lookback_years, "frequency_cap": req.frequency_cap}


def request_from_record(rec: dict) -> DrawRequest:
    return DrawRequest(count=rec["count"], evaluation_on=date.fromisoformat(rec["evaluation_on"]),
                       avoid_org_ids=frozenset(rec["avoid_org_ids"]), owner_region_id=rec["owner_region_id"],
                       exclude_expert_ids=frozenset(rec["exclude_expert_ids"]),
                       regional_avoidance=bool(rec["regional_avoidance"]),
                       employment_lookback_years=rec["employment_lookback_years"],
                       frequency_cap=rec["frequency_cap"])
