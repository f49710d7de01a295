"""The registry of step providers. A provider is a function (session, now, scope) → iterable of
rules.StepRow: the steps with a deadline it knows about, open ones and those finished since
scope.done_since, ideally already narrowed to scope (the list narrows again, so a provider that
ignores the scope is still correct). Packages above supervision (stats) and beside it (complaints)
call register_provider at import time; the lead wires the ones that cannot import this package."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from .rules import Scope, StepRow

Provider = Callable[[Session, datetime, Scope], Iterable[StepRow]]

_PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, fn: Provider) -> None:
    """Add (or, under the same name, replace: a module imported twice registers once) a provider."""
    if not name or not callable(fn):
        raise ValueError("a provider needs a name and a callable")
    _PROVIDERS[name] = fn


def unregister_provider(name: str) -> None:
    """For tests that register a provider of their own."""
    _PROVIDERS.pop(name, None)


def providers() -> dict[str, Provider]:
    return dict(_PROVIDERS)


def collect(session: Session, now: datetime, scope: Scope) -> list[StepRow]:
    """Every provider's rows within the scope (uncoloured rows stay uncoloured: see queries)."""
    out: list[StepRow] = []
    for fn in list(_PROVIDERS.values()):
        out.extend(r for r in fn(session, now, scope) if scope.wants(r))
    return out
