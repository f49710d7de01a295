"""publish_notice writes the title's search terms (the portal keyword search's posting lists) in
the same transaction; drafts and refused publishings have none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import load_calendar, make_notice, notice_project, published_notice
from tests.timeline import PUBLISHED
from trading.core.clock import beijing
from trading.core.errors import RuleViolation
from trading.extensions import db
from trading.procedures.common import services
from trading.procedures.common.models import NoticeTerm
from trading.procedures.common.rules import title_terms


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


def _terms(notice_id: int) -> set[str]:
    return set(db.session.scalars(select(NoticeTerm.term).where(NoticeTerm.notice_id == notice_id)))


def test_publishing_writes_the_title_terms_and_drafts_have_none(octx, project, clock):
    clock.set(PUBLISHED)
    draft = make_notice(octx, project, title="城东路LED路灯（第2标段）招标公告")
    assert _terms(draft.id) == set()
    services.publish_notice(octx, draft.id)
    assert _terms(draft.id) == title_terms("城东路LED路灯（第2标段）招标公告")
    assert {"城东", "东路", "le", "ed", "d路", "第2", "2标", "公告"} <= _terms(draft.id)


def test_each_published_notice_has_its_own_terms(octx, project, clock):
    clock.set(PUBLISHED)
    original = published_notice(octx, project, title="城东道路招标公告")
    clock.set(beijing(2026, 11, 16, 10))
    change = published_notice(octx, project, kind="change", previous_id=original.id, title="城东道路澄清公告",
                              body="澄清")
    assert _terms(original.id) == {"城东", "东道", "道路", "路招", "招标", "标公", "公告"}
    assert _terms(change.id) == {"城东", "东道", "道路", "路澄", "澄清", "清公", "公告"}


def test_a_refused_publishing_writes_no_terms(octx, project, clock):
    clock.set(PUBLISHED)
    draft = make_notice(octx, project, deadline_at=beijing(2026, 11, 30, 9, 30), opening_at=beijing(2026, 11, 30, 9, 30))
    db.session.commit()
    with pytest.raises(RuleViolation):
        services.publish_notice(octx, draft.id)
    db.session.rollback()
    assert _terms(draft.id) == set()
