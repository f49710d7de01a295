"""Deposit use cases: the lot's amount, a bidder's virtual sub-account, bank-statement import and
reconciliation, refunds and forfeits. Every change is audited in the same transaction; nothing is
deleted (a correction is a new ledger entry).

Secrecy (招标投标法 Art. 22): before the lot's deadline only the bidder itself sees its sub-account;
the centre reconciles by virtual account number without bidder names (queries.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, not_found
from trading.core.money import check_fen
from trading.projects.models import Lot, Project
from trading.reference.settings import catalogue, get_setting

from ..lots import before_deadline, get_trade
from ..models import LotTrade
from ..participation.models import Participation
from . import rules
from .models import DepositAccount, DepositEntry
from .rules import AccountStatus

SYSTEM = "system"


def deposit_settings(ctx: ServiceContext) -> dict[str, int]:
    return {code: get_setting(ctx, code) for code in catalogue() if code.startswith("deposit.")}


# --- The lot's amount ---------------------------------------------------------------------------
def set_lot_deposit(ctx: ServiceContext, lot_code: str, deposit_fen: object) -> LotTrade:
    """The owner or agency of the project (or the centre) sets the lot's deposit before the deadline,
    within the cap of its procedure (rules.check_deposit). It is NOT refused once someone registered:
    a refusal would tell the owner that someone did (招标投标法 Art. 22). Sub-accounts already open take
    the new amount, each change in an embargoed audit entry. (Publishing the change to bidders is the
    change notice's job, as for any term of the announcement.)"""
    ctx.require("owner", "agency", "operator")
    deposit_fen = check_fen(deposit_fen, field="deposit", allow_zero=True)
    trade = get_trade(ctx, lot_code, lock=True)
    project = ctx.session.get(Project, trade.project_id)
    a = ctx.actor
    if not a.has("operator") and not (
            a.org_id is not None and (project.owner_org_id == a.org_id or project.agency_org_id == a.org_id)):
        raise not_found("标段", "Lot")
    if not before_deadline(trade, ctx.now()):
        raise Conflict("deposit.deadline_passed", "已过投标截止时间（或交易已结束），不能再修改保证金金额",
                       "The deadline has passed (or the trade ended); the deposit can no longer change")
    lot = ctx.session.get(Lot, trade.lot_id)
    limits = rules.check_deposit(trade.procedure, project.category, lot.budget_fen, deposit_fen,
                                 deposit_settings(ctx))
    old = trade.deposit_fen
    trade.deposit_fen = deposit_fen
    _readjust_accounts(ctx, trade, deposit_fen)
    limit = limits.cap or limits.floor
    record(ctx, "deposit.amount_set", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "deposit_fen": [old, deposit_fen], "base_fen": lot.budget_fen,
                    "rule": limit.code if limit else None, "limit_fen": limit.fen if limit else None})
    ctx.session.flush()
    return trade


def _readjust_accounts(ctx: ServiceContext, trade: LotTrade, deposit_fen: int) -> None:
    accounts = ctx.session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)
                                   .order_by(DepositAccount.id)).scalars()
    for account in accounts:
        if account.required_fen == deposit_fen:
            continue
        old, account.required_fen = account.required_fen, deposit_fen
        record(ctx, "deposit.account_readjusted", "deposit_account", account.id, project_id=trade.project_id,
               embargo_lot_id=trade.lot_id, payload={"lot_code": trade.lot_code, "required_fen": [old, deposit_fen]})


# --- Sub-accounts -------------------------------------------------------------------------------
def _new_number(ctx: ServiceContext) -> str:
    prefix = get_setting(ctx, "deposit.account_prefix")
    for _ in range(20):
        number = rules.make_virtual_account(prefix, secrets.randbelow(10**12))
        if ctx.session.execute(select(DepositAccount.id).where(DepositAccount.virtual_account == number)).first() is None:
            return number
    raise Conflict("deposit.account_exhausted", "无法分配虚拟子账号，请稍后重试", "Could not allocate a sub-account; retry")


def open_sub_account(ctx: ServiceContext, participation: Participation) -> DepositAccount | None:
    """Called by registration (the bidder's context) when the lot asks a deposit: the bidder's
    virtual sub-account for the lot, made once (a second call returns the same account)."""
    a = ctx.actor
    if not (a.has(SYSTEM) or (a.has("bidder") and a.org_id == participation.bidder_org_id)):
        ctx.require(*roles_for("offer.participate"))
        raise not_found("报名", "Registration")
    trade = ctx.session.get(LotTrade, participation.lot_id)
    if trade is None:
        raise not_found("标段", "Lot")
    existing = ctx.session.execute(select(DepositAccount).where(
        DepositAccount.lot_id == participation.lot_id,
        DepositAccount.bidder_org_id == participation.bidder_org_id)).scalar_one_or_none()
    if existing is not None:
        return existing
    if trade.deposit_fen <= 0:
        return None
    now = ctx.now()
    account = DepositAccount(participation_id=participation.id, lot_id=trade.lot_id,
                             bidder_org_id=participation.bidder_org_id, virtual_account=_new_number(ctx),
                             required_fen=trade.deposit_fen, due_at=trade.deadline_at,
                             status=AccountStatus.AWAITING, created_at=now)
    ctx.session.add(account)
    ctx.session.flush()
    ctx.session.add(DepositEntry(account_id=account.id, kind="expected", amount_fen=trade.deposit_fen, at=now,
                                 created_by=a.user_id, created_at=now))
    record(ctx, "deposit.account_opened", "deposit_account", account.id, project_id=trade.project_id,
           embargo_lot_id=trade.lot_id,
           payload={"lot_code": trade.lot_code, "required_fen": trade.deposit_fen, "due_at": trade.deadline_at})
    ctx.session.flush()
    return account


@dataclass(frozen=True)
class Totals:
    required_fen: int
    received_fen: int
    refunded_fen: int
    forfeited_fen: int
    late: bool

    @property
    def held_fen(self) -> int:
        return self.received_fen - self.refunded_fen - self.forfeited_fen

    @property
    def status(self) -> AccountStatus:
        return rules.account_status(self.required_fen, self.received_fen, self.refunded_fen, self.forfeited_fen)


def totals(ctx: ServiceContext, account: DepositAccount) -> Totals:
    rows = ctx.session.execute(
        select(DepositEntry.kind, func.coalesce(func.sum(DepositEntry.amount_fen), 0))
        .where(DepositEntry.account_id == account.id).group_by(DepositEntry.kind)).all()
    by = {k: int(s) for k, s in rows}
    late = ctx.session.execute(select(DepositEntry.id).where(
        DepositEntry.account_id == account.id, DepositEntry.kind == "received", DepositEntry.late.is_(True))
        .limit(1)).first() is not None
    return Totals(account.required_fen, by.get("received", 0), by.get("refunded", 0), by.get("forfeited", 0), late)


def _refresh_status(ctx: ServiceContext, account: DepositAccount) -> Totals:
    t = totals(ctx, account)
    account.status = t.status
    return t


@dataclass(frozen=True)
class DepositState:
    required_fen: int
    received_fen: int
    refunded_fen: int
    forfeited_fen: int
    status: str
    late: bool = False
    virtual_account: str | None = None
    due_at: datetime | None = None
    refund_due_at: datetime | None = None


NO_DEPOSIT = DepositState(0, 0, 0, 0, "none")


def _can_read_after_deadline(ctx: ServiceContext, trade: LotTrade) -> bool:
    a = ctx.actor
    if a.has(SYSTEM) or a.has(*roles_for("deposit.read_all")):
        return True
    if a.has("owner", "agency") and a.org_id is not None:
        project = ctx.session.get(Project, trade.project_id)
        return a.org_id in (project.owner_org_id, project.agency_org_id)
    return False


def deposit_state(ctx: ServiceContext, participation_id: int) -> DepositState:
    """The deposit of one registration. The bidder itself at any time; the system; after the deadline
    also the project side and the centre/supervisors. Anyone else: the same 404 as for a missing one."""
    account = ctx.session.execute(select(DepositAccount).where(
        DepositAccount.participation_id == participation_id)).scalar_one_or_none()
    a = ctx.actor
    if account is None:
        participation = _participation(ctx, participation_id)
        if participation is None or not _may_see(ctx, participation.lot_id, participation.bidder_org_id):
            raise not_found("报名", "Registration")
        return NO_DEPOSIT
    if not _may_see(ctx, account.lot_id, account.bidder_org_id):
        raise not_found("报名", "Registration")
    t = totals(ctx, account)
    own = a.has(SYSTEM) or (a.has("bidder") and a.org_id == account.bidder_org_id)
    return DepositState(t.required_fen, t.received_fen, t.refunded_fen, t.forfeited_fen, t.status, t.late,
                        account.virtual_account if own or a.has(*roles_for("deposit.manage")) else None,
                        account.due_at, account.refund_due_at)


def _participation(ctx: ServiceContext, participation_id: object) -> Participation | None:
    if isinstance(participation_id, bool) or not isinstance(participation_id, int):
        return None
    return ctx.session.get(Participation, participation_id)


def _may_see(ctx: ServiceContext, lot_id: int, bidder_org_id: int) -> bool:
    a = ctx.actor
    if a.has(SYSTEM) or (a.has("bidder") and a.org_id == bidder_org_id):
        return True
    trade = ctx.session.get(LotTrade, lot_id)
    return trade is not None and not before_deadline(trade, ctx.now()) and _can_read_after_deadline(ctx, trade)


def get_visible_account(ctx: ServiceContext, account_id: object) -> DepositAccount:
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise not_found("保证金账户", "Deposit account")
    account = ctx.session.get(DepositAccount, account_id)
    if account is None or not (ctx.actor.has(*roles_for("deposit.manage"))
                               or _may_see(ctx, account.lot_id, account.bidder_org_id)):
        raise not_found("保证金账户", "Deposit account")
    return account


def _locked_account(ctx: ServiceContext, account_id: object) -> DepositAccount:
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise not_found("保证金账户", "Deposit account")
    account = ctx.session.execute(select(DepositAccount).where(DepositAccount.id == account_id)
                                  .with_for_update()).scalar_one_or_none()
    if account is None:
        raise not_found("保证金账户", "Deposit account")
    return account
