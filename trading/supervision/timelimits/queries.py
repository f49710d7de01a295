"""The overdue list for a reader: the centre (operator) and supervisors see every step; an owner or
agency sees the steps of its own projects. Read-only: nothing here writes, so nothing is audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from trading.accounts.rules import roles_for
from trading.core.context import ServiceContext
from trading.reference.settings import get_setting

from . import providers as _providers  # noqa: F401  (registers the built-in providers)
from . import rules
from .registry import collect, providers
from .rules import Board, Scope, StepRow

#: who reads every step (the same roles that read every project)
READERS = roles_for("project.read_all")
PROJECT_SIDE = ("owner", "agency")


def settings(ctx: ServiceContext) -> dict[str, int]:
    codes = (*rules.SETTINGS, *rules.WARN_DAYS_SETTING.values())
    return {code: get_setting(ctx, code) for code in codes}


def coloured_rows(ctx: ServiceContext, scope: Scope, now: datetime | None = None) -> list[StepRow]:
    now = now or ctx.now()
    values = settings(ctx)
    if scope.done_since is None:
        scope = replace(scope, done_since=now - timedelta(days=values["timelimit.done_days"]))
    return [rules.coloured(r, now, values) for r in collect(ctx.session, now, scope)]


def known_kinds(rows: Iterable[StepRow] = ()) -> list[str]:
    """Every kind the filter accepts: the built-in ones, the registered providers' names and any kind
    a row carries."""
    kinds = list(rules.KIND_LABELS)
    for k in [*providers(), *(r.kind for r in rows)]:
        if k not in kinds:
            kinds.append(k)
    return kinds


def time_limits(ctx: ServiceContext, *, lights: Iterable[str] = (), kinds: Iterable[str] = ()) -> Board:
    """The whole list (centre, supervisors), filtered by light (default: red and yellow) and kind."""
    ctx.require(*READERS)
    return _board(ctx, _whole(ctx), lights, kinds)


def _whole(ctx: ServiceContext, project_id: int | None = None) -> Scope:
    """The centre's or a supervisor's scope: every step; a supervisor also those only supervisors
    follow (see Scope.supervision)."""
    return Scope(project_id=project_id, supervision=ctx.actor.has("supervisor"))


def own_time_limits(ctx: ServiceContext, *, project_id: int | None = None, lights: Iterable[str] = ("all",),
                    kinds: Iterable[str] = ()) -> Board:
    """An owner's or agency's steps (of one project when project_id is given)."""
    ctx.require(*PROJECT_SIDE)
    return _board(ctx, Scope(org_id=ctx.actor.org_id, project_id=project_id), lights, kinds)


def project_time_limits(ctx: ServiceContext, project_id: int) -> Board:
    """Every step of one project, open and recently finished, for whoever may read the project page
    (the caller checked that); an owner/agency only ever gets its own organisation's steps."""
    scope = _whole(ctx, project_id)
    if not ctx.actor.has(*READERS):
        ctx.require(*PROJECT_SIDE)
        scope = Scope(org_id=ctx.actor.org_id, project_id=project_id)
    return _board(ctx, scope, ("all",), ())


def _board(ctx: ServiceContext, scope: Scope, lights: Iterable[str], kinds: Iterable[str]) -> Board:
    wanted_lights = rules.parse_lights(lights)
    rows = coloured_rows(ctx, scope)
    wanted_kinds = rules.parse_kinds(kinds, known_kinds(rows))
    return rules.board(rows, wanted_lights, wanted_kinds)


def counts(ctx: ServiceContext) -> dict[str, int]:
    """The counts per light ("red", "yellow", …) over every step (the supervisor dashboard's badges)."""
    ctx.require(*READERS)
    return {lt.value: n for lt, n in rules.board(coloured_rows(ctx, _whole(ctx)), frozenset()).counts.items()}
