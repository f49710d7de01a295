"""/api/v1 resources for deposits: thin adapters over the services."""

from __future__ import annotations
