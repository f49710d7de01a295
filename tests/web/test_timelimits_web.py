"""The overdue list pages: the centre's /time-limits/ and the supervisor's /supervise/time-limits show
the steps due soon or overdue with their lights and the counts at the top, filter by light and kind
(a bad filter: 422 saying what is allowed), the supervisor dashboard shows the red/yellow counts with
a link; owners, agencies, bidders and experts get 403, an anonymous visitor the log-in page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.factories.accounts import actor_ctx, login_as, make_user
from tests.factories.awards import propose, reported_lot
from tests.factories.projects import submitted_project
from trading.procedures.common.awards import objections, services

PAGES = ("/time-limits/", "/supervise/time-limits")


@pytest.fixture
def world(ctx, session, clock):
    owner = make_user(ctx, "owner")
    project = submitted_project(actor_ctx(session, clock, owner))
    w = reported_lot(ctx, procedure="selection", bidders=2)  # the clock is now Mon 11-23 10:00
    propose(w, [900_000_00, 950_000_00])
    services.publish_candidates(w.c_owner, w.trade.lot_code)
    obj = objections.file_objection(w.c_bidders[1], w.trade.lot_code, "对评审结果有异议，理由如下：……")
    clock.set(obj.reply_due_at - timedelta(hours=3))  # the reply is due soon; the entry review is long overdue
    return dict(project=project, w=w, obj=obj, owner=owner,
                op=make_user(ctx, "operator", totp=True), sup=make_user(ctx, "supervisor", totp=True))


def rows(html: str) -> list[tuple[str, str, str]]:
    return re.findall(r'data-testid="step-row" data-kind="([^"]+)" data-light="([^"]+)" data-code="([^"]+)"', html)


def count(html: str, light: str) -> int:
    return int(re.search(rf'data-testid="count-{light}"\s+data-count="(\d+)"', html).group(1))


@pytest.mark.parametrize("path", PAGES)
def test_centre_and_supervisor_see_the_reddest_first(client, world, path):
    login_as(client, world["sup" if path.startswith("/supervise") else "op"])
    r = client.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    code = world["w"].trade.lot_code
    # October's monthly report (due 11-04) is older than the entry review (due 11-13): it comes first
    assert rows(html) == [("monthly_report", "red", "2026-10"), ("entry_review", "red", world["project"].trade_code),
                          ("objection_reply", "yellow", code)]
    assert count(html, "red") == 2 and count(html, "yellow") == 1 and count(html, "done") == 2
    # done on time: the lot's publicity and its project's entry review (accepted at once)
    assert "限时办结" in html and "已超时" in html and "异议答复" in html and "交易中心" in html
    assert f'href="/awards/lots/{code}"' in html
    # filters: one light, one kind, everything
    html = client.get(f"{path}?light=yellow").get_data(as_text=True)
    assert rows(html) == [("objection_reply", "yellow", code)] and count(html, "red") == 2
    html = client.get(f"{path}?light=all&kind=candidate_publicity").get_data(as_text=True)  # one kind: its counts
    assert rows(html) == [("candidate_publicity", "done", code)] and count(html, "red") == 0
    html = client.get(f"{path}?light=green").get_data(as_text=True)
    assert rows(html) == [] and 'data-testid="no-steps"' in html
    r = client.get(f"{path}?light=purple")
    assert r.status_code == 422 and "灯号筛选无效" in r.get_data(as_text=True)
    assert client.get(f"{path}?kind=nothing").status_code == 422
    en = client.get(f"{path}?lang=en").get_data(as_text=True)
    assert "Time limits" in en and "Overdue" in en and "Objection reply" in en and "Trading centre" in en


def test_supervisor_dashboard_shows_the_counts_with_a_link(client, world):
    login_as(client, world["sup"])
    html = client.get("/supervise/").get_data(as_text=True)
    assert re.search(r'data-testid="time-limits-red-count"[^>]*>[^<]*2</span>', html)
    assert re.search(r'data-testid="time-limits-yellow-count"[^>]*>[^<]*1</span>', html)
    assert 'href="/supervise/time-limits"' in html


def test_operator_nav_links_the_list(client, world):
    login_as(client, world["op"])
    assert 'href="/time-limits/"' in client.get("/projects/review").get_data(as_text=True)


@pytest.mark.parametrize("role", ["owner", "agency", "bidder", "expert", "admin"])
def test_others_are_refused(client, ctx, world, role):
    user = world["owner"] if role == "owner" else make_user(ctx, role, totp=True)
    login_as(client, user)
    for path in PAGES:
        assert client.get(path).status_code == 403, path


def test_each_page_is_for_its_own_side(client, world):
    login_as(client, world["op"])
    assert client.get("/supervise/time-limits").status_code == 403
    login_as(client, world["sup"])
    assert client.get("/time-limits/").status_code == 403


def test_anonymous_is_sent_to_log_in(client, world):
    for path in PAGES:
        r = client.get(path)
        assert r.status_code in (302, 401) and "/auth/login" in r.headers.get("Location", "/auth/login")


def test_owner_sees_its_projects_lights_on_the_project_page(client, world, clock):
    project = world["project"]
    login_as(client, world["owner"])
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert 'data-testid="project-time-limits"' in html
    assert re.findall(r'data-testid="project-step" data-kind="([^"]+)" data-light="([^"]+)"', html) == \
        [("entry_review", "red")]
    # the lot's owner sees its lot's steps on its own project page, not the other project's
    w = world["w"]
    login_as(client, w.owner)
    html = client.get(f"/projects/{w.trade.project_id}").get_data(as_text=True)
    steps = re.findall(r'data-testid="project-step" data-kind="([^"]+)" data-light="([^"]+)"', html)
    assert ("objection_reply", "yellow") in steps and ("entry_review", "red") not in steps


def test_cli_lists_the_overdue_steps(app, world):
    out = app.test_cli_runner().invoke(args=["timelimits", "list"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert [line.split("\t")[:3] for line in lines[:-1]] == [
        ["red", "monthly_report", "2026-10"], ["red", "entry_review", world["project"].trade_code],
        ["yellow", "objection_reply", world["w"].trade.lot_code]]
    assert "red=2" in lines[-1] and "yellow=1" in lines[-1]
    out = app.test_cli_runner().invoke(args=["timelimits", "list", "--light", "purple"])
    assert out.exit_code == 2 and "Unknown light filter" in out.output


@pytest.mark.parametrize(("who", "target"), [("op", "/time-limits/?kind=contract_signing"),
                                             ("sup", "/supervise/time-limits?kind=contract_signing")])
def test_the_award_reminders_link_the_whole_list(client, world, who, target):
    login_as(client, world[who])
    html = client.get("/awards/").get_data(as_text=True)
    assert f'href="{target}"' in html
    assert client.get(target).status_code == 200
