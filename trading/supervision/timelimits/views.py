"""Pages of the overdue list (限时办结). Thin: parse the filters → one query → render.

- /time-limits/             the centre (operator): its work list of every step due soon or overdue
- /supervise/time-limits    supervisors: the same list (route in supervision/views.py, rendered here)

Filters: ?light=red&light=yellow (default: red and yellow; "all" for every light, including green and
finished steps) and ?kind=<step kind> (repeatable). A bad filter is a 422 with the values allowed."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.routing import BuildError

from trading.accounts.web_auth import role_required
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.projects.views import due_text

from . import queries, rules
from .rules import Light, StepRow

bp = Blueprint("timelimits", __name__)

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
