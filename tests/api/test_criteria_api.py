"""/api/v1/lots/{lot}/criteria: the owner reads and sets a lot's criteria; bad bodies 422 with nothing
written, after the deadline 409 criteria.locked; floats refused; another organisation gets 404."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import actor_ctx, make_user
from tests.factories.evaluation import CRITERIA
from tests.factories.notices import make_notice, notice_project
from trading.evaluation.criteria.models import LotCriteria
from trading.extensions import db
from trading.procedures.common.models import LotTrade


def _lot(ctx, session, clock):
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="selection")
    notice = make_notice(actor_ctx(session, clock, owner), project)
    lot = project.lots[0]
    session.add(LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                         procedure="selection", sealed=True, deadline_at=notice.deadline_at, max_part_bytes=1,
                         deposit_fen=0, min_valid_offers=3, status="accepting", status_changed_at=clock.now(),
                         created_at=clock.now()))
    db.session.commit()
    return owner, lot.code, notice.deadline_at


def versions(session) -> int:
    return session.execute(select(func.count()).select_from(LotCriteria)).scalar_one()


def test_put_and_get_criteria(app, ctx, session, clock):
    owner, code, deadline = _lot(ctx, session, clock)
    api = Caller(app, owner)
    path = f"/lots/{code}/criteria"
    r = api.get(path)
    assert r.status_code == 404 and r.json["error"] == "criteria.missing"
    r = api.call("PUT", path, CRITERIA)
    assert r.status_code == 200, r.json
    assert r.json["version"] == 1 and r.json["price_weight"] == "40" and r.json["editable"] is True
    assert api.get(path).json["sha256"] == r.json["sha256"]

    seq = audit_next_seq()
    for body, code_ in [({**CRITERIA, "price_weight": 40.0}, "criteria.points"),
                        ({**CRITERIA, "price_weight": "45"}, "criteria.total"),
                        ({**CRITERIA, "items": [{**CRITERIA["items"][0], "max": "0"}]}, "criteria.item_max")]:
        r = api.call("PUT", path, body)
        assert r.status_code == 422 and r.json["error"] == code_, r.json
    assert versions(session) == 1 and audit_next_seq() == seq

    other = Caller(app, make_user(ctx, "owner"))
    assert other.call("PUT", path, CRITERIA).status_code == 404
    assert Caller(app, make_user(ctx, "bidder")).get(path).status_code == 403

    clock.set(deadline)
    r = api.call("PUT", path, {**CRITERIA, "tie_break": "draw"})
    assert r.status_code == 409 and r.json["error"] == "criteria.locked"
    assert versions(session) == 1
    assert api.get(path).json["editable"] is False
