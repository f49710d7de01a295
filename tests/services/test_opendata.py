"""Open data (OCDS 1.1.5) over journeys run through the real services: a 比选 from publication to
contract (with the embargo checked before the deadline), a 询价, a 竞争性谈判, a failed 比选 and its
re-announcement, a land listing. Every package, as written by the exporter (bytes → JSON, numbers
as Decimal), validates against the official release/record package schemas offline, every codelist
value is checked against the official codelists (plus the sale extension's), and amounts are the
exact fen of the rows divided by 100."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.factories.accounts import actor_ctx
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.evaluation import CRITERIA, sheet
from tests.factories.experts import operator_ctx
from tests.factories.journeys import (
    draw_panel,
    make_pool,
    open_by_custodians,
    registered_bidders,
    submit_price,
)
from tests.factories.negotiation import open_round_by_custodians, quote_for
from tests.factories.notices import notice_project, published_notice
from tests.factories.ocds import (
    check_record_package,
    check_release_package,
    check_sale_release,
    codelist_violations,
    parse,
)
from trading.accounts.models import Organisation
from trading.core.clock import to_beijing
from trading.evaluation.criteria.rules import template_body
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.reports import services as reports
from trading.evaluation.scoring import services as scoring
from trading.opendata import queries, rules
from trading.opendata.sales import SaleOutcome, auction_outcome, set_auction_outcome_provider
from trading.procedures.common import stages
from trading.procedures.common.awards import result
from trading.procedures.common.awards import services as awards
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import LotTrade
from trading.procedures.negotiation import services as negotiation
from trading.projects.models import Lot, Project

PUB = rules.Publication("ocds-a1b2c3", "https://ggzy.example.cn", "示范县公共资源交易中心")
SEL_PRICES = [812_345_67, 845_000_03, 830_000_10]
SEL_SCORES = [("36", "18"), ("32", "16"), ("30", "15")]


def feed_text(session, now, *, after: int = -1, limit: int = 1000) -> tuple[str, int]:
    items, last = queries.feed_page(session, PUB, after, limit, now)
    return rules.dumps(rules.release_package(PUB, f"{PUB.base_url}/opendata/releases.json", now, items)), last


def all_releases(session, now) -> list[dict]:
    text, _ = feed_text(session, now)
    pkg = parse(text)
    check_release_package(pkg)
    return pkg["releases"]


def record_of(session, code: str, now) -> tuple[dict, str]:
    ocid = rules.ocid(PUB.prefix, code)
    text = rules.dumps(rules.record_package(PUB, PUB.record_url(ocid), now,
                                            [(ocid, queries.process_releases(session, PUB, code, now))]))
    pkg = parse(text)
    check_record_package(pkg)
    return pkg["records"][0], text


def yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def party(release: dict, org: Organisation) -> dict:
    return next(p for p in release["parties"] if p["identifier"]["id"] == org.credit_code)


def _evaluate_and_report(ctx, session, clock, code, bidders, sheets):
    _draw, members = draw_panel(ctx, code, size=3)
    for m in members:
        for b in bidders:
            scoring.declare(m.ctx, code, b.org.id, conflict=False)
        for b, body in zip(bidders, sheets, strict=True):
            scoring.submit_sheet(m.ctx, code, b.org.id, body)
    clock.advance(timedelta(hours=1))
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    return members


def test_selection_from_announcement_to_contract_with_no_tenderer_before_the_deadline(session, clock, ctx):
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    lot = session.get(Lot, trade.lot_id)
    project = session.get(Project, trade.project_id)
    buyer = session.get(Organisation, project.owner_org_id)
    set_criteria(octx, code, CRITERIA)
    make_pool(ctx, 6)
    bidders = registered_bidders(ctx, code, 3)
    for b, price in zip(bidders, SEL_PRICES, strict=True):
        submit_price(b, code, price)

    # before the deadline (and after it, before the opening): nobody learns who registered or bid
    for at in (clock.now(), trade.deadline_at + timedelta(seconds=1)):
        clock.set(at)
        text, _ = feed_text(session, clock.now())
        record, record_text = record_of(session, code, clock.now())
        for b in bidders:
            assert b.org.credit_code not in text and b.org.name not in text
            assert b.org.credit_code not in record_text and b.org.name not in record_text
        releases = all_releases(session, clock.now())
        assert [r["tag"] for r in releases] == [["tender"]]
        assert "tenderers" not in releases[0]["tender"] and "tenderer" not in text

    tender = releases[0]["tender"]
    assert releases[0]["ocid"] == f"ocds-a1b2c3-{code}" and releases[0]["initiationType"] == "tender"
    assert (tender["procurementMethod"], tender["procurementMethodDetails"]) == ("selective", "比选")
    assert tender["value"] == {"amount": yuan(lot.budget_fen), "currency": "CNY"}
    assert tender["tenderPeriod"]["endDate"] == rules.date(trade.deadline_at)
    assert party(releases[0], buyer)["roles"] == ["buyer", "procuringEntity"]
    assert party(releases[0], buyer)["identifier"] == {"scheme": "CN-USCC", "id": buyer.credit_code,
                                                       "legalName": buyer.name}

    # the opening publishes the tenderers
    open_by_custodians(ctx, code)
    opened = all_releases(session, clock.now())[-1]
    assert opened["tag"] == ["tenderUpdate"] and opened["tender"]["status"] == "complete"
    assert opened["tender"]["numberOfTenderers"] == 3
    assert {t["id"] for t in opened["tender"]["tenderers"]} == {f"CN-USCC-{b.org.credit_code}" for b in bidders}

    # evaluation, candidate publicity, award, contract, archive
    clock.advance(timedelta(minutes=30))
    _evaluate_and_report(ctx, session, clock, code, bidders, [sheet(*s) for s in SEL_SCORES])
    clock.advance(timedelta(hours=1))
    awards.publish_candidates(octx, code)
    cl_until = get_trade(ctx, code)
    clock.advance(timedelta(days=4))
    row = result.award(octx, code, bidders[0].org.id)
    clock.advance(timedelta(days=3))
    result.record_contract(octx, code, to_beijing(clock.now()).date(), SEL_PRICES[0])
    stages.advance(operator_ctx(ctx), code, "archive")
    assert cl_until.status == "archived"

    releases = all_releases(session, clock.now())
    assert [r["tag"][0] for r in releases] == ["tender", "tenderUpdate", "award", "award", "contract"]
    assert len({r["id"] for r in releases}) == len(releases)
    pending, final = releases[2], releases[3]
    assert [(a["status"], a["value"]["amount"]) for a in pending["awards"]] == [
        ("pending", yuan(p)) for p in SEL_PRICES]
    assert [a["status"] for a in final["awards"]] == ["active", "unsuccessful", "unsuccessful"]
    won = final["awards"][0]
    assert won["value"]["amount"] == yuan(row.price_fen) == Decimal("812345.67")
    assert won["suppliers"] == [{"id": f"CN-USCC-{bidders[0].org.credit_code}", "name": bidders[0].org.name}]
    assert party(final, bidders[0].org)["roles"] == ["tenderer", "supplier"]
    assert party(final, bidders[1].org)["roles"] == ["tenderer"]
    contract = releases[4]["contracts"][0]
    assert contract["awardID"] == won["id"] and contract["value"]["amount"] == yuan(SEL_PRICES[0])
    assert contract["dateSigned"].endswith("T00:00:00+08:00")

    # the record: every release and the compiled state, equal to the last snapshot
    record, text = record_of(session, code, clock.now())
    assert [r["id"] for r in record["releases"]] == [r["id"] for r in releases]
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and compiled["date"] == releases[-1]["date"]
    assert {k: v for k, v in compiled.items() if k not in ("id", "date", "tag")} == \
        {k: v for k, v in releases[-1].items() if k not in ("id", "date", "tag")}
    assert '"amount":812345.67' in text and '"amount":845000.03' in text
    history = record["versionedRelease"]["tender"]["status"]
    assert [(h["releaseID"], h["value"]) for h in history] == [(releases[0]["id"], "active"),
                                                               (releases[1]["id"], "complete")]
    won_history = next(a for a in record["versionedRelease"]["awards"] if a["id"] == won["id"])["status"]
    assert [(h["releaseTag"], h["value"]) for h in won_history] == [(["award"], "pending"), (["award"], "active")]


def test_inquiry_is_selective_price_only_with_one_active_award_and_its_contract(session, clock, ctx):
    """询价: three quotes, the buyer confirms rank 1 (the cheapest), award, contract."""
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="inquiry", deposit_yuan=5_000, category="goods", owner_type="gov")
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, template_body("lowest_price"))
    make_pool(ctx, 8)
    prices = [456_789_12, 470_000_00, 449_000_01]
    suppliers = registered_bidders(ctx, code, 3)
    for s, price in zip(suppliers, prices, strict=True):
        submit_price(s, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    clock.advance(timedelta(minutes=30))
    _evaluate_and_report(ctx, session, clock, code, suppliers, [{"decision": "score"}] * 3)
    clock.advance(timedelta(days=1))
    awards.confirm_supplier(octx, code, suppliers[2].org.id)
    result.award(octx, code, suppliers[2].org.id)
    clock.advance(timedelta(days=2))
    result.record_contract(octx, code, to_beijing(clock.now()).date(), prices[2])

    releases = [r for r in all_releases(session, clock.now()) if r["ocid"].endswith(code)]
    assert [r["tag"][0] for r in releases] == ["tender", "tenderUpdate", "award", "contract"]
    tender = releases[-1]["tender"]
    assert (tender["procurementMethod"], tender["procurementMethodDetails"], tender["awardCriteria"],
            tender["mainProcurementCategory"]) == ("selective", "询价", "priceOnly", "goods")
    [won] = releases[-1]["awards"]
    assert won["status"] == "active" and won["value"]["amount"] == Decimal("449000.01")
    assert releases[-1]["contracts"][0]["value"]["amount"] == Decimal("449000.01")



def test_negotiation_is_selective_and_its_award_carries_the_final_price(session, clock, ctx):
    """竞争性谈判: one round, then the final offers decide; the award carries the final price."""
    ensure_custodians(ctx)
    make_pool(ctx, 5)
    owner, trade = deposit_lot(ctx, procedure="negotiation", deposit_yuan=5_000, category="goods", owner_type="gov")
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    set_criteria(octx, code, template_body("lowest_price"))
    suppliers = registered_bidders(ctx, code, 3)
    for s, price in zip(suppliers, [1_000_000_00, 990_000_00, 1_010_000_00], strict=True):
        submit_price(s, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    clock.advance(timedelta(minutes=20))
    _draw, members = draw_panel(ctx, code, size=3)
    team = operator_ctx(ctx)
    negotiation.start_negotiation(team, code)
    rnd = negotiation.open_round(team, code, closes_at=clock.now() + timedelta(hours=2))
    for s, price in zip(suppliers, [960_000_00, 955_000_00, 970_000_00], strict=True):
        negotiation.record_session(team, code, s.org.id, "第1轮单独谈判")
        quote_for(rnd, s, price)
    clock.set(rnd.closes_at)
    negotiation.close_round(team, code)
    open_round_by_custodians(ctx, rnd)
    final = negotiation.call_final_offers(team, code, closes_at=clock.now() + timedelta(hours=2))
    finals = [887_654_30, 899_000_00, 893_000_00]
    for s, price in zip(suppliers, finals, strict=True):
        quote_for(final, s, price)
    clock.set(final.closes_at)
    negotiation.close_round(team, code)
    open_round_by_custodians(ctx, final)
    negotiation.close_final_offers(team, code)
    for m in members:
        for s in suppliers:
            scoring.declare(m.ctx, code, s.org.id, conflict=False)
        for s in suppliers:
            scoring.submit_sheet(m.ctx, code, s.org.id, {"decision": "score"})
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    clock.advance(timedelta(days=1))
    awards.confirm_supplier(octx, code, suppliers[0].org.id)
    result.award(octx, code, suppliers[0].org.id, team_names=[m.user.display_name for m in members])

    releases = [r for r in all_releases(session, clock.now()) if r["ocid"].endswith(code)]
    assert [r["tag"][0] for r in releases] == ["tender", "tenderUpdate", "award"]
    tender = releases[-1]["tender"]
    assert (tender["procurementMethod"], tender["procurementMethodDetails"]) == ("selective", "竞争性谈判")
    [won] = releases[-1]["awards"]
    assert won["value"]["amount"] == Decimal("887654.30") and won["suppliers"][0]["name"] == suppliers[0].org.name
    record, _ = record_of(session, code, clock.now())
    assert record["compiledRelease"]["awards"] == releases[-1]["awards"]


def test_a_failed_lot_is_unsuccessful_and_its_reannouncement_names_it(session, clock, ctx):
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=None)
    octx = actor_ctx(session, clock, owner)
    code = trade.lot_code
    bidders = registered_bidders(ctx, code, 2)             # fewer than the 3 valid offers required
    for b, price in zip(bidders, SEL_PRICES, strict=False):
        submit_price(b, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    assert trade.status == "failed"
    releases = all_releases(session, clock.now())
    assert [r["tag"][0] for r in releases] == ["tender", "tenderUpdate"]
    assert releases[-1]["tender"]["status"] == "unsuccessful" and releases[-1]["tender"]["numberOfTenderers"] == 2

    clock.advance(timedelta(days=1))
    published_notice(octx, session.get(Project, trade.project_id))
    again = session.execute(select(LotTrade).where(LotTrade.previous_lot_id == trade.lot_id)).scalar_one()
    releases = all_releases(session, clock.now())
    assert [r["ocid"] for r in releases] == [rules.ocid(PUB.prefix, code)] * 2 + [rules.ocid(PUB.prefix, again.lot_code)]
    assert releases[-1]["relatedProcesses"] == [{
        "id": "1", "relationship": ["unsuccessfulProcess"], "scheme": "ocid", "identifier": rules.ocid(PUB.prefix, code),
        "title": releases[0]["tender"]["title"], "uri": PUB.record_url(rules.ocid(PUB.prefix, code))}]
    assert "tenderers" not in releases[-1]["tender"]     # the new attempt's bidders are secret again


def test_a_land_listing_is_published_with_the_sale_extension(session, clock, ctx):
    owner_ctx, trade = _land_listing(ctx, session, clock)
    lot = session.get(Lot, trade.lot_id)
    seller = session.get(Organisation, session.get(Project, trade.project_id).owner_org_id)
    [release] = all_releases(session, clock.now())
    check_sale_release(release)
    tender = release["tender"]
    assert (tender["saleMethod"], tender["saleObject"], tender["procurementMethod"]) == ("listing", "landUseRight", "open")
    assert tender["startingPrice"] == {"amount": yuan(lot.budget_fen), "currency": "CNY"} and "value" not in tender
    assert tender["submissionMethod"] == ["electronicAuction"] and "buyer" not in release
    assert party(release, seller)["roles"] == ["seller", "procuringEntity"]
    assert tender["seller"]["id"] == f"CN-USCC-{seller.credit_code}"


def test_the_auction_outcome_hook_gives_the_sale_award_and_contract(session, clock, ctx):
    """The hook the auction package plugs into: lot.sell and lot.sign_contract entries become the award
    (value, reserveMet, premiumRate against the starting price) and the contract."""
    from tests.factories.accounts import make_org
    from trading.audit.services import record

    owner_ctx, trade = _land_listing(ctx, session, clock)
    lot = session.get(Lot, trade.lot_id)
    buyer = make_org(ctx, "bidder")
    deal = lot.budget_fen + lot.budget_fen // 8 + 1       # 12.5 % above the start, and one fen
    assert auction_outcome(session, trade) is None          # no award row, no provider
    set_auction_outcome_provider(lambda s, t: SaleOutcome(buyer.id, deal, True, clock.now())
                                 if t.lot_id == trade.lot_id else None)
    try:
        clock.advance(timedelta(days=30))
        record(owner_ctx, "lot.sell", "lot", trade.lot_id, project_id=trade.project_id, payload={"old": "bidding"})
        clock.advance(timedelta(days=1))
        record(owner_ctx, "lot.sign_contract", "lot", trade.lot_id, project_id=trade.project_id, payload={})
        releases = all_releases(session, clock.now())
    finally:
        set_auction_outcome_provider(None)
    assert [r["tag"][0] for r in releases] == ["tender", "award", "contract"]
    for r in releases:
        check_sale_release(r)
    [award] = releases[-1]["awards"]
    assert award["value"]["amount"] == yuan(deal) and award["reserveMet"] is True
    assert award["premiumRate"] == rules.premium_rate(deal, lot.budget_fen) == Decimal("0.1250")
    assert award["suppliers"][0]["id"] == f"CN-USCC-{buyer.credit_code}"
    assert releases[-1]["contracts"][0]["awardID"] == award["id"]


def _land_listing(ctx, session, clock):
    from tests.factories.accounts import make_user

    owner = make_user(ctx, "owner")
    project = notice_project(ctx, owner, procedure="land_listing", category="land", owner_type="gov")
    octx = actor_ctx(session, clock, owner)
    published_notice(octx, project, kind="land_grant")
    return octx, get_trade(ctx, project.lots[0].code)


def test_codelist_check_catches_a_code_outside_the_lists():
    bad = {"tag": ["tender"], "tender": {"procurementMethod": "openish", "saleMethod": "barter"},
           "parties": [{"roles": ["buyer", "auctioneer"]}]}
    assert sorted(codelist_violations(bad)) == [
        "/parties/0/roles: 'auctioneer' is not in partyRole.csv",
        "/tender/procurementMethod: 'openish' is not in method.csv",
        "/tender/saleMethod: 'barter' is not in saleMethod.csv"]


def test_a_winner_default_cancels_its_award_and_the_next_candidate_is_awarded_or_the_lot_ends(session, clock, ctx):
    """Re-award (政府采购法实施条例 49; 招标投标法实施条例 55): the defaulting winner's award becomes cancelled
    (awardUpdate), the next candidate's award is active (award) and the contract points to it; in a second
    lot the buyer ends the attempt instead: the tender is unsuccessful (tenderUpdate)."""
    from tests.factories.awards import propose, reported_lot
    from trading.core.clock import beijing
    from trading.procedures.common.awards import reaward

    prices = [987_654_32, 990_000_01, 1_000_000_00]
    lots = []
    for _ in range(2):
        clock.set(beijing(2026, 11, 10, 9))
        w = reported_lot(ctx, procedure="selection", bidders=3)
        propose(w, prices)
        awards.publish_candidates(w.c_owner, w.trade.lot_code)
        clock.set(beijing(2026, 11, 27))
        result.award(w.c_owner, w.trade.lot_code, w.bidders[0].org_id)
        clock.advance(timedelta(days=2))
        reaward.record_default(w.c_owner, w.trade.lot_code, "refused_contract", "中选人以材料价格上涨为由书面拒绝签订合同。",
                               "拒签函（2026年11月29日）")
        lots.append(w)
    first, second = lots
    clock.advance(timedelta(hours=1))
    reaward.award_next(first.c_owner, first.trade.lot_code)
    clock.advance(timedelta(days=2))
    result.record_contract(first.c_owner, first.trade.lot_code, to_beijing(clock.now()).date(), prices[1])
    reaward.end_for_reprocurement(second.c_owner, second.trade.lot_code, "第二名报价超出预算，重新组织比选")

    releases = all_releases(session, clock.now())
    one = [r for r in releases if r["ocid"].endswith(first.trade.lot_code)]
    assert [r["tag"][0] for r in one] == ["tender", "award", "award", "awardUpdate", "award", "contract"]
    last = one[-1]
    assert [(a["status"], a["value"]["amount"]) for a in last["awards"]] == [
        ("cancelled", Decimal("987654.32")), ("active", Decimal("990000.01")), ("unsuccessful", Decimal("1000000.00"))]
    assert last["contracts"][0]["awardID"] == last["awards"][1]["id"]
    assert last["contracts"][0]["value"]["amount"] == Decimal("990000.01")
    two = [r for r in releases if r["ocid"].endswith(second.trade.lot_code)]
    assert [r["tag"][0] for r in two] == ["tender", "award", "award", "awardUpdate", "tenderUpdate"]
    assert two[-1]["tender"]["status"] == "unsuccessful" and two[-1]["awards"][0]["status"] == "cancelled"
    record, _ = record_of(session, first.trade.lot_code, clock.now())
    assert record["compiledRelease"]["awards"] == last["awards"]


def test_a_finished_auction_is_awarded_in_its_release(session, clock, ctx):
    """The wiring (trading/factory.py) reads the auction's outcome: a listing with a sealed reserve
    sold in its timed phase shows its winner, the deal price and reserveMet; a 流拍 has no award."""
    from tests.factories.auctions import (
        INC,
        START,
        auction_lot,
        close_listing,
        open_reserve_by_custodians,
        place,
        seal_reserve,
        started,
    )
    from trading.procedures.auction import services as auctions

    w = auction_lot(ctx)
    unsold = auction_lot(ctx)
    seal_reserve(w, START + INC)
    a = started(w)
    started(unsold)
    b1, b2 = w.buyers
    place(w, b1, START)
    place(w, b2, START + INC)
    for b in (b1, b2):
        auctions.opt_in(b.ctx, w.code)
    close_listing(w)
    close_listing(unsold)  # nobody bid: 流拍
    assert a.phase == "timed" and unsold.auction.outcome == "no_sale"
    place(w, b1, START + 3 * INC)
    clock.set(a.deadline)
    auctions.tick(w.c_op, w.code)
    assert auction_outcome(session, get_trade(ctx, w.code)) is None  # bidding ended, the reserve still sealed
    open_reserve_by_custodians(w)
    assert (a.outcome, a.basis) == ("sold", "sold_highest")
    releases = all_releases(session, clock.now())
    for r in releases:
        check_sale_release(r)
    sold = [r for r in releases if r["ocid"] == rules.ocid(PUB.prefix, w.code)]
    assert [r["tag"][0] for r in sold] == ["tender", "award"]
    [award] = sold[-1]["awards"]
    winner = session.get(Organisation, b1.app.bidder_org_id)
    assert award["value"] == {"amount": yuan(START + 3 * INC), "currency": "CNY"} and award["reserveMet"] is True
    assert award["status"] == "active" and award["suppliers"][0]["id"] == f"CN-USCC-{winner.credit_code}"
    assert party(sold[-1], winner)["roles"] == ["supplier"]
    assert award["premiumRate"] == rules.premium_rate(START + 3 * INC, session.get(Lot, a.lot_id).budget_fen)
    other = [r for r in releases if r["ocid"] == rules.ocid(PUB.prefix, unsold.code)]
    assert other and all(not r.get("awards") for r in other)


def test_a_sale_without_a_reserve_leaves_reserve_met_out(session, clock, ctx):
    from tests.factories.auctions import START, auction_lot, close_listing, place, started

    w = auction_lot(ctx)
    started(w)
    place(w, w.buyers[0], START)
    close_listing(w)
    assert (w.auction.outcome, w.auction.basis) == ("sold", "sold_no_reserve")
    [award] = [r for r in all_releases(session, clock.now())
               if r["ocid"] == rules.ocid(PUB.prefix, w.code)][-1]["awards"]
    assert award["value"]["amount"] == yuan(START) and "reserveMet" not in award
    check_sale_release(all_releases(session, clock.now())[-1])


def test_a_land_tender_names_its_award_criteria_and_its_parcel(session, clock, ctx):
    """招标出让: the grant notice's release has neither (the criteria and the parcel come after it); the
    parcel entry's tenderUpdate carries the parcel as the tender's item (description, area in ㎡) and
    awardCriteria from the criteria's method then in force: the highest price is priceOnly."""
    from tests.factories.land_tender import CRITERIA as LAND_CRITERIA
    from tests.factories.land_tender import land_lot
    from trading.procedures.land_tender import services as parcels

    _owner, octx, trade = land_lot(ctx)
    set_criteria(octx, trade.lot_code, LAND_CRITERIA)
    parcels.set_parcel(octx, trade.lot_code, {"subject_ref": "城区2026-21号", "location": "城区滨江路北侧",
                                              "area_m2": "12345.67", "land_use": "城镇住宅用地", "term_years": "70",
                                              "plot_ratio": "1.0–2.5"})
    releases = all_releases(session, clock.now())
    for r in releases:
        check_sale_release(r)
    assert [r["tag"] for r in releases] == [["tender"], ["tenderUpdate"]]
    first, update = releases[0]["tender"], releases[1]["tender"]
    assert "awardCriteria" not in first and "items" not in first
    assert (update["saleMethod"], update["saleObject"]) == ("tender", "landUseRight")
    assert update["awardCriteria"] == "priceOnly" and update["awardCriteriaDetails"].startswith("最高价法")
    [item] = update["items"]
    assert item["quantity"] == Decimal("12345.67") and item["unit"] == {"scheme": "UNCEFACT", "id": "MTK",
                                                                           "name": "平方米"}
    assert item["description"] == ("宗地编号：城区2026-21号；坐落：城区滨江路北侧；面积：12345.67平方米；"
                                   "土地用途：城镇住宅用地；出让年限：70年；容积率：1.0–2.5")
    record, _ = record_of(session, trade.lot_code, clock.now())
    assert record["compiledRelease"]["tender"]["items"][0]["quantity"] == Decimal("12345.67")


def test_a_mining_tender_by_comprehensive_scoring_has_rated_criteria(session, clock, ctx):
    from tests.factories.land_tender import land_lot
    from trading.procedures.land_tender import services as parcels

    _owner, octx, trade = land_lot(ctx, procedure="mining_tender", category="mining", days=35)
    body = {"method": "comprehensive", "price_weight": "60", "tie_break": "draw",
            "items": [{"code": "T1", "name": "开发利用方案", "group": "technical", "max": "40"}],
            "rejections": [{"code": "R1", "name": "投标人资格不符合出让公告要求"}]}
    set_criteria(octx, trade.lot_code, body)
    clock.advance(timedelta(minutes=1))
    parcels.set_parcel(octx, trade.lot_code, {"subject_ref": "石桥镇建筑用砂岩矿采矿权", "mineral": "建筑用砂岩",
                                              "location": "石桥镇"})
    clock.advance(timedelta(minutes=1))
    set_criteria(octx, trade.lot_code, {**LAND_HIGHEST, "rejections": body["rejections"]})  # after the parcel: not in its release
    releases = all_releases(session, clock.now())
    for r in releases:
        check_sale_release(r)
    tender = releases[-1]["tender"]
    assert tender["saleObject"] == "miningRight"
    assert tender["awardCriteria"] == "ratedCriteria" and tender["awardCriteriaDetails"].startswith("综合评估法")
    assert tender["items"] == [{"id": "1", "description": "矿业权名称：石桥镇建筑用砂岩矿采矿权；坐落：石桥镇；开采矿种：建筑用砂岩"}]


LAND_HIGHEST = {"method": "highest_price", "min_price_fen": 1_000 * 1_000_000}
