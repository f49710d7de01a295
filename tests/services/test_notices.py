"""Notice services: draft → publish with the audit trail, a refusal that names the rule and changes
nothing, change notices linking to what they change, no edits after publishing, who may act."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import bj_at, load_calendar, make_notice, notice_project, published_notice
from tests.timeline import PUBLISHED
from trading.audit.models import AuditEntry
from trading.core.clock import beijing
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from trading.extensions import db
from trading.procedures.common import services
from trading.procedures.common.models import Notice
from trading.reference.workdays import CalendarYearMissing


@pytest.fixture
def owner(ctx):
    return make_user(ctx, "owner")


@pytest.fixture
def octx(session, clock, owner):
    return actor_ctx(session, clock, owner)


@pytest.fixture
def project(ctx, owner):
    load_calendar(ctx)
    return notice_project(ctx, owner)


def _audit(action):
    rows = db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()
    return [json.loads(bytes(r.body)) for r in rows]


def test_create_then_publish(octx, project, clock):
    clock.set(PUBLISHED)
    draft = make_notice(octx, project, title="  示范县道路工程招标公告 ")
    assert draft.status == "draft" and draft.title == "示范县道路工程招标公告"
    assert (draft.trade_type, draft.region_id, draft.project_code) == ("engineering", project.region_id,
                                                                       project.trade_code)
    assert services.check_notice(octx, draft.id) == []
    live = services.publish_notice(octx, draft.id)
    assert live.status == "published" and live.published_at == PUBLISHED
    assert live.body_sha256 == hashlib.sha256(live.body.encode()).hexdigest()
    [created] = _audit("notice.created")
    [published] = _audit("notice.published")
    assert created["project"] == project.id and published["project"] == project.id
    assert published["payload"]["body_sha256"] == live.body_sha256


def test_refused_publish_names_the_rule_and_changes_nothing(octx, project, clock):
    clock.set(PUBLISHED)  # 2026-11-12
    draft = make_notice(octx, project, deadline_at=beijing(2026, 11, 30, 9, 30), opening_at=beijing(2026, 11, 30, 9, 30))
    [v] = services.check_notice(octx, draft.id)
    assert v.code == "period.tender_docs_to_deadline" and v.proposed == beijing(2026, 12, 2, 9, 30)
    db.session.commit()
    with pytest.raises(RuleViolation) as err:
        services.publish_notice(octx, draft.id)
    assert err.value.code == "period.tender_docs_to_deadline"
    assert "《招标投标法》第二十四条" in err.value.message_zh and "2026年12月2日9时30分" in err.value.message_zh
    assert err.value.details["violations"][0]["proposed"].startswith("2026-12-02T09:30")
    db.session.rollback()
    again = db.session.get(Notice, draft.id)
    assert again.status == "draft" and again.published_at is None and again.body_sha256 is None
    assert _audit("notice.published") == []


def test_change_notice_links_and_supersedes(octx, project, clock):
    clock.set(PUBLISHED)
    original = published_notice(octx, project)
    clock.set(beijing(2026, 11, 16, 10))
    change = make_notice(octx, project, kind="change", previous_id=original.id, title="澄清公告", body="澄清内容")
    # key dates come from the notice it changes
    assert change.previous_id == original.id and change.deadline_at == original.deadline_at
    services.publish_notice(octx, change.id)
    assert original.superseded_by_id == change.id


def test_late_clarification_is_refused_with_the_proposed_deadline(octx, project, clock):
    clock.set(PUBLISHED)
    original = published_notice(octx, project)  # deadline 2026-12-08 09:30
    clock.set(beijing(2026, 11, 26, 15))       # 12 days before the deadline
    change = make_notice(octx, project, kind="change", previous_id=original.id, title="澄清公告", body="修改评分办法")
    with pytest.raises(RuleViolation) as err:
        services.publish_notice(octx, change.id)
    v = err.value.details["violations"][0]
    assert err.value.code == "period.tender_clarification" and v["needed"] == 15 and v["actual"] == 12
    assert v["proposed"].startswith("2026-12-11T09:30")  # 11-26 + 15 = 12-11 (a Friday)
    assert "顺延至2026年12月11日9时30分" in err.value.message_zh
    # moving the deadline as proposed makes it publishable
    services.update_notice(octx, change.id, deadline_at=bj_at(clock.now(), 15), opening_at=bj_at(clock.now(), 15))
    assert services.publish_notice(octx, change.id).status == "published"


def test_published_notice_cannot_be_edited(octx, project, clock):
    clock.set(PUBLISHED)
    live = published_notice(octx, project)
    with pytest.raises(Conflict) as err:
        services.update_notice(octx, live.id, title="改标题")
    assert err.value.code == "notice.published_immutable"
    with pytest.raises(Conflict):
        services.publish_notice(octx, live.id)


def test_update_records_a_diff(octx, project):
    draft = make_notice(octx, project)
    old_title = draft.title
    services.update_notice(octx, draft.id, title="新标题", opening_place="开标一室")
    [entry] = _audit("notice.updated")
    assert entry["payload"]["changes"]["title"] == [old_title, "新标题"]
    assert entry["payload"]["changes"]["opening_place"] == ["", "开标一室"]
    assert "body" not in entry["payload"]["changes"]


def test_another_organisations_project_is_not_found(ctx, octx, project, session, clock):
    stranger = make_user(ctx, "owner")
    sctx = actor_ctx(session, clock, stranger)
    with pytest.raises(NotFound):
        make_notice(sctx, project)
    draft = make_notice(octx, project)
    with pytest.raises(NotFound):
        services.get_visible_notice(sctx, draft.id)
    with pytest.raises(NotFound):
        services.publish_notice(sctx, draft.id)


def test_agency_and_operator_may_act_bidder_may_not(ctx, owner, session, clock):
    agent = make_user(ctx, "agency")
    project = notice_project(ctx, owner, agency=agent)
    assert project.agency_org_id == agent.org_id
    assert make_notice(actor_ctx(session, clock, agent), project).project_id == project.id
    operator = make_user(ctx, "operator")
    assert make_notice(actor_ctx(session, clock, operator), project).project_id == project.id
    with pytest.raises(Forbidden):
        make_notice(actor_ctx(session, clock, make_user(ctx, "bidder")), project)
    supervisor = make_user(ctx, "supervisor")
    with pytest.raises(Forbidden):
        make_notice(actor_ctx(session, clock, supervisor), project)


def test_project_must_be_accepted(ctx, octx, owner):
    submitted = notice_project(ctx, owner, status="submitted")
    with pytest.raises(Conflict) as err:
        make_notice(octx, submitted)
    assert err.value.code == "notice.project_not_accepted"


@pytest.mark.parametrize("field, value, code", [
    ("title", "", "notice.title_missing"),
    ("title", "   ", "notice.title_missing"),
    ("title", "标" * 201, "notice.title_too_long"),
    ("body", "", "notice.body_missing"),
    ("body", "字" * 50_001, "notice.body_too_long"),
    ("kind", "advert", "notice.kind"),
])
def test_bad_input_is_refused_with_the_field(octx, project, field, value, code):
    with pytest.raises(InvalidInput) as err:
        make_notice(octx, project, **{field: value})
    assert err.value.code == code and err.value.field == field


def test_limits_are_inclusive(octx, project):
    n = make_notice(octx, project, title="标" * 200, body="字" * 50_000)
    assert len(n.title) == 200 and len(n.body) == 50_000


def test_chain_needs_a_published_announcement_and_ends_at_termination(octx, project, clock):
    with pytest.raises(Conflict) as err:
        make_notice(octx, project, kind="candidates")
    assert err.value.code == "chain.no_announcement"
    clock.set(PUBLISHED)
    original = published_notice(octx, project)
    with pytest.raises(Conflict) as err:
        make_notice(octx, project, kind="change", title="变更", body="变更内容")
    assert err.value.code == "chain.change_needs_previous"
    termination = published_notice(octx, project, kind="termination", title="终止公告", body="因故终止")
    assert original.superseded_by_id == termination.id
    with pytest.raises(Conflict) as err:
        make_notice(octx, project, kind="result", title="结果", body="结果")
    assert err.value.code == "chain.terminated"


def test_change_of_another_projects_notice_is_refused(ctx, octx, owner, project, clock):
    clock.set(PUBLISHED)
    other = published_notice(octx, notice_project(ctx, owner))
    with pytest.raises(InvalidInput) as err:
        make_notice(octx, project, kind="change", previous_id=other.id, title="变更", body="变更")
    assert err.value.code == "chain.other_project"


def test_dates_out_of_order_and_past_deadline(octx, project, clock):
    clock.set(PUBLISHED)
    draft = make_notice(octx, project, docs_until=beijing(2026, 12, 20, 17), opening_at=beijing(2026, 12, 1, 9))
    codes = {v.code for v in services.check_notice(octx, draft.id)}
    assert "dates.order" in codes
    clock.set(beijing(2026, 12, 9, 9))
    codes = {v.code for v in services.check_notice(octx, draft.id)}
    assert "dates.deadline_passed" in codes


def test_missing_dates_are_named(octx, project):
    draft = make_notice(octx, project, docs_from=None, opening_at=None)
    missing = [v for v in services.check_notice(octx, draft.id) if v.code == "dates.missing"]
    assert {v.field for v in missing} == {"docs_from", "opening_at"}


def test_working_day_rule_in_2027_fails_closed(ctx, owner, session, clock):
    project = notice_project(ctx, owner, category="goods", owner_type="gov", procedure="negotiation")
    octx = actor_ctx(session, clock, owner)
    load_calendar(ctx)
    clock.set(beijing(2026, 12, 30, 10))
    draft = make_notice(octx, project, deadline_at=beijing(2027, 1, 8, 9, 30), opening_at=beijing(2027, 1, 8, 9, 30))
    [v] = services.check_notice(octx, draft.id)
    assert v.code == "calendar.year_missing" and v.year == 2027
    with pytest.raises(CalendarYearMissing) as err:
        services.publish_notice(octx, draft.id)
    assert err.value.year == 2027 and "2027" in err.value.message_zh
    assert db.session.get(Notice, draft.id).status == "draft"


def test_gp_goods_project_is_procurement(ctx, owner, session, clock):
    project = notice_project(ctx, owner, category="goods", owner_type="gov", procedure="inquiry")
    n = make_notice(actor_ctx(session, clock, owner), project)
    assert n.trade_type == "procurement"


def test_terminated_project_takes_only_its_termination_notice(ctx, octx, owner, project, session, clock):
    from trading.projects.services import terminate_project
    clock.set(PUBLISHED)
    original = published_notice(octx, project)
    operator = make_user(ctx, "operator")
    terminate_project(actor_ctx(session, clock, operator), project.id, "业主未在期限内推进交易，依规终止")
    with pytest.raises(Conflict) as err:
        make_notice(octx, project, kind="change", previous_id=original.id, title="变更", body="变更")
    assert err.value.code == "notice.project_not_accepted"
    ended = published_notice(octx, project, kind="termination", title="终止公告", body="项目终止")
    assert ended.status == "published" and original.superseded_by_id == ended.id
