"""Deposit services: the lot's amount (cap, who, when), sub-accounts, bank-statement import (BOM,
GB18030, re-import, unmatched, late, partial/over, malformed → nothing written), refunds and forfeits,
and secrecy before the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.deposits import deposit_lot, registered_account, statement_csv
from tests.timeline import T0
from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.procedures.common.deposits import queries, refunds, services, statements
from trading.procedures.common.deposits.models import BankStatement, DepositAccount, DepositEntry
from trading.procedures.common.deposits.rules import StatementError, is_valid_virtual_account
from trading.reference.workdays import CalendarYearMissing

YUAN = 100


@pytest.fixture
def world(ctx, session, clock):
    owner, trade = deposit_lot(ctx, deposit_yuan=10_000)
    b1, b2 = make_user(ctx, "bidder"), make_user(ctx, "bidder")
    op = make_user(ctx, "operator", totp=True)
    sup = make_user(ctx, "supervisor", totp=True)
    return dict(owner=owner, trade=trade, b1=b1, b2=b2, op=op, sup=sup,
                c_owner=actor_ctx(session, clock, owner), c_b1=actor_ctx(session, clock, b1),
                c_b2=actor_ctx(session, clock, b2), c_op=actor_ctx(session, clock, op),
                c_sup=actor_ctx(session, clock, sup))


def audit_actions(session) -> list[str]:
    return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


# --- The lot's amount ---------------------------------------------------------------------------
def test_owner_sets_the_deposit_within_the_cap(world, session):
    trade = world["trade"]
    assert trade.deposit_fen == 10_000 * YUAN
    services.set_lot_deposit(world["c_owner"], trade.lot_code, 16_000 * YUAN)  # 2 % of 80万
    assert trade.deposit_fen == 16_000 * YUAN
    with pytest.raises(DomainError) as err:
        services.set_lot_deposit(world["c_owner"], trade.lot_code, 16_000 * YUAN + 1)
    assert err.value.code == "deposit.over_cap" and err.value.status == 422
    assert "比选" in err.value.message_zh and "16,000.00" in err.value.message_zh
    assert audit_actions(session).count("deposit.amount_set") == 2


def test_tender_works_cap(ctx, session, clock):
    owner, trade = deposit_lot(ctx, procedure="tender", deposit_yuan=None)  # 500万 works lot
    c = actor_ctx(session, clock, owner)
    services.set_lot_deposit(c, trade.lot_code, 100_000 * YUAN)
    with pytest.raises(DomainError) as err:
        services.set_lot_deposit(c, trade.lot_code, 100_000 * YUAN + 1)
    assert "第二十六条" in err.value.message_zh


def test_who_may_set_the_deposit(world, ctx, session, clock):
    code = world["trade"].lot_code
    services.set_lot_deposit(world["c_op"], code, 5_000 * YUAN)  # the centre may
    with pytest.raises(Forbidden):
        services.set_lot_deposit(world["c_b1"], code, 1)
    other_owner = actor_ctx(session, clock, make_user(ctx, "owner"))
    with pytest.raises(NotFound):
        services.set_lot_deposit(other_owner, code, 1)
    with pytest.raises(InvalidInput):
        services.set_lot_deposit(world["c_owner"], code, -1)


def test_a_change_after_registration_is_not_refused_and_readjusts_open_accounts(world, clock):
    """Refusing would tell the owner that someone registered (Art. 22); the accounts follow instead."""
    trade = world["trade"]
    account = registered_account(world["c_owner"], trade, world["b1"])
    services.set_lot_deposit(world["c_owner"], trade.lot_code, 1_000 * YUAN)
    assert account.required_fen == 1_000 * YUAN
    clock.set(trade.deadline_at)
    with pytest.raises(Conflict) as err:
        services.set_lot_deposit(world["c_owner"], trade.lot_code, 1_000 * YUAN)
    assert err.value.code == "deposit.deadline_passed"


# --- Sub-accounts -------------------------------------------------------------------------------
def test_one_random_sub_account_per_bidder_per_lot(world, session):
    trade = world["trade"]
    a1 = registered_account(world["c_owner"], trade, world["b1"])
    a2 = registered_account(world["c_owner"], trade, world["b2"])
    again = registered_account(world["c_owner"], trade, world["b1"])
    assert a1.id == again.id and a1.virtual_account != a2.virtual_account
    for a in (a1, a2):
        assert is_valid_virtual_account(a.virtual_account) and a.required_fen == 10_000 * YUAN
        assert a.due_at == trade.deadline_at and a.status == "awaiting"
    expected = session.execute(select(DepositEntry).where(DepositEntry.kind == "expected")).scalars().all()
    assert {e.account_id for e in expected} == {a1.id, a2.id}
    state = services.deposit_state(world["c_b1"], a1.participation_id)
    assert (state.required_fen, state.received_fen, state.status) == (10_000 * YUAN, 0, "awaiting")
    assert state.virtual_account == a1.virtual_account


def test_no_account_when_the_lot_asks_no_deposit(ctx, world):
    _, trade = deposit_lot(ctx, deposit_yuan=0)
    assert registered_account(ctx, trade, world["b1"]) is None


def test_a_bidder_cannot_open_an_account_for_another(world):
    from types import SimpleNamespace
    fake = SimpleNamespace(id=None, lot_id=world["trade"].lot_id, bidder_org_id=world["b2"].org_id)
    with pytest.raises(NotFound):
        services.open_sub_account(world["c_b1"], fake)


# --- Secrecy ------------------------------------------------------------------------------------
def test_before_the_deadline_only_the_bidder_sees_its_account(world, clock, session):
    trade = world["trade"]
    a1 = registered_account(world["c_owner"], trade, world["b1"])
    pid = a1.participation_id
    for c in ("c_owner", "c_b2", "c_op", "c_sup"):
        with pytest.raises(NotFound) as err:
            services.deposit_state(world[c], pid)
        assert err.value.code == "not_found"
    for c in ("c_owner", "c_op", "c_sup"):
        with pytest.raises((Conflict, Forbidden, NotFound)) as err:
            queries.lot_deposits(world[c], trade.lot_code)
        if c == "c_owner":
            assert err.value.code == "deposit.before_deadline"
    [mine] = queries.my_deposits(world["c_b1"])
    assert mine.account.id == a1.id
    assert queries.my_deposits(world["c_b2"]) == []
    # the centre's ledger does not even show that a sub-account was opened (a registration) …
    assert [r for r in queries.ledger(world["c_op"]) if r.entry.kind == "expected"] == []
    # after the deadline: the project side and supervisors see per-bidder status
    clock.set(trade.deadline_at)
    assert services.deposit_state(world["c_owner"], pid).virtual_account is None
    _, rows = queries.lot_deposits(world["c_owner"], trade.lot_code)
    assert [r.bidder_name for r in rows] == [session.get(Organisation, world["b1"].org_id).name]
    _, rows = queries.lot_deposits(world["c_sup"], trade.lot_code)
    assert len(rows) == 1
    # … until the deadline, when its row appears with the lot
    assert [r.lot_code for r in queries.ledger(world["c_op"]) if r.entry.kind == "expected"] == [trade.lot_code]
    with pytest.raises(NotFound):
        services.deposit_state(world["c_b2"], pid)


def test_payer_names_only_for_the_centre(world, clock):
    trade = world["trade"]
    a1 = registered_account(world["c_owner"], trade, world["b1"])
    data = statement_csv([(T0, a1.virtual_account, "示范建筑", "6222000011112222", "10000.00", "B1")])
    statements.import_bank_statement(world["c_op"], "s.csv", data)
    [op_row] = [r for r in queries.ledger(world["c_op"]) if r.entry.kind == "received"]
    [sup_row] = [r for r in queries.ledger(world["c_sup"]) if r.entry.kind == "received"]
    assert op_row.payer_name == "示范建筑" and sup_row.payer_name is None and sup_row.payer_account is None
    with pytest.raises(Forbidden):
        queries.ledger(world["c_owner"])


# --- Bank statement import ----------------------------------------------------------------------
@pytest.fixture
def accounts(world):
    trade = world["trade"]
    return (registered_account(world["c_owner"], trade, world["b1"]),
            registered_account(world["c_owner"], trade, world["b2"]))


@pytest.mark.parametrize("encoding, bom", [("utf-8", False), ("utf-8", True), ("gb18030", False)])
def test_import_matches_by_virtual_account(world, accounts, session, encoding, bom):
    a1, a2 = accounts
    data = statement_csv([
        (T0 + timedelta(hours=1), a1.virtual_account, "示范建筑工程有限公司", "6222000011112222", "10,000.00", "B001"),
        (T0 + timedelta(hours=2), a2.virtual_account, "另一家公司", "6222000033334444", "4000", "B002"),
        (T0 + timedelta(hours=3), "8810019999999999990", "陌生人", "6222", "50.00", "B003"),
    ], encoding=encoding, bom=bom)
    report = statements.import_bank_statement(world["c_op"], "11月流水.csv", data)
    assert (report.rows, report.matched, len(report.unmatched), report.duplicates) == (3, 2, 1, 0)
    assert report.partial == [(a2.virtual_account, 4_000 * YUAN, 10_000 * YUAN)] and report.late == []
    assert a1.status == "received" and a2.status == "partial"
    assert report.unmatched[0].bank_ref == "B003"
    st = session.execute(select(BankStatement)).scalar_one()
    assert (st.rows, st.matched, st.unmatched, st.duplicates) == (3, 2, 1, 0) and len(st.sha256) == 64
    assert "deposit.statement_imported" in audit_actions(session)
    state = services.deposit_state(world["c_b1"], a1.participation_id)
    assert state.received_fen == 10_000 * YUAN and state.status == "received" and not state.late


def test_reimport_changes_nothing_and_says_so(world, accounts, session):
    a1, _ = accounts
    data = statement_csv([(T0, a1.virtual_account, "甲", "1", "10000", "B001")])
    statements.import_bank_statement(world["c_op"], "a.csv", data)
    before = session.execute(select(func.count()).select_from(DepositEntry)).scalar()
    report = statements.import_bank_statement(world["c_op"], "a.csv", data)
    assert not report.changed and report.duplicates == 1 and report.matched == 0
    assert session.execute(select(func.count()).select_from(DepositEntry)).scalar() == before
    assert session.execute(select(func.count()).select_from(BankStatement)).scalar() == 1
    assert audit_actions(session)[-1] == "deposit.statement_reimported"
    # a later file overlapping the first: only the new row counts
    more = statement_csv([(T0, a1.virtual_account, "甲", "1", "10000", "B001"),
                          (T0, a1.virtual_account, "甲", "1", "5", "B009")])
    report = statements.import_bank_statement(world["c_op"], "b.csv", more)
    assert (report.matched, report.duplicates) == (1, 1) and report.overpaid
    assert a1.status == "overpaid"


def test_late_arrival_is_flagged(world, accounts, clock):
    a1, _ = accounts
    deadline = world["trade"].deadline_at
    data = statement_csv([(deadline, a1.virtual_account, "甲", "1", "10000", "LATE1")])
    clock.set(deadline + timedelta(hours=1))
    report = statements.import_bank_statement(world["c_op"], "late.csv", data)
    assert [r.bank_ref for r, _ in report.late] == ["LATE1"]
    assert services.deposit_state(world["c_b1"], a1.participation_id).late


def test_malformed_file_writes_nothing(world, accounts, session):
    a1, _ = accounts
    good = statement_csv([(T0, a1.virtual_account, "甲", "1", "10000", "OK1")]).decode()
    bad = good + "2026-11-20 10:00:00,8810011234567890123,乙,2,12.345,BAD1\r\n"
    entries = session.execute(select(func.count()).select_from(DepositEntry)).scalar()
    audits = len(audit_actions(session))
    with pytest.raises(StatementError) as err:
        statements.import_bank_statement(world["c_op"], "bad.csv", bad.encode())
    assert err.value.status == 422 and (err.value.line, err.value.column) == (3, "金额")
    assert "第 3 行" in err.value.message_zh and "金额" in err.value.message_zh
    assert session.execute(select(func.count()).select_from(DepositEntry)).scalar() == entries
    assert session.execute(select(func.count()).select_from(BankStatement)).scalar() == 0
    assert len(audit_actions(session)) == audits


def test_only_the_centre_imports(world):
    for c in ("c_owner", "c_b1", "c_sup"):
        with pytest.raises(Forbidden):
            statements.import_bank_statement(world[c], "x.csv", b"x")
    with pytest.raises(InvalidInput):
        statements.import_bank_statement(world["c_op"], "x.csv", b"")


def test_unmatched_row_assigned_by_the_centre(world, accounts, session):
    a1, _ = accounts
    wrong = a1.virtual_account[:-1] + str((int(a1.virtual_account[-1]) + 1) % 10)
    statements.import_bank_statement(world["c_op"], "s.csv", statement_csv([(T0, wrong, "甲", "1", "10000", "U1")]))
    [row] = queries.ledger(world["c_op"], unmatched_only=True)
    with pytest.raises(InvalidInput):
        statements.assign_unmatched(world["c_op"], row.entry.id, a1.virtual_account, "")
    statements.assign_unmatched(world["c_op"], row.entry.id, a1.virtual_account, "付款人来电确认，附银行回单")
    assert a1.status == "received"
    with pytest.raises(Conflict):
        statements.assign_unmatched(world["c_op"], row.entry.id, a1.virtual_account, "again")


# --- Refunds ------------------------------------------------------------------------------------
def paid(world, accounts):
    data = statement_csv([(T0, a.virtual_account, "甲", "1", "10000", f"P{a.id}") for a in accounts])
    statements.import_bank_statement(world["c_op"], "paid.csv", data)


def test_refund_due_and_overdue(world, accounts, clock, session):
    a1, a2 = accounts
    paid(world, accounts)
    trade = world["trade"]
    clock.set(beijing(2026, 12, 14, 10, 0))  # after the deadline: the contract is signed (Monday)
    changed = refunds.record_refund_event(world["c_op"], trade.lot_code, "contract")
    assert {a.id for a in changed} == {a1.id, a2.id}
    # 比选 follows the tender rule: 5 calendar days; the fifth (Sat 12-19) rolls on to Monday 12-21
    assert a1.refund_due_at == beijing(2026, 12, 22)
    rows = queries.refunds_due(world["c_op"])
    assert [r.light for r in rows] == ["green", "green"]
    out = refunds.record_refund(world["c_op"], a1.id, 10_000 * YUAN, "RF001")
    assert not out.overdue and a1.status == "refunded"
    with pytest.raises(Conflict):
        refunds.record_refund(world["c_op"], a2.id, 1, "RF001")
    with pytest.raises(InvalidInput):
        refunds.record_refund(world["c_op"], a1.id, 1, "RF002")  # nothing left
    clock.set(beijing(2026, 12, 20, 10, 0))
    assert [r.light for r in queries.refunds_due(world["c_op"])] == ["yellow"]
    clock.set(beijing(2026, 12, 22, 0, 0))
    assert [r.light for r in queries.refunds_due(world["c_op"])] == ["red"]
    out = refunds.record_refund(world["c_op"], a2.id, 10_000 * YUAN, "RF003")
    assert out.overdue and out.entry.late
    assert queries.refunds_due(world["c_op"]) == []
    assert audit_actions(session).count("deposit.refunded") == 2


def test_gp_result_excludes_the_winner_and_counts_working_days(ctx, session, clock):
    owner, trade = deposit_lot(ctx, procedure="negotiation", deposit_yuan=1_000, category="goods",
                               owner_type="gov")
    b1, b2 = make_user(ctx, "bidder"), make_user(ctx, "bidder")
    a1, a2 = registered_account(ctx, trade, b1), registered_account(ctx, trade, b2)
    op = actor_ctx(session, clock, make_user(ctx, "operator", totp=True))
    clock.set(beijing(2026, 12, 11, 10, 0))  # Friday
    changed = refunds.record_refund_event(op, trade.lot_code, "result", winner_account_id=a1.id)
    assert [a.id for a in changed] == [a2.id] and a2.refund_due_at == beijing(2026, 12, 19)  # next Friday 24:00
    assert a1.refund_due_at is None
    clock.set(beijing(2026, 12, 28, 10, 0))  # five working days run into 2027, which nobody loaded
    with pytest.raises(CalendarYearMissing):
        refunds.record_refund_event(op, trade.lot_code, "contract")


def test_withdrawal_dates_one_account(world, accounts):
    a1, a2 = accounts
    refunds.record_refund_event(world["c_op"], world["trade"].lot_code, "withdrawal", account_id=a1.id)
    assert a1.refund_event == "withdrawal" and a2.refund_due_at is None
    with pytest.raises(RuleViolation) as err:
        refunds.record_refund_event(world["c_op"], world["trade"].lot_code, "result")  # 比选: waits for the contract
    assert err.value.code == "deposit.no_refund_period"


def test_forfeit_needs_a_reason(world, accounts, session):
    a1, _ = accounts
    paid(world, accounts)
    with pytest.raises(InvalidInput):
        refunds.forfeit(world["c_op"], a1.id, "")
    entry = refunds.forfeit(world["c_op"], a1.id, "中标后无正当理由不与招标人订立合同（实施条例第七十四条）")
    assert entry.amount_fen == 10_000 * YUAN and a1.status == "forfeited"
    with pytest.raises(InvalidInput):
        refunds.forfeit(world["c_op"], a1.id, "再次没收测试理由")
    with pytest.raises(Forbidden):
        refunds.forfeit(world["c_sup"], a1.id, "监督不能操作")
    assert session.get(DepositAccount, a1.id) is a1


def test_publishing_a_termination_notice_starts_the_refund_periods(world, accounts, clock, session):
    """The hook is wired: the 终止公告 itself starts every open sub-account's refund period."""
    from tests.factories.notices import published_notice
    from trading.projects.models import Project

    a1, a2 = accounts
    project = session.get(Project, world["trade"].project_id)
    published_notice(world["c_owner"], project, kind="termination", title="终止公告", body="因故终止")
    assert world["trade"].status == "terminated"
    assert {a.refund_event for a in (a1, a2)} == {"termination"} and a1.refund_due_at is not None


def test_termination_hook_starts_every_open_refund_period(world, accounts, clock, session):
    a1, a2 = accounts
    refunds.record_refund_event(world["c_op"], world["trade"].lot_code, "withdrawal", account_id=a1.id)
    clock.set(beijing(2026, 11, 13, 10, 0))  # Friday; 比选 follows 实施条例 31: five calendar days
    changed = refunds.on_lot_terminated(world["c_owner"], world["trade"])
    assert [a.id for a in changed] == [a2.id] and a2.refund_event == "termination"
    assert a2.refund_due_at == beijing(2026, 11, 19)
    assert a1.refund_event == "withdrawal"
    assert refunds.on_lot_terminated(world["c_owner"], world["trade"]) == []
