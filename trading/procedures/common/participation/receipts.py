"""The platform's receipt key and the signed receipts (回执) of sealed-offer uploads and withdrawals.

The Ed25519 key lives in a PEM file: config RECEIPT_KEY_PATH (env TRADING_RECEIPT_KEY_PATH), else
<instance folder>/receipt_ed25519.pem, made on first use with mode 0600. A receipt body is signed as
canonical JSON (trading.sealing.receipts); the row keeps the exact signed bytes. The printable PDF is
rendered from templates/offers/receipt_pdf.html with WeasyPrint and cached in the blob store.

Flask is imported lazily inside the functions that need the app (key path, template), so the
participation services may import this module."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam
from sqlalchemy.orm import make_transient_to_detached

from trading.audit.services import Recorded
from trading.core.blobs import get_store
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.sealing import receipts as sig

from .models import Receipt, Submission
from .rules import PART_LABELS, beijing_text, label

_lock = threading.Lock()


def key_path(app) -> Path:
    configured = app.config.get("RECEIPT_KEY_PATH") or app.config.get("TRADING_RECEIPT_KEY_PATH")
    return Path(configured) if configured else Path(app.instance_path) / "receipt_ed25519.pem"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The key in `path`, made (0600, exclusive create) when the file does not exist yet."""
    try:
        return sig.load_private_pem(path.read_bytes())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = sig.new_private_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first: use theirs
        return sig.load_private_pem(path.read_bytes())
    with os.fdopen(fd, "wb") as f:
        f.write(sig.private_pem(key))
    return key


def platform_key() -> Ed25519PrivateKey:
    from flask import current_app

    app = current_app._get_current_object()
    path = key_path(app)
    cached = app.extensions.get("receipt_key")
    if cached is None or cached[0] != path:
        with _lock:
            cached = app.extensions["receipt_key"] = (path, load_or_create_key(path))
    return cached[1]


def sid_key() -> bytes:
    """The key of server-issued submission ids (sids.py), derived from the receipt key: one secret
    file for the platform's own signatures, and an id stays valid as long as the receipts' key."""
    from flask import current_app

    app = current_app._get_current_object()
    cached = app.extensions.get("sid_key")
    key = platform_key()
    if cached is None or cached[0] is not key:
        raw = key.private_bytes_raw()
        cached = app.extensions["sid_key"] = (key, hashlib.sha256(b"ptbid-sid-key/1\0" + raw).digest())
    return cached[1]


def public_key_info() -> dict:
    key = platform_key()
    raw = sig.public_raw(key)
    return {"alg": sig.ALG, "public": sig.b64(raw), "key_id": sig.key_id(raw)}


def issue(ctx: ServiceContext, sub: Submission, *, kind: str, lot_code: str, bidder_id: str, bidder_name: str,
          recorded: Recorded, at: datetime, supersedes: str | None) -> Receipt:
    body = {"v": sig.RECEIPT_VERSION, "kind": kind, "lot_id": lot_code, "bidder_id": bidder_id,
            "bidder_name": bidder_name, "part": sub.part, "submission_id": sub.submission_id,
            "payload_sha256": sub.payload_sha256, "payload_len": sub.payload_len, "received_at": rfc3339_us(at),
            "received_at_beijing": beijing_text(at), "audit_seq": recorded.seq, "supersedes": supersedes}
    key = platform_key()
    values = {"public_id": secrets.token_urlsafe(12), "submission_pk": sub.id, "kind": kind,
              "body": sig.canonical(body), "signature": sig.sign(key, body), "key_id": sig.key_id(key),
              "audit_seq": recorded.seq, "created_at": at}
    # one prebuilt INSERT, then the row joins the session as persistent without being loaded again
    # (the ORM's unit of work costs an upload more than the signature does)
    receipt = Receipt(id=ctx.session.execute(_INSERT_RECEIPT, values).scalar_one(), **values)
    make_transient_to_detached(receipt)
    ctx.session.add(receipt)
    return receipt


_INSERT_RECEIPT = (Receipt.__table__.insert()
                   .values(**{c: bindparam(c) for c in ("public_id", "submission_pk", "kind", "body", "signature",
                                                        "key_id", "audit_seq", "created_at")})
                   .returning(Receipt.__table__.c.id))


def rfc3339_us(at: datetime) -> str:
    """RFC 3339 UTC with microseconds when there are any (a receipt time decides lateness)."""
    base = rfc3339(at)
    return base if at.microsecond % 1000 == 0 else base[:-1] + f"{at.microsecond % 1000:03d}Z"


def body_of(receipt: Receipt) -> dict:
    return json.loads(bytes(receipt.body).decode("utf-8"))


def as_json(receipt: Receipt) -> dict:
    """{"receipt", "signature", "key_id", "receipt_id"} — what the API returns and the bidder keeps."""
    return {"receipt": body_of(receipt), "signature": sig.b64(bytes(receipt.signature)), "key_id": receipt.key_id,
            "receipt_id": receipt.public_id}


def inclusion(session, receipt: Receipt) -> dict | None:
    """The receipt's audit entry proven in the latest signed checkpoint (RFC 9162 inclusion proof, the
    entry's exact bytes, the checkpoint note and the log's verifier key), or None while no checkpoint
    covers it yet. The stand-alone verifier checks it offline (`standalone_verify.py receipt`)."""
    from trading.audit import checkpoints, keys
    proof = checkpoints.inclusion(session, receipt.audit_seq)
    return None if proof is None else {**proof, "log_key": keys.log_verifier_key()}


def as_json_with_proof(session, receipt: Receipt) -> dict:
    """The receipt download: as_json plus "inclusion" (None until a checkpoint covers the entry)."""
    return {**as_json(receipt), "inclusion": inclusion(session, receipt)}


def verify(receipt: Receipt) -> bool:
    return sig.verify(sig.public_raw(platform_key()), body_of(receipt), bytes(receipt.signature))


def pdf_bytes(receipt: Receipt, **context) -> bytes:
    """The printable receipt, rendered once and cached in the blob store (WeasyPrint is slow)."""
    store = get_store()
    if receipt.pdf_sha256 and store.exists(receipt.pdf_sha256):
        return store.read(receipt.pdf_sha256)
    from flask import current_app, render_template
    from flask_babel import force_locale
    from weasyprint import HTML

    body = body_of(receipt)
    with force_locale("zh"):  # an official document, cached once: always in Chinese
        html = render_template("offers/receipt_pdf.html", r=body, receipt=receipt,
                               signature=sig.b64(bytes(receipt.signature)),
                               canonical=bytes(receipt.body).decode("utf-8"),
                               county_name=current_app.config["COUNTY_NAME"],
                               part_label=lambda part: label(PART_LABELS, part, "zh"), **context)
    data = HTML(string=html).write_pdf()
    receipt.pdf_sha256 = store.put_bytes(data)
    return data
