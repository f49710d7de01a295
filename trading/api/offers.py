"""Sealed offers (投标): registration, the opening key of a lot, the chunked resumable upload protocol
(start → manifest → chunks → complete), withdraw, self-test, signed receipts, the platform's receipt
key, and the after-deadline participant and download lists. Thin adapters over
procedures.common.participation; the services enforce every rule and the secrecy of Art. 22."""

from __future__ import annotations

import base64
import binascii

from flask import request
from marshmallow import Schema, fields, validate

from trading.core.errors import InvalidInput, NotFound, not_found
from trading.procedures.common.models import LotTrade
from trading.procedures.common.participation import completion, queries, receipts, services
from trading.procedures.common.participation.rules import PARTS, chunks_expected, parse_index

from . import bp
from .framework import PUBLIC, ctx, operation

BIDDER = ("bidder",)
READ_AFTER = ("owner", "agency", "operator", "supervisor")
#: the manifest is a few kilobytes; anything much larger is not a manifest
MANIFEST_MAX_BYTES = 64 * 1024
#: the one-request upload carries the manifest (≈ 0.7 KB; base64 ≈ 1 KB) in this header; the cap stays
#: under the 8 KiB header-field limits of common servers and proxies (gunicorn: 8190 bytes)
MANIFEST_HEADER = "X-Envelope-Manifest"
MANIFEST_HEADER_MAX = 6 * 1024


class RegistrationSchema(Schema):
    lot_code = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    status = fields.String(required=True, metadata={"enum": ["registered", "withdrawn"]})


class SealingSchema(Schema):
    lot_id = fields.String(required=True)
    bidder_id = fields.String(allow_none=True, metadata={"description": "调用者单位的统一社会信用代码"})
    opening_key = fields.Dict(required=True, metadata={"description": '{"public": b64(65 B), "kid": b64(8 B)}'})
    deadline_at = fields.DateTime(required=True)
    server_now = fields.DateTime(required=True)
    max_part_bytes = fields.Integer(required=True)
    upload_chunk_bytes = fields.Integer(required=True)
    parts = fields.List(fields.String(), required=True)


class StartSchema(Schema):
    part = fields.String(required=True, validate=validate.OneOf(PARTS))


class StartedSchema(Schema):
    submission_id = fields.String(required=True)
    context = fields.Dict(required=True)
    upload_chunk_bytes = fields.Integer(required=True)


class ManifestAcceptedSchema(Schema):
    payload_len = fields.Integer(required=True)
    chunks_expected = fields.Integer(required=True)
    upload_chunk_bytes = fields.Integer(required=True)


class ChunkSchema(Schema):
    index = fields.Integer(required=True)
    chunks_received = fields.Integer(required=True)
    chunks_expected = fields.Integer(required=True)


class SignedReceiptSchema(Schema):
    receipt = fields.Dict(required=True, metadata={"description": "回执正文（按规范 JSON 签名）"})
    signature = fields.String(required=True, metadata={"description": "Ed25519 签名（base64）"})
    key_id = fields.String(required=True)
    receipt_id = fields.String(required=True)


class SubmissionStateSchema(Schema):
    submission_id = fields.String(required=True)
    lot_id = fields.String(required=True)
    part = fields.String(required=True)
    status = fields.String(required=True)
    payload_len = fields.Integer(allow_none=True)
    chunks_expected = fields.Integer(allow_none=True)
    received = fields.List(fields.Integer(), required=True)
    receipt = fields.Nested(SignedReceiptSchema, allow_none=True)


class SelfTestSchema(Schema):
    ok = fields.Boolean(required=True)
    checks = fields.List(fields.Dict(), required=True)


class ReceiptKeySchema(Schema):
    alg = fields.String(required=True)
    public = fields.String(required=True)
    key_id = fields.String(required=True)


class ParticipantSchema(Schema):
    name = fields.String(required=True)
    credit_code = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    status = fields.String(required=True)
    parts = fields.Dict(required=True)


class ParticipantListSchema(Schema):
    items = fields.List(fields.Nested(ParticipantSchema), required=True)
    total = fields.Integer(required=True)


class DownloadSchema(Schema):
    document = fields.String(required=True)
    sha256 = fields.String(required=True)
    org = fields.String(required=True)
    user = fields.String(required=True)
    at = fields.DateTime(required=True)
    ip = fields.String(required=True)


class DownloadListSchema(Schema):
    items = fields.List(fields.Nested(DownloadSchema), required=True)
    total = fields.Integer(required=True)


def _iso(value):
    return value.isoformat() if value is not None else None


def _state(sub) -> dict:
    c = ctx()
    trade = c.session.get(LotTrade, sub.lot_id)
    return {"submission_id": sub.submission_id, "lot_id": trade.lot_code, "part": sub.part, "status": sub.status,
            "payload_len": sub.payload_len,
            "chunks_expected": chunks_expected(sub.payload_len, sub.upload_chunk_bytes) if sub.payload_len else None,
            "received": services.received_indexes(c, sub),
            "receipt": receipts.as_json(sub.receipts[-1]) if sub.receipts else None}


@operation(bp, "POST", "/lots/<lot_code>/registration", summary="报名 / register for a lot", tag="offers",
           response=RegistrationSchema, status=201, errors=(403, 409), roles=BIDDER,
           description="已报名时返回 200 和原报名记录。")
def register(lot_code):
    part, created = services.register_for_lot(ctx(), lot_code)
    body = {"lot_code": lot_code, "registered_at": _iso(part.registered_at), "status": part.status}
    return body, (201 if created else 200)


@operation(bp, "GET", "/lots/<lot_code>/sealing", summary="密封所需参数（开标公钥等） / sealing parameters",
           tag="offers", response=SealingSchema, errors=(409,),
           description="开标公钥是公开信息；bidder_id 是调用者单位的信用代码（非投标人为 null）。")
def sealing(lot_code):
    info = services.sealing_info(ctx(), lot_code)
    return {**info, "deadline_at": _iso(info["deadline_at"]), "server_now": _iso(info["server_now"])}


@operation(bp, "POST", "/lots/<lot_code>/submissions", summary="开始上传一个部分 / start an upload",
           tag="offers", body=StartSchema, response=StartedSchema, status=201, errors=(403, 409), roles=BIDDER)
def start(lot_code, body):
    started = services.start_submission(ctx(), lot_code, body["part"])
    context = started.context
    return {"submission_id": started.submission_id,
            "context": {"lot_id": context.lot_id, "bidder_id": context.bidder_id, "part": context.part,
                        "submission_id": context.submission_id},
            "upload_chunk_bytes": started.upload_chunk_bytes}


def _limited_body(limit: int) -> bytes:
    """The raw request body, refusing more than `limit` bytes without reading them all (413)."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _too_large(limit: int) -> InvalidInput:
    err = InvalidInput("upload.too_large", f"请求体超过 {limit} 字节", f"The request body exceeds {limit} bytes",
                       details={"limit": limit})
    err.status = 413
    return err


@operation(bp, "PUT", "/submissions/<sid>/manifest", summary="上传清单（manifest） / send the manifest",
           tag="offers", response=ManifestAcceptedSchema, errors=(403, 409), roles=BIDDER,
           description="请求体为封装工具生成的 manifest JSON 原文（至多 64 KiB，否则 413）。所有检查在接收任何数据前完成；"
                       "失败为 422，错误代码 envelope.<失败类型>。")
def put_manifest(sid):
    sub = services.put_manifest(ctx(), sid, _limited_body(MANIFEST_MAX_BYTES))
    return {"payload_len": sub.payload_len, "chunks_expected": chunks_expected(sub.payload_len, sub.upload_chunk_bytes),
            "upload_chunk_bytes": sub.upload_chunk_bytes}


@operation(bp, "PUT", "/submissions/<sid>/chunks/<index>", summary="上传数据块 / send a chunk", tag="offers",
           response=ChunkSchema, errors=(403, 409), roles=BIDDER,
           description="请求体为原始字节（application/octet-stream）：第 i 块为密文的 [i*U, min((i+1)*U, payload_len))。"
                       "相同内容重传返回 200；同一序号不同内容为 409 upload.chunk_conflict；"
                       "超过 upload_chunk_bytes 为 413，大小不符为 422。")
def put_chunk(sid, index):
    i = parse_index(index)
    if i is None:
        raise InvalidInput("upload.chunk_index", "数据块序号须为非负整数", "The chunk index must be a non-negative integer")
    # the body is read (at most upload_chunk_bytes, else 413) once the submission is known to be the caller's
    sub, received = services.put_chunk(ctx(), sid, i, _limited_body)
    return {"index": i, "chunks_received": received,
            "chunks_expected": chunks_expected(sub.payload_len, sub.upload_chunk_bytes)}


def _manifest_header() -> bytes:
    text = request.headers.get(MANIFEST_HEADER, "")
    if len(text) > MANIFEST_HEADER_MAX:
        err = InvalidInput("upload.manifest_too_large", f"{MANIFEST_HEADER} 请求头超过 {MANIFEST_HEADER_MAX} 个字符，请使用分块上传",
                           f"The {MANIFEST_HEADER} header exceeds {MANIFEST_HEADER_MAX} characters; use the chunked upload",
                           details={"limit": MANIFEST_HEADER_MAX})
        err.status = 413
        raise err
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise InvalidInput("upload.manifest_header", f"缺少 {MANIFEST_HEADER} 请求头，或其内容不是 base64",
                           f"The {MANIFEST_HEADER} header is missing or not base64")
    return raw


@operation(bp, "PUT", "/submissions/<sid>/envelope", summary="一次上传整个密封文件并取得回执 / one-request upload",
           tag="offers", response=SignedReceiptSchema, status=201, errors=(403, 409), roles=BIDDER,
           description="适用于不超过一个上传块（upload_chunk_bytes，1 MiB）的密封文件：请求体为密文原始字节"
                       "（application/octet-stream），清单（manifest JSON 原文）以 base64 放在 X-Envelope-Manifest "
                       f"请求头（至多 {MANIFEST_HEADER_MAX} 个字符，否则 413）。服务器依次执行与 PUT manifest、"
                       "PUT chunks/0 和 POST complete 相同的检查（清单检查在读取任何数据之前），只写入一次数据，"
                       "并在同一事务中受理、记入审计、签发回执（201）。任一检查失败：不保存、不受理、不记审计。"
                       "更大的文件（422 upload.use_chunks）或需要断点续传时，请使用分块上传。"
                       "One request for an envelope that fits one upload chunk: body = the payload bytes, header "
                       "X-Envelope-Manifest = base64(manifest JSON); the same checks as manifest + chunk 0 + complete, "
                       "in one transaction, with the receipt.")
def put_envelope(sid):
    # both read once the submission is known to be the caller's: another's id is the 404 of an unknown one
    receipt = completion.put_envelope(ctx(), sid, _manifest_header, _limited_body)
    return receipts.as_json(receipt), 201


@operation(bp, "GET", "/submissions/<sid>", summary="上传状态（断点续传） / upload state", tag="offers",
           response=SubmissionStateSchema, roles=BIDDER,
           description="只有本单位可见；其他任何人得到与不存在的编号相同的 404。")
def get_submission(sid):
    return _state(services.own_submission(ctx(), sid))


@operation(bp, "POST", "/submissions/<sid>/complete", summary="完成上传并取得回执 / complete", tag="offers",
           response=SignedReceiptSchema, status=201, errors=(403, 409), roles=BIDDER,
           description="校验全部数据块、分块结构、SHA-256 与签名，且服务器时间早于投标截止时间；"
                       "同一部分之前的文件标为已替换（保留，永不解密）。")
def complete(sid):
    receipt, created = completion.complete_submission(ctx(), sid)
    return receipts.as_json(receipt), (201 if created else 200)


@operation(bp, "POST", "/submissions/<sid>/withdraw", summary="撤回 / withdraw", tag="offers",
           response=SignedReceiptSchema, errors=(403, 409), roles=BIDDER)
def withdraw(sid):
    return receipts.as_json(completion.withdraw_submission(ctx(), sid))


@operation(bp, "POST", "/submissions/<sid>/selftest", summary="自检（不解密） / self-test", tag="offers",
           response=SelfTestSchema, errors=(403,), roles=BIDDER)
def selftest(sid):
    return completion.self_test(ctx(), sid)


@operation(bp, "GET", "/submissions/<sid>/receipt", summary="最新回执 / latest receipt", tag="offers",
           response=SignedReceiptSchema, roles=BIDDER,
           description="PDF 版本：/offers/receipts/<receipt_id>.pdf")
def receipt(sid):
    r = services.latest_receipt(ctx(), sid)
    if r is None:
        raise not_found("回执", "receipt")
    return receipts.as_json(r)


class InclusionSchema(Schema):
    leaf_index = fields.Integer(required=True, metadata={"description": "审计日志序号 audit seq"})
    tree_size = fields.Integer(required=True)
    entry = fields.String(required=True, metadata={"description": "审计条目原始字节（UTF-8）"})
    leaf_hash = fields.String(required=True)
    proof = fields.List(fields.String(), required=True, metadata={"description": "RFC 9162 包含证明（base64）"})
    checkpoint = fields.String(required=True, metadata={"description": "平台签名的 C2SP 检查点"})
    witnessed = fields.Boolean(required=True)
    log_key = fields.String(required=True)


@operation(bp, "GET", "/receipts/<receipt_id>/inclusion", summary="回执的包含证明 / the receipt's inclusion proof",
           tag="offers", response=InclusionSchema, errors=(404,), roles=BIDDER,
           description="签名检查点覆盖该回执的审计条目后可用；此前 404 audit.not_checkpointed。"
                       "离线校验：python standalone_verify.py receipt receipt.json")
def receipt_inclusion(receipt_id):
    c = ctx()
    proof = receipts.inclusion(c.session, services.own_receipt(c, receipt_id))
    if proof is None:
        raise NotFound("audit.not_checkpointed", "尚无签名检查点覆盖该回执，请稍后再试",
                       "No signed checkpoint covers this receipt yet; try again shortly")
    return proof


@operation(bp, "GET", "/receipt-key", summary="平台回执公钥 / the receipt public key", tag="offers", auth=PUBLIC,
           response=ReceiptKeySchema)
def receipt_key():
    return receipts.public_key_info()


@operation(bp, "GET", "/lots/<lot_code>/participants", summary="投标人名单（截止后） / participants",
           tag="offers", response=ParticipantListSchema, errors=(403,), roles=READ_AFTER,
           description="投标截止前任何角色均为 403 participation.sealed_until_deadline。")
def participants(lot_code):
    rows = queries.participants_after_deadline(ctx(), lot_code)
    items = [{"name": r.name, "credit_code": r.credit_code, "registered_at": _iso(r.registered_at),
              "status": r.status,
              "parts": {k: {**v, "accepted_at": _iso(v["accepted_at"])} for k, v in r.parts.items()}} for r in rows]
    return {"items": items, "total": len(items)}


@operation(bp, "GET", "/lots/<lot_code>/downloads", summary="招标文件下载记录（截止后） / document downloads",
           tag="offers", response=DownloadListSchema, errors=(403,), roles=READ_AFTER,
           description="投标截止前任何角色均为 403 participation.sealed_until_deadline。")
def downloads(lot_code):
    rows = queries.downloads_after_deadline(ctx(), lot_code)
    return {"items": [{**r, "at": _iso(r["at"])} for r in rows], "total": len(rows)}
