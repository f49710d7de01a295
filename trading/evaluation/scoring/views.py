"""Pages of the evaluation room (blueprint `evaluation`, /evaluation). Thin: load → one service
call → respond. criteria/views.py and reports/views.py add their pages to the same blueprint.

/evaluation/                                 my assignments (members of started panels)
/evaluation/<lot>/room                       check-in (per-bidder no-conflict confirmation) and my sheets
/evaluation/<lot>/declare/<bidder>           POST: no conflict / declared conflict
/evaluation/<lot>/sheets/<bidder>            my sheet: scores, comments, rejection; save or submit
/evaluation/<lot>/sheets/<bidder>/autosave   POST (JSON): the draft, answered with the running totals
/evaluation/<lot>/summary                    the summary (汇总), once every sheet is in
/evaluation/<lot>/progress                   owner/agency/centre/supervisor: who submitted (no scores)
/evaluation/<lot>/progress.json              the same counts as JSON
/evaluation/<lot>/progress/stream            their milestones as Server-Sent Events (never a score)"""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from trading.accounts.rules import roles_for
from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError
from trading.core.events import audience_allows, last_event_id
from trading.core.sse import channel_reader, live_stream, requested_last_id, short_contexts, sse_response
from trading.core.web import flash_error, service_context
from trading.extensions import db
from trading.procedures.common.lots import get_trade

from ..criteria.rules import price_score
from ..criteria.services import criteria_of
from . import queries
from . import services as scoring
from .rules import Decision, SheetStatus, group_totals, subtotal

bp = Blueprint("evaluation", __name__)

MEMBER_ROLES = roles_for("evaluation.score")
PROGRESS_ROLES = roles_for("evaluation.progress")


@bp.route("/")
@role_required(*sorted({*MEMBER_ROLES, *PROGRESS_ROLES}))
def index():
    """Members: their seats. Project side and centre: the lots with evaluation (criteria, progress)."""
    ctx = service_context()
    seats = scoring.my_assignments(ctx) if ctx.actor.has(*MEMBER_ROLES) else []
    lots = scoring.staff_lots(ctx) if ctx.actor.has(*PROGRESS_ROLES) else []
    return render_template("evaluation/index.html", seats=seats, lots=lots,
                           can_set_criteria=ctx.actor.has(*roles_for("criteria.set")))


def _room_context(ctx, lot_code: str) -> dict:
    r = scoring.room(ctx, lot_code)
    decl = scoring.declarations(ctx, r.member.id)
    sheets = scoring.sheets_of(ctx, r.member.id)
    checked_in = all(b.org_id in decl and not decl[b.org_id].conflict for b in r.bidders)
    done = scoring.all_submitted(ctx, r.trade, r.panel)
    return dict(r=r, declarations=decl, sheets=sheets, checked_in=checked_in, all_submitted=done,
                writable=r.trade.status == scoring.EVALUATING)


@bp.route("/<lot_code>/room")
@role_required(*MEMBER_ROLES)
def room(lot_code: str):
    ctx = service_context()
    return render_template("evaluation/room.html", **_room_context(ctx, lot_code))


@bp.route("/<lot_code>/declare/<int:bidder_id>", methods=["POST"])
@role_required(*MEMBER_ROLES)
def declare(lot_code: str, bidder_id: int):
    ctx = service_context()
    conflict = request.form.get("conflict") == "1"
    try:
        scoring.declare(ctx, lot_code, bidder_id, conflict=conflict, note=request.form.get("note", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        flash_error(err)
        return redirect(url_for(".room", lot_code=lot_code))
    if conflict:
        flash(_("已声明回避。您已退出本项目评审，系统已按同一随机方法补抽专家。"), "warning")
        return redirect(url_for(".index"))
    flash(_("已确认与该投标人无利害关系。"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


def _raw_from_form(form, criteria) -> dict:
    return {"decision": form.get("decision") or Decision.SCORE,
            "scores": {i.code: form.get(f"score_{i.code}", "").strip() for i in criteria.items
                       if form.get(f"score_{i.code}", "").strip()},
            "comments": {i.code: form.get(f"comment_{i.code}", "") for i in criteria.items},
            "reject_code": form.get("reject_code") or None, "reject_note": form.get("reject_note", "")}


def _revision(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _totals(r, sheet_row, bidder) -> dict:
    """The running totals shown on the sheet, computed here (the script only mirrors them live)."""
    sheet = scoring.sheet_in(sheet_row) if sheet_row is not None else None
    out = {"subtotal": Decimal(0), "groups": {}, "price_score": None, "total": None}
    if sheet is not None and sheet.decision == Decision.SCORE:
        out["subtotal"], out["groups"] = subtotal(r.criteria, sheet), group_totals(r.criteria, sheet)
    if r.criteria.scored and bidder.price_fen:
        # provisional: against the lowest opened price; the summary excludes rejected bidders first
        lowest = min(b.price_fen for b in r.bidders if b.price_fen)
        out["price_score"] = price_score(lowest, bidder.price_fen, r.criteria.price_weight)
        out["total"] = out["subtotal"] + out["price_score"]
    return out


@bp.route("/<lot_code>/sheets/<int:bidder_id>", methods=["GET", "POST"])
@role_required(*MEMBER_ROLES)
def sheet(lot_code: str, bidder_id: int):
    ctx = service_context()
    r = scoring.room(ctx, lot_code)
    bidder = next((b for b in r.bidders if b.org_id == bidder_id), None)
    if bidder is None:
        abort(404)
    form, status = None, 200
    if request.method == "POST":
        raw = _raw_from_form(request.form, r.criteria)
        revision = _revision(request.form.get("revision"))
        try:
            if request.form.get("action") == "submit":
                scoring.submit_sheet(ctx, lot_code, bidder_id, raw, revision=revision)
                flash(_("评分表已提交并锁定。"), "success")
                return redirect(url_for(".room", lot_code=lot_code))
            scoring.save_draft(ctx, lot_code, bidder_id, raw, revision=revision)
            flash(_("草稿已保存。"), "success")
            return redirect(url_for(".sheet", lot_code=lot_code, bidder_id=bidder_id))
        except DomainError as err:
            if err.status == 404:
                raise
            flash_error(err)
            form, status = raw, err.status
    row = scoring.sheets_of(ctx, r.member.id).get(bidder_id)
    return render_template("evaluation/sheet.html", r=r, bidder=bidder, row=row, form=form,
                           locked=row is not None and row.status != SheetStatus.DRAFT,
                           totals=_totals(r, row, bidder), writable=r.trade.status == scoring.EVALUATING), status


@bp.route("/<lot_code>/sheets/<int:bidder_id>/autosave", methods=["POST"])
@role_required(*MEMBER_ROLES)
def autosave(lot_code: str, bidder_id: int):
    ctx = service_context()
    r = scoring.room(ctx, lot_code)
    data = request.get_json(silent=True) or {}
    raw = _raw_from_form(data, r.criteria)
    row = scoring.save_draft(ctx, lot_code, bidder_id, raw, revision=_revision(data.get("revision")))
    bidder = next(b for b in r.bidders if b.org_id == bidder_id)
    totals = _totals(r, row, bidder)
    return jsonify(revision=row.revision, saved_at=row.updated_at.isoformat(),
                   subtotal=str(totals["subtotal"]),
                   total=None if totals["total"] is None else str(totals["total"]))


@bp.route("/<lot_code>/summary")
@login_required
def summary(lot_code: str):
    ctx = service_context()
    result, _bidders = scoring.lot_summary(ctx, lot_code)
    trade = get_trade(ctx, lot_code)
    panel = queries.current_panel(ctx.session, trade.lot_id)
    members = queries.active_members(ctx.session, panel.id)
    _row, criteria = criteria_of(ctx.session, trade.lot_id)
    return render_template("evaluation/summary.html", trade=trade, summary=result, criteria=criteria,
                           members=members, names=queries.member_names(ctx.session, members),
                           is_member=queries.member_of(ctx.session, panel.id, ctx.actor.user_id) is not None)


@bp.route("/<lot_code>/progress")
@role_required(*PROGRESS_ROLES)
def progress(lot_code: str):
    ctx = service_context()
    trade, panel, rows, done = scoring.progress(ctx, lot_code)
    return render_template("evaluation/progress.html", trade=trade, panel=panel, rows=rows, done=done,
                           last_id=last_event_id(ctx.session, scoring.channel(lot_code)))


def progress_state(ctx, lot_code: str) -> dict:
    """Counts only (who checked in, who submitted): the progress page's live snapshot."""
    trade, _panel, rows, done = scoring.progress(ctx, lot_code)
    return {"lot_code": trade.lot_code, "all_submitted": done,
            "members": [{"id": r.member_id, "declared": r.declared, "submitted": r.submitted, "expected": r.expected}
                        for r in rows]}


@bp.route("/<lot_code>/progress.json")
@role_required(*PROGRESS_ROLES)
def progress_json(lot_code: str):
    return jsonify(progress_state(service_context(), lot_code))


@bp.route("/<lot_code>/progress/stream")
@role_required(*PROGRESS_ROLES)
def progress_stream(lot_code: str):
    """Milestones of the evaluation (check-in, submissions, signatures) as Server-Sent Events, after a
    snapshot of the counts. Events carry no score (core/events.py); the audience is the staff."""
    ctx = service_context()
    scoring.progress(ctx, lot_code)  # refuses who may not see this lot's progress, before streaming
    channel, clock = scoring.channel(lot_code), ctx.clock
    cfg, engine, after_id = current_app.config, db.engine, requested_last_id()

    short_context = short_contexts(engine, ctx)
    read = channel_reader(short_context, channel)

    def snapshot():
        with short_context() as c:
            return last_event_id(c.session, channel), "evaluation:progress", progress_state(c, lot_code)

    stream = live_stream(channel, after_id, read=read, snapshot=snapshot, broker=current_app.extensions["broker"],
                         visible=lambda e: audience_allows(e.audience, staff=True, org_id=None),
                         tick=lambda: {"server_now": clock.now().isoformat()},
                         heartbeat=float(cfg.get("SSE_HEARTBEAT_SECONDS", 15)),
                         max_seconds=float(cfg.get("SSE_MAX_SECONDS", 300)))
    return sse_response(stream)


from ..criteria import views as _criteria_views  # noqa: E402,F401  (pages on this blueprint)
from ..reports import views as _report_views  # noqa: E402,F401
