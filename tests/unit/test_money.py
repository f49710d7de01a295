"""Money: yuan text → integer fen, display, and the official capitals (大写) form."""

import pytest

from trading.core.errors import InvalidInput
from trading.core.money import MAX_FEN, check_fen, format_wan, format_yuan, parse_yuan, to_capitals


@pytest.mark.parametrize("text,fen", [
    ("1", 100), ("0.01", 1), ("0.1", 10), ("1200000", 120_000_000), ("1,200,000.50", 120_000_050),
    ("1，200，000.5", 120_000_050), (" 200000 ", 20_000_000), ("¥35.00", 3500), ("35元", 3500), (42, 4200),
])
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text,code", [
    ("1.234", "money.too_precise"), ("-5", "money.negative"), ("abc", "money.malformed"), ("", "money.malformed"),
    ("1e5", "money.malformed"), ("0", "money.zero"), (None, "money.missing"), (1.5, "money.not_text"),
    ("1.", "money.malformed"), ("99999999999999", "money.malformed"), (True, "money.missing"),
])
def test_parse_yuan_refuses_with_a_code(text, code):
    with pytest.raises(InvalidInput) as err:
        parse_yuan(text)
    assert err.value.code == code
    assert err.value.message_zh and err.value.message_en


def test_zero_allowed_when_asked():
    assert parse_yuan("0", allow_zero=True) == 0


@pytest.mark.parametrize("value,code", [(1.0, "money.not_integer_fen"), ("100", "money.not_integer_fen"),
                                        (-1, "money.negative"), (MAX_FEN + 1, "money.too_large"),
                                        (True, "money.not_integer_fen")])
def test_check_fen(value, code):
    with pytest.raises(InvalidInput) as err:
        check_fen(value)
    assert err.value.code == code


@pytest.mark.parametrize("fen,text", [(0, "0.00"), (5, "0.05"), (123456789, "1,234,567.89"), (-150, "-1.50"),
                                      (200_000_000, "2,000,000.00")])
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


def test_format_wan():
    assert format_wan(1_643_000_000) == "1,643.00"
    assert format_wan(123_456, 4) == "0.1235"


# Official forms per 会计基础工作规范 Art. 52: 人民币 prefix; 整 after 元 or 角; none after 分.
@pytest.mark.parametrize("fen,capitals", [
    (0, "人民币零元整"),
    (100, "人民币壹元整"),
    (1_000, "人民币壹拾元整"),
    (100_000_000, "人民币壹佰万元整"),
    (10_001_000, "人民币壹拾万零壹拾元整"),
    (100_000_050, "人民币壹佰万元伍角整"),
    (50, "人民币伍角整"),
    (5, "人民币伍分"),
    (100_105, "人民币壹仟零壹元零伍分"),
    (10_500_000_000, "人民币壹亿零伍佰万元整"),
    (123_456_789, "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    (1_001, "人民币壹拾元零壹分"),
    (20_000_000, "人民币贰拾万元整"),
    (200_000_000, "人民币贰佰万元整"),
])
def test_capitals_official_form(fen, capitals):
    assert to_capitals(fen) == capitals


@pytest.mark.parametrize("bad", [-1, 1.5, "100", None])
def test_capitals_refuses_non_fen(bad):
    with pytest.raises(InvalidInput):
        to_capitals(bad)
