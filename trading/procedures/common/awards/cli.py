"""`flask awards …`: housekeeping of the award clocks (run e.g. every few minutes by cron)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from trading.core.context import ServiceContext
from trading.extensions import db

from .queries import overdue_contracts
from .services import record_deemed_confirmations

awards_cli = AppGroup("awards", help="Awards (定标) housekeeping: deemed confirmations, contract reminders.")


@awards_cli.command("housekeeping")
def housekeeping_command() -> None:
    """Record every GP confirmation that the buyer's silence decided, and list the contracts due."""
    ctx = ServiceContext(session=db.session, clock=current_app.extensions["clock"])
    done = record_deemed_confirmations(ctx)
    db.session.commit()
    click.echo(f"recorded {len(done)} deemed confirmation(s)")
    for row in overdue_contracts(db.session, ctx.now()):
        click.echo(f"{row.light}\t{row.lot_code}\t{row.due_at.isoformat()}\t{row.project_name}")
