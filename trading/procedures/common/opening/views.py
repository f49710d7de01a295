"""Pages: 开标与开标大厅. Thin: load → check access → one service call → respond."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("opening", __name__)
