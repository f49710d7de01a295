"""Placeholder blueprint 'auth' (filled in by the feature work)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.route("/login")
def login():
    return "login"


@bp.route("/logout")
def logout():
    return "logout"


@bp.route("/2fa/setup")
def two_factor_setup():
    return "2fa"


@bp.route("/2fa/verify")
def two_factor_verify():
    return "2fa"
