"""The portal's title keyword search: a substring of the title, found through the posting lists
(notice_term) when its terms are rare and by the ordered LIKE scan otherwise — both routes give the
same answers, which every test checks by running once per route."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import event

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import load_calendar, make_notice, notice_project, published_notice, region
from tests.timeline import PUBLISHED
from trading.core.clock import beijing
from trading.extensions import db
from trading.portal import queries
from trading.portal.queries import NoticeFilters

NOW = beijing(2026, 11, 20, 9)
TITLES = {  # name → (project, title); published an hour apart in this order
    "road_junction": ("eng", "城东道路东路口改造工程招标公告"),  # 城东 and 东路, but not 城东路
    "led_lamps": ("eng", "城东路LED路灯改造工程招标公告"),
    "sewer": ("eng", "西河乡污水管网改造工程招标公告"),
    "led_screen": ("gp", "城东路LED显示屏询价公告"),
    "clinic": ("gp", "卫生院综合楼医疗设备询价公告"),
}


@pytest.fixture(params=["postings", "like"])
def route(request, monkeypatch):
    """'postings': the limits as shipped (in a few notices every term is rare); 'like': limits of 0,
    so every term found in a title counts as common (test_routes checks which route is taken)."""
    if request.param == "like":
        monkeypatch.setattr(queries, "RARE_TERM_LIMIT", 0)
        monkeypatch.setattr(queries, "RARE_ONE_TERM_LIMIT", 0)
    return request.param


@pytest.fixture
def postings_used(monkeypatch) -> list[str]:
    """The keywords answered from the posting lists."""
    used = []
    search_postings = queries._search_postings

    def spy(session, cond, term, *rest):
        used.append(term)
        return search_postings(session, cond, term, *rest)

    monkeypatch.setattr(queries, "_search_postings", spy)
    return used


@pytest.fixture
def notices(ctx, clock):
    owner = make_user(ctx, "owner")
    octx = actor_ctx(ctx.session, clock, owner)
    load_calendar(ctx)
    projects = {"eng": notice_project(ctx, owner, name="示范县城东片区改造工程"),
                "gp": notice_project(ctx, owner, category="goods", owner_type="gov", procedure="inquiry",
                                     region_row=region(ctx, "511001", "城关镇", "Chengguan"), name="示范县设备采购")}
    made = {}
    for hour, (name, (project, title)) in enumerate(TITLES.items()):
        clock.set(PUBLISHED.replace(hour=PUBLISHED.hour + hour))
        made[name] = published_notice(octx, projects[project], title=title)
    make_notice(octx, projects["eng"], title="城东路LED草稿公告")  # a draft: never found
    db.session.commit()
    return made


def _search(session, keyword, page=1, per_page=20, **filters):
    return queries.search_notices(session, NoticeFilters(keyword=keyword, **filters), page, per_page, NOW)


def _names(notices, page) -> list[str]:
    by_id = {n.id: name for name, n in notices.items()}
    return [by_id[n.id] for n in page.items]


@pytest.mark.parametrize("keyword, expected", [
    ("东路", ["led_screen", "led_lamps", "road_junction"]),     # 2 characters, newest first
    ("城东路", ["led_screen", "led_lamps"]),                    # 3: not the notice with 城东 … 东路 apart
    ("污水管网改", ["sewer"]),                                   # 5
    ("卫生院综合楼医疗设备询价公告", ["clinic"]),                    # the whole title
    ("LED", ["led_screen", "led_lamps"]),                      # ASCII within Chinese
    ("LED显示屏", ["led_screen"]),
    ("路灯改造", ["led_lamps"]),
    ("改造工程", ["sewer", "led_lamps", "road_junction"]),
    ("城东路口", []),                                           # every term is there, the phrase is not
    ("草稿", []),                                               # drafts have no terms and are not public
    ("桥梁", []),                                               # a term no title has
    ("第3%", []),                                               # % is a character, not a wildcard
    ("路", ["led_screen", "led_lamps", "road_junction"]),       # one character: the LIKE path
])
def test_keyword_finds_substrings_of_the_title(session, notices, route, keyword, expected):
    page = _search(session, keyword)
    assert _names(notices, page) == expected
    assert (page.total, page.pages, page.capped) == (len(expected), 1, False)


def test_keyword_combines_with_the_other_filters(session, notices, route):
    assert _names(notices, _search(session, "城东路", trade_type="engineering")) == ["led_lamps"]
    assert _names(notices, _search(session, "城东路", trade_type="procurement")) == ["led_screen"]
    assert _names(notices, _search(session, "改造", trade_type="engineering", kind="announcement")) == [
        "sewer", "led_lamps", "road_junction"]
    town = notices["clinic"].region_id
    assert _names(notices, _search(session, "询价", region_id=town)) == ["clinic", "led_screen"]
    assert _names(notices, _search(session, "东路", region_id=town)) == ["led_screen"]
    assert _search(session, "污水", trade_type="procurement").total == 0


def test_keyword_pages_and_clamps(session, notices, route):
    first = _search(session, "改造", per_page=2)
    assert _names(notices, first) == ["sewer", "led_lamps"]
    assert (first.total, first.pages, first.page) == (3, 2, 1)
    last = _search(session, "改造", page=9, per_page=2)
    assert (_names(notices, last), last.page) == (["road_junction"], 2)


def test_keyword_count_stops_at_the_cap(session, notices, route, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    if route == "postings":
        monkeypatch.setattr(queries, "RARE_TERM_LIMIT", 2)
        monkeypatch.setattr(queries, "RARE_ONE_TERM_LIMIT", 2)
    page = _search(session, "改造", per_page=1)  # a lone term: counted from its posting list
    assert (page.total, page.capped, page.pages) == (2, True, 2)
    page = _search(session, "改造工程", per_page=1)  # a phrase: counted by the LIKE
    assert (page.total, page.capped) == (2, True)


def test_routes(session, notices, route, postings_used):
    _search(session, "城东路")
    _search(session, "路")          # one character: always the LIKE
    _search(session, "SFX-2026")    # a project code: looked up as a code
    assert postings_used == (["城东"] if route == "postings" else [])


def test_a_term_no_title_has_is_answered_by_the_lookup_alone(session, notices, route):
    statements = []

    def listen(conn, cursor, statement, *rest):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        page = _search(session, "城东桥")  # 城东 is common, 东桥 in no title
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert (page.items, page.total) == ([], 0)
    assert len(statements) == 1 and "notice_term" in statements[0]


def test_list_page_keyword_with_trade_type(client, notices, route):
    html = client.get("/notices?keyword=城东路&trade_type=engineering").get_data(as_text=True)
    titles = [htmllib.unescape(t) for t in re.findall(r'class="notice-title[^"]*" href="[^"]+">([^<]+)</a>', html)]
    assert titles == ["城东路LED路灯改造工程招标公告"] and "共 1 条公告" in html
