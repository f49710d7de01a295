"""Refunds (退还) and forfeits (不予退还): the refund event that starts a lot's refund period, its due
date on the work calendar, each refund transfer, and forfeits with their reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.core.money import check_fen
from trading.reference.services import get_calendar

from ..lots import get_trade
from ..models import LotTrade
from . import rules
from .models import DepositAccount, DepositEntry
from .rules import RefundEvent
from .services import _locked_account, _refresh_status, deposit_settings, totals

SYSTEM = "system"



# --- Refunds and forfeits -----------------------------------------------------------------------
def record_refund_event(ctx: ServiceContext, lot_code: str, event: str, at: datetime | None = None, *,
                        account_id: int | None = None, winner_account_id: int | None = None) -> list[DepositAccount]:
    """Start the refund period: the contract, the result notice (GP/land/assets: the losers; the winner
    waits for the contract), a withdrawal (one account) or a termination. Sets each account's refund
    due instant from rules.refund_due; an account whose period already started keeps it."""
    ctx.require(*roles_for("deposit.manage"))
    try:
        event = RefundEvent(event)
    except ValueError:
        raise InvalidInput("deposit.refund_event", "退还事由不正确", "Unknown refund event", field="event") from None
    trade = get_trade(ctx, lot_code)
    at = at or ctx.now()
    if at > ctx.now():
        raise InvalidInput("deposit.event_in_future", "事由发生时间不能晚于当前时间", "The event cannot be in the future",
                           field="at")
    accounts = list(ctx.session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)
                                        .order_by(DepositAccount.id)).scalars())
    if event == RefundEvent.WITHDRAWAL:
        accounts = [a for a in accounts if a.id == account_id]
        if not accounts:
            raise not_found("保证金账户", "Deposit account")
    if winner_account_id is not None:
        for acc in accounts:
            acc.is_winner = acc.id == winner_account_id
    if event == RefundEvent.RESULT:
        accounts = [a for a in accounts if not a.is_winner]
    elif event == RefundEvent.CONTRACT and rules.regime_of(trade.procedure) == rules.Regime.GP:
        winners = [a for a in accounts if a.is_winner]
        accounts = winners or accounts
    return _start_refund_period(ctx, trade, event, at, accounts, winner_account_id=winner_account_id)


def _start_refund_period(ctx: ServiceContext, trade: LotTrade, event: RefundEvent, at: datetime,
                         accounts: list[DepositAccount], *, winner_account_id: int | None = None) -> list[DepositAccount]:
    cal = get_calendar(ctx)  # a period running into a year nobody loaded fails closed (CalendarYearMissing)
    due = rules.refund_due(cal, trade.procedure, event, at, deposit_settings(ctx))
    if due is None:
        raise _no_period(trade.procedure, event)
    changed = []
    for acc in accounts:
        if acc.refund_due_at is not None and event != RefundEvent.WITHDRAWAL:
            continue
        acc.refund_event, acc.refund_event_at, acc.refund_due_at = event.value, at, due
        changed.append(acc)
    record(ctx, "deposit.refund_event", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "event": event.value, "at": at, "due_at": due,
                    "accounts": [a.id for a in changed], "winner_account_id": winner_account_id})
    ctx.session.flush()
    return changed


def on_lot_terminated(ctx: ServiceContext, trade: LotTrade) -> list[DepositAccount]:
    """Hook for the termination of a lot (终止公告), called inside the publishing service's transaction
    (which checked its own permission): every sub-account whose refund period has not started gets
    the termination period (tender: 实施条例 31; GP: 5 working days)."""
    accounts = list(ctx.session.execute(select(DepositAccount).where(
        DepositAccount.lot_id == trade.lot_id, DepositAccount.refund_due_at.is_(None),
        DepositAccount.status != rules.AccountStatus.FORFEITED).order_by(DepositAccount.id)).scalars())
    if not accounts or rules.refund_rule(trade.procedure, RefundEvent.TERMINATION, deposit_settings(ctx)) is None:
        return []
    return _start_refund_period(ctx, trade, RefundEvent.TERMINATION, ctx.now(), accounts)


def _no_period(procedure: str, event: str) -> RuleViolation:
    zh, en = rules.REFUND_EVENT_LABELS[RefundEvent(event)]
    return RuleViolation("deposit.no_refund_period", f"该交易方式下“{zh}”不启动保证金退还期限",
                         f"In this procedure “{en}” does not start the refund period",
                         details={"procedure": procedure, "event": event})


@dataclass(frozen=True)
class RefundOutcome:
    entry: DepositEntry
    overdue: bool


def record_refund(ctx: ServiceContext, account_id: int, amount_fen: object, bank_ref: str,
                  note: str = "") -> RefundOutcome:
    """The centre records a refund transfer (its bank reference is unique); late against the due
    instant → flagged overdue (GP: interest at the loan rate + 20 % is owed, 87号令 38)."""
    ctx.require(*roles_for("deposit.manage"))
    account = _locked_account(ctx, account_id)
    amount = check_fen(amount_fen, field="amount")
    bank_ref = (bank_ref or "").strip()
    if not rules._REF_RE.match(bank_ref):
        raise InvalidInput("deposit.bank_ref", "请填写退款银行流水号（1–64 位字母、数字或 ._/-）",
                           "Give the refund transfer reference (1–64 letters, digits or ._/-)", field="bank_ref")
    if ctx.session.execute(select(DepositEntry.id).where(DepositEntry.kind == "refunded",
                                                         DepositEntry.bank_ref == bank_ref)).first():
        raise Conflict("deposit.duplicate_refund", f"退款流水号 {bank_ref} 已登记", f"Refund {bank_ref} is recorded already",
                       field="bank_ref")
    t = totals(ctx, account)
    if amount > t.held_fen:
        raise InvalidInput("deposit.refund_exceeds", "退还金额超过账户余额", "The refund exceeds the balance held",
                           field="amount", details={"held_fen": t.held_fen})
    now = ctx.now()
    overdue = account.refund_due_at is not None and now >= account.refund_due_at
    entry = DepositEntry(account_id=account.id, kind="refunded", amount_fen=amount, at=now, bank_ref=bank_ref,
                         note=(note or "").strip()[:500], late=overdue, created_by=ctx.actor.user_id, created_at=now)
    ctx.session.add(entry)
    ctx.session.flush()
    _refresh_status(ctx, account)
    trade = ctx.session.get(LotTrade, account.lot_id)
    record(ctx, "deposit.refunded", "deposit_account", account.id, project_id=trade.project_id,
           payload={"amount_fen": amount, "bank_ref": bank_ref, "due_at": account.refund_due_at, "overdue": overdue})
    return RefundOutcome(entry, overdue)


def forfeit(ctx: ServiceContext, account_id: int, reason: str, amount_fen: object = None) -> DepositEntry:
    """不予退还 (e.g. 实施条例 35: withdrawal after the deadline; the winner refusing the contract):
    the reason is required and recorded; the whole balance held unless an amount is given."""
    ctx.require(*roles_for("deposit.manage"))
    account = _locked_account(ctx, account_id)
    reason = (reason or "").strip()
    if not 4 <= len(reason) <= 500:
        raise InvalidInput("deposit.reason_required", "请写明不予退还的理由和依据（4–500 字）",
                           "Give the reason and its legal basis (4–500 characters)", field="reason")
    t = totals(ctx, account)
    amount = t.held_fen if amount_fen is None else check_fen(amount_fen, field="amount")
    if amount <= 0 or amount > t.held_fen:
        raise InvalidInput("deposit.nothing_held", "账户没有可不予退还的余额", "Nothing held to forfeit",
                           field="amount", details={"held_fen": t.held_fen})
    return _forfeit_entry(ctx, account, amount, reason)


def _forfeit_entry(ctx: ServiceContext, account: DepositAccount, amount: int, reason: str) -> DepositEntry:
    now = ctx.now()
    entry = DepositEntry(account_id=account.id, kind="forfeited", amount_fen=amount, at=now, note=reason,
                         created_by=ctx.actor.user_id, created_at=now)
    ctx.session.add(entry)
    ctx.session.flush()
    _refresh_status(ctx, account)
    trade = ctx.session.get(LotTrade, account.lot_id)
    record(ctx, "deposit.forfeited", "deposit_account", account.id, project_id=trade.project_id,
           payload={"amount_fen": amount, "reason": reason})
    return entry


def on_withdrawal(ctx: ServiceContext, trade: LotTrade, bidder_org_id: int, at: datetime) -> list[DepositAccount]:
    """Hook for a supplier's withdrawal (谈判 before the final offer, 74号令 Art. 34), called inside the
    withdrawing service's transaction (which checked its own permission): that supplier's sub-account
    gets the withdrawal refund period, if it has one and its period has not started."""
    accounts = list(ctx.session.execute(select(DepositAccount).where(
        DepositAccount.lot_id == trade.lot_id, DepositAccount.bidder_org_id == bidder_org_id,
        DepositAccount.refund_due_at.is_(None))).scalars())
    return _start_refund_period(ctx, trade, RefundEvent.WITHDRAWAL, at, accounts) if accounts else []


def on_award_event(ctx: ServiceContext, trade: LotTrade, event: str, at: datetime, *,
                   winner_org_id: int | None = None) -> list[DepositAccount]:
    """Hook for the awards services (the result notice, the contract), called inside their
    transaction (which checked their own permission): marks the winner's sub-account and starts the
    refund periods this event starts in the lot's regime (GP result: the others; GP contract: the
    winner; tender/比选 contract: everyone). An event that starts no period here does nothing."""
    event = RefundEvent(event)
    accounts = list(ctx.session.execute(select(DepositAccount).where(
        DepositAccount.lot_id == trade.lot_id, DepositAccount.status != rules.AccountStatus.FORFEITED)
        .order_by(DepositAccount.id)).scalars())
    winner_id = next((a.id for a in accounts if a.bidder_org_id == winner_org_id), None)
    if winner_org_id is not None:
        for acc in accounts:
            acc.is_winner = acc.bidder_org_id == winner_org_id
    if rules.refund_rule(trade.procedure, event, deposit_settings(ctx)) is None:
        return []
    if event == RefundEvent.RESULT:
        accounts = [a for a in accounts if not a.is_winner]
    elif event == RefundEvent.CONTRACT and rules.regime_of(trade.procedure) == rules.Regime.GP:
        accounts = [a for a in accounts if a.is_winner]
    if not accounts:
        return []
    return _start_refund_period(ctx, trade, event, at, accounts, winner_account_id=winner_id)


def on_winner_default(ctx: ServiceContext, trade: LotTrade, bidder_org_id: int, *, forfeit: bool,
                      reason: str) -> dict:
    """Hook for the awards services when the awarded supplier refuses to sign, does not sign in time
    or gives up (called inside their transaction, which checked its own permission): its sub-account
    is no longer the winner's; with `forfeit` the balance held is kept (不予退还, the reason recorded;
    实施条例 74, 74号令 20), otherwise (force majeure) its refund period starts as on a termination.
    Returns {"accounts": [...], "forfeited_fen": n, "refund_due_at": …} for the caller's audit entry."""
    accounts = list(ctx.session.execute(select(DepositAccount).where(
        DepositAccount.lot_id == trade.lot_id, DepositAccount.bidder_org_id == bidder_org_id)
        .order_by(DepositAccount.id).with_for_update()).scalars())
    out: dict = {"accounts": [a.id for a in accounts], "forfeited_fen": 0, "refund_due_at": None}
    for acc in accounts:
        acc.is_winner = False
        held = totals(ctx, acc).held_fen
        if forfeit and held > 0:
            _forfeit_entry(ctx, acc, held, reason[:500])
            out["forfeited_fen"] += held
        elif not forfeit and rules.refund_rule(trade.procedure, RefundEvent.TERMINATION, deposit_settings(ctx)):
            changed = _start_refund_period(ctx, trade, RefundEvent.TERMINATION, ctx.now(), [acc])
            if changed:
                out["refund_due_at"] = changed[0].refund_due_at
    ctx.session.flush()
    return out
