"""The search terms of a notice title (rules.title_terms): character bigrams of adjacent letters and
digits, lower-cased one character for one, so a keyword found in a title has all its terms there."""

from __future__ import annotations

import pytest

from trading.procedures.common.rules import title_terms


@pytest.mark.parametrize("title, terms", [
    ("道路", {"道路"}),
    ("道路工程", {"道路", "路工", "工程"}),
    ("工程工程", {"工程", "程工"}),                                # a set: each term once
    ("LED显示屏采购", {"le", "ed", "d显", "显示", "示屏", "屏采", "采购"}),  # ASCII lower-cased, mixed pairs kept
    ("城东（第3标段）公告", {"城东", "第3", "3标", "标段", "公告"}),   # punctuation breaks a pair
    ("2025年 道路", {"20", "02", "25", "5年", "道路"}),             # so does a space
    ("SFX-2026-GC", {"sf", "fx", "20", "02", "26", "gc"}),
    ("ＬＥＤ屏", {"ｌｅ", "ｅｄ", "ｄ屏"}),                          # full-width letters stay full-width
    ("ΑΣ", {"ασ"}),                                             # per character: no final-sigma rule
    ("İs", {"İs"}),                                             # İ lowers to two characters: kept as is
    ("路", set()),
    ("", set()),
    ("（）、。% _", set()),
])
def test_title_terms(title, terms):
    assert title_terms(title) == terms


@pytest.mark.parametrize("title", [
    "城关镇2025年道路硬化工程（第3标段）招标（采购）公告",
    "示范县LED路灯采购 询价公告（二次）",
    "ΑΣ-İstanbul 工程",
])
def test_every_substring_has_its_terms_in_the_title(title):
    """What the search relies on: the terms narrow the candidates and never lose a match."""
    whole = title_terms(title)
    for i in range(len(title)):
        for j in range(i + 1, len(title) + 1):
            assert title_terms(title[i:j]) <= whole, title[i:j]
