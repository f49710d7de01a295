"""Expert pool rules: ID-card check digit and masking, specialty codes, relations, periods, and the
bulk-load CSV (every bad line reported, nothing half-read)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories.experts import valid_id_card
from trading.core.errors import InvalidInput
from trading.evaluation.experts import rules

HEADER = "账号,姓名,身份证号,工作单位统一社会信用代码,地区代码,职称,高级职称,从业年限,专业代码"
CODE = "91510100700000017X"


def test_id_card_is_checked_and_masked():
    card = valid_id_card(5)
    assert rules.mask_id_card(card) == card[:6] + "********" + card[14:]
    assert rules.mask_id_card(rules.mask_id_card(card)) == rules.mask_id_card(card)
    wrong = card[:17] + ("0" if card[17] != "0" else "1")
    for bad in (wrong, card[:17], "", "X" * 18):
        with pytest.raises(InvalidInput) as exc:
            rules.mask_id_card(bad)
        assert exc.value.code == "expert.id_card_invalid"


def test_the_known_check_digit():
    assert rules.id_card_check_char("11010519491231002") == "X"   # GB 11643 example


@pytest.mark.parametrize("raw, expected", [
    ("gc01", ("GC01",)), ("GC01;SZ02、GC01", ("GC01", "SZ02")), (["A1", " b2 "], ("A1", "B2")), ("JZ.01.2", ("JZ.01.2",)),
])
def test_specialties_are_normalised(raw, expected):
    assert rules.parse_specialties(raw) == expected


@pytest.mark.parametrize("raw, code", [
    ("", "expert.specialty_required"), ("1AB", "expert.specialty_invalid"), ("中文", "expert.specialty_invalid"),
    (";".join(f"A{i}" for i in range(11)), "expert.specialty_too_many"),
])
def test_bad_specialties(raw, code):
    with pytest.raises(InvalidInput) as exc:
        rules.parse_specialties(raw)
    assert exc.value.code == code


@pytest.mark.parametrize("kind, start, end, code", [
    ("friendship", None, None, "expert.relation_kind"),
    ("employment", None, None, "expert.relation_from"),
    ("employment", date(2020, 1, 2), date(2020, 1, 1), "expert.relation_dates"),
])
def test_bad_relations(kind, start, end, code):
    with pytest.raises(InvalidInput) as exc:
        rules.check_relation(kind, start, end)
    assert exc.value.code == code


def test_good_relations_and_periods():
    assert rules.check_relation("employment", date(2020, 1, 1), date(2020, 1, 1)) == "employment"
    assert rules.check_relation("shareholding", None, None) == "shareholding"
    rules.check_period(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(InvalidInput):
        rules.check_period(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(InvalidInput):
        rules.check_period(date(2026, 1, 1), date(2027, 1, 3))


@pytest.mark.parametrize("value, ok", [(0, True), (60, True), ("12", True), (61, False), (-1, False), ("x", False),
                                       (True, False)])
def test_years(value, ok):
    if ok:
        assert rules.check_years(value) == int(value)
    else:
        with pytest.raises(InvalidInput):
            rules.check_years(value)


def _csv(*lines: str, encoding="utf-8") -> bytes:
    return "\n".join([HEADER, *lines]).encode(encoding)


def test_csv_good_file_in_utf8_and_gb18030():
    line = f"zhang.san,张三,{valid_id_card(1)},{CODE},511000,高级工程师,是,12,GC01;SZ02"
    for enc in ("utf-8", "utf-8-sig", "gb18030"):
        (row,) = rules.parse_expert_csv(_csv(line, "", encoding=enc))
        assert (row.line, row.username, row.name, row.senior, row.years, row.specialties) == \
            (2, "zhang.san", "张三", True, 12, ("GC01", "SZ02"))
        assert "*" in row.id_card_masked


def test_csv_reports_every_bad_line_and_column():
    data = _csv(f"ok1,甲,{valid_id_card(1)},{CODE},,,否,5,GC01",
                f"ok2,乙,123,{CODE},,,否,5,GC01",
                f"ok3,丙,{valid_id_card(3)},short,,,maybe,99,",
                f"ok1,丁,{valid_id_card(4)},{CODE},,,否,5,GC01")
    with pytest.raises(rules.LineErrors) as exc:
        rules.parse_expert_csv(data)
    where = {(line, col) for line, col, _, _ in exc.value.errors}
    assert where == {(3, "身份证号"), (4, "工作单位统一社会信用代码"), (4, "高级职称"), (4, "从业年限"), (4, "专业代码"),
                     (5, "账号")}
    err = exc.value.as_invalid_input()
    assert err.code == "expert.import_invalid" and "未导入任何专家" in err.message_zh
    assert len(err.details["errors"]) == 6


@pytest.mark.parametrize("data, message", [
    (b"", "文件为空"), ("账号,姓名\n".encode(), "缺少该列"), (HEADER.encode(), "没有数据行"),
])
def test_csv_empty_or_missing_columns(data, message):
    with pytest.raises(rules.LineErrors) as exc:
        rules.parse_expert_csv(data)
    assert message in exc.value.errors[0][2]
