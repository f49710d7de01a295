"""/api/v1 resources for keys: thin adapters over the services."""

from __future__ import annotations
