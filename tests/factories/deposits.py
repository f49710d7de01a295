"""Deposits for tests.

    owner, trade = deposit_lot(ctx, deposit_yuan=10_000)   # a published 比选 lot asking 10,000 yuan
    acc = registered_account(ctx, trade, bidder_user)        # registers (报名) → the bidder's sub-account
    data = statement_csv([(when, acc.virtual_account, "甲公司", "6222…", "10000.00", "B001")])

Registration goes through the participation service (register_for_lot), which opens the sub-account."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import notice_project, published_notice
from trading.core.clock import to_beijing
from trading.core.context import ServiceContext
from trading.procedures.common.deposits import services
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.lots import get_trade
from trading.procedures.common.participation.services import register_for_lot

WAN = 1_000_000


def deposit_lot(ctx: ServiceContext, *, owner=None, procedure: str = "selection", deposit_yuan: int | None = 10_000,
                **project_overrides):
    """(owner user, LotTrade) of a freshly published lot; its deposit set by the owner when given."""
    owner = owner or make_user(ctx, "owner")
    ctx_owner = actor_ctx(ctx.session, ctx.clock, owner)
    if procedure == "tender":
        project_overrides = {"total_investment_fen": 600 * WAN,
                             "lots": [{"name": "一标段", "budget_fen": 500 * WAN}], **project_overrides}
    project = notice_project(ctx, owner, procedure=procedure, **project_overrides)
    published_notice(ctx_owner, project)
    trade = get_trade(ctx, project.lots[0].code)
    if deposit_yuan is not None:
        services.set_lot_deposit(ctx_owner, trade.lot_code, deposit_yuan * 100)
    return owner, trade


def registered_account(ctx: ServiceContext, trade, bidder_user):
    """The bidder registers for the lot (报名); its DepositAccount (None when the lot asks no deposit)."""
    part, _ = register_for_lot(actor_ctx(ctx.session, ctx.clock, bidder_user), trade.lot_code)
    return ctx.session.execute(select(DepositAccount).where(DepositAccount.participation_id == part.id)).scalar_one_or_none()


def statement_csv(rows, *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    """rows: (instant, account, payer name, payer account, amount text, 流水号)."""
    lines = ["交易时间,收款账号,付款人户名,付款账号,金额(元),流水号"]
    for at, account, payer, payer_account, amount, ref in rows:
        when = to_beijing(at).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f'{when},{account},{payer},{payer_account},"{amount}",{ref}')
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data
