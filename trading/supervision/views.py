"""Supervisor workspace (行政监督/纪检监察): read-only. Sees every project and the audit trail, can
verify the chain; changes nothing (no POST route here changes trade data)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from trading.accounts.web_auth import role_required
from trading.audit.checkpoints import checkpoint_rows
from trading.audit.services import verify
from trading.core.clock import BEIJING
from trading.core.i18n import current_locale
from trading.extensions import db
from trading.projects import rules as project_rules

from . import checkpoints as _deadline_cli  # noqa: F401  (registers `flask audit deadlines`)
from .queries import AuditFilters, project_counts, recent_projects, search_audit

bp = Blueprint("supervision", __name__)

SUPERVISOR = "supervisor"


@bp.context_processor
def _labels():
    locale = current_locale()
    return {"plabel": lambda kind, value: project_rules.label(kind, value, locale)}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _date_arg(name: str, *, end: bool = False) -> datetime | None:
    value = request.args.get(name, "").strip()
    try:
        d = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    if end:
        d += timedelta(days=1)
    return datetime.combine(d, time(0), tzinfo=BEIJING)


@bp.route("/")
@role_required(SUPERVISOR)
def index():
    return render_template("supervision/index.html", counts=project_counts(db.session),
                           projects=recent_projects(db.session),
                           recent=search_audit(db.session, AuditFilters(), _now(), limit=15).entries)


@bp.route("/audit")
@role_required(SUPERVISOR)
def audit():
    f = AuditFilters(action=request.args.get("action", "").strip()[:64],
                     object_type=request.args.get("object_type", "").strip()[:32],
                     object_id=request.args.get("object_id", "").strip()[:64],
                     project_id=_int_arg("project_id"), actor_user_id=_int_arg("user_id"),
                     since=_date_arg("from"), until=_date_arg("to", end=True), before_seq=_int_arg("before"))
    page = search_audit(db.session, f, _now())
    return render_template("supervision/audit.html", page=page)


@bp.route("/audit/verify")
@role_required(SUPERVISOR)
def audit_verify():
    reasons = {"periodic": _("定时"), "milestone": _("关键节点"), "deadline": _("投标截止"), "manual": _("手动")}
    return render_template("supervision/verify.html", result=verify(db.session),
                           checkpoints=checkpoint_rows(db.session), reasons=reasons)


def _now():
    return current_app.extensions["clock"].now()
