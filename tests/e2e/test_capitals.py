"""The browser's live 大写 preview (nzh + the official-form rule in static/js/site.js) agrees with the
server's trading.core.money.to_capitals on the same vectors."""

import pytest

from tests.e2e.conftest import DESKTOP, _new_page
from tests.unit.test_money import test_capitals_official_form as server_vectors
from trading.core.money import format_yuan, to_capitals

pytestmark = pytest.mark.e2e

VECTORS = [mark.args for mark in server_vectors.pytestmark if mark.name == "parametrize"][0][1]


def test_browser_preview_matches_server(browser, live_server, request, problems):
    page = _new_page(browser, live_server, DESKTOP, request, problems)
    page.goto("/")
    for fen, expected in VECTORS:
        assert to_capitals(fen) == expected
        typed = format_yuan(fen)  # as a person types it, with separators
        assert page.evaluate("t => window.Trading.capitals(t)", typed) == expected, typed
    # what the preview refuses to guess at, the server refuses too
    for bad in ["1.234", "-5", "abc", ""]:
        assert page.evaluate("t => window.Trading.capitals(t)", bad) == ""
