"""The full 竞争性谈判 journey through the real services, from publication to archive (issue 4, "Done
when"). tests/services/test_negotiation_services.py's journey starts from opening results written
directly and stops when the lot enters the evaluation; this one seals the first responses, has the
custodians open them, draws the negotiation team, runs 3 rounds (a requirements change in round 2,
confirmed by the buyer, seen identically by every supplier) and the final offers, evaluates on the
final prices, the team signs its report, the buyer confirms rank 1, then the award (成交通知书 with
the final price in capitals), the contract, the deposit refund clocks and the archive. The audit
chain verifies; the stage history is the machine's path. Only the clock is moved."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories.accounts import actor_ctx
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.experts import operator_ctx
from tests.factories.journeys import (
    draw_panel,
    make_pool,
    open_by_custodians,
    pdf_text,
    registered_bidders,
    stage_history,
    submit_price,
)
from tests.factories.negotiation import open_round_by_custodians, quote_for
from trading.audit.services import verify
from trading.core.clock import to_beijing
from trading.evaluation.criteria.rules import template_body
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.reports import services as reports
from trading.evaluation.scoring import services as scoring
from trading.procedures.common import stages
from trading.procedures.common.awards import result
from trading.procedures.common.awards import services as awards
from trading.procedures.common.awards.models import CandidateList
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.negotiation import quotes
from trading.procedures.negotiation import services as negotiation

FIRST = [1_000_000_00, 990_000_00, 1_010_000_00]
ROUNDS = [[960_000_00, 955_000_00, 970_000_00],          # round 1
          [930_000_00, 940_000_00, 935_000_00],          # round 2 (after the change)
          [910_000_00, 915_000_00, 905_000_00]]          # round 3
FINAL = [887_654_30, 899_000_00, 893_000_00]             # the first supplier's final offer is lowest
CHANGE = "交货期由 60 日改为 45 日，质保期延长至 3 年"


def _close_and_open(team, code, clock, ctx, rnd):
    clock.set(rnd.closes_at)
    negotiation.close_round(team, code)
    open_round_by_custodians(ctx, rnd)
    assert rnd.quotes_opened_at is not None


def test_negotiation_with_three_suppliers_three_rounds_from_publication_to_archive(session, clock, ctx):
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="negotiation", deposit_yuan=5_000, category="goods", owner_type="gov")
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, template_body("lowest_price"))
    make_pool(ctx, 5)
    suppliers = registered_bidders(ctx, code, 3)
    for s, price in zip(suppliers, FIRST, strict=True):
        submit_price(s, code, price)

    # first responses opened by the custodians; the team drawn and started; the negotiation starts
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    assert trade.status == "opened"
    clock.advance(timedelta(minutes=20))
    _draw, members = draw_panel(ctx, code, size=3)
    assert trade.status == "opened"                      # 谈判 enters the evaluation with its final offers
    team = operator_ctx(ctx)
    case = negotiation.start_negotiation(team, code)
    assert (trade.status, case.team_size, case.team_experts) == ("negotiating", 3, 3)
    assert {s.bidder_org_id for s in negotiation.active_suppliers(team, trade.lot_id)} == {s.org.id for s in suppliers}

    for no, prices in enumerate(ROUNDS, start=1):
        rnd = negotiation.open_round(team, code, closes_at=clock.now() + timedelta(hours=2))
        assert rnd.no == no
        if no == 2:  # the team proposes a change, the buyer confirms it, every supplier sees the same
            change = negotiation.propose_requirement_change(team, code, CHANGE)
            negotiation.publish_requirement_change(octx, change.id)
            seen = [[(c.id, c.text, c.published_at) for c in negotiation.published_changes(s.ctx, code)]
                    for s in suppliers]
            assert seen == [[(change.id, CHANGE, clock.now())]] * 3
        for s, price in zip(suppliers, prices, strict=True):
            negotiation.record_session(team, code, s.org.id, f"第{no}轮与供应商单独谈判，确认技术响应")
            quote_for(rnd, s, price)
        _close_and_open(team, code, clock, ctx, rnd)
        assert sorted(q.price_fen for q in quotes.accepted_quotes(team, rnd)) == sorted(prices)

    final = negotiation.call_final_offers(team, code, closes_at=clock.now() + timedelta(hours=2))
    assert (trade.status, final.kind, final.no) == ("final_offers", "final", 4)
    for s, price in zip(suppliers, FINAL, strict=True):
        quote_for(final, s, price)
    _close_and_open(team, code, clock, ctx, final)
    assert quotes.final_prices(session, trade.lot_id) == {s.org.id: p for s, p in zip(suppliers, FINAL, strict=True)}
    negotiation.close_final_offers(team, code)
    assert trade.status == "evaluating"

    # the evaluation on the final prices: responsiveness, then the lowest final price ranks first
    clock.advance(timedelta(minutes=30))
    for m in members:
        for s in suppliers:
            scoring.declare(m.ctx, code, s.org.id, conflict=False)
        for s in suppliers:
            scoring.submit_sheet(m.ctx, code, s.org.id, {"decision": "score"})
    summary, _ = scoring.lot_summary(octx, code)
    assert summary.candidates == (suppliers[0].org.id, suppliers[2].org.id, suppliers[1].org.id)
    assert {r.org_id: r.price_fen for r in summary.rows} == {s.org.id: p for s, p in zip(suppliers, FINAL, strict=True)}
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    assert trade.status == "reported"
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == trade.lot_id)).scalar_one()
    assert [(c.bidder_org_id, c.rank, c.price_fen) for c in cl.candidates] == [
        (suppliers[0].org.id, 1, FINAL[0]), (suppliers[2].org.id, 2, FINAL[2]), (suppliers[1].org.id, 3, FINAL[1])]

    # the buyer confirms rank 1 within its period; the award, the letter, the contract, the archive
    clock.advance(timedelta(days=1))
    awards.confirm_supplier(octx, code, suppliers[0].org.id)
    assert trade.status == "confirming"
    names = [m.user.display_name for m in members]
    row = result.award(octx, code, suppliers[0].org.id, team_names=names)
    assert trade.status == "awarded" and row.price_fen == FINAL[0]
    _letter, data = result.letter_pdf(suppliers[0].ctx, row.letters[0].id)
    text = pdf_text(data)
    assert "887,654.30" in text and "人民币捌拾捌万柒仟陆佰伍拾肆元叁角" in text
    clock.advance(timedelta(days=2))
    result.record_contract(octx, code, to_beijing(clock.now()).date(), FINAL[0])
    assert trade.status == "contracted"
    accounts = session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)).scalars().all()
    assert len(accounts) == 3 and all(a.refund_due_at is not None for a in accounts)
    stages.advance(operator_ctx(ctx), code, "archive")
    assert trade.status == "archived"

    assert verify(session).ok
    rounds = [("close_round", "negotiating", "negotiating")] * 3
    assert stage_history(session, trade.lot_id) == [
        ("trading_opened", None, None), ("opening.opened", None, None),
        ("start_negotiation", "opened", "negotiating"), *rounds,
        ("call_final_offers", "negotiating", "final_offers"), ("close_round", "final_offers", "final_offers"),
        ("close_final_offers", "final_offers", "evaluating"), ("submit_report", "evaluating", "reported"),
        ("confirm", "reported", "confirming"), ("award", "confirming", "awarded"),
        ("sign_contract", "awarded", "contracted"), ("archive", "contracted", "archived")]
