"""`flask audit verify`: recompute the chain; exit non-zero naming the first bad entry."""

import sys

import click
from flask.cli import with_appcontext

from trading.extensions import db

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
