"""/api/v1 resources for opening: thin adapters over the services."""

from __future__ import annotations
