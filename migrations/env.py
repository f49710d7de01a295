"""Alembic environment, run by Flask-Migrate (`flask db ...`) inside the app context.

The target is the app's own metadata (`trading.core.db.Base.metadata`, filled by `trading.models`),
which carries the naming convention, so every constraint and index gets a deterministic name in the
generated scripts. The app's column types (UTCDateTime, Fen) are rendered as the plain SQL types
they store, so a revision never imports application code that may change after it was written.
See migrations/README for how to (re)generate and what to edit by hand."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy.types import TypeDecorator

config = context.config

# Keep the loggers other code set up (pytest's capture, the app's own): alembic's default would
# disable them.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_metadata():
    import trading.models  # noqa: F401  (every table registered on the metadata)
    from trading.core.db import Base

    return Base.metadata


def render_item(type_, obj, autogen_context):
    """UTCDateTime → sa.DateTime(timezone=True), Fen → sa.BigInteger(): the stored types."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


def process_revision_directives(context_, revision, directives):
    """An autogenerate that finds no change writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")


def _configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)  # compare_type, render_as_batch
    args.setdefault("process_revision_directives", process_revision_directives)
    args.setdefault("render_item", render_item)
    return args


def run_migrations_offline():
    """`flask db upgrade --sql`: print the SQL instead of running it."""
    url = get_engine().url.render_as_string(hide_password=False)
    # paramstyle "named": the printed SQL keeps a single % (PL/pgSQL's RAISE placeholder)
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True,
                      dialect_opts={"paramstyle": "named"}, **_configure_args())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **_configure_args())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
