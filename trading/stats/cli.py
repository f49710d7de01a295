"""`flask stats monthly --month YYYY-MM --out DIR`: writes the month's report as XLSX and PDF into DIR
(default month: the previous one, the report due by the 3rd) and records the issue with the files'
SHA-256 in the audit trail (the page's time limit then shows it done)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click
from flask.cli import with_appcontext

from trading.core.errors import DomainError
from trading.core.web import cli_context
from trading.extensions import db

from . import exports, rules, services


@click.group("stats", help="Statistics (交易统计).")
def stats_cli():
    pass


@stats_cli.command("monthly", help="Write the monthly report (XLSX and PDF) into DIR.")
@click.option("--month", "month_text", default=None, help="YYYY-MM (default: the previous month).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def monthly_command(month_text: str | None, out: Path):
    ctx = cli_context()
    try:
        month = (rules.month_of(ctx.now()).previous() if month_text is None
                 else rules.parse_month(month_text, ctx.now()))
        report = services.monthly_report(ctx, month)
        out.mkdir(parents=True, exist_ok=True)
        files = {}
        for suffix, data in (("xlsx", exports.xlsx_bytes(report, "zh")), ("pdf", exports.pdf_bytes(report))):
            path = out / f"{exports.file_stem(report)}.{suffix}"
            path.write_bytes(data)
            files[path.name] = hashlib.sha256(data).hexdigest()
            click.echo(f"{path}  sha256={files[path.name]}")
        services.issue_monthly_report(ctx, month, files)
        db.session.commit()
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(err.message_zh) from err
