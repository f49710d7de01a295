"""招标出让 sealed reserve price (底价) in the browser: the grantor enters it on the lot page, Chromium
seals it to the lot's own opening key (the auction reserve's script through /api/v1/land-tender), the
page then says a sealed reserve exists without its amount; at the opening the custodians' shares open
it with the offers and the grantor's page shows the amount."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, _new_page, login, shot
from tests.factories.accounts import DEFAULT_PASSWORD
from trading.core.context import ServiceContext
from trading.extensions import db

pytestmark = pytest.mark.e2e


def test_the_grantor_seals_the_reserve_in_the_browser(browser, live_server, request, problems):
    from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price
    from tests.factories.land_tender import CRITERIA, WAN, land_lot
    from trading.evaluation.criteria.services import set_criteria
    from trading.procedures.land_tender import reserve
    from trading.procedures.land_tender.models import TenderReserve

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        owner, octx, trade = land_lot(ctx)
        set_criteria(octx, trade.lot_code, CRITERIA)
        code, lot_id, username = trade.lot_code, trade.lot_id, owner.username
        db.session.commit()
        db.session.remove()

    page = _new_page(browser, live_server, DESKTOP, request, problems)
    login(page, live_server, username, password=DEFAULT_PASSWORD)
    page.goto(f"/land-tender/{code}")
    expect(page.get_by_test_id("reserve-undecided")).to_be_visible()
    page.get_by_test_id("reserve-amount").fill("12000000")
    expect(page.get_by_test_id("reserve-capitals")).to_have_text("人民币壹仟贰佰万元整")
    page.get_by_test_id("reserve-check").check()
    shot(page, "land-tender-01-reserve-entry")
    page.get_by_test_id("save-reserve").click()
    expect(page.get_by_test_id("reserve-set")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("reserve-form")).to_have_count(0)   # write-once
    assert "12,000,000" not in page.get_by_test_id("reserve-card").inner_text()
    shot(page, "land-tender-02-reserve-sealed")

    with live_server.app.app_context():
        ctx = ServiceContext(session=db.session, clock=live_server.clock, ip="127.0.0.1")
        row = db.session.get(TenderReserve, lot_id)
        assert row.status == "sealed" and row.reserve_fen is None
        bidders = registered_bidders(ctx, code, 3)
        for b, price in zip(bidders, (1_190 * WAN, 1_250 * WAN, 1_300 * WAN), strict=True):
            submit_price(b, code, price)
        live_server.clock.set(reserve.reserve_status(ctx, code)["deadline_at"] + timedelta(minutes=1))
        open_by_custodians(ctx, code)
        assert db.session.get(TenderReserve, lot_id).reserve_fen == 12_000_000 * 100
        db.session.commit()
        db.session.remove()
    page.reload()
    expect(page.get_by_test_id("reserve-amount-opened")).to_contain_text("12,000,000.00")
    shot(page, "land-tender-03-reserve-opened")
    page.goto(f"/opening/{code}/record")
    expect(page.get_by_test_id("record-reserve-amount")).to_contain_text("12,000,000.00")
    shot(page, "land-tender-04-opening-record")
