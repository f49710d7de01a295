"""Pages: 签名密钥与开标密钥保管. Thin: load → check access → one service call → respond."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("keys", __name__)
