"""Placeholder blueprint 'admin' (filled in by the feature work)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
