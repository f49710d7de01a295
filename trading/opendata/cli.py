"""`flask opendata export <dir>`: every release (release packages of up to --limit releases, in audit
order, releases-00001.json …) and one record package per ocid (records/<ocid>.json), written from the
same queries as the feed, with the base URL of OPENDATA_BASE_URL (or --base-url)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from trading.extensions import db

from . import queries, rules


@click.group("opendata", help="Open data (OCDS 1.1.5) export (开放数据).")
def opendata_cli():
    pass


@opendata_cli.command("export", help="Write release packages and record packages into DIR.")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", default=None, help="Public base URL (default: OPENDATA_BASE_URL).")
@click.option("--limit", default=rules.DEFAULT_LIMIT, show_default=True, type=click.IntRange(1, rules.MAX_LIMIT),
              help="Releases per release package.")
@with_appcontext
def export_command(directory: Path, base_url: str | None, limit: int):
    cfg = current_app.config
    base = base_url or cfg.get("OPENDATA_BASE_URL") or "http://localhost"
    pub = rules.Publication(cfg.get("OCDS_OCID_PREFIX") or rules.DEFAULT_PREFIX, base,
                            f"{cfg['COUNTY_NAME']}公共资源交易中心")
    now = current_app.extensions["clock"].now()
    (directory / "records").mkdir(parents=True, exist_ok=True)
    after, page, total = -1, 0, 0
    while True:
        items, last = queries.feed_page(db.session, pub, after, limit, now)
        if last == after:
            break
        page += 1
        uri = f"{pub.base_url}/opendata/releases.json?cursor={rules.encode_cursor(after)}&limit={limit}" \
            if after >= 0 else f"{pub.base_url}/opendata/releases.json?limit={limit}"
        pkg = rules.release_package(pub, uri, now, items)
        (directory / f"releases-{page:05d}.json").write_text(rules.dumps(pkg), encoding="utf-8")
        total += len(items)
        after = last
    records = 0
    for ocid, code in queries.all_ocids(db.session, pub, now):
        items = queries.process_releases(db.session, pub, code, now)
        if items:
            pkg = rules.record_package(pub, pub.record_url(ocid), now, [(ocid, items)])
            (directory / "records" / f"{ocid}.json").write_text(rules.dumps(pkg), encoding="utf-8")
            records += 1
    click.echo(f"{total} releases in {page} release packages, {records} records → {directory}")
