"""`flask auction tick`: what the clock has made due in every running auction — the start at the
announced time, the end of the free phase (timed phase or outcome), the end of the countdown — each
lot in its own transaction. Meant for a timer (every few seconds) beside the web workers: bids never
end a phase themselves (a late bid is refused by the server time), so a lot whose deadline passed
waits for this step, and nothing is lost when a worker restarts: the deadline is stored."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from trading.core.context import ServiceContext
from trading.core.errors import DomainError
from trading.extensions import db

from .models import Auction
from .services import tick

auction_cli = AppGroup("auction", help="拍卖/挂牌/网络竞价: the clock's steps.")


def tick_all(ctx: ServiceContext) -> list[tuple[str, str, str]]:
    """(lot code, phase before, phase after) of every auction that moved; each committed alone.
    A step the rules refuse (e.g. paused) leaves that lot as it is and goes on with the others."""
    codes = list(ctx.session.execute(select(Auction.lot_code).where(Auction.phase != "ended")
                                     .order_by(Auction.lot_id)).scalars())
    ctx.session.rollback()
    moved = []
    for code in codes:
        before = ctx.session.execute(select(Auction.phase).where(Auction.lot_code == code)).scalar_one()
        try:
            a = tick(ctx, code)
            after = a.phase
            ctx.session.commit()
        except DomainError:
            ctx.session.rollback()
            continue
        if after != before:
            moved.append((code, before, after))
    return moved


@auction_cli.command("tick")
def tick_command() -> None:
    """Start, end free phases and close countdowns that are due (server time)."""
    ctx = ServiceContext(session=db.session, clock=current_app.extensions["clock"], ip="127.0.0.1")
    moved = tick_all(ctx)
    for code, before, after in moved:
        click.echo(f"{code}: {before} → {after}")
    click.echo(f"{len(moved)} auction(s) moved")
