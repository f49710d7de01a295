"""The monthly report as files: an XLSX workbook (openpyxl; amounts in 元 and rates in % as numeric
cells) and a PDF (WeasyPrint from templates/stats/monthly_pdf.html, in Chinese — an official
document — with the CJK fonts as the other PDFs). File names: 交易统计月报-YYYY-MM.xlsx / .pdf.

Imports: flask (rendering), weasyprint, openpyxl, this package."""

from __future__ import annotations

import io

from flask import current_app, render_template
from flask_babel import force_locale

from . import presenters as p
from .rules import MonthlyReport


def file_stem(report: MonthlyReport) -> str:
    return f"monthly-report-{report.month}"


def xlsx_bytes(report: MonthlyReport, locale: str = "zh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = p.t("summary", locale)
    county = current_app.config["COUNTY_NAME"]
    ws.append([f"{county}公共资源交易统计月报 {report.month}" if locale != "en"
               else f"{county} public resource trading: monthly report {report.month}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([p.t("item", locale), p.t("value", locale)])
    for _key, label, value in p.summary_items(report, locale):
        ws.append([label, value if value is not None else p.DASH])
    for row in ws.iter_rows(min_row=3, min_col=2, max_col=2):
        for cell in row:
            if not isinstance(cell.value, int | str):
                cell.number_format = "#,##0.00"
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 20

    header = [p.t("group", locale), p.t("announced", locale), p.t("deals", locale), p.t("deal_yuan", locale),
              p.t("base_yuan", locale), p.t("failed", locale)]
    for key, groups in (("by_trade_type", report.by_trade_type), ("by_procedure", report.by_procedure),
                        ("by_region", report.by_region)):
        s = wb.create_sheet(p.t(key, locale))
        s.append(header)
        for row in p.group_rows(groups, locale):
            s.append(row)
        _money_columns(s, "DE")
        s.column_dimensions["A"].width = 30

    s = wb.create_sheet(p.t("durations", locale))
    s.append([p.t("stage", locale), p.t("lots", locale), p.t("avg_days", locale)])
    for label, lots, days in p.duration_rows(report, locale):
        s.append([label, lots, days if days is not None else p.DASH])
    s.column_dimensions["A"].width = 36

    for key, lots in (("largest", report.largest), ("failed_lots", report.failed_lots)):
        s = wb.create_sheet(p.t(key, locale))
        s.append([p.t("code", locale), p.t("name", locale), p.t("deal_yuan", locale), p.t("base_yuan", locale)])
        for r in lots:
            s.append([r.lot_code, r.name, p.fen_to_decimal(r.deal_fen) if r.deal_fen is not None else p.DASH,
                      p.fen_to_decimal(r.base_fen)])
        _money_columns(s, "CD")
        s.column_dimensions["A"].width = 26
        s.column_dimensions["B"].width = 50
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _money_columns(sheet, letters: str) -> None:
    for letter in letters:
        for cell in sheet[letter][1:]:
            if not isinstance(cell.value, str):
                cell.number_format = "#,##0.00"
        sheet.column_dimensions[letter].width = 20


def pdf_bytes(report: MonthlyReport) -> bytes:
    from weasyprint import HTML

    with force_locale("zh"):
        html = render_template("stats/monthly_pdf.html", report=report, p=p, locale="zh",
                               county_name=current_app.config["COUNTY_NAME"])
    return HTML(string=html).write_pdf()
