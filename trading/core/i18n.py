"""Locale choice: ?lang=en|zh (remembered in a cookie), else the cookie, else Simplified Chinese."""

from flask import current_app, request


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    asked = request.args.get("lang") or request.cookies.get("lang")
    return asked if asked in langs else current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    try:
        return select_locale()
    except RuntimeError:  # outside a request
        return "zh"
