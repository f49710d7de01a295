"""Public portal: home, the notice list with filters kept in the URL, the detail page, 404s for
drafts, statuses derived from the clock, and the language switch."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import load_calendar, make_notice, notice_project, published_notice, region
from tests.timeline import PUBLISHED
from trading.core.clock import beijing
from trading.extensions import db
from trading.portal import queries
from trading.procedures.common import rules
from trading.procedures.common.models import Notice


@pytest.fixture
def owner(ctx):
    return make_user(ctx, "owner")


@pytest.fixture
def octx(session, clock, owner):
    return actor_ctx(session, clock, owner)


@pytest.fixture
def project(ctx, owner):
    load_calendar(ctx)
    return notice_project(ctx, owner, name="示范县城东道路改造工程")


def _rows(resp) -> list[str]:
    """Titles of the listed notices, in order."""
    html = resp.get_data(as_text=True)
    return [htmllib.unescape(t) for t in re.findall(r'class="notice-title[^"]*" href="[^"]+">([^<]+)</a>', html)]


def _page_links(resp) -> list[dict]:
    html = resp.get_data(as_text=True)
    return [parse_qs(urlparse(htmllib.unescape(h)).query) for h in re.findall(r'class="page-link" href="([^"#]+)"', html)]


def test_home_renders_with_latest_and_todays_openings(client, octx, project, clock):
    clock.set(PUBLISHED)
    n = published_notice(octx, project, title="城东道路改造工程招标公告", opening_place="开标一室")
    db.session.commit()
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "城东道路改造工程招标公告" in html and "今日无开标安排" in html
    assert 'name="viewport"' in html and "<table" not in html
    clock.set(beijing(2026, 12, 8, 8, 0))  # the morning of the opening day
    assert n.opening_at == beijing(2026, 12, 8, 9, 30)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="openings"' in html and "开标一室" in html and "09:30" in html
    clock.set(beijing(2026, 12, 9, 8, 0))
    assert "今日无开标安排" in client.get("/").get_data(as_text=True)


@pytest.fixture
def spread(ctx, owner, octx, project, clock):
    """Notices across trade types, regions and days: the engineering ones in the county seat, the
    procurement ones in a township."""
    town = region(ctx, "511001", "城关镇", "Chengguan")
    gp = notice_project(ctx, owner, category="goods", owner_type="gov", procedure="inquiry", region_row=town,
                        name="示范县学校课桌椅采购")
    made = {}
    for i, day in enumerate((10, 11, 12, 13, 16)):
        clock.set(beijing(2026, 11, day, 10))
        made[f"eng{i}"] = published_notice(octx, project, title=f"城东道路工程第{i}批招标公告")
        made[f"gp{i}"] = published_notice(octx, gp, title=f"课桌椅询价公告第{i}号")
    make_notice(octx, project, title="城东道路工程草稿公告")  # a draft: never public
    db.session.commit()
    return {"town": town, "gp_project": gp, **made}


def test_filters_combine_and_persist_in_pagination(app, client, spread, clock):
    app.config["PAGE_SIZE"] = 2
    town = spread["town"]
    url = f"/notices?trade_type=procurement&kind=announcement&region={town.id}&keyword=询价"
    resp = client.get(url)
    assert resp.status_code == 200
    assert _rows(resp) == ["课桌椅询价公告第4号", "课桌椅询价公告第3号"]
    assert "共 5 条公告" in resp.get_data(as_text=True)
    [nxt] = _page_links(resp)
    assert nxt == {"trade_type": ["procurement"], "kind": ["announcement"], "region": [str(town.id)],
                   "keyword": ["询价"], "page": ["2"]}
    resp = client.get("/notices?" + "&".join(f"{k}={v[0]}" for k, v in nxt.items()))
    assert _rows(resp) == ["课桌椅询价公告第2号", "课桌椅询价公告第1号"]
    assert len(_page_links(resp)) == 2  # previous and next, both keeping the filters
    assert all(link["trade_type"] == ["procurement"] for link in _page_links(resp))
    # the form shows the filters it applied
    html = resp.get_data(as_text=True)
    assert '<option value="procurement" selected>' in html and 'value="询价"' in html


def test_engineering_and_region_filters_exclude_the_rest(client, spread):
    resp = client.get("/notices?trade_type=engineering")
    assert len(_rows(resp)) == 5 and all("城东道路" in t for t in _rows(resp))
    assert "城东道路工程草稿公告" not in resp.get_data(as_text=True)
    resp = client.get(f"/notices?region={spread['town'].id}&trade_type=engineering")
    assert _rows(resp) == [] and "没有符合条件的公告" in resp.get_data(as_text=True)


def test_keyword_matches_title_and_project_code_and_escapes_wildcards(client, spread, project):
    assert len(_rows(client.get("/notices?keyword=第3批"))) == 1
    assert len(_rows(client.get(f"/notices?keyword={project.trade_code}"))) == 5
    assert _rows(client.get("/notices?keyword=%25")) == []  # a literal %, not a wildcard
    assert len(_rows(client.get(f"/notices?project_code={project.trade_code}"))) == 5


def test_date_range_uses_beijing_days(client, spread):
    resp = client.get("/notices?date_from=2026-11-11&date_to=2026-11-12&trade_type=engineering")
    assert _rows(resp) == ["城东道路工程第2批招标公告", "城东道路工程第1批招标公告"]
    resp = client.get("/notices?date_from=2026-11-16")
    assert len(_rows(resp)) == 2
    # a malformed date is ignored, not an error
    assert client.get("/notices?date_from=2026-13-45").status_code == 200


def test_drafts_and_unknown_ids_are_not_found(client, octx, project):
    draft = make_notice(octx, project)
    db.session.commit()
    assert client.get(f"/notices/{draft.id}").status_code == 404
    assert client.get("/notices/999999").status_code == 404


def test_detail_shows_text_escaped_code_timeline_and_chain(client, octx, project, clock):
    clock.set(PUBLISHED)
    body = "一、项目概况\n道路长1.2公里。\n\n二、<script>alert(1)</script>\n请于截止前递交。"
    original = published_notice(octx, project, body=body)
    clock.set(beijing(2026, 11, 16, 10))
    change = published_notice(octx, project, kind="change", previous_id=original.id, title="城东道路澄清公告",
                              body="澄清：工期调整。")
    db.session.commit()
    html = client.get(f"/notices/{original.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<p>一、项目概况<br>道路长1.2公里。</p>" in html
    assert project.trade_code in html and original.body_sha256 in html
    fields = re.findall(r'<li class="(\w+)" data-field="(\w+)"', html)
    assert [f for _, f in fields] == ["published_at", "docs_from", "docs_until", "objection_until", "deadline_at",
                                      "opening_at"]
    assert dict((f, s) for s, f in fields)["published_at"] == "done"
    assert "本公告已变更" in html and f'/notices/{change.id}' in html
    chain = html[html.index('data-testid="chain"'):]
    assert chain.index(original.title) < chain.index("城东道路澄清公告")


def test_detail_countdown_points_at_the_next_date(client, octx, project, clock):
    clock.set(PUBLISHED)
    n = published_notice(octx, project)
    db.session.commit()
    clock.set(beijing(2026, 11, 27, 9))  # documents and objections closed; the bid deadline is next
    html = client.get(f"/notices/{n.id}").get_data(as_text=True)
    box = html[html.index('data-testid="next-deadline"'):]
    assert "距投标截止" in box[:400] and "2026年12月8日9时30分（北京时间）" in box[:800]
    assert f'data-deadline="{n.deadline_at.isoformat()}"' in box


def _status_of(client, title):
    for st in ("open", "closed", "publicity", "ended"):
        if title in _rows(client.get(f"/notices?status={st}")):
            return st
    return None


def test_status_filter_follows_the_clock(client, octx, project, clock):
    clock.set(PUBLISHED)
    ann = published_notice(octx, project, title="招标公告甲")
    db.session.commit()
    assert _status_of(client, "招标公告甲") == "open"
    clock.set(ann.deadline_at)
    assert _status_of(client, "招标公告甲") == "closed"
    clock.set(beijing(2026, 12, 14, 10))
    published_notice(octx, project, kind="candidates", title="候选人公示乙", publicity_until=beijing(2026, 12, 17, 24 - 7))
    db.session.commit()
    assert _status_of(client, "候选人公示乙") == "publicity"
    clock.set(beijing(2026, 12, 18, 9))
    assert _status_of(client, "候选人公示乙") == "ended"
    assert _status_of(client, "招标公告甲") == "closed"


def test_superseded_notice_is_ended(client, octx, project, clock):
    clock.set(PUBLISHED)
    original = published_notice(octx, project, title="招标公告丙")
    clock.set(beijing(2026, 11, 16, 10))
    published_notice(octx, project, kind="change", previous_id=original.id, title="变更公告丙", body="变更")
    db.session.commit()
    assert _status_of(client, "招标公告丙") == "ended"
    assert _status_of(client, "变更公告丙") == "open"
    assert "已变更" in client.get("/notices?keyword=招标公告丙").get_data(as_text=True)


def test_row_countdown_names_the_date_by_procedure(client, ctx, owner, octx, spread, clock):
    """A row counts down to what its next date is for that procedure: 投标截止 for a tender, 响应截止
    for an inquiry, 挂牌开始 for a land listing — never the generic 投标（响应）截止, nor 开标 for land."""
    land = notice_project(ctx, owner, category="land", owner_type="gov", procedure="land_listing",
                          name="示范县城东地块挂牌出让")
    clock.set(beijing(2026, 11, 20, 10))
    published_notice(octx, land, kind="land_grant", title="城东地块国有建设用地使用权挂牌出让公告")
    db.session.commit()
    clock.set(beijing(2026, 11, 25, 10))  # tender objections closed on the 24th; the inquiry closes on the 28th
    html = client.get("/notices").get_data(as_text=True)
    labels = {}
    for row in html.split('data-testid="notice-row"')[1:]:
        title = re.search(r'class="notice-title[^"]*" href="[^"]+">([^<]+)</a>', row).group(1)
        countdown = re.search(r"距([^：<]+)：", row)
        labels[title] = countdown.group(1) if countdown else None
    assert labels["城东道路工程第0批招标公告"] == "投标截止"
    assert labels["课桌椅询价公告第4号"] == "响应截止"
    assert labels["城东地块国有建设用地使用权挂牌出让公告"] == "挂牌开始"


def test_sql_status_mirrors_the_rule(session, octx, project, clock):
    clock.set(PUBLISHED)
    published_notice(octx, project, title="甲")
    clock.set(beijing(2026, 12, 14, 10))
    published_notice(octx, project, kind="candidates", title="乙", publicity_until=beijing(2026, 12, 18, 17))
    published_notice(octx, project, kind="result", title="丙")
    notices = session.query(Notice).filter_by(status="published").all()
    for now in (PUBLISHED, beijing(2026, 12, 8, 9, 30), beijing(2026, 12, 15), beijing(2026, 12, 19)):
        for st in rules.PublicStatus:
            page = queries.search_notices(session, queries.NoticeFilters(status=st), 1, 50, now)
            expected = {n.id for n in notices if rules.public_status(n.deadline_at, n.publicity_until,
                                                                      n.superseded_by_id is not None, now) == st}
            assert {n.id for n in page.items} == expected, (now, st)


def test_pagination_clamps_and_ignores_junk(app, client, spread):
    app.config["PAGE_SIZE"] = 4
    assert client.get("/notices?page=abc").status_code == 200
    resp = client.get("/notices?page=99")
    assert resp.status_code == 200 and "3 / 3" in resp.get_data(as_text=True)
    assert client.get("/notices?status=bogus&kind=bogus&trade_type=x&region=x").status_code == 200


def test_language_switch(client, octx, project, clock):
    clock.set(PUBLISHED)
    published_notice(octx, project)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "今日开标" in html
    resp = client.get("/?lang=en")
    html = resp.get_data(as_text=True)
    assert 'lang="en"' in html and "Today's openings" in html and "今日开标" not in html
    # English punctuation around the date and the server clock, not full-width brackets and colons
    assert "Today's openings (20" in html and "Server time: <time" in html and "(Beijing time)" in html
    assert "lang=en" in resp.headers.get("Set-Cookie", "")
    # the cookie keeps English on the next page
    html = client.get("/notices").get_data(as_text=True)
    assert "Filter" in html and "Construction" in html


def test_default_is_chinese(client):
    html = client.get("/notices").get_data(as_text=True)
    assert "交易信息" in html and "筛选" in html


def test_list_date_range_boundaries(session, spread):
    f = queries.NoticeFilters(date_from=date(2026, 11, 13), date_to=date(2026, 11, 13))
    page = queries.search_notices(session, f, 1, 50, beijing(2026, 11, 20))
    assert page.total == 2
    assert all(p.published_at == beijing(2026, 11, 13, 10) for p in page.items)
    assert queries.day_start(date(2026, 11, 13)) + timedelta(days=1) == beijing(2026, 11, 14)


def test_count_stops_at_the_cap(session, spread, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 4)
    page = queries.search_notices(session, queries.NoticeFilters(), 1, 3, beijing(2026, 11, 20))
    assert (page.total, page.capped, page.pages) == (4, True, 2)
    page = queries.search_notices(session, queries.NoticeFilters(trade_type="procurement", date_to=date(2026, 11, 12)),
                                  1, 3, beijing(2026, 11, 20))
    assert (page.total, page.capped) == (3, False)


def test_lot_code_keyword_finds_the_project(client, spread, project):
    assert len(_rows(client.get(f"/notices?keyword={project.trade_code.lower()}-01"))) == 5
