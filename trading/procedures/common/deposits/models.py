"""Models: filled in by the deposits work."""

from __future__ import annotations
