"""The evaluator: reads the audit trail from a stored cursor, turns each relevant entry into checks
(which lot, which facts), gathers the facts from the domain tables, runs the pure rules and raises
what they find (services.raise_finding, idempotent per rule + subject).

Two callers, one code path:
* the after-commit hook (below): a transaction whose `record(...)` calls appended a watched action
  (audit.services notes their seqs in O(1), like its milestone mark) is followed, once committed, by
  an evaluation in a fresh session and transaction, in the same request, before the response;
* `flask alerts sweep` (cron): the same evaluation from the cursor up to the head, so an entry
  whose hook never ran (a worker killed between the commit and the hook, a hook that failed, a
  transaction made without an app) is evaluated late rather than never.

Evaluators serialise on the cursor row (never on the audit head for longer than an alert's own
append), and the cursor only moves forward past entries that were evaluated in the same
transaction as the alerts they raised."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import event, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trading.accounts.models import Organisation
from trading.audit import services as audit_services
from trading.audit.models import AuditEntry, AuditHead
from trading.core.context import ServiceContext
from trading.evaluation.reports.models import EvaluationReport
from trading.procedures.common.awards.models import Award
from trading.procedures.common.deposits.models import DepositAccount, DepositEntry
from trading.procedures.common.models import LotTrade, Notice
from trading.procedures.common.opening.models import OpeningResult
from trading.procedures.common.participation.models import DocumentDownload, Participation, Submission
from trading.projects.models import Lot, Project
from trading.reference.settings import catalogue, get_setting

from . import rules
from .models import AlertCursor
from .services import announce_released, raise_finding

log = logging.getLogger(__name__)

#: audit action → the check it calls for
WATCH: dict[str, str] = {
    "participation.registered": "registration", "offer.upload_started": "acts", "offer.submitted": "offer",
    "opening.checked_in": "acts", "deposit.statement_imported": "deposits",
    "deposit.unmatched_assigned": "deposits", "opening.opened": "opened", "evaluation.report_final": "evaluation",
    "award.determined": "award", "award.reawarded": "award", "notice.published": "notice", "lot.redated": "redated",
    "offer.withdrawn": "withdrawal", "award.candidate_passed": "passed",
}
#: bidder acts (in the lot's audit entries) whose client IP counts for RF-04
BIDDER_ACTS = ("participation.registered", "offer.upload_started", "offer.submitted", "offer.withdrawn",
               "opening.checked_in")
BATCH = 2000
_CURSOR = AlertCursor.__table__

audit_services.WATCHED_ACTIONS.update(WATCH)


def _settings(ctx: ServiceContext) -> dict[str, int]:
    return {code: get_setting(ctx, code) for code in catalogue() if code.startswith("alerts.")}


def _lock_cursor(session) -> tuple[AlertCursor, int]:
    """The cursor row, locked until the commit (evaluators take turns), and the audit head's next seq,
    in one round trip; the row is made on first use."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The commit need not wait for its WAL flush: a crash may lose the last evaluation's cursor
        # move and alerts together, and the sweep then evaluates those entries again (idempotent).
        session.execute(text("SET LOCAL synchronous_commit TO off"))
    if dialect == "sqlite":  # the writer lock first, as the audit append does
        session.execute(update(_CURSOR).where(_CURSOR.c.id == 1).values(next_seq=_CURSOR.c.next_seq))
    stmt = (select(AlertCursor, select(AuditHead.next_seq).where(AuditHead.id == 1).scalar_subquery())
            .where(AlertCursor.id == 1))
    if dialect != "sqlite":
        stmt = stmt.with_for_update(of=AlertCursor)
    row = session.execute(stmt).one_or_none()
    if row is None:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_CURSOR)
        session.execute(ins.values(id=1, next_seq=0).on_conflict_do_nothing())
        row = session.execute(stmt).one()
    return row[0], row[1] or 0


def evaluate(ctx: ServiceContext, *, limit: int = BATCH) -> tuple[int, int]:
    """Evaluate the watched entries after the cursor (up to `limit` seqs); (entries evaluated,
    alerts raised). The caller commits."""
    session = ctx.session
    cursor, head = _lock_cursor(session)
    start, stop = cursor.next_seq, min(head, cursor.next_seq + limit)
    if start >= stop:
        return 0, 0
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.action, AuditEntry.object_id, AuditEntry.project_id,
               AuditEntry.embargo_lot_id, AuditEntry.body)
        .where(AuditEntry.seq >= start, AuditEntry.seq < stop, AuditEntry.action.in_(list(WATCH)))
        .order_by(AuditEntry.seq)).all()
    checks: OrderedDict[tuple[str, int], int] = OrderedDict()
    for seq, action, object_id, _project_id, embargo_lot, body in rows:
        kind = WATCH[action]
        for lot_id in _lots_of(session, action, object_id, embargo_lot, body):
            checks[(kind, lot_id)] = seq
    for kind, lot_id in list(checks):  # a registration, an offer or a withdrawal covers the acts' IP check
        if kind in ("registration", "offer", "withdrawal"):
            checks.pop(("acts", lot_id), None)
    settings = _settings(ctx) if checks else {}
    raised = 0
    for (kind, lot_id), seq in checks.items():
        trade = session.get(LotTrade, lot_id)
        if trade is None:
            continue
        raised += _run(ctx, kind, trade, seq, settings)
    cursor.next_seq = stop
    cursor.updated_at = ctx.now()
    session.flush()
    return len(rows), raised


def sweep(ctx_factory, *, limit: int = BATCH) -> tuple[int, int, int]:
    """Evaluate everything up to the head in batches, each in its own transaction, then announce the
    alerts whose embargo has ended. ctx_factory() gives a context on a session this loop commits.
    (entries, raised, released)."""
    entries = raised = 0
    while True:
        ctx = ctx_factory()
        n_entries, n_raised = evaluate(ctx, limit=limit)
        cursor, head = _lock_cursor(ctx.session)
        before = cursor.next_seq
        ctx.session.commit()
        entries, raised = entries + n_entries, raised + n_raised
        if before >= head:
            break
    ctx = ctx_factory()
    released = announce_released(ctx)
    ctx.session.commit()
    return entries, raised, released


# --- which lots an entry concerns ------------------------------------------------------------------

def _payload(body) -> dict:
    return json.loads(bytes(body).decode("utf-8")).get("payload") or {}


def _lot_by_code(session, code) -> list[int]:
    if not code:
        return []
    lot_id = session.execute(select(LotTrade.lot_id).where(LotTrade.lot_code == code)).scalar_one_or_none()
    return [lot_id] if lot_id is not None else []


def _lots_of(session, action: str, object_id: str, embargo_lot: int | None, body) -> list[int]:
    if embargo_lot is not None:
        return [embargo_lot]
    if action == "deposit.statement_imported":
        return list(session.execute(
            select(DepositAccount.lot_id).distinct().join(DepositEntry, DepositEntry.account_id == DepositAccount.id)
            .where(DepositEntry.statement_id == int(object_id))).scalars())
    if action == "deposit.unmatched_assigned":
        account = session.get(DepositAccount, _payload(body).get("account_id"))
        return [account.lot_id] if account else []
    if action == "evaluation.report_final":
        report = session.get(EvaluationReport, int(object_id))
        return [report.lot_id] if report else []
    if action in ("opening.opened", "award.determined", "award.reawarded", "lot.redated",
                  "award.candidate_passed") and object_id.isdigit():
        return [int(object_id)]
    if action == "notice.published":
        return list(session.execute(select(LotTrade.lot_id).where(LotTrade.notice_id == int(object_id))).scalars())
    return _lot_by_code(session, _payload(body).get("lot_code"))


# --- the checks: facts from the tables, then the pure rules -----------------------------------------

def _run(ctx: ServiceContext, kind: str, trade: LotTrade, seq: int, settings: dict[str, int]) -> int:
    session = ctx.session
    if kind in ("acts", "registration", "offer", "withdrawal"):
        findings, embargo = _bidder_findings(session, trade, settings, kind), trade.lot_id
    elif kind == "passed":
        p = _payload(session.execute(select(AuditEntry.body).where(AuditEntry.seq == seq)).scalar_one())
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
    raised = 0
    for f in findings:
        if raise_finding(ctx, f, project_id=trade.project_id, lot_id=trade.lot_id if f.subject.startswith("lot:")
                         else None, embargo_lot_id=embargo, trigger_seq=seq) is not None:
            raised += 1
    return raised


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
    payload = _payload(body)
    old, new = (payload.get("old") or {}).get("deadline_at"), (payload.get("new") or {}).get("deadline_at")
    if not old or not new:
        return []
    parse = lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))  # noqa: E731
    return rules.shortened_deadline(trade.lot_id, payload.get("notice_id"), parse(old), parse(new), seq=seq)


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


# --- the after-commit hook ---------------------------------------------------------------------------

def _hook_enabled() -> tuple[bool, object]:
    try:
        from flask import current_app
        app = current_app._get_current_object()
    except RuntimeError:  # no app: the sweep will evaluate it
        return False, None
    return bool(app.config.get("ALERTS_ON_COMMIT", not app.testing)), app


@event.listens_for(Session, "after_commit")
def _evaluate_after_commit(session) -> None:
    noted = session.info.pop(audit_services.WATCHED_KEY, None)
    if not noted:
        return
    enabled, app = _hook_enabled()
    if not enabled:
        return
    evaluate_now(session.get_bind(), app.extensions["clock"])


def evaluate_now(bind, clock) -> None:
    """One evaluation in a fresh session and transaction. A failure is logged, never raised: the
    triggering transaction has committed, and the sweep evaluates what was left."""
    fresh = Session(bind=bind)
    try:
        evaluate(ServiceContext(session=fresh, clock=clock, ip=None))
        fresh.commit()
    except Exception:  # noqa: BLE001 - the request already succeeded; the sweep retries
        fresh.rollback()
        log.exception("supervision alerts: evaluation after commit failed; the sweep will retry")
    finally:
        fresh.close()


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(audit_services.WATCHED_KEY, None)
