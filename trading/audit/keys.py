"""The platform's audit-log key (Ed25519) and the log's origin line.

Configured like the receipt key (participation/receipts.py), but a key of its own, so a receipt key
compromise cannot forge tree heads and vice versa:
- config AUDIT_LOG_KEY_PATH (env TRADING_AUDIT_LOG_KEY_PATH), else <instance folder>/audit_log_ed25519.pem,
  an unencrypted PKCS#8 PEM made on first use with mode 0600 (exclusive create: concurrent workers agree);
- config AUDIT_LOG_ORIGIN (env TRADING_AUDIT_LOG_ORIGIN), else DEFAULT_ORIGIN: the checkpoint's origin
  line and the key name of its signature (C2SP convention). Change it only with a new log.

The public key is published as a note verifier key (`flask audit export` writes it into the bundle;
GET /api/v1/audit/log-key serves it). Flask is imported lazily."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from . import note

DEFAULT_ORIGIN = "ggzy.trading.local/audit-log"
_lock = threading.Lock()


def _config(app, name: str):
    return app.config.get(name) or app.config.get(f"TRADING_{name}") or os.environ.get(f"TRADING_{name}")


def key_path(app) -> Path:
    configured = _config(app, "AUDIT_LOG_KEY_PATH")
    return Path(configured) if configured else Path(app.instance_path) / "audit_log_ed25519.pem"


def load_private_pem(pem: bytes) -> Ed25519PrivateKey:
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit log key file does not hold an Ed25519 private key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    try:
        return load_private_pem(path.read_bytes())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first: use theirs
        return load_private_pem(path.read_bytes())
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return key


def available() -> bool:
    """Whether the key can be loaded here (inside the app, where its path is configured)."""
    from flask import has_app_context

    return has_app_context()


def log_key() -> Ed25519PrivateKey:
    from flask import current_app

    app = current_app._get_current_object()
    path = key_path(app)
    cached = app.extensions.get("audit_log_key")
    if cached is None or cached[0] != path:
        with _lock:
            cached = app.extensions["audit_log_key"] = (path, load_or_create_key(path))
    return cached[1]


def origin() -> str:
    from flask import current_app

    return _config(current_app, "AUDIT_LOG_ORIGIN") or DEFAULT_ORIGIN


def log_verifier_key() -> str:
    return note.verifier_key(origin(), note.public_raw(log_key()))
