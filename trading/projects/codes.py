"""Issuing trade codes (统一交易标识码) and lot codes from the per (year, category) counter.

The counter row is created if missing (INSERT … ON CONFLICT DO NOTHING, so two first submissions
of a year cannot both create it) and then locked (SELECT … FOR UPDATE) while it is incremented, so
concurrent submissions get distinct, dense numbers. On SQLite the insert takes the writer lock first,
which serialises the same way."""

from __future__ import annotations

from sqlalchemy import select, update

from trading.core.context import ServiceContext

from . import rules
from .models import Project, TradeCodeCounter


def _insert_if_missing(ctx: ServiceContext, year: int, category: str) -> None:
    dialect = ctx.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = TradeCodeCounter.__table__
    ctx.session.execute(insert(table).values(year=year, category=category, last=0).on_conflict_do_nothing())


def next_number(ctx: ServiceContext, year: int, category: str) -> int:
    _insert_if_missing(ctx, year, category)
    table = TradeCodeCounter.__table__
    where = (table.c.year == year) & (table.c.category == category)
    last = ctx.session.execute(select(table.c.last).where(where).with_for_update()).scalar_one()
    ctx.session.execute(update(table).where(where).values(last=last + 1))
    return last + 1


def issue_codes(ctx: ServiceContext, project: Project, year: int, prefix: str) -> str:
    """Give the project its trade code and each lot `<trade_code>-NN`; called once, at first submission."""
    rules.check_prefix(prefix)  # before a number is taken
    code = rules.trade_code(prefix, year, project.category, next_number(ctx, year, project.category))
    project.trade_code = code
    for lot in project.lots:
        lot.code = rules.lot_code(code, lot.seq)
    return code
