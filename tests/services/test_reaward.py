"""Re-award to the next candidate (政府采购法实施条例 49; 招标投标法实施条例 55, 74): the buyer records that the
awarded supplier refused to sign / did not sign in time / gave up / cannot perform, with reason and
evidence (audited); the first winner's deposit is kept (or, for force majeure, refunded); then the
next-ranked candidate is awarded (new notice + letters, the first award kept and marked superseded)
or the lot ends for re-procurement (failed → a re-announcement may follow). Refusals change nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.awards import propose, reported_lot
from tests.factories.deposits import statement_csv
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.blobs import get_store
from trading.core.clock import beijing
from trading.core.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from trading.procedures.common.awards import queries, reaward, result, services
from trading.procedures.common.awards.models import Award, AwardDefault, ContractRecord, ResultLetter
from trading.procedures.common.deposits import statements
from trading.procedures.common.deposits.models import DepositEntry
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import Notice

PRICES = [987_654_32, 990_000_00, 1_000_000_00]
PUBLICITY_END = beijing(2026, 11, 27)
PDF = b"%PDF-1.7\n% the supplier's written waiver\n"


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def snapshot(session, trade) -> tuple:
    return (trade.status, _count(session, Award), _count(session, AwardDefault), _count(session, Notice),
            _count(session, ResultLetter), _count(session, DepositEntry), _count(session, AuditEntry))


def refused(session, trade, exc, fn, *args, **kw):
    before = snapshot(session, trade)
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    assert snapshot(session, trade) == before
    assert 400 <= info.value.status < 500
    return info.value


def _paid(ctx, w) -> None:
    """Every bidder paid its 10,000 yuan deposit (a bank statement the centre imports)."""
    op = actor_ctx(ctx.session, ctx.clock, make_user(ctx, "operator"))
    rows = [(w.trade.deadline_at - timedelta(days=2), a.virtual_account, f"投标人{i}", f"62220000{i}", "10000.00",
             f"DEP{i}") for i, a in enumerate(w.accounts)]
    statements.import_bank_statement(op, "s.csv", statement_csv(rows))


@pytest.fixture
def awarded(ctx, clock):
    """A 比选 lot awarded to rank 1 after its publicity; every deposit paid."""
    w = reported_lot(ctx, procedure="selection", bidders=3)
    _paid(ctx, w)
    propose(w, PRICES)
    services.publish_candidates(w.c_owner, w.trade.lot_code)
    clock.set(PUBLICITY_END)
    result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
    return w


def _payload(session, action: str) -> dict:
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalar_one()
    return json.loads(entry.body)["payload"]


def test_the_winner_refuses_its_deposit_is_kept_and_rank_two_is_awarded(ctx, session, clock, awarded):
    w, code = awarded, awarded.trade.lot_code
    first = result.award_of_lot(ctx, w.trade.lot_id)
    refused(session, w.trade, Conflict, reaward.award_next, w.c_owner, code)  # nothing recorded yet
    clock.set(beijing(2026, 11, 30, 10, 0))
    dflt = reaward.record_default(w.c_owner, code, "refused_contract", "中选人以材料价格上涨为由书面拒绝签订合同。",
                                  "2026年11月30日中选人来函（拒签声明）", evidence=PDF, evidence_name="拒签函.pdf")
    assert (dflt.kind, dflt.deposit, dflt.outcome, first.status) == ("refused_contract", "forfeit", None, "defaulted")
    assert get_store().read(dflt.evidence_sha256) == PDF and dflt.evidence_name == "拒签函.pdf"
    # the first winner's deposit is kept (不予退还) with the reason; the candidate is passed over
    forfeit = session.execute(select(DepositEntry).where(DepositEntry.kind == "forfeited")).scalar_one()
    assert forfeit.account_id == w.accounts[0].id and forfeit.amount_fen == 10_000_00 and "拒绝签订合同" in forfeit.note
    assert w.accounts[0].status == "forfeited" and not w.accounts[0].is_winner
    cl = services.current_list(ctx, w.trade.lot_id)
    assert cl.candidates[0].passed_reason == "refused_contract"
    assert _payload(session, "award.winner_defaulted")["forfeited_fen"] == 10_000_00
    # no contract for the defaulted award; a second default is refused
    from datetime import date
    refused(session, w.trade, Conflict, result.record_contract, w.c_owner, code, date(2026, 11, 30), PRICES[0])
    refused(session, w.trade, Conflict, reaward.record_default, w.c_owner, code, "waived", "又一次记录的放弃理由",
            "又一份证据说明")

    view = queries.lot_awards(w.c_owner, code)
    assert view.open_default.id == dflt.id and view.next_candidate.bidder_org_id == w.bidders[1].org_id

    row = reaward.award_next(w.c_owner, code)
    assert (row.bidder_org_id, row.rank, row.price_fen) == (w.bidders[1].org_id, 2, PRICES[1])
    assert row.contract_due_at == beijing(2026, 12, 31)  # 30 CD from 11-30 → 12-30 24:00
    assert (first.status, first.superseded_by_id, dflt.outcome, dflt.next_award_id) == \
        ("superseded", row.id, "reawarded", row.id)
    assert _count(session, Award) == 2  # the first award is kept
    notice = session.get(Notice, row.result_notice_id)
    assert "结果变更公告" in notice.title and "拒绝签订合同" in notice.body and notice.status == "published"
    assert [(x.kind, x.bidder_org_id) for x in row.letters][0] == ("winner", w.bidders[1].org_id)
    numbers = session.execute(select(ResultLetter.number)).scalars().all()
    assert len(set(numbers)) == len(numbers) == 6  # three letters per award, each number once
    assert get_trade(ctx, code).status == "awarded"
    view = queries.lot_awards(w.c_owner, code)
    assert view.award.id == row.id and [a.id for a in view.history] == [first.id] and view.open_default is None
    refused(session, w.trade, Conflict, reaward.award_next, w.c_owner, code)  # decided already

    # the new winner signs: the contract starts every refund clock but the forfeited one
    clock.set(beijing(2026, 12, 2, 15, 0))
    result.record_contract(w.c_owner, code, beijing(2026, 12, 2).date(), PRICES[1])
    assert get_trade(ctx, code).status == "contracted"
    assert [a.refund_due_at is None for a in w.accounts] == [True, False, False]
    assert [a.is_winner for a in w.accounts] == [False, True, False]
    assert _count(session, ContractRecord) == 1
    verify(session)


def test_not_signed_in_time_only_after_the_period(ctx, session, clock, awarded):
    w, code = awarded, awarded.trade.lot_code
    row = result.award_of_lot(ctx, w.trade.lot_id)
    clock.set(row.contract_due_at - timedelta(seconds=1))
    err = refused(session, w.trade, RuleViolation, reaward.record_default, w.c_owner, code, "not_signed",
                  "中选人未在期限内签订合同。", "合同签订期限届满记录")
    assert err.code == "award.contract_period_running"
    clock.set(row.contract_due_at)
    dflt = reaward.record_default(w.c_owner, code, "not_signed", "中选人未在期限内签订合同。", "合同签订期限届满记录")
    assert dflt.deposit == "forfeit"


def test_force_majeure_refunds_the_deposit(ctx, session, clock, awarded):
    w, code = awarded, awarded.trade.lot_code
    dflt = reaward.record_default(w.c_owner, code, "cannot_perform", "中选人厂房遭受洪灾，不能履行合同。",
                                  "应急管理部门出具的灾情证明")
    assert dflt.deposit == "refund"
    assert session.execute(select(func.count(DepositEntry.id)).where(DepositEntry.kind == "forfeited")).scalar_one() == 0
    assert w.accounts[0].refund_due_at is not None and w.accounts[0].refund_event == "termination"


def test_ending_for_reprocurement_fails_the_lot_and_starts_the_refunds(ctx, session, clock, awarded):
    w, code = awarded, awarded.trade.lot_code
    refused(session, w.trade, Conflict, reaward.end_for_reprocurement, w.c_owner, code, "重新组织比选")
    reaward.record_default(w.c_owner, code, "waived", "中选人书面声明放弃中选。", "放弃声明（2026年11月27日）")
    refused(session, w.trade, InvalidInput, reaward.end_for_reprocurement, w.c_owner, code, "")
    dflt = reaward.end_for_reprocurement(w.c_owner, code, "第二名报价超出预算，重新组织比选")
    assert (dflt.outcome, get_trade(ctx, code).status) == ("ended", "failed")
    assert result.award_of_lot(ctx, w.trade.lot_id).status == "defaulted"  # kept as it was
    assert [a.refund_event for a in w.accounts] == [None, "termination", "termination"]
    assert _payload(session, "lot.reprocure")["new"] == "failed"
    refused(session, w.trade, Conflict, reaward.award_next, w.c_owner, code)


def test_bad_input_and_strangers_are_refused(ctx, session, clock, awarded):
    w, code = awarded, awarded.trade.lot_code
    for kind, reason, note, extra, code_ in [
        ("bogus", "中选人拒签的事实和理由", "来函", {}, "award.default_kind"),
        ("waived", "短", "来函说明", {}, "award.reason_length"),
        ("waived", "中选人书面声明放弃中选。", "", {}, "award.evidence_note_length"),
        ("waived", "中选人书面声明放弃中选。", "放弃声明", {"evidence": b"MZ\x90\x00exe"}, "award.evidence_type"),
    ]:
        err = refused(session, w.trade, InvalidInput, reaward.record_default, w.c_owner, code, kind, reason, note,
                      **extra)
        assert err.code == code_
    refused(session, w.trade, Forbidden, reaward.record_default, w.c_bidders[1], code, "waived",
            "中选人书面声明放弃中选。", "放弃声明")


def test_no_next_candidate_left(ctx, session, clock):
    w = reported_lot(ctx, procedure="inquiry", bidders=1, deposit_yuan=None)
    propose(w, [450_000_00])
    code = w.trade.lot_code
    services.confirm_supplier(w.c_owner, code, w.bidders[0].org_id)
    result.award(w.c_owner, code, w.bidders[0].org_id, team_names=["王专家", "李专家", "赵某"])
    reaward.record_default(w.c_owner, code, "waived", "成交供应商书面声明放弃成交。", "放弃声明")
    err = refused(session, w.trade, Conflict, reaward.award_next, w.c_owner, code)
    assert err.code == "award.no_next_candidate"
    reaward.end_for_reprocurement(w.c_owner, code, "无其他候选人，重新组织采购")
    assert get_trade(ctx, code).status == "failed"
