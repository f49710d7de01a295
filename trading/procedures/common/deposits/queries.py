"""Read models for the deposit pages and API. Secrecy (招标投标法 Art. 22) is decided here once:
before a lot's deadline no one but the bidder sees who holds a sub-account; the centre reconciles by
virtual account number (no bidder name, no lot), and only the centre sees the payer the bank reported."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, not_found
from trading.projects.models import Lot, Project
from trading.reference.settings import get_setting

from ..lots import before_deadline, get_trade
from ..models import LotTrade
from . import rules
from .models import BankStatement, DepositAccount, DepositEntry
from .services import Totals, _can_read_after_deadline


def _totals(ctx: ServiceContext, accounts: list[DepositAccount]) -> dict[int, Totals]:
    ids = [a.id for a in accounts]
    sums: dict[int, dict[str, int]] = {i: {} for i in ids}
    late: set[int] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for acc_id, kind, total in ctx.session.execute(
                select(DepositEntry.account_id, DepositEntry.kind, func.sum(DepositEntry.amount_fen))
                .where(DepositEntry.account_id.in_(chunk)).group_by(DepositEntry.account_id, DepositEntry.kind)):
            sums[acc_id][kind] = int(total)
        late.update(ctx.session.execute(select(DepositEntry.account_id).where(
            DepositEntry.account_id.in_(chunk), DepositEntry.kind == "received", DepositEntry.late.is_(True))).scalars())
    return {a.id: Totals(a.required_fen, sums[a.id].get("received", 0), sums[a.id].get("refunded", 0),
                         sums[a.id].get("forfeited", 0), a.id in late) for a in accounts}


@dataclass(frozen=True)
class AccountRow:
    account: DepositAccount
    trade: LotTrade
    lot_name: str
    project_name: str
    totals: Totals
    #: None before the deadline for anyone but the bidder itself
    bidder_name: str | None
    light: rules.Light | None

    @property
    def due_at(self):
        """The payment deadline in force: the lot's current deadline (a change notice may move it)."""
        return self.trade.deadline_at or self.account.due_at


def _rows(ctx: ServiceContext, stmt, *, names: bool) -> list[AccountRow]:
    found = ctx.session.execute(stmt).all()
    accounts = [r[0] for r in found]
    t = _totals(ctx, accounts)
    now, warn = ctx.now(), get_setting(ctx, "deposit.refund_warn_days")
    out = []
    for acc, trade, lot_name, project_name, org_name in found:
        tot = t[acc.id]
        show_name = names and not before_deadline(trade, now)
        out.append(AccountRow(acc, trade, lot_name, project_name, tot, org_name if show_name else None,
                              rules.refund_light(acc.refund_due_at, now, settled=tot.held_fen <= 0, warn_days=warn)))
    return out


def _base():
    return (select(DepositAccount, LotTrade, Lot.name, Project.name, Organisation.name)
            .join(LotTrade, LotTrade.lot_id == DepositAccount.lot_id)
            .join(Lot, Lot.id == DepositAccount.lot_id)
            .join(Project, Project.id == LotTrade.project_id)
            .join(Organisation, Organisation.id == DepositAccount.bidder_org_id))


def my_deposits(ctx: ServiceContext) -> list[AccountRow]:
    """The bidder's own sub-accounts, newest first."""
    ctx.require(*roles_for("offer.participate"))
    rows = _rows(ctx, _base().where(DepositAccount.bidder_org_id == ctx.actor.org_id)
                 .order_by(DepositAccount.id.desc()), names=False)
    return rows


def my_account(ctx: ServiceContext, account_id: int) -> AccountRow:
    ctx.require(*roles_for("offer.participate"))
    rows = _rows(ctx, _base().where(DepositAccount.bidder_org_id == ctx.actor.org_id,
                                    DepositAccount.id == account_id), names=False)
    if not rows:
        raise not_found("保证金账户", "Deposit account")
    return rows[0]


def lot_deposits(ctx: ServiceContext, lot_code: str) -> tuple[LotTrade, list[AccountRow]]:
    """Per-bidder deposit status of a lot, after its deadline: the project side, the centre,
    supervisors. Before the deadline the same refusal for every lot (nothing about registrations)."""
    ctx.require(*sorted(set(roles_for("participation.read_after_deadline")) | set(roles_for("deposit.read_all"))))
    trade = get_trade(ctx, lot_code)
    if not _can_read_after_deadline(ctx, trade):
        raise not_found("标段", "Lot")
    if before_deadline(trade, ctx.now()):
        raise Conflict("deposit.before_deadline", "投标截止前不公开保证金缴纳情况（《招标投标法》第二十二条）",
                       "Deposit status is not disclosed before the deadline (Tendering Law Art. 22)")
    return trade, _rows(ctx, _base().where(DepositAccount.lot_id == trade.lot_id).order_by(DepositAccount.id),
                        names=True)


@dataclass(frozen=True)
class LedgerRow:
    entry: DepositEntry
    virtual_account: str | None
    #: lot and bidder only once the lot's deadline has passed
    lot_code: str | None
    bidder_name: str | None
    #: the payer as the bank reported it: the centre only
    payer_name: str | None
    payer_account: str | None


def ledger(ctx: ServiceContext, *, limit: int = 200, unmatched_only: bool = False) -> list[LedgerRow]:
    """The centre's reconciliation view (and the supervisors', without payers): ledger rows, newest
    first, by virtual account number."""
    ctx.require(*roles_for("deposit.read_all"))
    payer = ctx.actor.has(*roles_for("deposit.manage"))
    stmt = (select(DepositEntry, DepositAccount, LotTrade, Organisation.name)
            .outerjoin(DepositAccount, DepositAccount.id == DepositEntry.account_id)
            .outerjoin(LotTrade, LotTrade.lot_id == DepositAccount.lot_id)
            .outerjoin(Organisation, Organisation.id == DepositAccount.bidder_org_id)
            .order_by(DepositEntry.id.desc()).limit(limit))
    if unmatched_only:
        stmt = stmt.where(DepositEntry.kind == "unmatched")
    now = ctx.now()
    out = []
    for entry, acc, trade, org_name in ctx.session.execute(stmt):
        after = trade is not None and not before_deadline(trade, now)
        if entry.kind == "expected" and trade is not None and not after:
            continue  # an opened sub-account is a registration: secret until the deadline (Art. 22)
        out.append(LedgerRow(entry, acc.virtual_account if acc else entry.to_account or None,
                             trade.lot_code if after else None, org_name if after else None,
                             entry.payer_name if payer else None, entry.payer_account if payer else None))
    return out


def refunds_due(ctx: ServiceContext) -> list[AccountRow]:
    """Accounts whose refund period has started and that still hold money, the most urgent first."""
    ctx.require(*roles_for("deposit.read_all"))
    rows = _rows(ctx, _base().where(DepositAccount.refund_due_at.is_not(None))
                 .order_by(DepositAccount.refund_due_at, DepositAccount.id), names=True)
    return [r for r in rows if r.totals.held_fen > 0]


def statements(ctx: ServiceContext, limit: int = 20) -> list[BankStatement]:
    ctx.require(*roles_for("deposit.read_all"))
    return list(ctx.session.execute(select(BankStatement).order_by(BankStatement.id.desc()).limit(limit)).scalars())


@dataclass(frozen=True)
class LotDepositForm:
    trade: LotTrade
    lot: Lot
    project: Project
    limits: rules.DepositLimits
    editable: bool


def lot_deposit_form(ctx: ServiceContext, lot_code: str) -> LotDepositForm:
    """What the amount page shows the project side: the lot, its base price and the cap."""
    from .services import deposit_settings
    ctx.require("owner", "agency", "operator")
    trade = get_trade(ctx, lot_code)
    project = ctx.session.get(Project, trade.project_id)
    a = ctx.actor
    if not a.has("operator") and not (
            a.org_id is not None and a.org_id in (project.owner_org_id, project.agency_org_id)):
        raise not_found("标段", "Lot")
    lot = ctx.session.get(Lot, trade.lot_id)
    limits = rules.deposit_limits(trade.procedure, project.category, lot.budget_fen, deposit_settings(ctx))
    editable = before_deadline(trade, ctx.now())
    return LotDepositForm(trade, lot, project, limits, editable)

