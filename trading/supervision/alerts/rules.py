"""Electronic supervision rules (电子监察, rules.md §5.1–5.2), pure: plain facts in, findings out.

Each rule is a function over plain values (no Flask, no SQLAlchemy, time comes in as `now`) that
returns zero or more `Finding`s: the rule code, severity, a subject key (an alert is unique per
rule + subject, so re-evaluating the same facts raises nothing new), a short statement in Chinese
and English, and the evidence (audit seqs, lots, organisations, the figures that tripped it).
Thresholds are rule settings (`alerts.*`), passed in by the caller as `settings`.

Severities follow the data spec's 报警等级 as the supervisor dashboard shows them: "red" (严重) and
"yellow" (警告)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import mean, pstdev

from trading.reference.settings import SettingDef, define

RED, YELLOW = "red", "yellow"
SEVERITIES = (RED, YELLOW)

define(
    SettingDef("alerts.same_ip_min_bidders", 2, "count", "rules.md §5.2 RF-04 [P]", "同一IP预警：最少投标人数",
               "Same IP: fewest bidders sharing it", 2, 50),
    SettingDef("alerts.price_progression_cv_bp", 100, "bp", "rules.md §5.2 RF-05 [P]（差值变异系数 < 1 %）",
               "报价等差：差值变异系数上限", "Arithmetic progression: CV of the differences below", 0, 5000),
    SettingDef("alerts.price_close_pair_bp", 50, "bp", "rules.md §5.2 RF-05 [P]（两家报价相差 ≤ 0.5 %）",
               "报价接近：两家相差上限", "Near-identical prices: relative difference at most", 0, 5000),
    SettingDef("alerts.price_cluster_cv_bp", 500, "bp", "rules.md §5.2 RF-05 [P]（全部报价变异系数 < 5 %）",
               "报价聚集：变异系数上限", "Clustered prices: CV of all prices below", 0, 5000),
    SettingDef("alerts.price_min_bidders", 3, "count", "rules.md §5.2 RF-05 [P]", "报价规律分析最少报价数",
               "Fewest prices for a price-pattern check", 3, 50),
    SettingDef("alerts.near_ceiling_bp", 100, "bp", "OCP i171 [S]（距最高限价 ≤ 1 %）", "贴近最高限价：距限价比例上限",
               "Bid close to the ceiling: at most this far below", 0, 5000),
    SettingDef("alerts.repeat_win_count", 3, "count", "OCP i077 [S]（365日内同一采购人 ≥ 3 次）",
               "同一采购人重复中标次数", "Wins with one buyer that raise an alert", 2, 100),
    SettingDef("alerts.repeat_win_days", 365, "CD", "OCP i077 [S]", "重复中标统计天数", "Repeat-win window (days)", 30, 3650),
    SettingDef("alerts.rotation_min_lots", 3, "count", "rules.md §5.2 RF-11 [P]; OCP i083 [S]",
               "陪标轮换：同一组投标人共同出现的最少标段数", "Rotation: fewest lots one group bid together", 2, 100),
    SettingDef("alerts.rotation_min_group", 3, "count", "rules.md §5.2 RF-11 [P]", "陪标轮换：投标人组最少家数",
               "Rotation: fewest bidders in the group", 2, 20),
    SettingDef("alerts.withdrawal_window_h", 24, "count", "rules.md §5.2 RF-10 [P]（截止前 24 小时内）",
               "异常撤回：截止前小时数", "Abnormal withdrawals: hours before the deadline", 1, 720),
    SettingDef("alerts.withdrawal_min", 2, "count", "rules.md §5.2 RF-10 [P]", "异常撤回：最少撤回家数",
               "Abnormal withdrawals: fewest bidders withdrawing", 2, 50),
    SettingDef("alerts.high_win_bp", 5000, "bp", "rules.md §5.2 RF-11 [P]（“标王”中标率 ≥ 50 %）",
               "“标王”：中标率下限", "Habitual winner: win rate at least", 1, 10_000),
    SettingDef("alerts.high_win_min_bids", 6, "count", "rules.md §5.2 RF-11 [P]", "“标王”：最少投标次数",
               "Habitual winner: fewest decided bids", 2, 1000),
    SettingDef("alerts.low_win_bp", 500, "bp", "rules.md §5.2 RF-11 [P]（“陪标专业户”中标率 ≤ 5 %）",
               "“陪标专业户”：中标率上限", "Habitual cover bidder: win rate at most", 0, 10_000),
    SettingDef("alerts.low_win_min_bids", 10, "count", "rules.md §5.2 RF-11 [P]", "“陪标专业户”：最少投标次数",
               "Habitual cover bidder: fewest decided bids", 2, 1000),
)


@dataclass(frozen=True)
class Basis:
    code: str
    zh: str
    en: str
    legal: str


#: the rules, their names and legal basis (shown on the alert)
RULES: dict[str, Basis] = {b.code: b for b in (
    Basis("RF-04", "不同投标人使用同一IP地址", "Bidders acting from the same IP address",
          "电子监察规则 RF-01/RF-04；《招标投标法实施条例》第四十条"),
    Basis("RF-02", "不同投标人的投标文件异常一致", "Different bidders' files are identical",
          "《招标投标法实施条例》第四十条（四）；87号令第三十七条"),
    Basis("RF-07", "不同投标人的保证金从同一账户转出", "Deposits of different bidders paid from one account",
          "《招标投标法实施条例》第四十条（六）；87号令第三十七条"),
    Basis("RF-06", "不同投标人的联系人或联系电话相同", "Different bidders share a contact person or phone",
          "《招标投标法实施条例》第四十条（三）；87号令第三十七条"),
    Basis("RF-05", "投标报价呈规律性差异", "Prices differ by a regular pattern",
          "《招标投标法实施条例》第四十条（四）；电子监察规则 RF-05"),
    Basis("RF-05C", "投标报价异常接近或高度聚集", "Prices near-identical or tightly clustered",
          "电子监察规则 RF-05；OCP R028"),
    Basis("OCP-i171", "投标报价贴近最高限价", "Bid just under the ceiling price", "OCP 风险指标 i171"),
    Basis("OCP-R018", "只有一家投标", "Single bidder", "OCP 风险指标 R018/i007"),
    Basis("OCP-R036", "最低报价被否决", "Lowest offer disqualified", "OCP 风险指标 R036；《招标投标法实施条例》第五十一条"),
    Basis("RF-13", "评标专家评分明显偏离", "Expert scores far from the rest",
          "电子监察规则 RF-13；87号令第六十四条"),
    Basis("OCP-i077", "同一供应商在同一采购人处频繁中标", "One supplier wins repeatedly with one buyer",
          "OCP 风险指标 i077；1117号文（十一）“标王”"),
    Basis("RF-11", "疑似陪标轮换", "Suspected bid rotation (陪标)",
          "《招标投标法实施条例》第三十九条；1117号文（十一）；OCP i083"),
    Basis("RF-10W", "截止前多家投标人撤回投标", "Several bidders withdrew shortly before the deadline",
          "电子监察规则 RF-10；《招标投标法实施条例》第三十九条（约定部分投标人放弃投标）"),
    Basis("RF-10R", "排名第一的候选人放弃中标", "The first-ranked candidate gave up the award",
          "电子监察规则 RF-10；《招标投标法实施条例》第五十五条"),
    Basis("RF-11H", "中标率异常偏高（“标王”）", "Abnormally high win rate (标王)", "1117号文（十一）；电子监察规则 RF-11"),
    Basis("RF-11L", "中标率异常偏低（“陪标专业户”）", "Abnormally low win rate (陪标专业户)",
          "1117号文（十一）；电子监察规则 RF-11"),
    Basis("RF-15", "公告时间违反法定最短期限", "Notice dates break a statutory minimum period",
          "电子监察规则 RF-15；《招标投标法》第二十三、二十四条"),
    Basis("RF-15S", "投标截止时间被提前", "The offer deadline was brought forward",
          "电子监察规则（变更已发布公告）；OCP R003"),
)}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    subject: str
    zh: str
    en: str
    seqs: tuple[int, ...] = ()
    lots: tuple[int, ...] = ()
    orgs: tuple[int, ...] = ()
    facts: dict = field(default_factory=dict)


def _finding(rule, severity, subject, zh, en, *, seqs=(), lots=(), orgs=(), facts=None) -> Finding:
    return Finding(rule, severity, subject, zh, en, tuple(sorted(set(seqs))), tuple(sorted(set(lots))),
                   tuple(sorted(set(orgs))), dict(facts or {}))


# --- shared attributes across bidders of one lot -------------------------------------------------

@dataclass(frozen=True)
class Trace:
    """One bidder's act in a lot carrying an attribute (an IP, a digest, a payer account, a contact)."""
    org_id: int
    value: str
    seq: int | None = None


def _shared(traces: Iterable[Trace], min_orgs: int = 2) -> list[tuple[str, list[Trace]]]:
    by_value: dict[str, list[Trace]] = defaultdict(list)
    for t in traces:
        if t.value:
            by_value[t.value].append(t)
    return [(v, ts) for v, ts in sorted(by_value.items()) if len({t.org_id for t in ts}) >= min_orgs]


def same_ip(lot_id: int, traces: Iterable[Trace], settings: Mapping[str, int]) -> list[Finding]:
    """RF-04: bidders of one lot acting (registering, uploading, checking in, …) from one IP →
    yellow (NAT can explain it). Acts without a client IP (CLI, jobs) carry no value."""
    out = []
    for ip, ts in _shared(traces, settings["alerts.same_ip_min_bidders"]):
        orgs = sorted({t.org_id for t in ts})
        out.append(_finding("RF-04", YELLOW, f"lot:{lot_id}:ip:{ip}",
                            f"{len(orgs)} 家投标人从同一IP地址 {ip} 操作", f"{len(orgs)} bidders acted from IP {ip}",
                            seqs=[t.seq for t in ts if t.seq is not None], lots=[lot_id], orgs=orgs,
                            facts={"ip": ip}))
    return out


def identical_files(lot_id: int, traces: Iterable[Trace], *, stage: str) -> list[Finding]:
    """RF-02: two bidders' files with the same SHA-256 → red. `stage` "sealed": the sealed payloads
    (identical only when byte-identical, i.e. one envelope re-used); "opened": the opened documents."""
    out = []
    for digest, ts in _shared(traces):
        orgs = sorted({t.org_id for t in ts})
        what_zh, what_en = ("密封投标文件", "sealed files") if stage == "sealed" else ("解密后的投标文件", "opened files")
        out.append(_finding("RF-02", RED, f"lot:{lot_id}:{stage}:{digest}",
                            f"{len(orgs)} 家投标人的{what_zh}完全相同（SHA-256 {digest[:12]}…）",
                            f"{len(orgs)} bidders' {what_en} are identical (SHA-256 {digest[:12]}…)",
                            seqs=[t.seq for t in ts if t.seq is not None], lots=[lot_id], orgs=orgs,
                            facts={"sha256": digest, "stage": stage}))
    return out


def same_payer(lot_id: int, traces: Iterable[Trace]) -> list[Finding]:
    """RF-07: deposits of different bidders of one lot paid from one account → red."""
    return [_finding("RF-07", RED, f"lot:{lot_id}:payer:{account}",
                     f"{len({t.org_id for t in ts})} 家投标人的保证金从同一账户 {account} 转出",
                     f"Deposits of {len({t.org_id for t in ts})} bidders came from account {account}",
                     seqs=[t.seq for t in ts if t.seq is not None], lots=[lot_id],
                     orgs=[t.org_id for t in ts], facts={"payer_account": account})
            for account, ts in _shared(traces)]


def normalise_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return digits[-11:] if len(digits) >= 7 else ""


def shared_contact(lot_id: int, names: Iterable[Trace], phones: Iterable[Trace]) -> list[Finding]:
    """RF-06: bidders of one lot naming the same contact person or phone → red (statutory item 3)."""
    out = []
    for kind, traces, zh, en in (("name", names, "联系人", "contact person"), ("phone", phones, "联系电话", "contact phone")):
        for value, ts in _shared(traces):
            orgs = sorted({t.org_id for t in ts})
            out.append(_finding("RF-06", RED, f"lot:{lot_id}:{kind}:{value}",
                                f"{len(orgs)} 家投标人的{zh}相同：{value}", f"{len(orgs)} bidders share a {en}: {value}",
                                seqs=[t.seq for t in ts if t.seq is not None], lots=[lot_id], orgs=orgs,
                                facts={kind: value}))
    return out


# --- prices after the opening --------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    org_id: int
    price_fen: int | None
    valid: bool = True


def _cv_bp(values: Sequence[int]) -> int | None:
    """Coefficient of variation in basis points (population stdev / mean)."""
    if len(values) < 2:
        return None
    m = mean(values)
    if m <= 0:
        return None
    return int(Decimal(pstdev(values)) / Decimal(m) * 10_000)


def price_patterns(lot_id: int, offers: Sequence[Offer], settings: Mapping[str, int], *,
                   seq: int | None = None) -> list[Finding]:
    """RF-05 on the opened prices of one lot: sorted prices in arithmetic progression (CV of the
    consecutive differences below the setting, all differences > 0) → red; any two prices within
    `price_close_pair_bp` of each other → yellow; CV of all prices below `price_cluster_cv_bp` →
    yellow. Needs `price_min_bidders` priced offers (two prices are always "a progression")."""
    priced = sorted((o.price_fen, o.org_id) for o in offers if o.price_fen is not None and o.price_fen > 0)
    if len(priced) < settings["alerts.price_min_bidders"]:
        return []
    prices = [p for p, _ in priced]
    orgs = [o for _, o in priced]
    seqs = [seq] if seq is not None else []
    out = []
    diffs = [b - a for a, b in zip(prices, prices[1:], strict=False)]
    if all(d > 0 for d in diffs):
        cv = _cv_bp(diffs)
        if cv is not None and cv < settings["alerts.price_progression_cv_bp"]:
            out.append(_finding("RF-05", RED, f"lot:{lot_id}:progression", "开标报价呈等差数列（规律性差异）",
                                "The opened prices form an arithmetic progression", seqs=seqs, lots=[lot_id], orgs=orgs,
                                facts={"prices_fen": prices, "differences_fen": diffs, "cv_bp": cv}))
    close = []
    for (a, oa), (b, ob) in zip(priced, priced[1:], strict=False):
        if (b - a) * 10_000 <= settings["alerts.price_close_pair_bp"] * a:
            close.append([oa, ob, a, b])
    if close:
        out.append(_finding("RF-05C", YELLOW, f"lot:{lot_id}:close", "两家投标人的报价异常接近",
                            "Two bidders' prices are nearly identical", seqs=seqs, lots=[lot_id],
                            orgs=[o for c in close for o in c[:2]], facts={"pairs": close}))
    cv_all = _cv_bp(prices)
    if cv_all is not None and cv_all < settings["alerts.price_cluster_cv_bp"]:
        out.append(_finding("RF-05C", YELLOW, f"lot:{lot_id}:cluster", "全部报价高度聚集",
                            "All prices are tightly clustered", seqs=seqs, lots=[lot_id], orgs=orgs,
                            facts={"prices_fen": prices, "cv_bp": cv_all}))
    return out


def near_ceiling(lot_id: int, offers: Sequence[Offer], ceiling_fen: int | None, settings: Mapping[str, int], *,
                 seq: int | None = None) -> list[Finding]:
    """OCP i171: a price at most `near_ceiling_bp` below the ceiling (最高限价/控制价), not above it → yellow."""
    if not ceiling_fen or ceiling_fen <= 0:
        return []
    limit = settings["alerts.near_ceiling_bp"]
    hits = [o for o in offers if o.price_fen is not None and o.price_fen <= ceiling_fen
            and (ceiling_fen - o.price_fen) * 10_000 <= limit * ceiling_fen]
    if not hits:
        return []
    return [_finding("OCP-i171", YELLOW, f"lot:{lot_id}:ceiling",
                     f"{len(hits)} 家投标人的报价贴近最高限价", f"{len(hits)} bids just under the ceiling price",
                     seqs=[seq] if seq is not None else [], lots=[lot_id], orgs=[o.org_id for o in hits],
                     facts={"ceiling_fen": ceiling_fen, "prices_fen": sorted(o.price_fen for o in hits)})]


def single_bidder(lot_id: int, bidder_orgs: Iterable[int], *, seq: int | None = None) -> list[Finding]:
    """OCP R018: exactly one bidder's offer was opened in a competitive lot → yellow."""
    orgs = sorted(set(bidder_orgs))
    if len(orgs) != 1:
        return []
    return [_finding("OCP-R018", YELLOW, f"lot:{lot_id}", "本标段只有一家投标", "Only one bidder in this lot",
                     seqs=[seq] if seq is not None else [], lots=[lot_id], orgs=orgs)]


# --- evaluation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalRow:
    org_id: int
    price_fen: int | None
    rejected: bool
    reasons: tuple[str, ...] = ()
    flagged_members: tuple[int, ...] = ()


def lowest_disqualified(lot_id: int, rows: Sequence[EvalRow], *, seq: int | None = None) -> list[Finding]:
    """OCP R036: the lowest price of the report was rejected while a higher one stayed valid → yellow
    (red when every bidder but one was rejected: OCP R035/i003)."""
    priced = [r for r in rows if r.price_fen is not None]
    valid = [r for r in priced if not r.rejected]
    if not priced or not valid:
        return []
    lowest = min(r.price_fen for r in priced)
    lowest_rows = [r for r in priced if r.price_fen == lowest]
    if not all(r.rejected for r in lowest_rows):
        return []
    severity = RED if len(valid) == 1 and len(priced) >= 3 else YELLOW
    return [_finding("OCP-R036", severity, f"lot:{lot_id}", "最低报价的投标被否决", "The lowest offer was disqualified",
                     seqs=[seq] if seq is not None else [], lots=[lot_id], orgs=[r.org_id for r in lowest_rows],
                     facts={"lowest_fen": lowest, "reasons": sorted({x for r in lowest_rows for x in r.reasons}),
                            "valid_left": len(valid)})]


def expert_outliers(lot_id: int, rows: Sequence[EvalRow], *, seq: int | None = None) -> list[Finding]:
    """RF-13: the evaluation summary flagged a member's total as far from the median (the threshold
    is evaluation.deviation_points) → one yellow alert per lot naming the members and bidders."""
    flagged = [(r.org_id, m) for r in rows for m in r.flagged_members]
    if not flagged:
        return []
    members = sorted({m for _, m in flagged})
    return [_finding("RF-13", YELLOW, f"lot:{lot_id}", f"{len(members)} 名评标专家的评分明显偏离其他专家",
                     f"{len(members)} expert(s) scored far from the rest", seqs=[seq] if seq is not None else [],
                     lots=[lot_id], orgs=[o for o, _ in flagged], facts={"members": members, "pairs": flagged})]


# --- history across lots ------------------------------------------------------------------------

@dataclass(frozen=True)
class Win:
    lot_id: int
    buyer_org_id: int
    supplier_org_id: int
    at: datetime
    seq: int | None = None


def repeat_winner(wins: Sequence[Win], now: datetime, settings: Mapping[str, int]) -> list[Finding]:
    """OCP i077: one supplier awarded ≥ `repeat_win_count` lots by one buyer within the last
    `repeat_win_days` days → yellow, one alert per buyer–supplier pair."""
    since = now - timedelta(days=settings["alerts.repeat_win_days"])
    pairs: dict[tuple[int, int], list[Win]] = defaultdict(list)
    for w in wins:
        if since <= w.at <= now:
            pairs[(w.buyer_org_id, w.supplier_org_id)].append(w)
    out = []
    for (buyer, supplier), ws in sorted(pairs.items()):
        if len({w.lot_id for w in ws}) >= settings["alerts.repeat_win_count"]:
            out.append(_finding("OCP-i077", YELLOW, f"buyer:{buyer}:supplier:{supplier}",
                                f"同一供应商 {settings['alerts.repeat_win_days']} 日内在同一采购人处中标 {len(ws)} 次",
                                f"One supplier won {len(ws)} times with one buyer in {settings['alerts.repeat_win_days']} days",
                                seqs=[w.seq for w in ws if w.seq is not None], lots=[w.lot_id for w in ws],
                                orgs=[buyer, supplier], facts={"buyer_org_id": buyer, "supplier_org_id": supplier,
                                                               "wins": len(ws)}))
    return out


@dataclass(frozen=True)
class Contest:
    """A decided lot: who bid and who won."""
    lot_id: int
    bidders: frozenset[int]
    winner: int
    seq: int | None = None


def rotation(contests: Sequence[Contest], settings: Mapping[str, int]) -> list[Finding]:
    """RF-11 / OCP i083: a group of ≥ `rotation_min_group` bidders that bid together (the same
    core group within each lot's bidders) in ≥ `rotation_min_lots` lots, where the winner is always
    one of the group and at least two different members won → red (陪标 rotation: they take turns).
    The group examined for each lot is its full bidder set; a group is any lot's bidder set that
    recurs as a subset of the others."""
    min_group, min_lots = settings["alerts.rotation_min_group"], settings["alerts.rotation_min_lots"]
    out, seen = [], set()
    for c in contests:
        group = c.bidders
        if len(group) < min_group or group in seen:
            continue
        seen.add(group)
        together = [d for d in contests if group <= d.bidders and d.winner in group]
        winners = {d.winner for d in together}
        if len(together) >= min_lots and len(winners) >= 2:
            key = ",".join(str(o) for o in sorted(group))
            out.append(_finding("RF-11", RED, f"group:{key}",
                                f"{len(group)} 家投标人在 {len(together)} 个标段共同投标，中标人轮流产生",
                                f"{len(group)} bidders bid together in {len(together)} lots and took turns winning",
                                seqs=[d.seq for d in together if d.seq is not None], lots=[d.lot_id for d in together],
                                orgs=sorted(group), facts={"winners": sorted(winners), "lots": len(together)}))
    return out


# --- notices and periods ------------------------------------------------------------------------

@dataclass(frozen=True)
class Breach:
    """A statutory period a published notice does not meet (procedures.common.periods.Violation)."""
    code: str
    rule: str
    source: str
    needed: int | None
    actual: int | None
    unit: str | None


def period_breaches(lot_id: int, notice_id: int, breaches: Sequence[Breach], *, seq: int | None = None) -> list[Finding]:
    """RF-15: a published notice whose dates break a minimum period → red, one per broken rule. The
    publish service refuses such a notice; this catches one that reached the record another way
    (an edit behind the services, an import, a service that forgot the check)."""
    return [_finding("RF-15", RED, f"lot:{lot_id}:notice:{notice_id}:{b.code}",
                     f"公告{b.rule}不足法定期限（需 {b.needed}，实际 {b.actual} {b.unit or ''}）",
                     f"Notice period '{b.rule}' is below the minimum (needs {b.needed}, has {b.actual} {b.unit or ''})",
                     seqs=[seq] if seq is not None else [], lots=[lot_id],
                     facts={"notice_id": notice_id, "rule": b.rule, "source": b.source, "needed": b.needed,
                            "actual": b.actual, "unit": b.unit})
            for b in breaches]


def shortened_deadline(lot_id: int, notice_id: int | None, old: datetime | None, new: datetime | None, *,
                       seq: int | None = None) -> list[Finding]:
    """RF-15S: a change notice that brings a lot's offer deadline forward → yellow (legal when the
    minimum period still holds, but bidders who planned for the old date lose time)."""
    if old is None or new is None or new >= old:
        return []
    hours = int((old - new).total_seconds() // 3600)
    return [_finding("RF-15S", YELLOW, f"lot:{lot_id}:deadline:{new.isoformat()}",
                     f"变更公告将投标截止时间提前了 {hours} 小时", f"A change brought the deadline forward by {hours} h",
                     seqs=[seq] if seq is not None else [], lots=[lot_id],
                     facts={"notice_id": notice_id, "old": old.isoformat(), "new": new.isoformat()})]


# --- behaviour around the deadline and the award ----------------------------------------------------

def late_withdrawals(lot_id: int, deadline: datetime | None, withdrawals: Sequence[tuple[int, datetime, int | None]],
                     settings: Mapping[str, int]) -> list[Finding]:
    """RF-10: ≥ `withdrawal_min` bidders withdrew their offers within `withdrawal_window_h` hours
    before the deadline → yellow. withdrawals: (org, instant, audit seq)."""
    if deadline is None:
        return []
    since = deadline - timedelta(hours=settings["alerts.withdrawal_window_h"])
    late = [(o, at, seq) for o, at, seq in withdrawals if since <= at < deadline]
    orgs = sorted({o for o, _, _ in late})
    if len(orgs) < settings["alerts.withdrawal_min"]:
        return []
    return [_finding("RF-10W", YELLOW, f"lot:{lot_id}:withdrawals",
                     f"截止前 {settings['alerts.withdrawal_window_h']} 小时内有 {len(orgs)} 家投标人撤回投标",
                     f"{len(orgs)} bidders withdrew within {settings['alerts.withdrawal_window_h']} h of the deadline",
                     seqs=[seq for _, _, seq in late if seq is not None], lots=[lot_id], orgs=orgs,
                     facts={"withdrawn": len(orgs)})]


def first_rank_gives_up(lot_id: int, org_id: int, rank: int, reason: str, *, seq: int | None = None) -> list[Finding]:
    """RF-10: the first-ranked candidate waives the award (放弃中标, no lawful cause recorded) → red;
    force majeure, a missing bond or a finding of illegality are lawful causes and raise nothing."""
    if rank != 1 or reason not in ("waived", "refused_contract", "not_signed"):
        return []
    return [_finding("RF-10R", RED, f"lot:{lot_id}:passed:{org_id}", "排名第一的中标候选人放弃中标或拒签合同",
                     "The first-ranked candidate gave up the award or refused the contract",
                     seqs=[seq] if seq is not None else [], lots=[lot_id], orgs=[org_id], facts={"reason": reason})]


@dataclass(frozen=True)
class Record:
    """A supplier's decided bids (lots it bid in that were awarded) and its wins among them."""
    org_id: int
    bids: int
    wins: int


def win_rates(records: Sequence[Record], settings: Mapping[str, int], *, lot_id: int | None = None,
              seq: int | None = None) -> list[Finding]:
    """RF-11: a win rate ≥ `high_win_bp` over ≥ `high_win_min_bids` decided bids ("标王") → yellow;
    ≤ `low_win_bp` over ≥ `low_win_min_bids` ("陪标专业户", bidding without meaning to win) → yellow."""
    out = []
    for rec in records:
        if rec.bids <= 0:
            continue
        rate_bp = rec.wins * 10_000 // rec.bids
        facts = {"bids": rec.bids, "wins": rec.wins, "rate_bp": rate_bp}
        common = {"seqs": [seq] if seq is not None else [], "lots": [lot_id] if lot_id else [], "orgs": [rec.org_id],
                  "facts": facts}
        if rec.bids >= settings["alerts.high_win_min_bids"] and rate_bp >= settings["alerts.high_win_bp"]:
            out.append(_finding("RF-11H", YELLOW, f"supplier:{rec.org_id}:high",
                                f"该投标人 {rec.bids} 次投标中标 {rec.wins} 次，中标率异常偏高",
                                f"This bidder won {rec.wins} of {rec.bids} bids", **common))
        if rec.bids >= settings["alerts.low_win_min_bids"] and rate_bp <= settings["alerts.low_win_bp"]:
            out.append(_finding("RF-11L", YELLOW, f"supplier:{rec.org_id}:low",
                                f"该投标人 {rec.bids} 次投标仅中标 {rec.wins} 次，疑似陪标",
                                f"This bidder won only {rec.wins} of {rec.bids} bids", **common))
    return out
