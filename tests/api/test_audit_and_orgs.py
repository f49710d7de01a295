"""Audit search and chain verification (supervisors only: 三员分立), the organisation directory with its
audience views, and organisation creation by an administrator."""

from __future__ import annotations

import pytest

from tests.api.conftest import audit_next_seq
from tests.factories.accounts import valid_credit_code


def test_audit_entries_filter_and_page(caller, cast):
    sup = caller("supervisor")
    everything = sup.get("/audit/entries?per_page=100").json
    assert everything["total"] == audit_next_seq() > 8
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs)
    entry = everything["items"][0]
    assert entry["at"].endswith("+08:00") and len(entry["entry_hash"]) == 64
    assert entry["entry"]["seq"] == entry["seq"]

    users = sup.get("/audit/entries?action=user.created&per_page=2&page=2").json
    assert users["page"] == 2 and users["per_page"] == 2 and len(users["items"]) == 2
    assert users["total"] == 8 and {e["action"] for e in users["items"]} == {"user.created"}

    owner_id = str(cast["owner"].id)
    one = sup.get(f"/audit/entries?object_type=user&object_id={owner_id}").json
    assert [e["object_id"] for e in one["items"] if e["action"] == "user.created"] == [owner_id]

    window = sup.get("/audit/entries?seq_from=2&seq_to=4").json
    assert [e["seq"] for e in window["items"]] == [2, 3, 4]


@pytest.mark.parametrize("query, field", [
    ("per_page=101", "per_page"), ("page=0", "page"), ("seq_from=x", "seq_from"), ("colour=red", "colour"),
])
def test_audit_query_errors_name_the_parameter(caller, query, field):
    resp = caller("supervisor").get(f"/audit/entries?{query}")
    assert resp.status_code == 422 and field in resp.json["fields"]


def test_audit_verify_reports_an_intact_chain(caller):
    body = caller("supervisor").get("/audit/verify").json
    assert body == {"ok": True, "count": audit_next_seq(), "bad_seq": None, "reason": ""}


@pytest.mark.parametrize("role", ["owner", "agency", "bidder", "expert", "operator", "admin"])
def test_audit_is_closed_to_other_roles(caller, role):
    assert caller(role).get("/audit/entries").status_code == 403
    assert caller(role).get("/audit/verify").status_code == 403


def test_directory_audience_views(caller, cast):
    admin = caller("admin").get("/organisations?per_page=100").json
    assert admin["total"] == 8  # one organisation per user; owner and agency do not share one
    assert {"contact_phone", "address", "created_at"} <= set(admin["items"][0])
    operator = caller("operator").get("/organisations?kind=bidder").json
    assert operator["total"] == 1
    assert set(operator["items"][0]) == {"id", "name", "kind", "credit_code", "region_id"}
    bidder = caller("bidder").get("/organisations").json
    assert [o["id"] for o in bidder["items"]] == [cast["bidder"].org_id]


def test_organisation_of_another_is_404_like_a_missing_one(caller, cast):
    bidder = caller("bidder")
    other = bidder.get(f"/organisations/{cast['owner'].org_id}")
    missing = bidder.get("/organisations/987654")
    assert other.status_code == missing.status_code == 404 and other.json == missing.json
    own = bidder.get(f"/organisations/{cast['bidder'].org_id}")
    assert own.status_code == 200 and "contact_phone" not in own.json


def _org(**over):
    return {"name": "示范县某某建设有限公司", "credit_code": valid_credit_code(4242), "kind": "bidder",
            "contact_name": "张三", "contact_phone": "0831-1234567", **over}


def test_admin_creates_organisation(caller):
    before = audit_next_seq()
    resp = caller("admin").post("/organisations", _org())
    assert resp.status_code == 201, resp.json
    assert resp.json["credit_code"] == valid_credit_code(4242) and resp.json["contact_name"] == "张三"
    assert audit_next_seq() == before + 1
    dup = caller("admin").post("/organisations", _org(name="另一家公司"))
    assert dup.status_code == 409 and dup.json["field"] == "credit_code"


@pytest.mark.parametrize("over, field, status, words", [
    ({"credit_code": valid_credit_code(4242)[:17] + ("0" if valid_credit_code(4242)[17] != "0" else "1")},
     "credit_code", 422, "校验位"),
    ({"credit_code": "12345"}, "credit_code", 422, "18"),
    ({"name": "公司" * 60}, "name", 422, "100"),
    ({"kind": "martian"}, "kind", 422, "单位类型"),
    ({"region_id": "1"}, "region_id", 422, "整数"),
    ({"name": None}, "name", 422, "null"),
])
def test_organisation_input_errors(caller, over, field, status, words):
    before = audit_next_seq()
    resp = caller("admin").post("/organisations", _org(**over))
    assert resp.status_code == status, resp.json
    assert words in resp.json["fields"][field][0]
    assert audit_next_seq() == before


@pytest.mark.parametrize("role", ["owner", "operator", "supervisor", "bidder"])
def test_only_admin_creates_organisations(caller, role):
    before = audit_next_seq()
    assert caller(role).post("/organisations", _org()).status_code == 403
    assert audit_next_seq() == before
