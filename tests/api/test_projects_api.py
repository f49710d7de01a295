"""Projects through the API: the whole entry flow, what a project looks like in JSON, and bad input —
each refusal a 4xx that says what to fix and leaves the audit trail unchanged."""

from __future__ import annotations

import pytest

from tests.api.conftest import audit_next_seq
from tests.factories.projects import ensure_calendar, project_fields
from trading.core.clock import beijing


@pytest.fixture
def body(ctx, cast):
    ensure_calendar(ctx)
    return project_fields(ctx)


def _refused(resp, status: int, before: int) -> dict:
    assert resp.status_code == status, resp.json
    assert resp.json["message"]
    assert audit_next_seq() == before
    return resp.json


def test_entry_flow_register_update_submit_return_resubmit_accept(caller, body):
    owner, operator = caller("owner"), caller("operator")
    made = owner.post("/projects", body)
    assert made.status_code == 201, made.json
    p = made.json
    assert p["status"] == "draft" and p["version"] == 1 and p["trade_code"] is None
    assert p["budget_fen"] == 80_000_000 and p["budget_capitals"] == "人民币捌拾万元整"
    assert p["total_investment_capitals"] == "人民币壹佰伍拾万元整"
    assert p["created_at"] == "2026-11-10T09:00:00+08:00"
    assert p["route"]["must_enter"] is True and "selection" in p["route"]["allowed"]
    assert all(r["rule"] and r["text"] for r in p["route"]["reasons"])

    upd = owner.patch(f"/projects/{p['id']}", {"expected_version": 1, "name": "示范县乡村道路硬化工程（一期）",
                                               "lots": [{"name": "一标段", "budget_fen": 60_000_000},
                                                        {"name": "二标段", "budget_fen": 40_000_000}]})
    assert upd.status_code == 200, upd.json
    assert upd.json["version"] == 2 and [lot["seq"] for lot in upd.json["lots"]] == [1, 2]
    assert upd.json["budget_fen"] == 100_000_000

    sub = owner.post(f"/projects/{p['id']}/submit", {"expected_version": 2})
    assert sub.status_code == 200, sub.json
    code = sub.json["trade_code"]
    assert sub.json["status"] == "submitted" and code.startswith("SFX2026-GC-")
    assert [lot["code"] for lot in sub.json["lots"]] == [f"{code}-01", f"{code}-02"]
    assert sub.json["review_due_at"].endswith("+08:00")

    ret = operator.post(f"/projects/{p['id']}/return", {"comment": "请补充可研批复文件"})
    assert ret.status_code == 200 and ret.json["status"] == "returned"
    again = owner.post(f"/projects/{p['id']}/submit", {})
    assert again.status_code == 200 and again.json["trade_code"] == code
    acc = operator.post(f"/projects/{p['id']}/accept", {"comment": ""})
    assert acc.status_code == 200 and acc.json["status"] == "accepted" and acc.json["accepted_at"]
    trail = [(r["action"], r["comment"]) for r in acc.json["reviews"]]
    assert trail == [("submitted", ""), ("returned", "请补充可研批复文件"), ("resubmitted", ""), ("accepted", "")]
    assert acc.json["reviews"][1]["action_label"] == "退回修改"

    lots = owner.get(f"/projects/{p['id']}/lots?per_page=1&page=2").json
    assert lots["total"] == 2 and [lot["name"] for lot in lots["items"]] == ["二标段"]
    lot = owner.get(f"/lots/{lots['items'][0]['id']}").json
    assert lot["code"] == f"{code}-02" and lot["budget_capitals"] == "人民币肆拾万元整"
    listed = operator.get("/projects?status=accepted").json
    assert [x["id"] for x in listed["items"]] == [p["id"]] and listed["total"] == 1


def test_bearer_token_client_registers_without_csrf(app, caller, body):
    from tests.api.conftest import Caller
    token = caller("owner").post("/me/tokens", {"name": "业主系统"}).json["token"]
    resp = Caller(app, token=token).post("/projects", body)
    assert resp.status_code == 201 and resp.json["created_by"] == caller("owner").user.id


@pytest.mark.parametrize("lots, field, words", [
    ([{"name": "一标段", "budget_fen": 1.5}], "lots[0].budget_fen", "整数"),
    ([{"name": "一标段", "budget_fen": -100}], "lots[0].budget_fen", "负数"),
    ([{"name": "一标段", "budget_fen": "800000"}], "lots[0].budget_fen", "整数"),
    ([{"name": "一标段", "budget_fen": True}], "lots[0].budget_fen", "整数"),
    ([{"name": "一标段"}], "lots[0].budget_fen", "必须填写"),
    ([{"name": "标" * 101, "budget_fen": 100}], "lots[0].name", "100"),
    ([], "lots", "1"),
    ("一标段", "lots", "数组"),
])
def test_bad_lots_are_422_naming_the_lot_field(caller, body, lots, field, words):
    before = audit_next_seq()
    err = _refused(caller("owner").post("/projects", {**body, "lots": lots}), 422, before)
    assert err["error"] == "invalid_input"
    assert words in " ".join(err["fields"][field]) and field in err["message"]


@pytest.mark.parametrize("over, field, code", [
    ({"total_investment_fen": 1.5}, "total_investment_fen", "invalid_input"),
    ({"total_investment_fen": "1500000.00"}, "total_investment_fen", "invalid_input"),
    ({"fiscal_share_bp": 10001}, "fiscal_share_bp", "invalid_input"),
    ({"name": "路" * 101}, "name", "invalid_input"),
    ({"name": "   "}, "name", "project.name_required"),
    ({"category": "spaceship"}, "category", "project.bad_category"),
    ({"region_id": 999}, "region_id", "project.bad_region"),
    ({"procedure": "inquiry"}, "procedure", "project.procedure_not_allowed"),
    ({"colour": "blue"}, "colour", "invalid_input"),
    ({"total_investment_fen": 10_000}, "total_investment_fen", "project.investment_below_budget"),
])
def test_bad_registration_fields(caller, body, over, field, code):
    before = audit_next_seq()
    err = _refused(caller("owner").post("/projects", {**body, **over}), 422, before)
    assert err["error"] == code
    assert field in err["fields"]


def test_missing_fields_are_all_named(caller):
    before = audit_next_seq()
    err = _refused(caller("owner").post("/projects", {}), 422, before)
    required = {"name", "approval_number", "funding_source", "fiscal_share_bp", "category", "owner_type",
                "total_investment_fen", "region_id", "procedure", "lots"}
    assert set(err["fields"]) == required
    assert all(f in err["message"] for f in required)


def test_english_messages(caller, body):
    err = caller("owner").post("/projects?lang=en", {**body, "lots": [{"name": "A", "budget_fen": 1.5}]}).json
    assert err["fields"]["lots[0].budget_fen"] == ["amounts are whole fen as a JSON integer, e.g. 150 for 1.50 yuan"]
    err = caller("owner").post("/projects?lang=en", {**body, "category": "spaceship"}).json
    assert err["message"] == "Choose a valid category"


def test_another_organisations_project_is_404_identical_to_a_missing_one(caller, world):
    other = caller("other_owner")
    before = audit_next_seq()
    for method, suffix, payload in [("GET", "", None), ("PATCH", "", {"expected_version": 1, "name": "抢注"}),
                                    ("POST", "/submit", {}), ("GET", "/lots", None)]:
        theirs = other.call(method, f"/projects/{world['draft']}{suffix}", payload)
        missing = other.call(method, f"/projects/987654{suffix}", payload)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json == missing.json == {"error": "not_found", "message": "项目不存在或无权查看"}
    lot, no_lot = other.get(f"/lots/{world['lot']}"), other.get("/lots/987654")
    assert lot.status_code == no_lot.status_code == 404 and lot.json == no_lot.json
    assert audit_next_seq() == before


def test_stale_version_is_409_and_changes_nothing(caller, world):
    owner = caller("owner")
    assert owner.patch(f"/projects/{world['draft']}", {"expected_version": 1, "name": "第一次修改"}).status_code == 200
    before = audit_next_seq()
    err = _refused(owner.patch(f"/projects/{world['draft']}", {"expected_version": 1, "name": "过期的修改"}), 409,
                   before)
    assert err["error"] == "project.stale" and "刷新" in err["message"]
    assert owner.get(f"/projects/{world['draft']}").json["name"] == "第一次修改"


@pytest.mark.parametrize("payload, status, code", [
    ({}, 422, "invalid_input"),
    ({"comment": "太短"}, 422, "project.comment_required"),
    ({"comment": 12345}, 422, "invalid_input"),
    ({"comment": "意" * 1001}, 422, "invalid_input"),
])
def test_review_comment_rules(caller, world, payload, status, code):
    before = audit_next_seq()
    err = _refused(caller("operator").post(f"/projects/{world['submitted']}/refuse", payload), status, before)
    assert err["error"] == code and "comment" in err["fields"]


def test_accepting_twice_is_a_conflict(caller, world):
    operator = caller("operator")
    assert operator.post(f"/projects/{world['submitted']}/accept", {}).status_code == 200
    before = audit_next_seq()
    _refused(operator.post(f"/projects/{world['submitted']}/accept", {}), 409, before)


@pytest.mark.parametrize("query, field", [("status=bogus", "status"), ("per_page=101", "per_page"),
                                          ("page=-1", "page"), ("page=abc", "page")])
def test_bad_list_parameters(caller, query, field):
    resp = caller("owner").get(f"/projects?{query}")
    assert resp.status_code == 422 and field in resp.json["fields"]


def test_unloaded_calendar_year_fails_closed_and_alerts_the_administrators(caller, body, clock, session):
    """Submitting late in 2026 sets a review due date in 2027, whose holidays nobody has loaded: the
    API refuses with the year and who can load it, writes no change, and raises the admin alert."""
    from sqlalchemy import select

    from trading.reference.models import AdminAlert
    owner = caller("owner")
    draft = owner.post("/projects", body).json
    clock.set(beijing(2026, 12, 30, 10, 0))
    resp = owner.post(f"/projects/{draft['id']}/submit", {"expected_version": 1})
    assert resp.status_code == 422 and resp.json["error"] == "calendar.year_missing"
    assert "2027" in resp.json["message"] and "管理员" in resp.json["message"]
    assert owner.get(f"/projects/{draft['id']}").json["status"] == "draft"
    assert [a.key for a in session.execute(select(AdminAlert)).scalars()] == ["calendar.year_missing:2027"]
