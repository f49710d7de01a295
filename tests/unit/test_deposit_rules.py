"""Deposit rules (rules.md §9 #14–17, #42–43, #56, #65): caps and floors by procedure, refund due
dates on the official 2026 calendar (holiday crossing, unloaded year refused), the refunds-due light,
virtual sub-account numbers (Luhn) and the bank-statement parser."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trading.core.clock import beijing
from trading.procedures.common.deposits import rules
from trading.procedures.common.deposits.rules import (
    AccountStatus,
    DepositRefused,
    Light,
    StatementError,
    check_deposit,
    deposit_limits,
    is_valid_virtual_account,
    luhn_check_digit,
    make_virtual_account,
    parse_statement,
    refund_due,
    refund_light,
)
from trading.reference.services import builtin_days
from trading.reference.workdays import CalendarYearMissing, from_days

YUAN = 100
WAN = 10_000 * YUAN
NO = {}  # catalogue defaults


@pytest.fixture(scope="module")
def cal():
    return from_days([2026], [(d, w) for d, w, _ in builtin_days(2026)])


@pytest.mark.parametrize("procedure, category, base, cap, code", [
    ("tender", "works", 100 * WAN, 2 * WAN, "deposit.tender_cap_bp"),              # 2 % below 80万
    ("tender", "works", 10_000 * WAN, 80 * WAN, "deposit.tender_abs_cap_fen"),     # 2 % = 200万 > 80万
    ("tender", "goods", 5_000 * WAN, 80 * WAN, "deposit.tender_abs_cap_fen"),
    ("tender", "services", 10_000 * WAN, 200 * WAN, "deposit.tender_cap_bp"),       # no absolute cap
    ("tender", "works", 4_000 * WAN, 80 * WAN, "deposit.tender_cap_bp"),           # equal: 2 % is the first
    ("gp_tender", "goods", 500 * WAN, 10 * WAN, "deposit.gp_cap_bp"),
    ("negotiation", "services", 150 * WAN, 3 * WAN, "deposit.gp_cap_bp"),
    ("inquiry", "goods", 50 * WAN, 1 * WAN, "deposit.gp_cap_bp"),
    ("consultation", "services", 100 * WAN, 2 * WAN, "deposit.gp_cap_bp"),
    ("selection", "works", 80 * WAN, 16_000 * YUAN, "deposit.selection_cap_bp"),
    ("gp_tender", "goods", 333, 6, "deposit.gp_cap_bp"),                           # rounded down, never above 2 %
])
def test_caps_by_procedure(procedure, category, base, cap, code):
    limits = deposit_limits(procedure, category, base, NO)
    assert limits.cap.fen == cap and limits.cap.code == code
    assert check_deposit(procedure, category, base, cap, NO) is not None
    with pytest.raises(DepositRefused) as err:
        check_deposit(procedure, category, base, cap + 1, NO)
    assert err.value.code == "deposit.over_cap"
    assert err.value.details["rule"] == code and err.value.details["source"]
    assert "第" in err.value.message_zh or "比选" in err.value.message_zh or "八十万" in err.value.message_zh


def test_cap_names_its_source():
    with pytest.raises(DepositRefused) as err:
        check_deposit("tender", "works", 10_000 * WAN, 80 * WAN + 1, NO)
    assert "八十万元" in err.value.message_zh and "800,000.00" in err.value.message_zh
    with pytest.raises(DepositRefused) as err:
        check_deposit("gp_tender", "goods", 500 * WAN, 10 * WAN + 1, NO)
    assert "政府采购法实施条例》第三十三条" in err.value.message_zh


def test_centre_may_tighten_the_percentage():
    assert deposit_limits("tender", "services", 100 * WAN, {"deposit.tender_cap_bp": 100}).cap.fen == 1 * WAN


@pytest.mark.parametrize("procedure", ["land_auction", "land_listing", "land_tender", "mining_auction"])
def test_land_has_a_floor_of_twenty_percent(procedure):
    base = 1_000 * WAN + 1
    limits = deposit_limits(procedure, "land", base, NO)
    assert limits.cap is None and limits.floor.fen == 200 * WAN + 1  # rounded up: never below 20 %
    assert check_deposit(procedure, "land", base, 500 * WAN, NO)
    for too_low in (0, 200 * WAN):
        with pytest.raises(DepositRefused) as err:
            check_deposit(procedure, "land", base, too_low, NO)
        assert err.value.code == "deposit.under_floor"


def test_no_deposit_where_the_procedure_takes_none():
    assert check_deposit("direct", "goods", 10 * WAN, 0, NO)
    with pytest.raises(DepositRefused) as err:
        check_deposit("direct", "goods", 10 * WAN, 1, NO)
    assert err.value.code == "deposit.not_applicable"


def test_zero_is_always_allowed_below_a_cap():
    assert check_deposit("tender", "works", 100 * WAN, 0, NO).cap.fen == 2 * WAN
    assert check_deposit("asset_transfer", "state_asset", 100 * WAN, 50 * WAN, NO).cap is None


# --- Refund due dates ---------------------------------------------------------------------------
@pytest.mark.parametrize("procedure, event, at, due", [
    # tender: 5 calendar days after the contract / withdrawal; Fri 11-20 → Wed 11-25 ends at 24:00
    ("tender", "contract", beijing(2026, 11, 20, 15, 0), beijing(2026, 11, 26)),
    ("tender", "withdrawal", beijing(2026, 11, 20, 15, 0), beijing(2026, 11, 26)),
    ("selection", "termination", beijing(2026, 11, 20, 15, 0), beijing(2026, 11, 26)),
    # a calendar-day period ending in the National Day block runs on to the next working day (10-08)
    ("tender", "contract", beijing(2026, 9, 28, 10, 0), beijing(2026, 10, 9)),
    # GP: 5 working days; across the holiday, the make-up Saturday 10-10 counts
    ("gp_tender", "result", beijing(2026, 9, 29, 10, 0), beijing(2026, 10, 13)),
    ("negotiation", "contract", beijing(2026, 11, 10, 9, 0), beijing(2026, 11, 18)),
    ("inquiry", "termination", beijing(2026, 11, 13, 9, 0), beijing(2026, 11, 21)),  # Fri → next Fri
    # land and assets: 5 working days after the result
    ("land_auction", "result", beijing(2026, 11, 10, 9, 0), beijing(2026, 11, 18)),
    ("asset_transfer", "withdrawal", beijing(2026, 11, 10, 9, 0), beijing(2026, 11, 18)),
])
def test_refund_due(cal, procedure, event, at, due):
    assert refund_due(cal, procedure, event, at, NO) == due


@pytest.mark.parametrize("procedure, event", [
    ("tender", "result"),        # the tender refund waits for the contract (实施条例 57)
    ("land_auction", "contract"),  # the winner's land deposit becomes part of the price
    ("direct", "result"),
])
def test_events_that_start_no_refund_period(cal, procedure, event):
    assert refund_due(cal, procedure, event, beijing(2026, 11, 10), NO) is None


def test_refund_period_into_an_unloaded_year_is_refused(cal):
    with pytest.raises(CalendarYearMissing) as err:
        refund_due(cal, "gp_tender", "result", beijing(2026, 12, 28, 10, 0), NO)
    assert err.value.year == 2027 and err.value.code == "calendar.year_missing"
    # a calendar-day period ending on 2027-01-02 (a Saturday) must know 2027's rest days too
    with pytest.raises(CalendarYearMissing):
        refund_due(cal, "tender", "contract", beijing(2026, 12, 28, 10, 0), NO)


def test_refund_settings_apply(cal):
    assert refund_due(cal, "asset_transfer", "result", beijing(2026, 11, 10, 9, 0),
                      {"deposit.asset_refund_wd": 3}) == beijing(2026, 11, 14)


@pytest.mark.parametrize("due_in, settled, light", [
    (timedelta(days=5), False, Light.GREEN),
    (timedelta(days=2), False, Light.YELLOW),
    (timedelta(hours=1), False, Light.YELLOW),
    (timedelta(0), False, Light.RED),
    (-timedelta(days=3), False, Light.RED),
    (-timedelta(days=3), True, Light.DONE),
])
def test_refund_light(due_in, settled, light):
    now = beijing(2026, 11, 10, 9, 0)
    assert refund_light(now + due_in, now, settled=settled, warn_days=2) == light


def test_no_light_without_a_due_date():
    assert refund_light(None, beijing(2026, 11, 10), settled=False) is None


@pytest.mark.parametrize("required, received, refunded, forfeited, status", [
    (100, 0, 0, 0, AccountStatus.AWAITING),
    (100, 40, 0, 0, AccountStatus.PARTIAL),
    (100, 100, 0, 0, AccountStatus.RECEIVED),
    (100, 120, 0, 0, AccountStatus.OVERPAID),
    (100, 100, 100, 0, AccountStatus.REFUNDED),
    (100, 120, 100, 0, AccountStatus.PART_REFUNDED),
    (100, 100, 0, 100, AccountStatus.FORFEITED),
])
def test_account_status(required, received, refunded, forfeited, status):
    assert rules.account_status(required, received, refunded, forfeited) == status


# --- Virtual sub-accounts -----------------------------------------------------------------------
def test_luhn_known_answer():
    assert luhn_check_digit("7992739871") == "3"   # the textbook example 79927398713
    assert luhn_check_digit("0") == "0"


def test_virtual_account_shape_and_check():
    number = make_virtual_account(881001, 123456789012)
    assert len(number) == 19 and number.startswith("881001123456789012")
    assert is_valid_virtual_account(number)
    for i in range(19):  # every single-digit error is caught
        for d in "0123456789":
            if d != number[i]:
                assert not is_valid_virtual_account(number[:i] + d + number[i + 1:])
    assert not is_valid_virtual_account(number[:-1])
    assert not is_valid_virtual_account("８" * 19)  # full-width digits are not digits here
    with pytest.raises(ValueError):
        make_virtual_account(88100, 1)
    with pytest.raises(ValueError):
        make_virtual_account(881001, 10**12)


def test_format_account_groups_of_four():
    assert rules.format_account("8810011234567890123") == "8810 0112 3456 7890 123"


# --- Bank statement CSV -------------------------------------------------------------------------
HEADER = "交易时间,收款账号,付款人户名,付款账号,金额(元),流水号\n"


def test_parse_utf8_with_bom_and_gb18030():
    body = HEADER + "2026-11-20 10:15:00,8810011234567890123,示范建筑工程有限公司,6222000011112222,\"20,000.00\",B0001\n"
    for data in (body.encode("utf-8"), b"\xef\xbb\xbf" + body.encode("utf-8"), body.encode("gb18030")):
        [row] = parse_statement(data)
        assert row.amount_fen == 2_000_000 and row.payer_name == "示范建筑工程有限公司"
        assert row.at == beijing(2026, 11, 20, 10, 15) and row.bank_ref == "B0001" and row.line == 2


def test_parse_time_formats_and_blank_lines():
    data = (HEADER + "2026/11/20 10:15,8810011234567890123,甲,1,1.5,A1\n\n"
            "20261120101501,8810011234567890123,甲,1,2,A2\n").encode()
    rows = parse_statement(data)
    assert [r.amount_fen for r in rows] == [150, 200] and [r.line for r in rows] == [2, 4]


def test_a_reference_repeated_with_the_same_facts_counts_once():
    line = "2026-11-20 10:15:00,8810011234567890123,甲,1,100,R1\n"
    assert len(parse_statement((HEADER + line + line).encode())) == 1
    with pytest.raises(StatementError) as err:
        parse_statement((HEADER + line + line.replace(",100,", ",101,")).encode())
    assert err.value.line == 3 and err.value.column == "流水号"


@pytest.mark.parametrize("row, line, column", [
    ("2026-13-01 10:00:00,8810011234567890123,甲,1,100,R1", 2, "交易时间"),
    ("2026-11-20 10:00:00,88100112345X,甲,1,100,R1", 2, "收款账号"),
    ("2026-11-20 10:00:00,8810011234567890123,甲,1,1.005,R1", 2, "金额"),
    ("2026-11-20 10:00:00,8810011234567890123,甲,1,-5,R1", 2, "金额"),
    ("2026-11-20 10:00:00,8810011234567890123,甲,1,1e3,R1", 2, "金额"),
    ("2026-11-20 10:00:00,8810011234567890123,甲,1,0,R1", 2, "金额"),
    ("2026-11-20 10:00:00,8810011234567890123,甲,1,100,", 2, "流水号"),
    ("2026-11-20 10:00:00,8810011234567890123,甲", 2, None),
])
def test_malformed_rows_name_line_and_column(row, line, column):
    with pytest.raises(StatementError) as err:
        parse_statement((HEADER + row + "\n").encode())
    assert err.value.status == 422 and err.value.code == "deposit.statement_malformed"
    assert (err.value.line, err.value.column) == (line, column)
    assert f"第 {line} 行" in err.value.message_zh


def test_missing_column_and_empty_file():
    with pytest.raises(StatementError) as err:
        parse_statement("交易时间,收款账号,金额,流水号\n".encode())
    assert err.value.column == "付款人户名" and err.value.line == 1
    with pytest.raises(StatementError):
        parse_statement(b"")
    with pytest.raises(StatementError):
        parse_statement(b"\xff\xfe\x00\x00garbage\x81")
