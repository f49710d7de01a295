"""The owner's (or agency's) criteria page, on the `evaluation` blueprint (scoring/views.py imports
this module): a simple table form, rows for items and rejection reasons; blank rows are skipped.

/evaluation/<lot>/criteria      GET the current criteria (or a template), POST a new version"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trading.accounts.rules import roles_for
from trading.accounts.web_auth import role_required
from trading.core.errors import DomainError
from trading.core.money import format_yuan, parse_yuan
from trading.core.web import flash_error, service_context

from ..scoring.views import bp
from . import rules
from . import services as criteria_services

BLANK_ROWS = 3


def body_from_form(form) -> dict:
    """The page's fields as a criteria body (validation is the service's)."""
    def rows(prefix: str, keys: tuple[str, ...]) -> list[dict]:
        out = []
        for n in range(rules.MAX_ITEMS):
            row = {k: (form.get(f"{prefix}-{n}-{k}") or "").strip() for k in keys}
            # a blank row still posts its group <select>: only typed fields make a row
            if any(v for k, v in row.items() if k != "group"):
                out.append(row)
        return out
    max_price = (form.get("max_price") or "").strip()
    min_price = (form.get("min_price") or "").strip()
    method = form.get("method") or rules.Method.COMPREHENSIVE
    body = {"method": method, "tie_break": form.get("tie_break") or rules.TieBreak.TECHNICAL,
            "rejections": rows("rejections", ("code", "name")),
            "max_price_fen": parse_yuan(max_price, field="max_price") if max_price else None}
    if method == rules.Method.HIGHEST_PRICE:  # a sale: a starting price, never a ceiling
        body["max_price_fen"] = None
        body["min_price_fen"] = parse_yuan(min_price, field="min_price") if min_price else None
    if method == rules.Method.COMPREHENSIVE:
        body["price_weight"] = (form.get("price_weight") or "").strip()
        body["items"] = rows("items", ("code", "name", "group", "max"))
    else:
        body["items"] = []   # the lowest-price method scores nothing: responsiveness, then price
    return body


def _rows(body: dict, key: str) -> list[dict]:
    return list(body.get(key) or []) + [{} for _ in range(BLANK_ROWS)]


@bp.route("/<lot_code>/criteria", methods=["GET", "POST"])
@role_required(*roles_for("criteria.set"))
def criteria(lot_code: str):
    ctx = service_context()
    trade, current, editable = criteria_services.view_criteria(ctx, lot_code)
    methods = rules.methods_for(trade.procedure)
    body = current.body if current else rules.template_body(methods[0])
    status = 200
    if request.method == "POST":
        try:
            body = body_from_form(request.form)
            row = criteria_services.set_criteria(ctx, lot_code, body)
            flash(_("评分细则已保存（第 %(v)d 版）。", v=row.version), "success")
            return redirect(url_for(".criteria", lot_code=lot_code))
        except DomainError as err:
            if err.status == 404:
                raise
            flash_error(err)
            status = err.status
    history = criteria_services.versions(ctx, lot_code)
    max_price = format_yuan(body["max_price_fen"]) if isinstance(body.get("max_price_fen"), int) else ""
    min_price = format_yuan(body["min_price_fen"]) if isinstance(body.get("min_price_fen"), int) else ""
    return render_template("evaluation/criteria.html", trade=trade, current=current, editable=editable,
                           body=body, items=_rows(body, "items"), rejections=_rows(body, "rejections"),
                           max_price=max_price, min_price=min_price, methods=methods,
                           sale=trade.procedure in rules.SALE_PROCEDURES, history=history, Method=rules.Method, Group=rules.Group,
                           carried=criteria_services.carried_from(ctx, current),
                           TieBreak=rules.TieBreak), status
