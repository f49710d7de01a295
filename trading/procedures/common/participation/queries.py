"""Read-only participation queries, each enforcing the secrecy of Art. 22:

- a bidder reads its own organisation's registrations, submissions and receipts (my_lots, lot_view);
- lists and counts of a lot's participants, submissions or document downloads exist only after the
  deadline, for the roles of CAN "participation.read_after_deadline" (owner and agency of the
  project, the centre, supervisors). Before the deadline every caller gets the same 403
  "participation.sealed_until_deadline", whatever the lot holds.

Imports: core, accounts, projects, procedures.common. Never Flask."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from trading.accounts.models import Organisation, User
from trading.accounts.rules import roles_for
from trading.core.context import ServiceContext
from trading.core.errors import Forbidden, not_found
from trading.projects.models import Lot, Project
from trading.projects.services import can_see

from ..lots import before_deadline, effective_status, get_trade
from ..models import LotTrade
from .models import DocumentDownload, Participation, Submission, TenderDocument
from .rules import PARTS, ParticipationStatus, Stage, SubmissionStatus, lot_stage

S = SubmissionStatus


def sealed_until_deadline() -> Forbidden:
    return Forbidden("participation.sealed_until_deadline",
                     "投标截止前，任何人不得查看投标人名单、数量或下载记录（招标投标法第二十二条）",
                     "Until the deadline nobody may see who or how many registered, submitted or downloaded "
                     "(Tendering Law Art. 22)")


def ensure_after_deadline(ctx: ServiceContext, trade: LotTrade) -> None:
    """The one guard of every participant list: sealed before the deadline for every role; then
    the CAN roles, and the owner side only for its own projects."""
    if trade.deadline_at is None or before_deadline(trade, ctx.now()):
        raise sealed_until_deadline()
    ctx.require(*roles_for("participation.read_after_deadline"))
    project = ctx.session.get(Project, trade.project_id)
    if not can_see(ctx, project):
        raise Forbidden("participation.not_your_project", "只能查看本单位项目的投标人情况",
                        "Only your own organisation's projects")


@dataclass(frozen=True)
class ParticipantRow:
    org_id: int
    name: str
    credit_code: str
    registered_at: datetime
    status: str
    #: part → the accepted submission's digest, length and time
    parts: dict[str, dict] = field(default_factory=dict)
    checked_in_at: datetime | None = None


def participants_after_deadline(ctx: ServiceContext, lot_code: str) -> list[ParticipantRow]:
    trade = get_trade(ctx, lot_code)
    ensure_after_deadline(ctx, trade)
    rows = ctx.session.execute(
        select(Participation, Organisation).join(Organisation, Organisation.id == Participation.bidder_org_id)
        .where(Participation.lot_id == trade.lot_id).order_by(Participation.registered_at, Participation.id)).all()
    subs = ctx.session.execute(select(Submission).where(Submission.lot_id == trade.lot_id,
                                                        Submission.status == S.ACCEPTED)).scalars()
    by_org: dict[int, dict[str, dict]] = {}
    for s in subs:
        by_org.setdefault(s.bidder_org_id, {})[s.part] = {
            "submission_id": s.submission_id, "payload_sha256": s.payload_sha256, "payload_len": s.payload_len,
            "accepted_at": s.accepted_at}
    return [ParticipantRow(org_id=o.id, name=o.name, credit_code=o.credit_code, registered_at=p.registered_at,
                           status=p.status, parts=by_org.get(o.id, {}), checked_in_at=p.checked_in_at)
            for p, o in rows]


def downloads_after_deadline(ctx: ServiceContext, lot_code: str) -> list[dict]:
    trade = get_trade(ctx, lot_code)
    ensure_after_deadline(ctx, trade)
    rows = ctx.session.execute(
        select(DocumentDownload, TenderDocument, Organisation, User)
        .join(TenderDocument, TenderDocument.id == DocumentDownload.document_id)
        .join(User, User.id == DocumentDownload.user_id)
        .outerjoin(Organisation, Organisation.id == DocumentDownload.org_id)
        .where(DocumentDownload.lot_id == trade.lot_id).order_by(DocumentDownload.at, DocumentDownload.id)).all()
    return [{"document": d.title, "sha256": d.sha256, "org": o.name if o else "", "user": u.display_name,
             "at": dl.at, "ip": dl.ip} for dl, d, o, u in rows]


# --- the bidder's own view -------------------------------------------------------------------------

@dataclass(frozen=True)
class MyLot:
    lot_code: str
    lot_name: str
    project_name: str
    project_code: str
    deadline_at: datetime | None
    opening_at: datetime | None
    stage: Stage
    registered_at: datetime


def _require_bidder(ctx: ServiceContext) -> int:
    ctx.require(*roles_for("offer.participate"))
    return ctx.actor.org_id


def _accepted_parts(ctx: ServiceContext, lot_id: int, org_id: int) -> frozenset[str]:
    return frozenset(ctx.session.execute(select(Submission.part).where(
        Submission.lot_id == lot_id, Submission.bidder_org_id == org_id, Submission.status == S.ACCEPTED)).scalars())


def my_lots(ctx: ServiceContext) -> list[MyLot]:
    """"我参与的项目": one row per lot the caller's organisation registered for, soonest deadline first."""
    org_id = _require_bidder(ctx)
    now = ctx.now()
    rows = ctx.session.execute(
        select(Participation, LotTrade, Lot, Project).join(LotTrade, LotTrade.lot_id == Participation.lot_id)
        .join(Lot, Lot.id == LotTrade.lot_id).join(Project, Project.id == LotTrade.project_id)
        .where(Participation.bidder_org_id == org_id, Participation.status == ParticipationStatus.REGISTERED)).all()
    out = []
    for p, trade, lot, project in rows:
        stage = lot_stage(lot_status=effective_status(trade, now), deadline_at=trade.deadline_at,
                          opening_at=trade.opening_at, accepted_parts=_accepted_parts(ctx, trade.lot_id, org_id),
                          now=now)
        out.append(MyLot(trade.lot_code, lot.name, project.name, project.trade_code or "", trade.deadline_at,
                         trade.opening_at, stage, p.registered_at))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    out.sort(key=lambda r: (r.stage.next_deadline is None, r.stage.next_deadline[1] if r.stage.next_deadline else far))
    return out


@dataclass
class LotView:
    trade: LotTrade
    lot: Lot
    project: Project
    participation: Participation | None
    documents: list[TenderDocument]
    #: part → submissions of the caller's organisation, newest first
    submissions: dict[str, list[Submission]]
    accepting: bool
    stage: Stage | None


def lot_view(ctx: ServiceContext, lot_code: str) -> LotView:
    """The bidder's lot page: public facts of the lot plus the caller organisation's own state only."""
    org_id = _require_bidder(ctx)
    trade = get_trade(ctx, lot_code)
    if not trade.sealed:
        raise not_found("标段", "Lot")
    now = ctx.now()
    part = ctx.session.execute(select(Participation).where(
        Participation.lot_id == trade.lot_id, Participation.bidder_org_id == org_id)).scalar_one_or_none()
    subs: dict[str, list[Submission]] = {p: [] for p in PARTS}
    if part is not None:
        for s in ctx.session.execute(select(Submission).where(
                Submission.lot_id == trade.lot_id, Submission.bidder_org_id == org_id)
                .order_by(Submission.started_at.desc(), Submission.id.desc())).scalars():
            subs[s.part].append(s)
    stage = None
    if part is not None and part.status == ParticipationStatus.REGISTERED:
        stage = lot_stage(lot_status=effective_status(trade, now), deadline_at=trade.deadline_at,
                          opening_at=trade.opening_at,
                          accepted_parts=frozenset(p for p, ss in subs.items() if any(s.status == S.ACCEPTED for s in ss)),
                          now=now)
    return LotView(trade=trade, lot=ctx.session.get(Lot, trade.lot_id), project=ctx.session.get(Project, trade.project_id),
                   participation=part, documents=documents_of(ctx, trade), submissions=subs,
                   accepting=before_deadline(trade, now), stage=stage)


def documents_of(ctx: ServiceContext, trade: LotTrade) -> list[TenderDocument]:
    """A lot's tender documents (not secret: what the owner side published)."""
    return list(ctx.session.execute(select(TenderDocument).where(TenderDocument.lot_id == trade.lot_id)
                                    .order_by(TenderDocument.uploaded_at, TenderDocument.id)).scalars())
