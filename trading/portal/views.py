"""Public portal (门户): home, notice list with filters kept in the URL, notice detail. No log-in
(20号令 Art. 9); read-only, so nothing here calls a service that changes state."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from trading.core.clock import to_beijing
from trading.core.i18n import current_locale
from trading.core.web import service_context
from trading.extensions import db
from trading.procedures.common import presenters
from trading.procedures.common.rules import KIND_LABELS, STATUS_LABELS, TRADE_LABELS, procedure_family
from trading.projects.models import Project
from trading.reference.services import list_regions

from . import queries

bp = Blueprint("portal", __name__)


@bp.context_processor
def _helpers():
    return presenters.helpers(current_locale())


def _regions() -> dict[int, str]:
    en = current_locale() == "en"
    return {r.id: (r.name_en or r.name) if en else r.name for r in list_regions(db.session)}


def _families(notices) -> dict[int, str]:
    """The procedure family of each listed notice's project, so a row names its next date by what it
    is (投标截止, 响应截止, 挂牌开始 …) rather than by the generic key-date name."""
    ids = {n.project_id for n in notices}
    if not ids:
        return {}
    rows = db.session.execute(select(Project.id, Project.procedure).where(Project.id.in_(ids)))
    return {pid: procedure_family(procedure) for pid, procedure in rows}


@bp.route("/")
def home():
    now = service_context().now()
    latest = {t: queries.latest_notices(db.session, t) for t in TRADE_LABELS}
    return render_template("portal/home.html", latest=latest, trade_types=list(TRADE_LABELS),
                           openings=queries.todays_openings(db.session, now), now=now,
                           today=to_beijing(now).date(), regions=_regions(),
                           families=_families([n for ns in latest.values() for n in ns]))


@bp.route("/notices")
def notices():
    now = service_context().now()
    filters = queries.NoticeFilters.from_args(request.args)
    page = request.args.get("page", "1")
    pager = queries.search_notices(db.session, filters, int(page) if page.isdigit() else 1,
                                   current_app.config["PAGE_SIZE"], now)
    return render_template("portal/notices.html", pager=pager, filters=filters, now=now, regions=_regions(),
                           trade_types=list(TRADE_LABELS), kinds=list(KIND_LABELS), statuses=list(STATUS_LABELS),
                           replaced=queries.superseding_kinds(db.session, pager.items), families=_families(pager.items))


@bp.route("/notices/<int:notice_id>")
def notice_detail(notice_id: int):
    now = service_context().now()
    notice = queries.public_notice(db.session, notice_id)
    project = db.session.get(Project, notice.project_id)
    family = procedure_family(project.procedure)
    chain = queries.notice_chain(db.session, notice)
    return render_template("portal/notice_detail.html", notice=notice, project=project, family=family, now=now,
                           chain=chain, latest=chain[-1] if chain else notice,
                           timeline=presenters.timeline(notice, family, now, current_locale()),
                           paragraphs=presenters.paragraphs(notice.body), regions=_regions(),
                           replaced=queries.superseding_kinds(db.session, [notice]))
