"""`flask calendar …`: load the official holiday schedule of a year (from chinese-calendar's shipped
data, or from a JSON file of the State Council notice for years it does not know)."""

import json
import sys
from datetime import date

import click
from flask.cli import with_appcontext

from trading.core.errors import DomainError
from trading.core.web import cli_context
from trading.extensions import db

from . import services


@click.group("calendar", help="Working-day calendar (工作日历).")
def calendar_cli():
    pass


@calendar_cli.command("load-builtin", help="Load every year chinese-calendar ships (or the given years).")
@click.argument("years", nargs=-1, type=int)
@with_appcontext
def load_builtin(years):
    try:
        done = services.load_builtin_years(cli_context(), list(years) or None)
    except DomainError as err:
        click.echo(err.message_zh, err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"loaded {len(done)} years: {done[0]}–{done[-1]}")


@calendar_cli.command("load-file", help='Load a year from JSON: {"year", "source", "days": [["2027-01-01", false, "元旦"], …]}.')
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def load_file(path):
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    try:
        days = [(date.fromisoformat(d), bool(w), str(n)) for d, w, n in data["days"]]
        services.load_calendar_year(cli_context(), int(data["year"]), days, str(data["source"]))
    except (KeyError, ValueError, TypeError) as err:
        click.echo(f"malformed calendar file: {err}", err=True)
        sys.exit(2)
    except DomainError as err:
        click.echo(err.message_zh, err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(f"loaded {data['year']}")
