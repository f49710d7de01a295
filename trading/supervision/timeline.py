"""The full record of one project (全过程留痕) for supervisors, assembled from the audit trail: every
entry whose project is this one — the project, its lots, notices, documents, offers, the opening,
evaluation, award, contract, deposits and auctions — in chain order, each with who (user and
organisation), when, from which address, its sequence number and entry hash, and for notice and
document versions their SHA-256 and version number.

What a bidder did before a lot's deadline (registered, paid, downloaded, submitted) is recorded with
that lot as its embargo and stays out until the deadline has passed (supervision.embargo), and
nothing here counts what was left out: the page about a lot with secret offers reads exactly like
the page about a lot without any."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select

from trading.accounts.models import Organisation, User
from trading.audit.models import AuditEntry
from trading.core.context import ServiceContext
from trading.core.errors import not_found
from trading.procedures.common.models import LotTrade, Notice
from trading.procedures.common.participation.models import TenderDocument
from trading.projects.models import Project

from .embargo import visible_now

SUPERVISOR = "supervisor"
#: rows per page of a timeline (an auction's bids can make a long one); pages continue by seq
PAGE_SIZE = 500
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class DocRef:
    """A notice, tender document, criteria or opening record version an entry is about."""
    kind: str                 # notice | document | criteria | opening_record
    id: int | None
    version: int | None
    sha256: str
    lot_code: str = ""


@dataclass
class TimelineRow:
    seq: int
    at: datetime
    action: str
    object_type: str
    object_id: str
    lot_code: str
    actor_username: str
    actor_name: str
    actor_role: str
    org_id: int | None
    org_name: str
    ip: str
    entry_hash: str
    #: every SHA-256 the entry names (payload keys ending in sha256), as (key, hex)
    digests: list[tuple[str, str]] = field(default_factory=list)
    doc: DocRef | None = None
    payload: dict = field(default_factory=dict)


@dataclass
class Timeline:
    project: Project
    rows: list[TimelineRow]
    #: the seq to continue after (the next page), None on the last page
    next_after: int | None


def find_project(ctx: ServiceContext, code: str) -> Project:
    """A project by its trade code (SFX2026-GC-0001), or by its number for one without a code yet."""
    ctx.require(SUPERVISOR)
    code = (code or "").strip()
    project = ctx.session.execute(select(Project).where(Project.trade_code == code)).scalar_one_or_none()
    if project is None and code.isdigit():
        project = ctx.session.get(Project, int(code))
    if project is None:
        raise not_found("项目", "project")
    return project


def search_projects(ctx: ServiceContext, q: str = "", status: str = "", *, before_id: int | None = None,
                    limit: int = 50) -> tuple[list[tuple[Project, str]], int | None]:
    """Every project (supervisors see all), newest first, by code or name fragment and status:
    [(project, owner organisation name)], and the id to continue before."""
    ctx.require(SUPERVISOR)
    stmt = select(Project, Organisation.name).join(Organisation, Organisation.id == Project.owner_org_id)
    q = (q or "").strip()[:60]
    if q:
        stmt = stmt.where(or_(Project.trade_code.contains(q, autoescape=True), Project.name.contains(q, autoescape=True)))
    if status:
        stmt = stmt.where(Project.status == status[:20])
    if before_id is not None:
        stmt = stmt.where(Project.id < before_id)
    rows = [tuple(r) for r in ctx.session.execute(stmt.order_by(Project.id.desc()).limit(limit + 1)).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def project_timeline(ctx: ServiceContext, project: Project, *, after_seq: int | None = None,
                     limit: int = PAGE_SIZE) -> Timeline:
    """The project's audit entries visible now, oldest first (the chain's order)."""
    ctx.require(SUPERVISOR)
    s = ctx.session
    stmt = select(AuditEntry).where(AuditEntry.project_id == project.id, visible_now(ctx.now()))
    if after_seq is not None:
        stmt = stmt.where(AuditEntry.seq > after_seq)
    entries = list(s.execute(stmt.order_by(AuditEntry.seq).limit(limit + 1)).scalars())
    more = len(entries) > limit
    entries = entries[:limit]
    bodies = [json.loads(bytes(e.body).decode("utf-8")) for e in entries]

    users = {u.id: u for u in s.execute(select(User).where(
        User.id.in_({e.actor_user_id for e in entries if e.actor_user_id is not None}))).scalars()}
    orgs = dict(s.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({e.actor_org_id for e in entries if e.actor_org_id is not None}))).all())
    lot_codes = dict(s.execute(select(LotTrade.lot_id, LotTrade.lot_code).where(LotTrade.project_id == project.id)).all())
    notice_versions = _notice_versions(s, project.id)
    document_versions = _document_versions(s, lot_codes)

    rows = []
    for e, body in zip(entries, bodies, strict=True):
        payload = body.get("payload") or {}
        actor = body.get("actor") or {}
        user = users.get(e.actor_user_id)
        lot_code = str(payload.get("lot_code") or "")
        if not lot_code and e.object_type == "lot" and e.object_id.isdigit():
            lot_code = lot_codes.get(int(e.object_id), "")
        digests = sorted((k, v) for k, v in ((k, _new(v)) for k, v in payload.items() if k.endswith("sha256"))
                         if isinstance(v, str) and _HEX64.match(v))
        rows.append(TimelineRow(
            seq=e.seq, at=e.created_at, action=e.action, object_type=e.object_type, object_id=e.object_id,
            lot_code=lot_code, actor_username=str(actor.get("name") or ""),
            actor_name=user.display_name if user is not None else "", actor_role=str(actor.get("role") or ""),
            org_id=e.actor_org_id, org_name=orgs.get(e.actor_org_id, ""), ip=str(body.get("ip") or ""),
            entry_hash=bytes(e.entry_hash).hex(), digests=digests,
            doc=_doc_ref(e, payload, lot_code, notice_versions, document_versions), payload=payload))
    return Timeline(project, rows, entries[-1].seq if more and entries else None)


def _notice_versions(session, project_id: int) -> dict[int, int]:
    """Each notice's version: 1 for a first notice, previous + 1 for one that changes or follows it."""
    links = dict(session.execute(select(Notice.id, Notice.previous_id).where(Notice.project_id == project_id)).all())
    versions: dict[int, int] = {}
    for nid in sorted(links):
        prev = links[nid]
        versions[nid] = versions.get(prev, 0) + 1 if prev in links else 1
    return versions


def _document_versions(session, lot_codes: dict[int, str]) -> dict[int, int]:
    """Each tender document's version: the how-many-th upload of that title for its lot."""
    seen: dict[tuple[int, str], int] = {}
    versions: dict[int, int] = {}
    for doc_id, lot_id, title in session.execute(select(TenderDocument.id, TenderDocument.lot_id, TenderDocument.title)
                                                 .where(TenderDocument.lot_id.in_(list(lot_codes)))
                                                 .order_by(TenderDocument.id)).all():
        key = (lot_id, title)
        seen[key] = seen.get(key, 0) + 1
        versions[doc_id] = seen[key]
    return versions


def _doc_ref(e: AuditEntry, payload: dict, lot_code: str, notices: dict[int, int],
             documents: dict[int, int]) -> DocRef | None:
    oid = int(e.object_id) if e.object_id.isdigit() else None
    if e.object_type == "notice" and oid is not None:
        return DocRef("notice", oid, notices.get(oid), str(payload.get("body_sha256") or ""))
    if e.object_type == "tender_document" and oid is not None:
        return DocRef("document", oid, documents.get(oid), str(payload.get("sha256") or ""), lot_code)
    if e.action in ("criteria.set", "criteria.carried_over"):
        version = _new(payload.get("version"))
        return DocRef("criteria", None, version if isinstance(version, int) else None,
                      str(_new(payload.get("sha256")) or ""), lot_code)
    if e.action == "opening.record_published" and lot_code:
        return DocRef("opening_record", None, None, str(payload.get("sha256") or ""), lot_code)
    return None


def _new(value):
    """An update entry records [old, new]: the new one."""
    return value[-1] if isinstance(value, list) and value else value
