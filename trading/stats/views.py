"""Statistics pages.

    GET /stats/monthly?month=YYYY-MM        operators and supervisors: the month's report with charts,
                                            the time limit of the previous month's report (due by the 3rd)
    GET /stats/monthly.xlsx?month=YYYY-MM   the same as a workbook
    GET /stats/monthly.pdf?month=YYYY-MM    the same as a PDF (Chinese)
    GET /statistics?month=YYYY-MM           the public page on the portal: aggregate figures of a month
                                            that has ended, no lot names, nothing of a lot before its deadline

A bad or future month is refused with 422 (rules.parse_month); nothing here changes data."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from trading.accounts.web_auth import role_required
from trading.core.i18n import current_locale
from trading.core.web import service_context

from . import exports, presenters, rules, services
from . import timelimits as _timelimits  # noqa: F401  (the monthly report on the overdue list)

bp = Blueprint("stats", __name__)

READERS = ("operator", "supervisor")


def _month(*, completed_only: bool = False) -> rules.Month:
    ctx = service_context()
    raw = request.args.get("month")
    if raw is None or raw == "":
        current = rules.month_of(ctx.now())
        return current.previous() if completed_only else current
    return rules.parse_month(raw, ctx.now(), completed_only=completed_only)


@bp.route("/stats/monthly")
@role_required(*READERS)
def monthly():
    ctx = service_context()
    month = _month()
    report = services.monthly_report(ctx, month)
    locale = current_locale()
    return render_template("stats/monthly.html", report=report, p=presenters, locale=locale,
                           due=services.report_due(ctx), now=ctx.now(),
                           chart=presenters.chart_data(report, locale), stage_label=rules.stage_label)


@bp.route("/stats/monthly.xlsx")
@role_required(*READERS)
def monthly_xlsx():
    report = services.monthly_report(service_context(), _month())
    return _download(exports.xlsx_bytes(report, current_locale()), f"{exports.file_stem(report)}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/stats/monthly.pdf")
@role_required(*READERS)
def monthly_pdf():
    report = services.monthly_report(service_context(), _month())
    return _download(exports.pdf_bytes(report), f"{exports.file_stem(report)}.pdf", "application/pdf")


@bp.route("/statistics")
def public():
    ctx = service_context()
    month = _month(completed_only=True)
    report = services.public_report(ctx, month)
    locale = current_locale()
    return render_template("stats/public.html", report=report, p=presenters, locale=locale,
                           chart=presenters.chart_data(report, locale), stage_label=rules.stage_label)


def _download(data: bytes, name: str, mimetype: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
