"""Open data on the portal, without logging in: the link from the home page and the explanation page,
the release feed's cursor pagination while new entries append (no release twice, none skipped, in
audit order), a change notice (tenderAmendment) and a termination (tenderCancellation) on the feed,
records by ocid, refusals of a bad cursor, limit or ocid as JSON 4xx, the sale extension's files and
`flask opendata export` writing packages that validate."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlparse

import pytest

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.notices import bj_at, make_notice, notice_project, published_notice
from tests.factories.ocds import check_record_package, check_release_package, parse
from trading.opendata import rules
from trading.procedures.common import services as notices
from trading.procedures.common.lots import get_trade


@pytest.fixture
def owner(ctx):
    return make_user(ctx, "owner")


@pytest.fixture
def octx(session, clock, owner):
    return actor_ctx(session, clock, owner)


def _lot(ctx, owner, octx, name: str):
    project = notice_project(ctx, owner, procedure="selection", name=name)
    original = published_notice(octx, project)
    return project, original, get_trade(ctx, project.lots[0].code)


def _get(client, url: str):
    resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    return parse(resp.get_data())


def test_the_portal_links_to_the_open_data_page_without_a_login(client, ctx, owner, octx):
    _project, _notice, trade = _lot(ctx, owner, octx, "城东道路改造工程")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/opendata/"' in home and "开放数据（OCDS）" in home
    page = client.get("/opendata/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "/opendata/releases.json" in text and "CN-USCC" in text and "ocds-000000" in text
    assert f"/opendata/records/ocds-000000-{trade.lot_code}.json" in text
    english = client.get("/opendata/?lang=en").get_data(as_text=True)
    assert "Open data (Open Contracting Data Standard, OCDS 1.1.5)" in english and "Publication policy" in english


def test_feed_pages_by_cursor_while_entries_append_without_duplicates_or_gaps(client, ctx, clock, owner, octx):
    made = [_lot(ctx, owner, octx, f"示范道路工程{i}") for i in range(3)]
    seen: list[str] = []
    pages = 0
    url = "/opendata/releases.json?limit=2"

    def page():
        nonlocal url, pages
        pkg = _get(client, url)
        check_release_package(pkg)
        seen.extend(r["id"] for r in pkg["releases"])
        nxt = urlparse(pkg["links"]["next"])
        url = f"{nxt.path}?{nxt.query}"
        pages += 1
        return pkg

    first = page()
    assert [r["tag"] for r in first["releases"]] == [["tender"], ["tender"]]
    assert first["publisher"]["name"] == "示范县公共资源交易中心" and first["version"] == "1.1"

    # entries append between pages: a change notice for lot 0, a termination of lot 1, a new lot
    clock.advance(timedelta(days=1))
    project0, original0, trade0 = made[0]
    new_deadline = bj_at(clock.now(), 20)
    change = make_notice(octx, project0, kind="change", previous_id=original0.id, title="示范道路工程0变更公告",
                         body="投标截止时间顺延", deadline_at=new_deadline, opening_at=new_deadline)
    notices.publish_notice(octx, change.id)
    page()
    published_notice(octx, made[1][0], kind="termination", title="示范道路工程1终止公告", body="因故终止")
    _lot(ctx, owner, octx, "示范道路工程3")
    while True:
        if not page()["releases"]:
            break
    assert pages >= 4

    everything = _get(client, "/opendata/releases.json?limit=1000")
    check_release_package(everything)
    ids = [r["id"] for r in everything["releases"]]
    assert seen == ids and len(set(ids)) == len(ids) == 6
    seqs = [int(i.split("-")[0]) for i in ids]
    assert seqs == sorted(seqs)
    by_tag = {r["tag"][0]: r for r in everything["releases"]}
    amended = by_tag["tenderAmendment"]
    assert amended["ocid"] == f"ocds-000000-{trade0.lot_code}"
    assert amended["tender"]["tenderPeriod"]["endDate"] == rules.date(new_deadline)
    assert amended["tender"]["amendments"][0]["rationale"] == "示范道路工程0变更公告"
    assert [d["documentType"] for d in amended["tender"]["documents"]] == ["tenderNotice", "clarifications"]
    cancelled = by_tag["tenderCancellation"]
    assert cancelled["ocid"] == f"ocds-000000-{made[1][2].lot_code}" and cancelled["tender"]["status"] == "cancelled"

    # the last next link is stable: nothing new, the same cursor comes back empty
    again = _get(client, url)
    assert again["releases"] == [] and urlparse(again["links"]["next"]).query == urlparse(url).query


def test_record_by_ocid_and_refusals(client, ctx, owner, octx):
    _project, _notice, trade = _lot(ctx, owner, octx, "城东道路改造工程")
    ocid = f"ocds-000000-{trade.lot_code}"
    pkg = _get(client, f"/opendata/records/{ocid}.json")
    check_record_package(pkg)
    [record] = pkg["records"]
    assert record["ocid"] == ocid and record["compiledRelease"]["tender"]["value"]["amount"] == \
        Decimal(trade_budget(ctx, trade)) / 100
    for url, status, code in [
        ("/opendata/records/ocds-000000-NOPE.json", 404, "not_found"),
        (f"/opendata/records/ocds-zzzzzz-{trade.lot_code}.json", 404, "not_found"),
        ("/opendata/releases.json?cursor=garbage", 422, "opendata.cursor"),
        ("/opendata/releases.json?limit=0", 422, "opendata.limit"),
        ("/opendata/releases.json?limit=5000", 422, "opendata.limit"),
    ]:
        resp = client.get(url)
        assert resp.status_code == status and resp.get_json()["error"] == code, url


def trade_budget(ctx, trade) -> int:
    from trading.projects.models import Lot

    return ctx.session.get(Lot, trade.lot_id).budget_fen


def test_the_sale_extension_files_are_served(client):
    ext = client.get("/opendata/extensions/sale/extension.json")
    assert ext.status_code == 200 and json.loads(ext.get_data())["schemas"] == ["release-schema.json"]
    patch = client.get("/opendata/extensions/sale/release-schema.json").get_json()
    assert set(patch["definitions"]["Tender"]["properties"]) == {"saleMethod", "saleObject", "startingPrice", "seller"}
    assert client.get("/opendata/extensions/sale/codelists/saleMethod.csv").status_code == 200
    assert client.get("/opendata/extensions/sale/../rules.py").status_code == 404


def test_cli_export_writes_packages_that_validate(app, ctx, owner, octx, tmp_path):
    for i in range(3):
        _lot(ctx, owner, octx, f"示范道路工程{i}")
    ctx.session.commit()
    out = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["opendata", "export", str(out), "--limit", "2",
                                                "--base-url", "https://ggzy.example.cn"])
    assert result.exit_code == 0, result.output
    assert "3 releases in 2 release packages, 3 records" in result.output
    releases = []
    for path in sorted(out.glob("releases-*.json")):
        pkg = parse(path.read_bytes())
        check_release_package(pkg)
        releases += pkg["releases"]
    assert [r["tag"] for r in releases] == [["tender"]] * 3
    records = sorted((out / "records").glob("*.json"))
    assert len(records) == 3
    for path in records:
        pkg = parse(path.read_bytes())
        check_record_package(pkg)
        assert pkg["uri"] == f"https://ggzy.example.cn/opendata/records/{path.stem}.json"
