"""Candidate use cases: propose the ranked candidates from a report, publish the candidate publicity
(比选/tender), the buyer's confirmation (GP) with the silence rule observed and recorded once, and
passing over a candidate with a recorded reason. Objections are in objections.py; the award, the
letters and the contract in result.py.

Who: the report's signers (or the system) propose; the owner or agency of the project does the
rest. Imports: core, audit, reference, projects, accounts.rules, this package (notices, lots,
participation, stages)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.core.money import format_yuan, to_capitals
from trading.projects.models import Lot, Project
from trading.reference.services import get_calendar
from trading.reference.settings import catalogue, get_setting

from .. import services as notices
from ..lots import LotStatus, get_trade
from ..models import LotTrade, Notice
from ..participation.models import Participation
from ..rules import NoticeKind
from . import rules
from .models import Candidate, CandidateList
from .rules import CandidateIn, ListStatus, Problem, Regime
from .rules import fmt_until as fmt_bj

__all__ = ["CandidateIn", "propose_candidates", "publish_candidates", "confirm_supplier", "observe_confirmation",
           "record_deemed_confirmations", "pass_candidate", "current_list", "award_settings"]

PROPOSERS = tuple(sorted({*roles_for("award.propose"), "system"}))
MANAGERS = roles_for("award.manage")
SHARED_SETTINGS = ("period.candidate_publicity_cd", "period.gp_result_publicity_wd", "gp.confirm_wd", "gp.result_notice_wd")


def award_settings(ctx: ServiceContext) -> dict[str, int]:
    return {code: get_setting(ctx, code) for code in catalogue()
            if code.startswith("award.") or code in SHARED_SETTINGS}


def advance(ctx: ServiceContext, lot_code: str, action: str, **kw) -> None:
    """The lot's stage machine (FLOW's stages.advance), imported late: stages imports the kinds."""
    from ..stages import advance as _advance

    _advance(ctx, lot_code, action, **kw)


def refuse(problems: list[Problem], cls=RuleViolation):
    first = problems[0]
    return cls(first.code, "；".join(p.zh for p in problems), "; ".join(p.en for p in problems), field=first.field,
               details={"problems": [p.code for p in problems]})


# --- loading and access -------------------------------------------------------------------------
def project_of(ctx: ServiceContext, trade: LotTrade) -> Project:
    return ctx.session.get(Project, trade.project_id)


def acts_for(ctx: ServiceContext, project: Project) -> bool:
    return ctx.actor.org_id is not None and ctx.actor.org_id in (project.owner_org_id, project.agency_org_id)


def managed_lot(ctx: ServiceContext, lot_code: str, *, lock: bool = False) -> tuple[LotTrade, Project]:
    """The lot, when the actor is the owner or agency of its project (404 otherwise)."""
    ctx.require(*MANAGERS)
    trade = get_trade(ctx, lot_code, lock=lock)
    project = project_of(ctx, trade)
    if not acts_for(ctx, project):
        raise not_found("标段", "Lot")
    return trade, project


def current_list(ctx: ServiceContext, lot_id: int, *, lock: bool = False) -> CandidateList | None:
    stmt = (select(CandidateList).where(CandidateList.lot_id == lot_id, CandidateList.superseded_by_id.is_(None))
            .order_by(CandidateList.id.desc()).limit(1))
    if lock:
        stmt = stmt.with_for_update()
    return ctx.session.execute(stmt).scalar_one_or_none()


def require_list(ctx: ServiceContext, trade: LotTrade, *, lock: bool = False) -> CandidateList:
    cl = current_list(ctx, trade.lot_id, lock=lock)
    if cl is None:
        raise Conflict("award.no_candidates", "该标段尚无候选人名单（评审报告尚未提交）",
                       "The lot has no candidates yet (no evaluation report)")
    return cl


def participant_orgs(ctx: ServiceContext, lot_id: int) -> list[int]:
    rows = ctx.session.execute(select(Participation.bidder_org_id).where(
        Participation.lot_id == lot_id, Participation.status == "registered").order_by(Participation.id)).scalars()
    return list(rows)


def org_names(ctx: ServiceContext, org_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = ctx.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return dict(rows.all())


# --- proposing ----------------------------------------------------------------------------------
def _clean_candidates(candidates: Sequence) -> list[CandidateIn]:
    out = []
    for c in candidates:
        if not isinstance(c, CandidateIn) or isinstance(c.rank, bool) or not isinstance(c.rank, int) \
                or not isinstance(c.bidder_org_id, int):
            raise InvalidInput("award.candidate_malformed", "候选人数据不完整", "Malformed candidate", field="candidates")
        if c.score is not None and not isinstance(c.score, Decimal):
            raise InvalidInput("award.candidate_score", "得分须为十进制数", "A score must be a Decimal", field="score")
        out.append(c)
    return out


def propose_candidates(ctx: ServiceContext, lot_code: str, candidates: Sequence[CandidateIn], *,
                       report_id: int | None) -> CandidateList:
    """The ranked candidates from the signed evaluation report (or the negotiation team). A later
    report supersedes an earlier list that has not led to an award."""
    ctx.require(*PROPOSERS)
    trade = get_trade(ctx, lot_code, lock=True)
    regime = rules.regime_of(trade.procedure)
    settings = award_settings(ctx)
    cands = _clean_candidates(candidates)
    problems = rules.candidate_problems(cands, settings["award.candidates_max"], regime)
    members = set(participant_orgs(ctx, trade.lot_id))
    if not problems and any(c.bidder_org_id not in members for c in cands):
        problems.append(Problem("award.candidate_not_participant", "候选人须为参加本标段的投标人（供应商）",
                                "Every candidate must be a bidder of this lot", "bidder_org_id"))
    if problems:
        raise refuse(problems, InvalidInput)
    old = current_list(ctx, trade.lot_id, lock=True)
    if old is not None and old.status == ListStatus.AWARDED:
        raise Conflict("award.already_awarded", "该标段已确定中标（成交）人", "The lot is already awarded")
    now = ctx.now()
    cal = get_calendar(ctx)  # fail closed for a year nobody loaded
    cl = CandidateList(lot_id=trade.lot_id, report_id=report_id, regime=regime.value, status=ListStatus.PROPOSED,
                       proposed_by=ctx.actor.user_id, proposed_at=now)
    if regime == Regime.GP:
        cl.confirm_due_at = rules.confirm_due(cal, now, settings)
    elif regime == Regime.TENDER_LAW:
        cl.publish_due_at = rules.publish_candidates_due(cal, now, settings)
    # 招标出让 (Regime.LAND): no publicity, no confirmation; the award follows the report directly
    ctx.session.add(cl)
    ctx.session.flush()
    for c in sorted(cands, key=lambda c: c.rank):
        ctx.session.add(Candidate(list_id=cl.id, bidder_org_id=c.bidder_org_id, rank=c.rank, price_fen=c.price_fen,
                                  score=c.score, note=(c.note or "")[:500]))
    if old is not None:
        old.status, old.superseded_by_id = ListStatus.SUPERSEDED, cl.id
    ctx.session.flush()
    record(ctx, "award.candidates_proposed", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "list_id": cl.id, "report_id": report_id, "regime": regime.value,
                    "candidates": [{"bidder_org_id": c.bidder_org_id, "rank": c.rank, "price_fen": c.price_fen,
                                    "score": str(c.score) if c.score is not None else None} for c in cands],
                    "publish_due_at": cl.publish_due_at, "confirm_due_at": cl.confirm_due_at,
                    "supersedes": old.id if old is not None else None})
    return cl


# --- the candidate publicity (比选 / tender) -------------------------------------------------------
def candidates_body(ctx: ServiceContext, project: Project, lot: Lot, cl: CandidateList, until: datetime) -> str:
    names = org_names(ctx, [c.bidder_org_id for c in cl.candidates])
    lines = [f"项目名称：{project.name}", f"项目编号：{project.trade_code or project.id}", f"标段（包）：{lot.name}（{lot.code}）",
             "", "一、中标（中选）候选人"]
    for c in cl.candidates:
        score = f"，综合得分 {c.score}" if c.score is not None else ""
        lines.append(f"第{c.rank}名：{names.get(c.bidder_org_id, c.bidder_org_id)}，报价 {format_yuan(c.price_fen)} 元"
                     f"（{to_capitals(c.price_fen)}）{score}")
    lines += ["", f"二、公示期：自发布之日起至{fmt_bj(until)}止。",
              "三、参加本标段的投标人对评审结果有异议的，应在公示期内通过本平台提出；招标人（比选人）自收到异议之日起3日内答复，"
              "答复前暂停定标。"]
    return "\n".join(lines)


def publish_candidates(ctx: ServiceContext, lot_code: str, *, title: str | None = None) -> Notice:
    """Publish the 中标（中选）候选人公示 now: publicity ≥ N calendar days (setting), the publish
    clock (within N days of the report) recorded with its outcome; the lot enters its publicity."""
    trade, project = managed_lot(ctx, lot_code, lock=True)
    cl = require_list(ctx, trade, lock=True)
    if cl.regime == Regime.LAND:
        raise Conflict("award.no_publicity", "招标出让不公示候选人，按评标结果直接确定中标人",
                       "Land / mining tenders publicize no candidates; the evaluation's rank 1 is awarded")
    if cl.regime != Regime.TENDER_LAW:
        raise Conflict("award.no_publicity", "政府采购项目不公示候选人，由采购人确认成交供应商",
                       "GP lots do not publicize candidates; the buyer confirms the supplier")
    if cl.status != ListStatus.PROPOSED:
        raise Conflict("award.already_publicized", "候选人已公示", "The candidates are already publicized")
    now = ctx.now()
    settings = award_settings(ctx)
    until = rules.publicity_until(get_calendar(ctx), now, settings)
    lot = ctx.session.get(Lot, trade.lot_id)
    notice = notices.create_notice(ctx, project.id, kind=NoticeKind.CANDIDATES, lot_id=lot.id,
                                   title=(title or f"{project.name}{lot.name}中标（中选）候选人公示")[:200],
                                   body=candidates_body(ctx, project, lot, cl, until), publicity_until=until)
    notices.publish_notice(ctx, notice.id)
    cl.status, cl.notice_id, cl.publicity_from, cl.publicity_until = ListStatus.PUBLICIZED, notice.id, now, until
    late = cl.publish_due_at is not None and now >= cl.publish_due_at
    ctx.session.flush()
    record(ctx, "award.candidates_publicized", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "list_id": cl.id, "notice_id": notice.id, "publicity_from": now,
                    "publicity_until": until, "publish_due_at": cl.publish_due_at, "late": late})
    advance(ctx, lot_code, "publicize", facts={"publicity_from": now, "publicity_until": until},
            detail={"notice_id": notice.id, "publicity_until": until.isoformat()})
    return notice


# --- the buyer's confirmation (GP) ----------------------------------------------------------------
def first_standing(cl: CandidateList) -> Candidate:
    return next(c for c in cl.candidates if not c.passed_reason) if any(
        not c.passed_reason for c in cl.candidates) else cl.candidates[0]


def observe_confirmation(ctx: ServiceContext, cl: CandidateList) -> rules.Confirmation | None:
    """The buyer's decision, or — once its period is over in silence — rank 1 (the lowest price),
    recorded in the audit trail the first time anyone observes it (idempotent)."""
    if cl.regime != Regime.GP or cl.confirm_due_at is None:
        return None
    now = ctx.now()
    rank1 = first_standing(cl)
    conf = rules.effective_confirmation(cl.confirmed_bidder_org_id, rank1.bidder_org_id, cl.confirm_due_at, now)
    if conf is not None and conf.deemed and cl.confirmation is None:
        # an automatic step, whoever observed it: recorded (and the lot moved) by the system
        sys_ctx = ServiceContext(session=ctx.session, clock=ctx.clock, ip=ctx.ip, locale=ctx.locale, cache=ctx.cache)
        cl.confirmed_bidder_org_id, cl.confirmed_at, cl.confirmation = conf.bidder_org_id, cl.confirm_due_at, "deemed"
        cl.status = ListStatus.CONFIRMED
        ctx.session.flush()
        trade = ctx.session.get(LotTrade, cl.lot_id)
        record(sys_ctx, "award.confirmation_deemed", "lot", cl.lot_id, project_id=trade.project_id,
               payload={"lot_code": trade.lot_code, "list_id": cl.id, "bidder_org_id": conf.bidder_org_id,
                        "rank": rank1.rank, "confirm_due_at": cl.confirm_due_at, "observed_at": now})
        if trade.status == LotStatus.REPORTED:  # a re-confirmation after a pass-over keeps the stage
            advance(sys_ctx, trade.lot_code, "confirm",
                    detail={"list_id": cl.id, "bidder_org_id": conf.bidder_org_id, "deemed": True})
    return conf


def record_deemed_confirmations(ctx: ServiceContext) -> list[int]:
    """Housekeeping (flask awards housekeeping): every GP list whose confirmation period ended in
    silence gets its deemed confirmation recorded. Returns the list ids recorded now."""
    lists = ctx.session.execute(select(CandidateList).where(
        CandidateList.regime == Regime.GP, CandidateList.status == ListStatus.PROPOSED,
        CandidateList.superseded_by_id.is_(None), CandidateList.confirm_due_at <= ctx.now())
        .order_by(CandidateList.id)).scalars().all()
    done = []
    for cl in lists:
        conf = observe_confirmation(ctx, cl)
        if conf is not None and conf.deemed:
            done.append(cl.id)
    return done


def _candidate(cl: CandidateList, bidder_org_id: object) -> Candidate:
    chosen = next((c for c in cl.candidates if c.bidder_org_id == bidder_org_id), None)
    if chosen is None:
        raise InvalidInput("award.not_a_candidate", "所选单位不在候选人名单中", "The bidder is not a candidate",
                           field="bidder_org_id")
    return chosen


def confirm_supplier(ctx: ServiceContext, lot_code: str, bidder_org_id: int) -> CandidateList:
    """GP: the buyer confirms the supplier within its period — the lowest price (rank 1) unless each
    higher rank was passed over with a recorded reason."""
    trade, _project = managed_lot(ctx, lot_code, lock=True)
    cl = require_list(ctx, trade, lock=True)
    if cl.regime != Regime.GP:
        raise Conflict("award.no_confirmation", "比选（招标）项目在公示期满后直接定标",
                       "比选 and tender lots award after the publicity; there is no buyer confirmation")
    if cl.status != ListStatus.PROPOSED:
        raise Conflict("award.already_confirmed", "成交供应商已确定", "The supplier is already confirmed")
    now = ctx.now()
    if now >= cl.confirm_due_at:
        raise RuleViolation("award.confirm_period_over",
                            f"确认期限已于{fmt_bj(cl.confirm_due_at)}届满，视为确定排名第一（报价最低）的候选人",
                            f"The confirmation period ended at {fmt_bj(cl.confirm_due_at, 'en')}; rank 1 (the "
                            "lowest price) is deemed confirmed")
    chosen = _candidate(cl, bidder_org_id)
    if any(c.rank < chosen.rank and not c.passed_reason for c in cl.candidates):
        raise RuleViolation("award.rank_one_required", "应确定报价最低（排名第一）的候选人；排名在前者放弃或不能成交并记录理由后方可顺延",
                            "Confirm the lowest price (rank 1); a later rank only after each higher one is recorded "
                            "as waived or unable", field="bidder_org_id")
    cl.confirmed_bidder_org_id, cl.confirmed_at, cl.confirmation = chosen.bidder_org_id, now, "buyer"
    cl.status = ListStatus.CONFIRMED
    ctx.session.flush()
    record(ctx, "award.supplier_confirmed", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "list_id": cl.id, "bidder_org_id": chosen.bidder_org_id,
                    "rank": chosen.rank, "confirm_due_at": cl.confirm_due_at})
    if trade.status == LotStatus.REPORTED:  # a re-confirmation after a pass-over keeps the stage
        advance(ctx, lot_code, "confirm",
                detail={"list_id": cl.id, "bidder_org_id": chosen.bidder_org_id, "deemed": False})
    return cl


def pass_candidate(ctx: ServiceContext, lot_code: str, bidder_org_id: int, reason: str, note: str = "") -> Candidate:
    """Record why a candidate cannot be awarded (it waived, cannot perform, …): the next rank may then
    be chosen (实施条例 55). Before the award; the record stays."""
    trade, _project = managed_lot(ctx, lot_code, lock=True)
    cl = require_list(ctx, trade, lock=True)
    if cl.status == ListStatus.AWARDED:
        raise Conflict("award.already_awarded", "该标段已确定中标（成交）人", "The lot is already awarded")
    try:
        reason = rules.PassReason(reason)
    except ValueError:
        raise InvalidInput("award.pass_reason", "请选择不能中标的理由", "Choose the reason", field="reason") from None
    note = (note or "").strip()
    if not 4 <= len(note) <= 500:
        raise InvalidInput("award.pass_note", "请写明事实和依据（4–500 字）", "Give the facts and basis (4–500 characters)",
                           field="note")
    chosen = _candidate(cl, bidder_org_id)
    if chosen.passed_reason:
        raise Conflict("award.candidate_passed", "该候选人已被记录为放弃或不能中标", "That candidate was passed over already")
    if cl.confirmed_bidder_org_id == chosen.bidder_org_id:
        cl.confirmed_bidder_org_id, cl.confirmed_at, cl.confirmation = None, None, None
        cl.status = ListStatus.PROPOSED
    chosen.passed_reason, chosen.passed_note, chosen.passed_at = reason.value, note, ctx.now()
    ctx.session.flush()
    record(ctx, "award.candidate_passed", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "list_id": cl.id, "bidder_org_id": chosen.bidder_org_id,
                    "rank": chosen.rank, "reason": reason.value, "note": note})
    return chosen
