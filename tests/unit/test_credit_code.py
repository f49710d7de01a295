"""统一社会信用代码 (GB 32100-2015): real published codes pass, mutated ones fail with the right reason."""

from __future__ import annotations

import pytest

from tests.factories.accounts import valid_credit_code
from trading.accounts.rules import (
    CREDIT_CHARSET,
    credit_code_problem,
    is_valid_credit_code,
    normalise_credit_code,
)
from trading.accounts.services import check_credit_code
from trading.core.errors import InvalidInput

#: codes printed on business licences and in the national enterprise credit publicity system
REAL = [
    "91350100M000100Y43",   # the GB 32100 example code used in Fujian's published guidance
    "9144030071526726XG",   # 深圳市腾讯计算机系统有限公司
    "914403001922038216",   # 华为技术有限公司
    "91110000802100433B",   # 北京百度网讯科技有限公司
    "91330100716105852F",   # an enterprise registered in 杭州
    "12100000400000624D",   # a public institution (事业单位, category 1, kind 2)
]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code):
    assert credit_code_problem(code) is None
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code,problem", [
    ("91350100M000100Y44", "check"),            # last character changed
    ("91350100M000100Y4", "length"),            # 17 characters
    ("91350100M000100Y433", "length"),          # 19 characters
    ("", "length"),
    ("91350100M000I00Y43", "charset"),          # I is not in the GB 32100 alphabet
    ("91350100M000O00Y43", "charset"),          # O
    ("91350100M000Z00Y43", "charset"),          # Z
    ("91350100M000S00Y43", "charset"),          # S
    ("91350100M000V00Y43", "charset"),          # V
    ("91350100m000100y43", "charset"),          # lower case is not a code until normalised
    ("9135A100M000100Y43", "division"),         # positions 3–8 must be a numeric division code
    ("91350100M000100Y4-", "charset"),
    ("９1350100M000100Y43", "charset"),          # a full-width digit
])
def test_mutated_codes_name_their_problem(code, problem):
    assert credit_code_problem(code) == problem


@pytest.mark.parametrize("code", REAL)
def test_every_single_substitution_is_caught(code):
    # The weights are non-zero modulo the prime 31, so any one wrong character changes the sum.
    for pos in range(18):
        for c in CREDIT_CHARSET:
            if c != code[pos]:
                mutated = code[:pos] + c + code[pos + 1:]
                assert credit_code_problem(mutated) in ("check", "division"), mutated


@pytest.mark.parametrize("raw,expected", [
    ("91350100m000100y43", "91350100M000100Y43"),
    (" 9135 0100 M000 100Y 43 ", "91350100M000100Y43"),
    ("9144030071526726xg\n", "9144030071526726XG"),
])
def test_service_normalises_before_validating(raw, expected):
    assert normalise_credit_code(raw) == expected
    assert check_credit_code(raw) == expected


@pytest.mark.parametrize("raw,code", [
    ("91350100M000100Y44", "org.credit_code_check"),
    ("91350100M000100Y4", "org.credit_code_length"),
    ("91350100M000I00Y43", "org.credit_code_charset"),
    ("9135A100M000100Y43", "org.credit_code_division"),
])
def test_service_refuses_with_a_field_and_message(raw, code):
    with pytest.raises(InvalidInput) as exc:
        check_credit_code(raw)
    assert exc.value.code == code
    assert exc.value.field == "credit_code"
    assert "统一社会信用代码" in exc.value.message_zh


def test_factory_codes_are_valid_and_distinct():
    codes = {valid_credit_code(seed) for seed in range(500)}
    assert len(codes) == 500
    assert all(is_valid_credit_code(c) for c in codes)
    assert valid_credit_code(7) == valid_credit_code(7)
    with pytest.raises(ValueError):
        valid_credit_code(10**9)
