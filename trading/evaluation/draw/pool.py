"""The pool snapshot a draw runs on, read with a handful of set-based queries (never one per expert):
every expert with one of the requested specialties (whatever their status: the status filter is
part of the replayable rules), their declared relations with the organisations to avoid, their
unavailable periods covering the evaluation day, and how many panels of the same owner they sat on
in the last 365 days.

Imports: core, accounts, projects, procedures.common (models), evaluation (models), draw.rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from trading.accounts.models import User
from trading.evaluation.experts.models import Expert, ExpertRelation, ExpertSpecialty, ExpertUnavailable
from trading.evaluation.panels import MemberRole, MemberStatus, Panel, PanelMember
from trading.procedures.common.models import LotTrade
from trading.projects.models import Project

from .rules import Candidate, Relation

FREQUENCY_WINDOW = timedelta(days=365)
#: the status a candidate has in the snapshot when its user account is deactivated
INACTIVE = "inactive"


def _chunks(values: list[int], n: int = 900) -> Iterable[list[int]]:
    for i in range(0, len(values), n):
        yield values[i:i + n]


def _matching(specialties: Iterable[str]):
    return select(ExpertSpecialty.expert_id).where(ExpertSpecialty.code.in_(sorted(set(specialties)))).distinct()


def _relations(session: Session, ids: set[int], avoid: list[int], now: datetime) -> dict[int, list[Relation]]:
    """Relations with an organisation to avoid, declared by now and not withdrawn, of candidates."""
    out: dict[int, list[Relation]] = defaultdict(list)
    for chunk in _chunks(avoid):
        rows = session.connection().execute(
            select(ExpertRelation.expert_id, ExpertRelation.org_id, ExpertRelation.kind, ExpertRelation.from_on,
                   ExpertRelation.to_on)
            .where(ExpertRelation.org_id.in_(chunk), ExpertRelation.withdrawn_at.is_(None),
                   ExpertRelation.declared_at <= now))
        for expert_id, org_id, kind, from_on, to_on in rows:
            if expert_id in ids:
                out[expert_id].append(Relation(org_id, kind, from_on, to_on))
    return out


def _unavailable(session: Session, ids: set[int], on: date) -> dict[int, list[tuple[date, date]]]:
    out: dict[int, list[tuple[date, date]]] = defaultdict(list)
    rows = session.connection().execute(select(ExpertUnavailable.expert_id, ExpertUnavailable.start_on, ExpertUnavailable.end_on)
                           .where(ExpertUnavailable.start_on <= on, ExpertUnavailable.end_on >= on))
    for expert_id, start, end in rows:
        if expert_id in ids:
            out[expert_id].append((start, end))
    return out


def recent_panel_counts(session: Session, owner_org_id: int, now: datetime) -> dict[int, int]:
    """{expert id: panels of this owner's lots formed in the 365 days before now where the expert
    holds (or held until the panel closed) a seat} — one grouped query."""
    rows = session.connection().execute(
        select(PanelMember.expert_id, func.count(func.distinct(Panel.id)))
        .join(Panel, Panel.id == PanelMember.panel_id)
        .join(LotTrade, LotTrade.lot_id == Panel.lot_id)
        .join(Project, Project.id == LotTrade.project_id)
        .where(Project.owner_org_id == owner_org_id, Panel.created_at > now - FREQUENCY_WINDOW,
               Panel.created_at <= now, PanelMember.role != MemberRole.BUYER_REP,
               PanelMember.status == MemberStatus.ACTIVE, PanelMember.expert_id.is_not(None))
        .group_by(PanelMember.expert_id))
    return {expert_id: n for expert_id, n in rows}


def snapshot(session: Session, *, specialties: Iterable[str], avoid_org_ids: Iterable[int], owner_org_id: int,
             evaluation_on: date, now: datetime) -> list[Candidate]:
    """The candidates of a draw, sorted by id."""
    # Core rows (session.connection()), not ORM ones: 20,000 of them, and nothing here is an entity
    # an expert whose account is switched off cannot sign in to evaluate: "inactive" for the filters
    status = case((User.is_active.is_(True), Expert.status), else_=literal(INACTIVE))
    base = session.connection().execute(
        select(Expert.id, status, Expert.employer_org_id, Expert.region_id)
        .join(User, User.id == Expert.user_id)
        .where(Expert.id.in_(_matching(specialties)), Expert.created_at <= now).order_by(Expert.id)).all()
    ids = {row[0] for row in base}
    relations = _relations(session, ids, sorted(set(avoid_org_ids)), now)
    unavailable = _unavailable(session, ids, evaluation_on)
    recent = recent_panel_counts(session, owner_org_id, now)
    empty: tuple = ()
    return [Candidate(i, status, employer, region,
                      tuple(sorted(relations[i], key=_relation_key)) if i in relations else empty,
                      tuple(sorted(unavailable[i])) if i in unavailable else empty, recent.get(i, 0))
            for i, status, employer, region in base]


def _relation_key(r: Relation) -> tuple:
    return (r.org_id, r.kind, str(r.from_on), str(r.to_on))
