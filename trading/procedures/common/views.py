"""Placeholder blueprint 'notices' (filled in by the feature work)."""

from flask import Blueprint

bp = Blueprint("notices", __name__)
