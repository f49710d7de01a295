"""Pages: 竞争性谈判. The team's page (operator / the project's agency; the buyer confirms changes
there; supervisors read it): suppliers, rounds with their sealed quotes (prices only once the round is
opened by its custodians), changes to the requirements, sessions, and the steps (start, open/close a
round, call and close the final offers, terminate). The supplier's page: the current round, the
changes every supplier still in receives, its own quotes, the browser sealing widget pointed at the
round's trade code (API /api/v1/negotiation), withdrawal. The custodian's form for a round's share.
Thin: load → one service call → redirect; a refused step changes nothing (rolled back), except a
refused share whose attempt is evidence (kept, like the lot's opening)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.accounts.web_auth import role_required
from trading.core.clock import BEIJING
from trading.core.errors import DomainError, InvalidInput, not_found
from trading.core.web import flash_error, service_context
from trading.extensions import db
from trading.projects.models import Lot, Project

from ..common.models import LotTrade
from ..common.opening.shares import ShareRefused
from . import quotes, services
from .models import (
    NegotiationCase,
    NegotiationRound,
    NegotiationSupplier,
    RequirementChange,
    RoundKeyShare,
    RoundQuote,
)

bp = Blueprint("negotiation", __name__)

TEAM_PAGE = ("operator", "agency", "owner", "supervisor")
CUSTODIANS = ("operator", "supervisor", "expert")


def _bj(name: str) -> datetime | None:
    raw = (request.form.get(name) or "").strip()
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M").replace(tzinfo=BEIJING) if raw else None
    except ValueError:
        return None


def _int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    return int(raw) if raw.isdigit() else None


def _step(lot_code: str, fn, ok: str, endpoint: str = "negotiation.lot_page"):
    """Run one service call; on refusal roll back (nothing changed) and show why."""
    try:
        fn()
        flash(ok, "success")
    except ShareRefused as err:  # the refused attempt is evidence: kept
        flash_error(err)
    except DomainError as err:
        db.session.rollback()
        flash_error(err)
    return redirect(url_for(endpoint, lot_code=lot_code))


def _lot_context(ctx, lot_code: str) -> dict:
    trade = services._trade(ctx, lot_code)
    project = ctx.session.get(Project, trade.project_id)
    mine = ctx.actor.org_id in (project.owner_org_id, project.agency_org_id)
    if not (ctx.actor.has("operator", "supervisor") or mine):
        raise not_found("标段", "Lot")
    rounds = services.rounds(ctx, trade.lot_id)
    rows = []
    for rnd in rounds:
        qs = quotes.accepted_quotes(ctx, rnd)
        rows.append({"round": rnd, "quotes": qs, "count": len(qs), "sessions": services.sessions_of(ctx, rnd.id),
                     "shares": ctx.session.execute(select(RoundKeyShare).where(RoundKeyShare.round_id == rnd.id)
                                                   .order_by(RoundKeyShare.x)).scalars().all()})
    changes = ctx.session.execute(select(RequirementChange).where(RequirementChange.lot_id == trade.lot_id)
                                  .order_by(RequirementChange.id)).scalars().all()
    suppliers = ctx.session.execute(select(NegotiationSupplier).where(NegotiationSupplier.lot_id == trade.lot_id)
                                    .order_by(NegotiationSupplier.id)).scalars().all()
    offers = quotes.final_offers(ctx.session, trade.lot_id)
    from . import rules

    return {"trade": trade, "project": project, "lot": ctx.session.get(Lot, trade.lot_id),
            "case": ctx.session.get(NegotiationCase, trade.lot_id), "rounds": rows, "changes": changes,
            "suppliers": suppliers, "names": services.supplier_names(ctx, trade.lot_id),
            "ranked": rules.rank_final_offers(offers), "report": services.get_report(ctx, trade.lot_id), "is_buyer": ctx.actor.has("owner") and ctx.actor.org_id == project.owner_org_id,
            "is_team": ctx.actor.has("operator") or (ctx.actor.has("agency") and ctx.actor.org_id == project.agency_org_id),
            "now": ctx.now()}


@bp.route("/")
@role_required("operator", "agency", "owner", "supervisor", "bidder", "expert")
def index():
    """The negotiations the user takes part in (team side: the project's or, for the centre and
    supervisors, every one; a supplier: its own) and the round keys the user holds as custodian."""
    ctx = service_context()
    stmt = (select(NegotiationCase, LotTrade, Project.name).join(LotTrade, LotTrade.lot_id == NegotiationCase.lot_id)
            .join(Project, Project.id == LotTrade.project_id).order_by(NegotiationCase.started_at.desc()).limit(200))
    if ctx.actor.has("bidder"):
        stmt = stmt.join(NegotiationSupplier, (NegotiationSupplier.lot_id == LotTrade.lot_id)
                         & (NegotiationSupplier.bidder_org_id == ctx.actor.org_id))
    elif ctx.actor.has("owner", "agency"):
        stmt = stmt.where((Project.owner_org_id == ctx.actor.org_id) | (Project.agency_org_id == ctx.actor.org_id))
    elif not ctx.actor.has("operator", "supervisor"):
        stmt = stmt.where(False)
    # lots opened and waiting for the team to start
    waiting = []
    if ctx.actor.has("operator", "agency"):
        w = (select(LotTrade, Project.name).join(Project, Project.id == LotTrade.project_id)
             .where(LotTrade.procedure == "negotiation", LotTrade.status == "opened").limit(200))
        if ctx.actor.has("agency"):
            w = w.where(Project.agency_org_id == ctx.actor.org_id)
        waiting = ctx.session.execute(w).all()
    custody = []
    if ctx.actor.has(*CUSTODIANS):
        custody = ctx.session.execute(
            select(RoundKeyShare, NegotiationRound).join(NegotiationRound, NegotiationRound.id == RoundKeyShare.round_id)
            .where(RoundKeyShare.custodian_user_id == ctx.actor.user_id, NegotiationRound.quotes_opened_at.is_(None))
        ).all()
    return render_template("negotiation/index.html", rows=ctx.session.execute(stmt).all(), waiting=waiting,
                           custody=custody, is_bidder=ctx.actor.has("bidder"))


@bp.route("/lots/<lot_code>")
@role_required(*TEAM_PAGE)
def lot_page(lot_code):
    ctx = service_context()
    return render_template("negotiation/lot.html", **_lot_context(ctx, lot_code))


@bp.route("/lots/<lot_code>/start", methods=["POST"])
@role_required("operator", "agency")
def start(lot_code):
    ctx = service_context()
    sources = {}
    for key, value in request.form.items():
        if key.startswith("source_") and key[7:].isdigit() and value:
            sources[int(key[7:])] = value
    return _step(lot_code, lambda: services.start_negotiation(
        ctx, lot_code, team_size=_int("team_size"), team_experts=_int("team_experts"), sources=sources,
        prior_tender_failed=bool(request.form.get("prior_tender_failed")),
        approval_ref=request.form.get("approval_ref", "")), _("竞争性谈判已开始。"))


@bp.route("/lots/<lot_code>/rounds", methods=["POST"])
@role_required("operator", "agency")
def open_round(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.open_round(ctx, lot_code, closes_at=_bj("closes_at")),
                 _("新一轮谈判已开始，本轮报价密钥已生成。"))


@bp.route("/lots/<lot_code>/rounds/close", methods=["POST"])
@role_required("operator", "agency")
def close_round(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.close_round(ctx, lot_code),
                 _("本轮已结束，请密钥保管人提交本轮密钥份额以开启报价。"))


@bp.route("/lots/<lot_code>/final", methods=["POST"])
@role_required("operator", "agency")
def call_final(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.call_final_offers(ctx, lot_code, closes_at=_bj("closes_at")),
                 _("已要求供应商提交最后报价。"))


@bp.route("/lots/<lot_code>/final/close", methods=["POST"])
@role_required("operator", "agency")
def close_final(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.close_final_offers(ctx, lot_code), _("最后报价阶段已结束。"))


@bp.route("/lots/<lot_code>/report", methods=["POST"])
@role_required("operator", "agency")
def report(lot_code):
    """The team's 谈判报告: suppliers ticked as non-responsive (each with its reason), the opinion."""
    ctx = service_context()
    excluded = {}
    for key in request.form:
        if key.startswith("exclude_") and key[8:].isdigit():
            excluded[int(key[8:])] = request.form.get(f"reason_{key[8:]}", "")
    try:
        done = services.report_negotiation(ctx, lot_code, excluded=excluded, opinion=request.form.get("opinion", ""),
                                           dissent=request.form.get("dissent", ""))
    except DomainError as err:
        db.session.rollback()
        flash_error(err)
        return redirect(url_for("negotiation.lot_page", lot_code=lot_code))
    flash(_("谈判报告已提交，成交候选人已推荐给采购人。") if done.outcome == "recommended"
          else _("谈判报告已提交：满足实质性要求的供应商不足，竞争性谈判已终止。"),
          "success" if done.outcome == "recommended" else "warning")
    return redirect(url_for("negotiation.lot_page", lot_code=lot_code))


@bp.route("/lots/<lot_code>/terminate", methods=["POST"])
@role_required("operator", "agency")
def terminate(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.terminate(ctx, lot_code, reason=request.form.get("reason", "")),
                 _("竞争性谈判已终止。"))


@bp.route("/lots/<lot_code>/changes", methods=["POST"])
@role_required("operator", "agency")
def propose_change(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.propose_requirement_change(ctx, lot_code, request.form.get("text", "")),
                 _("变更已提出，待采购人确认后发给全部供应商。"))


@bp.route("/lots/<lot_code>/changes/<int:change_id>/publish", methods=["POST"])
@role_required("owner")
def publish_change(lot_code, change_id):
    ctx = service_context()
    return _step(lot_code, lambda: services.publish_requirement_change(ctx, change_id),
                 _("变更已确认，并已同时发给仍在谈判中的全部供应商。"))


@bp.route("/lots/<lot_code>/sessions", methods=["POST"])
@role_required("operator", "agency")
def record_session(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.record_session(ctx, lot_code, _int("bidder_org_id"),
                                                           request.form.get("minutes", "")),
                 _("谈判记录已保存。"))


# --- the supplier -------------------------------------------------------------------------------

@bp.route("/my/<lot_code>")
@role_required("bidder")
def supplier_page(lot_code):
    ctx = service_context()
    trade = services._trade(ctx, lot_code)
    sup = ctx.session.execute(select(NegotiationSupplier).where(
        NegotiationSupplier.lot_id == trade.lot_id, NegotiationSupplier.bidder_org_id == ctx.actor.org_id)
    ).scalar_one_or_none()
    if sup is None:
        raise not_found("标段", "Lot")
    rnd = services.current_round(ctx, trade.lot_id)
    active = sup.status == "active"
    mine = ctx.session.execute(select(RoundQuote).where(
        RoundQuote.bidder_org_id == sup.bidder_org_id, RoundQuote.status.in_(("accepted", "superseded")),
        RoundQuote.round_id.in_([r.id for r in services.rounds(ctx, trade.lot_id)] or [-1]))
        .order_by(RoundQuote.id)).scalars().all()
    return render_template("negotiation/supplier.html", trade=trade, lot=ctx.session.get(Lot, trade.lot_id),
                           project=ctx.session.get(Project, trade.project_id), supplier=sup, active=active,
                           round=rnd, open=rnd is not None and active and quotes.round_is_open(rnd, ctx.now()),
                           changes=services.published_changes(ctx, lot_code) if active else [],
                           mine=mine, rounds={r.id: r for r in services.rounds(ctx, trade.lot_id)}, now=ctx.now())


@bp.route("/my/<lot_code>/withdraw", methods=["POST"])
@role_required("bidder")
def withdraw(lot_code):
    ctx = service_context()
    return _step(lot_code, lambda: services.withdraw_supplier(ctx, lot_code, request.form.get("reason", "")),
                 _("贵单位已退出本次谈判，保证金将按规定退还。"), "negotiation.supplier_page") if request.form.get("confirm") else (
        _refuse_unconfirmed(lot_code))


def _refuse_unconfirmed(lot_code: str):
    flash_error(InvalidInput("negotiation.confirm", "请勾选确认后再退出谈判", "Tick the confirmation to withdraw"))
    return redirect(url_for("negotiation.supplier_page", lot_code=lot_code))


# --- custodians ---------------------------------------------------------------------------------

@bp.route("/custody")
@role_required(*CUSTODIANS)
def custody():
    ctx = service_context()
    rows = ctx.session.execute(
        select(RoundKeyShare, NegotiationRound).join(
            NegotiationRound, NegotiationRound.id == RoundKeyShare.round_id)
        .where(RoundKeyShare.custodian_user_id == ctx.actor.user_id)
        .order_by(NegotiationRound.id.desc())).all()
    return render_template("negotiation/custody.html", rows=rows, now=ctx.now())


@bp.route("/custody/<round_code>", methods=["POST"])
@role_required(*CUSTODIANS)
def submit_share(round_code):
    ctx = service_context()
    try:
        out = quotes.submit_round_share(ctx, round_code, request.form.get("passphrase", ""))
        flash(_("密钥份额已接受（%(accepted)s / %(k)s）。", accepted=out["accepted"], k=out["k"])
              + (" " + _("本轮报价已开启。") if out["opened"] else ""), "success")
    except ShareRefused as err:
        flash_error(err)
    except DomainError as err:
        db.session.rollback()
        flash_error(err)
    return redirect(url_for("negotiation.custody"))


@bp.app_template_filter("org_name")
def _org_name(org_id):
    org = db.session.get(Organisation, org_id) if org_id else None
    return org.name if org else ""
