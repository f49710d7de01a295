"""Moving a lot through its procedure's stage machine (flow.py): `advance` is the one service that
changes LotTrade.status after the opening; every other service that ends a stage (evaluation report,
publicity, award, contract, negotiation rounds) calls it in its own transaction. The failure paths
live here too: cancellation with a reason, switch of method with the approval's reference, and the
re-announcement of a failed lot (a new attempt: see `start_next_cycle`).

The machines are registered by the kinds' rules modules, which trading.procedures.registry imports
(the factory and trading.models import it), so this module never imports a kind.

Imports: core, audit, reference, accounts, projects, this package."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from trading.audit.services import record
from trading.core.context import ServiceContext
from trading.core.errors import DomainError, Forbidden
from trading.projects.models import Lot, Project
from trading.reference.services import get_calendar
from trading.reference.settings import get_setting

from .flow import Transition, machine_for
from .lots import LotStatus, effective_status, get_trade
from .models import LotTrade
from .phases import PROJECT

__all__ = ["advance", "can_advance", "available_actions", "cancel_lot", "start_evaluation_if_listed", "switch_method"]


class _Facts(Mapping[str, Any]):
    """The facts a guard sees: the caller's over the standard ones (phases.FACTS). The calendar,
    the registrations and the opening record are read only when a guard asks for them."""

    def __init__(self, ctx: ServiceContext, trade: LotTrade, role: str, reason: str, given: Mapping | None):
        self._ctx, self._trade = ctx, trade
        self._plain: dict[str, Any] = {
            "role": role, "reason": reason, "settings": _Settings(ctx), "deadline_at": trade.deadline_at,
            "status_changed_at": trade.status_changed_at, "min_valid_offers": trade.min_valid_offers,
            "cycle": trade.cycle}
        self._given = dict(given or {})
        self._lazy = {"calendar": lambda: get_calendar(ctx), "applicants": self._applicants,
                      "valid_offers": self._valid_offers}

    def _applicants(self) -> int:
        from .participation.models import Participation

        return self._ctx.session.execute(select(func.count()).select_from(Participation).where(
            Participation.lot_id == self._trade.lot_id, Participation.status == "registered")).scalar_one()

    def _valid_offers(self) -> int | None:
        from .opening.models import OpeningRecord

        return self._ctx.session.execute(select(OpeningRecord.valid_offers).where(
            OpeningRecord.lot_id == self._trade.lot_id)).scalar_one_or_none()

    def __getitem__(self, key: str) -> Any:
        if key in self._given:
            return self._given[key]
        if key in self._plain:
            return self._plain[key]
        if key in self._lazy:
            value = self._plain[key] = self._lazy[key]()
            return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter({*self._given, *self._plain, *self._lazy})

    def __len__(self) -> int:
        return len({*self._given, *self._plain, *self._lazy})


class _Settings(Mapping[str, int]):
    def __init__(self, ctx: ServiceContext):
        self._ctx = ctx

    def __getitem__(self, code: str) -> int:
        try:
            return get_setting(self._ctx, code)
        except DomainError:
            raise KeyError(code) from None

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _role_for(ctx: ServiceContext, t: Transition | None) -> str:
    """The role the actor takes this step in: its acting role when the step allows it, else any of
    its roles the step allows, else its acting role (which the machine then refuses)."""
    actor = ctx.actor
    acting = actor.acting_role or next(iter(sorted(actor.roles)), "anonymous")
    if t is None or acting in t.roles:
        return acting
    return next((r for r in sorted(actor.roles) if r in t.roles), acting)


def _check_party(ctx: ServiceContext, trade: LotTrade, role: str) -> None:
    """An owner or agency acts only on its own project's lots (the same 404-free refusal for others)."""
    if role not in PROJECT:
        return
    project = ctx.session.get(Project, trade.project_id)
    org = ctx.actor.org_id
    if org is None or org not in (project.owner_org_id, project.agency_org_id):
        raise Forbidden("flow.not_party", "只有本项目的业主或代理机构可以执行此操作",
                        "Only the project's owner or agency may take this step")


#: checks a later layer adds, run before every step (supervision.complaints: while a suspension (暂停)
#: ordered over a complaint is in force, the lot takes no step); each raises a DomainError to refuse
ADVANCE_GUARDS: list[Callable[[ServiceContext, LotTrade, str], None]] = []


def _checked(ctx: ServiceContext, trade: LotTrade, action: str, facts: Mapping | None, reason: str,
             now: datetime) -> Transition:
    """The transition from the lot's stored state, or else from its effective one (an accepting lot
    past its deadline is closed: lots.effective_status), checked for the actor's role, the guard and
    the project party."""
    for guard in ADVANCE_GUARDS:
        guard(ctx, trade, action)
    machine = machine_for(trade.procedure)
    state = trade.status if machine.find(trade.status, action) else effective_status(trade, now)
    t = machine.find(state, action)
    role = _role_for(ctx, t)
    t = machine.check(state, action, role, _Facts(ctx, trade, role, reason, facts), now)
    _check_party(ctx, trade, role)
    return t


def advance(ctx: ServiceContext, lot_code: str, action: str, *, facts: Mapping | None = None, reason: str = "",
            detail: Mapping | None = None) -> LotTrade:
    """Lock the lot, check (state, action, role, guard) against its procedure's machine, move it and
    audit `lot.<action>` with old → new, the reason and the detail, in the caller's transaction. A
    refused step raises before anything is written."""
    trade = get_trade(ctx, lot_code, lock=True)
    now = ctx.now()
    reason = (reason or "").strip()
    t = _checked(ctx, trade, action, facts, reason, now)
    payload = {"lot_code": trade.lot_code, "old": t.source, "new": t.target, "reason": reason,
               "detail": dict(detail or {})}
    if trade.status != t.source:  # the deadline closed it without a stored step
        payload["stored"] = trade.status
    trade.status, trade.status_changed_at = t.target, now
    record(ctx, f"lot.{action}", "lot", trade.lot_id, project_id=trade.project_id, payload=payload)
    ctx.session.flush()
    return trade


def can_advance(ctx: ServiceContext, trade: LotTrade, action: str, facts: Mapping | None = None) -> bool:
    """Whether `advance` would accept the step now (for buttons); reads, never writes."""
    try:
        _checked(ctx, trade, action, facts, "-", ctx.now())
    except DomainError:
        return False
    return True


def available_actions(ctx: ServiceContext, trade: LotTrade, facts: Mapping | None = None) -> list[str]:
    """The steps the table lists from the lot's state for the actor's roles, guards not evaluated
    (a button whose guard refuses shows the reason when pressed)."""
    machine = machine_for(trade.procedure)
    state = effective_status(trade, ctx.now())
    return [a for a in dict.fromkeys(machine.actions_from(state))
            if any(r in machine.find(state, a).roles for r in ctx.actor.roles)]


def start_evaluation_if_listed(ctx: ServiceContext, lot_code: str, *, panel_size: int, panel_experts: int,
                               detail: Mapping | None = None) -> LotTrade | None:
    """The panel starts its work (evaluation.start_panel): 比选 and 询价 move opened → evaluating with
    the panel's composition as facts; a procedure whose machine does not list the step from the lot's
    state (谈判 enters evaluating with its final offers) is left as it is. Returns the lot if moved."""
    trade = get_trade(ctx, lot_code, lock=True)
    state = effective_status(trade, ctx.now())
    if machine_for(trade.procedure).find(state, "start_evaluation") is None:
        return None
    return advance(ctx, lot_code, "start_evaluation", facts={"panel_size": panel_size, "panel_experts": panel_experts},
                   detail=detail)


# --- failure paths ------------------------------------------------------------------------------------

def _refund_on_end(ctx: ServiceContext, trade: LotTrade) -> None:
    """The deposits' termination refund period starts (a year nobody loaded fails closed)."""
    from .deposits.refunds import on_lot_terminated

    on_lot_terminated(ctx, trade)


def cancel_lot(ctx: ServiceContext, lot_code: str, reason: str) -> LotTrade:
    """Cancel (终止) a lot after its opening, with a reason; deposits start their refund period."""
    trade = advance(ctx, lot_code, "cancel", reason=reason)
    _refund_on_end(ctx, trade)
    return trade


def switch_method(ctx: ServiceContext, lot_code: str, *, approval_ref: str, new_procedure: str = "",
                  reason: str = "") -> LotTrade:
    """After 流标, the approved switch to another method (a new project under that method follows);
    the approval's reference number (批准文号) is recorded in the audit entry."""
    approval_ref = (approval_ref or "").strip()[:100]
    trade = advance(ctx, lot_code, "switch_method", facts={"approval_ref": approval_ref}, reason=reason,
                    detail={"approval_ref": approval_ref, "new_procedure": (new_procedure or "")[:30]})
    _refund_on_end(ctx, trade)
    return trade


def next_cycle_code(first_code: str, cycle: int) -> str:
    return f"{first_code}-A{cycle}"


def start_next_cycle(ctx: ServiceContext, failed: LotTrade) -> Lot:
    """Re-announcement of a failed lot (called by lots.on_notice_published when an announcement names
    a lot that failed): the failed attempt becomes "reannounced" (audited, through the machine) and a
    new Lot row of the same project carries the next attempt, so the new LotTrade gets its own
    deadline, opening key, registrations and envelopes while the old ones stay as they were, never
    reopened; the old attempt's deposits start their refund period (termination). Returns the new Lot; the caller opens its LotTrade (cycle + 1, previous_lot_id)."""
    advance(ctx, failed.lot_code, "reannounce", detail={"cycle": failed.cycle + 1})
    _refund_on_end(ctx, failed)  # the failed attempt's deposits are due back like a termination's
    old = ctx.session.get(Lot, failed.lot_id)
    first = failed
    while first.previous_lot_id is not None:
        first = ctx.session.get(LotTrade, first.previous_lot_id)
    seq = ctx.session.execute(select(func.max(Lot.seq)).where(Lot.project_id == old.project_id)).scalar_one()
    lot = Lot(project_id=old.project_id, seq=seq + 1, code=next_cycle_code(first.lot_code, failed.cycle + 1),
              name=old.name, budget_fen=old.budget_fen)
    ctx.session.add(lot)
    ctx.session.flush()
    return lot


def is_failed(trade: LotTrade | None) -> bool:
    return trade is not None and trade.status == LotStatus.FAILED
