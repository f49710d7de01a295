"""Pages: 保证金. Thin: load → check access → one service call → respond."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deposits", __name__)
