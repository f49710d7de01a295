"""A drawn panel after the draw: buyer representatives, starting the evaluation (the names are
unsealed), the members of record, and what each role may see of a panel.

Secrecy (rules.md §4.2, ux.md §1.5): before start_panel nobody but the draw's audit entries (read by
the supervisor) links names to the lot — the operator sees counts, an expert sees that they have an
assignment and its day without the project; after start_panel the members and the operator see the
names and the project. Owners, agencies and bidders never see the names here.

Imports: core, audit, accounts, projects, procedures.common (lots, stages), evaluation (models)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.accounts.models import User
from trading.accounts.rules import Role, roles_for
from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found
from trading.evaluation.experts.models import Expert
from trading.evaluation.panels import MemberRole, MemberStatus, Panel, PanelMember, PanelStatus
from trading.procedures.common.awards import result as award_result
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import LotTrade
from trading.procedures.common.stages import start_evaluation_if_listed
from trading.procedures.negotiation import services as negotiation_services
from trading.projects.models import Project

from .models import ExpertDraw


def open_panel(session: Session, lot_id: int) -> Panel | None:
    """The lot's panel that is not closed (at most one)."""
    return session.execute(select(Panel).where(Panel.lot_id == lot_id, Panel.status != PanelStatus.CLOSED)
                           .order_by(Panel.id.desc())).scalars().first()


def active_members(session: Session, lot_id: int) -> list[PanelMember]:
    """The seats in force of the lot's open panel, in seat order."""
    panel = open_panel(session, lot_id)
    if panel is None:
        return []
    return list(session.execute(select(PanelMember).where(PanelMember.panel_id == panel.id,
                                                          PanelMember.status == MemberStatus.ACTIVE)
                                .order_by(PanelMember.id)).scalars())


def _counts(session: Session, panel: Panel) -> tuple[int, int]:
    rows = dict(session.execute(select(PanelMember.role, func.count()).where(
        PanelMember.panel_id == panel.id, PanelMember.status == MemberStatus.ACTIVE).group_by(PanelMember.role)).tuples().all())
    return rows.get(MemberRole.EXPERT, 0) + rows.get(MemberRole.CHAIR, 0), rows.get(MemberRole.BUYER_REP, 0)


def negotiation_team(ctx: ServiceContext, lot_id: int) -> tuple[int, int] | None:
    """(seats, experts) of the lot's open panel, for the 谈判 team guard (≥ 3, odd, experts ≥ 2/3):
    the negotiation package cannot import evaluation, so it is handed this function (below)."""
    panel = open_panel(ctx.session, lot_id)
    if panel is None:
        return None
    experts, reps = _counts(ctx.session, panel)
    return experts + reps, experts


negotiation_services.set_team_source(negotiation_team)


def team_names(ctx: ServiceContext, lot_id: int) -> list[str]:
    """The names of the seats in force of the lot's latest panel (open, or closed by its final report),
    in seat order: what a GP result notice lists (74号令 Art. 18)."""
    panel = ctx.session.execute(select(Panel).where(Panel.lot_id == lot_id).order_by(Panel.id.desc())).scalars().first()
    if panel is None:
        return []
    rows = ctx.session.execute(
        select(Expert.name, User.display_name).select_from(PanelMember)
        .join(User, User.id == PanelMember.user_id).outerjoin(Expert, Expert.id == PanelMember.expert_id)
        .where(PanelMember.panel_id == panel.id, PanelMember.status == MemberStatus.ACTIVE)
        .order_by(PanelMember.id)).all()
    return [expert or person for expert, person in rows]


award_result.set_team_source(team_names)


def add_buyer_rep(ctx: ServiceContext, lot_code: str, user_id: int) -> PanelMember:
    """Seat a buyer representative (采购人代表): an owner account of the lot's owner organisation, on a
    panel with a seat left for one (size − experts_required)."""
    ctx.require(*roles_for("expert.draw"))
    trade = get_trade(ctx, lot_code, lock=True)
    panel = open_panel(ctx.session, trade.lot_id)
    if panel is None or panel.status != PanelStatus.SEALED:
        raise Conflict("panel.state", "评审委员会尚未组成或已开始评审", "The panel is not formed or has started")
    project = ctx.session.get(Project, trade.project_id)
    user = ctx.session.get(User, user_id)
    if user is None or user.role != Role.OWNER or user.org_id != project.owner_org_id:
        raise InvalidInput("panel.rep_invalid", "采购人代表须为本项目业主单位的账号",
                           "A buyer representative is an account of the project's owner", field="user_id")
    _, reps = _counts(ctx.session, panel)
    if reps >= panel.size - panel.experts_required:
        raise Conflict("panel.rep_full", "没有空缺的采购人代表席位", "No buyer-representative seat is free")
    member = PanelMember(panel_id=panel.id, expert_id=None, user_id=user.id, role=MemberRole.BUYER_REP.value,
                         status=MemberStatus.ACTIVE.value, joined_at=ctx.now())
    ctx.session.add(member)
    ctx.session.flush()
    record(ctx, "panel.buyer_rep_added", "panel", panel.id, project_id=trade.project_id,
           payload={"member_id": member.id, "user_id": user.id})
    return member


def start_panel(ctx: ServiceContext, lot_code: str) -> Panel:
    """The evaluation starts: a complete sealed panel becomes active and its names visible to its
    members and the operator."""
    ctx.require(*roles_for("panel.start"))
    trade = get_trade(ctx, lot_code, lock=True)
    if not ctx.actor.has(Role.OPERATOR):
        project = ctx.session.get(Project, trade.project_id)
        if ctx.actor.org_id not in {project.owner_org_id, project.agency_org_id}:
            raise not_found("标段", "Lot")
    panel = open_panel(ctx.session, trade.lot_id)
    if panel is None or panel.status != PanelStatus.SEALED:
        raise Conflict("panel.state", "评审委员会尚未组成或已开始评审", "The panel is not formed or has started")
    experts, reps = _counts(ctx.session, panel)
    if experts != panel.experts_required or experts + reps != panel.size:
        raise Conflict("panel.incomplete", f"评审委员会未组齐（专家 {experts}/{panel.experts_required}，"
                       f"采购人代表 {reps}/{panel.size - panel.experts_required}）",
                       f"The panel is incomplete (experts {experts}/{panel.experts_required}, "
                       f"representatives {reps}/{panel.size - panel.experts_required})")
    panel.status, panel.sealed_until = PanelStatus.ACTIVE.value, ctx.now()
    ctx.session.flush()
    record(ctx, "panel.started", "panel", panel.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "status": [PanelStatus.SEALED.value, PanelStatus.ACTIVE.value]})
    # 比选/询价: the lot moves opened → evaluating with the panel's composition as the guard's facts
    # (谈判 entered evaluating with its final offers; a lot in another state is left as it is)
    start_evaluation_if_listed(ctx, lot_code, panel_size=experts + reps, panel_experts=experts,
                               detail={"panel_id": panel.id})
    return panel


# --- what each role sees -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PanelView:
    status: str
    kind: str
    size: int
    experts_required: int
    experts_seated: int
    reps_seated: int
    #: (member id, name, role) — empty unless the viewer may see names
    names: tuple[tuple[int, str, str], ...] = ()


def panel_view(ctx: ServiceContext, lot_code: str) -> PanelView | None:
    """The lot's panel as the actor may see it: counts for the operator and supervisor; names only
    once the panel is active, for the operator, the supervisor and the panel's own members. None for
    everyone else (owner, agency, bidder, the public): a lot's panel is not theirs to see."""
    trade = get_trade(ctx, lot_code)
    panel = open_panel(ctx.session, trade.lot_id)
    members = active_members(ctx.session, trade.lot_id) if panel else []
    is_member = any(m.user_id == ctx.actor.user_id for m in members)
    if panel is None or not (ctx.actor.has(Role.OPERATOR, Role.SUPERVISOR) or
                             (is_member and panel.status != PanelStatus.SEALED)):
        return None
    experts, reps = _counts(ctx.session, panel)
    names: tuple = ()
    if panel.status != PanelStatus.SEALED:
        users = dict(ctx.session.execute(select(User.id, User.display_name)
                                         .where(User.id.in_([m.user_id for m in members]))).tuples().all())
        experts_by_id = dict(ctx.session.execute(select(Expert.id, Expert.name).where(
            Expert.id.in_([m.expert_id for m in members if m.expert_id]))).tuples().all())
        names = tuple((m.id, experts_by_id.get(m.expert_id) or users.get(m.user_id, ""), m.role) for m in members)
    return PanelView(panel.status, panel.kind, panel.size, panel.experts_required, experts, reps, names)


@dataclass(frozen=True)
class Assignment:
    member_id: int
    panel_status: str
    evaluation_on: date | None
    #: None while the panel is sealed (the project is not named before check-in)
    project_name: str | None
    lot_code: str | None


def my_assignments(ctx: ServiceContext) -> list[Assignment]:
    """An expert's seats in force, newest first; sealed ones without the project."""
    rows = ctx.session.execute(
        select(PanelMember.id, Panel.status, Panel.draw_id, LotTrade.lot_code, Project.name)
        .join(Panel, Panel.id == PanelMember.panel_id).join(LotTrade, LotTrade.lot_id == Panel.lot_id)
        .join(Project, Project.id == LotTrade.project_id)
        .where(PanelMember.user_id == ctx.actor.user_id, PanelMember.status == MemberStatus.ACTIVE)
        .order_by(PanelMember.id.desc())).all()
    days = dict(ctx.session.execute(select(ExpertDraw.id, ExpertDraw.evaluation_on).where(
        ExpertDraw.id.in_([r[2] for r in rows if r[2]]))).tuples().all()) if rows else {}
    out = []
    for member_id, status, draw_id, lot_code, name in rows:
        visible = status != PanelStatus.SEALED
        out.append(Assignment(member_id, status, days.get(draw_id), name if visible else None,
                              lot_code if visible else None))
    return out


def get_panel(ctx: ServiceContext, panel_id: int) -> Panel:
    panel = ctx.session.get(Panel, panel_id)
    if panel is None:
        raise not_found("评审委员会", "Panel")
    return panel
