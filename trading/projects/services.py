"""Use cases of entry registration (项目进场登记) and the centre's entry review (进场审核):
register, update, submit (issues the trade code), return, accept, refuse, terminate; plus the router
fed with the centre's settings and the visibility rule every page and API call goes through.

Each use case: load → check permission → check the rule → change → audit.record → flush. Services
never commit and never import Flask. Imports core, audit, reference, accounts."""

from __future__ import annotations

from sqlalchemy import select

from trading.accounts.models import Organisation
from trading.accounts.rules import OrgKind
from trading.audit.services import diff, record
from trading.core.clock import beijing, to_beijing
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from trading.reference.models import Region
from trading.reference.services import get_calendar
from trading.reference.settings import get_setting
from trading.reference.workdays import Unit, period_end

from . import rules, validation
from .codes import issue_codes
from .models import EntryReview, Lot, Project
from .rules import EntryAction, EntryStatus, ReviewAction, RouteDecision, RouteLimits

OWNER, AGENCY, OPERATOR, SUPERVISOR, SYSTEM = "owner", "agency", "operator", "supervisor", "system"
DEFAULT_TRADE_CODE_PREFIX = "SFX"
#: statuses whose amounts count towards the anti-splitting sum (registered and not refused/ended)
_COUNTED = (EntryStatus.SUBMITTED, EntryStatus.RETURNED, EntryStatus.ACCEPTED)


# --- Routing ----------------------------------------------------------------------------------
def route_limits(ctx: ServiceContext) -> RouteLimits:
    return RouteLimits.from_settings(lambda code: get_setting(ctx, code))


def route_for(ctx: ServiceContext, **fields) -> RouteDecision:
    """The route for the route fields (category, owner_type, funding_source, fiscal_share_bp,
    total_investment_fen, lots=[{"budget_fen"}…] or lot budgets, combined_total_fen); checked like
    a registration. Other registration fields are ignored so a whole form can be passed."""
    data = {k: fields.get(k) for k in validation.ROUTE_FIELDS}
    data["lots"] = [lot if isinstance(lot, dict) else {"name": "-", "budget_fen": lot} for lot in data["lots"] or []]
    for lot in data["lots"]:
        lot.setdefault("name", "-")
    return rules.route(validation.route_fields(data), route_limits(ctx))


def _checked_route(ctx: ServiceContext, clean: validation.Cleaned) -> RouteDecision:
    decision = rules.route(clean.route_input(), route_limits(ctx))
    if clean.procedure not in decision.allowed:
        allowed = "、".join(rules.label("procedure", p) for p in decision.allowed)
        rule = "; ".join(r.rule for r in decision.reasons[1:] or decision.reasons)
        raise RuleViolation(
            "project.procedure_not_allowed",
            f"“{rules.label('procedure', clean.procedure)}”不在本项目允许的交易方式内（依据：{rule}）。允许的方式：{allowed}",
            f"'{rules.label('procedure', clean.procedure, 'en')}' is not allowed for this project (rule: {rule}). "
            f"Allowed: {', '.join(decision.allowed)}",
            field="procedure", details={"allowed": list(decision.allowed), "rule": rule})
    return decision


# --- Visibility ---------------------------------------------------------------------------------
def _role(ctx: ServiceContext) -> str | None:
    a = ctx.actor
    if a.acting_role in a.roles:
        return a.acting_role
    return next(iter(sorted(a.roles)), None)


def can_see(ctx: ServiceContext, project: Project) -> bool:
    """Owner and agency see their own; the centre sees what was submitted; supervisors see all."""
    a = ctx.actor
    if a.has(SUPERVISOR, SYSTEM):
        return True
    if a.has(OPERATOR):
        return project.status != EntryStatus.DRAFT
    if a.has(OWNER) and a.org_id is not None and project.owner_org_id == a.org_id:
        return True
    return a.has(AGENCY) and a.org_id is not None and project.agency_org_id == a.org_id


def get_visible_project(ctx: ServiceContext, project_id: object, *, lock: bool = False) -> Project:
    """The project, or 404 (the same answer whether it is missing or another organisation's)."""
    if isinstance(project_id, bool) or not isinstance(project_id, int):
        raise not_found("项目", "project")
    stmt = select(Project).where(Project.id == project_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    project = ctx.session.execute(stmt).scalar_one_or_none()
    if project is None or not can_see(ctx, project):
        raise not_found("项目", "project")
    return project


def _for_owner_side(ctx: ServiceContext, project_id: object) -> Project:
    ctx.require(OWNER, AGENCY)
    return get_visible_project(ctx, project_id, lock=True)


def _stale(project: Project, expected_version: object) -> None:
    if expected_version != project.version:
        raise Conflict("project.stale", "项目已被修改（可能是他人或另一窗口），请刷新页面后重新操作",
                       "The project changed since you loaded it; reload and try again",
                       details={"expected": expected_version, "current": project.version})


# --- Registration -------------------------------------------------------------------------------
def snapshot(project: Project) -> dict:
    """The owner-editable facts, as audit payloads record them (old → new)."""
    return {f: getattr(project, f) for f in validation.FIELDS if f != "lots"} | {
        "lots": [[lot.name, lot.budget_fen] for lot in project.lots]}


def _region_exists(ctx: ServiceContext):
    return lambda region_id: ctx.session.get(Region, region_id) is not None


def _owner_org(ctx: ServiceContext, owner_org_id: object) -> tuple[int, int | None]:
    """(owner_org_id, agency_org_id): an owner registers for itself, an agency for a named owner."""
    a = ctx.actor
    if a.has(OWNER):
        if owner_org_id not in (None, a.org_id):
            raise Forbidden("project.owner_org_not_allowed", "业主单位只能为本单位登记项目",
                            "An owner registers projects for its own organisation only", field="owner_org_id")
        return a.org_id, None
    org = ctx.session.get(Organisation, owner_org_id) if isinstance(owner_org_id, int) and not isinstance(
        owner_org_id, bool) else None
    if org is None or org.kind != OrgKind.OWNER:
        raise InvalidInput("project.owner_org_invalid", "请选择委托本机构的业主单位",
                           "Choose the owner organisation the agency acts for", field="owner_org_id")
    return org.id, a.org_id


def _apply(project: Project, clean: validation.Cleaned, decision: RouteDecision) -> None:
    for f in validation.FIELDS:
        if f != "lots":
            setattr(project, f, getattr(clean, f))
    project.budget_fen = clean.budget_fen
    project.route = decision.to_dict()
    existing = list(project.lots)
    # Lots are updated in place by position so their ids (and codes, once issued) stay stable.
    for seq, (name, budget) in enumerate(clean.lots, start=1):
        if seq <= len(existing):
            existing[seq - 1].name, existing[seq - 1].budget_fen = name, budget
        else:
            code = rules.lot_code(project.trade_code, seq) if project.trade_code else None
            project.lots.append(Lot(seq=seq, name=name, budget_fen=budget, code=code))
    for lot in existing[len(clean.lots):]:
        project.lots.remove(lot)


def register_project(ctx: ServiceContext, *, owner_org_id: int | None = None, **fields) -> Project:
    """A draft registration (owner, or agency for owner_org_id). Voluntary entry of a project that
    need not enter is allowed and recorded as such."""
    ctx.require(OWNER, AGENCY)
    fields.setdefault("combined_total_fen", None)
    owner_id, agency_id = _owner_org(ctx, owner_org_id)
    clean = validation.clean(fields, _region_exists(ctx))
    decision = _checked_route(ctx, clean)
    project = Project(status=EntryStatus.DRAFT, owner_org_id=owner_id, agency_org_id=agency_id,
                      created_by=ctx.actor.user_id, created_at=ctx.now(), version=1, lots=[])
    _apply(project, clean, decision)
    ctx.session.add(project)
    ctx.session.flush()
    record(ctx, "project.registered", "project", project.id, project_id=project.id, payload=snapshot(project) | {
        "must_enter": decision.must_enter, "voluntary": not decision.must_enter, "allowed": list(decision.allowed),
        "owner_org_id": owner_id, "agency_org_id": agency_id})
    return project


def update_project(ctx: ServiceContext, project_id: int, *, expected_version: int, **fields) -> Project:
    """Change a draft or returned registration; fields left out keep their value; lots, when given,
    replace the list. A stale expected_version is refused (409) so two editors cannot overwrite."""
    project = _for_owner_side(ctx, project_id)
    rules.ensure_editable(project.status)
    _stale(project, expected_version)
    old = snapshot(project)
    data = {k: v for k, v in old.items() if k != "lots"}
    data["lots"] = [{"name": n, "budget_fen": b} for n, b in old["lots"]]
    data.update(fields)
    clean = validation.clean(data, _region_exists(ctx))
    decision = _checked_route(ctx, clean)
    _apply(project, clean, decision)
    ctx.session.flush()
    changes = diff(old, snapshot(project))
    if not changes:
        return project
    project.version += 1
    record(ctx, "project.updated", "project", project.id, project_id=project.id,
           payload={"changes": changes, "version": project.version})
    ctx.session.flush()
    return project


# --- Submission and review -------------------------------------------------------------------------
def _earlier_same_category(ctx: ServiceContext, project: Project, year: int) -> list[tuple[str, int]]:
    rows = ctx.session.execute(
        select(Project.trade_code, Project.name, Project.budget_fen)
        .where(Project.owner_org_id == project.owner_org_id, Project.category == project.category,
               Project.id != project.id, Project.status.in_([str(s) for s in _COUNTED]),
               Project.submitted_at >= beijing(year, 1, 1), Project.submitted_at < beijing(year + 1, 1, 1))
        .order_by(Project.submitted_at, Project.id)).all()
    return [(code or name, budget) for code, name, budget in rows]


def submit_project(ctx: ServiceContext, project_id: int, *, expected_version: int | None = None,
                   comment: str = "", trade_code_prefix: str = DEFAULT_TRADE_CODE_PREFIX) -> Project:
    """Submit (or resubmit) for the entry review. Re-routes with the current settings, attaches the
    anti-splitting warning, sets the review due date (fails closed when the calendar year is
    missing) and, at the first submission, issues the trade code and the lot codes."""
    project = _for_owner_side(ctx, project_id)
    new_status = rules.ensure_transition(project.status, EntryAction.SUBMIT, _role(ctx))
    if expected_version is not None:
        _stale(project, expected_version)
    comment = rules.check_comment(comment, required=False)
    rules.check_prefix(trade_code_prefix)
    now = ctx.now()
    due = period_end(get_calendar(ctx), now, get_setting(ctx, "entry.review_wd"), Unit.WD)
    data = snapshot(project)
    data["lots"] = [{"name": n, "budget_fen": b} for n, b in data["lots"]]
    clean = validation.clean(data, _region_exists(ctx))
    decision = _checked_route(ctx, clean)
    year = to_beijing(now).year
    warning = rules.splitting_warning(decision, clean.route_input(), route_limits(ctx),
                                      _earlier_same_category(ctx, project, year))
    if warning:
        decision = decision.with_warning(warning)
    if project.trade_code is None:
        issue_codes(ctx, project, year, trade_code_prefix)
    action = ReviewAction.SUBMITTED if project.status == EntryStatus.DRAFT else ReviewAction.RESUBMITTED
    project.status, project.submitted_at, project.review_due_at = new_status, now, due
    project.route = decision.to_dict()
    project.version += 1
    project.reviews.append(EntryReview(action=action, comment=comment, actor_user_id=ctx.actor.user_id, at=now))
    ctx.session.flush()
    record(ctx, "project.submitted", "project", project.id, project_id=project.id, payload={
        "review": str(action), "trade_code": project.trade_code, "lots": [lot.code for lot in project.lots],
        "review_due_at": due, "warnings": [w.code for w in decision.warnings], "comment": comment})
    return project


def _review(ctx: ServiceContext, project_id: object, action: str, review: str, comment: str | None,
            *, comment_required: bool) -> Project:
    ctx.require(OPERATOR)
    project = get_visible_project(ctx, project_id, lock=True)
    new_status = rules.ensure_transition(project.status, action, _role(ctx))
    text = rules.check_comment(comment, required=comment_required)
    now = ctx.now()
    old_status, project.status = project.status, new_status
    project.version += 1
    if new_status == EntryStatus.ACCEPTED:
        project.accepted_at = now
    project.reviews.append(EntryReview(action=review, comment=text, actor_user_id=ctx.actor.user_id, at=now))
    ctx.session.flush()
    record(ctx, f"project.{review}", "project", project.id, project_id=project.id,
           payload={"status": [old_status, new_status], "comment": text})
    return project


def return_project(ctx: ServiceContext, project_id: int, comment: str) -> Project:
    """退回修改: the comment (≥ 5 characters) tells the owner what to fix."""
    return _review(ctx, project_id, EntryAction.RETURN, ReviewAction.RETURNED, comment, comment_required=True)


def accept_project(ctx: ServiceContext, project_id: int, comment: str = "") -> Project:
    """受理: the project may now publish notices and trade."""
    return _review(ctx, project_id, EntryAction.ACCEPT, ReviewAction.ACCEPTED, comment, comment_required=False)


def refuse_project(ctx: ServiceContext, project_id: int, comment: str) -> Project:
    """不予受理 (a refusal ground of §1.1 check 3 applies): the comment names it."""
    return _review(ctx, project_id, EntryAction.REFUSE, ReviewAction.REFUSED, comment, comment_required=True)


def terminate_project(ctx: ServiceContext, project_id: int, comment: str) -> Project:
    """终止 an accepted project (e.g. the inactivity rule of §0.3); the comment gives the ground."""
    return _review(ctx, project_id, EntryAction.TERMINATE, ReviewAction.TERMINATED, comment, comment_required=True)
