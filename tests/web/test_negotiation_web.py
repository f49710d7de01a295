"""竞争性谈判 pages: the team's page drives start → round → change (confirmed by the buyer) → session →
close; the supplier sees the round (the sealing widget pointed at the round code) and the same changes;
the custodian submits the round's share; a second close changes nothing; outsiders get 404/403."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import login_as, make_user
from tests.factories.negotiation import opened_negotiation, quote_for, round_holders
from trading.audit.models import AuditEntry
from trading.core.clock import to_beijing
from trading.extensions import db
from trading.procedures.negotiation.models import NegotiationRound, NegotiationSession, RequirementChange


def _client(app, user):
    c = app.test_client()
    login_as(c, user)
    return c


def _csrf(client, url):
    html = client.get(url).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0] if marker in html else ""


@pytest.fixture
def neg(app, ctx):
    n = opened_negotiation(ctx)
    db.session.commit()
    return n


def _post(client, url, page, **data):
    return client.post(url, data={"csrf_token": _csrf(client, page), **data})


def test_team_page_runs_a_round_and_the_supplier_sees_the_same_change(app, ctx, clock, neg):
    op = db.session.get(type(neg.owner), neg.team.actor.user_id)
    team = _client(app, op)
    page = f"/negotiation/lots/{neg.code}"
    assert team.get(page).status_code == 200
    r = _post(team, f"{page}/start", page, team_size="3", team_experts="2")
    assert r.status_code == 302 and neg.trade.status == "negotiating"
    closes = to_beijing(clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    _post(team, f"{page}/rounds", page, closes_at=closes)
    rnd = db.session.execute(select(NegotiationRound)).scalar_one()
    assert rnd.code == f"{neg.code}-R1"
    _post(team, f"{page}/changes", page, text="质保期延长至三年")
    change = db.session.execute(select(RequirementChange)).scalar_one()
    buyer = _client(app, neg.owner)
    _post(buyer, f"{page}/changes/{change.id}/publish", page)
    db.session.refresh(change)
    assert change.status == "published" and change.confirmed_by == neg.owner.id
    _post(team, f"{page}/sessions", page, bidder_org_id=str(neg.suppliers[0].org.id), minutes="就交货期进行了谈判")
    assert db.session.execute(select(func.count()).select_from(NegotiationSession)).scalar_one() == 1

    for s in neg.suppliers:
        html = _client(app, s.user).get(f"/negotiation/my/{neg.code}").get_data(as_text=True)
        assert "质保期延长至三年" in html and f'data-lot="{rnd.code}"' in html
        assert 'data-api="/api/v1/negotiation"' in html
    quote_for(rnd, neg.suppliers[0], 123_000_00)
    db.session.commit()

    clock.set(rnd.closes_at)
    _post(team, f"{page}/rounds/close", page)
    db.session.refresh(rnd)
    closed_at = rnd.closed_at
    assert closed_at is not None
    entries = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    clock.advance(timedelta(minutes=1))
    again = _post(team, f"{page}/rounds/close", page)
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(NegotiationRound, rnd.id).closed_at == closed_at
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == entries

    # the round's custodians open it from their page
    rnd = db.session.get(NegotiationRound, rnd.id)
    for user, passphrase in round_holders(ctx, rnd)[:rnd.k]:
        c = _client(app, user)
        assert rnd.code in c.get("/negotiation/custody").get_data(as_text=True)
        _post(c, f"/negotiation/custody/{rnd.code}", "/negotiation/custody", passphrase=passphrase)
    db.session.expire_all()
    assert db.session.get(NegotiationRound, rnd.id).quotes_opened_at is not None
    assert "123,000.00" in team.get(page).get_data(as_text=True)


def test_outsiders_do_not_see_the_negotiation(app, ctx, neg):
    other_owner = _client(app, make_user(ctx, "owner"))
    assert other_owner.get(f"/negotiation/lots/{neg.code}").status_code == 404
    outsider = _client(app, make_user(ctx, "bidder"))
    assert outsider.get(f"/negotiation/my/{neg.code}").status_code == 404
    assert _client(app, neg.suppliers[0].user).get(f"/negotiation/lots/{neg.code}").status_code == 403


def test_index_lists_the_negotiation_for_its_parties_only(app, ctx, clock, neg):
    from trading.procedures.negotiation import services

    op = db.session.get(type(neg.owner), neg.team.actor.user_id)
    assert neg.code in _client(app, op).get("/negotiation/").get_data(as_text=True)  # waiting to start
    services.start_negotiation(neg.team, neg.code, team_size=3, team_experts=2)
    services.open_round(neg.team, neg.code, closes_at=clock.now() + timedelta(hours=1))
    db.session.commit()
    assert f"/negotiation/my/{neg.code}" in _client(app, neg.suppliers[0].user).get("/negotiation/").get_data(as_text=True)
    assert neg.code in _client(app, neg.owner).get("/negotiation/").get_data(as_text=True)
    assert neg.code not in _client(app, make_user(ctx, "bidder")).get("/negotiation/").get_data(as_text=True)
    assert neg.code not in _client(app, make_user(ctx, "owner")).get("/negotiation/").get_data(as_text=True)
    holder, _ = round_holders(ctx, db.session.execute(select(NegotiationRound)).scalar_one())[0]
    assert 'data-testid="custody-due"' in _client(app, holder).get("/negotiation/").get_data(as_text=True)
