"""招标出让 through the same pages as 比选 (smoke): the public grant notice under 土地使用权与矿业权,
the owner's project and stage pages (the path without a candidate publicity), the criteria page
offering the highest-price method with a starting price (never the lowest price nor a ceiling), the
awards page after the report (no publicity button, rank 1 awarded from the form, rank 2 refused with
its reason and nothing written), the letter PDF."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories.accounts import csrf_token, login_as
from tests.factories.land_tender import land_lot, reported_land_lot
from trading.evaluation.criteria.models import LotCriteria
from trading.extensions import db
from trading.procedures.common.awards.models import Award
from trading.procedures.common.models import LotTrade, Notice


def _status(trade) -> str:
    db.session.expire_all()
    return db.session.get(LotTrade, trade.lot_id).status


def test_public_notice_project_stage_and_criteria_pages(ctx, client, session):
    owner, _octx, trade = land_lot(ctx)
    notice = session.execute(select(Notice).where(Notice.project_id == trade.project_id)).scalar_one()
    db.session.commit()

    listing = client.get("/notices?trade_type=land_mining").get_data(as_text=True)
    assert notice.title in listing
    assert notice.title not in client.get("/notices?trade_type=procurement").get_data(as_text=True)
    page = client.get(f"/notices/{notice.id}")
    assert page.status_code == 200 and "出让活动开始" in page.get_data(as_text=True)

    login_as(client, owner)
    project_page = client.get(f"/projects/{trade.project_id}")
    assert project_page.status_code == 200 and "土地招标出让" in project_page.get_data(as_text=True)

    stage = client.get(f"/stages/{trade.lot_code}").get_data(as_text=True)
    assert 'data-status="accepting"' in stage and 'data-testid="stage-path"' in stage
    path = stage.split('data-testid="stage-path"', 1)[1].split("</ol>", 1)[0]
    assert "已定标" in path and "候选人公示" not in path
    assert f'href="/land-tender/{trade.lot_code}" data-testid="parcel-link"' in stage

    url = f"/evaluation/{trade.lot_code}/criteria"
    html = client.get(url).get_data(as_text=True)
    assert 'value="highest_price"' in html and 'value="comprehensive"' in html
    assert 'value="lowest_price"' not in html and 'name="min_price"' in html and 'name="max_price"' not in html
    token = csrf_token(client, url)
    form = {"csrf_token": token, "method": "highest_price", "min_price": "10,000,000.00",
            "rejections-0-code": "R1", "rejections-0-name": "投标人资格不符合出让公告要求"}
    assert client.post(url, data=form).status_code == 302
    row = session.execute(select(LotCriteria)).scalar_one()
    assert row.body["method"] == "highest_price" and row.body["min_price_fen"] == 1_000_000_000
    refused = client.post(url, data={**form, "method": "lowest_price"})
    assert refused.status_code == 422 and "最高价法或综合评估法" in refused.get_data(as_text=True)
    assert session.execute(select(LotCriteria)).scalars().all() == [row]


def test_awards_page_awards_rank_one_without_publicity(ctx, client, session):
    lot = reported_land_lot(ctx)          # prices 1,180 / 1,250 / 1,100 万元: bidder 2 is rank 1
    code = lot.trade.lot_code
    db.session.commit()
    login_as(client, lot.owner)
    page = client.get(f"/awards/lots/{code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="land-award-rule"' in html and 'data-testid="publish"' not in html
    token = csrf_token(client, f"/awards/lots/{code}")

    second = client.post(f"/awards/lots/{code}/award", data={"csrf_token": token,
                                                             "bidder_org_id": str(lot.bidders[0].org.id)})
    assert second.status_code == 422 and "招标出让应确定评标排名第一" in second.get_data(as_text=True)
    assert _status(lot.trade) == "reported" and session.execute(select(Award)).first() is None

    done = client.post(f"/awards/lots/{code}/award", data={"csrf_token": token,
                                                           "bidder_org_id": str(lot.bidders[1].org.id)},
                       follow_redirects=True)
    assert done.status_code == 200 and 'data-testid="award"' in done.get_data(as_text=True)
    assert _status(lot.trade) == "awarded"
    award = session.execute(select(Award)).scalar_one()
    assert award.bidder_org_id == lot.bidders[1].org.id and award.price_fen == 1_250 * 1_000_000
    letter = client.get(f"/awards/letters/{award.letters[0].id}.pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")


def test_open_data_statistics_and_stage_pages_take_an_awarded_land_tender(ctx, client, session, clock):
    """Nothing dispatching on the procedure 500s for the new kind: the OCDS record (a sale by
    tender), the feed, the centre's monthly statistics, the public statistics and the stage page."""
    from datetime import timedelta

    from tests.factories.accounts import make_user
    from trading.core.clock import to_beijing
    from trading.procedures.common.awards import result

    lot = reported_land_lot(ctx)
    code = lot.trade.lot_code
    result.award(lot.owner_ctx, code, lot.bidders[1].org.id)
    clock.advance(timedelta(days=2))
    result.record_contract(lot.owner_ctx, code, to_beijing(clock.now()).date(), 1_250 * 1_000_000)
    operator = make_user(ctx, "operator")
    db.session.commit()

    record = client.get(f"/opendata/records/ocds-000000-{code}.json")
    assert record.status_code == 200, record.get_data(as_text=True)
    text = record.get_data(as_text=True)
    assert '"saleMethod": "tender"' in text.replace('":"', '": "') and "landUseRight" in text
    assert client.get("/opendata/releases.json").status_code == 200
    assert client.get("/statistics").status_code == 200
    login_as(client, operator)
    month = to_beijing(clock.now()).strftime("%Y-%m")
    monthly = client.get(f"/stats/monthly?month={month}")
    assert monthly.status_code == 200 and "土地招标出让" in monthly.get_data(as_text=True)
    stage = client.get(f"/stages/{code}")
    assert stage.status_code == 200 and 'data-status="contracted"' in stage.get_data(as_text=True)


def test_parcel_page_public_and_owner_form(ctx, client, session, app):
    from trading.procedures.land_tender.models import TenderParcel

    owner, _octx, trade = land_lot(ctx)
    db.session.commit()
    url = f"/land-tender/{trade.lot_code}"
    public = client.get(url).get_data(as_text=True)
    assert 'data-testid="no-parcel"' in public and 'data-testid="parcel-form"' not in public
    assert client.post(f"{url}/parcel", data={}).status_code in (400, 302, 401, 403)   # no session, no CSRF
    assert session.execute(select(TenderParcel)).first() is None

    login_as(client, owner)
    token = csrf_token(client, url)
    form = {"csrf_token": token, "subject_ref": "城区2026-21号", "location": "城区滨江路北侧", "area_m2": "12345.67",
            "land_use": "城镇住宅用地", "term_years": "70", "plot_ratio": "1.0–2.5", "mineral": ""}
    bad = client.post(f"{url}/parcel", data={**form, "term_years": "99"})
    assert bad.status_code == 422 and "出让年限" in bad.get_data(as_text=True) and 'value="12345.67"' in bad.get_data(as_text=True)
    assert client.post(f"{url}/parcel", data=form).status_code == 302
    page = app.test_client().get(url).get_data(as_text=True)          # anonymous again
    assert "城区2026-21号" in page and "18.52" in page
    assert client.get("/land-tender/NO-SUCH-LOT").status_code == 404
