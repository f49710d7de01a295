"""(5) A visitor switches the interface to English and back; the choice sticks across pages."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e


def test_switch_to_english_and_back(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".navbar-brand")).to_contain_text("示范县公共资源交易平台")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".navbar-brand")).to_contain_text("Demo County")
    expect(page.get_by_role("link", name="中文")).to_be_visible()
    # the English catalogue (compiled at set-up) translates the interface, not the notices
    expect(page.get_by_role("heading", name="Latest notices")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_test_id("openings")).to_contain_text("城区滨河路排水管网改造工程比选公告")
    shot(page, "05-home-english")

    # The cookie keeps English on the next page without ?lang in the address.
    page.goto("/notices")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="中文")).to_be_visible()

    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".navbar-brand")).to_contain_text("示范县")
    expect(page.get_by_role("link", name="English")).to_be_visible()
    expect(page.get_by_role("heading", name="交易信息")).to_be_visible()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("link", name=re.compile("^English$"))).to_be_visible()
