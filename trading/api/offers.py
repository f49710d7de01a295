"""/api/v1 resources for offers: thin adapters over the services."""

from __future__ import annotations
