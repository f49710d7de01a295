"""Open data rules, pure: fen → yuan exactly, the premium rate, identifiers, the opaque cursor and the
limit, the action → tag table, the OCDS merge of a record and the JSON writer (Decimal as a number,
no float ever)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from trading.core.errors import InvalidInput
from trading.opendata import rules


@pytest.mark.parametrize("fen, text", [
    (0, "0.00"), (1, "0.01"), (10, "0.10"), (100, "1.00"), (812_345_67, "812345.67"),
    (1_000_000_00, "1000000.00"), (99_999_999_999_99, "99999999999.99"), (10**14, "1000000000000.00"),
])
def test_fen_become_yuan_with_exactly_two_decimals(fen, text):
    assert format(rules.yuan(fen), "f") == text
    assert rules.dumps(rules.value(fen)) == f'{{"amount":{text},"currency":"CNY"}}'
    assert json.loads(rules.dumps(rules.value(fen)), parse_float=Decimal)["amount"] * 100 == fen


@pytest.mark.parametrize("bad", [1.5, "100", True, None])
def test_only_integer_fen_are_money(bad):
    with pytest.raises(TypeError):
        rules.yuan(bad)


@pytest.mark.parametrize("deal, start, rate", [
    (112_500, 100_000, "0.1250"), (100_000, 100_000, "0.0000"), (100_001, 300_000, "-0.6667"),
    (200_000_00, 150_000_00, "0.3333"), (150_001, 100_000, "0.5000"), (100_005, 100_000, "0.0001"),
])
def test_premium_rate_is_a_four_decimal_fraction_rounded_half_up(deal, start, rate):
    assert rules.premium_rate(deal, start) == Decimal(rate)


def test_premium_rate_without_a_starting_price_is_none():
    assert rules.premium_rate(100, 0) is None


def test_ocid_and_back():
    assert rules.ocid("ocds-a1b2c3", "SFX2026-GC-0001-01") == "ocds-a1b2c3-SFX2026-GC-0001-01"
    assert rules.lot_code_of("ocds-a1b2c3", "ocds-a1b2c3-SFX2026-GC-0001-01-A2") == "SFX2026-GC-0001-01-A2"
    assert rules.lot_code_of("ocds-a1b2c3", "ocds-zzzzzz-SFX2026-GC-0001-01") is None
    assert rules.lot_code_of("ocds-a1b2c3", "ocds-a1b2c3-") is None
    for bad in ("ocds-ABCDEF", "ocds-12345", "xxxx-123456", ""):
        with pytest.raises(ValueError):
            rules.ocid(bad, "X")


def test_release_and_party_ids():
    assert rules.release_id(1042, "tender") == "1042-tender"
    assert rules.party_id("91510100MA61234567") == "CN-USCC-91510100MA61234567"


@pytest.mark.parametrize("seq", [0, 1, 41, 10**12])
def test_cursor_round_trips_and_is_opaque(seq):
    token = rules.encode_cursor(seq)
    assert str(seq) not in token and "=" not in token
    assert rules.decode_cursor(token) == seq


@pytest.mark.parametrize("bad", ["x", "djE6", "djI6NQ", "djE6LTE", "!!!", "djE6NSA"])
def test_a_bad_cursor_is_refused(bad):
    with pytest.raises(InvalidInput) as err:
        rules.decode_cursor(bad)
    assert err.value.code == "opendata.cursor" and err.value.status == 422


def test_no_cursor_starts_at_the_beginning():
    assert rules.decode_cursor(None) == rules.decode_cursor("") == -1


@pytest.mark.parametrize("text, limit", [(None, 100), ("", 100), ("1", 1), ("1000", 1000)])
def test_limit(text, limit):
    assert rules.parse_limit(text) == limit


@pytest.mark.parametrize("text", ["0", "1001", "-1", "ten", "1.5"])
def test_limit_out_of_range_is_refused(text):
    with pytest.raises(InvalidInput):
        rules.parse_limit(text)


@pytest.mark.parametrize("action, procedure, tag", [
    ("lot.trading_opened", "selection", "tender"), ("lot.redated", "inquiry", "tenderAmendment"),
    ("lot.terminated", "negotiation", "tenderCancellation"), ("lot.terminate", "land_auction", "tenderCancellation"),
    ("opening.record_published", "selection", "tenderUpdate"), ("lot.fail", "land_listing", "tenderUpdate"),
    ("award.candidates_publicized", "selection", "award"), ("award.determined", "inquiry", "award"),
    ("award.contract_recorded", "selection", "contract"), ("award.contract_corrected", "selection", "contractUpdate"),
    ("lot.sell", "land_auction", "award"), ("lot.sign_contract", "online_bidding", "contract"),
    ("lot.sell", "selection", None), ("lot.sign_contract", "selection", None),
    ("participation.registered", "selection", None), ("offer.submitted", "selection", None),
    ("lot.archive", "selection", None),
])
def test_tags_of_actions(action, procedure, tag):
    assert rules.tag_for(action, procedure) == tag


@pytest.mark.parametrize("procedure, method", [
    ("tender", "open"), ("gp_tender", "open"), ("selection", "selective"), ("negotiation", "selective"),
    ("consultation", "selective"), ("inquiry", "selective"), ("single_source", "direct"),
    ("land_listing", "open"), ("online_bidding", "open"),
])
def test_procurement_methods(procedure, method):
    assert rules.METHODS[procedure][0] == method


def test_compiled_release_merges_objects_and_arrays_by_id():
    r1 = {"ocid": "o", "id": "1-tender", "date": "2026-11-10T01:00:00.000Z", "tag": ["tender"],
          "tender": {"status": "active", "title": "甲", "documents": [{"id": "n1", "title": "公告"}]},
          "parties": [{"id": "p1", "roles": ["buyer"]}]}
    r2 = {"ocid": "o", "id": "2-tenderAmendment", "date": "2026-11-11T01:00:00.000Z", "tag": ["tenderAmendment"],
          "tender": {"status": "active", "documents": [{"id": "n2", "title": "变更"}], "title": None},
          "parties": [{"id": "p1", "roles": ["buyer", "procuringEntity"]}, {"id": "p2", "roles": ["tenderer"]}]}
    compiled = rules.compile_release("o", [r2, r1])       # sorted by date
    assert compiled == {
        "ocid": "o", "id": "o-compiled-2-tenderAmendment", "date": "2026-11-11T01:00:00.000Z", "tag": ["compiled"],
        "tender": {"status": "active", "documents": [{"id": "n1", "title": "公告"}, {"id": "n2", "title": "变更"}]},
        "parties": [{"id": "p1", "roles": ["buyer", "procuringEntity"]}, {"id": "p2", "roles": ["tenderer"]}]}
    assert r1["tender"]["title"] == "甲"                  # the inputs are not changed


def test_dumps_writes_decimals_as_numbers_and_refuses_floats():
    assert rules.dumps({"a": Decimal("812345.67"), "b": [1, True, None, "中文"], "c": Decimal("0.1250")}) == \
        '{"a":812345.67,"b":[1,true,null,"中文"],"c":0.1250}'
    with pytest.raises(TypeError):
        rules.dumps({"amount": 812345.67})
    with pytest.raises(ValueError):
        rules.dumps(Decimal("NaN"))


def test_versioned_release_keeps_each_fields_changes_with_the_release_that_made_them():
    r1 = {"ocid": "o", "id": "1-tender", "date": "2026-11-10T01:00:00.000Z", "tag": ["tender"],
          "tender": {"status": "active", "value": {"amount": Decimal("100.00")}},
          "awards": [{"id": "a", "status": "pending"}]}
    r2 = {"ocid": "o", "id": "2-award", "date": "2026-11-12T01:00:00.000Z", "tag": ["award"],
          "tender": {"status": "complete", "value": {"amount": Decimal("100.00")}},
          "awards": [{"id": "a", "status": "active"}, {"id": "b", "status": "unsuccessful"}]}
    v = rules.versioned_release("o", [r2, r1])
    m1 = {"releaseID": "1-tender", "releaseDate": "2026-11-10T01:00:00.000Z", "releaseTag": ["tender"]}
    m2 = {"releaseID": "2-award", "releaseDate": "2026-11-12T01:00:00.000Z", "releaseTag": ["award"]}
    assert v == {"ocid": "o",
                 "tender": {"status": [{**m1, "value": "active"}, {**m2, "value": "complete"}],
                            "value": {"amount": [{**m1, "value": Decimal("100.00")}]}},
                 "awards": [{"id": "a", "status": [{**m1, "value": "pending"}, {**m2, "value": "active"}]},
                            {"id": "b", "status": [{**m2, "value": "unsuccessful"}]}]}


@pytest.mark.parametrize("method, code", [
    ("highest_price", "priceOnly"), ("comprehensive", "ratedCriteria"), ("lowest_price", None), (None, None),
])
def test_a_sale_by_tender_maps_its_method_to_award_criteria(method, code):
    got = rules.sale_award_criteria(method)
    assert got.get("awardCriteria") == code and bool(got.get("awardCriteriaDetails")) == (code is not None)


@pytest.mark.parametrize("parcel, mining, description, quantity", [
    ({"subject_ref": "CQ-1", "location": "城区", "area_m2": "100.5", "term_years": 40, "land_use": "商业用地"}, False,
     "宗地编号：CQ-1；坐落：城区；面积：100.5平方米；土地用途：商业用地；出让年限：40年", Decimal("100.5")),
    ({"subject_ref": "某矿", "mineral": "石灰岩", "area_m2": None, "term_years": None}, True,
     "矿业权名称：某矿；开采矿种：石灰岩", None),
])
def test_the_parcel_item(parcel, mining, description, quantity):
    item = rules.parcel_item(parcel, mining=mining)
    assert item["id"] == "1" and item["description"] == description and item.get("quantity") == quantity
    assert ("unit" in item) == (quantity is not None)
