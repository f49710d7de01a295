"""The overdue list (限时办结) over real data: each provider's step appears with the light the clock
says — green, yellow at the warning threshold, red at the due instant, then done on time or done
late once finished — for the centre and supervisors; an owner sees only its own projects' steps; a
bidder is refused. The clock is moved, never slept on."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.awards import REPORTED_AT, propose, reported_lot
from tests.factories.deposits import statement_csv
from tests.factories.projects import submitted_project
from trading.accounts.models import Organisation
from trading.core.clock import beijing
from trading.core.errors import Forbidden, InvalidInput
from trading.procedures.common.awards import objections, result, services
from trading.procedures.common.deposits import refunds, statements
from trading.projects import services as project_services
from trading.supervision.timelimits import queries
from trading.supervision.timelimits.registry import register_provider, unregister_provider
from trading.supervision.timelimits.rules import Light, StepRow

SEC = timedelta(seconds=1)
DAY = timedelta(days=1)
PRICES = [900_000_00, 950_000_00, 980_000_00]


@pytest.fixture
def op(ctx, session, clock):
    return actor_ctx(session, clock, make_user(ctx, "operator", totp=True))


@pytest.fixture
def sup(ctx, session, clock):
    return actor_ctx(session, clock, make_user(ctx, "supervisor", totp=True))


def rows_of(c, kind, **kw):
    return [r for r in queries.time_limits(c, lights=["all"], kinds=[kind], **kw).rows]


def the(c, kind, code):
    found = [r for r in rows_of(c, kind) if r.code == code]
    assert len(found) == 1, found
    return found[0]


def test_entry_review_lights_as_the_clock_moves(ctx, session, clock, op, sup):
    owner = actor_ctx(session, clock, make_user(ctx, "owner"))
    project = submitted_project(owner)  # T0 Tue 11-10 09:00: 2 WD → Thu 11-12 24:00
    due = project.review_due_at
    assert due == beijing(2026, 11, 13)
    code = project.trade_code
    assert the(op, "entry_review", code).light == Light.GREEN
    assert code not in [r.code for r in queries.time_limits(op).rows]  # the default list: due soon or overdue only
    clock.set(due - DAY - SEC)
    assert the(op, "entry_review", code).light == Light.GREEN
    clock.set(due - DAY)
    assert the(op, "entry_review", code).light == Light.YELLOW
    assert code in [r.code for r in queries.time_limits(sup).rows]
    clock.set(due)
    row = the(sup, "entry_review", code)
    assert row.light == Light.RED and row.responsible == "交易中心" and row.done_at is None
    assert row.link == ("projects.project_detail", {"project_id": project.id})
    clock.set(due + 2 * DAY)
    project_services.accept_project(op, project.id, "材料齐全，予以受理")
    row = the(op, "entry_review", code)
    assert row.light == Light.DONE_LATE and row.done_at == due + 2 * DAY
    assert code not in [r.code for r in queries.time_limits(op).rows]
    # finished steps leave the list after timelimit.done_days (30)
    clock.set(due + 33 * DAY)
    assert rows_of(op, "entry_review") == []


def test_entry_review_done_on_time(ctx, session, clock, op):
    owner = actor_ctx(session, clock, make_user(ctx, "owner"))
    project = submitted_project(owner)
    clock.set(project.review_due_at - SEC)
    project_services.return_project(op, project.id, "请补充核准文件扫描件")
    assert the(op, "entry_review", project.trade_code).light == Light.DONE


@pytest.fixture
def sel(ctx):
    w = reported_lot(ctx, procedure="selection", bidders=3)
    propose(w, PRICES)
    return w


def test_candidate_publicity_late_and_objection_reply(ctx, session, clock, op, sel):
    code = sel.trade.lot_code
    cl = services.current_list(ctx, sel.trade.lot_id)
    assert cl.publish_due_at == beijing(2026, 11, 27)
    assert the(op, "candidate_publicity", code).light == Light.GREEN
    clock.set(cl.publish_due_at - DAY)
    assert the(op, "candidate_publicity", code).light == Light.YELLOW
    clock.set(cl.publish_due_at + 3 * 3600 * SEC)
    row = the(op, "candidate_publicity", code)
    assert row.light == Light.RED and row.link == ("awards.lot", {"lot_code": code})
    assert row.responsible == session.get(Organisation, sel.owner.org_id).name and row.person == "张工"
    services.publish_candidates(sel.c_owner, code)
    assert the(op, "candidate_publicity", code).light == Light.DONE_LATE

    obj = objections.file_objection(sel.c_bidders[1], code, "对评审结果有异议，理由如下：……")
    due = obj.reply_due_at
    assert the(op, "objection_reply", code).light == Light.GREEN
    clock.set(due - DAY)
    assert the(op, "objection_reply", code).light == Light.YELLOW
    clock.set(due)
    assert the(op, "objection_reply", code).light == Light.RED
    board = queries.time_limits(op)  # red, most overdue first: the publicity was due before the reply
    assert [(r.kind, r.light) for r in board.rows] == [("objection_reply", Light.RED)]
    assert board.counts[Light.RED] == 1 and board.counts[Light.DONE_LATE] == 1
    objections.answer_objection(sel.c_owner, obj.id, "经核查，评审过程符合规定。")
    row = the(op, "objection_reply", code)
    assert row.light == Light.DONE_LATE and obj.late


def test_contract_signing_lights_agree_with_the_award_pages(ctx, session, clock, op, sel):
    code = sel.trade.lot_code
    services.publish_candidates(sel.c_owner, code)
    clock.set(beijing(2026, 11, 27))
    award = result.award(sel.c_owner, code, sel.bidders[0].org_id)
    due = award.contract_due_at
    clock.set(due - 5 * DAY - SEC)
    assert the(op, "contract_signing", code).light == Light.GREEN
    clock.set(due - 5 * DAY)  # award.contract_warn_days = 5, as on the awards page
    assert the(op, "contract_signing", code).light == Light.YELLOW
    clock.set(due)
    assert the(op, "contract_signing", code).light == Light.RED
    clock.set(due - 8 * DAY)
    result.record_contract(sel.c_owner, code, date(2026, 12, 21), PRICES[0])
    clock.set(due + 3 * DAY)
    assert the(op, "contract_signing", code).light == Light.DONE


@pytest.fixture
def inq(ctx):
    w = reported_lot(ctx, procedure="inquiry", bidders=3, deposit_yuan=1_000)
    propose(w, [450_000_00, 470_000_00, 480_000_00])
    return w


def test_gp_buyer_decision_result_and_challenge_reply(ctx, session, clock, op, inq):
    code = inq.trade.lot_code
    cl = services.current_list(ctx, inq.trade.lot_id)
    assert cl.confirm_due_at == beijing(2026, 12, 1)
    assert the(op, "buyer_confirmation", code).light == Light.GREEN
    # 5 WD from Mon 10:00 to Mon 24:00 is 7.6 days: 20 % of it (36.5 h) is the yellow window
    window = (cl.confirm_due_at - REPORTED_AT) / 5
    clock.set(cl.confirm_due_at - window - SEC)
    assert the(op, "buyer_confirmation", code).light == Light.GREEN
    clock.set(cl.confirm_due_at - window)
    assert the(op, "buyer_confirmation", code).light == Light.YELLOW
    clock.set(REPORTED_AT + 2 * 3600 * SEC)
    services.confirm_supplier(inq.c_owner, code, inq.bidders[0].org_id)
    assert the(op, "buyer_confirmation", code).light == Light.DONE

    award = result.award(inq.c_owner, code, inq.bidders[0].org_id, team_names=["王专家", "李专家", "张专家"])
    row = the(op, "result_publication", code)
    assert row.light == Light.DONE and row.due_at == award.result_due_at

    challenge = objections.file_objection(inq.c_bidders[2], code, "对成交结果提出质疑，理由见附件说明。")
    assert the(op, "challenge_reply", code).light == Light.GREEN
    assert rows_of(op, "objection_reply") == []
    clock.set(challenge.reply_due_at + SEC)
    assert the(op, "challenge_reply", code).light == Light.RED
    objections.answer_objection(inq.c_owner, challenge.id, "经审查，成交结果符合采购文件规定，质疑不成立。")
    assert the(op, "challenge_reply", code).light == Light.DONE_LATE


def test_deposit_refunds_one_row_per_lot_without_names(ctx, session, clock, op, sel):
    code = sel.trade.lot_code
    data = statement_csv([(beijing(2026, 11, 12), a.virtual_account, "甲", "1", "10000", f"P{a.id}")
                          for a in sel.accounts])
    statements.import_bank_statement(op, "paid.csv", data)
    services.publish_candidates(sel.c_owner, code)
    clock.set(beijing(2026, 11, 27))
    result.award(sel.c_owner, code, sel.bidders[0].org_id)
    clock.set(beijing(2026, 12, 3, 15, 0))
    result.record_contract(sel.c_owner, code, date(2026, 12, 3), PRICES[0])
    due = sel.accounts[0].refund_due_at
    assert due == beijing(2026, 12, 9)
    row = the(op, "deposit_refund", code)
    assert row.light == Light.GREEN and row.detail == "3/3" and row.responsible == "交易中心"
    names = {session.get(Organisation, b.org_id).name for b in sel.bidders}
    assert not names & {row.name, row.responsible, row.person}
    clock.set(due - 2 * DAY)  # deposit.refund_warn_days = 2, as on the deposits page
    assert the(op, "deposit_refund", code).light == Light.YELLOW
    refunds.record_refund(op, sel.accounts[0].id, 10_000_00, "RF001")
    row = the(op, "deposit_refund", code)
    assert row.light == Light.YELLOW and row.detail == "2/3"
    clock.set(due)
    assert the(op, "deposit_refund", code).light == Light.RED
    refunds.record_refund(op, sel.accounts[1].id, 10_000_00, "RF002")
    refunds.forfeit(op, sel.accounts[2].id, "中标后无正当理由拒签合同，不予退还")
    row = the(op, "deposit_refund", code)
    assert row.light == Light.DONE_LATE and row.done_at == due


def test_a_refund_before_the_deadline_is_not_listed(ctx, session, clock, op):
    from tests.factories.deposits import deposit_lot, registered_account

    _owner, trade = deposit_lot(ctx, deposit_yuan=10_000)
    acc = registered_account(ctx, trade, make_user(ctx, "bidder"))
    statements.import_bank_statement(op, "p.csv", statement_csv([(clock.now(), acc.virtual_account, "甲", "1",
                                                                  "10000", "P1")]))
    refunds.record_refund_event(op, trade.lot_code, "withdrawal", account_id=acc.id)
    assert acc.refund_due_at is not None
    assert rows_of(op, "deposit_refund") == []  # nothing says anyone registered for the lot
    clock.set(trade.deadline_at)
    assert [r.code for r in rows_of(op, "deposit_refund")] == [trade.lot_code]


def test_monthly_report_from_stats(app, op, clock):
    clock.set(beijing(2026, 12, 3, 8, 0))
    row = the(op, "monthly_report", "2026-11")
    assert row.light == Light.YELLOW and row.due_at == beijing(2026, 12, 4)
    clock.set(beijing(2026, 12, 4))
    assert the(op, "monthly_report", "2026-11").light == Light.RED


def test_registered_provider_appears_and_unknown_filters_are_refused(op, clock):
    due = clock.now() + timedelta(hours=5)

    def clocks(session, now, scope):
        return [StepRow("complaint_decision", "TS-1", "某投诉", "县财政局", due, kind_label=("投诉处理", "Complaint"))]

    register_provider("test_complaints", clocks)
    try:
        board = queries.time_limits(op)
        assert [(r.kind, r.light) for r in board.rows if r.code == "TS-1"] == [("complaint_decision", Light.YELLOW)]
        assert "complaint_decision" in queries.known_kinds(board.rows)
        assert [r.code for r in queries.time_limits(op, kinds=["complaint_decision"]).rows] == ["TS-1"]
    finally:
        unregister_provider("test_complaints")
    with pytest.raises(InvalidInput):
        queries.time_limits(op, lights=["blue"])
    with pytest.raises(InvalidInput):
        queries.time_limits(op, kinds=["no_such_kind"])


def test_owner_sees_its_own_projects_only_and_a_bidder_is_refused(ctx, session, clock, op, sel):
    code = sel.trade.lot_code
    mine = queries.own_time_limits(sel.c_owner)
    assert sorted((r.kind, r.code) for r in mine.rows) == [("candidate_publicity", code),
                                                           ("entry_review", code.rsplit("-", 1)[0])]
    other = actor_ctx(session, clock, make_user(ctx, "owner"))
    assert queries.own_time_limits(other).rows == []
    project = queries.project_time_limits(sel.c_owner, sel.trade.project_id)
    assert sorted(r.kind for r in project.rows) == ["candidate_publicity", "entry_review"]
    assert queries.project_time_limits(other, sel.trade.project_id).rows == []
    with pytest.raises(Forbidden):
        queries.time_limits(sel.c_bidders[0])
    with pytest.raises(Forbidden):
        queries.time_limits(sel.c_owner)
    with pytest.raises(Forbidden):
        queries.own_time_limits(sel.c_bidders[0])
