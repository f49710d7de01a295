"""竞争性谈判 use cases after the first responses are opened (74号令 Art. 31–37): start the negotiation,
rounds (open, close — the round's sealed quotes then open by custodians, quotes.py), changes to the
requirements (proposed by the team, confirmed by the buyer, published identically to every supplier
still in), the team's separate sessions with each supplier, a supplier's withdrawal before the final
offer (deposit refund period started), the final-offer round and its close (→ evaluation, or
termination when fewer than the minimum remain). Each verb audits in the caller's transaction and
refuses bad input with a DomainError before changing anything; lot states move only through
stages.advance (this kind's machine in rules.py).

The team's composition comes from evaluation (a layer to the right): start_negotiation takes it
from `team_size`/`team_experts` or from the source evaluation registers with `set_team_source`.

Imports: core, audit, accounts, projects, procedures.common, this package. Never Flask."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.core.context import SYSTEM, ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from trading.projects.models import Project

from ..common import stages
from ..common.lots import get_trade
from ..common.models import LotTrade
from ..common.opening.models import OpeningResult
from ..common.opening.rules import is_valid_offer
from . import quotes, rules
from .models import (
    NegotiationCase,
    NegotiationReport,
    NegotiationRound,
    NegotiationSession,
    NegotiationSupplier,
    RequirementChange,
)

#: (ctx, lot_id) → (team size, experts) of the lot's active 谈判小组; evaluation registers it
_team_source: Callable[[ServiceContext, int], tuple[int, int] | None] | None = None
SOURCES = ("announcement", "database", "buyer", "expert")
MAX_TEXT = 20000


def set_team_source(fn: Callable[[ServiceContext, int], tuple[int, int] | None] | None) -> None:
    global _team_source
    _team_source = fn


def _text(value: object, field: str, zh: str, en: str) -> str:
    text = (value if isinstance(value, str) else "").strip()
    if not text:
        raise InvalidInput(f"negotiation.{field}_required", zh, en, field=field)
    if len(text) > MAX_TEXT:
        raise InvalidInput("negotiation.text_too_long", f"内容至多 {MAX_TEXT} 字", f"At most {MAX_TEXT} characters",
                           field=field)
    return text


def _trade(ctx: ServiceContext, lot_code: str) -> LotTrade:
    trade = get_trade(ctx, lot_code)
    if trade.procedure != rules.PROCEDURE:
        raise Conflict("negotiation.not_negotiation", "该标段不是竞争性谈判项目", "This lot is not a competitive negotiation")
    return trade


def _case(ctx: ServiceContext, trade: LotTrade) -> NegotiationCase:
    case = ctx.session.get(NegotiationCase, trade.lot_id)
    if case is None:
        raise Conflict("negotiation.not_started", "竞争性谈判尚未开始", "The negotiation has not started")
    return case


def active_suppliers(ctx: ServiceContext, lot_id: int) -> list[NegotiationSupplier]:
    return list(ctx.session.execute(select(NegotiationSupplier).where(
        NegotiationSupplier.lot_id == lot_id, NegotiationSupplier.status == "active")
        .order_by(NegotiationSupplier.id)).scalars())


def current_round(ctx: ServiceContext, lot_id: int) -> NegotiationRound | None:
    return ctx.session.execute(select(NegotiationRound).where(NegotiationRound.lot_id == lot_id)
                               .order_by(NegotiationRound.no.desc()).limit(1)).scalar_one_or_none()


def rounds(ctx: ServiceContext, lot_id: int) -> list[NegotiationRound]:
    return list(ctx.session.execute(select(NegotiationRound).where(NegotiationRound.lot_id == lot_id)
                                    .order_by(NegotiationRound.no)).scalars())


def _case_facts(ctx: ServiceContext, trade: LotTrade, case: NegotiationCase | None, **extra) -> dict:
    rnd = current_round(ctx, trade.lot_id)
    facts = {"suppliers": len(active_suppliers(ctx, trade.lot_id)),
             "open_round": rnd is not None and rnd.closed_at is None,
             "round_closes_at": rnd.closes_at if rnd is not None and rnd.closed_at is None else None}
    if case is not None:
        facts.update(prior_tender_failed=case.prior_tender_failed, approval_ref=case.approval_ref,
                     panel_size=case.team_size, panel_experts=case.team_experts)
    facts.update(extra)
    return facts


# --- start ----------------------------------------------------------------------------------------

def _valid_responders(ctx: ServiceContext, lot_id: int) -> list[int]:
    parts: dict[int, dict[str, str]] = {}
    for org, part, outcome in ctx.session.execute(select(
            OpeningResult.bidder_org_id, OpeningResult.part, OpeningResult.outcome)
            .where(OpeningResult.lot_id == lot_id)).all():
        parts.setdefault(org, {})[part] = outcome
    return sorted(org for org, p in parts.items() if is_valid_offer(p))


def start_negotiation(ctx: ServiceContext, lot_code: str, *, team_size: int | None = None,
                      team_experts: int | None = None, sources: Mapping[int, str] | None = None,
                      prior_tender_failed: bool = False, approval_ref: str = "") -> NegotiationCase:
    """opened → negotiating: the suppliers whose first response opened valid join; guards: the team
    (≥ 3, odd, experts ≥ 2/3), the buyer's share of recommended suppliers (≤ 50 %), ≥ 3 suppliers
    (2 only with a failed prior tender AND an approval reference)."""
    trade = _trade(ctx, lot_code)
    if ctx.session.get(NegotiationCase, trade.lot_id) is not None:
        raise Conflict("negotiation.already_started", "竞争性谈判已开始", "The negotiation has already started")
    # a drawn panel decides the team's composition; figures typed by the caller count only without one
    team = _team_source(ctx, trade.lot_id) if _team_source is not None else None
    if team is not None:
        team_size, team_experts = team
    sources = dict(sources or {})
    responders = _valid_responders(ctx, trade.lot_id)
    for org_id, src in sources.items():
        if src not in SOURCES or org_id not in responders:
            raise InvalidInput("negotiation.source", "供应商来源不正确（须为有效响应的供应商：公告、供应商库、采购人推荐或专家推荐）",
                               "Unknown supplier or source (announcement, database, buyer, expert)", field="sources")
    approval_ref = (approval_ref or "").strip()[:100]
    facts = _case_facts(ctx, trade, None, suppliers=len(responders), panel_size=team_size,
                        panel_experts=team_experts, prior_tender_failed=bool(prior_tender_failed),
                        approval_ref=approval_ref,
                        recommended_buyer=sum(1 for s in sources.values() if s == "buyer"),
                        recommended_expert=sum(1 for s in sources.values() if s == "expert"))
    detail = {"suppliers": responders, "team_size": team_size, "team_experts": team_experts,
              "prior_tender_failed": bool(prior_tender_failed), "approval_ref": approval_ref,
              "sources": {str(k): v for k, v in sources.items()}}
    stages.advance(ctx, lot_code, "start_negotiation", facts=facts, detail=detail)
    now = ctx.now()
    entry = record(ctx, "negotiation.started", "lot", trade.lot_id, project_id=trade.project_id,
                   payload={"lot_code": lot_code, **detail, "min_suppliers": rules.min_suppliers(facts)})
    case = NegotiationCase(lot_id=trade.lot_id, started_at=now, started_by=ctx.actor.user_id, team_size=team_size,
                           team_experts=team_experts, prior_tender_failed=bool(prior_tender_failed),
                           approval_ref=approval_ref, min_suppliers=rules.min_suppliers(facts), audit_seq=entry.seq)
    ctx.session.add(case)
    ctx.session.add_all([NegotiationSupplier(lot_id=trade.lot_id, bidder_org_id=org, joined_at=now,
                                             source=sources.get(org, "announcement")) for org in responders])
    ctx.session.flush()
    return case


# --- rounds -------------------------------------------------------------------------------------

def _require_team(ctx: ServiceContext, trade: LotTrade) -> None:
    """Team steps: the operator or the project's agency (the same check stages.advance makes)."""
    if ctx.actor.has("operator", "system"):
        return
    if ctx.actor.has("agency"):
        project = ctx.session.get(Project, trade.project_id)
        if ctx.actor.org_id == project.agency_org_id:
            return
    raise Forbidden("negotiation.team_only", "只有交易中心或本项目代理机构可以记录谈判小组的操作",
                    "Only the centre or the project's agency records the team's steps")


def _closes_at(ctx: ServiceContext, closes_at: object) -> datetime:
    if not isinstance(closes_at, datetime) or closes_at.tzinfo is None:
        raise InvalidInput("negotiation.closes_at", "请填写本轮报价截止时间", "Give the round's closing time", field="closes_at")
    if closes_at <= ctx.now():
        raise InvalidInput("negotiation.closes_at_past", "本轮报价截止时间须晚于当前时间",
                           "The round must close later than now", field="closes_at")
    return closes_at


def open_round(ctx: ServiceContext, lot_code: str, *, closes_at: datetime) -> NegotiationRound:
    """A new normal round (the lot stays negotiating) with its own opening key; refused while the
    previous round is open."""
    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    _case(ctx, trade)
    if trade.status != "negotiating":
        raise Conflict("negotiation.not_negotiating", "标段不在谈判阶段", "The lot is not in negotiation")
    closes_at = _closes_at(ctx, closes_at)
    rnd = current_round(ctx, trade.lot_id)
    if rnd is not None and rnd.closed_at is None:
        raise Conflict("negotiation.round_open", "上一轮尚未结束", "The previous round is still open")
    return quotes.make_round(ctx, trade, no=(rnd.no + 1 if rnd else 1), kind="normal", closes_at=closes_at)


def close_round(ctx: ServiceContext, lot_code: str) -> NegotiationRound:
    """Close the current round at or after its closing time: no more quotes; the set of accepted
    quote digests is committed in the audit trail; custodians then open them (quotes.submit_round_share).
    A round closed twice is a Conflict and changes nothing."""
    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    case = _case(ctx, trade)
    rnd = current_round(ctx, trade.lot_id)
    if rnd is None:
        raise Conflict("negotiation.no_round", "尚未开始任何谈判轮次", "No round has been opened")
    if rnd.closed_at is not None:
        raise Conflict("negotiation.round_closed", f"第 {rnd.no} 轮已经结束，不能重复结束",
                       f"Round {rnd.no} is already closed", details={"round": rnd.no})
    stages.advance(ctx, lot_code, "close_round", facts=_case_facts(ctx, trade, case), detail={"round": rnd.no})
    rnd.closed_at, rnd.closed_by = ctx.now(), ctx.actor.user_id
    record(ctx, "negotiation.round_closed", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "round": rnd.no, "kind": rnd.kind, "round_code": rnd.code,
                    "quotes": [[q.submission_id, q.payload_sha256] for q in quotes.accepted_quotes(ctx, rnd)]})
    ctx.session.flush()
    return rnd


def call_final_offers(ctx: ServiceContext, lot_code: str, *, closes_at: datetime) -> NegotiationRound:
    """negotiating → final_offers: the final-offer round (最后报价) with its own key; refused while a
    round is open or when fewer suppliers than the minimum remain."""
    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    case = _case(ctx, trade)
    closes_at = _closes_at(ctx, closes_at)
    rnd = current_round(ctx, trade.lot_id)
    stages.advance(ctx, lot_code, "call_final_offers", facts=_case_facts(ctx, trade, case))
    return quotes.make_round(ctx, trade, no=(rnd.no + 1 if rnd else 1), kind="final", closes_at=closes_at)


def close_final_offers(ctx: ServiceContext, lot_code: str) -> LotTrade:
    """After the final round is closed and opened: final_offers → evaluating when at least the
    minimum of valid final offers remain; otherwise the negotiation is terminated (Art. 37), its
    deposits' refund period started."""
    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    case = _case(ctx, trade)
    final = quotes.final_round(ctx.session, trade.lot_id)
    if final is None or trade.status != "final_offers":
        raise Conflict("negotiation.no_final_round", "尚未进入最后报价", "The final offers have not been called")
    valid = len(quotes.final_prices(ctx.session, trade.lot_id))
    facts = _case_facts(ctx, trade, case, final_offers=valid, final_quotes_opened=final.quotes_opened_at is not None)
    if final.quotes_opened_at is not None and valid < case.min_suppliers:
        return terminate(ctx, lot_code, reason=f"有效最后报价不足 {case.min_suppliers} 家（{valid} 家）")
    return stages.advance(ctx, lot_code, "close_final_offers", facts=facts, detail={"final_offers": valid})


def terminate(ctx: ServiceContext, lot_code: str, *, reason: str) -> LotTrade:
    """终止 (Art. 37): fewer than the minimum of suppliers, or the method no longer applies."""
    reason = _text(reason, "reason", "请写明终止理由", "Give the reason for termination")
    trade = stages.advance(ctx, lot_code, "terminate", reason=reason)
    from ..common.deposits.refunds import on_lot_terminated

    on_lot_terminated(ctx, trade)
    return trade


# --- the team's report ------------------------------------------------------------------------------

def _excluded(value: object, offers: list[rules.FinalOffer]) -> dict[int, str]:
    """{supplier org id: the team's reason}: only suppliers with an opened final offer, each with a reason."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("negotiation.excluded", "未通过实质性审查的供应商格式不正确", "Malformed list of excluded suppliers",
                           field="excluded")
    known = {o.bidder_org_id for o in offers if o.responsive}
    out: dict[int, str] = {}
    for org_id, reason in value.items():
        if isinstance(org_id, bool) or not isinstance(org_id, int) or org_id not in known:
            raise InvalidInput("negotiation.excluded_unknown", "只能认定已开启最后报价的供应商未满足实质性要求",
                               "Only a supplier whose final offer was opened can be found non-responsive",
                               field="excluded")
        text = reason.strip() if isinstance(reason, str) else ""
        if not 4 <= len(text) <= 500:
            raise InvalidInput("negotiation.excluded_reason", "请写明该供应商未满足实质性要求的事实和理由（4–500 字）",
                               "Give the facts and reasons why the supplier is non-responsive (4–500 characters)",
                               field="excluded")
        out[org_id] = text
    return out


def get_report(ctx: ServiceContext, lot_id: int) -> NegotiationReport | None:
    return ctx.session.get(NegotiationReport, lot_id)


def report_negotiation(ctx: ServiceContext, lot_code: str, *, excluded: Mapping[int, str] | None = None,
                       opinion: str = "", dissent: str = "") -> NegotiationReport:
    """The team's 谈判报告 once the final-offer stage is closed (the lot is evaluating): the responsive
    suppliers (opened final offer, still in, not found non-responsive) ranked by final price from
    low to high (Art. 35); with at least the minimum of them the lot moves evaluating → reported and
    the first ones are proposed as 成交候选人 through the awards services (the buyer's 5 WD start);
    with fewer the negotiation is terminated (Art. 37). Refused before the final stage is closed and
    when the report exists (409); audited in the caller's transaction."""
    from ..common.awards.rules import CandidateIn
    from ..common.awards.services import award_settings, propose_candidates

    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    case = _case(ctx, trade)
    if get_report(ctx, trade.lot_id) is not None:
        raise Conflict("negotiation.already_reported", "谈判报告已提交，不能重复提交", "The negotiation report is already recorded")
    if trade.status != "evaluating":
        raise Conflict("negotiation.final_not_closed", "最后报价阶段尚未结束，不能提交谈判报告",
                       "The final-offer stage is not closed yet; no report before it")
    offers = quotes.final_offers(ctx.session, trade.lot_id)
    out = _excluded(excluded, offers)
    opinion = (opinion if isinstance(opinion, str) else "").strip()
    dissent = (dissent if isinstance(dissent, str) else "").strip()
    if len(opinion) > MAX_TEXT or len(dissent) > MAX_TEXT:
        raise InvalidInput("negotiation.text_too_long", f"内容至多 {MAX_TEXT} 字", f"At most {MAX_TEXT} characters",
                           field="opinion")
    rec = rules.recommend(offers, out, min_needed=case.min_suppliers,
                          max_candidates=award_settings(ctx)["award.candidates_max"])
    ranking = [{"bidder_org_id": o.bidder_org_id, "price_fen": o.price_fen, "rank": i}
               for i, o in enumerate(rec.ranked, start=1)]
    payload = {"lot_code": lot_code, "ranking": ranking, "excluded": {str(k): v for k, v in out.items()},
               "opinion": opinion, "dissent": dissent, "min_suppliers": case.min_suppliers,
               "outcome": "recommended" if rec.enough else "terminated"}
    entry = record(ctx, "negotiation.reported", "lot", trade.lot_id, project_id=trade.project_id, payload=payload)
    report = NegotiationReport(lot_id=trade.lot_id, ranking=ranking, excluded={str(k): v for k, v in out.items()},
                               opinion=opinion, dissent=dissent, outcome=payload["outcome"],
                               recorded_by=ctx.actor.user_id, recorded_at=ctx.now(), audit_seq=entry.seq)
    ctx.session.add(report)
    ctx.session.flush()
    if not rec.enough:
        terminate(ctx, lot_code, reason=f"满足实质性要求的供应商只有 {len(rec.ranked)} 家，不足 {case.min_suppliers} 家"
                                        "（74号令第三十七条）")
        return report
    stages.advance(ctx, lot_code, "report_negotiation",
                   facts=_case_facts(ctx, trade, case, responsive=len(rec.ranked)),
                   detail={"responsive": len(rec.ranked), "candidates": [o.bidder_org_id for o in rec.candidates]})
    cl = propose_candidates(ctx, lot_code, [CandidateIn(o.bidder_org_id, i, o.price_fen)
                                            for i, o in enumerate(rec.candidates, start=1)], report_id=None)
    report.candidate_list_id = cl.id
    ctx.session.flush()
    return report


# --- requirement changes and sessions -------------------------------------------------------------

def _open_round_of(ctx: ServiceContext, trade: LotTrade) -> NegotiationRound:
    rnd = current_round(ctx, trade.lot_id)
    if rnd is None or rnd.closed_at is not None:
        raise Conflict("negotiation.no_open_round", "没有进行中的谈判轮次", "No round is open")
    return rnd


def propose_requirement_change(ctx: ServiceContext, lot_code: str, text: str) -> RequirementChange:
    """The team proposes a substantive change (technical/service requirements, contract terms) in the
    open round; it reaches suppliers only once the buyer confirms it (publish_requirement_change)."""
    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    _case(ctx, trade)
    text = _text(text, "text", "请填写变更内容", "Write the change")
    rnd = _open_round_of(ctx, trade)
    change = RequirementChange(round_id=rnd.id, lot_id=trade.lot_id, text=text, proposed_by=ctx.actor.user_id,
                               proposed_at=ctx.now(), status="proposed")
    ctx.session.add(change)
    ctx.session.flush()
    record(ctx, "negotiation.change_proposed", "negotiation_change", change.id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "round": rnd.no, "text": text})
    return change


def publish_requirement_change(ctx: ServiceContext, change_id: int) -> RequirementChange:
    """The buyer (采购人: an owner user of the project's owner organisation) confirms a proposed change
    (Art. 32); at that instant it is published to every supplier still in, identically."""
    ctx.require("owner")
    change = ctx.session.get(RequirementChange, change_id) if isinstance(change_id, int) else None
    if change is None:
        raise not_found("变更", "Change")
    trade = ctx.session.get(LotTrade, change.lot_id)
    project = ctx.session.get(Project, trade.project_id)
    if ctx.actor.org_id != project.owner_org_id:
        raise Forbidden("negotiation.buyer_only", "只有本项目采购人可以确认谈判中的实质性变动",
                        "Only the project's buyer may confirm a change to the requirements")
    if change.status != "proposed":
        raise Conflict("negotiation.change_published", "该变更已确认并发布", "This change is already confirmed and published")
    rnd = ctx.session.get(NegotiationRound, change.round_id)
    if rnd.closed_at is not None:
        raise Conflict("negotiation.round_closed", "该轮已经结束，变更须在新的一轮中提出",
                       "The round has closed; propose the change in a new round")
    now = ctx.now()
    suppliers = [s.bidder_org_id for s in active_suppliers(ctx, trade.lot_id)]
    entry = record(ctx, "negotiation.change_published", "negotiation_change", change.id, project_id=trade.project_id,
                   payload={"lot_code": trade.lot_code, "round": rnd.no, "text": change.text,
                            "confirmed_by": ctx.actor.user_id, "notified": suppliers})
    change.status, change.confirmed_by, change.published_at, change.audit_seq = "published", ctx.actor.user_id, now, entry.seq
    ctx.session.flush()
    return change


def published_changes(ctx: ServiceContext, lot_code: str) -> list[RequirementChange]:
    """The changes as every supplier still in sees them: the same list, in publication order. A
    supplier who left, or anyone outside the negotiation, gets the 404 of an unknown lot."""
    trade = _trade(ctx, lot_code)
    if ctx.actor.has("bidder"):
        sup = ctx.session.execute(select(NegotiationSupplier).where(
            NegotiationSupplier.lot_id == trade.lot_id, NegotiationSupplier.bidder_org_id == ctx.actor.org_id)
        ).scalar_one_or_none()
        if sup is None or sup.status != "active":
            raise not_found("标段", "Lot")
    elif not ctx.actor.has("operator", "agency", "owner", "supervisor", "system"):
        raise not_found("标段", "Lot")
    return list(ctx.session.execute(select(RequirementChange).where(
        RequirementChange.lot_id == trade.lot_id, RequirementChange.status == "published")
        .order_by(RequirementChange.published_at, RequirementChange.id)).scalars())


def record_session(ctx: ServiceContext, lot_code: str, bidder_org_id: int, minutes: str,
                   held_at: datetime | None = None) -> NegotiationSession:
    """The team's talk with one supplier still in, in the open round (Art. 31: separately)."""
    trade = _trade(ctx, lot_code)
    _require_team(ctx, trade)
    _case(ctx, trade)
    minutes = _text(minutes, "minutes", "请填写谈判记录", "Write the minutes")
    rnd = _open_round_of(ctx, trade)
    sup = ctx.session.execute(select(NegotiationSupplier).where(
        NegotiationSupplier.lot_id == trade.lot_id, NegotiationSupplier.bidder_org_id == bidder_org_id)
    ).scalar_one_or_none() if isinstance(bidder_org_id, int) else None
    if sup is None or sup.status != "active":
        raise InvalidInput("negotiation.supplier", "该供应商不在本次谈判中", "This supplier is not in the negotiation",
                           field="bidder_org_id")
    now = ctx.now()
    held_at = held_at or now
    if held_at > now or held_at < rnd.opened_at:
        raise InvalidInput("negotiation.held_at", "谈判时间须在本轮开始之后、当前时间之前",
                           "The session must fall within the round, not in the future", field="held_at")
    row = NegotiationSession(round_id=rnd.id, bidder_org_id=bidder_org_id, held_at=held_at, minutes=minutes,
                             recorded_by=ctx.actor.user_id, recorded_at=now)
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, "negotiation.session_recorded", "negotiation_session", row.id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "round": rnd.no, "bidder_org_id": bidder_org_id, "held_at": held_at})
    return row


# --- withdrawal -----------------------------------------------------------------------------------

def withdraw_supplier(ctx: ServiceContext, lot_code: str, reason: str = "") -> NegotiationSupplier:
    """A supplier leaves before its final offer (Art. 34): recorded, its deposit's refund period
    started (5 WD, deposits.refunds); when fewer than the minimum remain, the negotiation is
    terminated in the same transaction (Art. 37)."""
    ctx.require("bidder")
    trade = _trade(ctx, lot_code)
    case = _case(ctx, trade)
    sup = ctx.session.execute(select(NegotiationSupplier).where(
        NegotiationSupplier.lot_id == trade.lot_id, NegotiationSupplier.bidder_org_id == ctx.actor.org_id)
        .with_for_update()).scalar_one_or_none()
    if sup is None:
        raise not_found("标段", "Lot")
    if sup.status != "active":
        raise Conflict("negotiation.already_left", "贵单位已退出本次谈判", "Your organisation has already left")
    final = quotes.final_round(ctx.session, trade.lot_id)
    if trade.status not in ("negotiating", "final_offers") or (final is not None and (
            final.closed_at is not None or any(q.bidder_org_id == sup.bidder_org_id
                                               for q in quotes.accepted_quotes(ctx, final)))):
        raise RuleViolation("negotiation.withdraw_too_late", "已提交最后报价或最后报价已截止，不能退出谈判",
                            "After the final offer, a supplier can no longer withdraw")
    now = ctx.now()
    sup.status, sup.left_at, sup.reason = "withdrawn", now, (reason or "").strip()[:2000]
    record(ctx, "negotiation.supplier_withdrew", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "bidder_org_id": sup.bidder_org_id, "reason": sup.reason})
    _start_withdrawal_refund(ctx, trade, sup.bidder_org_id, now)
    ctx.session.flush()
    remaining = len(active_suppliers(ctx, trade.lot_id))
    if remaining < case.min_suppliers:  # the platform terminates it: the supplier's act is the cause
        terminate(ServiceContext(session=ctx.session, actor=SYSTEM, clock=ctx.clock, ip=ctx.ip), lot_code, reason=f"供应商退出后只余 {remaining} 家，不足 {case.min_suppliers} 家（74号令第三十七条）")
    return sup


def _start_withdrawal_refund(ctx: ServiceContext, trade: LotTrade, org_id: int, at: datetime) -> None:
    from ..common.deposits.refunds import on_withdrawal

    on_withdrawal(ctx, trade, org_id, at)


# --- reads for pages ----------------------------------------------------------------------------

def supplier_names(ctx: ServiceContext, lot_id: int) -> dict[int, str]:
    rows = ctx.session.execute(select(Organisation.id, Organisation.name).join(
        NegotiationSupplier, NegotiationSupplier.bidder_org_id == Organisation.id)
        .where(NegotiationSupplier.lot_id == lot_id)).all()
    return dict(rows)


def sessions_of(ctx: ServiceContext, round_id: int) -> list[NegotiationSession]:
    return list(ctx.session.execute(select(NegotiationSession).where(NegotiationSession.round_id == round_id)
                                    .order_by(NegotiationSession.held_at, NegotiationSession.id)).scalars())
