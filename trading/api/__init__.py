"""JSON API under /api/v1: one module per resource, the OpenAPI document. Thin: calls services."""

from flask import Blueprint

bp = Blueprint("api", __name__)
