"""`flask audit verify`: recompute the chain; exit non-zero naming the first bad entry."""

import sys

import click
from flask.cli import with_appcontext

from trading.core.context import ServiceContext
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


@audit_cli.command("export", help="Write the offline bundle (entries, checkpoints, cosignatures, keys, verifier).")
@click.argument("directory", type=click.Path(file_okay=False))
@with_appcontext
def export_command(directory):
    from .export import export_bundle
    manifest = export_bundle(db.session, directory, now=_ctx().now())
    click.echo(f"{manifest['entries']} entries written to {directory}")


@audit_cli.command("witness-add", help="Register a supervising authority's cosigning key (public key, base64).")
@click.option("--org-id", type=int, required=True)
@click.option("--name", required=True, help="the key name the witness signs with, e.g. witness.<credit code>")
@click.option("--public-key", required=True, help="raw 32-byte Ed25519 public key, base64")
@with_appcontext
def witness_add_command(org_id, name, public_key):
    import base64
    import binascii

    from trading.core.errors import DomainError

    from .checkpoints import register_witness
    try:
        raw = base64.b64decode(public_key, validate=True)
        w = register_witness(_ctx(), org_id=org_id, name=name, public_raw=raw)
    except (binascii.Error, DomainError) as exc:
        click.echo(f"refused: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"witness {w.name} registered (id {w.id})")
