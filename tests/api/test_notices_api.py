"""Notices through the API: the public list with the portal's filters, the public and staff views,
drafting, the period check and publishing, and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import audit_next_seq
from tests.factories.notices import bj_at
from trading.core.clock import beijing

PUBLIC_ONLY_HIDDEN = {"created_by", "created_at", "updated_at", "status", "project_id", "lot_id"}


def _draft_body(world, clock, **over) -> dict:
    now = clock.now()
    return {"project_id": world["accepted"], "kind": "announcement", "title": "示范县道路工程比选公告",
            "body": "一、项目概况", "deadline_at": bj_at(now, 12).isoformat(), "opening_at": bj_at(now, 12).isoformat(),
            "opening_place": "县公共资源交易中心开标一室", **over}


def test_public_list_and_filters(caller, world):
    anon = caller("anonymous")
    listed = anon.get("/notices").json
    assert listed["total"] == 1 and listed["page"] == 1 and listed["per_page"] == 20
    assert listed["total_capped"] is False
    item = listed["items"][0]
    assert item["id"] == world["published"] and item["public_status"] == "open"
    assert item["public_status_label"] == "报名中" and item["published_at"].endswith("+08:00")
    assert not PUBLIC_ONLY_HIDDEN & set(item)
    for query, total in [("trade_type=engineering", 1), ("trade_type=procurement", 0), ("kind=announcement", 1),
                         ("kind=result", 0), ("status=open", 1), ("status=closed", 0),
                         ("date_from=2026-11-10&date_to=2026-11-10", 1), ("date_from=2026-11-11", 0),
                         (f"project_code={item['project_code']}", 1), ("keyword=道路", 1), ("keyword=桥梁", 0)]:
        assert anon.get(f"/notices?{query}").json["total"] == total, query
    en = anon.get("/notices?lang=en").json["items"][0]
    assert en["kind_label"] == "Announcement" and en["public_status_label"] == "Open"


@pytest.mark.parametrize("query, field", [
    ("date_from=2026-13-01", "date_from"), ("kind=memo", "kind"), ("status=soon", "status"),
    ("per_page=500", "per_page"), ("region_id=x", "region_id"), ("keyword=" + "k" * 101, "keyword"),
    ("sort=asc", "sort"),
])
def test_bad_filters_are_422(caller, query, field):
    resp = caller("anonymous").get(f"/notices?{query}")
    assert resp.status_code == 422 and field in resp.json["fields"]


def test_audience_views(caller, world):
    public = caller("bidder").get(f"/notices/{world['published']}").json
    staff = caller("owner").get(f"/notices/{world['published']}").json
    assert not PUBLIC_ONLY_HIDDEN & set(public)
    assert PUBLIC_ONLY_HIDDEN <= set(staff) and staff["status"] == "published"
    assert {k: v for k, v in staff.items() if k in public} == public
    # another owner sees the published notice, but only its public view
    assert caller("other_owner").get(f"/notices/{world['published']}").json == public
    draft_other = caller("other_owner").get(f"/notices/{world['notice_draft']}")
    missing = caller("other_owner").get("/notices/987654")
    assert draft_other.status_code == missing.status_code == 404 and draft_other.json == missing.json


def test_draft_check_patch_publish(caller, world, clock):
    owner = caller("owner")
    made = owner.post("/notices", _draft_body(world, clock, deadline_at=bj_at(clock.now(), 2).isoformat(),
                                              opening_at=bj_at(clock.now(), 2).isoformat()))
    assert made.status_code == 201, made.json
    n = made.json
    assert n["status"] == "draft" and n["deadline_at"] == bj_at(clock.now(), 2).isoformat()

    check = owner.get(f"/notices/{n['id']}/check").json
    assert check["ok"] is False
    period = next(v for v in check["violations"] if v["code"].startswith("period."))
    assert period["field"] == "deadline_at" and period["source"] and period["proposed"].endswith("+08:00")

    before = audit_next_seq()
    refused = owner.post(f"/notices/{n['id']}/publish")
    assert refused.status_code == 422 and refused.json["error"].startswith("period.")
    assert refused.json["details"]["violations"] and refused.json["fields"]["deadline_at"]
    assert audit_next_seq() == before

    fixed = owner.patch(f"/notices/{n['id']}", {"deadline_at": period["proposed"], "opening_at": period["proposed"]})
    assert fixed.status_code == 200, fixed.json
    assert owner.get(f"/notices/{n['id']}/check").json == {"ok": True, "violations": []}
    published = owner.post(f"/notices/{n['id']}/publish")
    assert published.status_code == 200 and published.json["status"] == "published"
    assert len(published.json["body_sha256"]) == 64

    before = audit_next_seq()
    again = owner.patch(f"/notices/{n['id']}", {"title": "偷偷改标题"})
    assert again.status_code == 409 and "变更公告" in again.json["message"]
    assert audit_next_seq() == before


def test_offset_is_respected(caller, world, clock):
    """10:00+08:00 and 02:00Z are the same instant; the answer is always in Beijing time."""
    owner = caller("owner")
    when = beijing(2026, 11, 24, 10, 0)
    a = owner.post("/notices", _draft_body(world, clock, deadline_at="2026-11-24T10:00:00+08:00",
                                           opening_at="2026-11-24T02:00:00Z")).json
    assert a["deadline_at"] == a["opening_at"] == "2026-11-24T10:00:00+08:00"
    assert when.isoformat() == "2026-11-24T02:00:00+00:00"


@pytest.mark.parametrize("over, field, words", [
    ({"deadline_at": "2026-11-24T10:00:00"}, "deadline_at", "时区"),
    ({"deadline_at": "24/11/2026"}, "deadline_at", "ISO 8601"),
    ({"deadline_at": 1764000000}, "deadline_at", "ISO 8601"),
    ({"title": "标" * 201}, "title", "200"),
    ({"title": ""}, "title", "请填写"),
    ({"kind": "memo"}, "kind", "公告类型"),
    ({"project_id": "3"}, "project_id", "整数"),
    ({"lot_id": 1.0}, "lot_id", "整数"),
    ({"author": "me"}, "author", "不是可接受的字段"),
])
def test_bad_drafts_are_refused(caller, world, clock, over, field, words):
    before = audit_next_seq()
    resp = caller("owner").post("/notices", _draft_body(world, clock, **over))
    assert resp.status_code == 422, resp.json
    assert words in " ".join(resp.json["fields"][field])
    assert audit_next_seq() == before


def test_notice_for_another_organisations_project_is_404_like_a_missing_project(caller, world, clock):
    other = caller("other_owner")
    before = audit_next_seq()
    theirs = other.post("/notices", _draft_body(world, clock))
    missing = other.post("/notices", _draft_body(world, clock, project_id=987654))
    assert theirs.status_code == missing.status_code == 404 and theirs.json == missing.json
    assert audit_next_seq() == before


def test_publish_in_the_past_deadline_names_the_field(caller, world, clock):
    owner = caller("owner")
    made = owner.post("/notices", _draft_body(world, clock)).json
    clock.advance(timedelta(days=13))  # the deadline (12 days on) has passed
    before = audit_next_seq()
    resp = owner.post(f"/notices/{made['id']}/publish?lang=en")
    assert resp.status_code == 422 and resp.json["error"] == "dates.deadline_passed"
    assert "has passed" in resp.json["message"] and resp.json["field"] == "deadline_at"
    assert audit_next_seq() == before


def test_a_notice_names_its_lot_with_the_budget_in_capitals(caller, world, clock):
    owner = caller("owner")
    lot = owner.get(f"/projects/{world['accepted']}/lots").json["items"][0]
    made = owner.post("/notices", _draft_body(world, clock, lot_id=lot["id"]))
    assert made.status_code == 201, made.json
    assert made.json["lot"] == {"id": lot["id"], "code": lot["code"], "name": lot["name"],
                                "budget_fen": lot["budget_fen"], "budget_capitals": lot["budget_capitals"]}
    other_lot = owner.post("/notices", _draft_body(world, clock, lot_id=world["lot"]))
    assert other_lot.status_code == 422 and other_lot.json["field"] == "lot_id"
