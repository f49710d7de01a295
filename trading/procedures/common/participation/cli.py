"""`flask offers …`: housekeeping of sealed-offer uploads."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from trading.core.context import ServiceContext
from trading.extensions import db

from .housekeeping import purge_staging

offers_cli = AppGroup("offers", help="Sealed-offer uploads (投标文件上传) housekeeping.")


@offers_cli.command("purge-staging")
def purge_staging_command() -> None:
    """Remove staged pieces of uploads that were finished or can no longer complete."""
    ctx = ServiceContext(session=db.session, clock=current_app.extensions["clock"])
    removed = purge_staging(ctx)
    click.echo(f"removed the staged pieces of {len(removed)} upload(s)")
