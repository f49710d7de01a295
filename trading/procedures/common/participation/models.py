"""Models: filled in by the participation work."""

from __future__ import annotations
