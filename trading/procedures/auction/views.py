"""Pages: 拍卖 / 挂牌 / 网络竞价. Thin: load → one service call → respond. A refused step rolls back
(nothing changed) and answers with the page again and the refusal's status (4xx), except a refused
bid, which the engine keeps as an attempt (committed, like the API).

/auctions/<lot>                      the lot: subject, terms, schedule; the buyer's application, its
                                     deposit sub-account, 竞买资格确认书 and timed-phase opt-in; the
                                     operator's applications (qualify / refuse) and start; links
/auctions/<lot>/setup                owner / agency / centre: the listing terms; whether the sealed 底价
                                     is in (reserve.py seals it; its amount shows only once opened)
/auctions/<lot>/room                 竞价大厅 (works without JavaScript; static/js/auction-room.js
                                     keeps it live); the supervisor's pause / resume
/auctions/<lot>/room/state           the room's state as JSON (the page's script refreshes from it)
/auctions/<lot>/stream               Server-Sent Events: "auction:state" first, then the live events
/auctions/<lot>/bid (POST)           a bid; without confirm it answers the confirmation page (大写,
                                     jump size, large-jump warning); with confirm it bids
/auctions/<lot>/qualification.pdf    竞买资格确认书 (the buyer itself)
/auctions/<lot>/confirmation.pdf     成交确认书 (the winner, the owner side, centre, supervisors)
/auctions/<lot>/custody              the lot key's custodians open the sealed 底价 after bidding ended:
                                     k-of-n progress and the share form (the opening custody page's
                                     partials); a two-factor session is required"""

from __future__ import annotations

import io
import secrets
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.accounts.web_auth import role_required
from trading.core.clock import BEIJING
from trading.core.context import ServiceContext
from trading.core.errors import DomainError, InvalidInput, NotFound
from trading.core.money import parse_yuan
from trading.core.sse import (
    SHARED_READS,
    channel_reader,
    live_stream,
    requested_last_id,
    short_contexts,
    sse_response,
)
from trading.core.web import flash_error, service_context, wants_json
from trading.extensions import db
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.deposits.services import totals
from trading.procedures.common.lots import get_trade
from trading.projects.models import Lot, Project

from ..common.opening.shares import ShareRefused
from . import documents, queries, reserve, rules, services
from .models import Auction, AuctionApplication

bp = Blueprint("auctions", __name__)

SSE_MAX_SECONDS = 300
SSE_HEARTBEAT_SECONDS = 15


@bp.app_template_global()
def area_mu(area_m2):
    """㎡ → 亩 for the pages (rules.mu_of)."""
    return rules.mu_of(area_m2)


@bp.app_template_global()
def reserve_statement(a: Auction) -> str | None:
    """拍卖法 Art. 50 for the pages: the lot has a sealed reserve, or none (once none can be entered),
    in the reader's language; None while one may still be entered."""
    ctx = service_context()
    closed = a.phase in (rules.Phase.OPT_IN, rules.Phase.TIMED, rules.Phase.ENDED) or ctx.now() >= a.free_until
    got = rules.reserve_statement(a.reserve_set_at is not None, closed)
    return None if got is None else got[1 if ctx.locale == "en" else 0]


# --- helpers -------------------------------------------------------------------------------------

def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _bj(name: str) -> datetime | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M").replace(tzinfo=BEIJING)
    except ValueError:
        raise InvalidInput("auction.bad_time", "时间格式不正确（年-月-日 时:分）", "Malformed time (YYYY-MM-DD HH:MM)",
                           field=name) from None


def _whole(name: str, *, zh: str, en: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise InvalidInput("auction.bad_number", zh, en, field=name)
    return int(raw)


def _yuan(name: str, *, required: bool = True, allow_zero: bool = False) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw and not required:
        return None
    return parse_yuan(raw, field=name, allow_zero=allow_zero)


def _project_side(ctx: ServiceContext, project: Project) -> bool:
    return ctx.actor.has("owner", "agency") and ctx.actor.org_id is not None \
        and ctx.actor.org_id in (project.owner_org_id, project.agency_org_id)


def _auction_or_none(ctx: ServiceContext, lot_code: str) -> Auction | None:
    return ctx.session.execute(select(Auction).where(Auction.lot_code == lot_code)).scalar_one_or_none()


def _lot_context(ctx: ServiceContext, lot_code: str) -> dict:
    trade = get_trade(ctx, lot_code)
    if trade.procedure not in rules.PROCEDURES:
        raise NotFound("auction.not_found", "竞价标的不存在", "No such auction")
    project = ctx.session.get(Project, trade.project_id)
    lot = ctx.session.get(Lot, trade.lot_id)
    a = _auction_or_none(ctx, trade.lot_code)
    side = _project_side(ctx, project)
    app_row = services.own_application(ctx, a) if a is not None else None
    account = None
    if app_row is not None:
        acc = ctx.session.execute(select(DepositAccount).where(
            DepositAccount.participation_id == app_row.participation_id)).scalar_one_or_none()
        if acc is not None:
            account = {"row": acc, "totals": totals(ctx, acc)}
    apps = []
    # who applied is the centre's (and supervisors') to know, not the seller's, until the outcome
    if a is not None and ctx.actor.has("operator", "supervisor"):
        rows = ctx.session.execute(select(AuctionApplication, Organisation.name)
                                   .join(Organisation, Organisation.id == AuctionApplication.bidder_org_id)
                                   .where(AuctionApplication.lot_id == a.lot_id)
                                   .order_by(AuctionApplication.id)).all()
        for row, name in rows:
            received = services.deposit_received(ctx, row, trade.deposit_fen)
            apps.append({"row": row, "name": name, "deposit_received": received})
    return {"trade": trade, "project": project, "lot": lot, "auction": a, "side": side, "me": app_row,
            "account": account, "applications": apps,
            "method_label": rules.METHOD_LABELS[rules.METHOD_OF[trade.procedure]],
            "winner": _is_winner(a, app_row), "now": ctx.now(),
            "custodian": a is not None and reserve.is_reserve_custodian(ctx, a),
            "basis_label": rules.OUTCOME_BASIS[a.basis] if a is not None and a.basis in rules.OUTCOME_BASIS else None,
            "next_steps": rules.next_steps(a.procedure, a.appraisal_fen, services.auction_settings(ctx))
            if a is not None and a.outcome == rules.Outcome.NO_SALE else []}


def _is_winner(a: Auction | None, app_row: AuctionApplication | None) -> bool:
    return bool(a is not None and app_row is not None and a.outcome == rules.Outcome.SOLD and a.leader_id == app_row.id)


def _lot_page(lot_code: str, status: int = 200):
    ctx = service_context()
    return render_template("auctions/lot.html", **_lot_context(ctx, lot_code)), status


def _refused(err: DomainError, page):
    """A refused step: nothing changed; the page again with the reason and the error's status."""
    db.session.rollback()
    if err.status == 404:
        raise err
    if wants_json():
        raise err
    flash_error(err)
    return page(err.status)


# --- the list and the lot -------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    """Every land / mining / asset sale (their grant notices are public): phase, price, schedule; a
    buyer's own application status beside each."""
    ctx = service_context()
    rows = ctx.session.execute(select(Auction, Project.name, Lot.name)
                               .join(Project, Project.id == Auction.project_id).join(Lot, Lot.id == Auction.lot_id)
                               .order_by(Auction.free_until.desc(), Auction.lot_code)).all()
    mine = {}
    if ctx.actor.has("bidder") and ctx.actor.org_id is not None:
        mine = dict(ctx.session.execute(select(AuctionApplication.lot_id, AuctionApplication.status).where(
            AuctionApplication.bidder_org_id == ctx.actor.org_id)).all())
    return render_template("auctions/index.html", rows=rows, mine=mine,
                           methods=rules.METHOD_LABELS, phases=rules.PHASE_LABELS)



@bp.route("/<lot_code>")
@login_required
def lot_page(lot_code: str):
    return _lot_page(lot_code)


@bp.route("/<lot_code>/apply", methods=["POST"])
@role_required("bidder")
def apply(lot_code: str):
    try:
        _app, new = services.apply(service_context(), lot_code)
    except DomainError as err:
        return _refused(err, lambda s: _lot_page(lot_code, s))
    flash(_("竞买申请已提交，请按下方账号缴纳竞买保证金") if new else _("本单位已提交竞买申请"), "success")
    return redirect(url_for(".lot_page", lot_code=lot_code))


@bp.route("/applications/<int:application_id>/decide", methods=["POST"])
@role_required("operator")
def decide(application_id: int):
    ctx = service_context()
    row = ctx.session.get(AuctionApplication, application_id)
    if row is None:
        abort(404)
    code = ctx.session.get(Auction, row.lot_id).lot_code
    approve = request.form.get("decision") == "qualify"
    if request.form.get("decision") not in ("qualify", "refuse"):
        err = InvalidInput("auction.decision", "请选择确认或不予确认", "Choose qualify or refuse", field="decision")
        return _refused(err, lambda s: _lot_page(code, s))
    try:
        services.qualify(ctx, application_id, approve=approve, note=request.form.get("note", ""))
    except DomainError as err:
        return _refused(err, lambda s: _lot_page(code, s))
    flash(_("已确认竞买资格") if approve else _("已不予确认竞买资格"), "success")
    return redirect(url_for(".lot_page", lot_code=code))


@bp.route("/<lot_code>/start", methods=["POST"])
@role_required("operator")
def start(lot_code: str):
    try:
        services.start_bidding(service_context(), lot_code)
    except DomainError as err:
        return _refused(err, lambda s: _lot_page(lot_code, s))
    flash(_("竞价已开始"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


@bp.route("/<lot_code>/opt-in", methods=["POST"])
@role_required("bidder")
def opt_in(lot_code: str):
    try:
        services.opt_in(service_context(), lot_code)
    except DomainError as err:
        return _refused(err, lambda s: _lot_page(lot_code, s))
    flash(_("已申请参加限时竞价"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


@bp.route("/<lot_code>/qualification.pdf")
@role_required("bidder")
def qualification_pdf(lot_code: str):
    name, data = documents.qualification_pdf(service_context(), lot_code)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, as_attachment=False)


@bp.route("/<lot_code>/confirmation.pdf")
@role_required("bidder", "owner", "agency", "operator", "supervisor")
def confirmation_pdf(lot_code: str):
    name, data = documents.confirmation_pdf(service_context(), lot_code)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, as_attachment=True)


# --- setup: the listing terms and the reserve ------------------------------------------------------

def _setup_page(lot_code: str, status: int = 200):
    ctx = service_context()
    c = _lot_context(ctx, lot_code)
    if not (c["side"] or ctx.actor.has("operator")):
        abort(404)
    return render_template("auctions/setup.html", form=request.form if request.method == "POST" else None,
                           settings=services.auction_settings(ctx), **c), status


@bp.route("/<lot_code>/setup")
@role_required("owner", "agency", "operator")
def setup(lot_code: str):
    return _setup_page(lot_code)


@bp.route("/<lot_code>/setup", methods=["POST"])
@role_required("owner", "agency", "operator")
def setup_post(lot_code: str):
    ctx = service_context()
    try:
        minutes = _whole("countdown_min", zh="限时竞价倒计时须为整数分钟", en="The countdown is whole minutes")
        term = _whole("term_years", zh="出让年限须为整数年", en="The term is whole years")
        services.configure_listing(
            ctx, lot_code, starting_fen=_yuan("starting"), increment_fen=_yuan("increment"),
            deposit_fen=_yuan("deposit", allow_zero=True), countdown_s=minutes * 60 if minutes is not None else None,
            start_at=_bj("start_at"), free_until=_bj("free_until"), subject_ref=request.form.get("subject_ref", ""),
            location=request.form.get("location", ""), area_m2=(request.form.get("area_m2") or "").strip() or None,
            land_use=request.form.get("land_use", ""), term_years=term,
            plot_ratio=request.form.get("plot_ratio", ""), description=request.form.get("description", ""),
            appraisal_fen=_yuan("appraisal", required=False))
    except DomainError as err:
        return _refused(err, lambda s: _setup_page(lot_code, s))
    flash(_("竞价条件已保存"), "success")
    return redirect(url_for(".setup", lot_code=lot_code))


# --- the room ------------------------------------------------------------------------------------

def _room_context(ctx: ServiceContext, lot_code: str, amount_fen: int | None = None) -> dict:
    c = _lot_context(ctx, lot_code)
    if c["auction"] is None:
        abort(404)
    state = _localized(ctx, _jsonable(queries.room_state(ctx, c["trade"].lot_code, amount_fen=amount_fen)))
    state["last_event_id"] = _last_id(ctx, c["trade"].lot_code)
    can_bid = state["me"]["status"] in ("no_bid", "leading", "outbid")
    return {**c, "state": state, "can_bid": can_bid, "supervisor": ctx.actor.has("supervisor"),
            "host": ctx.actor.has("operator"), "client_bid_id": secrets.token_hex(12),
            "optin_window_s": services.auction_settings(ctx)["auction.optin_window_s"]}


def _localized(ctx: ServiceContext, state: dict) -> dict:
    """The room's state with its labels in the reader's language (the query gives Chinese)."""
    if ctx.locale == "en":
        state["phase_label"] = rules.PHASE_LABELS[rules.Phase(state["phase"])][1]
        state["method_label"] = rules.METHOD_LABELS[rules.Method(state["method"])][1]
        for statement in (rules.NO_RESERVE, rules.RESERVE_SEALED):
            if state.get("floor_statement") == statement[0]:
                state["floor_statement"] = statement[1]
        basis = rules.OUTCOME_BASIS.get(state.get("basis") or "")
        if state.get("outcome_label") and basis is None:
            basis = next((v for v in rules.OUTCOME_BASIS.values() if v[0] == state["outcome_label"]), None)
        if basis is not None:
            state["outcome_label"] = basis[1]
    return state


def _last_id(ctx: ServiceContext, lot_code: str) -> int:
    from trading.core.events import last_event_id
    return last_event_id(ctx.session, services.channel(lot_code))


def _room_page(lot_code: str, status: int = 200):
    ctx = service_context()
    return render_template("auctions/room.html", **_room_context(ctx, lot_code)), status


@bp.route("/<lot_code>/room")
@login_required
def room(lot_code: str):
    return _room_page(lot_code)


@bp.route("/<lot_code>/room/state")
@login_required
def room_state(lot_code: str):
    ctx = service_context()
    state = _localized(ctx, _jsonable(queries.room_state(ctx, get_trade(ctx, lot_code).lot_code)))
    return jsonify(state)


@bp.route("/<lot_code>/bid", methods=["POST"])
@role_required("bidder")
def bid(lot_code: str):
    ctx = service_context()
    try:
        answers = _whole_fen("answers_price")
        multiple = request.form.get("multiple")
        if multiple:
            if not multiple.isdigit() or not 1 <= int(multiple) <= 1000:
                raise InvalidInput("auction.bad_multiple", "加价倍数须为正整数", "The multiple must be a positive whole number",
                                   field="multiple")
            a = services.get_auction(ctx, lot_code)
            amount = rules.minimum_bid(services.terms_of(a), services.state_of(a)) + (int(multiple) - 1) * a.increment_fen
        else:
            amount = _yuan("amount")
        cid = (request.form.get("client_bid_id") or "").strip()
        if request.form.get("confirm") != "1":
            # step one of two: the confirmation (大写, jump size, large-jump warning), nothing written
            c = _room_context(ctx, lot_code, amount_fen=amount)
            c["client_bid_id"] = cid or c["client_bid_id"]
            return render_template("auctions/confirm.html", amount_fen=amount, answers_price=answers,
                                   answers_increment=request.form.get("answers_increment") or "", **c)
        r = services.place_bid(ctx, lot_code, answers_price=answers, amount_fen=amount, client_bid_id=cid,
                               answers_increment=_whole_fen("answers_increment") if request.form.get("answers_increment")
                               else None)
    except DomainError as err:
        if wants_json():
            raise
        return _refused(err, lambda s: _room_page(lot_code, s))
    if not r.accepted:
        db.session.commit()  # the refused attempt is part of the bid log
        zh, en = r.message_zh, r.message_en
        message = en if ctx.locale == "en" else zh
        status = 403 if r.reason == "auction.not_qualified" else (
            422 if r.reason in ("auction.below_minimum", "auction.not_multiple") else 409)
        if wants_json():
            return jsonify({"error": r.reason, "message": message, "accepted": False}), status
        flash(message, "danger")
        return _room_page(lot_code, status)
    message = _("报价成功：第 %(seq)s 次报价", seq=r.seq)
    if wants_json():
        return jsonify({"accepted": True, "seq": r.seq, "amount_fen": r.amount_fen, "message": message,
                        "replay": r.replay}), (200 if r.replay else 201)
    flash(message, "success")
    return redirect(url_for(".room", lot_code=lot_code))


def _whole_fen(name: str) -> int:
    raw = (request.form.get(name) or "").strip()
    if not raw.isdigit() or len(raw) > 15 or int(raw) <= 0:
        raise InvalidInput("auction.bad_amount", *rules.REASONS["auction.bad_amount"], field=name)
    return int(raw)


@bp.route("/<lot_code>/increment", methods=["POST"])
@role_required("operator")
def adjust_increment(lot_code: str):
    """The host adjusts the increment while bidding runs, with a reason (audited, announced)."""
    try:
        services.adjust_increment(service_context(), lot_code, _yuan("increment"), request.form.get("reason", ""))
    except DomainError as err:
        return _refused(err, lambda s: _room_page(lot_code, s))
    flash(_("加价幅度已调整"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


# --- the custodians open the sealed reserve --------------------------------------------------------

@bp.app_template_global()
def auction_custody_url(lot_code: str) -> str | None:
    """For the opening custody list: an auction lot's shares open its sealed reserve on this page."""
    ctx = service_context()
    a = _auction_or_none(ctx, lot_code)
    return url_for("auctions.custody", lot_code=lot_code) if a is not None else None


@bp.route("/<lot_code>/custody", methods=["GET", "POST"])
@role_required(*roles_for("opening.submit_share"))
def custody(lot_code: str):
    ctx = service_context()
    item = reserve.reserve_custody(ctx, lot_code)
    if request.method == "POST":
        if not session.get("2fa_ok"):
            flash(_("提交密钥份额须以双因素认证登录。"), "danger")
            return redirect(url_for(".custody", lot_code=lot_code))
        try:
            out = reserve.submit_reserve_share(ctx, lot_code, request.form.get("passphrase", ""))
        except ShareRefused as err:
            db.session.commit()  # the refused attempt is evidence: keep its record
            flash_error(err)
            return redirect(url_for(".custody", lot_code=lot_code))
        except DomainError as err:
            if err.status == 404:
                raise
            db.session.rollback()
            flash_error(err)
            return redirect(url_for(".custody", lot_code=lot_code))
        if out["opened"]:
            flash(_("份额已接受，已达到 %(k)d 份，底价已开启。", k=out["k"]), "success")
            return redirect(url_for(".lot_page", lot_code=lot_code))
        flash(_("份额已接受（%(a)d / %(k)d）。", a=out["accepted"], k=out["k"]), "success")
        return redirect(url_for(".custody", lot_code=lot_code))
    c = _lot_context(ctx, lot_code)
    return render_template("auctions/custody.html", item=item, progress=item["progress"],
                           two_factor=bool(session.get("2fa_ok")), **c)


@bp.route("/<lot_code>/pause", methods=["POST"])
@role_required("supervisor")
def pause(lot_code: str):
    try:
        services.pause(service_context(), lot_code, request.form.get("reason", ""))
    except DomainError as err:
        return _refused(err, lambda s: _room_page(lot_code, s))
    flash(_("交易已暂停"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


@bp.route("/<lot_code>/resume", methods=["POST"])
@role_required("supervisor")
def resume(lot_code: str):
    try:
        services.resume(service_context(), lot_code, request.form.get("reason", ""))
    except DomainError as err:
        return _refused(err, lambda s: _room_page(lot_code, s))
    flash(_("交易已恢复"), "success")
    return redirect(url_for(".room", lot_code=lot_code))


@bp.route("/<lot_code>/stream")
@login_required
def stream(lot_code: str):
    ctx = service_context()
    trade = get_trade(ctx, lot_code)
    services.get_auction(ctx, trade.lot_code)
    code, channel = trade.lot_code, services.channel(trade.lot_code)
    clock = ctx.clock
    cfg = current_app.config
    engine = db.engine
    after_id = requested_last_id()

    short_context = short_contexts(engine, ctx)
    read = channel_reader(short_context, channel)

    def snapshot():
        with short_context() as c:
            at = _last_id(c, code)
            state = _localized(c, _jsonable(queries.room_state(c, code)))
        return at, "auction:state", state

    def decorate(data: dict) -> dict:
        return {**data, "server_now_ms": int(clock.now().timestamp() * 1000)}

    return sse_response(live_stream(
        channel, after_id, read=SHARED_READS.wrap(channel, read, current_app.extensions["broker"]),
        snapshot=snapshot, broker=current_app.extensions["broker"],
        visible=lambda e: e.audience == "all", decorate=decorate,
        tick=lambda: {"server_now_ms": int(clock.now().timestamp() * 1000)},
        heartbeat=float(cfg.get("SSE_HEARTBEAT_SECONDS", SSE_HEARTBEAT_SECONDS)),
        max_seconds=float(cfg.get("SSE_MAX_SECONDS", SSE_MAX_SECONDS))))
