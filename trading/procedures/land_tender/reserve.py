"""The sealed reserve price (底价) of a 招标出让 lot (rules.md G common rules, G1; design/sealing.md).

- The owner's choice, recorded before the bid deadline, write-once: `declare_none` (the lot has no
  reserve; the pages say so) or `start_reserve` + `put_reserve` (a sealed envelope). Nothing recorded by
  the deadline, or sealing never finished: no reserve.
- Key: the lot's own OpeningKey from the publication ceremony — the key its offers are sealed to — so
  the reserve opens with them: `open_with_lot` is an opening hook (common.opening.services.on_opening)
  run inside open_lot with the key rebuilt from the custodians' shares. No second share collection.
- Envelope: procedures.common.reserve (ptbid/v1, part "reserve", context lot code / the sealing
  organisation's credit code / "reserve" / a server-issued submission id; every check before anything is
  stored). No amount is stored, logged or published before the opening.
- After the opening the amount is shown to the project's owner or agency, the centre and supervisors
  (`reserve_status`); everyone else learns only whether a reserve exists and whether it was opened. With
  the highest-price method an offer below it cannot win (rules.below_reserve, used by the evaluation) and
  the lot fails at the opening when no valid offer reaches it (rules.reserve_failure).

Imports: core, audit, sealing, projects, procedures.common (lots, opening, reserve), this package."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.accounts.models import Organisation
from trading.audit.services import record
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, not_found
from trading.core.money import to_capitals
from trading.projects.models import Project
from trading.sealing import envelope as env

from ..common import reserve as sealed
from ..common.lots import before_deadline
from ..common.models import LotTrade
from ..common.opening.ceremony import get_opening_key
from ..common.opening.services import OpeningExtra, on_opening, on_record_view
from . import rules
from .models import TenderReserve
from .services import tender_lot

#: who sees the opened amount (besides the project's owner and agency)
STAFF = ("operator", "supervisor")

#: (session, lot_id) → the lot's evaluation method or None; set by evaluation.criteria (a layer above)
_method_source: Callable[[Session, int], str | None] | None = None


def set_method_source(fn: Callable[[Session, int], str | None] | None) -> None:
    global _method_source
    _method_source = fn


def method_of(session: Session, lot_id: int) -> str | None:
    return _method_source(session, lot_id) if _method_source is not None else None


def _row(ctx: ServiceContext, lot_id: int, *, lock: bool = False) -> TenderReserve | None:
    stmt = select(TenderReserve).where(TenderReserve.lot_id == lot_id)
    if lock:
        stmt = stmt.with_for_update()
    return ctx.session.execute(stmt).scalar_one_or_none()


def _is_party(ctx: ServiceContext, project: Project) -> bool:
    org = ctx.actor.org_id
    return ctx.actor.has("owner", "agency") and org is not None and org in (project.owner_org_id,
                                                                             project.agency_org_id)


def _party(ctx: ServiceContext, project: Project) -> Organisation:
    ctx.require("owner", "agency")
    if not _is_party(ctx, project):
        raise Forbidden("land_tender.not_party", "只有本项目的出让人或代理机构可以设定底价",
                        "Only the project's grantor or agency may set the reserve price")
    return ctx.session.get(Organisation, ctx.actor.org_id)


def _open_for_choice(trade: LotTrade, row: TenderReserve | None, now: datetime) -> None:
    if not before_deadline(trade, now):
        raise Conflict("land_tender.reserve_late", "投标截止后不能再设定底价",
                       "The reserve price cannot be set after the bid deadline")
    if row is not None and row.status != "uploading":
        raise Conflict("land_tender.reserve_decided", "底价设定已确定（已密封或已声明不设底价），不能修改",
                       "The reserve choice is recorded (sealed, or none) and cannot change")


def declare_none(ctx: ServiceContext, lot_code: str) -> TenderReserve:
    """The owner (or agency) records that the lot has no reserve price, before the deadline, once."""
    trade, project = tender_lot(ctx, lot_code, lock=True)
    _party(ctx, project)
    now = ctx.now()
    row = _row(ctx, trade.lot_id, lock=True)
    _open_for_choice(trade, row, now)
    if row is None:
        row = TenderReserve(lot_id=trade.lot_id, project_id=trade.project_id)
        ctx.session.add(row)
    row.status, row.submission_id, row.decided_by, row.decided_at = "none", None, ctx.actor.user_id, now
    ctx.session.flush()
    record(ctx, "land_tender.reserve_none", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code})
    return row


def start_reserve(ctx: ServiceContext, lot_code: str) -> dict:
    """The owner (or agency) starts sealing: the envelope context with a fresh submission id and the
    lot's opening key. Refused after the deadline or once the choice is recorded. Audited (no amount
    exists yet)."""
    trade, project = tender_lot(ctx, lot_code, lock=True)
    org = _party(ctx, project)
    now = ctx.now()
    row = _row(ctx, trade.lot_id, lock=True)
    _open_for_choice(trade, row, now)
    key = get_opening_key(ctx, trade.lot_id)
    if row is None:
        row = TenderReserve(lot_id=trade.lot_id, project_id=trade.project_id, status="uploading")
        ctx.session.add(row)
    row.submission_id, row.sealer_code = sealed.new_submission_id(), org.credit_code
    row.decided_by, row.decided_at = ctx.actor.user_id, now
    ctx.session.flush()
    record(ctx, "land_tender.reserve_started", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "submission_id": row.submission_id, "kid": bytes(key.kid).hex()})
    return {**sealed.sealing_info(lot_code, row.sealer_code, row.submission_id, key), "deadline_at": trade.deadline_at}


def put_reserve(ctx: ServiceContext, lot_code: str, *, submission_id: str, manifest_raw, payload: bytes,
                signer_public: bytes) -> TenderReserve:
    """The sealed reserve envelope, once, before the deadline. Every check before anything is stored
    (common.reserve.check_envelope): context (this lot, the owner's organisation, part "reserve", the
    issued submission id), the lot's opening kid, the presented signer, layout, digest, signature.
    Audited with digests and kids, never the amount."""
    trade, project = tender_lot(ctx, lot_code, lock=True)
    org = _party(ctx, project)
    now = ctx.now()
    row = _row(ctx, trade.lot_id, lock=True)
    if row is None or row.submission_id is None or row.submission_id != submission_id:
        raise not_found("底价密封编号", "Reserve submission")
    _open_for_choice(trade, row, now)
    key = get_opening_key(ctx, trade.lot_id)
    checked = sealed.check_envelope(manifest_raw, payload, signer_public, code="land_tender.reserve_envelope",
                                    expected=env.Context(lot_code, org.credit_code, sealed.PART, row.submission_id),
                                    opening_kid=bytes(key.kid))
    row.manifest, row.payload, row.payload_sha256 = checked.manifest, checked.payload, checked.payload_sha256
    row.signer_public, row.sealer_code = checked.signer_public, org.credit_code
    row.status, row.sealed_by, row.sealed_at = "sealed", ctx.actor.user_id, now
    ctx.session.flush()
    record(ctx, "land_tender.reserve_sealed", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": lot_code, "submission_id": row.submission_id, "payload_sha256": checked.payload_sha256,
                    "payload_len": len(checked.payload), "signer_kid": checked.signer_kid,
                    "opening_kid": bytes(key.kid).hex()})
    return row


def may_see_amount(ctx: ServiceContext, project: Project) -> bool:
    """After the opening: the project's owner or agency, the centre's staff and supervisors."""
    return ctx.actor.has(*STAFF) or _is_party(ctx, project)


def reserve_status(ctx: ServiceContext, lot_code: str) -> dict:
    """Public: whether the lot has a reserve (rules.reserve_state: sealed | opened | failed | none |
    undecided), when it was sealed and its digest; the amount only after the opening and only to
    those `may_see_amount`. Before the opening nobody gets an amount: none is stored."""
    trade, project = tender_lot(ctx, lot_code)
    row = _row(ctx, trade.lot_id)
    now = ctx.now()
    state = rules.reserve_state(row.status if row else None, before_deadline=before_deadline(trade, now))
    has_env = state in ("sealed", "opened", "failed")
    manage = _is_party(ctx, project)
    return {"lot_code": lot_code, "state": state, "deadline_at": trade.deadline_at,
            "sealed_at": row.sealed_at if has_env else None,
            "payload_sha256": row.payload_sha256 if has_env else None,
            "opened_at": row.opened_at if has_env else None,
            "reserve_fen": row.reserve_fen if state == "opened" and may_see_amount(ctx, project) else None,
            "failure_kind": row.failure_kind if state == "failed" else None,
            "binding": rules.reserve_binds(method_of(ctx.session, trade.lot_id)),
            "can_manage": manage and state == "undecided"}


def opened_reserve(session: Session, lot_id: int) -> int | None:
    """The opened amount for the evaluation (None: no reserve, not opened, or it failed)."""
    row = session.get(TenderReserve, lot_id)
    return row.reserve_fen if row is not None and row.status == "opened" else None


def open_with_lot(ctx: ServiceContext, trade: LotTrade, key, private, now: datetime,
                  offers: list[tuple[int, int | None]]) -> OpeningExtra | None:
    """Opening hook (open_lot, with the key rebuilt from the custodians' shares): open the sealed reserve,
    audit it (amount included: the opening is its end of secrecy), and say in the public record whether
    the lot had one (never the amount) and whether the lot fails for it (rules.reserve_failure)."""
    if not rules.is_land_tender(trade.procedure):
        return None
    row = _row(ctx, trade.lot_id, lock=True)
    if row is None or row.status not in ("sealed",):
        return OpeningExtra("reserve", {"set": False})
    fen, kind = sealed.open_envelope(row.manifest, row.payload, row.signer_public, private, opening_kid=bytes(key.kid),
                                     expected=env.Context(trade.lot_code, row.sealer_code, sealed.PART,
                                                          row.submission_id))
    row.status, row.opened_at, row.reserve_fen, row.failure_kind = ("failed" if kind else "opened"), now, fen, kind
    method = method_of(ctx.session, trade.lot_id)
    failure = rules.reserve_failure(method, row.status, fen, [p for _org, p in offers])
    record(ctx, "land_tender.reserve_opened", "lot", trade.lot_id, project_id=trade.project_id,
           payload={"lot_code": trade.lot_code, "payload_sha256": row.payload_sha256, "outcome": row.status,
                    "failure_kind": kind, "reserve_fen": fen, "method": method, "lot_fails": failure})
    ctx.session.flush()
    public = {"set": True, "outcome": row.status, "payload_sha256": row.payload_sha256,
              "sealed_at": rfc3339(row.sealed_at) if row.sealed_at else None, "binding": rules.reserve_binds(method)}
    if failure is None:
        return OpeningExtra("reserve", public)
    zh, en = rules.RESERVE_FAILURES[failure]
    return OpeningExtra("reserve", public, {"code": failure, "zh": zh, "en": en})


def record_view(ctx: ServiceContext, trade: LotTrade) -> dict | None:
    """Opening record page hook: the opened amount, for those who may see it."""
    if not rules.is_land_tender(trade.procedure):
        return None
    fen = opened_reserve(ctx.session, trade.lot_id)
    if fen is None or not may_see_amount(ctx, ctx.session.get(Project, trade.project_id)):
        return None
    return {"reserve_fen": fen, "reserve_capitals": to_capitals(fen)}


on_opening(open_with_lot)
on_record_view(record_view)
