"""Pages: 投标（响应）. Thin: load → check access → one service call → respond."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("offers", __name__)
