"""Owner-side notice pages: new notice with Beijing-time inputs, preview with the period checks,
publish refused naming the rule and the proposed date, publish, change notice from a published one,
no edits after publishing, other organisations' notices are 404."""

from __future__ import annotations

import re

import pytest

from tests.factories.accounts import actor_ctx, login_as, make_user
from tests.factories.notices import load_calendar, make_notice, notice_project, published_notice
from tests.timeline import PUBLISHED
from trading.core.clock import beijing
from trading.extensions import db
from trading.procedures.common.models import Notice


@pytest.fixture
def owner(ctx):
    return make_user(ctx, "owner")


@pytest.fixture
def octx(session, clock, owner):
    return actor_ctx(session, clock, owner)


@pytest.fixture
def project(ctx, owner, clock):
    load_calendar(ctx)
    clock.set(PUBLISHED)
    return notice_project(ctx, owner, name="示范县城东道路改造工程")


def _token(resp) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', resp.get_data(as_text=True))
    return m.group(1)


def _publish_button(html: str) -> str:
    return re.search(r'<button[^>]*data-testid="publish"[^>]*>', html).group(0)


def _form(**over):
    data = {"kind": "announcement", "title": "城东道路改造工程招标公告", "body": "一、项目概况\n\n二、资格要求",
            "docs_from": "2026-11-12T10:00", "docs_until": "2026-11-20T17:00", "objection_until": "2026-11-28T17:00",
            "deadline_at": "2026-12-08T09:30", "opening_at": "2026-12-08T09:30", "opening_place": "开标一室",
            "closing_at": "", "publicity_until": ""}
    data.update(over)
    return data


def test_owner_creates_previews_and_publishes(client, owner, project, ctx):
    notice_project(ctx, owner, status="submitted", name="尚未受理的项目")
    login_as(client, owner)
    resp = client.get(f"/notices/manage/new?project_id={project.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "示范县城东道路改造工程" in html and "尚未受理的项目" not in html
    resp = client.post("/notices/manage/new", data=_form(csrf_token=_token(resp), project_id=project.id))
    assert resp.status_code == 302
    notice = db.session.query(Notice).one()
    assert notice.deadline_at == beijing(2026, 12, 8, 9, 30) and notice.status == "draft"
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "符合法定期限和时间顺序要求" in html and "2026年12月8日9时30分（北京时间）" in html
    assert "disabled" not in _publish_button(html) and 'id="publish-blocked"' not in html
    resp = client.post(f"/notices/manage/{notice.id}/publish", data={"csrf_token": _token(client.get(
        f"/notices/manage/{notice.id}"))})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).status == "published"
    assert client.get(f"/notices/{notice.id}").status_code == 200  # now on the portal
    assert "城东道路改造工程招标公告" in client.get("/notices/manage/").get_data(as_text=True)


def test_refused_publish_shows_the_rule_and_proposed_date(client, owner, octx, project):
    draft = make_notice(octx, project, deadline_at=beijing(2026, 11, 30, 9, 30), opening_at=beijing(2026, 11, 30, 9, 30))
    login_as(client, owner)
    page = client.get(f"/notices/manage/{draft.id}")
    html = page.get_data(as_text=True)
    assert 'data-code="period.tender_docs_to_deadline"' in html and "《招标投标法》第二十四条" in html
    # the button says it cannot publish, in words next to it; the service still refuses a forced post
    assert "disabled" in _publish_button(html) and 'aria-describedby="publish-blocked"' in _publish_button(html)
    assert 'id="publish-blocked"' in html and "暂不能发布" in html
    resp = client.post(f"/notices/manage/{draft.id}/publish", data={"csrf_token": _token(page)})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'data-testid="refusal"' in html and "《招标投标法》第二十四条" in html
    assert "2026年12月2日9时30分（北京时间）" in html
    db.session.expire_all()
    assert db.session.get(Notice, draft.id).status == "draft"


def test_bad_input_is_shown_next_to_the_field(client, owner, project):
    login_as(client, owner)
    page = client.get("/notices/manage/new")
    resp = client.post("/notices/manage/new", data=_form(csrf_token=_token(page), project_id=project.id,
                                                         title="标" * 201))
    assert resp.status_code == 422
    assert "公告标题不能超过200个字" in resp.get_data(as_text=True)
    assert db.session.query(Notice).count() == 0


def test_change_notice_from_a_published_one(client, owner, octx, project, clock):
    original = published_notice(octx, project)
    login_as(client, owner)
    clock.set(beijing(2026, 11, 16, 10))
    page = client.get(f"/notices/manage/{original.id}/change")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="2026-12-08T09:30"' in html  # dates from the original
    resp = client.post(f"/notices/manage/{original.id}/change", data=_form(
        csrf_token=_token(page), project_id=project.id, kind="change", title="城东道路澄清公告", body="澄清内容",
        deadline_at="2026-12-10T09:30", opening_at="2026-12-10T09:30"))
    assert resp.status_code == 302
    change = db.session.query(Notice).filter_by(kind="change").one()
    assert change.previous_id == original.id and change.deadline_at == beijing(2026, 12, 10, 9, 30)


def test_published_notice_cannot_be_edited(client, owner, octx, project):
    live = published_notice(octx, project)
    login_as(client, owner)
    resp = client.get(f"/notices/manage/{live.id}/edit")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/notices/manage/{live.id}")
    page = client.get(f"/notices/manage/{live.id}")
    assert "发布变更公告" in page.get_data(as_text=True)


def test_edit_a_draft(client, owner, octx, project):
    draft = make_notice(octx, project)
    login_as(client, owner)
    page = client.get(f"/notices/manage/{draft.id}/edit")
    assert 'value="2026-12-08T09:30"' in page.get_data(as_text=True)  # Beijing wall-clock time
    resp = client.post(f"/notices/manage/{draft.id}/edit", data=_form(csrf_token=_token(page), project_id=project.id,
                                                                      title="新标题"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Notice, draft.id).title == "新标题"


def test_other_organisations_notice_is_not_found(client, ctx, octx, project, session, clock):
    draft = make_notice(octx, project)
    stranger = make_user(ctx, "owner")
    login_as(client, stranger)
    assert client.get(f"/notices/manage/{draft.id}").status_code == 404
    assert client.get(f"/notices/manage/{draft.id}/edit").status_code == 404
    assert "示范县城东道路改造工程" not in client.get("/notices/manage/new").get_data(as_text=True)
    assert client.get("/notices/manage/").status_code == 200


def test_pages_need_a_log_in_and_a_fitting_role(client, ctx):
    assert client.get("/notices/manage/").status_code == 302
    login_as(client, make_user(ctx, "bidder"))
    assert client.get("/notices/manage/").status_code == 403
