"""Evaluation-room fixtures: a 比选 (or 询价/谈判) lot past its deadline with criteria set before it,
bidders with opened price sheets, and a started panel whose members have two-factor enabled.

    ev = evaluation_lot(ctx, prices=[800_000_00, 900_000_00, 850_000_00])
    ev.code, ev.trade, ev.owner, ev.bidders (Organisation rows, in price order given)
    ev.members: [EvMember(user, member, ctx)]              # ctx acts as that member
    fill_and_submit(ev, scores={org_id: ("35", "15")})     # every member submits every sheet

The lot and its opening results are written directly (the opening has its own tests); the criteria
go through the real service, before the deadline, as the owner; the panel is drawn for real."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyotp

from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.experts import make_experts, operator_ctx
from tests.factories.notices import make_notice, notice_project
from trading.accounts import services as account_services
from trading.accounts.models import Organisation, User
from trading.core.context import ServiceContext
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.draw.services import request_draw, run_draw, start_panel
from trading.evaluation.panels import Panel, PanelMember
from trading.evaluation.scoring import services as scoring
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningResult
from trading.procedures.common.participation.models import Participation

CRITERIA = {"method": "comprehensive", "price_weight": "40", "tie_break": "technical",
            "items": [{"code": "T1", "name": "施工组织设计", "group": "technical", "max": "40"},
                      {"code": "C1", "name": "企业业绩", "group": "commercial", "max": "20"}],
            "rejections": [{"code": "R1", "name": "资格证书缺失"}, {"code": "R2", "name": "报价超过最高限价"}]}


@dataclass
class EvMember:
    user: User
    member: PanelMember
    ctx: ServiceContext


@dataclass
class EvLot:
    code: str
    trade: LotTrade
    owner: User
    owner_ctx: ServiceContext
    bidders: list[Organisation]
    panel: Panel
    members: list[EvMember]


def _enable_totp(ctx: ServiceContext, user: User) -> None:
    sys_ctx = ServiceContext(session=ctx.session, clock=ctx.clock, ip="127.0.0.1")
    secret, _ = account_services.start_totp_enrolment(sys_ctx, user)
    account_services.confirm_totp(sys_ctx, user, pyotp.TOTP(secret).at(ctx.now() - timedelta(seconds=30)))


def evaluation_lot(ctx: ServiceContext, *, prices=(800_000_00, 900_000_00, 850_000_00), size: int = 3,
                   procedure: str = "selection", criteria: dict | None = None, status: str = "evaluating",
                   start: bool = True, spare_experts: int = 3) -> EvLot:
    """The panel is drawn for real (EXPERTS' request_draw/run_draw/start_panel) from a pool of
    size + spare_experts experts, so a replacement can be drawn too."""
    owner = make_user(ctx, "owner")
    octx = actor_ctx(ctx.session, ctx.clock, owner)
    gp = dict(category="goods", owner_type="gov") if procedure in ("inquiry", "negotiation") else {}
    project = notice_project(ctx, owner, procedure=procedure, **gp)
    notice = make_notice(octx, project)
    lot = project.lots[0]
    now = ctx.now()
    trade = LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                     procedure=procedure, sealed=True, deadline_at=notice.deadline_at, opening_at=notice.opening_at,
                     max_part_bytes=1 << 20, deposit_fen=0, min_valid_offers=3, status="accepting",
                     status_changed_at=now, created_at=now)
    ctx.session.add(trade)
    ctx.session.flush()
    set_criteria(octx, lot.code, criteria or CRITERIA)
    experts = make_experts(ctx, size + spare_experts, specialties=("GC01",))
    bidders = []
    for price in prices:
        org = make_org(ctx, "bidder")
        user = make_user(ctx, "bidder", org=org)
        ctx.session.add(Participation(lot_id=lot.id, bidder_org_id=org.id, registered_by=user.id,
                                      registered_at=now, status="registered"))
        bidders.append((org, price))
    ctx.clock.set(notice.deadline_at + timedelta(hours=2))     # past the deadline, opened
    opened = ctx.now()
    for n, (org, price) in enumerate(bidders):
        ctx.session.add(OpeningResult(lot_id=lot.id, submission_id=f"s{lot.id}-{n}-p", bidder_org_id=org.id,
                                      part="price", payload_sha256="0" * 64, outcome="opened" if price else "failed",
                                      price_fen=price or None, opened_at=opened))
    trade.status = "opened"
    ctx.session.flush()
    op = operator_ctx(ctx)
    d = request_draw(op, lot.code, size=size, specialties=["GC01"], experts_required=size)
    panel = run_draw(op, d.id)
    if start:
        start_panel(op, lot.code)
    trade.status = status
    ctx.session.flush()
    members = []
    by_id = {e.id: e for e in experts}
    for m in ctx.session.query(PanelMember).filter_by(panel_id=panel.id).order_by(PanelMember.id):
        user = ctx.session.get(User, m.user_id)
        _enable_totp(ctx, user)
        assert m.expert_id in by_id
        members.append(EvMember(user, m, actor_ctx(ctx.session, ctx.clock, user)))
    return EvLot(lot.code, trade, owner, octx, [o for o, _ in bidders], panel, members)


def check_in(ev: EvLot, who: EvMember) -> None:
    for b in ev.bidders:
        scoring.declare(who.ctx, ev.code, b.id, conflict=False)


def sheet(t1: str, c1: str) -> dict:
    comments = {}
    if t1 != "40":
        comments["T1"] = "施工方案不够细"
    if c1 != "20":
        comments["C1"] = "业绩不足"
    return {"decision": "score", "scores": {"T1": t1, "C1": c1}, "comments": comments}


def fill_and_submit(ev: EvLot, scores: dict | None = None, *, members=None, default=("35", "15")) -> None:
    """Every (given) member checks in and submits a sheet for every bidder; scores[org_id] is a
    (T1, C1) pair, a dict (raw sheet) or {member index: …} per member."""
    for idx, who in enumerate(members or ev.members):
        check_in(ev, who)
        for b in ev.bidders:
            value = (scores or {}).get(b.id, default)
            if isinstance(value, dict) and idx in value:
                value = value[idx]
            raw = value if isinstance(value, dict) and "decision" in value else sheet(*value)
            scoring.submit_sheet(who.ctx, ev.code, b.id, raw)
