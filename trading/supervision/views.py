"""Supervisor workspace (行政监督/纪检监察): read-only. Sees every project and the audit trail, can
verify the chain; changes nothing (no POST route here changes trade data)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import click
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from trading.accounts.web_auth import role_required
from trading.audit.checkpoints import checkpoint_rows
from trading.audit.services import verify
from trading.core.clock import BEIJING
from trading.core.context import ServiceContext
from trading.core.errors import DomainError
from trading.core.events import last_event_id
from trading.core.i18n import current_locale
from trading.core.sse import channel_reader, live_stream, requested_last_id, short_contexts, sse_response
from trading.core.web import cli_context, flash_error, service_context
from trading.extensions import db
from trading.projects import rules as project_rules
from trading.projects.enums import EntryStatus

from . import checkpoints as _deadline_cli  # noqa: F401  (registers `flask audit deadlines`)
from . import labels, live
from . import timeline as timelines
from .access import services as access_log
from .alerts import evaluator as alert_evaluator
from .alerts import rules as alert_rules
from .alerts import services as alerts
from .queries import AuditFilters, project_counts, recent_projects, search_audit
from .timelimits import queries as time_limit_queries
from .timelimits import views as time_limit_views

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


@bp.app_template_filter("bj_sec")
def bj_seconds(value: datetime | None) -> str:
    """2026-11-22 09:31:05: a timeline needs the second."""
    from trading.core.clock import to_beijing
    return to_beijing(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


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
    return render_template("supervision/index.html", counts=project_counts(db.session), today=live.live_today(ctx),
                           projects=recent_projects(db.session),
                           recent=search_audit(db.session, AuditFilters(), _now(), limit=15).entries,
                           alerts=open_alerts, lot_codes=alerts.lot_codes(db.session, open_alerts), live=True,
                           alerts_last_id=last_event_id(db.session, alerts.CHANNEL),
                           time_limit_counts=time_limit_queries.counts(ctx),
                           **_alert_labels())


@bp.route("/time-limits")
@role_required(SUPERVISOR)
def time_limits():
    """限时办结: every step with a deadline that is due soon or overdue (filters: light, kind)."""
    return time_limit_views.render_board("supervision.time_limits", supervisor=True)


@bp.route("/today")
@role_required(SUPERVISOR)
def today_fragment():
    """The dashboard's 今日交易实时状态 section alone: its script swaps it in every 20 seconds."""
    return render_template("supervision/_today.html", today=live.live_today(service_context()))


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


# --- projects and their full record (全过程留痕) --------------------------------------------------

@bp.route("/projects")
@role_required(SUPERVISOR)
def projects():
    ctx = service_context()
    q, status = request.args.get("q", "").strip()[:60], request.args.get("status", "").strip()[:20]
    rows, next_before = timelines.search_projects(ctx, q, status, before_id=_int_arg("before"))
    return render_template("supervision/projects.html", rows=rows, next_before=next_before, q=q, status=status,
                           statuses=[str(s) for s in EntryStatus])


@bp.route("/projects/<int:project_id>")
@role_required(SUPERVISOR)
def project_timeline(project_id: int):
    return _timeline_page(timelines.find_project(service_context(), str(project_id)))


@bp.route("/projects/<code>")
@role_required(SUPERVISOR)
def project_timeline_by_code(code: str):
    return _timeline_page(timelines.find_project(service_context(), code))


def _timeline_page(project):
    ctx = service_context()
    g.supervision_view_object = ("project", project.trade_code or str(project.id))
    tl = timelines.project_timeline(ctx, project, after_seq=_int_arg("after"))
    return render_template("supervision/project.html", tl=tl, project=project,
                           action_label=labels.action_label, doc_labels=labels.DOC_LABELS,
                           role_label=lambda r: labels.role_label(r, ctx.locale))


# --- the supervisors' own access log (谁查看了什么) ------------------------------------------------

@bp.route("/access-log")
@role_required(SUPERVISOR)
def access_log_page():
    ctx = service_context()
    f = access_log.ViewFilters(user=request.args.get("user", "").strip()[:40], org_id=_int_arg("org_id"),
                               object_type=request.args.get("object_type", "").strip()[:32],
                               object_code=request.args.get("object", "").strip()[:64],
                               since=_date_arg("from"), until=_date_arg("to", end=True), before_id=_int_arg("before"))
    page = access_log.list_views(ctx, f)   # a bad range is a DomainError: 422 with the reason
    return render_template("supervision/access_log.html", page=page, filters=f, orgs=access_log.supervisor_orgs(ctx),
                           args=request.args, object_labels=labels.OBJECT_LABELS)


#: reads that are not a record looked at: the live views' polls and streams (their page is logged
#: when it is opened), static files, the log-in pages
UNLOGGED_ENDPOINTS = frozenset({"static", "opening.hall_stream", "opening.hall_record", "auctions.stream",
                                "auctions.room_state", "evaluation.progress_stream", "evaluation.progress_json",
                                "supervision.alert_stream", "supervision.today_fragment"})
#: the address argument each kind of record page is named by
_OBJECT_ARGS = (("lot_code", "lot"), ("project_id", "project"), ("code", "project"), ("notice_id", "notice"),
                ("document_id", "document"), ("record_id", "opening_record"), ("alert_id", "alert"),
                ("sid", "submission"), ("receipt_id", "receipt"), ("application_id", "auction_application"),
                ("expert_id", "expert"), ("lot_id", "lot"), ("user_id", "user"))


def _viewed_object() -> tuple[str, str]:
    explicit = g.get("supervision_view_object")
    if explicit:
        return explicit
    args = request.view_args or {}
    for name, kind in _OBJECT_ARGS:
        if name in args:
            return kind, str(args[name])
    for name, kind in (("project_id", "project"), ("lot", "lot"), ("object_id", "")):
        value = request.args.get(name, "").strip()
        if value:
            return (kind or request.args.get("object_type", "").strip()[:32]), value[:64]
    return "", ""


@bp.after_app_request
def _log_supervisor_read(response):
    """Every record page (one with a project, lot, notice, document … in its address), every page of
    this workspace and every API answer a supervisor reads (GET, answered < 400) is appended to the
    access log in the request's own transaction, committed with the response (core.web). Not written to
    the audit chain: that would take its head lock on every read (access.models)."""
    endpoint = request.endpoint or ""
    if (request.method != "GET" or response.status_code >= 400 or not endpoint or endpoint in UNLOGGED_ENDPOINTS
            or endpoint.startswith("auth.") or response.mimetype == "text/event-stream"):
        return response
    if not (getattr(current_user, "is_authenticated", False) and current_user.role == SUPERVISOR):
        return response
    kind, code = _viewed_object()
    if not (kind or endpoint.startswith(("supervision.", "api."))):
        return response   # a page that names no record (the portal's home, a list): nothing looked at
    access_log.log_view(service_context(), endpoint=endpoint, path=request.full_path.rstrip("?"),
                        object_type=kind, object_code=code)
    return response


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
    clock, engine = ctx.clock, db.engine
    cfg = current_app.config

    short_context = short_contexts(engine, ctx)
    read = channel_reader(short_context, alerts.CHANNEL)

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
