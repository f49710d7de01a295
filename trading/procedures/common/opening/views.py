"""Pages: 开标与开标大厅. Thin: load → check access → one service call → respond.

/opening/                    the openings of today and later (operators, supervisors; the owner side
                             and bidders see their own lots)
/opening/<lot>/hall          the remote opening hall, server-rendered (works without JavaScript)
/opening/<lot>/stream        its Server-Sent Events: snapshot "hall:state", then the deltas
/opening/<lot>/hall/record   the record table fragment the hall's script swaps in
POST …/checkin, …/messages   签到 (bidders), host announcements (operators)

The custodians' pages (share submission, the printable record) are in custody_views.py on the
same blueprint."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.routing import BuildError

from trading.core.clock import to_beijing
from trading.core.errors import DomainError
from trading.core.events import audience_allows
from trading.core.sse import channel_reader, live_stream, requested_last_id, short_contexts, sse_response
from trading.core.web import flash_error, service_context
from trading.extensions import db

from ..lots import before_deadline, get_trade
from . import hall as halls

bp = Blueprint("opening", __name__)

#: how long one stream lives before the browser reconnects (and resumes from its last id)
SSE_MAX_SECONDS = 300
SSE_HEARTBEAT_SECONDS = 15


@bp.app_template_global()
def hall_stage_label(stage: str) -> str:
    return halls.stage_label(stage, service_context().locale)


@bp.app_template_filter("bj_iso")
def bj_iso(value: str | None, seconds: bool = False) -> str:
    """An ISO instant of the hall's snapshot in Beijing time (2026-12-08 09:30[:05])."""
    if not value:
        return ""
    at = to_beijing(datetime.fromisoformat(value))
    return at.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


@bp.app_template_global()
def hall_stage_labels() -> dict:
    locale = service_context().locale
    return {s: halls.stage_label(s, locale) for s in (*halls.STAGES, *halls.END_STAGES, *halls.STAGE_ALIASES)}


def record_url(lot_code: str, record_id: int | None = None) -> str | None:
    """The printable opening record (opening.record, owned by the custody pages), when it exists."""
    if "opening.record" not in current_app.view_functions:
        return None
    for kwargs in ({"lot_code": lot_code}, {"record_id": record_id}):
        try:
            return url_for("opening.record", **{k: v for k, v in kwargs.items() if v is not None})
        except BuildError:
            continue
    return None


@bp.route("/")
@login_required
def index():
    ctx = service_context()
    rows = halls.list_openings(ctx)
    return render_template("opening/index.html", rows=rows)


@bp.route("/<lot_code>/hall")
@login_required
def hall(lot_code: str):
    ctx = service_context()
    trade = get_trade(ctx, lot_code)
    viewer = halls.hall_viewer(ctx, trade)
    state = halls.hall_state(ctx, lot_code, viewer)
    rows = halls.record_rows(ctx, trade)
    return render_template("opening/hall.html", state=state, viewer=viewer, rows=rows,
                           record_link=record_url(lot_code, (state["record"] or {}).get("id")),
                           can_host=ctx.actor.has("operator"))


@bp.route("/<lot_code>/hall/record")
@login_required
def hall_record(lot_code: str):
    ctx = service_context()
    trade = get_trade(ctx, lot_code)
    viewer = halls.hall_viewer(ctx, trade)
    state = halls.hall_state(ctx, lot_code, viewer)
    return render_template("opening/hall_record.html", state=state, viewer=viewer, rows=halls.record_rows(ctx, trade),
                           record_link=record_url(lot_code, (state["record"] or {}).get("id")))


@bp.route("/<lot_code>/checkin", methods=["POST"])
@login_required
def hall_checkin(lot_code: str):
    ctx = service_context()
    try:
        _part, new = halls.check_in(ctx, lot_code)
    except DomainError as err:
        if err.status in (403, 404):  # a role that may not act: refused, not a flash
            raise
        flash_error(err)
        return redirect(url_for(".hall", lot_code=lot_code))
    flash(_("已签到") if new else _("您的单位已签到"), "success")
    return redirect(url_for(".hall", lot_code=lot_code))


@bp.route("/<lot_code>/messages", methods=["POST"])
@login_required
def hall_message(lot_code: str):
    ctx = service_context()
    try:
        halls.post_message(ctx, lot_code, request.form.get("text", ""))
    except DomainError as err:
        if err.status in (403, 404):
            raise
        flash_error(err)
        return redirect(url_for(".hall", lot_code=lot_code))
    flash(_("公告已发布"), "success")
    return redirect(url_for(".hall", lot_code=lot_code) + "#hall-messages")


@bp.route("/<lot_code>/stream")
@login_required
def hall_stream(lot_code: str):
    ctx = service_context()
    trade = get_trade(ctx, lot_code)
    viewer = halls.hall_viewer(ctx, trade)
    channel, code = halls.channel_of(trade.lot_code), trade.lot_code
    clock = ctx.clock
    cfg = current_app.config
    max_seconds = float(cfg.get("SSE_MAX_SECONDS", SSE_MAX_SECONDS))
    if before_deadline(trade, ctx.now()) and trade.deadline_at is not None:
        # The snapshot changes at the deadline (check-in opens, counts appear): end the stream then,
        # so every browser reconnects (jittered) and receives the new one.
        until = (trade.deadline_at - ctx.now() + timedelta(seconds=1)).total_seconds()
        max_seconds = min(max_seconds, max(1.0, until))
    engine = db.engine
    # The request's session gives its connection back when the request boundary commits (before the
    # first byte is sent); the stream reads through short sessions of its own.
    after_id = requested_last_id()

    short_context = short_contexts(engine, ctx)
    read = channel_reader(short_context, channel)

    def snapshot():
        with short_context() as c:
            state = halls.hall_state(c, code, viewer)
        return state["last_event_id"], "hall:state", state

    def decorate(data: dict) -> dict:
        return {**data, "server_now": clock.now().isoformat()}

    stream = live_stream(
        channel, after_id, read=read, snapshot=snapshot, broker=current_app.extensions["broker"],
        visible=lambda e: audience_allows(e.audience, staff=viewer.staff, org_id=viewer.org_id),
        decorate=decorate, tick=lambda: {"server_now": clock.now().isoformat()},
        heartbeat=float(cfg.get("SSE_HEARTBEAT_SECONDS", SSE_HEARTBEAT_SECONDS)), max_seconds=max_seconds)
    return sse_response(stream)


from . import custody_views  # noqa: E402,F401  (the custodians' pages and the opening record, same blueprint)
