"""Placeholder blueprint 'portal' (filled in by the feature work)."""

from flask import Blueprint

bp = Blueprint("portal", __name__)


@bp.route("/")
def home():
    return "portal"
