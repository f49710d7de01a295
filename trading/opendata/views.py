"""Open data on the public portal (no log-in, 20号令 Art. 9): the page that explains the publication,
the release feed with cursor pagination, one record per ocid, and the local sale extension's files.

    GET /opendata/                               what is published, how, the choices made
    GET /opendata/releases.json?cursor=…&limit=…  release package, ordered by audit seq, links.next
    GET /opendata/records/<ocid>.json            record package: releases + compiledRelease
    GET /opendata/extensions/sale/<file>         extension.json, release-schema.json, codelists"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, send_from_directory

from trading.core.errors import DomainError, not_found
from trading.core.i18n import current_locale
from trading.core.web import error_payload, service_context
from trading.extensions import db

from . import queries, rules

bp = Blueprint("opendata", __name__)

EXTENSION_DIR = Path(__file__).resolve().parent / "extensions" / "sale"
EXTENSION_FILES = {"extension.json", "release-schema.json", "codelists/saleMethod.csv", "codelists/saleObject.csv",
                   "codelists/+partyRole.csv"}


def publication(base_url: str | None = None) -> rules.Publication:
    """The publisher from the settings: OCDS_OCID_PREFIX, OPENDATA_BASE_URL (else the request's root),
    the centre's name."""
    cfg = current_app.config
    base = base_url or cfg.get("OPENDATA_BASE_URL") or request.url_root
    return rules.Publication(cfg.get("OCDS_OCID_PREFIX") or rules.DEFAULT_PREFIX, base,
                             f"{cfg['COUNTY_NAME']}公共资源交易中心")


def _json(obj: dict) -> Response:
    resp = Response(rules.dumps(obj), mimetype="application/json")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.errorhandler(DomainError)
def _domain_error(err: DomainError):
    db.session.rollback()
    if request.path.endswith(".json"):
        return error_payload(err.code, err.message(current_locale()), err.status, field=err.field)
    return render_template("errors/error.html", status=err.status, code=err.code,
                           message=err.message(current_locale())), err.status


@bp.route("/")
def index():
    pub = publication()
    now = service_context().now()
    processes = queries.all_ocids(db.session, pub, now)
    return render_template("opendata/index.html", pub=pub, processes=processes[-20:], count=len(processes),
                           max_limit=rules.MAX_LIMIT, scheme=rules.ORG_SCHEME)


@bp.route("/releases.json")
def releases():
    after = rules.decode_cursor(request.args.get("cursor"))
    limit = rules.parse_limit(request.args.get("limit"))
    pub = publication()
    now = service_context().now()
    items, last = queries.feed_page(db.session, pub, after, limit, now)
    next_uri = f"{pub.base_url}/opendata/releases.json?cursor={rules.encode_cursor(last)}&limit={limit}"
    return _json(rules.release_package(pub, request.url, now, items, next_uri))


@bp.route("/records/<ocid>.json")
def record(ocid: str):
    pub = publication()
    code = rules.lot_code_of(pub.prefix, ocid)
    now = service_context().now()
    items = queries.process_releases(db.session, pub, code, now) if code else []
    if not items:
        raise not_found("开放数据记录", "Open data record")
    return _json(rules.record_package(pub, pub.record_url(ocid), now, [(ocid, items)]))


@bp.route("/extensions/sale/<path:name>")
def extension_file(name: str):
    if name not in EXTENSION_FILES:
        abort(404)
    mimetype = "application/json" if name.endswith(".json") else "text/csv"
    resp = send_from_directory(EXTENSION_DIR, name, mimetype=mimetype)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
