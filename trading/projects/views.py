"""Placeholder blueprint 'projects' (filled in by the feature work)."""

from flask import Blueprint

bp = Blueprint("projects", __name__)
