"""Evaluation-room use cases (评标室): a member's conflict declarations (回避声明) per bidder, score
sheets (autosaved drafts, submission that locks), and reading sheets under the secrecy rule: a
member sees only their own sheets until every active member has submitted every sheet; the project
side and the centre see progress (who submitted), never a score, until then (ux.md §1.5).

Every change is audited in the same transaction. Audit entries and live events name the sheet and
its SHA-256, never its points: live events carry milestones only (core/events.py).

Imports: core, audit, reference, accounts, procedures.common, evaluation.*."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import select

from trading.accounts.rules import roles_for
from trading.audit.services import record
from trading.core.context import Actor, ServiceContext
from trading.core.errors import Conflict, InvalidInput, not_found
from trading.core.events import publish
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import LotTrade
from trading.procedures.land_tender import reserve as land_reserve
from trading.procedures.land_tender import rules as land_rules
from trading.reference.settings import get_setting

from ..criteria.rules import SALE_PROCEDURES, Criteria
from ..criteria.services import criteria_of
from ..panels import Panel, PanelMember, PanelStatus
from . import queries
from .models import ConflictDeclaration, ScoreSheet
from .rules import BidderIn, SheetIn, SheetStatus, Summary, summarise, validate_sheet

EVALUATING = "evaluating"
#: procedures whose lots are evaluated by a panel with criteria (比选, 竞争性谈判, 询价)
EVALUATED_PROCEDURES = ("selection", "negotiation", "inquiry", "land_tender", "mining_tender")
NOTE_MAX = 300


def channel(lot_code: str) -> str:
    return f"evaluation:{lot_code}"


@dataclass
class Room:
    trade: LotTrade
    panel: Panel
    member: PanelMember
    criteria_id: int
    criteria: Criteria
    bidders: list[BidderIn]


def _panel(ctx: ServiceContext, trade: LotTrade) -> Panel:
    panel = queries.current_panel(ctx.session, trade.lot_id)
    if panel is None:
        raise not_found("评审", "Evaluation")
    return panel


def room(ctx: ServiceContext, lot_code: str, *, write: bool = False) -> Room:
    """The caller's seat on the lot's panel. Anyone not an active member gets the 404 of an unknown
    lot; a write needs the panel started (names visible) and the lot in evaluation."""
    ctx.require(*roles_for("evaluation.score"))
    trade = get_trade(ctx, lot_code, lock=write)
    panel = _panel(ctx, trade)
    member = queries.member_of(ctx.session, panel.id, ctx.actor.user_id)
    if member is None or panel.status not in (PanelStatus.ACTIVE, PanelStatus.CLOSED):
        raise not_found("评审", "Evaluation")
    if write and (panel.status != PanelStatus.ACTIVE or trade.status != EVALUATING):
        raise Conflict("evaluation.not_in_progress", "该标段当前不在评审阶段", "This lot is not being evaluated now")
    crit_row, criteria = criteria_of(ctx.session, trade.lot_id)
    return Room(trade, panel, member, crit_row.id, criteria, queries.bidders(ctx.session, trade))


def _bidder(r: Room, bidder_org_id: int) -> BidderIn:
    b = next((b for b in r.bidders if b.org_id == bidder_org_id), None)
    if b is None:
        raise not_found("投标人", "Bidder")
    return b


def declarations(ctx: ServiceContext, member_id: int) -> dict[int, ConflictDeclaration]:
    """The member's declaration in force per bidder (the latest)."""
    rows = ctx.session.execute(select(ConflictDeclaration).where(ConflictDeclaration.member_id == member_id)
                               .order_by(ConflictDeclaration.id)).scalars()
    return {d.bidder_org_id: d for d in rows}


def sheets_of(ctx: ServiceContext, member_id: int) -> dict[int, ScoreSheet]:
    rows = ctx.session.execute(select(ScoreSheet).where(ScoreSheet.member_id == member_id)).scalars()
    return {s.bidder_org_id: s for s in rows}


def _no_report_yet(ctx: ServiceContext, trade: LotTrade) -> None:
    from ..reports.models import EvaluationReport

    if ctx.session.execute(select(EvaluationReport.id).where(EvaluationReport.lot_id == trade.lot_id)).first():
        raise Conflict("evaluation.report_exists", "评审报告已生成，评审记录不能再更改",
                       "The report exists: the evaluation record can no longer change")


# --- conflict declarations (回避声明) -----------------------------------------------------------------
def declare(ctx: ServiceContext, lot_code: str, bidder_org_id: int, *, conflict: bool, note: str = "") -> ConflictDeclaration:
    """The member states, per bidder, that they have no conflict — or declares one (also later, when
    a relation comes to light after scoring began), which voids every sheet of the member, submitted
    or not, and has the member replaced by the same random method (EXPERTS' replace_member)."""
    r = room(ctx, lot_code, write=True)
    _bidder(r, bidder_org_id)
    _no_report_yet(ctx, r.trade)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput("evaluation.note_too_long", f"说明不超过 {NOTE_MAX} 字", f"At most {NOTE_MAX} characters", field="note")
    if conflict and not note:
        raise InvalidInput("evaluation.conflict_note_required", "声明存在利害关系时须说明关系",
                           "Describe the relation when declaring a conflict", field="note")
    existing = declarations(ctx, r.member.id).get(bidder_org_id)
    if existing is not None and not conflict:   # a conflict found later may follow a "no conflict"
        raise Conflict("evaluation.already_declared", "已对该投标人作出声明", "You already made a declaration for this bidder")
    row = ConflictDeclaration(lot_id=r.trade.lot_id, member_id=r.member.id, bidder_org_id=bidder_org_id,
                              conflict=conflict, note=note, declared_at=ctx.now(), ip=ctx.ip or "")
    ctx.session.add(row)
    ctx.session.flush()
    record(ctx, "evaluation.conflict_declared" if conflict else "evaluation.no_conflict_confirmed",
           "panel_member", r.member.id, project_id=r.trade.project_id,
           payload={"lot_code": lot_code, "bidder_org_id": bidder_org_id, "conflict": conflict, "note": note})
    if conflict:
        _void_sheets(ctx, r)
        _replace(ctx, r.member, note)
        publish(ctx, channel(lot_code), "evaluation:member_replaced", {"stage": "check_in"}, audience="staff")
    elif len(declarations(ctx, r.member.id)) == len(r.bidders):
        publish(ctx, channel(lot_code), "evaluation:checked_in", {"stage": "check_in"}, audience="staff")
    return row


def _void_sheets(ctx: ServiceContext, r: Room) -> None:
    now = ctx.now()
    for sheet in sheets_of(ctx, r.member.id).values():
        if sheet.status == SheetStatus.VOID:
            continue
        old, sheet.status, sheet.voided_at = sheet.status, SheetStatus.VOID, now
        record(ctx, "evaluation.sheet_voided", "score_sheet", sheet.id, project_id=r.trade.project_id,
               payload={"lot_code": r.trade.lot_code, "member_id": r.member.id, "bidder_org_id": sheet.bidder_org_id,
                        "status": [old, SheetStatus.VOID], "reason": "conflict_declared"})


def _replace(ctx: ServiceContext, member: PanelMember, note: str) -> None:
    """EXPERTS' replacement draw (same random method, seed committed and revealed in the audit trail)."""
    from ..draw import services as draw_services

    replace_member = getattr(draw_services, "replace_member", None)
    if replace_member is None:
        raise Conflict("evaluation.replacement_unavailable", "暂不能补抽专家，请联系交易中心",
                       "A replacement cannot be drawn now; contact the centre")
    replace_member(_platform(ctx), member.id, reason=f"利害关系回避：{note}"[:200])


def _platform(ctx: ServiceContext) -> ServiceContext:
    """The replacement is the platform's automatic step on the member's declaration (rules.md §4.2:
    replacements are drawn the same way), taken for the centre that runs draws: the audit entry's
    actor is "system", in the same transaction as the declaration."""
    actor = Actor(user_id=None, org_id=None, roles=frozenset({"system", *roles_for("expert.draw")}),
                  username="system", acting_role="system")
    return replace(ctx, actor=actor, cache=ctx.cache)


# --- sheets ----------------------------------------------------------------------------------------
def _checked_in(ctx: ServiceContext, r: Room) -> None:
    done = declarations(ctx, r.member.id)
    if any(b.org_id not in done or done[b.org_id].conflict for b in r.bidders):
        raise Conflict("evaluation.check_in_first", "请先对每一位投标人作出无利害关系声明（签到）",
                       "Confirm no conflict for every bidder (check in) first")


def sheet_digest(sheet: SheetIn) -> str:
    body = {"decision": sheet.decision, "scores": {k: str(v) for k, v in sorted(sheet.scores.items())},
            "comments": dict(sorted(sheet.comments.items())), "reject_code": sheet.reject_code,
            "reject_note": sheet.reject_note}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def sheet_in(row: ScoreSheet) -> SheetIn:
    return SheetIn(row.decision, {k: Decimal(v) for k, v in (row.scores or {}).items()}, dict(row.comments or {}),
                   row.reject_code, row.reject_note or "")


def _lock_sheet(ctx: ServiceContext, r: Room, bidder_org_id: int) -> ScoreSheet | None:
    return ctx.session.execute(select(ScoreSheet).where(ScoreSheet.member_id == r.member.id,
                                                        ScoreSheet.bidder_org_id == bidder_org_id)
                               .with_for_update()).scalar_one_or_none()


def _write(ctx: ServiceContext, r: Room, bidder_org_id: int, raw: dict, *, final: bool,
           revision: int | None) -> ScoreSheet:
    _bidder(r, bidder_org_id)
    _checked_in(ctx, r)
    row = _lock_sheet(ctx, r, bidder_org_id)
    if row is not None and row.status != SheetStatus.DRAFT:
        raise Conflict("evaluation.sheet_locked", "评分表已提交并锁定，不能再修改或重复提交",
                       "The sheet was submitted and is locked; it cannot change or be submitted again")
    if row is not None and revision is not None and revision != row.revision:
        raise Conflict("evaluation.stale_draft", "评分表已在其他窗口更新，请刷新后再保存",
                       "The sheet changed in another window; reload before saving")
    sheet = validate_sheet(r.criteria, raw, final=final)
    now = ctx.now()
    if row is None:
        row = ScoreSheet(lot_id=r.trade.lot_id, member_id=r.member.id, bidder_org_id=bidder_org_id,
                         criteria_id=r.criteria_id, status=SheetStatus.DRAFT, revision=0, created_at=now,
                         updated_at=now)
        ctx.session.add(row)
    row.decision, row.reject_code, row.reject_note = sheet.decision, sheet.reject_code, sheet.reject_note
    row.scores = {k: str(v) for k, v in sheet.scores.items()}
    row.comments = dict(sheet.comments)
    row.criteria_id, row.updated_at, row.revision = r.criteria_id, now, row.revision + 1
    row.sha256 = sheet_digest(sheet)
    ctx.session.flush()
    return row


def save_draft(ctx: ServiceContext, lot_code: str, bidder_org_id: int, raw: dict, *,
               revision: int | None = None) -> ScoreSheet:
    """Autosave: a draft may be incomplete but never holds a value that could not be submitted."""
    r = room(ctx, lot_code, write=True)
    row = _write(ctx, r, bidder_org_id, raw, final=False, revision=revision)
    record(ctx, "evaluation.sheet_saved", "score_sheet", row.id, project_id=r.trade.project_id,
           payload={"lot_code": lot_code, "member_id": r.member.id, "bidder_org_id": bidder_org_id,
                    "revision": row.revision, "sha256": row.sha256})
    return row


def submit_sheet(ctx: ServiceContext, lot_code: str, bidder_org_id: int, raw: dict | None = None, *,
                 revision: int | None = None) -> ScoreSheet:
    """Submit (and lock) the sheet, with the content given or the saved draft. A second submission
    of a locked sheet is a 409 and changes nothing."""
    r = room(ctx, lot_code, write=True)
    if raw is None:
        row = _lock_sheet(ctx, r, bidder_org_id)
        if row is None:
            _bidder(r, bidder_org_id)
            raise InvalidInput("evaluation.sheet_empty", "评分表尚未填写", "The sheet is empty")
        raw = {"decision": row.decision, "scores": row.scores, "comments": row.comments,
               "reject_code": row.reject_code, "reject_note": row.reject_note}
    row = _write(ctx, r, bidder_org_id, raw, final=True, revision=revision)
    row.status, row.submitted_at = SheetStatus.SUBMITTED, ctx.now()
    ctx.session.flush()
    record(ctx, "evaluation.sheet_submitted", "score_sheet", row.id, project_id=r.trade.project_id,
           payload={"lot_code": lot_code, "member_id": r.member.id, "bidder_org_id": bidder_org_id,
                    "status": [SheetStatus.DRAFT, SheetStatus.SUBMITTED], "sha256": row.sha256})
    done, expected = submission_counts(ctx, r.trade, r.panel)
    publish(ctx, channel(lot_code), "evaluation:sheet_submitted", {"stage": "scoring", "submitted": done,
                                                                  "expected": expected}, audience="staff")
    if done == expected:
        publish(ctx, channel(lot_code), "evaluation:all_submitted", {"stage": "summary"}, audience="staff")
    return row


# --- completeness and secrecy --------------------------------------------------------------------
def submission_counts(ctx: ServiceContext, trade: LotTrade, panel: Panel) -> tuple[int, int]:
    """(submitted sheets of active members, sheets expected = active members × bidders)."""
    members = queries.active_members(ctx.session, panel.id)
    ids = {m.id for m in members}
    n_bidders = len(queries.bidders(ctx.session, trade))
    submitted = ctx.session.execute(select(ScoreSheet.member_id).where(
        ScoreSheet.lot_id == trade.lot_id, ScoreSheet.status == SheetStatus.SUBMITTED)).scalars()
    return sum(1 for m in submitted if m in ids), len(members) * n_bidders


def all_submitted(ctx: ServiceContext, trade: LotTrade, panel: Panel) -> bool:
    done, expected = submission_counts(ctx, trade, panel)
    return expected > 0 and done == expected


def read_sheet(ctx: ServiceContext, lot_code: str, member_id: int, bidder_org_id: int) -> ScoreSheet:
    """A member reads their own sheet at any time; another member's only once all have submitted
    (before that, the same 404 as a sheet that does not exist)."""
    r = room(ctx, lot_code)
    row = ctx.session.execute(select(ScoreSheet).where(ScoreSheet.lot_id == r.trade.lot_id,
                                                       ScoreSheet.member_id == member_id,
                                                       ScoreSheet.bidder_org_id == bidder_org_id)).scalar_one_or_none()
    if row is None or (member_id != r.member.id and not all_submitted(ctx, r.trade, r.panel)):
        raise not_found("评分表", "Score sheet")
    return row


def _staff_party(ctx: ServiceContext, trade: LotTrade) -> bool:
    """Owner/agency of the project, the centre or a supervisor (the 404 of an unknown lot otherwise)."""
    from trading.projects.models import Project

    a = ctx.actor
    if a.has("operator", "supervisor"):
        return True
    project = ctx.session.get(Project, trade.project_id)
    if a.has("owner", "agency") and a.org_id is not None and a.org_id in (project.owner_org_id, project.agency_org_id):
        return True
    raise not_found("评审", "Evaluation")


def lot_summary(ctx: ServiceContext, lot_code: str) -> tuple[Summary, list[BidderIn]]:
    """The summary (汇总): for active members and the project side/centre, only after every sheet is in."""
    trade = get_trade(ctx, lot_code)
    panel = _panel(ctx, trade)
    if queries.member_of(ctx.session, panel.id, ctx.actor.user_id) is None:
        ctx.require(*roles_for("evaluation.progress"))
        _staff_party(ctx, trade)
    if not all_submitted(ctx, trade, panel):
        raise Conflict("evaluation.summary_not_ready", "全体评审成员提交评分表后才能汇总",
                       "The summary is available once every member has submitted")
    return compute_summary(ctx, trade, panel)


def compute_summary(ctx: ServiceContext, trade: LotTrade, panel: Panel) -> tuple[Summary, list[BidderIn]]:
    _, criteria = criteria_of(ctx.session, trade.lot_id)
    members = queries.active_members(ctx.session, panel.id)
    bidders = queries.bidders(ctx.session, trade)
    ids = {m.id for m in members}
    rows = ctx.session.execute(select(ScoreSheet).where(ScoreSheet.lot_id == trade.lot_id,
                                                        ScoreSheet.status == SheetStatus.SUBMITTED)).scalars()
    sheets = {(s.member_id, s.bidder_org_id): sheet_in(s) for s in rows if s.member_id in ids}
    floor = {}
    if land_rules.is_land_tender(trade.procedure):  # 招标出让: an offer below the opened 底价 cannot win
        reserve_fen = land_reserve.opened_reserve(ctx.session, trade.lot_id)
        floor = {b.org_id: "below_reserve" for b in bidders
                 if land_rules.below_reserve(criteria.method, reserve_fen, b.price_fen)}
    summary = summarise(criteria, trade.lot_code, bidders, [m.id for m in members], sheets,
                        deviation_threshold=Decimal(get_setting(ctx, "evaluation.deviation_points")),
                        max_candidates=get_setting(ctx, "evaluation.max_candidates"),
                        sale=trade.procedure in SALE_PROCEDURES, rejected_for=floor)
    return summary, bidders


@dataclass
class MemberProgress:
    member_id: int
    name: str
    role: str
    declared: int
    conflicts: int
    submitted: int
    expected: int


def progress(ctx: ServiceContext, lot_code: str) -> tuple[LotTrade, Panel, list[MemberProgress], bool]:
    """Who has checked in and submitted — counts only, never a score (project side, centre, supervisor)."""
    ctx.require(*roles_for("evaluation.progress"))
    trade = get_trade(ctx, lot_code)
    _staff_party(ctx, trade)
    panel = _panel(ctx, trade)
    members = queries.active_members(ctx.session, panel.id)
    names = queries.member_names(ctx.session, members)
    n = len(queries.bidders(ctx.session, trade))
    out = []
    for m in members:
        decl = declarations(ctx, m.id)
        sheets = sheets_of(ctx, m.id)
        out.append(MemberProgress(m.id, names.get(m.id, ""), m.role, len(decl), sum(d.conflict for d in decl.values()),
                                  sum(s.status == SheetStatus.SUBMITTED for s in sheets.values()), n))
    return trade, panel, out, all_submitted(ctx, trade, panel)


def my_assignments(ctx: ServiceContext) -> list[tuple[LotTrade, Panel, PanelMember]]:
    """The caller's seats on started panels (a sealed panel's lot is not named before the start)."""
    ctx.require(*roles_for("evaluation.score"))
    rows = ctx.session.execute(
        select(LotTrade, Panel, PanelMember).join(Panel, Panel.lot_id == LotTrade.lot_id)
        .join(PanelMember, PanelMember.panel_id == Panel.id)
        .where(PanelMember.user_id == ctx.actor.user_id, PanelMember.status == "active",
               Panel.status.in_([PanelStatus.ACTIVE, PanelStatus.CLOSED]))
        .order_by(Panel.id.desc())).all()
    return [tuple(r) for r in rows]


def staff_lots(ctx: ServiceContext, limit: int = 100) -> list[tuple[LotTrade, Panel | None]]:
    """Lots with evaluation for the owner/agency (their projects' lots of the evaluated procedures)
    or the centre and supervisors (lots that have a panel): each with its current panel, if any."""
    from trading.projects.models import Project

    a = ctx.actor
    stmt = select(LotTrade).where(LotTrade.procedure.in_(EVALUATED_PROCEDURES)).order_by(LotTrade.created_at.desc())
    if a.has("operator", "supervisor"):
        stmt = stmt.where(LotTrade.lot_id.in_(select(Panel.lot_id)))
    elif a.has("owner", "agency") and a.org_id is not None:
        stmt = stmt.join(Project, Project.id == LotTrade.project_id).where(
            (Project.owner_org_id == a.org_id) | (Project.agency_org_id == a.org_id))
    else:
        return []
    trades = list(ctx.session.execute(stmt.limit(limit)).scalars())
    return [(t, queries.current_panel(ctx.session, t.lot_id)) for t in trades]
