"""Read-only queries for the award pages and the time-limit list: a lot's award overview, a
bidder's letters and objections, the contracts due or overdue (合同签订提醒).

Imports: core, accounts, projects, this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from trading.accounts.models import Organisation
from trading.core.context import ServiceContext
from trading.core.errors import not_found
from trading.projects.models import Lot, Project
from trading.reference.settings import definition

from ..lots import get_trade
from ..models import LotTrade
from ..participation.models import Participation
from . import rules
from .models import Award, AwardDefault, CandidateList, ContractRecord, Objection, ResultLetter
from .objections import award_of, window
from .reaward import defaults_of, next_standing
from .result import latest_contract
from .services import acts_for, current_list, first_standing, org_names, participant_orgs, project_of


@dataclass(frozen=True)
class ContractDue:
    award: Award
    lot_code: str
    project_id: int
    project_name: str
    winner_name: str
    due_at: datetime
    light: rules.Light


def overdue_contracts(session: Session, now: datetime, *, warn_days: int | None = None,
                      org_id: int | None = None) -> list[ContractDue]:
    """Awards with no contract recorded whose 30-day limit is close (yellow) or passed (red), the
    most urgent first — the reminder entries of the time-limit list. org_id: only that owner's or
    agency's projects."""
    warn = definition("award.contract_warn_days").default if warn_days is None else warn_days
    signed = exists().where(ContractRecord.award_id == Award.id)
    stmt = (select(Award, LotTrade.lot_code, Project.id, Project.name, Organisation.name)
            .join(LotTrade, LotTrade.lot_id == Award.lot_id).join(Project, Project.id == LotTrade.project_id)
            .join(Organisation, Organisation.id == Award.bidder_org_id)
            .where(~signed, Award.status == "active", Award.contract_due_at <= now + timedelta(days=warn))
            .order_by(Award.contract_due_at, Award.id))
    if org_id is not None:
        stmt = stmt.where((Project.owner_org_id == org_id) | (Project.agency_org_id == org_id))
    return [ContractDue(a, code, pid, pname, wname, a.contract_due_at,
                        rules.contract_light(a.contract_due_at, now, signed=False, warn_days=warn))
            for a, code, pid, pname, wname in session.execute(stmt).all()]


@dataclass
class LotAwards:
    trade: LotTrade
    project: Project
    lot: Lot
    candidates: CandidateList | None
    names: dict[int, str]
    objections: list[Objection]
    award: Award | None
    contract: ContractRecord | None
    window: tuple[datetime | None, datetime | None]
    window_open: bool
    confirmation: rules.Confirmation | None
    contract_light: rules.Light | None
    #: earlier awards of the lot (superseded by a re-award), oldest first, and every recorded default
    history: list[Award] = field(default_factory=list)
    defaults: list[AwardDefault] = field(default_factory=list)
    #: the current award's default, when the buyer still has to decide (next candidate or re-procure)
    open_default: AwardDefault | None = None
    next_candidate: rules.CandidateFacts | None = None


def lot_awards(ctx: ServiceContext, lot_code: str) -> LotAwards:
    """The owner/agency's (or the centre's and supervisors') view of a lot's award."""
    trade = get_trade(ctx, lot_code)
    project = project_of(ctx, trade)
    if not (ctx.actor.has("owner", "agency") and acts_for(ctx, project)) and not ctx.actor.has("operator", "supervisor"):
        raise not_found("标段", "Lot")
    cl = current_list(ctx, trade.lot_id)
    now = ctx.now()
    award = award_of(ctx, cl) if cl is not None else None
    contract = latest_contract(ctx, award.id) if award is not None else None
    objections = list(ctx.session.execute(select(Objection).where(Objection.lot_id == trade.lot_id)
                                          .order_by(Objection.id)).scalars())
    ids = [c.bidder_org_id for c in cl.candidates] if cl else []
    win = window(ctx, cl) if cl is not None else (None, None)
    conf = None
    if cl is not None and cl.regime == rules.Regime.GP and cl.confirm_due_at is not None:
        conf = rules.effective_confirmation(cl.confirmed_bidder_org_id, first_standing(cl).bidder_org_id,
                                            cl.confirm_due_at, now)
    light = None
    if award is not None:
        light = rules.contract_light(award.contract_due_at, now, signed=contract is not None,
                                     warn_days=definition("award.contract_warn_days").default)
    history = list(ctx.session.execute(select(Award).where(Award.lot_id == trade.lot_id, Award.status == "superseded")
                                       .order_by(Award.id)).scalars())
    defaults = defaults_of(ctx, trade.lot_id)
    open_default = next((d for d in defaults if award is not None and d.award_id == award.id and d.outcome is None), None)
    nxt = next_standing(cl, award) if open_default is not None else None
    return LotAwards(trade, project, ctx.session.get(Lot, trade.lot_id), cl,
                     org_names(ctx, ids + [o.bidder_org_id for o in objections]), objections, award, contract, win,
                     rules.in_window(now, *win), conf, light, history, defaults, open_default, nxt)


@dataclass
class BidderView:
    trade: LotTrade
    project: Project
    lot: Lot
    candidates: CandidateList | None
    names: dict[int, str]
    window: tuple[datetime | None, datetime | None]
    window_open: bool
    kind: rules.ObjectionKind | None
    mine: list[Objection]
    letter: ResultLetter | None


def bidder_view(ctx: ServiceContext, lot_code: str) -> BidderView:
    """A participating bidder's view: the published candidates, its objections, the form's window,
    its letter. A non-participant sees the 404 of an unknown lot."""
    ctx.require("bidder")
    trade = get_trade(ctx, lot_code)
    if ctx.actor.org_id not in participant_orgs(ctx, trade.lot_id):
        raise not_found("标段", "Lot")
    cl = current_list(ctx, trade.lot_id)
    public = cl is not None and (cl.notice_id is not None or cl.status == rules.ListStatus.AWARDED)
    win = window(ctx, cl) if cl is not None else (None, None)
    mine = list(ctx.session.execute(select(Objection).where(
        Objection.lot_id == trade.lot_id, Objection.bidder_org_id == ctx.actor.org_id).order_by(Objection.id)).scalars())
    award = award_of(ctx, cl) if cl is not None else None
    letter = None
    if award is not None:
        letter = ctx.session.execute(select(ResultLetter).where(
            ResultLetter.award_id == award.id, ResultLetter.bidder_org_id == ctx.actor.org_id)).scalar_one_or_none()
    kind = None
    if cl is not None:
        kind = rules.ObjectionKind.CHALLENGE if cl.regime == rules.Regime.GP else rules.ObjectionKind.OBJECTION
    ids = [c.bidder_org_id for c in cl.candidates] if public else []
    return BidderView(trade, project_of(ctx, trade), ctx.session.get(Lot, trade.lot_id), cl if public else None,
                      org_names(ctx, ids), win, rules.in_window(ctx.now(), *win), kind, mine, letter)


def my_letters(ctx: ServiceContext) -> list[tuple[ResultLetter, str, str]]:
    """(letter, lot code, project name) of the bidder's organisation, newest first."""
    ctx.require("bidder")
    rows = ctx.session.execute(
        select(ResultLetter, LotTrade.lot_code, Project.name).join(Award, Award.id == ResultLetter.award_id)
        .join(LotTrade, LotTrade.lot_id == Award.lot_id).join(Project, Project.id == LotTrade.project_id)
        .where(ResultLetter.bidder_org_id == ctx.actor.org_id).order_by(ResultLetter.id.desc())).all()
    return [(letter, code, name) for letter, code, name in rows]


def my_result_lots(ctx: ServiceContext) -> list[tuple[LotTrade, str, CandidateList]]:
    """The bidder's lots (it registered) whose candidates are published or awarded: where its
    objection form and its letter are."""
    ctx.require("bidder")
    rows = ctx.session.execute(
        select(LotTrade, Project.name, CandidateList).join(Project, Project.id == LotTrade.project_id)
        .join(Participation, (Participation.lot_id == LotTrade.lot_id) & (Participation.bidder_org_id == ctx.actor.org_id))
        .join(CandidateList, (CandidateList.lot_id == LotTrade.lot_id) & CandidateList.superseded_by_id.is_(None))
        .where(Participation.status == "registered")
        .where(CandidateList.notice_id.is_not(None) | (CandidateList.status == rules.ListStatus.AWARDED))
        .order_by(CandidateList.id.desc()).limit(200)).all()
    return [(t, name, cl) for t, name, cl in rows]


def managed_lots(ctx: ServiceContext) -> list[tuple[LotTrade, str, CandidateList | None]]:
    """The owner/agency's lots that have candidates (or could: reported and later)."""
    org = ctx.actor.org_id
    rows = ctx.session.execute(
        select(LotTrade, Project.name).join(Project, Project.id == LotTrade.project_id)
        .where((Project.owner_org_id == org) | (Project.agency_org_id == org))
        .where(LotTrade.status.in_(("reported", "publicity", "confirming", "awarded", "contracted")))
        .order_by(LotTrade.lot_id.desc()).limit(200)).all()
    return [(t, name, current_list(ctx, t.lot_id)) for t, name in rows]
