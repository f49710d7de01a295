"""Bank statements (银行流水): CSV import matched by virtual sub-account, idempotent by 流水号, and the
operator's assignment of unmatched rows. Every import is audited; a malformed file writes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found

from ..models import LotTrade
from . import rules
from .models import BankStatement, DepositAccount, DepositEntry
from .rules import AccountStatus, StatementRow
from .services import _refresh_status

SYSTEM = "system"



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
