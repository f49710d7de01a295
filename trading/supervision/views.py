"""Placeholder blueprint 'supervision' (filled in by the feature work)."""

from flask import Blueprint

bp = Blueprint("supervision", __name__)
