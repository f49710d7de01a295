"""Complaint services: filing (and each refusal), every supervisor step (and its refusals), withdrawal,
who sees what, the suspension refusing the lot's stage steps, the clocks query, and the audit trail
(decisions sign a checkpoint). A refused step writes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.complaints import ANSWERED_AT, COMPLAIN_AT, objected_lot
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.procedures.common.awards import result
from trading.supervision.complaints import services
from trading.supervision.complaints.models import Complaint, ComplaintFile, ComplaintPause

PDF = b"%PDF-1.4 evidence"
FACTS = "第一名的业绩证明材料与实际不符，评审委员会未予核实。"
REQUEST = "请责令重新评审"


def eod(y, m, d):
    return beijing(y, m, d) + timedelta(days=1)


def actions(session) -> list[str]:
    return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def snapshot(session) -> tuple:
    count = lambda m: session.execute(select(func.count()).select_from(m)).scalar_one()  # noqa: E731
    rows = session.execute(select(Complaint.status, Complaint.suspended_at, Complaint.accepted_at)).all()
    return count(Complaint), count(ComplaintPause), count(ComplaintFile), tuple(rows), len(actions(session))


def refused(session, exc, fn, *args, **kw):
    before = snapshot(session)
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    session.expire_all()
    assert snapshot(session) == before
    assert 400 <= info.value.status < 500
    return info.value


def file(w, who=1, **kw):
    args = dict(matter="result", facts=FACTS, request=REQUEST, known_on=date(2026, 11, 25), objection_id=w.objection.id)
    args.update(kw)
    return services.file_complaint(w.c_bidders[who], w.trade.lot_code, **args)


@pytest.fixture
def sel(ctx):
    return objected_lot(ctx)


def test_filing_a_tender_law_complaint_starts_the_acceptance_clock(sel, session):
    c = file(sel, files=[("证明.pdf", PDF)])
    assert c.status == "filed" and c.regime == "tender_law"
    # objection pending 24 → 25 Nov (1 day): 25 + 1 + 10 = Sun 6 Dec → Mon 7 Dec
    assert c.window_closes_at == eod(2026, 12, 7)
    assert c.accept_due_at == eod(2026, 12, 1)  # Thu 26 → Fri 27, Mon 30, Tue 1
    assert [f.name for f in c.files] == ["证明.pdf"] and c.files[0].size == len(PDF)
    entry = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
    assert entry.action == "complaint.filed"


def test_filing_refusals_write_nothing(sel, session, clock):
    code = sel.trade.lot_code
    # a result complaint without the prior objection
    err = refused(session, RuleViolation, services.file_complaint, sel.c_bidders[1], code, matter="result",
                  facts=FACTS, request=REQUEST, known_on=date(2026, 11, 25))
    assert err.code == "complaint.objection_required"
    # another bidder's objection is not the complainant's
    err = refused(session, InvalidInput, file, sel, who=2)
    assert err.code == "complaint.objection_unknown"
    # bad inputs
    assert refused(session, InvalidInput, file, sel, matter="gossip").code == "complaint.matter"
    assert refused(session, InvalidInput, file, sel, facts="太短").code == "complaint.facts_length"
    assert refused(session, InvalidInput, file, sel, files=[("x.exe", b"MZ...")]).code == "complaint.file_type"
    # only bidders file
    refused(session, Forbidden, services.file_complaint, sel.c_owner, code, matter="process", facts=FACTS,
            request=REQUEST, known_on=date(2026, 11, 25))
    # late: the window closed at 24:00 on 7 Dec
    clock.set(eod(2026, 12, 7))
    assert refused(session, RuleViolation, file, sel).code == "complaint.window_closed"
    clock.set(eod(2026, 12, 7) - timedelta(seconds=1))
    assert file(sel).status == "filed"


def test_a_process_complaint_needs_no_objection_but_ten_days_from_knowing(sel, session, clock):
    code = sel.trade.lot_code
    err = refused(session, RuleViolation, services.file_complaint, sel.c_bidders[2], code, matter="process",
                  facts=FACTS, request=REQUEST, known_on=date(2026, 11, 10))  # + 10 = 20 Nov: closed
    assert err.code == "complaint.window_closed"
    c = services.file_complaint(sel.c_bidders[2], code, matter="process", facts=FACTS, request=REQUEST,
                                known_on=date(2026, 11, 20))
    assert c.window_closes_at == eod(2026, 11, 30) and c.objection_id is None


def test_gp_complaint_runs_from_the_challenge_reply_deadline(ctx, session, clock):
    inq = objected_lot(ctx, procedure="inquiry")
    c = file(inq, known_on=None)
    assert c.regime == "gp" and c.known_on is None
    reply_due = inq.objection.reply_due_at  # 7 WD after Tue 24 Nov: Thu 3 Dec 24:00
    assert reply_due == eod(2026, 12, 3)
    assert c.window_closes_at == eod(2026, 12, 24)  # 15 WD: 4 Dec … Thu 24 Dec
    assert c.accept_due_at == eod(2026, 12, 3)      # 5 WD from Thu 26 Nov
    err = refused(session, RuleViolation, services.file_complaint, inq.c_bidders[1], inq.trade.lot_code,
                  matter="process", facts=FACTS, request=REQUEST)
    assert err.code == "complaint.objection_required"


def test_the_full_workflow_with_excluded_time_and_a_decision_milestone(sel, session, clock):
    from trading.audit.models import AuditCheckpoint as Checkpoint
    c = file(sel)
    sup = sel.c_supervisor
    clock.set(beijing(2026, 11, 27, 9))
    services.accept(sup, c.id)
    assert c.status == "accepted" and services.decide_due(sup, c) == eod(2027, 1, 11)  # 30 WD; 1 Jan a holiday
    clock.set(beijing(2026, 12, 1, 9))
    services.pause(sup, c.id, "expert_review", "组织专家对业绩证明材料进行复核")
    assert services.decide_due(sup, c) is None
    err = refused(session, Conflict, services.decide, sup, c.id, "dismissed", "经调查，投诉事项缺乏事实依据，予以驳回。")
    assert err.code == "complaint.paused"
    clock.set(beijing(2026, 12, 4, 9))
    services.resume(sup, c.id)
    assert services.decide_due(sup, c) == eod(2027, 1, 14)  # 2, 3, 4 Dec excluded: three more working days
    before = session.execute(select(func.count()).select_from(Checkpoint)).scalar_one()
    services.decide(sup, c.id, "partly", "经调查，投诉事项部分成立，责令招标人组织原评标委员会重新评审。")
    session.commit()
    assert c.status == "decided" and c.outcome == "partly" and c.decide_due_at == eod(2027, 1, 14)
    assert session.execute(select(func.count()).select_from(Checkpoint)).scalar_one() == before + 1
    assert actions(session)[-4:] == ["complaint.accepted", "complaint.clock_paused", "complaint.clock_resumed",
                                     "complaint.decided"]
    assert c in services.public_decisions(session)
    # a decided complaint takes no further step
    refused(session, Conflict, services.decide, sup, c.id, "upheld", "再次作出的决定书正文内容。")
    refused(session, Conflict, services.withdraw, sel.c_bidders[1], c.id, "不再坚持投诉请求")


def test_reject_needs_a_reason_and_is_a_milestone(sel, session):
    from trading.audit.models import AuditCheckpoint as Checkpoint
    c = file(sel)
    assert refused(session, InvalidInput, services.reject, sel.c_supervisor, c.id, "").code == "complaint.reason_length"
    before = session.execute(select(func.count()).select_from(Checkpoint)).scalar_one()
    services.reject(sel.c_supervisor, c.id, "投诉人未提供必要的证明材料")
    session.commit()
    assert c.status == "rejected" and c.reject_reason
    assert session.execute(select(func.count()).select_from(Checkpoint)).scalar_one() == before + 1
    refused(session, Conflict, services.accept, sel.c_supervisor, c.id)


def test_only_supervisors_handle(sel, session):
    c = file(sel)
    for who in (sel.c_owner, sel.c_bidders[1]):
        refused(session, Forbidden, services.accept, who, c.id)
    operator = actor_ctx(session, sel.c_owner.clock, make_user(sel.c_owner, "operator", totp=True))
    refused(session, Forbidden, services.reject, operator, c.id, "不属于受理范围")


def test_withdrawal_by_the_complainant_only(sel, session):
    c = file(sel)
    refused(session, NotFound, services.withdraw, sel.c_bidders[2], c.id, "不再坚持投诉请求")  # cannot even see it
    services.withdraw(sel.c_bidders[1], c.id, "已与招标人协商解决")
    assert c.status == "withdrawn" and actions(session)[-1] == "complaint.withdrawn"


def test_visibility(sel, session):
    c = file(sel)
    other = make_user(sel.c_owner, "owner")
    c_other = actor_ctx(session, sel.c_owner.clock, other)
    assert services.list_complaints(sel.c_supervisor) == [c]
    assert services.list_complaints(sel.c_bidders[1]) == [c]
    assert services.list_complaints(sel.c_bidders[2]) == []
    # the respondent sees it only once accepted
    assert services.list_complaints(sel.c_owner) == []
    with pytest.raises(NotFound):
        services.get_complaint(sel.c_owner, c.id)
    services.accept(sel.c_supervisor, c.id)
    assert services.list_complaints(sel.c_owner) == [c]
    assert services.get_complaint(sel.c_owner, c.id) is c
    assert services.list_complaints(c_other) == []
    with pytest.raises(NotFound):
        services.get_complaint(c_other, c.id)


def test_suspension_refuses_the_lots_steps_until_lifted_and_is_capped(sel, session, clock):
    c = file(sel)
    sup = sel.c_supervisor
    assert refused(session, InvalidInput, services.suspend, sup, c.id, 31, "暂停采购活动待查").code == "complaint.suspension_days"
    services.suspend(sup, c.id, 30, "投诉可能影响中标结果，暂停采购活动")
    assert c.suspension_ends_at == eod(2026, 12, 26)
    assert refused(session, Conflict, services.suspend, sup, c.id, 5, "再次暂停").code == "complaint.already_suspended"
    session.commit()
    clock.set(beijing(2026, 11, 27, 10))  # the publicity is over: the award would now be allowed
    with pytest.raises(Conflict) as info:
        result.award(sel.c_owner, sel.trade.lot_code, sel.bidders[0].org_id)
    assert info.value.code == "complaint.suspended"
    session.rollback()
    c = session.get(Complaint, c.id)
    services.lift(sup, c.id, "经初步调查，无需继续暂停")
    assert not services.suspended(c, clock.now())
    row = result.award(sel.c_owner, sel.trade.lot_code, sel.bidders[0].org_id)
    assert row.bidder_org_id == sel.bidders[0].org_id


def test_a_suspension_ends_by_itself(sel, session, clock):
    c = file(sel)
    services.suspend(sel.c_supervisor, c.id, 1, "暂停一日核实情况")
    clock.set(eod(2026, 11, 27))  # ordered 26 Nov, 1 day: ends 24:00 on 27 Nov
    assert services.suspension_in_force(session, sel.trade.lot_id, clock.now()) is None
    assert result.award(sel.c_owner, sel.trade.lot_code, sel.bidders[0].org_id) is not None


def test_open_complaint_clocks(sel, session, clock):
    a = file(sel)
    b = services.file_complaint(sel.c_bidders[2], sel.trade.lot_code, matter="process", facts=FACTS, request=REQUEST,
                                known_on=date(2026, 11, 25))
    services.accept(sel.c_supervisor, b.id)
    services.suspend(sel.c_supervisor, b.id, 10, "暂停采购活动待查")
    done = services.file_complaint(sel.c_bidders[2], sel.trade.lot_code, matter="process", facts=FACTS,
                                   request=REQUEST, known_on=date(2026, 11, 25))
    services.withdraw(sel.c_bidders[2], done.id, "撤回投诉的理由")
    rows = services.open_complaint_clocks(session, COMPLAIN_AT)
    assert [(r.complaint.id, r.step, r.light) for r in rows] == [
        (a.id, "accept", "green"), (b.id, "suspension", "green"), (b.id, "decide", "green")]
    assert rows[0].due_at == eod(2026, 12, 1) and rows[1].due_at == eod(2026, 12, 6)
    # 24 h before the acceptance is due: yellow; at it: red
    assert services.open_complaint_clocks(session, eod(2026, 11, 30))[0].light == "yellow"
    assert services.open_complaint_clocks(session, eod(2026, 12, 1))[0].light == "red"
    assert ANSWERED_AT < COMPLAIN_AT


def test_documents_complaint_with_a_written_objection_made_elsewhere(sel, session):
    from trading.supervision.complaints.rules import Declared
    code, who = sel.trade.lot_code, sel.c_bidders[2]
    args = dict(matter="documents", facts=FACTS, request=REQUEST, known_on=date(2026, 11, 20))
    err = refused(session, RuleViolation, services.file_complaint, who, code, **args)
    assert err.code == "complaint.objection_required" and err.field == "declared_objection"
    # the platform's result objection does not serve for the documents, nor a written one for the result
    err = refused(session, InvalidInput, services.file_complaint, sel.c_bidders[1], code, objection_id=sel.objection.id,
                  **args)
    assert err.code == "complaint.objection_kind"
    written = Declared("2026年11月20日书面异议，招标人签收", date(2026, 11, 20), date(2026, 11, 23))
    err = refused(session, InvalidInput, services.file_complaint, sel.c_bidders[1], code, matter="result", facts=FACTS,
                  request=REQUEST, known_on=date(2026, 11, 25), declared=written)
    assert err.code == "complaint.declared_kind"
    err = refused(session, InvalidInput, services.file_complaint, who, code,
                  declared=Declared("书面异议", date(2026, 11, 24), date(2026, 11, 23)), **args)
    assert err.code == "complaint.declared_dates"
    c = services.file_complaint(who, code, declared=written, **args)
    # known 20 Nov, the objection pending 20 → 23 Nov (3 days): 20 + 3 + 10 = Thu 3 Dec
    assert c.window_closes_at == eod(2026, 12, 3) and c.declared_answered_on == date(2026, 11, 23)
    assert c.declared_objection.startswith("2026年11月20日书面异议")


def test_time_limit_rows_for_the_supervision_list(sel, session):
    from trading.supervision.complaints.timelimits import complaint_steps
    from trading.supervision.timelimits.rules import Scope
    c = file(sel)
    owner_scope = Scope(org_id=sel.owner.org_id)
    rows = complaint_steps(session, COMPLAIN_AT, Scope(supervision=True))
    assert [(r.code, r.name, r.due_at, r.light.value, r.responsible) for r in rows] == [
        (sel.trade.lot_code, f"投诉 #{c.id} · 受理审查", eod(2026, 12, 1), "green", "行政监督部门")]
    assert not [r for r in rows if owner_scope.wants(r)]          # the respondent is not told before acceptance
    assert complaint_steps(session, COMPLAIN_AT, Scope()) == []   # nor the centre: under review, supervisors only
    services.accept(sel.c_supervisor, c.id)
    rows = complaint_steps(session, COMPLAIN_AT, Scope())
    assert [r.name for r in rows] == [f"投诉 #{c.id} · 作出处理决定"]
    assert [r.name for r in rows if owner_scope.wants(r)] == [f"投诉 #{c.id} · 作出处理决定"]


def test_the_lists_show_a_complaint_to_supervisors_under_review_and_to_the_centre_once_accepted(ctx, sel, session,
                                                                                               clock):
    from trading.supervision.timelimits import queries

    c = file(sel)
    clock.set(COMPLAIN_AT)
    operator = actor_ctx(session, clock, make_user(ctx, "operator"))
    names = lambda ctx: [r.name for r in queries.time_limits(ctx, lights=("all",), kinds=("complaint",)).rows]  # noqa: E731
    assert names(sel.c_supervisor) == [f"投诉 #{c.id} · 受理审查"]
    assert names(operator) == []
    services.accept(sel.c_supervisor, c.id)
    assert names(sel.c_supervisor) == names(operator) == [f"投诉 #{c.id} · 作出处理决定"]
