"""The verifiable expert draw (专家抽取) for a lot's panel.

request_draw   validates the request, fixes the organisations to avoid (owner, agency, every bidder
               that registered, any other the operator names) and the settings in force, makes a
               32-byte seed with `secrets`, stores it on the ExpertDraw row and writes only its SHA-256
               in the `expert_draw.requested` audit entry. The view commits it before the run.
               It also freezes the pool: the snapshot (pool.snapshot: every candidate of the
               specialties with the facts the filters read) is stored compressed on the row, the
               avoidance filters are applied to it (draw.rules.eligible) and the digests of the
               snapshot and of the eligible ids are committed in the same entry, so nothing done to
               the pool after the request can steer the result. Too few eligible: RuleViolation,
               nothing written.
run_draw       samples the committed eligible ids with the seed (the DRBG of draw.rules), forms the
               Panel (sealed) and its expert seats, and writes the revealed seed, the digests and the
               result in the `expert_draw.run` entry. An expert suspended between request and run
               (seconds, normally) is replaced by replace_member.
replace_member the same method for one seat (a new seed committed, then revealed); every expert ever
               drawn for the lot is excluded, so a member who declared a conflict never returns.
verify_draw    re-runs a draw from its audit entries and the stored snapshot (draw.verification).

Limitation (documented in the README): a replacement commits and reveals in one transaction, so
the commitment proves the seed was not chosen after seeing the pool, not that the transaction was
not retried; an initial draw cannot be retried, because a lot has one pending draw at a time.

Imports: core, audit, accounts, reference, projects, procedures.common, this package."""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.accounts.models import Organisation
from trading.accounts.rules import roles_for
from trading.audit.models import AuditEntry
from trading.audit.services import record
from trading.core.clock import to_beijing
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, NotFound, RuleViolation, not_found
from trading.evaluation.experts.models import Expert
from trading.evaluation.experts.rules import parse_specialties
from trading.evaluation.panels import MemberRole, MemberStatus, Panel, PanelKind, PanelMember, PanelStatus
from trading.procedures.common.lots import LotStatus, effective_status, get_trade
from trading.procedures.common.models import LotTrade
from trading.procedures.common.participation.models import Participation
from trading.projects.models import Project
from trading.reference.settings import SettingDef, define, get_setting

from . import pool, rules, verification
from .models import ExpertDraw
from .panel_services import active_members, add_buyer_rep, open_panel, start_panel  # noqa: F401 (re-exported)

define(
    SettingDef("draw.employment_lookback_years", 3, "count", "实施条例 Art. 9; 财库〔2016〕198号 [V/U]",
               "专家回避：曾任职单位回溯年限", "Avoidance look-back for past employment (years)", 0, 10),
    SettingDef("draw.regional_avoidance", 0, "bool", "地方惯例 [P] (rules.md §4.3)",
               "专家回避：不抽取与业主同一地区的专家", "Avoid experts from the owner's region", 0, 1),
    SettingDef("draw.frequency_cap", 3, "count", "地方惯例 [P] (rules.md §4.3); 0 = 不限",
               "同一专家 365 日内参加同一业主项目评审次数上限", "Panels per expert for one owner in 365 days (0: no cap)",
               0, 100),
    SettingDef("draw.panel_min_size", 3, "count", "招标投标法 37; 74号令 Art. 7; 比选 [U]",
               "评审委员会/小组最少人数", "Smallest panel", 3, 25),
)

#: the panel kind each procedure forms
PANEL_KIND = {"selection": PanelKind.COMMITTEE, "negotiation": PanelKind.NEGOTIATION_TEAM,
              "consultation": PanelKind.NEGOTIATION_TEAM, "inquiry": PanelKind.INQUIRY_TEAM,
              # 招标出让: the 评标小组 of the grantor's representatives and experts (rules.md G1)
              "land_tender": PanelKind.COMMITTEE, "mining_tender": PanelKind.COMMITTEE}
_NO_DRAW = {LotStatus.ACCEPTING, LotStatus.FAILED, LotStatus.TERMINATED, LotStatus.REANNOUNCED}


def check_panel_size(size: int, experts_required: int, min_size: int) -> None:
    """≥ min_size members, an odd number, experts ≥ 2/3 of them (74号令 Art. 7; 招标投标法 Art. 37)."""
    if not isinstance(size, int) or not isinstance(experts_required, int) or size > 25:
        raise InvalidInput("draw.size_invalid", "人数应为整数（不超过 25）", "Sizes must be whole numbers (≤ 25)", field="size")
    if size < min_size or size % 2 == 0:
        raise RuleViolation("draw.size_rule", f"评审委员会/小组应为 {min_size} 人以上单数",
                            f"A panel has an odd number of members, at least {min_size}", field="size")
    if experts_required > size or 3 * experts_required < 2 * size:
        raise RuleViolation("draw.experts_share", "专家人数应不少于成员总数的三分之二",
                            "Experts must be at least two thirds of the panel", field="experts_required")


#: the procedure's own minimum (its stage guard checks the same setting when the evaluation starts)
MIN_SIZE_SETTING = {"selection": "selection.committee_min", "negotiation": "gp.team_min", "inquiry": "gp.team_min",
                    "land_tender": "land_tender.panel_min", "mining_tender": "land_tender.panel_min"}


def _min_size(ctx: ServiceContext, procedure: str) -> int:
    try:
        return get_setting(ctx, MIN_SIZE_SETTING.get(procedure, "draw.panel_min_size"))
    except NotFound:            # the procedure's package is not loaded (a bare test app)
        return get_setting(ctx, "draw.panel_min_size")


def _avoid_orgs(ctx: ServiceContext, trade: LotTrade, extra: tuple[int, ...]) -> tuple[Project, frozenset[int]]:
    project = ctx.session.get(Project, trade.project_id)
    bidders = ctx.session.execute(select(Participation.bidder_org_id).where(Participation.lot_id == trade.lot_id)).scalars()
    orgs = {project.owner_org_id, *bidders, *extra}
    if project.agency_org_id is not None:
        orgs.add(project.agency_org_id)
    return project, frozenset(orgs)


def _request(ctx: ServiceContext, project: Project, avoid: frozenset[int], count: int, evaluation_on: date,
             exclude: frozenset[int]) -> rules.DrawRequest:
    return rules.DrawRequest(
        count=count, evaluation_on=evaluation_on, avoid_org_ids=avoid, owner_region_id=project.region_id,
        exclude_expert_ids=exclude, regional_avoidance=bool(get_setting(ctx, "draw.regional_avoidance")),
        employment_lookback_years=get_setting(ctx, "draw.employment_lookback_years"),
        frequency_cap=get_setting(ctx, "draw.frequency_cap"))


def _candidates(ctx: ServiceContext, project: Project, specialties, req: rules.DrawRequest) -> list[rules.Candidate]:
    return pool.snapshot(ctx.session, specialties=specialties, avoid_org_ids=req.avoid_org_ids,
                         owner_org_id=project.owner_org_id, evaluation_on=req.evaluation_on, now=ctx.now())


def _commit(ctx: ServiceContext, trade: LotTrade, project: Project, *, purpose: str, kind: str, size: int,
            experts_required: int, specialties: tuple[str, ...], req: rules.DrawRequest,
            replaces_member_id: int | None = None) -> ExpertDraw:
    """Freeze the pool snapshot, refuse when too few of it are eligible, store the seed; audit the
    SHA-256 of the seed and of the snapshot (the commitment)."""
    candidates = _candidates(ctx, project, specialties, req)
    eligible_now, excluded = rules.eligible(candidates, req)
    if len(eligible_now) < req.count:
        raise rules.too_few(len(eligible_now), req.count)
    snap = rules.snapshot_bytes(candidates)
    seed = secrets.token_bytes(rules.SEED_BYTES)
    d = ExpertDraw(lot_id=trade.lot_id, purpose=purpose, status="requested", panel_kind=kind, size=size,
                   experts_required=experts_required, count=req.count, specialties=list(specialties),
                   avoid_org_ids=sorted(req.avoid_org_ids), exclude_expert_ids=sorted(req.exclude_expert_ids),
                   evaluation_on=req.evaluation_on, seed=seed, seed_sha256=hashlib.sha256(seed).hexdigest(),
                   replaces_member_id=replaces_member_id, requested_at=ctx.now(), requested_by=ctx.actor.user_id,
                   pool_size=len(candidates), snapshot_sha256=rules.sha256_hex(snap), snapshot=zlib.compress(snap, 6),
                   eligible_count=len(eligible_now), eligible_ids=eligible_now)
    counts: dict[str, int] = {}
    for reason in excluded.values():
        counts[reason] = counts.get(reason, 0) + 1
    ctx.session.add(d)
    ctx.session.flush()
    record(ctx, "expert_draw.requested", "expert_draw", d.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "purpose": purpose, "panel_kind": kind, "size": size,
                    "experts_required": experts_required, "specialties": list(specialties),
                    "request": rules.request_record(req), "seed_sha256": d.seed_sha256,
                    "snapshot_sha256": d.snapshot_sha256, "pool_size": d.pool_size,
                    "eligible_count": d.eligible_count, "eligible_sha256": rules.ids_sha256(eligible_now),
                    "excluded": dict(sorted(counts.items())),
                    "replaces_member_id": replaces_member_id, "drbg": rules.DRBG_LABEL.decode()})
    return d


def request_draw(ctx: ServiceContext, lot_code: str, *, size: int, specialties, experts_required: int,
                 avoid_org_ids=(), evaluation_on: date | None = None, kind: str | None = None) -> ExpertDraw:
    """Ask for a panel's experts; commits SHA-256(seed) in the audit trail. After the deadline only
    (the bidders to avoid are known), one pending draw and one open panel per lot."""
    ctx.require(*roles_for("expert.draw"))
    codes = parse_specialties(specialties)
    trade = get_trade(ctx, lot_code, lock=True)
    check_panel_size(size, experts_required, _min_size(ctx, trade.procedure))
    if effective_status(trade, ctx.now()) in _NO_DRAW:
        raise Conflict("draw.lot_state", "投标（响应）截止前或已流标/终止的标段不能抽取专家",
                       "Experts are drawn after the deadline of a lot that is still running")
    if open_panel(ctx.session, trade.lot_id) is not None or ctx.session.execute(select(ExpertDraw.id).where(
            ExpertDraw.lot_id == trade.lot_id, ExpertDraw.status == "requested")).first():
        raise Conflict("draw.pending", "该标段已有评审委员会或待执行的抽取", "This lot already has a panel or a pending draw")
    extra = tuple(sorted({int(o) for o in avoid_org_ids}))
    if extra and len(ctx.session.execute(select(Organisation.id).where(Organisation.id.in_(extra))).all()) != len(extra):
        raise InvalidInput("draw.avoid_unknown", "另需回避的单位不存在", "Unknown organisation to avoid", field="avoid")
    project, avoid = _avoid_orgs(ctx, trade, extra)
    on = evaluation_on or to_beijing(ctx.now()).date()
    if on < to_beijing(ctx.now()).date():
        raise InvalidInput("draw.date_past", "评审日期不能早于今天", "The evaluation day is in the past", field="evaluation_on")
    panel_kind = kind or PANEL_KIND.get(project.procedure, PanelKind.COMMITTEE).value
    if panel_kind not in {k.value for k in PanelKind}:
        raise InvalidInput("draw.kind_invalid", "评审组织类型无效", "Unknown panel kind", field="kind")
    req = _request(ctx, project, avoid, experts_required, on, frozenset())
    return _commit(ctx, trade, project, purpose="initial", kind=panel_kind, size=size,
                   experts_required=experts_required, specialties=codes, req=req)


def _get_draw(ctx: ServiceContext, draw_id: int) -> ExpertDraw:
    d = ctx.session.execute(select(ExpertDraw).where(ExpertDraw.id == draw_id).with_for_update()).scalar_one_or_none()
    if d is None:
        raise not_found("抽取记录", "Draw")
    return d


def run_draw(ctx: ServiceContext, draw_id: int) -> Panel:
    """Reveal the seed and draw; returns the lot's panel (sealed)."""
    ctx.require(*roles_for("expert.draw"))
    d = _get_draw(ctx, draw_id)
    if d.status != "requested":
        raise Conflict("draw.already_run", "该抽取已执行", "This draw has already been run")
    trade = ctx.session.get(LotTrade, d.lot_id)
    committed = _entry(ctx.session, d.id, "expert_draw.requested")["payload"]
    if (rules.sha256_hex(zlib.decompress(d.snapshot)) != committed.get("snapshot_sha256")
            or rules.ids_sha256(d.eligible_ids or []) != committed.get("eligible_sha256")):
        raise Conflict("draw.snapshot_changed", "专家库快照或符合条件的名单与抽取申请时承诺的摘要不一致，不能执行；请报告监督人员",
                       "The snapshot or the eligible list does not match the request's commitment; report it")
    chosen = rules.sample_eligible(d.eligible_ids, d.count, d.seed)
    d.status, d.run_at, d.result = "run", ctx.now(), list(chosen)
    panel, members = _seat(ctx, d, trade, chosen)
    record(ctx, "expert_draw.run", "expert_draw", d.id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "seed": d.seed.hex(), "seed_sha256": d.seed_sha256,
                    "snapshot_sha256": d.snapshot_sha256, "pool_size": d.pool_size,
                    "eligible_count": d.eligible_count, "eligible_sha256": committed.get("eligible_sha256"),
                    "excluded": committed.get("excluded"), "result": d.result, "panel_id": panel.id,
                    "member_ids": [m.id for m in members]})
    return panel


def _seat(ctx: ServiceContext, d: ExpertDraw, trade: LotTrade, chosen: tuple[int, ...]) -> tuple[Panel, list[PanelMember]]:
    now = ctx.now()
    users = dict(ctx.session.execute(select(Expert.id, Expert.user_id).where(Expert.id.in_(chosen))).tuples().all())
    if d.purpose == "initial":
        panel = Panel(lot_id=trade.lot_id, kind=d.panel_kind, size=d.size, experts_required=d.experts_required,
                      status=PanelStatus.SEALED.value, created_at=now, draw_id=d.id)
        ctx.session.add(panel)
        ctx.session.flush()
        record(ctx, "panel.sealed", "panel", panel.id, project_id=trade.project_id,
               payload={"lot_code": trade.lot_code, "kind": panel.kind, "size": panel.size,
                        "experts_required": panel.experts_required, "draw_id": d.id})
    else:
        old = ctx.session.get(PanelMember, d.replaces_member_id)
        panel = ctx.session.get(Panel, old.panel_id)
    members = [PanelMember(panel_id=panel.id, expert_id=e, user_id=users[e], role=MemberRole.EXPERT.value,
                           status=MemberStatus.ACTIVE.value, joined_at=now) for e in chosen]
    ctx.session.add_all(members)
    ctx.session.flush()
    return panel, members


def replace_member(ctx: ServiceContext, member_id: int, *, reason: str) -> PanelMember:
    """Refill one expert seat by the same random method (avoidance reason, absence, unfitness): a new
    seed committed then revealed; the old member stays, marked replaced; every expert ever drawn for
    the lot is excluded. Returns the new member."""
    ctx.require(*roles_for("expert.draw"))
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("draw.reason_required", "请填写更换原因（不超过 200 字）", "Give the reason (≤ 200 characters)",
                           field="reason")
    old = ctx.session.execute(select(PanelMember).where(PanelMember.id == member_id).with_for_update()).scalar_one_or_none()
    if old is None:
        raise not_found("评审成员", "Panel member")
    panel = ctx.session.get(Panel, old.panel_id)
    if old.status != MemberStatus.ACTIVE or old.expert_id is None or panel.status == PanelStatus.CLOSED:
        raise Conflict("draw.member_state", "只能更换在任的专家成员", "Only an active expert seat can be refilled")
    trade = ctx.session.get(LotTrade, panel.lot_id)
    first = ctx.session.get(ExpertDraw, panel.draw_id)
    ever = frozenset(ctx.session.execute(select(PanelMember.expert_id).join(Panel, Panel.id == PanelMember.panel_id)
                                         .where(Panel.lot_id == trade.lot_id, PanelMember.expert_id.is_not(None))).scalars())
    project = ctx.session.get(Project, trade.project_id)
    req = _request(ctx, project, frozenset(first.avoid_org_ids), 1, first.evaluation_on, ever)
    d = _commit(ctx, trade, project, purpose="replacement", kind=panel.kind, size=panel.size,
                experts_required=panel.experts_required, specialties=tuple(first.specialties), req=req,
                replaces_member_id=old.id)
    run_draw(ctx, d.id)
    new = ctx.session.execute(select(PanelMember).where(PanelMember.panel_id == panel.id)
                              .order_by(PanelMember.id.desc()).limit(1)).scalar_one()
    old.status, old.replaced_by_id, old.replaced_reason = MemberStatus.REPLACED.value, new.id, reason
    ctx.session.flush()
    record(ctx, "panel.member_replaced", "panel", panel.id, project_id=trade.project_id,
           payload={"member_id": old.id, "replaced_by_id": new.id, "reason": reason, "draw_id": d.id})
    return new


# --- verification --------------------------------------------------------------------------------

def _entry(session: Session, draw_id: int, action: str) -> dict:
    row = session.execute(select(AuditEntry.body).where(
        AuditEntry.object_type == "expert_draw", AuditEntry.object_id == str(draw_id), AuditEntry.action == action)
        .order_by(AuditEntry.seq)).scalars().first()
    if row is None:
        raise not_found("抽取审计记录", "Draw audit entry")
    return json.loads(bytes(row).decode("utf-8"))


def draw_entries(session: Session, draw_id: int) -> tuple[dict, dict, bytes]:
    """(request entry body, run entry body, snapshot bytes) of a run draw."""
    d = session.get(ExpertDraw, draw_id)
    if d is None or d.status != "run" or d.snapshot is None:
        raise not_found("已执行的抽取", "Run draw")
    return _entry(session, draw_id, "expert_draw.requested"), _entry(session, draw_id, "expert_draw.run"), \
        zlib.decompress(d.snapshot)


def verify_draw(session: Session, draw_id: int) -> verification.DrawVerification:
    """Re-run a draw from its audit entries and its snapshot; ok is True when everything matches."""
    request_body, run_body, snap = draw_entries(session, draw_id)
    return verification.check(draw_id, request_body, run_body, snap)
