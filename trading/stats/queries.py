"""Loads the plain rows of the monthly report (rules.LotRow) — read-only, one query per table.

Sources, per lot (LotTrade):
  project, lot and region     Project (category, owner_type, procedure, region_id → Region), Lot.budget_fen
  announced                   LotTrade.created_at (trading opens when its announcement is published)
  deadline                    LotTrade.deadline_at (or the auction's end of the free phase)
  opened                      OpeningRecord.created_at (sealed lots), Auction.start_at once bidding ran
  awarded / deal              the first Award's determined_at; the price of the current award (status
                              active — not superseded, not defaulted — the latest such row)
                              or Auction.ended_at / price_fen when the outcome is "sold" (read-only)
  contracted                  the first ContractRecord.signed_at of the lot's awards
  failed                      the audit trail's lot.failed entry (object = the lot), or an auction
                              that ended "no_sale"
  participants                distinct bidders in the opening results (sealed lots, once opened) or
                              the qualified applications of an auction once it ended

Imports: audit, procedures (common, auction), projects, reference, this package."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.audit.models import AuditEntry
from trading.procedures.auction.models import Auction, AuctionApplication
from trading.procedures.common.awards.models import Award, ContractRecord
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningRecord, OpeningResult
from trading.projects.models import Lot, Project
from trading.reference.models import Region

from .rules import LotRow, Month

ISSUED_ACTION = "stats.monthly_issued"


def _window_lot_ids(session: Session, month: Month) -> set[int]:
    """Lots announced, awarded, failed or auctioned to an end in the month (a superset is harmless:
    the rules keep what belongs to the month)."""
    start, end = month.start, month.end
    ids = set(session.execute(select(LotTrade.lot_id).where(LotTrade.created_at >= start,
                                                            LotTrade.created_at < end)).scalars())
    ids |= set(session.execute(select(Award.lot_id).where(Award.determined_at >= start,
                                                          Award.determined_at < end)).scalars())
    ids |= set(session.execute(select(Auction.lot_id).where(Auction.ended_at >= start,
                                                            Auction.ended_at < end)).scalars())
    failed = session.execute(select(AuditEntry.object_id).where(
        AuditEntry.action == "lot.failed", AuditEntry.object_type == "lot",
        AuditEntry.created_at >= start, AuditEntry.created_at < end)).scalars()
    ids |= {int(x) for x in failed if x.isdigit()}
    return ids


def load_rows(session: Session, month: Month) -> list[LotRow]:
    lot_ids = _window_lot_ids(session, month)
    if not lot_ids:
        return []
    ids = sorted(lot_ids)
    base = session.execute(
        select(LotTrade.lot_id, LotTrade.lot_code, LotTrade.created_at, LotTrade.deadline_at, Lot.name,
               Lot.budget_fen, Project.name, Project.category, Project.owner_type, Project.procedure,
               Region.code, Region.name, Region.name_en)
        .join(Lot, Lot.id == LotTrade.lot_id).join(Project, Project.id == Lot.project_id)
        .join(Region, Region.id == Project.region_id).where(LotTrade.lot_id.in_(ids))).all()

    opened = dict(session.execute(select(OpeningRecord.lot_id, OpeningRecord.created_at)
                                  .where(OpeningRecord.lot_id.in_(ids))).all())
    bidders = dict(session.execute(
        select(OpeningResult.lot_id, func.count(func.distinct(OpeningResult.bidder_org_id)))
        .where(OpeningResult.lot_id.in_(ids)).group_by(OpeningResult.lot_id)).all())

    first_award: dict[int, datetime] = {}
    current: dict[int, tuple[int, int]] = {}  # lot → (award id, price)
    award_lot: dict[int, int] = {}
    for award_id, lot_id, at, price, status in session.execute(
            select(Award.id, Award.lot_id, Award.determined_at, Award.price_fen, Award.status)
            .where(Award.lot_id.in_(ids)).order_by(Award.id)):
        award_lot[award_id] = lot_id
        if lot_id not in first_award or at < first_award[lot_id]:
            first_award[lot_id] = at
        if status == "active":
            current[lot_id] = (award_id, price)
    contracted: dict[int, datetime] = {}
    if award_lot:
        for award_id, signed in session.execute(select(ContractRecord.award_id, ContractRecord.signed_at)
                                                .where(ContractRecord.award_id.in_(sorted(award_lot)))):
            lot_id = award_lot[award_id]
            if lot_id not in contracted or signed < contracted[lot_id]:
                contracted[lot_id] = signed

    failed: dict[int, datetime] = {}
    for object_id, at in session.execute(
            select(AuditEntry.object_id, AuditEntry.created_at)
            .where(AuditEntry.action == "lot.failed", AuditEntry.object_type == "lot",
                   AuditEntry.object_id.in_([str(i) for i in ids]))):
        failed.setdefault(int(object_id), at)

    auctions = {a.lot_id: a for a in session.execute(select(Auction).where(Auction.lot_id.in_(ids))).scalars()}
    qualified: dict[int, int] = defaultdict(int)
    for lot_id, n in session.execute(select(AuctionApplication.lot_id, func.count(AuctionApplication.id))
                                     .where(AuctionApplication.lot_id.in_(ids),
                                            AuctionApplication.status == "qualified")
                                     .group_by(AuctionApplication.lot_id)):
        qualified[lot_id] = n

    rows = []
    for (lot_id, code, created, deadline, lot_name, budget, project_name, category, owner_type, procedure,
         region_code, region_name, region_en) in base:
        row = dict(lot_id=lot_id, lot_code=code, name=f"{project_name} {lot_name}", category=category,
                   owner_type=owner_type, procedure=procedure, region_code=region_code, region_name=region_name,
                   region_name_en=region_en, budget_fen=budget, announced_at=created, deadline_at=deadline,
                   opened_at=opened.get(lot_id), awarded_at=first_award.get(lot_id),
                   contracted_at=contracted.get(lot_id), failed_at=failed.get(lot_id),
                   deal_fen=current[lot_id][1] if lot_id in current else None,
                   participants=bidders.get(lot_id) if lot_id in opened else None)
        a = auctions.get(lot_id)
        if a is not None:
            row["starting_fen"] = a.starting_fen
            row["deadline_at"] = deadline or a.free_until
            if a.phase != "scheduled":
                row["opened_at"] = a.start_at
            if a.ended_at is not None:
                row["participants"] = qualified.get(lot_id, 0)
                if a.outcome == "sold" and a.price_fen is not None:
                    row["awarded_at"], row["deal_fen"] = a.ended_at, a.price_fen
                elif a.outcome == "no_sale":
                    row["failed_at"] = row["failed_at"] or a.ended_at
        rows.append(LotRow(**row))
    return rows


def issued_months(session: Session) -> dict[str, datetime]:
    """"YYYY-MM" → when its monthly report was first issued (the audit trail's stats.monthly_issued)."""
    out: dict[str, datetime] = {}
    for month, at in session.execute(select(AuditEntry.object_id, AuditEntry.created_at)
                                     .where(AuditEntry.action == ISSUED_ACTION).order_by(AuditEntry.seq)):
        out.setdefault(month, at)
    return out
