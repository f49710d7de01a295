"""Notice use cases: draft, edit (drafts only), check and publish a notice (公告). A published notice
is never edited: a change is a new notice linked to the one it changes (rules.md §6.2).

Who: the owner or agency organisation of the project, or the operator publishing for the centre;
only for an accepted project. Imports core, audit, reference, projects (the Project model)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import insert, select

from trading.accounts.rules import roles_for
from trading.audit.services import diff, record
from trading.core.clock import ensure_utc
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, InvalidInput, RuleViolation, not_found
from trading.projects.models import Lot, Project
from trading.reference.services import get_calendar
from trading.reference.settings import get_setting
from trading.reference.workdays import CalendarYearMissing

from . import rules
from .lots import on_notice_published
from .models import Notice, NoticeTerm
from .rules import KEY_DATES, NoticeFacts, NoticeKind, Violation

# Who may act comes from the one permission table (accounts.rules.CAN), not a copy of it.
WRITERS = roles_for("notice.create")
PUBLISHERS = roles_for("notice.publish")
READERS = tuple(sorted(set(WRITERS) | set(roles_for("notice.read_all"))))
TITLE_MAX, BODY_MAX = 200, 50_000
#: fields a draft may change (project and kind of chain link are fixed at creation)
EDITABLE = ("kind", "title", "body", "lot_id", "previous_id", "opening_place") + KEY_DATES


def _acts_for(ctx: ServiceContext, project: Project) -> bool:
    if ctx.actor.has("operator", "supervisor"):
        return True
    return ctx.actor.org_id is not None and ctx.actor.org_id in (project.owner_org_id, project.agency_org_id)


def get_project_for_notice(ctx: ServiceContext, project_id: int, kind: str | None = None) -> Project:
    """The project, if the actor may publish for it; 404 otherwise; 409 unless accepted (a project
    the centre terminated can still get its termination notice)."""
    ctx.require(*WRITERS)
    project = ctx.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None or not _acts_for(ctx, project):
        raise not_found("项目", "project")
    if project.status != "accepted" and not (project.status == "terminated" and kind == NoticeKind.TERMINATION):
        raise Conflict("notice.project_not_accepted", "项目尚未受理，不能发布公告",
                       "The project has not been accepted, so no notice can be published", field="project_id")
    return project


def get_visible_notice(ctx: ServiceContext, notice_id: int) -> Notice:
    ctx.require(*READERS)
    notice = ctx.session.get(Notice, notice_id) if isinstance(notice_id, int) else None
    if notice is None or not _acts_for(ctx, ctx.session.get(Project, notice.project_id)):
        raise not_found("公告", "notice")
    return notice


# --- input checks ------------------------------------------------------------------------------

def _text(value, field: str, maximum: int, zh: str, en: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput(f"notice.{field}_missing", f"请填写{zh}", f"Enter the {en}", field=field)
    if len(text) > maximum:
        raise InvalidInput(f"notice.{field}_too_long", f"{zh}不能超过{maximum}个字（现为{len(text)}个）",
                           f"The {en} may have at most {maximum} characters (now {len(text)})", field=field)
    return text


def _clean(ctx: ServiceContext, project: Project, values: dict) -> dict:
    out = dict(values)
    if out.get("kind") not in set(NoticeKind):
        raise InvalidInput("notice.kind", "公告类型不正确", "Unknown notice kind", field="kind")
    out["title"] = _text(out.get("title"), "title", TITLE_MAX, "公告标题", "title")
    out["body"] = _text(out.get("body"), "body", BODY_MAX, "公告正文", "body")
    place = out.get("opening_place") or ""
    if not isinstance(place, str) or len(place.strip()) > 60:
        raise InvalidInput("notice.opening_place_too_long", "开标（活动）地点不能超过60个字",
                           "The opening place may have at most 60 characters", field="opening_place")
    out["opening_place"] = place.strip()
    for f in KEY_DATES:
        v = out.get(f)
        if v is not None and not isinstance(v, datetime):
            raise InvalidInput("notice.date_malformed", "日期时间格式不正确", "Malformed date and time", field=f)
        if v is not None:
            try:
                out[f] = ensure_utc(v)
            except ValueError:
                raise InvalidInput("notice.date_naive", "日期时间须带时区（北京时间）",
                                   "Give the time zone (Beijing time)", field=f) from None
    lot_id = out.get("lot_id")
    if lot_id is not None:
        lot = ctx.session.get(Lot, lot_id) if isinstance(lot_id, int) else None
        if lot is None or lot.project_id != project.id:
            raise InvalidInput("notice.lot", "标段（包）不属于该项目", "The lot does not belong to this project",
                               field="lot_id")
    return out


def _previous(ctx: ServiceContext, project: Project, previous_id) -> Notice | None:
    if previous_id is None:
        return None
    prev = ctx.session.get(Notice, previous_id) if isinstance(previous_id, int) else None
    if prev is None or prev.project_id != project.id:
        # another project's notice is reported like a missing one
        raise InvalidInput("chain.other_project", "关联公告不存在或不属于同一项目",
                           "The linked notice does not exist or belongs to another project", field="previous_id")
    return prev


def _facts(n: Notice) -> NoticeFacts:
    return NoticeFacts(n.id, n.project_id, n.kind, n.status)


def _project_notices(ctx: ServiceContext, project_id: int) -> list[NoticeFacts]:
    rows = ctx.session.execute(select(Notice).where(Notice.project_id == project_id)).scalars()
    return [_facts(n) for n in rows]


def _refuse_chain(ctx: ServiceContext, project: Project, kind: str, previous: Notice | None) -> None:
    problems = rules.chain_problems(kind, project.id, _facts(previous) if previous else None,
                                    _project_notices(ctx, project.id))
    if problems:
        _raise(problems, status_cls=Conflict if problems[0].code.startswith("chain.") else RuleViolation)


def _raise(problems: list[Violation], status_cls=RuleViolation):
    first = problems[0]
    zh = "；".join(p.zh for p in problems)
    en = "; ".join(p.en for p in problems)
    raise status_cls(first.code, zh, en, field=first.field, details={"violations": [p.as_dict() for p in problems]})


def _snapshot(n: Notice) -> dict:
    snap = {f: getattr(n, f) for f in EDITABLE}
    snap["body"] = hashlib.sha256(n.body.encode("utf-8")).hexdigest()  # the audit keeps the digest, not the text
    return snap


# --- use cases ---------------------------------------------------------------------------------

def create_notice(ctx: ServiceContext, project_id: int, *, kind: str, title: str, body: str,
                  lot_id: int | None = None, previous_id: int | None = None, docs_from=None, docs_until=None,
                  objection_until=None, deadline_at=None, opening_at=None, opening_place: str = "",
                  closing_at=None, publicity_until=None) -> Notice:
    """A draft notice. A change notice takes the key dates of the notice it changes unless given."""
    project = get_project_for_notice(ctx, project_id, kind)
    values = _clean(ctx, project, dict(
        kind=kind, title=title, body=body, lot_id=lot_id, opening_place=opening_place, docs_from=docs_from,
        docs_until=docs_until, objection_until=objection_until, deadline_at=deadline_at, opening_at=opening_at,
        closing_at=closing_at, publicity_until=publicity_until))
    previous = _previous(ctx, project, previous_id)
    _refuse_chain(ctx, project, values["kind"], previous)
    if previous is not None and values["kind"] == NoticeKind.CHANGE:
        for f in KEY_DATES:
            if values.get(f) is None:
                values[f] = getattr(previous, f)
        values["opening_place"] = values["opening_place"] or previous.opening_place
        values["lot_id"] = values["lot_id"] or previous.lot_id
    notice = Notice(project_id=project.id, previous_id=previous.id if previous else None, status="draft",
                    created_by=ctx.actor.user_id, created_at=ctx.now(),
                    trade_type=rules.trade_type_for(project.category, project.owner_type).value,
                    region_id=project.region_id, project_code=project.trade_code or f"P{project.id}", **values)
    ctx.session.add(notice)
    ctx.session.flush()
    record(ctx, "notice.created", "notice", notice.id, project_id=project.id,
           payload={"kind": notice.kind, "title": notice.title, "previous_id": notice.previous_id,
                    "body_sha256": hashlib.sha256(notice.body.encode("utf-8")).hexdigest()})
    return notice


def update_notice(ctx: ServiceContext, notice_id: int, **changes) -> Notice:
    """Change a draft. Fields not given keep their value; None clears a key date."""
    notice = get_visible_notice(ctx, notice_id)
    ctx.require(*WRITERS)
    if notice.status != "draft":
        raise Conflict("notice.published_immutable", "已发布的公告不能修改；如需变更，请发布变更公告",
                       "A published notice cannot be edited; publish a change notice instead")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("notice.unknown_field", f"不能修改的字段：{sorted(unknown)}",
                           f"Fields that cannot be changed: {sorted(unknown)}")
    project = get_project_for_notice(ctx, notice.project_id, changes.get("kind", notice.kind))
    old = _snapshot(notice)
    values = _clean(ctx, project, {f: changes.get(f, getattr(notice, f)) for f in EDITABLE})
    previous = _previous(ctx, project, values.pop("previous_id"))
    _refuse_chain(ctx, project, values["kind"], previous)
    for f, v in values.items():
        setattr(notice, f, v)
    notice.previous_id = previous.id if previous else None
    notice.updated_at = ctx.now()
    ctx.session.flush()
    changed = diff(old, _snapshot(notice))
    record(ctx, "notice.updated", "notice", notice.id, project_id=notice.project_id, payload={"changes": changed})
    return notice


def notice_dates(notice: Notice, published_at: datetime) -> dict[str, datetime | None]:
    dates = {f: getattr(notice, f) for f in KEY_DATES}
    dates["published_at"] = published_at
    return dates


def check_notice(ctx: ServiceContext, notice_id: int) -> list[Violation]:
    """Everything that would refuse publishing now: the chain, the key dates, the statutory periods
    (a missing calendar year shows as a violation here; publishing raises it)."""
    notice = get_visible_notice(ctx, notice_id)
    return _violations(ctx, notice, ctx.now()) if notice.status == "draft" else []


def _violations(ctx: ServiceContext, notice: Notice, now: datetime) -> list[Violation]:
    project = ctx.session.get(Project, notice.project_id)
    family = rules.procedure_family(project.procedure)
    previous = ctx.session.get(Notice, notice.previous_id) if notice.previous_id else None
    others = [f for f in _project_notices(ctx, project.id) if f.id != notice.id]
    out = rules.chain_problems(notice.kind, project.id, _facts(previous) if previous else None, others)
    dates = notice_dates(notice, now)
    out += rules.date_problems(family, notice.kind, dates, now)
    settings = {r.setting: get_setting(ctx, r.setting) for r in rules.rules_for(family, notice.kind)}
    out += rules.check_periods(family, notice.kind, dates, get_calendar(ctx), settings)
    return out


def publish_notice(ctx: ServiceContext, notice_id: int) -> Notice:
    """Publish a draft, or refuse naming the rule (and the earliest compliant date) and change nothing."""
    get_visible_notice(ctx, notice_id)
    ctx.require(*PUBLISHERS)
    # lock the row: two clicks on "publish" must not publish (and audit) twice
    notice = ctx.session.execute(select(Notice).where(Notice.id == notice_id).with_for_update()
                                 .execution_options(populate_existing=True)).scalar_one()
    if notice.status != "draft":
        raise Conflict("notice.already_published", "该公告已发布", "The notice is already published")
    get_project_for_notice(ctx, notice.project_id, notice.kind)  # still accepted?
    now = ctx.now()
    problems = _violations(ctx, notice, now)
    missing = next((p for p in problems if p.code == "calendar.year_missing"), None)
    if missing is not None:
        # fail closed: the request boundary alerts the administrators
        raise CalendarYearMissing(missing.year)
    if problems:
        _raise(problems)
    notice.status, notice.published_at = "published", now
    notice.body_sha256 = hashlib.sha256(notice.body.encode("utf-8")).hexdigest()
    _supersede(ctx, notice)
    ctx.session.flush()
    _index_title(ctx, notice)
    on_notice_published(ctx, notice)  # lots start trading (and get their opening key) with the notice
    record(ctx, "notice.published", "notice", notice.id, project_id=notice.project_id,
           payload={"kind": notice.kind, "title": notice.title, "body_sha256": notice.body_sha256,
                    "previous_id": notice.previous_id})
    return notice


def _index_title(ctx: ServiceContext, notice: Notice) -> None:
    """The portal's keyword search terms of the title (a published title never changes), in one
    INSERT with the publishing."""
    terms = sorted(rules.title_terms(notice.title))
    if terms:
        ctx.session.execute(insert(NoticeTerm), [{"term": t, "notice_id": notice.id} for t in terms])


def _supersede(ctx: ServiceContext, notice: Notice) -> None:
    """A change replaces the notice it changes; a termination ends every current notice of the project."""
    if notice.kind == NoticeKind.CHANGE and notice.previous_id:
        prev = ctx.session.get(Notice, notice.previous_id)
        if prev.superseded_by_id is None:
            prev.superseded_by_id = notice.id
    elif notice.kind == NoticeKind.TERMINATION:
        current = ctx.session.execute(select(Notice).where(
            Notice.project_id == notice.project_id, Notice.status == "published", Notice.id != notice.id,
            Notice.superseded_by_id.is_(None))).scalars()
        for n in current:
            n.superseded_by_id = notice.id
