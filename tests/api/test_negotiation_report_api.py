"""POST /api/v1/negotiation/lots/{code}/report: the team's 谈判报告 through the API door — before the
final-offer stage is closed 409, a second time 409, a supplier 403, bad exclusions 422; each refusal
with code + message and nothing changed; the first report proposes the candidates (201)."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.negotiation import final_offers_closed
from trading.accounts.models import User
from trading.extensions import db
from trading.procedures.common.awards.models import CandidateList
from trading.procedures.negotiation import services

FINALS = [887_654_30, 899_000_00, 893_000_00]


def _team(app, neg) -> Caller:
    return Caller(app, db.session.get(User, neg.team.actor.user_id))


def test_the_report_is_refused_before_the_final_stage_closes_then_accepted_once(app, session, ctx, clock):
    neg = final_offers_closed(ctx, FINALS, close=False)
    db.session.commit()
    team, path = _team(app, neg), f"/negotiation/lots/{neg.code}/report"
    seq = audit_next_seq()
    early = team.post(path, {})
    assert early.status_code == 409 and early.json["error"] == "negotiation.final_not_closed" and early.json["message"]
    assert audit_next_seq() == seq

    services.close_final_offers(neg.team, neg.code)
    db.session.commit()
    seq = audit_next_seq()
    assert Caller(app, neg.suppliers[0].user).post(path, {}).status_code == 403
    bad = team.post(path, {"excluded": [{"bidder_org_id": neg.suppliers[0].org.id, "reason": "短"}]})
    assert bad.status_code == 422 and bad.json["error"] == "negotiation.excluded_reason"
    typed = team.post(path, {"excluded": [{"bidder_org_id": "1", "reason": "报价明显低于成本价"}]})
    assert typed.status_code == 422 and "excluded" in str(typed.json["fields"])
    assert audit_next_seq() == seq

    ok = team.post(path, {"opinion": "按最后报价由低到高推荐。"})
    assert ok.status_code == 201, ok.json
    a, b, c = (s.org.id for s in neg.suppliers)
    assert ok.json["outcome"] == "recommended" and ok.json["lot_status"] == "reported"
    assert [(r["bidder_org_id"], r["rank"]) for r in ok.json["ranking"]] == [(a, 1), (c, 2), (b, 3)]
    assert ok.json["ranking"][0]["price_capitals"] == "人民币捌拾捌万柒仟陆佰伍拾肆元叁角整"
    seq = audit_next_seq()
    again = team.post(path, {})
    assert again.status_code == 409 and again.json["error"] == "negotiation.already_reported"
    assert audit_next_seq() == seq
    assert db.session.execute(select(func.count()).select_from(CandidateList)).scalar_one() == 1


def test_the_report_is_in_the_openapi_document(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    op = doc["paths"]["/api/v1/negotiation/lots/{lot_code}/report"]["post"]
    assert op["operationId"] == "negotiation_report" and "409" in op["responses"]
