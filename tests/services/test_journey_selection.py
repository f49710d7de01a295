"""The full 比选 journey through the real services (issue 4, "Done when"): 4 bidders, one rejected by
the committee for a missing qualification — publication (criteria set before the deadline, a
deposit), registration, sealed offers, the deadline, the custodians' opening, the expert draw,
conflict declarations, score sheets, the summary, the report signed by every member, the candidates
proposed and publicized, an objection filed and answered during the publicity, the award after the
publicity (the letter PDF with the amount in capitals), the contract, the deposit refund clocks, the
archive. The audit chain verifies and the stage history is the machine's path. The clock is moved
between instants; nothing is written to a status or a row directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.evaluation import CRITERIA, sheet
from tests.factories.experts import operator_ctx
from tests.factories.journeys import (
    draw_panel,
    make_pool,
    member_of,
    open_by_custodians,
    pdf_text,
    registered_bidders,
    stage_history,
    submit_price,
)
from trading.audit.services import verify
from trading.core.clock import to_beijing
from trading.core.errors import Conflict, RuleViolation
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.draw.models import ExpertDraw
from trading.evaluation.draw.services import verify_draw
from trading.evaluation.panels import PanelMember
from trading.evaluation.reports import services as reports
from trading.evaluation.scoring import services as scoring
from trading.procedures.common import stages
from trading.procedures.common.awards import objections, result
from trading.procedures.common.awards import services as awards
from trading.procedures.common.awards.models import CandidateList
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.opening.models import OpeningRecord

PRICES = [812_345_67, 845_000_00, 830_000_00, 790_000_00]   # the cheapest (4th) lacks a qualification
REJECT = {"decision": "reject", "reject_code": "R1", "reject_note": "未提供安全生产许可证"}
SCORES = [("36", "18"), ("32", "16"), ("30", "15")]          # technical/commercial for bidders 1-3


def test_selection_with_four_bidders_one_rejected_from_publication_to_archive(session, clock, ctx):
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, CRITERIA)                       # before the deadline
    make_pool(ctx, 6)

    bidders = registered_bidders(ctx, code, 4)
    for b, price in zip(bidders, PRICES, strict=True):
        submit_price(b, code, price)
    accounts = session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)).scalars().all()
    assert len(accounts) == 4 and all(a.refund_due_at is None for a in accounts)

    # the deadline passes; the custodians open the lot at the opening time
    clock.set(trade.deadline_at + timedelta(minutes=1))
    with pytest.raises(Conflict):                            # criteria are locked after the deadline
        set_criteria(octx, code, CRITERIA)
    open_by_custodians(ctx, code)
    assert trade.status == "opened"
    record = session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one()
    assert record.valid_offers == 4

    # the expert draw: requested (seed committed), run (revealed), the panel started
    clock.advance(timedelta(minutes=30))
    draw, members = draw_panel(ctx, code, size=3)
    assert trade.status == "evaluating" and len(members) == 3
    assert verify_draw(session, draw.id).ok

    # the third member finds a relation with bidder 2 and declares it: replaced by the same random
    # method (a replacement draw, verifiable too); the others and the newcomer declare no conflict
    leaving = members[2]
    scoring.declare(leaving.ctx, code, bidders[0].org.id, conflict=False)
    scoring.declare(leaving.ctx, code, bidders[1].org.id, conflict=True, note="三年内曾在该公司任职")
    session.refresh(leaving.member)
    assert leaving.member.status == "replaced" and leaving.member.replaced_by_id is not None
    newcomer = member_of(ctx, session.get(PanelMember, leaving.member.replaced_by_id))
    assert newcomer.member.expert_id != leaving.member.expert_id
    replacement = session.execute(select(ExpertDraw).where(ExpertDraw.lot_id == trade.lot_id,
                                                           ExpertDraw.purpose == "replacement")).scalar_one()
    assert leaving.member.expert_id not in replacement.eligible_ids and verify_draw(session, replacement.id).ok
    members = [*members[:2], newcomer]

    # each member declares no conflict with any bidder, then scores; all reject the 4th (R1)
    for m in members:
        for b in bidders:
            if b.org.id not in scoring.declarations(m.ctx, m.member.id):
                scoring.declare(m.ctx, code, b.org.id, conflict=False)
        for b, pair in zip(bidders[:3], SCORES, strict=True):
            scoring.submit_sheet(m.ctx, code, b.org.id, sheet(*pair))
        scoring.submit_sheet(m.ctx, code, bidders[3].org.id, REJECT)
    summary, _ = scoring.lot_summary(octx, code)
    rows = {r.org_id: r for r in summary.rows}
    assert rows[bidders[3].org.id].rejected and rows[bidders[3].org.id].reject_reasons == ("R1",)
    assert [rows[b.org.id].rank for b in bidders[:3]] == [1, 2, 3]
    # the rejected offer's lower price does not count: the lowest valid price takes the full 40 points
    assert rows[bidders[0].org.id].price_score == 40 and rows[bidders[1].org.id].price_score < 40

    # the report, signed by every member with a fresh two-factor code; the last signature finalises it
    clock.advance(timedelta(hours=2))
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    assert report.status == "final" and trade.status == "reported"
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == trade.lot_id)).scalar_one()
    assert [(c.bidder_org_id, c.rank, c.price_fen) for c in cl.candidates] == [
        (b.org.id, i, p) for i, (b, p) in enumerate(zip(bidders[:3], PRICES[:3], strict=True), start=1)]

    # the candidate publicity; an objection filed and answered during it
    clock.advance(timedelta(hours=1))
    notice = awards.publish_candidates(octx, code)
    assert trade.status == "publicity" and notice.kind == "candidates"
    clock.advance(timedelta(days=1))
    obj = objections.file_objection(bidders[1].ctx, code, "第一名的项目经理同期在其他在建项目任职，请核查。")
    with pytest.raises(RuleViolation) as early:              # not before the publicity ends, nor with one open
        result.award(octx, code, bidders[0].org.id)
    assert early.value.details["problems"] == ["award.publicity_running", "award.objection_open"]
    assert trade.status == "publicity"
    clock.advance(timedelta(hours=5))
    objections.answer_objection(octx, obj.id, "经核查，该项目经理已于比选前办理变更，异议不成立。")
    assert obj.status == "answered" and not obj.late

    # the award after the publicity: result notice, letters (PDF with the amount in capitals)
    clock.set(cl.publicity_until)
    row = result.award(octx, code, bidders[0].org.id)
    assert trade.status == "awarded" and row.price_fen == PRICES[0]
    letter, data = result.letter_pdf(bidders[0].ctx, row.letters[0].id)
    text = pdf_text(data)
    assert data.startswith(b"%PDF") and "812,345.67" in text and "人民币捌拾壹万贰仟叁佰肆拾伍元陆角柒分" in text
    assert letter.number in text

    # the contract record starts every bidder's deposit refund clock (比选: 5 days)
    clock.advance(timedelta(days=3))
    rec = result.record_contract(octx, code, to_beijing(clock.now()).date(), PRICES[0])
    assert trade.status == "contracted" and not rec.late
    for a in accounts:
        session.refresh(a)
        assert a.refund_due_at is not None and a.refund_due_at > clock.now()

    # the centre archives the lot
    stages.advance(operator_ctx(ctx), code, "archive")
    assert trade.status == "archived"

    assert verify(session).ok
    # the opening (accepting → opening → opened) is the opening code's own step (opening.opened)
    assert stage_history(session, trade.lot_id) == [
        ("trading_opened", None, None), ("opening.opened", None, None),
        ("start_evaluation", "opened", "evaluating"), ("submit_report", "evaluating", "reported"),
        ("publicize", "reported", "publicity"), ("award", "publicity", "awarded"),
        ("sign_contract", "awarded", "contracted"), ("archive", "contracted", "archived")]


def test_selection_whose_offers_are_all_rejected_fails_in_the_evaluation_and_is_reannounced(session, clock, ctx):
    """Every offer rejected by the committee: no report can be made (no candidate), so the committee
    records the 流标 from the evaluation (the machine's evaluating → failed, guarded by the count of
    qualified offers), the panel closes, and the owner's re-announcement opens the next attempt.
    With enough qualified offers the same step is refused and nothing changes."""
    from tests.factories.notices import bj_at, make_notice
    from trading.evaluation.panels import Panel
    from trading.procedures.common import services as notices
    from trading.procedures.common.models import LotTrade
    from trading.projects.models import Project

    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, CRITERIA)
    make_pool(ctx, 4)
    bidders = registered_bidders(ctx, code, 3)
    for b, price in zip(bidders, PRICES, strict=False):
        submit_price(b, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    _draw, members = draw_panel(ctx, code, size=3)
    for m in members:
        for b in bidders:
            scoring.declare(m.ctx, code, b.org.id, conflict=False)
    for m in members[:2]:  # not every sheet in yet: refused
        for b in bidders:
            scoring.submit_sheet(m.ctx, code, b.org.id, REJECT)
    with pytest.raises(Conflict) as early:
        reports.fail_evaluation(members[0].ctx, code, "全部比选申请文件均被否决")
    assert early.value.code == "evaluation.summary_not_ready" and trade.status == "evaluating"
    for b in bidders:
        scoring.submit_sheet(members[2].ctx, code, b.org.id, REJECT)
    with pytest.raises(Conflict) as none:
        reports.generate_report(members[0].ctx, code)
    assert none.value.code == "report.no_candidates"

    reports.fail_evaluation(members[0].ctx, code, "全部比选申请文件均被否决")
    panel = session.execute(select(Panel).where(Panel.lot_id == trade.lot_id)).scalar_one()
    assert trade.status == "failed" and panel.status == "closed"
    assert stage_history(session, trade.lot_id)[-1] == ("fail", "evaluating", "failed")

    clock.advance(timedelta(days=1))
    project = session.get(Project, trade.project_id)
    notice = make_notice(octx, project, lot_id=trade.lot_id, deadline_at=bj_at(clock.now(), 12),
                         opening_at=bj_at(clock.now(), 12))
    notices.publish_notice(octx, notice.id)
    new = session.execute(select(LotTrade).where(LotTrade.previous_lot_id == trade.lot_id)).scalar_one()
    assert trade.status == "reannounced" and (new.cycle, new.status) == (2, "accepting")
    assert verify(session).ok


def test_the_evaluation_cannot_fail_a_selection_with_enough_qualified_offers(session, clock, ctx):
    from tests.factories.evaluation import evaluation_lot, fill_and_submit
    from trading.audit.models import AuditEntry
    from trading.core.errors import DomainError

    ev = evaluation_lot(ctx)
    fill_and_submit(ev)
    before = session.query(AuditEntry).count()
    with pytest.raises(RuleViolation) as err:
        reports.fail_evaluation(ev.members[0].ctx, ev.code, "评审委员会认为竞争不充分")
    assert (err.value.code, err.value.status) == ("flow.enough_participants", 422)
    with pytest.raises(DomainError) as other:            # not a member: the owner cannot take the committee's step
        reports.fail_evaluation(ev.owner_ctx, ev.code, "评审委员会认为竞争不充分")
    assert other.value.status in (403, 404)
    assert ev.trade.status == "evaluating" and session.query(AuditEntry).count() == before
