"""Regressions found by the browser journeys (tests/e2e/test_procedure_journeys.py): steps of issue
4's pages that a real browser could not take, replayed here with the form exactly as the page posts it."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_user
from tests.factories.notices import make_notice, notice_project
from trading.evaluation.criteria.models import LotCriteria
from trading.procedures.common.models import LotTrade


def _form_as_posted(html: str) -> dict:
    """Every input's and selected option's value in the criteria form, as Chromium posts them
    (blank rows included: their group <select> posts "technical")."""
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"\s+selected', body) or re.search(r'<option value="([^"]*)"', body)
        data[name] = chosen.group(1)
    return data


def test_the_criteria_page_saves_as_the_browser_posts_it_with_its_blank_rows(ctx, client, session, clock):
    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="selection")
    notice = make_notice(actor_ctx(session, clock, owner), project)
    lot = project.lots[0]
    session.add(LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                         procedure="selection", sealed=True, deadline_at=notice.deadline_at, max_part_bytes=1,
                         deposit_fen=0, min_valid_offers=3, status="accepting", status_changed_at=clock.now(),
                         created_at=clock.now()))
    login_as(client, owner)
    url = f"/evaluation/{lot.code}/criteria"
    form = _form_as_posted(client.get(url).get_data(as_text=True))
    assert form["items-5-group"] == "technical" and form.get("items-5-code", "") == ""   # a blank row
    form["csrf_token"] = csrf_token(client, url)
    response = client.post(url, data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    row = session.execute(select(LotCriteria)).scalar_one()
    assert [i["code"] for i in row.body["items"]] == ["T1", "T2", "C1", "C2"]       # blank rows skipped
    assert [r["code"] for r in row.body["rejections"]] == ["R1", "R2", "R3", "R4", "R5"]
