"""Page: a lot's stage (阶段) for its owner, agency and the centre — where the lot stands in its
procedure's machine, its stage history, and a button for each step the table lists from here for
the signed-in role. Thin: each POST calls one service (stages.advance, cancel_lot, switch_method);
steps that belong to another page (evaluation, publicity, award, contract) are listed with a
pointer, not a button, and a re-announcement is a new announcement notice (stages.start_next_cycle).

- /stages/<lot_code>                 the panel (supervisors read it)
- /stages/<lot_code>/<action>        POST: close, fail (流标 at the deadline with too few applicants),
                                     archive, cancel (reason), switch_method (文号)"""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from trading.accounts.web_auth import role_required
from trading.audit.models import AuditEntry
from trading.core.errors import DomainError, NotFound, not_found
from trading.core.web import flash_error, service_context
from trading.projects.enums import label
from trading.projects.models import Lot, Project
from trading.projects.services import can_see

from . import stages
from .flow import machine_for
from .lots import effective_status, get_trade
from .models import LotTrade

bp = Blueprint("stages", __name__)

READERS = ("owner", "agency", "operator", "supervisor")
#: the steps this page performs itself (the others are taken on their own pages)
HERE = ("close", "fail", "archive", "cancel", "switch_method")
#: what a failed lot may switch to (a new project under that method follows)
SWITCH_TO = ("negotiation", "inquiry", "single_source", "consultation")
#: the happy path shown as the stepper, per procedure
PATHS = {
    "selection": ("accepting", "closed", "opening", "opened", "evaluating", "reported", "publicity", "awarded",
                  "contracted", "archived"),
    "inquiry": ("accepting", "closed", "opening", "opened", "evaluating", "reported", "confirming", "awarded",
                "contracted", "archived"),
    "negotiation": ("accepting", "closed", "opening", "opened", "negotiating", "final_offers", "evaluating",
                    "reported", "confirming", "awarded", "contracted", "archived"),
    # 招标出让: no candidate publicity, the report's rank 1 is awarded
    "land_tender": ("accepting", "closed", "opening", "opened", "evaluating", "reported", "awarded", "contracted",
                    "archived"),
    "mining_tender": ("accepting", "closed", "opening", "opened", "evaluating", "reported", "awarded", "contracted",
                      "archived"),
}
STATUS_LABELS = {
    "accepting": _l("接受报名/投标"), "closed": _l("已截止"), "opening": _l("开标中"), "opened": _l("已开标"),
    "failed": _l("流标"), "terminated": _l("已终止"), "negotiating": _l("谈判中"), "final_offers": _l("最后报价"),
    "evaluating": _l("评审中"), "reported": _l("评审报告已提交"), "publicity": _l("候选人公示"),
    "confirming": _l("采购人已确认"), "awarded": _l("已定标"), "contracted": _l("合同已签订"), "archived": _l("已归档"),
    "reannounced": _l("已重新公告"),
}
ACTION_LABELS = {
    "close": _l("截止"), "start_opening": _l("开始开标"), "open": _l("开标"), "fail": _l("流标"),
    "start_negotiation": _l("开始谈判"), "close_round": _l("结束本轮"), "call_final_offers": _l("要求最后报价"),
    "close_final_offers": _l("结束最后报价"), "start_evaluation": _l("开始评审"), "submit_report": _l("提交评审报告"),
    "publicize": _l("公示候选人"), "confirm": _l("确认成交供应商"), "award": _l("定标"), "sign_contract": _l("登记合同"),
    "archive": _l("归档"), "reannounce": _l("重新公告"), "switch_method": _l("变更采购方式"), "cancel": _l("终止"),
    "terminate": _l("终止公告"),
    # entries the notices and the opening write themselves
    "trading_opened": _l("公告发布"), "redated": _l("时间变更"), "terminated": _l("终止公告"), "failed": _l("流标"),
}


@bp.app_context_processor
def _labels():
    return {"lot_status_label": lambda s: str(STATUS_LABELS.get(s, s)),
            "lot_action_label": lambda a: str(ACTION_LABELS.get(a, a))}


def _visible_trade(ctx, lot_code: str) -> tuple[LotTrade, Project]:
    trade = get_trade(ctx, lot_code)
    project = ctx.session.get(Project, trade.project_id)
    if not can_see(ctx, project):
        raise not_found("标段", "Lot")
    return trade, project


#: steps the opening code takes itself and audits in its own form: (step, old, new) as the page lists them;
#: an opening that ends in 流标 writes lot.failed right after opening.opened (then: 开标, 流标：开标中 → 流标)
_OPENING_STEPS = {"opening.opened": ("open", "opening", "opened"), "lot.failed": ("fail", "opening", "failed")}


def _history(ctx, trade: LotTrade) -> list[dict]:
    """The lot's own stage entries (lot.*: dates, steps, reasons — nothing about bidders), with the
    opening's own step (opening.opened) among them."""
    rows = ctx.session.execute(select(AuditEntry).where(
        AuditEntry.object_type == "lot", AuditEntry.object_id == str(trade.lot_id),
        AuditEntry.action.like("lot.%") | (AuditEntry.action == "opening.opened")).order_by(AuditEntry.seq)).scalars()
    out = []
    for e in rows:
        payload = json.loads(e.body).get("payload", {})
        step, old, new = _OPENING_STEPS.get(e.action, (e.action.removeprefix("lot."), None, None))
        if e.action == "lot.failed" and out and out[-1]["action"] == "open":
            out[-1]["old"] = out[-1]["new"] = None  # the opening did not end opened
        out.append({"at": e.created_at, "action": step, "old": payload.get("old", old),
                    "new": payload.get("new", new), "reason": payload.get("reason") or "",
                    "approval_ref": (payload.get("detail") or {}).get("approval_ref", "")})
    return out


def _page(lot_code: str, status: int = 200, *, failed_action: str | None = None):
    ctx = service_context()
    trade, project = _visible_trade(ctx, lot_code)
    try:
        machine = machine_for(trade.procedure)
    except NotFound:
        machine = None
    actions = stages.available_actions(ctx, trade) if machine else []
    ready = {a: stages.can_advance(ctx, trade, a) for a in actions if a in HERE}
    state = effective_status(trade, ctx.now())
    previous = ctx.session.get(LotTrade, trade.previous_lot_id) if trade.previous_lot_id else None
    following = ctx.session.execute(select(LotTrade).where(LotTrade.previous_lot_id == trade.lot_id)).scalar_one_or_none()
    return render_template(
        "stages/lot.html", trade=trade, project=project, lot=ctx.session.get(Lot, trade.lot_id), state=state,
        path=PATHS.get(trade.procedure, ()), actions=actions, ready=ready, here=HERE, history=_history(ctx, trade),
        procedure_label=label("procedure", trade.procedure, ctx.locale), previous=previous, following=following,
        failed_action=failed_action, form=request.form if failed_action else {},
        switch_to=[(p, label("procedure", p, ctx.locale)) for p in SWITCH_TO]), status


@bp.route("/<lot_code>")
@role_required(*READERS)
def lot_stage(lot_code):
    return _page(lot_code)


@bp.route("/<lot_code>/<action>", methods=["POST"])
@role_required("owner", "agency", "operator")
def take_step(lot_code, action):
    ctx = service_context()
    _visible_trade(ctx, lot_code)
    if action not in HERE:
        raise not_found("操作", "Step")
    try:
        if action == "cancel":
            stages.cancel_lot(ctx, lot_code, request.form.get("reason", "")[:500])
        elif action == "switch_method":
            stages.switch_method(ctx, lot_code, approval_ref=request.form.get("approval_ref", ""),
                                 new_procedure=request.form.get("new_procedure", ""),
                                 reason=request.form.get("reason", "")[:500])
        else:
            stages.advance(ctx, lot_code, action)
    except DomainError as err:
        ctx.session.rollback()  # nothing half-written reaches the page (the boundary rolls back too)
        flash_error(err)
        return _page(lot_code, err.status, failed_action=action)
    flash(_("已完成：%(step)s", step=ACTION_LABELS.get(action, action)), "success")
    return redirect(url_for(".lot_stage", lot_code=lot_code))
