"""The printable evaluation report (评审报告) as a PDF: rendered with WeasyPrint from
templates/evaluation/report_pdf.html in Chinese (an official document), CJK fonts as the receipts.

Imports: flask (rendering), weasyprint, this package."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from .models import EvaluationReport, ReportSignature
from .presenters import act_label, lines


def report_pdf(report: EvaluationReport, signatures: dict[int, ReportSignature]) -> bytes:
    from weasyprint import HTML

    with force_locale("zh"):
        html = render_template("evaluation/report_pdf.html", report=report, body=report.body,
                               lines=lines(report.body, "zh"), signatures=signatures,
                               act_label=lambda a: act_label(a, "zh"), county_name=current_app.config["COUNTY_NAME"])
    return HTML(string=html).write_pdf()
