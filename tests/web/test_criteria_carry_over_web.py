"""The criteria page of a re-announced attempt says its criteria were carried over from the failed
attempt (and which version), and the owner can still save a change."""

from __future__ import annotations

from tests.factories.accounts import login_as
from tests.services.test_reannounce_carry_over import _failed_lot, _reannounce
from trading.accounts.models import User
from trading.evaluation.criteria import services as criteria
from trading.extensions import db


def test_the_criteria_page_names_the_attempt_they_came_from(client, ctx, clock):
    octx, trade, _old = _failed_lot(ctx)
    new = _reannounce(octx, trade, clock)
    db.session.commit()
    login_as(client, db.session.get(User, octx.actor.user_id))
    html = client.get(f"/evaluation/{new.lot_code}/criteria").get_data(as_text=True)
    assert 'data-testid="carried"' in html and trade.lot_code in html and "第 1 版" in html
    assert 'data-testid="criteria-locked"' not in html
    assert criteria.latest(db.session, new.lot_id).version == 1
