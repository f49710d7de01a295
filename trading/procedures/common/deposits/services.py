"""Deposit use cases: the lot's amount, a bidder's virtual sub-account, bank-statement import and
reconciliation, refunds and forfeits. Every change is audited in the same transaction; nothing is
deleted (a correction is a new ledger entry).

Secrecy (招标投标法 Art. 22): before the lot's deadline only the bidder itself sees its sub-account;
the centre reconciles by virtual account number without bidder names (queries.py)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.core.money import check_fen
from trading.projects.models import Lot, Project
from trading.reference.services import get_calendar
from trading.reference.settings import catalogue, get_setting

from ..lots import before_deadline, get_trade
from ..models import LotTrade
from ..participation.models import Participation
from . import rules
from .models import BankStatement, DepositAccount, DepositEntry
from .rules import AccountStatus, RefundEvent, StatementRow

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


# --- Bank statements ----------------------------------------------------------------------------
@dataclass
class ImportReport:
    filename: str
    sha256: str
    rows: int = 0
    matched: int = 0
    duplicates: int = 0
    statement: BankStatement | None = None
    unmatched: list[StatementRow] = field(default_factory=list)
    late: list[tuple[StatementRow, str]] = field(default_factory=list)       # (row, lot_code)
    partial: list[tuple[str, int, int]] = field(default_factory=list)        # (virtual account, received, required)
    overpaid: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.statement is not None

    def summary(self) -> dict:
        return {"filename": self.filename, "sha256": self.sha256, "rows": self.rows, "matched": self.matched,
                "unmatched": len(self.unmatched), "duplicates": self.duplicates, "late": len(self.late),
                "partial": len(self.partial), "overpaid": len(self.overpaid), "changed": self.changed}


MAX_STATEMENT_BYTES = 10 * 1024 * 1024


def import_bank_statement(ctx: ServiceContext, filename: str, data: bytes) -> ImportReport:
    """Reconcile a bank statement (CSV: 交易时间, 收款账号, 付款人户名, 付款账号, 金额(元), 流水号). Rows match
    sub-accounts by account number; a 流水号 seen before is a duplicate (a re-import changes nothing and
    says so); rows for no sub-account are kept as unmatched for the centre to resolve; late, partial and
    over-payments are flagged. A malformed file: a 422 naming the line and column, nothing written."""
    ctx.require(*roles_for("deposit.manage"))
    filename = (filename or "statement.csv").strip()[:200] or "statement.csv"
    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidInput("deposit.statement_empty", "请选择银行流水文件（CSV）", "Choose a bank statement file (CSV)",
                           field="file")
    if len(data) > MAX_STATEMENT_BYTES:
        raise InvalidInput("deposit.statement_too_large", "银行流水文件超过 10 MiB，请拆分后导入",
                           "The statement is larger than 10 MiB; split it", field="file")
    data = bytes(data)
    rows = rules.parse_statement(data)
    report = ImportReport(filename=filename, sha256=hashlib.sha256(data).hexdigest(), rows=len(rows))
    refs = [r.bank_ref for r in rows]
    seen: set[str] = set()
    for chunk in _chunks(refs, 500):
        seen.update(ctx.session.execute(select(DepositEntry.bank_ref).where(
            DepositEntry.kind.in_(("received", "unmatched")), DepositEntry.bank_ref.in_(chunk))).scalars())
    fresh = [r for r in rows if r.bank_ref not in seen]
    report.duplicates = len(rows) - len(fresh)
    now = ctx.now()
    if not fresh:
        record(ctx, "deposit.statement_reimported", "bank_statement", None,
               payload=report.summary() | {"note": "no new rows"})
        return report
    numbers = sorted({r.account for r in fresh})
    accounts: dict[str, DepositAccount] = {}
    for chunk in _chunks(numbers, 500):
        for acc in ctx.session.execute(select(DepositAccount).where(DepositAccount.virtual_account.in_(chunk))).scalars():
            accounts[acc.virtual_account] = acc
    trades = {t.lot_id: t for t in ctx.session.execute(select(LotTrade).where(
        LotTrade.lot_id.in_({a.lot_id for a in accounts.values()} or {-1}))).scalars()}
    statement = BankStatement(filename=filename, sha256=report.sha256, imported_by=ctx.actor.user_id,
                              imported_at=now, rows=len(rows), matched=0, unmatched=0,
                              duplicates=report.duplicates)
    ctx.session.add(statement)
    ctx.session.flush()
    touched: dict[int, DepositAccount] = {}
    for r in fresh:
        acc = accounts.get(r.account)
        if acc is None:
            report.unmatched.append(r)
            ctx.session.add(DepositEntry(account_id=None, kind="unmatched", amount_fen=r.amount_fen, at=r.at,
                                         bank_ref=r.bank_ref, statement_id=statement.id, to_account=r.account,
                                         payer_name=r.payer_name, payer_account=r.payer_account,
                                         created_by=ctx.actor.user_id, created_at=now))
            continue
        trade = trades[acc.lot_id]
        due = trade.deadline_at or acc.due_at
        late = due is not None and r.at >= due
        if late:
            report.late.append((r, trade.lot_code))
        report.matched += 1
        ctx.session.add(DepositEntry(account_id=acc.id, kind="received", amount_fen=r.amount_fen, at=r.at,
                                     bank_ref=r.bank_ref, statement_id=statement.id, to_account=r.account,
                                     payer_name=r.payer_name, payer_account=r.payer_account, late=late,
                                     created_by=ctx.actor.user_id, created_at=now))
        touched[acc.id] = acc
    try:
        ctx.session.flush()
    except IntegrityError:
        # Another import of the same 流水号 committed in between (uq_deposit_entry_kind_ref); the
        # request boundary rolls the whole import back.
        raise Conflict("deposit.concurrent_import", "另一次导入正在写入相同的流水，请稍后重新导入本文件（重复流水不会重复入账）",
                       "Another import is writing the same rows; import this file again in a moment") from None
    for acc in touched.values():
        t = _refresh_status(ctx, acc)
        if t.status == AccountStatus.PARTIAL:
            report.partial.append((acc.virtual_account, t.received_fen, t.required_fen))
        elif t.status == AccountStatus.OVERPAID:
            report.overpaid.append((acc.virtual_account, t.received_fen, t.required_fen))
    statement.matched, statement.unmatched, statement.late = report.matched, len(report.unmatched), len(report.late)
    report.statement = statement
    record(ctx, "deposit.statement_imported", "bank_statement", statement.id, payload=report.summary())
    ctx.session.flush()
    return report


def _chunks(items: list, n: int) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def assign_unmatched(ctx: ServiceContext, entry_id: int, virtual_account: str, note: str) -> DepositEntry:
    """The centre resolves an unmatched row (e.g. a typo in the account number the payer used): a new
    `received` entry on the right sub-account; the unmatched row stays, its note says where it went."""
    ctx.require(*roles_for("deposit.manage"))
    note = (note or "").strip()
    if not note:
        raise InvalidInput("deposit.note_required", "请说明归集依据（如银行回单、付款人确认）",
                           "Say why the row belongs to this account", field="note")
    entry = ctx.session.get(DepositEntry, entry_id) if isinstance(entry_id, int) else None
    if entry is None or entry.kind != "unmatched":
        raise not_found("未匹配流水", "Unmatched row")
    if ctx.session.execute(select(DepositEntry.id).where(DepositEntry.kind == "received",
                                                         DepositEntry.bank_ref == entry.bank_ref)).first():
        raise Conflict("deposit.already_assigned", "该流水已归集", "This row was assigned already")
    account = ctx.session.execute(select(DepositAccount).where(
        DepositAccount.virtual_account == (virtual_account or "").replace(" ", ""))).scalar_one_or_none()
    if account is None:
        raise InvalidInput("deposit.unknown_account", "虚拟子账号不存在", "No such sub-account", field="virtual_account")
    trade = ctx.session.get(LotTrade, account.lot_id)
    due = trade.deadline_at or account.due_at
    now = ctx.now()
    received = DepositEntry(account_id=account.id, kind="received", amount_fen=entry.amount_fen, at=entry.at,
                            bank_ref=entry.bank_ref, statement_id=entry.statement_id, to_account=entry.to_account,
                            payer_name=entry.payer_name, payer_account=entry.payer_account,
                            late=due is not None and entry.at >= due, note=note[:500],
                            created_by=ctx.actor.user_id, created_at=now)
    ctx.session.add(received)
    entry.note = (entry.note + f"\n已归集至 {account.virtual_account}（{now.isoformat()}）").strip()
    ctx.session.flush()
    _refresh_status(ctx, account)
    record(ctx, "deposit.unmatched_assigned", "deposit_entry", entry.id, project_id=trade.project_id,
           payload={"bank_ref": entry.bank_ref, "account_id": account.id, "amount_fen": entry.amount_fen, "note": note})
    return received


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
        DepositAccount.lot_id == trade.lot_id, DepositAccount.refund_due_at.is_(None))
        .order_by(DepositAccount.id)).scalars())
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


def _locked_account(ctx: ServiceContext, account_id: object) -> DepositAccount:
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise not_found("保证金账户", "Deposit account")
    account = ctx.session.execute(select(DepositAccount).where(DepositAccount.id == account_id)
                                  .with_for_update()).scalar_one_or_none()
    if account is None:
        raise not_found("保证金账户", "Deposit account")
    return account
