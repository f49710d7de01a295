"""Pages of the overdue list (限时办结). Thin: parse the filters → one query → render.

- /time-limits/             the centre (operator): its work list of every step due soon or overdue
- /supervise/time-limits    supervisors: the same list (route in supervision/views.py, rendered here)
- project_time_limits()     template global: the steps of one project on its page (owner/agency too)
- `flask timelimits list`   the list on the terminal

Filters: ?light=red&light=yellow (default: red and yellow; "all" for every light, including green and
finished steps) and ?kind=<step kind> (repeatable). A bad filter is a 422 with the values allowed."""

from __future__ import annotations

import click
from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.routing import BuildError

from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError
from trading.core.i18n import current_locale
from trading.core.web import cli_context, service_context
from trading.projects.views import due_text

from . import queries, rules
from .rules import Light, Scope, StepRow

bp = Blueprint("timelimits", __name__, cli_group="timelimits")

LIGHT_CLASS = {Light.RED: "text-bg-danger", Light.YELLOW: "text-bg-warning", Light.GREEN: "text-bg-success",
               Light.DONE: "text-bg-secondary", Light.DONE_LATE: "text-bg-dark"}
LIGHT_ICON = {Light.RED: "exclamation-octagon", Light.YELLOW: "hourglass-split", Light.GREEN: "check-circle",
              Light.DONE: "check2-all", Light.DONE_LATE: "clock-history"}


def _link(row: StepRow) -> str | None:
    if row.link is None or row.link[0] not in current_app.view_functions:
        return None
    try:
        return url_for(row.link[0], **row.link[1])
    except BuildError:
        return None


def helpers() -> dict:
    locale = current_locale()
    return {
        "light_label": lambda v: rules.light_label(v, locale),
        "kind_label": lambda row_or_kind: (rules.kind_label(row_or_kind.kind, locale, row_or_kind.kind_label)
                                           if isinstance(row_or_kind, StepRow) else rules.kind_label(row_or_kind, locale)),
        "responsible_label": lambda r: (rules.CENTRE[1] if locale == "en" else rules.CENTRE[0])
        if r.responsible == rules.CENTRE[0] else r.responsible,
        "row_link": _link, "LIGHT_CLASS": LIGHT_CLASS, "LIGHT_ICON": LIGHT_ICON, "LIGHTS": list(Light),
        "KIND_BASIS": rules.KIND_BASIS, "due_text": due_text, "overdue_by": rules.overdue_by,
    }


def render_board(endpoint: str, *, supervisor: bool):
    """The list page for the centre or a supervisor (the caller's route checked the role)."""
    ctx = service_context()
    board = queries.time_limits(ctx, lights=request.args.getlist("light"), kinds=request.args.getlist("kind"))
    return render_template("timelimits/index.html", board=board, endpoint=endpoint, supervisor=supervisor,
                           kinds=queries.known_kinds(board.rows), now=ctx.now(),
                           light_args=sorted(v.value for v in board.lights),
                           kind_args=sorted(board.kinds) if board.kinds else [], **helpers())


@bp.route("/")
@role_required("operator")
def index():
    return render_board("timelimits.index", supervisor=False)


@bp.app_template_global()
def project_time_limits(project_id: int) -> list[dict]:
    """For the project page (projects cannot import supervision, so the page asks through this
    template global): its steps with their lights, for the centre, supervisors and the project's own
    owner/agency; nothing for anyone else."""
    ctx = service_context()
    try:
        board = queries.project_time_limits(ctx, project_id)
    except DomainError:
        return []
    h = helpers()
    return [{"kind": r.kind, "kind_label": h["kind_label"](r), "light": r.light.value,
             "light_label": h["light_label"](r.light), "css": LIGHT_CLASS[r.light], "icon": LIGHT_ICON[r.light],
             "code": r.code, "due_at": r.due_at, "done_at": r.done_at, "href": _link(r)} for r in board.rows]


@bp.cli.command("list")
@click.option("--light", "lights", multiple=True, help="red, yellow, green, done, done_late or all (default: red and yellow)")
@click.option("--kind", "kinds", multiple=True, help="a step kind, e.g. contract_signing")
def list_command(lights: tuple[str, ...], kinds: tuple[str, ...]):
    """The overdue list on the terminal, reddest first (tab-separated: light, kind, code, due, name)."""
    ctx = cli_context()
    rows = queries.coloured_rows(ctx, Scope())
    try:
        board = rules.board(rows, rules.parse_lights(lights), rules.parse_kinds(kinds, queries.known_kinds(rows)))
    except DomainError as err:
        raise click.UsageError(err.message_en) from None
    for r in board.rows:
        click.echo(f"{r.light}\t{r.kind}\t{r.code}\t{r.due_at.isoformat()}\t{r.name}")
    click.echo(" ".join(f"{lt.value}={n}" for lt, n in board.counts.items()))
