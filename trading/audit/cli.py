"""`flask audit verify`: recompute the chain; exit non-zero naming the first bad entry."""

import sys

import click
from flask.cli import with_appcontext

from trading.extensions import db

from trading.core.context import ServiceContext

from .services import verify


@click.group("audit", help="Audit trail tools (审计日志).")
def audit_cli():
    pass


@audit_cli.command("verify", help="Recompute the hash chain and name the first bad entry.")
@with_appcontext
def verify_command():
    result = verify(db.session)
    click.echo(result.describe())
    if not result.ok:
        sys.exit(1)


def _ctx() -> ServiceContext:
    from flask import current_app
    return ServiceContext(session=db.session, clock=current_app.extensions["clock"])


@audit_cli.command("checkpoint", help="Sign a checkpoint over every entry (nothing new if the log did not grow). "
                                      "Run it periodically, e.g. every minute from cron.")
@click.option("--reason", type=click.Choice(["periodic", "manual"]), default="periodic", show_default=True)
@with_appcontext
def checkpoint_command(reason):
    from .checkpoints import make_checkpoint
    cp = make_checkpoint(_ctx(), reason)
    db.session.commit()
    click.echo(cp.note.split("\n\n")[0])
