"""/api/v1 resources for keys: a bidder organisation's signing public keys (register from the browser's
raw point or the offline tool's PEM, list, revoke). Thin adapters over trading.accounts.signing_keys."""

from __future__ import annotations

import base64
import binascii

from marshmallow import Schema, fields, validate

from trading.accounts import signing_keys as keys
from trading.core.errors import InvalidInput

from . import bp
from .fields import BeijingDateTime, Text
from .framework import ctx, operation

BIDDER = ("bidder",)


class SigningKeySchema(Schema):
    id = fields.Integer(required=True)
    kid = fields.Function(lambda k: base64.b64encode(k.kid).decode("ascii"), required=True, metadata={
        "type": "string", "description": "SHA-256(公钥)[:8]，base64；即信封 sig.kid / the envelope's sig.kid"})
    fingerprint = fields.String(required=True, metadata={"description": "SHA-256(公钥) 十六进制 / hex"})
    public = fields.Function(lambda k: base64.b64encode(k.public_raw).decode("ascii"), required=True, metadata={
        "type": "string", "description": "65 字节未压缩 P-256 点，base64 / raw point"})
    label = fields.String(required=True)
    source = fields.String(required=True, metadata={"enum": list(keys.SOURCES)})
    created_at = BeijingDateTime(required=True)
    revoked_at = BeijingDateTime(allow_none=True)
    revoke_reason = fields.String(required=True)


class SigningKeyListSchema(Schema):
    items = fields.List(fields.Nested(SigningKeySchema), required=True)


class SigningKeyCreateSchema(Schema):
    public = fields.String(load_default=None, metadata={
        "description": "base64（标准字母表，带填充）的 65 字节未压缩 P-256 公钥；与 pem 二选一 / raw point, or pem"})
    pem = fields.String(load_default=None, validate=validate.Length(max=4000), metadata={
        "description": "PEM SubjectPublicKeyInfo（投标文件制作工具 keygen 生成的 .pub.pem） / the tool's public PEM"})
    label = Text(keys.LABEL_MAX, load_default="", metadata={"description": "密钥名称，例如 “财务室电脑”"})
    source = fields.String(load_default=None, validate=validate.OneOf(keys.SOURCES), metadata={
        "enum": list(keys.SOURCES), "description": "省略时：public → browser，pem → tool"})


class RevokeSchema(Schema):
    reason = Text(keys.REASON_MAX, required=True, metadata={"description": "吊销原因 / reason"})


def _raw_from_body(body: dict) -> bytes:
    if (body["public"] is None) == (body["pem"] is None):
        raise InvalidInput("signing_key.public_or_pem", "请提供 public（base64 原始公钥）或 pem（PEM 公钥）中的一个",
                           "Give exactly one of public (base64 raw point) or pem (PEM public key)", field="public")
    if body["pem"] is not None:
        return keys.public_raw_from_pem(body["pem"])
    text = body["public"].strip()
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidInput("signing_key.bad_base64", "public 不是合法的 base64", "public is not valid base64",
                           field="public") from None
    return raw


@operation(bp, "GET", "/signing-keys", summary="本单位的签名公钥 / my organisation's signing keys", tag="keys",
           response=SigningKeyListSchema, errors=(403,), roles=BIDDER)
def list_signing_keys():
    return {"items": SigningKeySchema(many=True).dump(keys.list_signing_keys(ctx()))}


@operation(bp, "POST", "/signing-keys", summary="登记签名公钥 / register a signing public key", tag="keys",
           body=SigningKeyCreateSchema, response=SigningKeySchema, status=201, errors=(403, 409), roles=BIDDER,
           description="私钥从不上传：浏览器生成的密钥以 public 上传原始公钥，离线工具生成的以 pem 上传公钥文件。"
                       " / The private key never leaves the bidder.")
def register_signing_key(body):
    raw = _raw_from_body(body)
    source = body["source"] or ("tool" if body["pem"] is not None else "browser")
    key = keys.register_signing_key(ctx(), public_raw=raw, label=body["label"], source=source)
    return SigningKeySchema().dump(key)


@operation(bp, "POST", "/signing-keys/<int:key_id>/revoke", summary="吊销签名公钥 / revoke a signing key",
           tag="keys", body=RevokeSchema, response=SigningKeySchema, errors=(403, 404, 409), roles=BIDDER)
def revoke_signing_key(key_id, body):
    return SigningKeySchema().dump(keys.revoke_signing_key(ctx(), key_id, body["reason"]))
