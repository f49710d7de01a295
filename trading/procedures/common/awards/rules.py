"""Awards (定标/成交), pure: candidate lists, the candidate publicity (中标候选人公示), the buyer's
confirmation with its silence rule, objections (异议) and challenges (质疑) with their windows and
reply clocks, who may be awarded, the result-notice and contract clocks.

Sources (domain/rules.md §1 A9–A13, B, C9–C13, C challenges, D):
- ≤ 3 ranked candidates, published within 3 CD of the report, publicity ≥ 3 CD; 异议 only during
  the publicity, reply within 3 CD, the award waits for the reply (实施条例 53–54 [V]; 比选 [U]);
- state-funded: rank 1 unless it waives, cannot perform, posts no performance bond or acted
  illegally (实施条例 55 [V]);
- GP 谈判/询价: candidates ranked by price low → high; the buyer decides within 5 WD, silence → the
  lowest price stands (74号令 36, 49 [V]); result within 2 WD (74号令 18 [V]); 质疑 within 7 WD
  of the end of the result announcement period, reply within 7 WD (94号令 10–13 [V]);
- contract within 30 CD of the notice (招标投标法 46; 74号令 19 [V]); 招标出让: the grant contract within
  10 WD of the deal (国土资发〔2010〕34号 [U], award.land_contract_wd).

Imports: core, reference (settings, workdays), this package's periods. No Flask, no SQLAlchemy;
time comes in as `now`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from trading.core.clock import to_beijing
from trading.core.lights import Light, light
from trading.reference.settings import SettingDef, define, definition
from trading.reference.workdays import Unit, WorkCalendar, end_of_day, period_end, period_last_day

from .. import phases  # noqa: F401  (defines gp.confirm_wd and gp.result_notice_wd, shared with the stage machines)
from ..periods import end_day, fmt_bj

define(
    SettingDef("award.candidates_max", 3, "count", "实施条例 Art. 53 [V]; 比选 [U]", "中标（中选）候选人最多人数",
               "Most ranked candidates", 1, 3),
    SettingDef("award.publish_candidates_cd", 3, "CD", "实施条例 Art. 54 [V]", "收到评标报告后公示候选人期限（日）",
               "Publish the candidates within (calendar days of the report)", 1, 3),
    SettingDef("award.objection_reply_cd", 3, "CD", "实施条例 Art. 54 [V]", "异议答复期限（日）",
               "Reply to an objection within (calendar days)", 1, 3),
    SettingDef("award.gp_challenge_wd", 7, "WD", "政府采购法 Art. 52; 94号令 Art. 10–11 [V]", "质疑期限（工作日）",
               "Challenge within (working days after the result publicity)", 1, 7),
    SettingDef("award.gp_challenge_reply_wd", 7, "WD", "94号令 Art. 13 [V]", "质疑答复期限（工作日）",
               "Reply to a challenge within (working days)", 1, 7),
    SettingDef("award.contract_cd", 30, "CD", "招标投标法 Art. 46; 74号令 Art. 19 [V]", "发出通知书后签订合同期限（日）",
               "Sign the contract within (calendar days of the notice)", 1, 30),
    SettingDef("award.land_contract_wd", 10, "WD", "国土资发〔2010〕34号 [U]", "招标出让成交后签订出让合同期限（工作日）",
               "Land / mining tender: sign the grant contract within (working days of the deal)", 1, 30),
    SettingDef("award.land_result_wd", 10, "WD", "39号令 [S]", "招标出让结果公布期限（活动结束后，工作日）",
               "Land / mining tender: publish the result within (working days after the activity)", 1, 30),
    SettingDef("award.contract_warn_days", 5, "CD", "平台设定 [P]", "合同签订到期提醒（提前天数）",
               "Warn this many days before the contract is due", 0, 30),
)


class Regime(StrEnum):
    TENDER_LAW = "tender_law"  # 招标投标法 and 比选: candidate publicity, 异议
    GP = "gp"                  # 政府采购 谈判/询价/磋商: buyer confirmation, result, 质疑
    #: 招标出让 (land / mining rights, rules.md G1): no candidate publicity and no confirmation; rank 1
    #: of the signed report is awarded, the result published within award.land_result_wd
    LAND = "land"


GP_PROCEDURES = frozenset({"negotiation", "inquiry", "consultation", "gp_tender", "single_source"})
LAND_PROCEDURES = frozenset({"land_tender", "mining_tender"})


def regime_of(procedure: str) -> Regime:
    if procedure in LAND_PROCEDURES:
        return Regime.LAND
    return Regime.GP if procedure in GP_PROCEDURES else Regime.TENDER_LAW


class ListStatus(StrEnum):
    PROPOSED = "proposed"        # from the report; not yet public
    PUBLICIZED = "publicized"    # 比选: the candidate publicity is running or over
    CONFIRMED = "confirmed"      # GP: the buyer decided (or silence made rank 1 stand)
    AWARDED = "awarded"
    SUPERSEDED = "superseded"    # a later list (re-evaluation) replaced it


class ObjectionKind(StrEnum):
    OBJECTION = "objection"  # 异议 (招标投标法, 比选)
    CHALLENGE = "challenge"  # 质疑 (政府采购)


OBJECTION_KIND_LABELS = {ObjectionKind.OBJECTION: ("异议", "Objection"),
                         ObjectionKind.CHALLENGE: ("质疑", "Challenge")}


class PassReason(StrEnum):
    """Why a higher-ranked candidate is passed over (实施条例 55; 74号令 19)."""
    WAIVED = "waived"                  # 放弃中标（中选、成交）
    CANNOT_PERFORM = "cannot_perform"  # 因不可抗力不能履行合同
    NO_BOND = "no_bond"                # 未按要求提交履约保证金
    ILLEGAL = "illegal"                # 被查实存在影响结果的违法行为
    REFUSED_CONTRACT = "refused_contract"  # 拒绝签订合同
    NOT_SIGNED = "not_signed"          # 未在规定期限内签订合同


PASS_REASON_LABELS = {
    PassReason.WAIVED: ("放弃中标（中选、成交）", "Waived the award"),
    PassReason.CANNOT_PERFORM: ("因不可抗力不能履行合同", "Cannot perform (force majeure)"),
    PassReason.NO_BOND: ("未按要求提交履约保证金", "Did not post the performance bond"),
    PassReason.ILLEGAL: ("被查实存在影响结果的违法行为", "Found to have acted illegally"),
    PassReason.REFUSED_CONTRACT: ("拒绝签订合同", "Refused to sign the contract"),
    PassReason.NOT_SIGNED: ("未在规定期限内签订合同", "Did not sign within the period"),
}


@dataclass(frozen=True)
class Problem:
    """One reason an action is refused; `code` is stable (award.*)."""
    code: str
    zh: str
    en: str
    field: str | None = None


def setting(settings: Mapping[str, int], code: str) -> int:
    return int(settings.get(code, definition(code).default))


# --- candidates ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CandidateIn:
    bidder_org_id: int
    rank: int
    price_fen: int
    score: Decimal | None = None
    note: str = ""


def candidate_problems(candidates: Sequence[CandidateIn], max_n: int, regime: Regime) -> list[Problem]:
    """1..max_n candidates, ranks 1..n once each, each bidder once, positive whole-fen prices; GP:
    ranked by price from low to high (74号令 35, 48)."""
    out: list[Problem] = []
    if not 1 <= len(candidates) <= max_n:
        out.append(Problem("award.candidate_count", f"候选人应为1至{max_n}名（现为{len(candidates)}名）",
                           f"Give 1 to {max_n} candidates (now {len(candidates)})", "candidates"))
        return out
    if sorted(c.rank for c in candidates) != list(range(1, len(candidates) + 1)):
        out.append(Problem("award.candidate_ranks", "候选人排序须为1、2、3……且不重复",
                           "Ranks must be 1, 2, 3 … each once", "rank"))
    if len({c.bidder_org_id for c in candidates}) != len(candidates):
        out.append(Problem("award.candidate_duplicate", "同一投标人不能重复列为候选人",
                           "A bidder can be a candidate only once", "bidder_org_id"))
    for c in candidates:
        if isinstance(c.price_fen, bool) or not isinstance(c.price_fen, int) or c.price_fen <= 0:
            out.append(Problem("award.candidate_price", "候选人报价须为大于零的整数分",
                               "A candidate's price must be a positive amount in fen", "price_fen"))
            return out
    if regime == Regime.GP and not out:
        by_rank = sorted(candidates, key=lambda c: c.rank)
        if any(a.price_fen > b.price_fen for a, b in zip(by_rank, by_rank[1:], strict=False)):
            out.append(Problem("award.candidate_price_order", "政府采购成交候选人应按报价由低到高排序",
                               "GP candidates are ranked by price from low to high", "rank"))
    return out


# --- clocks ----------------------------------------------------------------------------------------
def publish_candidates_due(cal: WorkCalendar, report_at: datetime, settings: Mapping[str, int]) -> datetime:
    """The owner publishes the candidates within N days of receiving the report."""
    return period_end(cal, report_at, setting(settings, "award.publish_candidates_cd"), Unit.CD)


def publicity_until(cal: WorkCalendar, published_at: datetime, settings: Mapping[str, int]) -> datetime:
    """End of the candidate publicity: ≥ N calendar days, start day not counted, 24:00 of the last
    day (a rest day runs on to the next working day)."""
    return period_end(cal, published_at, setting(settings, "period.candidate_publicity_cd"), Unit.CD)


def confirm_due(cal: WorkCalendar, report_at: datetime, settings: Mapping[str, int]) -> datetime:
    """GP: the buyer decides within N working days of receiving the report."""
    return period_end(cal, report_at, setting(settings, "gp.confirm_wd"), Unit.WD)


def result_due(cal: WorkCalendar, determined_at: datetime, settings: Mapping[str, int]) -> datetime:
    return period_end(cal, determined_at, setting(settings, "gp.result_notice_wd"), Unit.WD)


def land_result_due(cal: WorkCalendar, activity_end: datetime, settings: Mapping[str, int]) -> datetime:
    """招标出让: the result is published within award.land_result_wd (10) working days of the end of
    the activity (the signed report), 24:00 Beijing of the last day (39号令 [S])."""
    return period_end(cal, activity_end, setting(settings, "award.land_result_wd"), Unit.WD)


def result_publicity_until(cal: WorkCalendar, published_at: datetime, settings: Mapping[str, int]) -> datetime:
    return period_end(cal, published_at, setting(settings, "period.gp_result_publicity_wd"), Unit.WD)


def challenge_closes(cal: WorkCalendar, result_publicity_end: datetime, settings: Mapping[str, int]) -> datetime:
    """质疑 on the result: within N working days counted from the end of the result announcement
    period (the day it ends is the start day, not counted)."""
    last = period_last_day(cal, end_day(result_publicity_end), setting(settings, "award.gp_challenge_wd"), Unit.WD)
    return end_of_day(last)


def reply_due(cal: WorkCalendar, kind: str, filed_at: datetime, settings: Mapping[str, int]) -> datetime:
    if kind == ObjectionKind.CHALLENGE:
        return period_end(cal, filed_at, setting(settings, "award.gp_challenge_reply_wd"), Unit.WD)
    return period_end(cal, filed_at, setting(settings, "award.objection_reply_cd"), Unit.CD)


def contract_due(cal: WorkCalendar, notice_at: datetime, settings: Mapping[str, int],
                 regime: Regime = Regime.TENDER_LAW) -> datetime:
    """The contract clock from the notice of award: 30 CD (招标投标法 46; 74号令 19); 招标出让 (land /
    mining rights): the grant contract within award.land_contract_wd (10) working days of the deal
    (国土资发〔2010〕34号 [U]), 24:00 Beijing of the last day."""
    if regime == Regime.LAND:
        return period_end(cal, notice_at, setting(settings, "award.land_contract_wd"), Unit.WD)
    return period_end(cal, notice_at, setting(settings, "award.contract_cd"), Unit.CD)


def in_window(now: datetime, opens: datetime | None, closes: datetime | None) -> bool:
    """[opens, closes): open at the instant it opens, shut at the instant it closes."""
    return opens is not None and closes is not None and opens <= now < closes


# --- the buyer's confirmation (GP) ------------------------------------------------------------------
@dataclass(frozen=True)
class Confirmation:
    bidder_org_id: int
    deemed: bool  # True: the buyer was silent and rank 1 (the lowest price) stands


def effective_confirmation(confirmed_org_id: int | None, rank1_org_id: int, due_at: datetime,
                           now: datetime) -> Confirmation | None:
    """The buyer's decision if it made one; rank 1 once the period is over with no decision; None
    while the buyer may still decide."""
    if confirmed_org_id is not None:
        return Confirmation(confirmed_org_id, False)
    if now >= due_at:
        return Confirmation(rank1_org_id, True)
    return None


# --- objections ------------------------------------------------------------------------------------
def objection_window_problem(kind: str, now: datetime, opens: datetime | None, closes: datetime | None) -> Problem | None:
    if in_window(now, opens, closes):
        return None
    name_zh, name_en = OBJECTION_KIND_LABELS[ObjectionKind(kind)]
    if opens is None or now < opens:
        return Problem("award.objection_not_open", f"{name_zh}期尚未开始，现在不能提出{name_zh}",
                       f"The {name_en.lower()} window has not opened yet")
    return Problem("award.objection_window_closed",
                   f"{name_zh}期已于{_bj(closes)}届满，不能再提出{name_zh}",
                   f"The {name_en.lower()} window closed at {_bj(closes, 'en')}; no {name_en.lower()} can be filed now")


def _bj(instant: datetime, locale: str = "zh") -> str:
    return fmt_until(instant, locale)


def fmt_until(instant: datetime, locale: str = "zh") -> str:
    """The end of a period as people write it: 24:00 of its last day, not 0:00 of the next."""
    bj = to_beijing(instant)
    if bj.time() != time(0, 0):
        return fmt_bj(instant, locale)
    d = bj.date() - timedelta(days=1)
    if locale == "en":
        return f"{d.isoformat()} 24:00 (Beijing time)"
    return f"{d.year}年{d.month}月{d.day}日24时（北京时间）"


# --- the award ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CandidateFacts:
    bidder_org_id: int
    rank: int
    passed_reason: str | None = None


@dataclass(frozen=True)
class AwardFacts:
    regime: Regime
    candidates: tuple[CandidateFacts, ...]
    state_funded: bool
    publicity_until: datetime | None = None     # 比选/tender: the candidate publicity's end
    open_objections: int = 0
    confirmation: Confirmation | None = None    # GP: effective_confirmation(...)
    already_awarded: bool = False


def award_problems(facts: AwardFacts, bidder_org_id: int, now: datetime) -> list[Problem]:
    """Everything that refuses awarding `bidder_org_id` now (an empty list: it may be awarded)."""
    if facts.already_awarded:
        return [Problem("award.already_awarded", "该标段已确定中标（成交）人", "The lot is already awarded")]
    out: list[Problem] = []
    if facts.regime == Regime.TENDER_LAW:
        if facts.publicity_until is None:
            out.append(Problem("award.not_publicized", "候选人尚未公示，不能定标",
                               "The candidates have not been publicized; no award yet"))
        elif now < facts.publicity_until:
            out.append(Problem("award.publicity_running", f"候选人公示期至{_bj(facts.publicity_until)}届满，届满前不能定标",
                               f"The candidate publicity runs until {_bj(facts.publicity_until, 'en')}; no award before"))
    elif facts.regime == Regime.LAND:
        pass  # 招标出让: the signed report's ranking decides (rank 1, below)
    elif facts.confirmation is None:
        out.append(Problem("award.not_confirmed", "采购人尚未确定成交供应商，且确认期限未届满",
                           "The buyer has not confirmed a supplier and its period is still running"))
    if facts.open_objections:
        out.append(Problem("award.objection_open", f"尚有{facts.open_objections}件异议（质疑）未答复，答复前不能定标",
                           f"{facts.open_objections} objection(s) await a reply; no award before"))
    chosen = next((c for c in facts.candidates if c.bidder_org_id == bidder_org_id), None)
    if chosen is None:
        out.append(Problem("award.not_a_candidate", "所选单位不在候选人名单中", "The bidder is not a candidate",
                           "bidder_org_id"))
        return out
    if chosen.passed_reason:
        out.append(Problem("award.candidate_passed", "该候选人已被记录为放弃或不能中标", "That candidate was passed over",
                           "bidder_org_id"))
    if facts.regime == Regime.GP and facts.confirmation is not None \
            and facts.confirmation.bidder_org_id != bidder_org_id and not _higher_all_passed(facts, chosen):
        out.append(Problem("award.not_confirmed_supplier", "只能向采购人确定的成交供应商发出成交通知",
                           "Only the supplier the buyer confirmed can be awarded", "bidder_org_id"))
    elif facts.regime == Regime.LAND and not _higher_all_passed(facts, chosen):
        out.append(Problem("award.rank_one_required",
                           "招标出让应确定评标排名第一（报价最高或综合得分最高）的投标人；排名在前的放弃或不能中标并记录理由后，方可依次确定其后的投标人",
                           "A land / mining tender awards rank 1 (the highest price or the best score); a later rank "
                           "only after each higher one is recorded as waived or unable", "bidder_org_id"))
    elif (facts.state_funded or facts.regime == Regime.GP) and not _higher_all_passed(facts, chosen):
        out.append(Problem("award.rank_one_required",
                           "国有资金项目应确定排名第一的候选人；排名在前的候选人放弃或不能中标并记录理由后，方可依次确定其后的候选人",
                           "A state-funded project must award rank 1; a later rank only after each higher one is "
                           "recorded as waived or unable", "bidder_org_id"))
    return out


def _higher_all_passed(facts: AwardFacts, chosen: CandidateFacts) -> bool:
    return all(c.passed_reason for c in facts.candidates if c.rank < chosen.rank)


# --- the contract ------------------------------------------------------------------------------------


def contract_light(due_at: datetime, now: datetime, *, signed: bool, warn_days: int) -> Light:
    """The time-limit list colour of a contract: red when overdue, yellow within warn_days."""
    if signed:
        return Light.DONE
    return light(due_at, now, warn=timedelta(days=warn_days))


# --- the winner defaults: re-award to the next candidate or re-procure --------------------------------
class DefaultKind(StrEnum):
    """Why the awarded supplier will not have the contract (实施条例 55, 74; GP 实施条例 49; 74号令 19–20)."""
    REFUSED = "refused_contract"        # 拒绝签订合同
    NOT_SIGNED = "not_signed"           # 未在规定期限内签订合同
    WAIVED = "waived"                   # 放弃中标（成交）
    CANNOT_PERFORM = "cannot_perform"   # 因不可抗力不能履行合同


DEFAULT_KIND_LABELS = {
    DefaultKind.REFUSED: ("拒绝签订合同", "Refused to sign the contract"),
    DefaultKind.NOT_SIGNED: ("未在规定期限内签订合同", "Did not sign within the period"),
    DefaultKind.WAIVED: ("放弃中标（成交）", "Gave up the award"),
    DefaultKind.CANNOT_PERFORM: ("因不可抗力不能履行合同", "Cannot perform (force majeure)"),
}

#: the candidate's pass-over reason a default records (so the next rank may be chosen)
DEFAULT_PASS_REASON = {
    DefaultKind.REFUSED: PassReason.REFUSED_CONTRACT,
    DefaultKind.NOT_SIGNED: PassReason.NOT_SIGNED,
    DefaultKind.WAIVED: PassReason.WAIVED,
    DefaultKind.CANNOT_PERFORM: PassReason.CANNOT_PERFORM,
}


class DepositOutcome(StrEnum):
    FORFEIT = "forfeit"   # 不予退还
    REFUND = "refund"     # 退还（不可抗力）


def default_deposit(kind: DefaultKind) -> DepositOutcome:
    """The defaulting winner's deposit: kept (不予退还) when it refuses, does not sign in time or gives
    up without a justified cause (招标投标法实施条例 74; 74号令 20 [V]); refunded
    when force majeure prevents the contract (实施条例 55 names it apart from a refusal)."""
    return DepositOutcome.REFUND if kind == DefaultKind.CANNOT_PERFORM else DepositOutcome.FORFEIT


def default_problem(kind: DefaultKind, now: datetime, contract_due_at: datetime, *, contract_signed: bool,
                    pending: bool) -> Problem | None:
    """Whether the buyer may record the winner's default now: not once the contract is signed (that
    is performance, outside the award), not twice, and "did not sign in time" only after the period."""
    if contract_signed:
        return Problem("award.contract_signed", "合同已签订，不能再记录中标（成交）人拒签或放弃",
                       "The contract is signed; a refusal or waiver can no longer be recorded")
    if pending:
        return Problem("award.default_recorded", "已记录中标（成交）人拒签或放弃，请确定下一候选人或重新采购",
                       "The default is recorded already; award the next candidate or re-procure")
    if kind == DefaultKind.NOT_SIGNED and now < contract_due_at:
        return Problem("award.contract_period_running",
                       f"签订合同期限至{_bj(contract_due_at)}届满，届满前不能记录逾期未签订",
                       f"The contract period runs until {_bj(contract_due_at, 'en')}; not signing in time can be "
                       "recorded only after it", "kind")
    return None


def next_candidate(candidates: Sequence[CandidateFacts], excluded: int) -> CandidateFacts | None:
    """The next-ranked candidate still standing (实施条例 55; GP 实施条例 49: in the order of the list)."""
    return next((c for c in sorted(candidates, key=lambda c: c.rank)
                 if not c.passed_reason and c.bidder_org_id != excluded), None)
