"""/api/v1/land-tender/{lot}/parcel: anyone reads a published 招标出让 lot's parcel (empty until the
grantor records it); the owner records it with a PUT before the deadline (audited old → new), a float
area, a missing field or a mining right without its 矿种 is 422 with nothing written; another owner
403; after the deadline 409 land_tender.parcel_locked; a lot of another procedure 404."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import make_user
from tests.factories.land_tender import land_lot
from trading.audit.models import AuditEntry
from trading.extensions import db
from trading.procedures.land_tender.models import TenderParcel

PARCEL = {"subject_ref": "城区2026-21号", "location": "城区滨江路北侧", "area_m2": "12345.67",
          "land_use": "城镇住宅用地", "term_years": 70, "plot_ratio": "1.0–2.5"}


def test_anyone_reads_the_owner_records_before_the_deadline(app, ctx, session):
    owner, _octx, trade = land_lot(ctx)
    db.session.commit()
    path = f"/land-tender/{trade.lot_code}/parcel"
    anonymous = Caller(app)
    r = anonymous.get(path)
    assert r.status_code == 200, r.json
    assert r.json["recorded"] is False and r.json["area_m2"] is None and r.json["procedure"] == "land_tender"
    assert r.json["deadline_at"].endswith("+08:00")

    api = Caller(app, owner)
    r = api.call("PUT", path, PARCEL)
    assert r.status_code == 200, r.json
    assert r.json["recorded"] is True and r.json["area_m2"] == "12345.67" and r.json["area_mu"] == "18.52"
    assert r.json["term_years"] == 70 and r.json["land_use"] == "城镇住宅用地"
    got = anonymous.get(path).json
    assert got["subject_ref"] == "城区2026-21号" and got["area_mu"] == "18.52" and got["updated_at"]

    r = api.call("PUT", path, {**PARCEL, "area_m2": 12000})   # a whole number is fine
    assert r.status_code == 200 and r.json["area_m2"] == "12000.00"   # always two decimals
    entries = session.execute(select(AuditEntry).where(AuditEntry.action == "land_tender.parcel_set")
                              .order_by(AuditEntry.seq)).scalars().all()
    body = json.loads(entries[-1].body)
    assert len(entries) == 2 and "12345.67" in json.dumps(body) and '"12000"' in json.dumps(body)

    seq = audit_next_seq()
    for body, code in [({**PARCEL, "area_m2": 12345.5}, "parcel.area_m2"),
                       ({**PARCEL, "area_m2": "-1"}, "parcel.area_m2"),
                       ({**PARCEL, "location": ""}, "parcel.location"),
                       ({**PARCEL, "term_years": 71}, "parcel.term_years")]:
        r = api.call("PUT", path, body)
        assert r.status_code == 422 and r.json["error"] == code, r.json
        assert r.json["message"]
    r = api.call("PUT", path, {**PARCEL, "location": 5})          # not a string: refused by the schema
    assert r.status_code == 422
    assert audit_next_seq() == seq and anonymous.get(path).json["area_m2"] == "12000.00"

    other = Caller(app, make_user(ctx, "owner"))
    r = other.call("PUT", path, PARCEL)
    assert r.status_code == 403 and r.json["error"] == "land_tender.not_party"
    assert Caller(app, make_user(ctx, "bidder")).call("PUT", path, PARCEL).status_code == 403
    supervisor = Caller(app, make_user(ctx, "supervisor", totp=True))
    assert supervisor.get(path).status_code == 200
    assert supervisor.call("PUT", path, PARCEL).status_code == 403

    ctx.clock.set(trade.deadline_at)
    seq = audit_next_seq()
    r = api.call("PUT", path, {**PARCEL, "plot_ratio": "≤3.0"})
    assert r.status_code == 409 and r.json["error"] == "land_tender.parcel_locked"
    assert audit_next_seq() == seq
    assert session.get(TenderParcel, trade.lot_id).plot_ratio == "1.0–2.5"


def test_a_mining_right_needs_its_mineral_and_other_lots_are_404(app, ctx, session):
    owner, _octx, trade = land_lot(ctx, procedure="mining_tender", category="mining", days=35)
    db.session.commit()
    path = f"/land-tender/{trade.lot_code}/parcel"
    api = Caller(app, owner)
    r = api.call("PUT", path, {"subject_ref": "石桥镇建筑用砂岩矿采矿权"})
    assert r.status_code == 422 and r.json["error"] == "parcel.mineral"
    r = api.call("PUT", path, {"subject_ref": "石桥镇建筑用砂岩矿采矿权", "mineral": "建筑用砂岩"})
    assert r.status_code == 200 and r.json["procedure"] == "mining_tender" and r.json["area_m2"] is None
    assert Caller(app).get("/land-tender/NO-SUCH-LOT/parcel").status_code == 404
