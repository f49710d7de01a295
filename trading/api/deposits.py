"""/api/v1 resources for deposits: thin adapters over the services.

- GET  /deposits                  the bidder's own sub-accounts
- POST /deposits/statements       the centre imports a bank statement (multipart `file`, or the raw CSV body)
- GET  /lots/{lot_code}/deposits  per-bidder status of a lot, after its deadline only"""

from __future__ import annotations

from flask import request
from marshmallow import Schema, fields

from trading.procedures.common.deposits import queries, statements
from trading.procedures.common.deposits.queries import AccountRow

from . import bp
from .fields import BeijingDateTime, Fen, capitals_of
from .framework import ctx, operation

STATUS_DOC = {"description": "awaiting 待缴纳 | partial 部分到账 | received 已到账 | overpaid 超额到账 | "
                             "refunded 已退还 | part_refunded 部分退还 | forfeited 不予退还"}
LIGHT_DOC = {"description": "退还期限状态：green 未到期 | yellow 即将到期 | red 已逾期 | done 已办结 | null 未开始计算",
             "enum": ["green", "yellow", "red", "done", None]}


class _Money(Schema):
    required_fen = Fen(required=True)
    required_capitals = capitals_of("required_fen")
    received_fen = Fen(required=True)
    received_capitals = capitals_of("received_fen")
    refunded_fen = Fen(required=True)
    refunded_capitals = capitals_of("refunded_fen")
    forfeited_fen = Fen(required=True)
    forfeited_capitals = capitals_of("forfeited_fen")


class DepositAccountSchema(_Money):
    id = fields.Integer(required=True)
    lot_code = fields.String(required=True)
    lot_name = fields.String(required=True)
    project_name = fields.String(required=True)
    virtual_account = fields.String(required=True, metadata={"description": "虚拟子账号（19 位，含 Luhn 校验位）"})
    status = fields.String(required=True, metadata=STATUS_DOC)
    late = fields.Boolean(required=True, metadata={"description": "有截止后到账的款项 / money arrived after the deadline"})
    due_at = BeijingDateTime(allow_none=True, metadata={"description": "缴纳截止 / payment deadline"})
    refund_event = fields.String(allow_none=True)
    refund_event_at = BeijingDateTime(allow_none=True)
    refund_due_at = BeijingDateTime(allow_none=True, metadata={"description": "应退还时间 / refund due"})
    light = fields.String(allow_none=True, metadata=LIGHT_DOC)


class DepositAccountListSchema(Schema):
    items = fields.List(fields.Nested(DepositAccountSchema), required=True)


class LotDepositRowSchema(_Money):
    account_id = fields.Integer(required=True)
    bidder_name = fields.String(required=True)
    virtual_account = fields.String(required=True)
    status = fields.String(required=True, metadata=STATUS_DOC)
    late = fields.Boolean(required=True)
    refund_event = fields.String(allow_none=True)
    refund_due_at = BeijingDateTime(allow_none=True)
    light = fields.String(allow_none=True, metadata=LIGHT_DOC)


class LotDepositsSchema(Schema):
    lot_code = fields.String(required=True)
    deposit_fen = Fen(required=True)
    deposit_capitals = capitals_of("deposit_fen")
    deadline_at = BeijingDateTime(allow_none=True)
    items = fields.List(fields.Nested(LotDepositRowSchema), required=True)


class StatementRowSchema(Schema):
    line = fields.Integer(required=True)
    at = BeijingDateTime(required=True)
    account = fields.String(required=True)
    amount_fen = Fen(required=True)
    amount_capitals = capitals_of("amount_fen")
    bank_ref = fields.String(required=True)


class MismatchSchema(Schema):
    virtual_account = fields.String(required=True)
    received_fen = Fen(required=True)
    received_capitals = capitals_of("received_fen")
    required_fen = Fen(required=True)
    required_capitals = capitals_of("required_fen")


class ImportReportSchema(Schema):
    statement_id = fields.Integer(allow_none=True, metadata={"description": "null：没有新流水，未作任何更改"})
    changed = fields.Boolean(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    rows = fields.Integer(required=True)
    matched = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    message = fields.String(required=True)
    unmatched = fields.List(fields.Nested(StatementRowSchema), required=True)
    late = fields.List(fields.Nested(StatementRowSchema), required=True)
    partial = fields.List(fields.Nested(MismatchSchema), required=True)
    overpaid = fields.List(fields.Nested(MismatchSchema), required=True)


def _money(r: AccountRow) -> dict:
    t = r.totals
    return {"required_fen": t.required_fen, "received_fen": t.received_fen, "refunded_fen": t.refunded_fen,
            "forfeited_fen": t.forfeited_fen}


def _account(r: AccountRow) -> dict:
    a = r.account
    return _money(r) | {"id": a.id, "lot_code": r.trade.lot_code, "lot_name": r.lot_name,
                        "project_name": r.project_name, "virtual_account": a.virtual_account,
                        "status": r.totals.status.value, "late": r.totals.late, "due_at": r.due_at,
                        "refund_event": a.refund_event, "refund_event_at": a.refund_event_at,
                        "refund_due_at": a.refund_due_at, "light": r.light.value if r.light else None}


@operation(bp, "GET", "/deposits", summary="我的保证金子账号 / my deposit sub-accounts", tag="deposits",
           response=DepositAccountListSchema, errors=(403,), roles=("bidder",),
           description="投标人本单位在各标段的虚拟子账号、应缴金额、到账与退还情况。")
def my_deposits():
    return {"items": DepositAccountSchema(many=True).dump([_account(r) for r in queries.my_deposits(ctx())])}


def _mismatch(items) -> list[dict]:
    return [{"virtual_account": a, "received_fen": got, "required_fen": need} for a, got, need in items]


def _row(r) -> dict:
    return {"line": r.line, "at": r.at, "account": r.account, "amount_fen": r.amount_fen, "bank_ref": r.bank_ref}


@operation(bp, "POST", "/deposits/statements", summary="导入银行流水对账 / import a bank statement", tag="deposits",
           response=ImportReportSchema, status=200, errors=(403, 422), roles=("operator",),
           description="multipart/form-data 的 file 字段，或请求体直接为 CSV（text/csv，UTF-8 或 GB18030）。"
                       "列：交易时间（北京时间）、收款账号、付款人户名、付款账号、金额(元)、流水号。"
                       "同一流水号再次导入不会重复入账（changed=false）；格式错误时返回 422 并指明行和列，不写入任何数据。")
def import_statement():
    upload = request.files.get("file")
    if upload is not None:
        filename, data = upload.filename or "statement.csv", upload.read(statements.MAX_STATEMENT_BYTES + 1)
    else:
        filename = request.args.get("filename") or request.headers.get("X-Filename") or "statement.csv"
        data = request.get_data(cache=False)
    report = statements.import_bank_statement(ctx(), filename, data)
    message = ("已导入" if report.changed else "本文件中的流水均已导入过，未作任何更改") if ctx().locale != "en" else (
        "Imported" if report.changed else "Every row of this file was imported before; nothing changed")
    body = {"statement_id": report.statement.id if report.statement else None, "changed": report.changed,
            "filename": report.filename, "sha256": report.sha256, "rows": report.rows, "matched": report.matched,
            "duplicates": report.duplicates, "message": message,
            "unmatched": [_row(r) for r in report.unmatched], "late": [_row(r) for r, _ in report.late],
            "partial": _mismatch(report.partial), "overpaid": _mismatch(report.overpaid)}
    return ImportReportSchema().dump(body)


@operation(bp, "GET", "/lots/<lot_code>/deposits", summary="标段保证金缴纳情况（截止后） / a lot's deposits",
           tag="deposits", response=LotDepositsSchema, errors=(403, 409), roles=("owner", "agency", "operator", "supervisor"),
           description="投标截止前对所有人返回 409 deposit.before_deadline（《招标投标法》第二十二条），不透露是否有人报名。")
def lot_deposits(lot_code):
    trade, rows = queries.lot_deposits(ctx(), lot_code)
    items = [_money(r) | {"account_id": r.account.id, "bidder_name": r.bidder_name or "",
                          "virtual_account": r.account.virtual_account, "status": r.totals.status.value,
                          "late": r.totals.late, "refund_event": r.account.refund_event,
                          "refund_due_at": r.account.refund_due_at, "light": r.light.value if r.light else None}
             for r in rows]
    return LotDepositsSchema().dump({"lot_code": trade.lot_code, "deposit_fen": trade.deposit_fen,
                                     "deadline_at": trade.deadline_at, "items": items})
