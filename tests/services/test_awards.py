"""Award services end to end on a 比选 and on a 询价 lot: candidates, publicity, objections, the
award (refused before the publicity ends, with an objection open, or for rank 2 without a reason —
nothing changed), the result notice and letters (PDF with the amount in capitals), the contract and
the deposit refund clocks; the GP buyer's confirmation and its silence, recorded once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.awards import REPORTED_AT, propose, reported_lot
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.core.errors import Conflict, DomainError, Forbidden, InvalidInput, RuleViolation
from trading.procedures.common.awards import objections, queries, result, services
from trading.procedures.common.awards.models import Award, ContractRecord, Objection, ResultLetter
from trading.procedures.common.awards.rules import CandidateIn
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import Notice

YUAN = 100
PRICES = [987_654_32, 990_000_00, 1_000_000_00]
PUBLICITY_END = beijing(2026, 11, 27)  # published Mon 11-23 10:00 + 3 CD → Thu 11-26 24:00
SEC = timedelta(seconds=1)


def actions(session) -> list[str]:
    return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def snapshot(session, trade) -> tuple:
    count = lambda m: session.execute(select(func.count()).select_from(m)).scalar_one()  # noqa: E731
    return (trade.status, count(Award), count(Notice), count(Objection), count(ResultLetter), count(ContractRecord),
            len(actions(session)))


def refused(session, trade, exc, fn, *args, **kw):
    before = snapshot(session, trade)
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    assert snapshot(session, trade) == before
    assert 400 <= info.value.status < 500
    return info.value


@pytest.fixture
def sel(ctx):
    w = reported_lot(ctx, procedure="selection", bidders=4)
    propose(w, PRICES)
    return w


def test_propose_refuses_bad_lists_and_non_participants(ctx, session):
    w = reported_lot(ctx, procedure="selection", bidders=2)
    outsider = make_user(ctx, "bidder")
    code = w.trade.lot_code
    refused(session, w.trade, InvalidInput, services.propose_candidates, w.c_owner, code,
            [CandidateIn(outsider.org_id, 1, 5 * YUAN)], report_id=1)
    refused(session, w.trade, InvalidInput, services.propose_candidates, w.c_owner, code,
            [CandidateIn(w.bidders[0].org_id, 2, 5 * YUAN)], report_id=1)
    refused(session, w.trade, Forbidden, services.propose_candidates, w.c_bidders[0], code,
            [CandidateIn(w.bidders[0].org_id, 1, 5 * YUAN)], report_id=1)


def test_selection_journey(ctx, session, clock, sel):
    w, code = sel, sel.trade.lot_code
    notice = services.publish_candidates(w.c_owner, code)
    assert notice.kind == "candidates" and notice.status == "published" and notice.publicity_until == PUBLICITY_END
    assert "人民币玖拾捌万柒仟陆佰伍拾肆元叁角贰分" in notice.body
    assert get_trade(ctx, code).status == "publicity"
    cl = services.current_list(ctx, w.trade.lot_id)
    assert cl.publish_due_at == beijing(2026, 11, 27) and cl.publicity_from == REPORTED_AT

    # an objection during the window by a participant; an outsider is refused
    outsider = actor_ctx(session, clock, make_user(ctx, "bidder"))
    refused(session, w.trade, Forbidden, objections.file_objection, outsider, code, "评审打分有误，请复核第二名的业绩分。")
    clock.set(PUBLICITY_END - SEC)
    obj = objections.file_objection(w.c_bidders[3], code, "评审打分有误，请复核第一名的业绩证明材料。")
    assert obj.kind == "objection" and obj.reply_due_at == beijing(2026, 12, 1)  # filed 11-26: 3 CD → Sun 11-29 → Mon 24:00

    # award: before the publicity ends, then with the objection open → refused, nothing changed
    err = refused(session, w.trade, RuleViolation, result.award, w.c_owner, code, w.bidders[0].org_id)
    assert err.code == "award.publicity_running"
    clock.set(PUBLICITY_END)
    err = refused(session, w.trade, RuleViolation, result.award, w.c_owner, code, w.bidders[0].org_id)
    assert err.code == "award.objection_open"
    # the window is shut at its end: an objection now is refused with nothing written
    err = refused(session, w.trade, RuleViolation, objections.file_objection, w.c_bidders[2], code,
                  "公示期已过仍想提出异议的文字内容。")
    assert err.code == "award.objection_window_closed"

    objections.answer_objection(w.c_owner, obj.id, "经复核，第一名业绩证明材料真实有效，维持评审结果。")
    assert obj.status == "answered" and not obj.late
    refused(session, w.trade, RuleViolation, result.award, w.c_owner, code, w.bidders[1].org_id)  # rank 1 required
    row = result.award(w.c_owner, code, w.bidders[0].org_id)
    assert get_trade(ctx, code).status == "awarded"
    assert row.price_fen == PRICES[0] and row.contract_due_at == beijing(2026, 12, 29)  # 12-27 Sun → Mon 12-28 24:00
    note = session.get(Notice, row.result_notice_id)
    assert note.kind == "result" and note.status == "published"
    assert [(x.kind, x.bidder_org_id) for x in row.letters] == \
        [("winner", w.bidders[0].org_id)] + [("other", b.org_id) for b in w.bidders[1:]]
    refused(session, w.trade, Conflict, result.award, w.c_owner, code, w.bidders[0].org_id)

    # the contract: 比选 refunds to everyone 5 CD after it
    clock.set(beijing(2026, 12, 3, 15, 0))
    rec = result.record_contract(w.c_owner, code, date(2026, 12, 3), PRICES[0], "合同已签订")
    assert not rec.late and get_trade(ctx, code).status == "contracted"
    assert {a.refund_due_at for a in w.accounts} == {beijing(2026, 12, 9)}  # 12-08 24:00
    assert [a.is_winner for a in w.accounts] == [True, False, False, False]
    assert actions(session).count("award.contract_recorded") == 1 and "lot.sign_contract" in actions(session)
    for a in ("award.candidates_proposed", "award.candidates_publicized", "lot.publicize", "award.objection_filed",
              "award.objection_answered", "award.determined", "lot.award", "notice.published"):
        assert a in actions(session)


def test_objection_reply_clock_and_late_reply(ctx, session, clock, sel):
    services.publish_candidates(sel.c_owner, sel.trade.lot_code)
    obj = objections.file_objection(sel.c_bidders[1], sel.trade.lot_code, "对评审结果有异议，理由如下：……")
    assert obj.reply_due_at == beijing(2026, 11, 27)  # filed Mon 11-23: 3 CD → Thu 11-26 24:00
    clock.set(obj.reply_due_at)
    objections.answer_objection(sel.c_owner, obj.id, "经核查，评审过程符合规定。")
    assert obj.late
    refused(session, sel.trade, Conflict, objections.answer_objection, sel.c_owner, obj.id, "再次答复的内容文字。")


def test_objection_before_the_publicity_is_refused(ctx, session, sel):
    err = refused(session, sel.trade, RuleViolation, objections.file_objection, sel.c_bidders[1], sel.trade.lot_code,
                  "尚未公示就提出的异议内容。")
    assert err.code == "award.objection_not_open"


def test_rank_two_after_rank_one_waives(ctx, session, clock, sel):
    code = sel.trade.lot_code
    services.publish_candidates(sel.c_owner, code)
    clock.set(PUBLICITY_END)
    refused(session, sel.trade, InvalidInput, services.pass_candidate, sel.c_owner, code, sel.bidders[0].org_id,
            "waived", "")
    services.pass_candidate(sel.c_owner, code, sel.bidders[0].org_id, "waived", "第一名书面放弃中选（2026-11-27 来函）")
    row = result.award(sel.c_owner, code, sel.bidders[1].org_id)
    assert row.rank == 2 and row.price_fen == PRICES[1]


def test_award_letter_pdf_has_the_amount_in_figures_and_capitals(app, ctx, session, clock, sel):
    code = sel.trade.lot_code
    services.publish_candidates(sel.c_owner, code)
    clock.set(PUBLICITY_END)
    row = result.award(sel.c_owner, code, sel.bidders[0].org_id)
    winner = row.letters[0]
    html = result.letter_html(ctx, winner)
    assert "人民币玖拾捌万柒仟陆佰伍拾肆元叁角贰分" in html and "987,654.32" in html and "中选（中标）通知书" in html
    loser_html = result.letter_html(ctx, row.letters[1])
    assert "结果通知书" in loser_html and "未中选" in loser_html
    # the bidder downloads its own letter; another bidder's is the 404 of an unknown one
    letter, data = result.letter_pdf(sel.c_bidders[0], winner.id)
    assert data.startswith(b"%PDF") and letter.pdf_sha256
    with pytest.raises(DomainError) as info:
        result.letter_pdf(sel.c_bidders[1], winner.id)
    assert info.value.status == 404
    import io

    from pypdf import PdfReader
    text = "".join((p.extract_text() or "").replace("\n", "").replace(" ", "") for p in PdfReader(io.BytesIO(data)).pages)
    assert "987,654.32" in text and "人民币玖拾捌万柒仟陆佰伍拾肆元叁角贰分" in text and letter.number in text


def test_contract_reminder_on_the_time_limit_list(ctx, session, clock, sel):
    code = sel.trade.lot_code
    services.publish_candidates(sel.c_owner, code)
    clock.set(PUBLICITY_END)
    row = result.award(sel.c_owner, code, sel.bidders[0].org_id)
    due = row.contract_due_at
    assert queries.overdue_contracts(session, due - timedelta(days=5, seconds=1)) == []
    [entry] = queries.overdue_contracts(session, due - timedelta(days=5))
    assert entry.light == "yellow" and entry.lot_code == code
    assert queries.overdue_contracts(session, due)[0].light == "red"
    assert queries.overdue_contracts(session, due, org_id=sel.bidders[0].org_id) == []
    clock.set(beijing(2026, 12, 21, 16, 0))  # a later contract's 5-day refund period would run into 2027 (fails closed)
    refused(session, sel.trade, InvalidInput, result.record_contract, sel.c_owner, code, date(2026, 12, 22), PRICES[0])
    refused(session, sel.trade, InvalidInput, result.record_contract, sel.c_owner, code, date(2026, 11, 26), PRICES[0])
    rec = result.record_contract(sel.c_owner, code, date(2026, 12, 21), PRICES[0])
    assert not rec.late
    assert queries.overdue_contracts(session, due + timedelta(days=3)) == []


# --- GP: 询价 -----------------------------------------------------------------------------------------
GP_PRICES = [450_000_00, 470_000_00, 480_000_00]


@pytest.fixture
def inq(ctx):
    w = reported_lot(ctx, procedure="inquiry", bidders=3, deposit_yuan=1_000)
    propose(w, GP_PRICES)
    return w


def test_gp_buyer_confirms_then_awards_with_the_team_names(ctx, session, clock, inq):
    code = inq.trade.lot_code
    cl = services.current_list(ctx, inq.trade.lot_id)
    assert cl.confirm_due_at == beijing(2026, 12, 1)  # report Mon 11-23: 5 WD → Mon 11-30 24:00
    refused(session, inq.trade, RuleViolation, services.confirm_supplier, inq.c_owner, code, inq.bidders[1].org_id)
    services.confirm_supplier(inq.c_owner, code, inq.bidders[0].org_id)
    assert get_trade(ctx, code).status == "confirming"
    refused(session, inq.trade, InvalidInput, result.award, inq.c_owner, code, inq.bidders[0].org_id)  # team names
    row = result.award(inq.c_owner, code, inq.bidders[0].org_id, team_names=["王专家", "李专家", "采购人代表赵某"])
    note = session.get(Notice, row.result_notice_id)
    assert "王专家、李专家、采购人代表赵某" in note.body and note.publicity_until == beijing(2026, 11, 25)
    assert row.result_due_at == beijing(2026, 11, 26) and row.challenge_until == beijing(2026, 12, 4)
    # the losers' deposits: 5 WD after the notice; the winner waits for the contract
    assert [a.refund_due_at for a in inq.accounts] == [None, beijing(2026, 12, 1), beijing(2026, 12, 1)]
    # 质疑 within the window suspends the contract until it is answered; refused after the window
    challenge = objections.file_objection(inq.c_bidders[2], code, "对成交结果提出质疑，理由见附件说明。")
    assert challenge.kind == "challenge" and challenge.reply_due_at == beijing(2026, 12, 3)  # 7 WD from 11-23
    err = refused(session, inq.trade, RuleViolation, result.record_contract, inq.c_owner, code, date(2026, 11, 23),
                  GP_PRICES[0])
    assert err.code == "award.contract_suspended"
    objections.answer_objection(inq.c_owner, challenge.id, "经审查，成交结果符合采购文件规定，质疑不成立。")
    result.record_contract(inq.c_owner, code, date(2026, 11, 23), GP_PRICES[0])
    assert inq.accounts[0].refund_due_at == beijing(2026, 12, 1)  # the winner: 5 WD after the contract
    assert get_trade(ctx, code).status == "contracted"
    clock.set(row.challenge_until)
    err = refused(session, inq.trade, RuleViolation, objections.file_objection, inq.c_bidders[1], code,
                  "窗口关闭后提出的质疑内容。")
    assert err.code == "award.objection_window_closed"


def test_gp_silence_makes_rank_one_stand_recorded_once(ctx, session, clock, inq):
    code = inq.trade.lot_code
    cl = services.current_list(ctx, inq.trade.lot_id)
    clock.set(cl.confirm_due_at - SEC)
    assert services.record_deemed_confirmations(ctx) == []
    clock.set(cl.confirm_due_at)
    refused(session, inq.trade, RuleViolation, services.confirm_supplier, inq.c_owner, code, inq.bidders[0].org_id)
    assert services.record_deemed_confirmations(ctx) == [cl.id]
    assert services.record_deemed_confirmations(ctx) == []
    assert cl.confirmation == "deemed" and cl.confirmed_bidder_org_id == inq.bidders[0].org_id
    assert actions(session).count("award.confirmation_deemed") == 1
    assert get_trade(ctx, code).status == "confirming"
    row = result.award(inq.c_owner, code, inq.bidders[0].org_id, team_names=["王专家", "李专家", "张专家"])
    assert row.rank == 1 and actions(session).count("award.confirmation_deemed") == 1


def test_gp_award_observes_the_silence_itself(ctx, session, clock, inq):
    cl = services.current_list(ctx, inq.trade.lot_id)
    clock.set(cl.confirm_due_at + timedelta(hours=2))
    with pytest.raises(RuleViolation) as info:  # rank 2: the silence made rank 1 the supplier
        result.award(inq.c_owner, inq.trade.lot_code, inq.bidders[1].org_id, team_names=["王专家"])
    assert info.value.code == "award.not_confirmed_supplier"
    result.award(inq.c_owner, inq.trade.lot_code, inq.bidders[0].org_id, team_names=["王专家", "李专家", "张专家"])
    assert actions(session).count("award.confirmation_deemed") == 1
    assert get_trade(ctx, inq.trade.lot_code).status == "awarded"


def test_housekeeping_command_records_the_silence_once(app, ctx, session, clock, inq):
    cl = services.current_list(ctx, inq.trade.lot_id)
    clock.set(cl.confirm_due_at)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["awards", "housekeeping"])
    assert out.exit_code == 0 and "recorded 1 deemed confirmation(s)" in out.output
    out = runner.invoke(args=["awards", "housekeeping"])
    assert "recorded 0 deemed confirmation(s)" in out.output
    assert actions(session).count("award.confirmation_deemed") == 1


def test_a_later_report_supersedes_the_list(ctx, session, sel):
    first = services.current_list(ctx, sel.trade.lot_id)
    second = propose(sel, [990_000_00, 950_000_00], report_id=2)
    assert first.status == "superseded" and first.superseded_by_id == second.id
    assert services.current_list(ctx, sel.trade.lot_id).id == second.id


def test_gp_confirmed_supplier_waives_then_rank_two_is_confirmed(ctx, session, clock, inq):
    code = inq.trade.lot_code
    services.confirm_supplier(inq.c_owner, code, inq.bidders[0].org_id)
    services.pass_candidate(inq.c_owner, code, inq.bidders[0].org_id, "waived", "成交候选人书面放弃成交")
    services.confirm_supplier(inq.c_owner, code, inq.bidders[1].org_id)
    assert get_trade(ctx, code).status == "confirming"
    row = result.award(inq.c_owner, code, inq.bidders[1].org_id, team_names=["王专家", "李专家", "张专家"])
    assert row.rank == 2 and row.price_fen == GP_PRICES[1]


def test_only_the_projects_owner_or_agency_acts(ctx, session, clock, sel):
    code = sel.trade.lot_code
    refused(session, sel.trade, Forbidden, services.publish_candidates, sel.c_bidders[0], code)
    stranger = actor_ctx(session, clock, make_user(ctx, "owner"))
    err = refused(session, sel.trade, DomainError, services.publish_candidates, stranger, code)
    assert err.status == 404
    services.publish_candidates(sel.c_owner, code)
    clock.set(PUBLICITY_END)
    refused(session, sel.trade, Forbidden, result.award, sel.c_bidders[0], code, sel.bidders[0].org_id)
    refused(session, sel.trade, DomainError, result.award, stranger, code, sel.bidders[0].org_id)
