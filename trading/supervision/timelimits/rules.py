"""Time-limit lights (限时办结, rules.md §5.3: 预警纠错 — yellow warning, red accountability), pure: the
light values and the one light function (trading.core.lights, re-exported here: the entry review,
award and deposit rules below supervision use it too), the warning thresholds as rule settings, the
step kinds with their labels, the row every step provider returns, and how the overdue list is
filtered, ordered (reddest, most overdue first) and counted.

No Flask, no SQLAlchemy; time comes in as `now`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from trading.core.errors import InvalidInput
from trading.core.lights import FINISHED, LABELS, OPEN, SEVERITY, Light, light, overdue_by  # noqa: F401
from trading.reference.settings import SettingDef, define

define(
    SettingDef("timelimit.warn_days", 1, "CD", "rules.md §5.3：到期前1日黄灯 [P]", "限时办结黄灯提前天数",
               "Yellow light this many days before a step is due", 0, 30),
    SettingDef("timelimit.warn_share_bp", 2000, "bp", "rules.md §5.3：或期限的20% [P]",
               "黄灯提前量（占期限的比例）", "Yellow light when this share of the period is left", 0, 10_000),
    SettingDef("timelimit.done_days", 30, "CD", "平台设定 [P]", "已办结事项在清单中保留天数",
               "Finished steps stay on the list this many days", 0, 366),
)

#: the settings a service reads for the list (besides the per-kind ones in WARN_DAYS_SETTING)
SETTINGS = ("timelimit.warn_days", "timelimit.warn_share_bp", "timelimit.done_days")


class StepKind(StrEnum):
    ENTRY_REVIEW = "entry_review"
    CANDIDATE_PUBLICITY = "candidate_publicity"
    BUYER_CONFIRMATION = "buyer_confirmation"
    OBJECTION_REPLY = "objection_reply"
    CHALLENGE_REPLY = "challenge_reply"
    RESULT_PUBLICATION = "result_publication"
    CONTRACT_SIGNING = "contract_signing"
    DEPOSIT_REFUND = "deposit_refund"
    MONTHLY_REPORT = "monthly_report"


KIND_LABELS: dict[str, tuple[str, str]] = {
    StepKind.ENTRY_REVIEW: ("进场审核", "Entry review"),
    StepKind.CANDIDATE_PUBLICITY: ("候选人公示", "Candidate publicity"),
    StepKind.BUYER_CONFIRMATION: ("采购人确定成交供应商", "Buyer's decision"),
    StepKind.OBJECTION_REPLY: ("异议答复", "Objection reply"),
    StepKind.CHALLENGE_REPLY: ("质疑答复", "Challenge reply"),
    StepKind.RESULT_PUBLICATION: ("结果公告", "Result announcement"),
    StepKind.CONTRACT_SIGNING: ("合同签订", "Contract signing"),
    StepKind.DEPOSIT_REFUND: ("保证金退还", "Deposit refund"),
    StepKind.MONTHLY_REPORT: ("月度统计报送", "Monthly report"),
}

#: the statutory or local basis shown beside each kind
KIND_BASIS: dict[str, str] = {
    StepKind.ENTRY_REVIEW: "限时办结 [P]",
    StepKind.CANDIDATE_PUBLICITY: "实施条例 Art. 54",
    StepKind.BUYER_CONFIRMATION: "74号令 Art. 36, 49",
    StepKind.OBJECTION_REPLY: "实施条例 Art. 54",
    StepKind.CHALLENGE_REPLY: "94号令 Art. 13",
    StepKind.RESULT_PUBLICATION: "GP 实施条例 Art. 43",
    StepKind.CONTRACT_SIGNING: "招标投标法 Art. 46; 74号令 Art. 19",
    StepKind.DEPOSIT_REFUND: "实施条例 Art. 57; 87号令 Art. 38",
    StepKind.MONTHLY_REPORT: "限时办结 [P]",
}

#: kinds whose own package already has a warning setting (in days): the list uses it so the lights
#: on the award and deposit pages and on the overdue list agree
WARN_DAYS_SETTING: dict[str, str] = {
    StepKind.CONTRACT_SIGNING: "award.contract_warn_days",
    StepKind.DEPOSIT_REFUND: "deposit.refund_warn_days",
}

#: who answers for the step (the centre, or the project's owner/agency)
CENTRE = ("交易中心", "Trading centre")


def kind_label(kind: str, locale: str = "zh", own: tuple[str, str] | None = None) -> str:
    pair = own or KIND_LABELS.get(kind)
    if pair is None:
        return kind
    return pair[1] if locale == "en" else pair[0]


def light_label(value: str, locale: str = "zh") -> str:
    zh, en = LABELS[Light(value)]
    return en if locale == "en" else zh


@dataclass(frozen=True)
class StepRow:
    """One step with a deadline, as a provider reports it. `light` may be left None: the list then
    computes it with the warning thresholds (providers that colour their own pass it in)."""
    kind: str
    #: the project's trade code or the lot code (or, for a centre task, its own code such as "2026-10")
    code: str
    name: str
    #: who answers for it: an organisation's name (or CENTRE's label) and a contact person
    responsible: str
    due_at: datetime
    done_at: datetime | None = None
    light: Light | None = None
    #: (endpoint, values) for url_for, resolved by the page; None: no page to link to
    link: tuple[str, dict] | None = None
    person: str = ""
    #: when the period started (the yellow window can be a share of it)
    start_at: datetime | None = None
    #: organisations whose project it is (owner, agency): the scope of an owner's or agency's view
    org_ids: frozenset[int] = frozenset()
    project_id: int | None = None
    #: (zh, en) label for a kind registered by another package
    kind_label: tuple[str, str] | None = None
    detail: str = ""


@dataclass(frozen=True)
class Scope:
    """What a provider is asked for. org_id: only that owner's/agency's projects; project_id: only
    that project; done_since: finished steps are wanted if they finished at or after it;
    supervision: the reader is a supervisor, who also follows steps nobody else is told of yet
    (a complaint under acceptance review)."""
    org_id: int | None = None
    project_id: int | None = None
    done_since: datetime | None = None
    supervision: bool = False

    def wants(self, row: StepRow) -> bool:
        if self.org_id is not None and self.org_id not in row.org_ids:
            return False
        if self.project_id is not None and row.project_id != self.project_id:
            return False
        if row.done_at is not None and self.done_since is not None and row.done_at < self.done_since:
            return False
        return True


def warn_window(kind: str, start_at: datetime | None, due_at: datetime, settings: Mapping[str, int]) -> timedelta:
    """The yellow window of a step: its own package's setting in days when it has one; otherwise
    timelimit.warn_days, or timelimit.warn_share_bp of the period when that is longer (rules.md §5.3:
    "1 working day (or 20 % of the period) before the due time")."""
    own = WARN_DAYS_SETTING.get(kind)
    if own is not None and own in settings:
        return timedelta(days=settings[own])
    window = timedelta(days=settings.get("timelimit.warn_days", 1))
    if start_at is not None and due_at > start_at:
        share = (due_at - start_at) * settings.get("timelimit.warn_share_bp", 0) / 10_000
        window = max(window, share)
    return window


def coloured(row: StepRow, now: datetime, settings: Mapping[str, int]) -> StepRow:
    """The row with its light (a provider's own light is kept)."""
    if row.light is not None:
        return row
    return replace(row, light=light(row.due_at, now, row.done_at,
                                    warn=warn_window(row.kind, row.start_at, row.due_at, settings)))


def sort_key(row: StepRow) -> tuple:
    """Reddest first; within red the most overdue (earliest due) first, within yellow and green the
    soonest due; finished steps: the latest finished first."""
    finished = row.done_at is not None
    return (SEVERITY[Light(row.light)], -row.done_at.timestamp() if finished else row.due_at.timestamp(),
            row.kind, row.code)


#: the lights the list shows when no filter is given: due soon or overdue
DEFAULT_LIGHTS = frozenset({Light.RED, Light.YELLOW})


def parse_lights(values: Iterable[str]) -> frozenset[Light]:
    """The light filter from a query string: empty → red and yellow; "all" → every light; an unknown
    value is refused with the values allowed."""
    wanted = [v.strip() for v in values if v and v.strip()]
    if not wanted:
        return DEFAULT_LIGHTS
    if "all" in wanted:
        return frozenset(Light)
    try:
        return frozenset(Light(v) for v in wanted)
    except ValueError:
        allowed = ", ".join([*(v.value for v in Light), "all"])
        raise InvalidInput("timelimit.bad_light", f"灯号筛选无效，可选：{allowed}",
                           f"Unknown light filter; use one of: {allowed}", field="light") from None


def parse_kinds(values: Iterable[str], known: Iterable[str]) -> frozenset[str] | None:
    """The step-kind filter: empty → every kind (None); an unknown kind is refused."""
    wanted = [v.strip() for v in values if v and v.strip()]
    if not wanted:
        return None
    known = set(known)
    bad = [v for v in wanted if v not in known]
    if bad:
        raise InvalidInput("timelimit.bad_kind", f"事项类型无效：{bad[0]}", f"Unknown step kind: {bad[0]}",
                           field="kind", details={"allowed": sorted(known)})
    return frozenset(wanted)


@dataclass(frozen=True)
class Board:
    """The overdue list: the rows shown (filtered, ordered) and the count of every light over the
    kinds selected (so the counts at the top do not change with the light filter)."""
    rows: list[StepRow]
    counts: dict[Light, int]
    lights: frozenset[Light]
    kinds: frozenset[str] | None

    @property
    def red(self) -> int:
        return self.counts.get(Light.RED, 0)

    @property
    def yellow(self) -> int:
        return self.counts.get(Light.YELLOW, 0)


def board(rows: Iterable[StepRow], lights: frozenset[Light] = DEFAULT_LIGHTS,
          kinds: frozenset[str] | None = None) -> Board:
    """Rows must be coloured already."""
    chosen = [r for r in rows if kinds is None or r.kind in kinds]
    counts = Counter(Light(r.light) for r in chosen)
    shown = sorted((r for r in chosen if r.light in lights), key=sort_key)
    return Board(shown, {lt: counts.get(lt, 0) for lt in Light}, lights, kinds)
