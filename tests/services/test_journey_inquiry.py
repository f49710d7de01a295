"""The full 询价 journey through the real services (issue 4, "Done when"): 3 suppliers seal one quote
each, the custodians open them, an inquiry team is drawn, judges responsiveness and ranks by price,
signs its report; the buyer confirms rank 1 within its 5 working days — or stays silent and rank 1
stands (recorded once, by the system) — then the award (成交通知书 PDF with the amount in capitals,
the result notice naming the team), the contract and the deposit refund clocks, the archive. The
audit chain verifies and the stage history is the machine's path. Only the clock is moved."""

from __future__ import annotations

from datetime import timedelta

import pytest
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
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.clock import to_beijing
from trading.core.errors import RuleViolation
from trading.evaluation.criteria.rules import template_body
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.reports import services as reports
from trading.evaluation.scoring import services as scoring
from trading.procedures.common import stages
from trading.procedures.common.awards import result
from trading.procedures.common.awards import services as awards
from trading.procedures.common.awards.models import CandidateList
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.models import Notice

PRICES = [456_789_12, 470_000_00, 449_000_00]     # the 3rd is cheapest: rank 1


def _to_report(ctx, session, clock):
    """Publication (criteria before the deadline, a deposit) → registration → sealed quotes →
    opening → draw → responsiveness and price → report signed by every member (lot reported)."""
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="inquiry", deposit_yuan=5_000, category="goods", owner_type="gov")
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, template_body("lowest_price"))
    make_pool(ctx, 5)
    suppliers = registered_bidders(ctx, code, 3)
    for s, price in zip(suppliers, PRICES, strict=True):
        submit_price(s, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    assert trade.status == "opened"
    clock.advance(timedelta(minutes=30))
    _draw, members = draw_panel(ctx, code, size=3)
    assert trade.status == "evaluating"
    for m in members:
        for s in suppliers:
            scoring.declare(m.ctx, code, s.org.id, conflict=False)
        for s in suppliers:
            scoring.submit_sheet(m.ctx, code, s.org.id, {"decision": "score"})
    summary, _ = scoring.lot_summary(octx, code)
    assert summary.candidates == (suppliers[2].org.id, suppliers[0].org.id, suppliers[1].org.id)
    clock.advance(timedelta(hours=1))
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    assert trade.status == "reported"
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == trade.lot_id)).scalar_one()
    assert [(c.bidder_org_id, c.rank) for c in cl.candidates] == [
        (suppliers[2].org.id, 1), (suppliers[0].org.id, 2), (suppliers[1].org.id, 3)]
    return octx, trade, suppliers, members, cl


def _award_contract_archive(ctx, session, clock, octx, trade, suppliers, members, cl):
    code, winner = trade.lot_code, suppliers[2]
    names = [m.user.display_name for m in members]
    # the drawn team is what the notice lists: names typed by the buyer do not replace it
    row = result.award(octx, code, winner.org.id, team_names=["不是小组成员"])
    assert trade.status == "awarded" and row.price_fen == PRICES[2] and row.team_names == names
    notice = session.get(Notice, row.result_notice_id)
    assert notice.kind == "result" and all(n in notice.body for n in names)
    letter, data = result.letter_pdf(winner.ctx, row.letters[0].id)
    text = pdf_text(data)
    assert "449,000.00" in text and "人民币肆拾肆万玖仟元整" in text
    accounts = {a.bidder_org_id: a for a in session.execute(
        select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)).scalars()}
    assert accounts[winner.org.id].refund_due_at is None                      # GP: the others' at the result
    assert all(accounts[s.org.id].refund_due_at is not None for s in suppliers[:2])
    clock.advance(timedelta(days=2))
    result.record_contract(octx, code, to_beijing(clock.now()).date(), PRICES[2])
    session.refresh(accounts[winner.org.id])
    assert trade.status == "contracted" and accounts[winner.org.id].refund_due_at > clock.now()
    stages.advance(operator_ctx(ctx), code, "archive")
    assert trade.status == "archived" and verify(session).ok


PATH = [("start_evaluation", "opened", "evaluating"), ("submit_report", "evaluating", "reported"),
        ("confirm", "reported", "confirming"), ("award", "confirming", "awarded"),
        ("sign_contract", "awarded", "contracted"), ("archive", "contracted", "archived")]


def test_inquiry_with_three_suppliers_buyer_confirms_rank_one_then_award_and_contract(session, clock, ctx):
    octx, trade, suppliers, members, cl = _to_report(ctx, session, clock)
    code = trade.lot_code
    with pytest.raises(RuleViolation) as err:               # rank 2 needs rank 1 passed over with a reason
        awards.confirm_supplier(octx, code, suppliers[0].org.id)
    assert err.value.code == "award.rank_one_required" and trade.status == "reported"
    clock.advance(timedelta(days=1))
    awards.confirm_supplier(octx, code, suppliers[2].org.id)
    assert (cl.confirmation, cl.confirmed_bidder_org_id, trade.status) == ("buyer", suppliers[2].org.id, "confirming")
    _award_contract_archive(ctx, session, clock, octx, trade, suppliers, members, cl)
    assert stage_history(session, trade.lot_id) == [("trading_opened", None, None), ("opening.opened", None, None),
                                                    *PATH]


def test_inquiry_buyer_silent_rank_one_stands_then_award_and_contract(session, clock, ctx):
    octx, trade, suppliers, members, cl = _to_report(ctx, session, clock)
    clock.set(cl.confirm_due_at - timedelta(seconds=1))
    assert awards.record_deemed_confirmations(ctx) == [] and trade.status == "reported"
    clock.set(cl.confirm_due_at)
    with pytest.raises(RuleViolation) as err:               # the buyer's period is over
        awards.confirm_supplier(octx, trade.lot_code, suppliers[2].org.id)
    assert err.value.code == "award.confirm_period_over"
    assert awards.record_deemed_confirmations(ctx) == [cl.id]
    assert awards.record_deemed_confirmations(ctx) == []      # recorded once
    assert (cl.confirmation, cl.confirmed_bidder_org_id, trade.status) == ("deemed", suppliers[2].org.id, "confirming")
    deemed = session.execute(select(AuditEntry).where(AuditEntry.action == "award.confirmation_deemed")).scalar_one()
    assert deemed.actor_user_id is None
    clock.advance(timedelta(hours=2))
    _award_contract_archive(ctx, session, clock, octx, trade, suppliers, members, cl)
    assert stage_history(session, trade.lot_id)[-len(PATH):] == PATH
