"""The facts behind each check (the domain tables and the lot's audit entries) and the pure rules
run over them: `findings_for(ctx, kind, trade, seq, settings)` → (findings, the lot whose deadline
hides them or None). Read-only; the evaluator raises what comes back.

Imports: everything below supervision."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select

from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.core.context import ServiceContext
from trading.evaluation.reports.models import EvaluationReport
from trading.procedures.common.awards.models import Award
from trading.procedures.common.deposits.models import DepositAccount, DepositEntry
from trading.procedures.common.models import LotTrade, Notice
from trading.procedures.common.opening.models import OpeningResult
from trading.procedures.common.participation.models import DocumentDownload, Participation, Submission
from trading.projects.models import Lot, Project
from trading.reference.settings import get_setting

from . import rules

#: bidder acts (in the lot's audit entries) whose client IP counts for RF-04
BIDDER_ACTS = ("participation.registered", "offer.upload_started", "offer.submitted", "offer.withdrawn",
               "opening.checked_in")


def payload(body) -> dict:
    return json.loads(bytes(body).decode("utf-8")).get("payload") or {}


def findings_for(ctx: ServiceContext, kind: str, trade: LotTrade, seq: int,
                 settings: dict[str, int]) -> tuple[list[rules.Finding], int | None]:
    session = ctx.session
    if kind in ("acts", "registration", "offer", "withdrawal"):
        findings, embargo = _bidder_findings(session, trade, settings, kind), trade.lot_id
    elif kind == "passed":
        p = payload(session.execute(select(AuditEntry.body).where(AuditEntry.seq == seq)).scalar_one())
        findings = rules.first_rank_gives_up(trade.lot_id, int(p.get("bidder_org_id") or 0), int(p.get("rank") or 0),
                                             str(p.get("reason") or ""), seq=seq)
        embargo = None
    elif kind == "deposits":
        findings, embargo = rules.same_payer(trade.lot_id, _payer_traces(session, trade)), trade.lot_id
    elif kind == "opened":
        findings, embargo = _opened_findings(session, trade, seq, settings), None
    elif kind == "evaluation":
        findings, embargo = _evaluation_findings(session, trade, seq), None
    elif kind == "notice":
        findings, embargo = _notice_findings(ctx, trade, seq), None
    elif kind == "redated":
        findings, embargo = _redated_findings(session, trade, seq), None
    else:
        findings, embargo = _award_findings(session, trade, ctx.now(), settings), None
    return findings, embargo


def _lot_entries(session, trade: LotTrade) -> list[tuple[int, str, int | None, dict]]:
    """(seq, action, actor org, body) of bidders' acts in this lot."""
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.action, AuditEntry.actor_org_id, AuditEntry.body)
        .where(AuditEntry.action.in_(BIDDER_ACTS),
               or_(AuditEntry.embargo_lot_id == trade.lot_id,
                   (AuditEntry.project_id == trade.project_id) & AuditEntry.embargo_lot_id.is_(None)))
        .order_by(AuditEntry.seq)).all()
    out = []
    for seq, action, org, body in rows:
        entry = json.loads(bytes(body).decode("utf-8"))
        if entry.get("embargo_lot") != trade.lot_id and (entry.get("payload") or {}).get("lot_code") != trade.lot_code:
            continue
        out.append((seq, action, org, entry))
    return out


def _bidder_findings(session, trade: LotTrade, settings, kind: str) -> list[rules.Finding]:
    """Same IP after any bidder act; shared contacts after a registration (contacts are the
    registry's: they join a lot with the bidder); identical sealed files after an offer."""
    entries = _lot_entries(session, trade)
    ips = [rules.Trace(org, e.get("ip") or "", seq) for seq, _, org, e in entries
           if org is not None and _is_client_ip(e.get("ip"))]
    ips += [rules.Trace(org, ip, None) for org, ip in session.execute(
        select(DocumentDownload.org_id, DocumentDownload.ip).where(DocumentDownload.lot_id == trade.lot_id)).all()
        if org is not None and _is_client_ip(ip)]
    findings = rules.same_ip(trade.lot_id, ips, settings)
    if kind == "registration":
        findings += _contact_findings(session, trade, entries)
    if kind == "withdrawal":
        withdrawals = [(org, datetime.fromisoformat(e["at"].replace("Z", "+00:00")), seq)
                       for seq, action, org, e in entries if action == "offer.withdrawn" and org is not None]
        findings += rules.late_withdrawals(trade.lot_id, trade.deadline_at, withdrawals, settings)
    if kind == "offer":
        submitted = {e["object"]["id"]: seq for seq, action, _, e in entries if action == "offer.submitted"}
        subs = session.execute(select(Submission.bidder_org_id, Submission.payload_sha256, Submission.submission_id)
                               .where(Submission.lot_id == trade.lot_id, Submission.status == "accepted")).all()
        findings += rules.identical_files(trade.lot_id, [rules.Trace(org, sha or "", submitted.get(sid))
                                                         for org, sha, sid in subs], stage="sealed")
    return findings


def _contact_findings(session, trade: LotTrade, entries) -> list[rules.Finding]:
    registered = {org: seq for seq, action, org, _ in entries if action == "participation.registered"}
    orgs = session.execute(select(Organisation).join(Participation, Participation.bidder_org_id == Organisation.id)
                           .where(Participation.lot_id == trade.lot_id, Participation.status == "registered")).scalars().all()
    return rules.shared_contact(
        trade.lot_id, [rules.Trace(o.id, o.contact_name.strip(), registered.get(o.id)) for o in orgs],
        [rules.Trace(o.id, rules.normalise_phone(o.contact_phone), registered.get(o.id)) for o in orgs])


def _is_client_ip(ip) -> bool:
    return bool(ip) and ip != "cli"


def _payer_traces(session, trade: LotTrade) -> list[rules.Trace]:
    rows = session.execute(
        select(DepositAccount.bidder_org_id, DepositEntry.payer_account, DepositEntry.statement_id)
        .join(DepositEntry, DepositEntry.account_id == DepositAccount.id)
        .where(DepositAccount.lot_id == trade.lot_id, DepositEntry.kind == "received")).all()
    seqs = dict(session.execute(select(AuditEntry.object_id, AuditEntry.seq).where(
        AuditEntry.action == "deposit.statement_imported",
        AuditEntry.object_id.in_({str(s) for _, _, s in rows if s is not None}))).all()) if rows else {}
    return [rules.Trace(org, (account or "").strip(), seqs.get(str(stmt))) for org, account, stmt in rows]


def _opened_findings(session, trade: LotTrade, seq: int, settings) -> list[rules.Finding]:
    results = session.execute(select(OpeningResult).where(OpeningResult.lot_id == trade.lot_id)).scalars().all()
    opened = [r for r in results if r.outcome == "opened"]
    offers = [rules.Offer(r.bidder_org_id, r.price_fen) for r in opened if r.part == "price"]
    lot = session.get(Lot, trade.lot_id)
    findings = rules.price_patterns(trade.lot_id, offers, settings, seq=seq)
    findings += rules.near_ceiling(trade.lot_id, offers, lot.budget_fen if lot else None, settings, seq=seq)
    findings += rules.single_bidder(trade.lot_id, [r.bidder_org_id for r in opened], seq=seq)
    findings += rules.identical_files(trade.lot_id, [rules.Trace(r.bidder_org_id, r.plaintext_sha256 or "", seq)
                                                     for r in opened if r.part == "documents"], stage="opened")
    return findings


def _notice_findings(ctx: ServiceContext, trade: LotTrade, seq: int) -> list[rules.Finding]:
    from trading.procedures.common import rules as notice_rules
    from trading.procedures.common.services import notice_dates
    from trading.reference.services import get_calendar
    from trading.reference.workdays import CalendarYearMissing

    notice = ctx.session.get(Notice, trade.notice_id)
    if notice is None or notice.published_at is None:
        return []
    project = ctx.session.get(Project, notice.project_id)
    family = notice_rules.procedure_family(project.procedure)
    settings = {r.setting: get_setting(ctx, r.setting) for r in notice_rules.rules_for(family, notice.kind)}
    try:
        violations = notice_rules.check_periods(family, notice.kind, notice_dates(notice, notice.published_at),
                                                get_calendar(ctx), settings)
    except CalendarYearMissing:  # publishing fails closed on it; nothing to compare here
        return []
    breaches = [rules.Breach(v.code, v.rule, v.source, v.needed, v.actual, v.unit) for v in violations
                if v.code.startswith("period.")]
    return rules.period_breaches(trade.lot_id, notice.id, breaches, seq=seq)


def _redated_findings(session, trade: LotTrade, seq: int) -> list[rules.Finding]:
    body = session.execute(select(AuditEntry.body).where(AuditEntry.seq == seq)).scalar_one()
    p = payload(body)
    old, new = (p.get("old") or {}).get("deadline_at"), (p.get("new") or {}).get("deadline_at")
    if not old or not new:
        return []
    parse = lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))  # noqa: E731
    return rules.shortened_deadline(trade.lot_id, p.get("notice_id"), parse(old), parse(new), seq=seq)


def _evaluation_findings(session, trade: LotTrade, seq: int) -> list[rules.Finding]:
    report = session.execute(select(EvaluationReport).where(EvaluationReport.lot_id == trade.lot_id)).scalar_one_or_none()
    if report is None:
        return []
    rows = [rules.EvalRow(r["org_id"], r.get("price_fen"), bool(r.get("rejected")), tuple(r.get("reject_reasons") or ()),
                          tuple(r.get("flagged") or ())) for r in report.body.get("summary", {}).get("rows", [])]
    return rules.lowest_disqualified(trade.lot_id, rows, seq=seq) + rules.expert_outliers(trade.lot_id, rows, seq=seq)


def _award_findings(session, trade: LotTrade, now, settings) -> list[rules.Finding]:
    award = session.execute(select(Award).where(Award.lot_id == trade.lot_id, Award.status == "active")
                            .order_by(Award.id.desc()).limit(1)).scalar_one_or_none()
    if award is None:
        return []
    project = session.get(Project, trade.project_id)
    award_seqs = _award_seqs(session)
    wins = session.execute(select(Award.lot_id, Project.owner_org_id, Award.bidder_org_id, Award.determined_at)
                           .join(LotTrade, LotTrade.lot_id == Award.lot_id).join(Project, Project.id == LotTrade.project_id)
                           .where(Award.status == "active", Award.bidder_org_id == award.bidder_org_id,
                                  Project.owner_org_id == project.owner_org_id)).all()
    findings = rules.repeat_winner([rules.Win(lot, buyer, supplier, at, award_seqs.get(lot))
                                    for lot, buyer, supplier, at in wins], now, settings)
    contests = _contests(session, trade, award_seqs)
    return (findings + rules.rotation(contests, settings)
            + rules.win_rates(_records(session, trade), settings, lot_id=trade.lot_id, seq=award_seqs.get(trade.lot_id)))


def _records(session, trade: LotTrade) -> list[rules.Record]:
    """Each bidder of this lot: its decided bids (lots it registered for that have an active award)
    and its wins among them."""
    mine = _bidders(session, [trade.lot_id]).get(trade.lot_id, frozenset())
    if not mine:
        return []
    decided = select(Award.lot_id).where(Award.status == "active")
    bids = dict(session.execute(select(Participation.bidder_org_id, func.count(Participation.lot_id.distinct()))
                                .where(Participation.bidder_org_id.in_(mine), Participation.status == "registered",
                                       Participation.lot_id.in_(decided))
                                .group_by(Participation.bidder_org_id)).all())
    wins = dict(session.execute(select(Award.bidder_org_id, func.count(Award.lot_id.distinct()))
                                .where(Award.bidder_org_id.in_(mine), Award.status == "active")
                                .group_by(Award.bidder_org_id)).all())
    return [rules.Record(org, bids.get(org, 0), wins.get(org, 0)) for org in sorted(mine)]


def _award_seqs(session) -> dict[int, int]:
    rows = session.execute(select(AuditEntry.object_id, AuditEntry.seq)
                           .where(AuditEntry.action.in_(("award.determined", "award.reawarded")))).all()
    return {int(o): s for o, s in rows if o.isdigit()}


def _bidders(session, lot_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    out: dict[int, set[int]] = {}
    for lot, org in session.execute(select(Participation.lot_id, Participation.bidder_org_id)
                                    .where(Participation.lot_id.in_(list(lot_ids)),
                                           Participation.status == "registered")).all():
        out.setdefault(lot, set()).add(org)
    return {k: frozenset(v) for k, v in out.items()}


def _contests(session, trade: LotTrade, award_seqs: dict[int, int]) -> list[rules.Contest]:
    """This lot and every awarded lot that shares a bidder with it."""
    mine = _bidders(session, [trade.lot_id]).get(trade.lot_id, frozenset())
    if not mine:
        return []
    lots = set(session.execute(select(Participation.lot_id).where(Participation.bidder_org_id.in_(mine))).scalars())
    winners = dict(session.execute(select(Award.lot_id, Award.bidder_org_id)
                                   .where(Award.status == "active", Award.lot_id.in_(lots))).all())
    bidders = _bidders(session, winners)
    return [rules.Contest(lot, bidders[lot], winner, award_seqs.get(lot))
            for lot, winner in sorted(winners.items()) if lot in bidders]
