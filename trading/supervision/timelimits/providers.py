"""The steps with a deadline that the trade packages already model, as time-limit rows:

- entry review (进场审核, the centre: entry.review_wd working days, Project.review_due_at);
- candidate publicity (公示 within 3 days of the report: CandidateList.publish_due_at → publicity_from);
- the GP buyer's decision (≤ 5 WD: CandidateList.confirm_due_at → confirmed_at; silence observed
  after the due instant counts as done late);
- objection (异议) and challenge (质疑) replies (Objection.reply_due_at → answered_at);
- the GP result announcement (≤ 2 WD: Award.result_due_at → the result notice's published_at);
- contract signing (≤ 30 days: Award.contract_due_at → the first contract record's signed date);
- deposit refunds (the centre: DepositAccount.refund_due_at → the last refund or forfeit), one row per
  lot and due instant, with no bidder named — and none for a lot before its deadline (rules.md §2.4).

Each registers itself with the registry when this module is imported (queries imports it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from trading.accounts.models import Organisation
from trading.procedures.common.awards.models import Award, CandidateList, ContractRecord, Objection
from trading.procedures.common.deposits.models import DepositAccount, DepositEntry
from trading.procedures.common.lots import before_deadline
from trading.procedures.common.models import LotTrade, Notice
from trading.projects.models import EntryReview, Lot, Project

from .registry import register_provider
from .rules import CENTRE, Scope, StepKind, StepRow

Owner = aliased(Organisation)
Agency = aliased(Organisation)


def _scoped(stmt, scope: Scope):
    if scope.org_id is not None:
        stmt = stmt.where(or_(Project.owner_org_id == scope.org_id, Project.agency_org_id == scope.org_id))
    if scope.project_id is not None:
        stmt = stmt.where(Project.id == scope.project_id)
    return stmt


def _orgs(project: Project) -> frozenset[int]:
    return frozenset(i for i in (project.owner_org_id, project.agency_org_id) if i is not None)


def _side(project: Project, owner_name: str, agency_name: str | None) -> str:
    """The project side that answers for an award step: the agency when there is one, for the owner."""
    return f"{agency_name}（{owner_name}）" if agency_name else owner_name


def _done_clause(column, scope: Scope):
    return column.is_(None) if scope.done_since is None else or_(column.is_(None), column >= scope.done_since)


# --- entry review ------------------------------------------------------------------------------------
_DECISIONS = ("returned", "accepted", "refused")


def entry_reviews(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    decided = (select(EntryReview.project_id, func.min(EntryReview.at).label("at"))
               .join(Project, Project.id == EntryReview.project_id)
               .where(EntryReview.action.in_(_DECISIONS), EntryReview.at >= Project.submitted_at)
               .group_by(EntryReview.project_id).subquery())
    stmt = (select(Project, decided.c.at).outerjoin(decided, decided.c.project_id == Project.id)
            .where(Project.review_due_at.is_not(None), Project.submitted_at.is_not(None),
                   or_(Project.status == "submitted", decided.c.at.is_not(None)))
            .order_by(Project.id))
    if scope.done_since is not None:
        stmt = stmt.where(or_(Project.status == "submitted", decided.c.at >= scope.done_since))
    else:
        stmt = stmt.where(Project.status == "submitted")
    for project, done_at in session.execute(_scoped(stmt, scope)).all():
        yield StepRow(StepKind.ENTRY_REVIEW, project.trade_code or f"#{project.id}", project.name, CENTRE[0],
                      project.review_due_at, None if project.status == "submitted" else done_at,
                      link=("projects.project_detail", {"project_id": project.id}),
                      start_at=project.submitted_at, org_ids=_orgs(project), project_id=project.id)


# --- the award steps -----------------------------------------------------------------------------------
def _lot_select(*cols):
    return (select(*cols, LotTrade.lot_code, Lot.name, Project, Owner.name, Agency.name)
            .join(Lot, Lot.id == LotTrade.lot_id).join(Project, Project.id == LotTrade.project_id)
            .join(Owner, Owner.id == Project.owner_org_id).outerjoin(Agency, Agency.id == Project.agency_org_id))


def _lot_row(kind: str, code: str, lot_name: str, project: Project, owner: str, agency: str | None, due_at: datetime,
             done_at: datetime | None, start_at: datetime | None, *, detail: str = "") -> StepRow:
    return StepRow(kind, code, f"{project.name} {lot_name}", _side(project, owner, agency), due_at, done_at,
                   link=("awards.lot", {"lot_code": code}), person=project.contact_name or "", start_at=start_at,
                   org_ids=_orgs(project), project_id=project.id, detail=detail)


def candidate_publicity(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    stmt = (_lot_select(CandidateList).join(CandidateList, CandidateList.lot_id == LotTrade.lot_id)
            .where(CandidateList.publish_due_at.is_not(None), CandidateList.status != "superseded",
                   _done_clause(CandidateList.publicity_from, scope))
            .order_by(CandidateList.id))
    for cl, code, lot_name, project, owner, agency in session.execute(_scoped(stmt, scope)).all():
        yield _lot_row(StepKind.CANDIDATE_PUBLICITY, code, lot_name, project, owner, agency, cl.publish_due_at,
                       cl.publicity_from, cl.proposed_at)


def buyer_confirmations(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    stmt = (_lot_select(CandidateList).join(CandidateList, CandidateList.lot_id == LotTrade.lot_id)
            .where(CandidateList.confirm_due_at.is_not(None), CandidateList.status != "superseded",
                   _done_clause(CandidateList.confirmed_at, scope))
            .order_by(CandidateList.id))
    for cl, code, lot_name, project, owner, agency in session.execute(_scoped(stmt, scope)).all():
        yield _lot_row(StepKind.BUYER_CONFIRMATION, code, lot_name, project, owner, agency, cl.confirm_due_at,
                       cl.confirmed_at, cl.proposed_at, detail=cl.confirmation or "")


def objection_replies(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    stmt = (_lot_select(Objection).join(Objection, Objection.lot_id == LotTrade.lot_id)
            .where(_done_clause(Objection.answered_at, scope)).order_by(Objection.id))
    for obj, code, lot_name, project, owner, agency in session.execute(_scoped(stmt, scope)).all():
        kind = StepKind.CHALLENGE_REPLY if obj.kind == "challenge" else StepKind.OBJECTION_REPLY
        yield _lot_row(kind, code, lot_name, project, owner, agency, obj.reply_due_at, obj.answered_at, obj.filed_at)


def result_publication(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    stmt = (_lot_select(Award, Notice.published_at).join(Award, Award.lot_id == LotTrade.lot_id)
            .outerjoin(Notice, Notice.id == Award.result_notice_id)
            .where(Award.result_due_at.is_not(None), Award.status != "superseded",
                   _done_clause(Notice.published_at, scope))
            .order_by(Award.id))
    for award, published_at, code, lot_name, project, owner, agency in session.execute(_scoped(stmt, scope)).all():
        yield _lot_row(StepKind.RESULT_PUBLICATION, code, lot_name, project, owner, agency, award.result_due_at,
                       published_at, award.determined_at)


def contract_signing(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    first = (select(ContractRecord.award_id, func.min(ContractRecord.signed_at).label("signed_at"))
             .group_by(ContractRecord.award_id).subquery())
    stmt = (_lot_select(Award, first.c.signed_at).join(Award, Award.lot_id == LotTrade.lot_id)
            .outerjoin(first, first.c.award_id == Award.id)
            .where(or_(Award.status == "active", first.c.signed_at.is_not(None)),
                   _done_clause(first.c.signed_at, scope))
            .order_by(Award.id))
    for award, signed_at, code, lot_name, project, owner, agency in session.execute(_scoped(stmt, scope)).all():
        yield _lot_row(StepKind.CONTRACT_SIGNING, code, lot_name, project, owner, agency, award.contract_due_at,
                       signed_at, award.determined_at)


# --- deposit refunds (the centre) -----------------------------------------------------------------------
#: statuses with nothing left to refund; "awaiting": nothing was ever received, so nothing is owed
_SETTLED = frozenset({"refunded", "forfeited", "awaiting"})


def deposit_refunds(session: Session, now: datetime, scope: Scope) -> Iterable[StepRow]:
    last_out = (select(DepositEntry.account_id, func.max(DepositEntry.at).label("at"))
                .where(DepositEntry.kind.in_(("refunded", "forfeited"))).group_by(DepositEntry.account_id).subquery())
    stmt = (select(DepositAccount, last_out.c.at, LotTrade, Lot.name, Project)
            .join(LotTrade, LotTrade.lot_id == DepositAccount.lot_id).join(Lot, Lot.id == LotTrade.lot_id)
            .join(Project, Project.id == LotTrade.project_id)
            .outerjoin(last_out, last_out.c.account_id == DepositAccount.id)
            .where(DepositAccount.refund_due_at.is_not(None))
            .order_by(DepositAccount.lot_id, DepositAccount.refund_due_at, DepositAccount.id))
    groups: dict[tuple[int, datetime], list] = defaultdict(list)
    for acc, out_at, trade, lot_name, project in session.execute(_scoped(stmt, scope)).all():
        if before_deadline(trade, now):  # who registered for a lot is nobody's business before its deadline
            continue
        groups[(trade.lot_id, acc.refund_due_at)].append((acc, out_at, trade, lot_name, project))
    for (_lot_id, due_at), members in groups.items():
        open_ = [m for m in members if m[0].status not in _SETTLED]
        received = [m for m in members if m[0].status != "awaiting"]
        if not received:
            continue
        done_at = None if open_ else max((m[1] for m in received if m[1] is not None), default=None)
        if not open_ and done_at is None:
            continue
        if done_at is not None and scope.done_since is not None and done_at < scope.done_since:
            continue
        _acc, _at, trade, lot_name, project = members[0]
        yield StepRow(StepKind.DEPOSIT_REFUND, trade.lot_code, f"{project.name} {lot_name}", CENTRE[0], due_at,
                      done_at, link=("deposits.lot_deposits", {"lot_code": trade.lot_code}),
                      start_at=min((m[0].refund_event_at for m in members if m[0].refund_event_at), default=None),
                      org_ids=_orgs(project), project_id=project.id,
                      detail=f"{len(open_)}/{len(received)}")


for _name, _fn in (("entry_review", entry_reviews), ("candidate_publicity", candidate_publicity),
                   ("buyer_confirmation", buyer_confirmations), ("objection_reply", objection_replies),
                   ("result_publication", result_publication), ("contract_signing", contract_signing),
                   ("deposit_refund", deposit_refunds)):
    register_provider(_name, _fn)
