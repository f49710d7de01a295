"""The 谈判小组's report (74号令 Art. 35, 37) through the services: after the final-offer stage is
closed the team records its report, the responsive suppliers are ranked by final price from low to
high and the first ones proposed as 成交候选人 (same transaction, audited); refused before the final
stage closes and when recorded already (409, nothing changed); fewer responsive suppliers than the
minimum end the negotiation; the buyer then confirms the lowest price and awards."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.factories.negotiation import final_offers_closed
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.errors import Conflict, Forbidden, InvalidInput
from trading.procedures.common.awards import result
from trading.procedures.common.awards import services as awards
from trading.procedures.common.awards.models import Candidate, CandidateList
from trading.procedures.negotiation import rules, services
from trading.procedures.negotiation.models import NegotiationReport

FINALS = [887_654_30, 899_000_00, 893_000_00, 905_000_00]


def _audit(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def _actions(session, action: str) -> list[dict]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()
    return [json.loads(e.body)["payload"] for e in rows]


def test_the_report_ranks_responsive_suppliers_by_final_price_and_proposes_three(session, clock, ctx):
    neg = final_offers_closed(ctx, FINALS)
    a, b, c, d = (s.org.id for s in neg.suppliers)
    assert neg.trade.status == "evaluating"
    report = services.report_negotiation(neg.team, neg.code, excluded={b: "售后服务响应时间不满足谈判文件第三章要求"},
                                         opinion="按最后报价由低到高推荐成交候选人。")
    assert neg.trade.status == "reported"
    assert report.outcome == "recommended"
    assert [(r["bidder_org_id"], r["price_fen"], r["rank"]) for r in report.ranking] == [
        (a, 887_654_30, 1), (c, 893_000_00, 2), (d, 905_000_00, 3)]
    assert report.excluded == {str(b): "售后服务响应时间不满足谈判文件第三章要求"}
    cl = session.get(CandidateList, report.candidate_list_id)
    assert (cl.regime, cl.status, cl.confirm_due_at is not None) == ("gp", "proposed", True)
    assert [(x.rank, x.bidder_org_id, x.price_fen) for x in cl.candidates] == [
        (1, a, 887_654_30), (2, c, 893_000_00), (3, d, 905_000_00)]
    # audited in order: the report, the step, the candidates — one transaction, the chain verifies
    seqs = {act: session.execute(select(AuditEntry.seq).where(AuditEntry.action == act)).scalar_one()
            for act in ("negotiation.reported", "lot.report_negotiation", "award.candidates_proposed")}
    assert seqs["negotiation.reported"] < seqs["lot.report_negotiation"] < seqs["award.candidates_proposed"]
    assert _actions(session, "negotiation.reported")[0]["outcome"] == "recommended"
    verify(session)

    # the awards package takes it from there: the buyer confirms rank 1 and awards
    awards.confirm_supplier(neg.owner_ctx, neg.code, a)
    row = result.award(neg.owner_ctx, neg.code, a, team_names=["周工", "吴工", "郑工"])
    assert (row.bidder_org_id, row.price_fen, neg.trade.status) == (a, 887_654_30, "awarded")


def test_refused_before_the_final_stage_closes_and_nothing_changes(session, clock, ctx):
    neg = final_offers_closed(ctx, FINALS[:3], close=False)
    assert neg.trade.status == "final_offers"
    before = _audit(session)
    with pytest.raises(Conflict) as err:
        services.report_negotiation(neg.team, neg.code)
    assert err.value.code == "negotiation.final_not_closed" and err.value.status == 409
    assert _audit(session) == before and neg.trade.status == "final_offers"
    assert session.execute(select(func.count()).select_from(NegotiationReport)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(CandidateList)).scalar_one() == 0


def test_a_second_report_is_a_conflict_and_nothing_changes(session, clock, ctx):
    neg = final_offers_closed(ctx, FINALS[:3])
    services.report_negotiation(neg.team, neg.code)
    before = _audit(session)
    with pytest.raises(Conflict) as err:
        services.report_negotiation(neg.team, neg.code, excluded={neg.suppliers[0].org.id: "报价明显低于成本"})
    assert err.value.code == "negotiation.already_reported" and err.value.status == 409
    assert _audit(session) == before
    assert session.execute(select(func.count()).select_from(CandidateList)).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(Candidate)).scalar_one() == 3


def test_fewer_responsive_than_three_terminates_the_negotiation(session, clock, ctx):
    neg = final_offers_closed(ctx, FINALS[:3])
    report = services.report_negotiation(neg.team, neg.code,
                                         excluded={neg.suppliers[1].org.id: "所投产品技术参数不满足实质性要求"})
    assert (report.outcome, neg.trade.status, report.candidate_list_id) == ("terminated", "terminated", None)
    assert len(report.ranking) == 2
    assert "不足 3 家" in _actions(session, "lot.terminate")[0]["reason"]
    assert session.execute(select(func.count()).select_from(CandidateList)).scalar_one() == 0
    verify(session)


@pytest.mark.parametrize("excluded, code", [
    ({"x": "理由写得足够长"}, "negotiation.excluded_unknown"),
    ({999_999: "理由写得足够长"}, "negotiation.excluded_unknown"),
    ("not a mapping", "negotiation.excluded"),
    (None, None),
])
def test_bad_exclusions_are_refused_before_anything_is_written(session, clock, ctx, excluded, code):
    neg = final_offers_closed(ctx, FINALS[:3])
    if code is None:  # the reason check, on a real supplier
        excluded, code = {neg.suppliers[0].org.id: "短"}, "negotiation.excluded_reason"
    before = _audit(session)
    with pytest.raises(InvalidInput) as err:
        services.report_negotiation(neg.team, neg.code, excluded=excluded)
    assert err.value.code == code
    assert _audit(session) == before and neg.trade.status == "evaluating"


def test_only_the_team_records_the_report(session, clock, ctx):
    neg = final_offers_closed(ctx, FINALS[:3])
    for who in (neg.owner_ctx, neg.suppliers[0].ctx):
        with pytest.raises(Forbidden):
            services.report_negotiation(who, neg.code)
    assert neg.trade.status == "evaluating"


@pytest.mark.parametrize("excluded, enough, ranked", [
    ((), True, [3, 1, 2, 4]),
    ((3,), True, [1, 2, 4]),
    ((3, 1), False, [2, 4]),
])
def test_recommend_table(excluded, enough, ranked):
    from datetime import UTC, datetime

    at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    offers = [rules.FinalOffer(1, 900, at, "B"), rules.FinalOffer(2, 950, at, "C"), rules.FinalOffer(3, 900, at, "A"),
              rules.FinalOffer(4, 960, at, "D"), rules.FinalOffer(5, None, at, "E"),
              rules.FinalOffer(6, 800, at, "F", responsive=False)]
    rec = rules.recommend(offers, set(excluded), min_needed=3, max_candidates=3)
    assert rec.enough is enough
    assert [o.bidder_org_id for o in rec.ranked] == ranked
    assert [o.bidder_org_id for o in rec.candidates] == (ranked[:3] if enough else [])
