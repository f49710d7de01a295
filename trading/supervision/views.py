"""Supervisor workspace (行政监督/纪检监察): read-only. Sees every project and the audit trail, can
verify the chain; changes nothing (no POST route here changes trade data)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta

import click
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from trading.accounts.web_auth import role_required
from trading.audit.checkpoints import checkpoint_rows
from trading.audit.services import verify
from trading.core.clock import BEIJING
from trading.core.context import ServiceContext
from trading.core.errors import DomainError
from trading.core.events import events_since, last_event_id
from trading.core.i18n import current_locale
from trading.core.sse import Event, live_stream, requested_last_id, sse_response
from trading.core.web import cli_context, flash_error, service_context
from trading.extensions import db
from trading.projects import rules as project_rules

from . import checkpoints as _deadline_cli  # noqa: F401  (registers `flask audit deadlines`)
from .alerts import evaluator as alert_evaluator
from .alerts import rules as alert_rules
from .alerts import services as alerts
from .queries import AuditFilters, project_counts, recent_projects, search_audit

#: `flask alerts sweep` is this blueprint's command group
bp = Blueprint("supervision", __name__, cli_group="alerts")

SUPERVISOR = "supervisor"
OPERATOR = "operator"
SSE_MAX_SECONDS = 300
SSE_HEARTBEAT_SECONDS = 15


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
    ctx = service_context()
    open_alerts = alerts.list_alerts(ctx)
    return render_template("supervision/index.html", counts=project_counts(db.session),
                           projects=recent_projects(db.session),
                           recent=search_audit(db.session, AuditFilters(), _now(), limit=15).entries,
                           alerts=open_alerts, lot_codes=alerts.lot_codes(db.session, open_alerts), live=True,
                           alerts_last_id=last_event_id(db.session, alerts.CHANNEL),
                           **_alert_labels())


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


# --- electronic supervision alerts (电子监察) -----------------------------------------------------

def _alert_labels() -> dict:
    return {"severity_labels": {"red": _("严重"), "yellow": _("警告")},
            "status_labels": {"open": _("待处理"), "acknowledged": _("已签收"), "investigating": _("核查中"),
                              "closed": _("已办结")},
            "outcome_labels": {"confirmed": _("查实"), "unfounded": _("排除"), "referred": _("移交处理")},
            "rule_bases": alert_rules.RULES}


@bp.route("/alerts")
@role_required(SUPERVISOR, OPERATOR)
def alert_list():
    ctx = service_context()
    f = alerts.AlertFilters(status=request.args.get("status", "").strip()[:16],
                            severity=request.args.get("severity", "").strip()[:8],
                            rule=request.args.get("rule", "").strip()[:16],
                            lot_code=request.args.get("lot", "").strip()[:44])
    rows = alerts.list_alerts(ctx, f)  # a bad filter is a DomainError: 422 through the error handler
    return render_template("supervision/alerts.html", alerts=rows, filters=f, lot_codes=alerts.lot_codes(db.session, rows),
                           alerts_last_id=last_event_id(db.session, alerts.CHANNEL),
                           live=ctx.actor.has(SUPERVISOR) and f.status in ("", "open"), **_alert_labels())


@bp.route("/alerts/<int:alert_id>")
@role_required(SUPERVISOR, OPERATOR)
def alert_detail(alert_id: int):
    return _detail_page(service_context(), alert_id)


def _detail_page(ctx: ServiceContext, alert_id: int):
    alert = alerts.get_alert(ctx, alert_id)
    return render_template("supervision/alert.html", alert=alert, entries=alerts.evidence_entries(ctx, alert),
                           notes=alerts.alert_notes(alert),
                           **alerts.evidence_context(ctx, alert), can_work=alerts.can_work(ctx, alert), transitions=alerts.TRANSITIONS[alert.status],
                           outcomes=alerts.OUTCOMES, **_alert_labels())


@bp.route("/alerts/<int:alert_id>/<action>", methods=["POST"])
@role_required(SUPERVISOR)
def alert_action(alert_id: int, action: str):
    ctx = service_context()
    try:
        if action == "acknowledge":
            alerts.acknowledge_alert(ctx, alert_id)
            flash(_("预警已签收"), "success")
        elif action == "investigate":
            alerts.investigate_alert(ctx, alert_id, request.form.get("note"))
            flash(_("已转入核查"), "success")
        elif action == "close":
            alerts.close_alert(ctx, alert_id, request.form.get("outcome", ""), request.form.get("finding", ""))
            flash(_("预警已办结"), "success")
        else:
            from flask import abort
            abort(404)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()  # nothing changed: the page again, with the reason and the 4xx status
        flash_error(err)
        return _detail_page(service_context(), alert_id), err.status
    return redirect(url_for("supervision.alert_detail", alert_id=alert_id))


@bp.route("/alerts/stream")
@role_required(SUPERVISOR)
def alert_stream():
    """Server-Sent Events: each alert as it is raised (or released at its lot's deadline) and each
    status change. Supervisors only (operators read the list, filtered, without the stream)."""
    ctx = service_context()
    clock, actor, locale, engine = ctx.clock, ctx.actor, ctx.locale, db.engine
    cfg = current_app.config

    @contextmanager
    def short_context():
        session = Session(engine)
        try:
            yield ServiceContext(session=session, actor=actor, clock=clock, locale=locale)
        finally:
            session.close()

    def read(after: int) -> list[Event]:
        with short_context() as c:
            return [Event(e.id, e.name, dict(e.data), e.audience)
                    for e in events_since(c.session, alerts.CHANNEL, after, 200)]

    stream = live_stream(alerts.CHANNEL, requested_last_id(), read=read, snapshot=None,
                         broker=current_app.extensions["broker"],
                         tick=lambda: {"server_now": clock.now().isoformat()},
                         heartbeat=float(cfg.get("SSE_HEARTBEAT_SECONDS", SSE_HEARTBEAT_SECONDS)),
                         max_seconds=float(cfg.get("SSE_MAX_SECONDS", SSE_MAX_SECONDS)))
    return sse_response(stream)


@bp.cli.command("sweep")
def alerts_sweep_command():
    """Evaluate every audit entry after the alert cursor and announce the alerts whose lot's
    deadline has passed (cron, e.g. every minute). Idempotent."""
    entries, raised, released = alert_evaluator.sweep(cli_context)
    click.echo(f"evaluated {entries} entries, raised {raised} alerts, released {released}")
