"""招标出让 reserve price (底价) pages: the lot page says whether the lot has a reserve (undecided / none /
sealed) to everyone, offers the owner the browser sealing form (the auction reserve's script, pointed
at the land tender API) and a 'no reserve' button before the deadline; recording none is refused a
second time with its message; the opening record shows the opened amount to the owner and the centre,
not to a bidder (nor the public on the lot page)."""

from __future__ import annotations

from datetime import timedelta

from tests.factories.accounts import csrf_token, login_as, make_user
from tests.factories.auctions import seal_reserve_envelope
from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price
from tests.factories.land_tender import CRITERIA, WAN, land_lot
from trading.evaluation.criteria.services import set_criteria
from trading.extensions import db
from trading.procedures.land_tender import reserve
from trading.procedures.land_tender.models import TenderReserve

RESERVE = 1_200 * WAN


def test_owner_form_and_recording_no_reserve(ctx, client, session):
    owner, _octx, trade = land_lot(ctx)
    db.session.commit()
    page = f"/land-tender/{trade.lot_code}"
    public = client.get(page).get_data(as_text=True)
    assert 'data-testid="reserve-undecided"' in public and 'data-testid="reserve-form"' not in public

    login_as(client, owner)
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="reserve-form"' in html and 'data-testid="reserve-none-form"' in html
    assert f'data-start-url="/api/v1/land-tender/{trade.lot_code}/reserve/start"' in html
    assert "js/auction-reserve.js" in html
    token = csrf_token(client, page)
    r = client.post(f"{page}/reserve/none", data={"csrf_token": token})
    assert r.status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert 'data-testid="reserve-none"' in html and "本标段不设底价。" in html
    assert 'data-testid="reserve-form"' not in html
    again = client.post(f"{page}/reserve/none", data={"csrf_token": token})
    assert again.status_code == 409 and "不能修改" in again.get_data(as_text=True)
    assert session.get(TenderReserve, trade.lot_id).status == "none"


def test_the_opening_record_shows_the_amount_only_to_those_allowed(ctx, client, session, clock):
    owner, octx, trade = land_lot(ctx)
    set_criteria(octx, trade.lot_code, CRITERIA)
    info = reserve.start_reserve(octx, trade.lot_code)
    manifest, payload, signer = seal_reserve_envelope(info, RESERVE)
    reserve.put_reserve(octx, trade.lot_code, submission_id=info["submission_id"], manifest_raw=manifest,
                        payload=payload, signer_public=signer)
    bidders = registered_bidders(ctx, trade.lot_code, 3)
    for b, price in zip(bidders, (1_190 * WAN, 1_250 * WAN, 1_300 * WAN), strict=True):
        submit_price(b, trade.lot_code, price)
    db.session.commit()
    sealed = client.get(f"/land-tender/{trade.lot_code}").get_data(as_text=True)
    assert 'data-testid="reserve-set"' in sealed and "12,000,000" not in sealed and "12000000" not in sealed

    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    db.session.commit()
    url = f"/opening/{trade.lot_code}/record"
    anon = client.get(f"/land-tender/{trade.lot_code}").get_data(as_text=True)   # the record page needs a login
    assert 'data-testid="reserve-set"' in anon and 'data-testid="reserve-amount-opened"' not in anon
    for user in (bidders[0].user, owner, make_user(ctx, "operator")):
        db.session.commit()
        login_as(client, user)
        html = client.get(url).get_data(as_text=True)
        shown = 'data-testid="record-reserve-amount"' in html
        assert 'data-testid="record-reserve"' in html
        assert shown is (user is not bidders[0].user), user
        lot_page = client.get(f"/land-tender/{trade.lot_code}").get_data(as_text=True)
        assert ('data-testid="reserve-amount-opened"' in lot_page) is shown
