"""Lot stage machines as data, pure (no Flask, no SQLAlchemy): a Machine is a table of Transitions
(state, action → state, who may, an optional guard that sees the facts and the clock). Each procedure
kind's rules module builds its machine and `register`s it at import; `trading.procedures.registry`
imports every kind so the table is complete in every process. `stages.advance` is the one service
that applies a transition to a LotTrade.

A guard returns None when the transition may happen, else a Violation (periods.Violation: a stable
code, zh + en message, the rule and the figures); `Machine.check` raises it as a RuleViolation.

Imports: core.errors, this package's periods (Violation)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trading.core.errors import Conflict, Forbidden, NotFound, RuleViolation

from .periods import Violation

__all__ = ["Guard", "Machine", "Transition", "Violation", "machine_for", "register", "registered"]

Guard = Callable[[Mapping[str, Any], datetime], Violation | None]


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    #: who may do it; "system" for automatic steps (the clock, the opening, another service)
    roles: frozenset[str]
    guard: Guard | None = None


def refused(v: Violation) -> RuleViolation:
    return RuleViolation(v.code, v.zh, v.en, field=v.field, details=v.as_dict())


@dataclass(frozen=True)
class Machine:
    procedure: str
    initial: str
    terminal: frozenset[str]
    transitions: tuple[Transition, ...]

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for t in self.transitions:
            if (t.source, t.action) in seen:
                raise ValueError(f"{self.procedure}: two transitions for ({t.source}, {t.action})")
            if t.source in self.terminal:
                raise ValueError(f"{self.procedure}: a transition leaves the terminal state {t.source}")
            seen.add((t.source, t.action))

    @property
    def states(self) -> frozenset[str]:
        return frozenset({self.initial, *self.terminal, *(t.source for t in self.transitions),
                          *(t.target for t in self.transitions)})

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(t.action for t in self.transitions)

    def find(self, state: str, action: str) -> Transition | None:
        for t in self.transitions:
            if t.source == state and t.action == action:
                return t
        return None

    def check(self, state: str, action: str, role: str, facts: Mapping[str, Any], now: datetime) -> Transition:
        """The transition for (state, action) when `role` may take it and its guard passes; else
        Conflict flow.not_allowed, Forbidden flow.role or the guard's RuleViolation."""
        t = self.find(state, action)
        if t is None:
            raise Conflict("flow.not_allowed", f"标段当前状态（{state}）不能执行此操作（{action}）",
                           f"The action {action} is not allowed while the lot is {state}",
                           details={"procedure": self.procedure, "state": state, "action": action})
        if role not in t.roles:
            raise Forbidden("flow.role", "当前账号的角色不能执行此操作", "Your role may not take this step",
                            details={"action": action, "role": role, "roles": sorted(t.roles)})
        if t.guard is not None:
            v = t.guard(facts, now)
            if v is not None:
                raise refused(v)
        return t

    def actions_from(self, state: str, role: str | None = None) -> list[str]:
        """The actions the table lists from `state` (for `role` when given), in table order. Guards
        are not evaluated here; stages.can_advance does that with the facts."""
        return [t.action for t in self.transitions if t.source == state and (role is None or role in t.roles)]


_MACHINES: dict[str, Machine] = {}


def register(machine: Machine) -> None:
    """Called by each kind's rules module at import. Registering the same procedure again replaces it
    (a module reload), which keeps the table one machine per procedure."""
    _MACHINES[machine.procedure] = machine


def machine_for(procedure: str) -> Machine:
    try:
        return _MACHINES[procedure]
    except KeyError:
        raise NotFound("flow.unknown_procedure", f"交易方式“{procedure}”没有阶段流程",
                       f"No stage machine for the procedure {procedure}") from None


def registered() -> dict[str, Machine]:
    return dict(_MACHINES)
