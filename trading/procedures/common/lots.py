"""A lot's trading state (LotTrade): made when its announcement is published, dated by every later
change notice, ended by a termination. The dates here are the ones the server enforces (deadline,
opening); the portal shows the notices they came from.

Imports: core, audit, reference, projects, this package (opening, for the key ceremony)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, not_found
from trading.projects.models import Lot, Project
from trading.reference.settings import SettingDef, define, get_setting

from .models import LotTrade, Notice
from .rules import NoticeKind

define(
    SettingDef("offer.max_part_mib", 200, "count", "平台设定 [P]: 单个密封文件（每部分）上限 MiB",
               "密封投标文件单部分上限（MiB）", "Largest sealed part (MiB)", 1, 2048),
    SettingDef("opening.min_valid_offers", 3, "count", "招标投标法 28; 实施条例 44; 74号令 [V]",
               "开标有效投标（响应）最少家数", "Fewest valid offers to proceed", 1, 10),
)

#: the setting a procedure's 流标 (or termination) threshold at the opening comes from, where it has its
#: own (招标出让: fewer than 3 bidders end the tender, land_tender.rules); others: opening.min_valid_offers
MIN_VALID_SETTING = {"land_tender": "land_tender.min_bidders", "mining_tender": "land_tender.min_bidders"}

#: procedures whose offers are sealed envelopes opened by the custodians (auctions seal only the
#: reserve price, issue 5)
SEALED_PROCEDURES = frozenset({"tender", "gp_tender", "selection", "negotiation", "consultation", "inquiry",
                               "land_tender", "mining_tender"})


class LotStatus(StrEnum):
    ACCEPTING = "accepting"    # 接受报名/投标 until the deadline (server time)
    CLOSED = "closed"          # deadline passed, waiting for the opening
    OPENING = "opening"        # custodians are submitting shares / envelopes are being opened
    OPENED = "opened"          # the opening record exists
    FAILED = "failed"          # 流标: too few valid offers
    TERMINATED = "terminated"  # 终止公告 / cancelled with a reason / method switched (approval recorded)
    # issue 4: the stages after the opening (trading.procedures.common.flow; one machine per procedure)
    NEGOTIATING = "negotiating"    # 竞争性谈判: rounds
    FINAL_OFFERS = "final_offers"  # 最后报价
    EVALUATING = "evaluating"      # the panel scores
    REPORTED = "reported"          # the evaluation report is signed
    PUBLICITY = "publicity"        # 中标/中选候选人公示 (比选)
    CONFIRMING = "confirming"      # 谈判/询价: the buyer's confirmation is recorded; the result follows
    AWARDED = "awarded"            # result notice and award notice issued
    CONTRACTED = "contracted"      # contract recorded
    ARCHIVED = "archived"          # file closed
    REANNOUNCED = "reannounced"    # failed, then re-announced: the next attempt is a new LotTrade (cycle + 1)


def effective_status(trade: LotTrade, now: datetime) -> str:
    """ACCEPTING turns into CLOSED the instant the deadline is reached, without a job: the stored
    status is only advanced by the next action, but every check reads this."""
    if trade.status == LotStatus.ACCEPTING and trade.deadline_at is not None and now >= trade.deadline_at:
        return LotStatus.CLOSED
    return trade.status


def before_deadline(trade: LotTrade, now: datetime) -> bool:
    return effective_status(trade, now) == LotStatus.ACCEPTING


def get_trade(ctx: ServiceContext, lot_code: str, *, lock: bool = False) -> LotTrade:
    stmt = select(LotTrade).where(LotTrade.lot_code == lot_code)
    if lock:
        stmt = stmt.with_for_update()
    trade = ctx.session.execute(stmt).scalar_one_or_none()
    if trade is None:
        raise not_found("标段", "Lot")
    return trade


def _lots_of(ctx: ServiceContext, notice: Notice) -> list[Lot]:
    stmt = select(Lot).where(Lot.project_id == notice.project_id).order_by(Lot.seq)
    if notice.lot_id is not None:
        stmt = stmt.where(Lot.id == notice.lot_id)
    return list(ctx.session.execute(stmt).scalars())


def _dates(notice: Notice) -> dict:
    return {"docs_from": notice.docs_from, "docs_until": notice.docs_until,
            "deadline_at": notice.deadline_at, "opening_at": notice.opening_at}


#: called with (ctx, failed attempt, new attempt) when a re-announcement opens the next attempt of a lot:
#: later layers (evaluation: the criteria) carry their settings over as the owner's editable drafts
_next_cycle_hooks: list[Callable[[ServiceContext, LotTrade, LotTrade], None]] = []


def on_next_cycle(fn: Callable[[ServiceContext, LotTrade, LotTrade], None]) -> None:
    if fn not in _next_cycle_hooks:
        _next_cycle_hooks.append(fn)


def on_notice_published(ctx: ServiceContext, notice: Notice) -> None:
    """Called by publish_notice in its transaction."""
    if notice.kind in (NoticeKind.ANNOUNCEMENT, NoticeKind.LAND_GRANT, NoticeKind.DISCLOSURE):
        # land/mining grant notices and asset disclosures open their lots too (auction, issue 5)
        _open_lots(ctx, notice)
    elif notice.kind == NoticeKind.CHANGE:
        _redate_lots(ctx, notice)
    elif notice.kind == NoticeKind.TERMINATION:
        _terminate_lots(ctx, notice)


def _open_lots(ctx: ServiceContext, notice: Notice) -> None:
    from .opening.services import run_ceremony  # the ceremony belongs to the opening sub-package

    project = ctx.session.get(Project, notice.project_id)
    sealed = project.procedure in SEALED_PROCEDURES
    now = ctx.now()
    for lot in _lots_of(ctx, notice):
        previous = ctx.session.get(LotTrade, lot.id)
        if previous is not None and previous.status != LotStatus.FAILED:
            continue  # a re-announcement of a lot already trading dates it like a change
        if previous is not None:  # 流标, announced again: the next attempt is a new lot (stages.py)
            from .stages import start_next_cycle

            lot = start_next_cycle(ctx, previous)
        trade = LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                         procedure=project.procedure, sealed=sealed,
                         max_part_bytes=get_setting(ctx, "offer.max_part_mib") * 1024 * 1024,
                         # a re-announced attempt keeps the failed one's deposit (the owner may change it
                         # before the new deadline, deposits.set_lot_deposit)
                         deposit_fen=previous.deposit_fen if previous else 0,
                         min_valid_offers=get_setting(ctx, MIN_VALID_SETTING.get(project.procedure,
                                                                                  "opening.min_valid_offers")),
                         status=LotStatus.ACCEPTING, status_changed_at=now, created_at=now, **_dates(notice),
                         cycle=previous.cycle + 1 if previous else 1,
                         previous_lot_id=previous.lot_id if previous else None)
        ctx.session.add(trade)
        ctx.session.flush()
        record(ctx, "lot.trading_opened", "lot", lot.id, project_id=project.id,
               payload={"lot_code": lot.code, "notice_id": notice.id, "sealed": sealed,
                        "deadline_at": notice.deadline_at, "opening_at": notice.opening_at,
                        "cycle": trade.cycle, "previous_lot_code": previous.lot_code if previous else None,
                        "deposit_fen": trade.deposit_fen})
        if previous is not None:
            for hook in _next_cycle_hooks:
                hook(ctx, previous, trade)
        if sealed:
            run_ceremony(ctx, trade)


def _redate_lots(ctx: ServiceContext, notice: Notice) -> None:
    now = ctx.now()
    for lot in _lots_of(ctx, notice):
        trade = ctx.session.get(LotTrade, lot.id)
        if trade is None:
            continue
        if not before_deadline(trade, now):
            raise Conflict("lot.deadline_passed", f"标段 {lot.code} 已过投标截止时间，不能再变更其时间",
                           f"Lot {lot.code} is past its deadline; its dates can no longer change")
        changed = {k: v for k, v in _dates(notice).items() if v is not None and getattr(trade, k) != v}
        if not changed:
            continue
        old = {k: getattr(trade, k) for k in changed}
        for k, v in changed.items():
            setattr(trade, k, v)
        trade.notice_id = notice.id
        record(ctx, "lot.redated", "lot", lot.id, project_id=notice.project_id,
               payload={"notice_id": notice.id, "old": old, "new": changed})


def _terminate_lots(ctx: ServiceContext, notice: Notice) -> None:
    now = ctx.now()
    for lot in _lots_of(ctx, notice):
        trade = ctx.session.get(LotTrade, lot.id)
        if trade is None or trade.status in (LotStatus.TERMINATED, LotStatus.OPENED, LotStatus.FAILED):
            continue
        old = trade.status
        trade.status, trade.status_changed_at = LotStatus.TERMINATED, now
        record(ctx, "lot.terminated", "lot", lot.id, project_id=notice.project_id,
               payload={"notice_id": notice.id, "old": old, "new": LotStatus.TERMINATED.value})
        # the deposits' refund period starts with the termination (a year nobody loaded fails closed)
        from .deposits.refunds import on_lot_terminated

        on_lot_terminated(ctx, trade)
