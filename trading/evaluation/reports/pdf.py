"""The printable evaluation report (评审报告) as a PDF: rendered with WeasyPrint from
templates/evaluation/report_pdf.html in Chinese (an official document), CJK fonts as the receipts.

Imports: flask (rendering), weasyprint, core.blobs, this package."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from .models import EvaluationReport, ReportSignature
from .presenters import act_label, lines


def report_pdf(report: EvaluationReport, signatures: dict[int, ReportSignature]) -> bytes:
    """A final report is rendered once and kept in the blob store; one still being signed is
    rendered each time (its signatures change)."""
    from weasyprint import HTML

    from trading.core.blobs import get_store

    store = get_store()
    if report.pdf_sha256 and store.exists(report.pdf_sha256):
        return store.read(report.pdf_sha256)

    with force_locale("zh"):
        html = render_template("evaluation/report_pdf.html", report=report, body=report.body,
                               lines=lines(report.body, "zh"), signatures=signatures,
                               act_label=lambda a: act_label(a, "zh"), county_name=current_app.config["COUNTY_NAME"])
    data = HTML(string=html).write_pdf()
    if report.status == "final":
        report.pdf_sha256 = store.put_bytes(data)
    return data
