"""Signed upload receipts (design/sealing.md, "Receipts"): the platform signs the canonical JSON of
the receipt body with its Ed25519 key; anyone holding the public key can check a receipt offline.

canonical(body) = JSON with sorted keys, separators (",", ":"), UTF-8, ensure_ascii False
key_id(public)  = hex(SHA-256(raw 32-byte public key)[:8])

Pure: no Flask, no SQLAlchemy, no files (the key file is handled by the participation package)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

ALG = "Ed25519"
RECEIPT_VERSION = 1
KINDS = ("submitted", "withdrawn")
BODY_KEYS = frozenset({"v", "kind", "lot_id", "bidder_id", "bidder_name", "part", "submission_id",
                       "payload_sha256", "payload_len", "received_at", "received_at_beijing", "audit_seq",
                       "supersedes"})


def canonical(body: Mapping) -> bytes:
    return json.dumps(dict(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes | Ed25519PrivateKey | Ed25519PublicKey) -> str:
    raw = public if isinstance(public, bytes | bytearray) else public_raw(public)
    return hashlib.sha256(bytes(raw)).digest()[:8].hex()


def check_body(body: Mapping) -> None:
    """Refuse a body that is not exactly the receipt shape (so nothing else gets signed)."""
    if set(body) != BODY_KEYS:
        raise ValueError("receipt body keys differ from the receipt format")
    if body["v"] != RECEIPT_VERSION or body["kind"] not in KINDS:
        raise ValueError("unknown receipt version or kind")


def sign(private_key: Ed25519PrivateKey, body: Mapping) -> bytes:
    check_body(body)
    return private_key.sign(canonical(body))


def verify(public: bytes | Ed25519PublicKey, body: Mapping, signature: bytes) -> bool:
    pub = Ed25519PublicKey.from_public_bytes(bytes(public)) if isinstance(public, bytes | bytearray) else public
    try:
        pub.verify(bytes(signature), canonical(body))
    except (InvalidSignature, ValueError):
        return False
    return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def load_private_pem(pem: bytes) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the receipt key file does not hold an Ed25519 private key")
    return key
