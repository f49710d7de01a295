"""招标出让 journeys through the real services (issue 5 part 5): a land-use right granted by tender to
the highest price — the grant notice (≥ 20 days), the deposit floor (≥ 20 % of the starting price,
no cap), registration, sealed offers, the opening by the custodians, the 评标小组 (≥ 5, odd), the
highest-price method (an offer below the starting price rejected; equal prices → the earlier
submission), the signed report, no candidate publicity, the award to rank 1 with the result notice,
the losers' 5 WD refund clock, the contract (the winner's deposit becomes price), the archive; a
tender with two bidders that fails at the opening and is terminated; a mining-right tender's set-up
(its own ≥ 20 WD notice, the same machine). The clock is moved; nothing is written directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.experts import operator_ctx
from tests.factories.journeys import (
    draw_panel,
    make_pool,
    open_by_custodians,
    pdf_text,
    registered_bidders,
    stage_history,
    submit_price,
)
from tests.factories.land_tender import CRITERIA, WAN, land_lot
from tests.factories.notices import bj_at, make_notice, notice_project, published_notice
from trading.audit.services import verify
from trading.core.clock import beijing, to_beijing
from trading.core.errors import Conflict, RuleViolation
from trading.evaluation.criteria.services import set_criteria
from trading.evaluation.reports import services as reports
from trading.evaluation.scoring import services as scoring
from trading.procedures.common import services as notices
from trading.procedures.common import stages
from trading.procedures.common.awards import result
from trading.procedures.common.awards import services as awards
from trading.procedures.common.awards.models import CandidateList
from trading.procedures.common.deposits import services as deposits
from trading.procedures.common.deposits.models import DepositAccount
from trading.procedures.common.deposits.rules import DepositRefused
from trading.procedures.common.lots import get_trade
from trading.procedures.common.models import Notice
from trading.procedures.common.opening.models import OpeningRecord

#: bidder 2 and 3 offer the same highest price; 2 submits first and wins; 4 is below the start price
PRICES = [1_180 * WAN, 1_250 * WAN, 1_250 * WAN, 990 * WAN]


def _sheet(decision: str = "score", **kw) -> dict:
    return {"decision": decision, **kw}


def test_land_tender_won_by_the_highest_price_from_the_notice_to_the_archive(session, clock, ctx):
    owner, octx, trade = land_lot(ctx)
    code = trade.lot_code
    assert (trade.procedure, trade.sealed, trade.min_valid_offers) == ("land_tender", True, 3)

    # the deposit: at least 20 % of the starting price, no cap (unlike procurement's 2 %)
    with pytest.raises(DepositRefused) as low:
        deposits.set_lot_deposit(octx, code, 199 * WAN)
    assert low.value.code == "deposit.under_floor" and low.value.details["floor_fen"] == 200 * WAN
    deposits.set_lot_deposit(octx, code, 300 * WAN)
    assert trade.deposit_fen == 300 * WAN

    # the criteria: only the highest-price or the comprehensive method (never the lowest price)
    with pytest.raises(Exception) as lowest:
        set_criteria(octx, code, {"method": "lowest_price", "rejections": CRITERIA["rejections"]})
    assert lowest.value.code == "criteria.method_not_allowed"
    set_criteria(octx, code, CRITERIA)
    make_pool(ctx, 8)

    bidders = registered_bidders(ctx, code, 4)
    for b, price in zip(bidders, PRICES, strict=True):
        clock.advance(timedelta(minutes=7))        # distinct server times: the earlier one wins a tie
        submit_price(b, code, price)
    accounts = session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)).scalars().all()
    assert len(accounts) == 4

    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    assert trade.status == "opened"
    record = session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one()
    assert record.valid_offers == 4

    # the 评标小组: 5 or more, odd — a panel of three is refused
    with pytest.raises(RuleViolation) as small:
        draw_panel(ctx, code, size=3)
    assert small.value.code == "draw.size_rule" and trade.status == "opened"
    _draw, members = draw_panel(ctx, code, size=5)
    assert trade.status == "evaluating" and len(members) == 5

    for m in members:
        for b in bidders:
            scoring.declare(m.ctx, code, b.org.id, conflict=False)
        for b in bidders:
            scoring.submit_sheet(m.ctx, code, b.org.id, _sheet())
    summary, _ = scoring.lot_summary(octx, code)
    rows = {r.org_id: r for r in summary.rows}
    assert [rows[b.org.id].rank for b in bidders] == [3, 1, 2, None]
    assert rows[bidders[3].org.id].rejected and rows[bidders[3].org.id].reject_reasons == ("below_minimum",)
    assert summary.candidates == (bidders[1].org.id, bidders[2].org.id, bidders[0].org.id)

    clock.advance(timedelta(hours=2))
    report = reports.generate_report(members[0].ctx, code)
    for m in members:
        clock.advance(timedelta(seconds=31))
        reports.sign_report(m.ctx, code, "agree", code=m.code(clock), report_sha256=report.sha256)
    assert report.status == "final" and trade.status == "reported"
    cl = session.execute(select(CandidateList).where(CandidateList.lot_id == trade.lot_id)).scalar_one()
    assert cl.regime == "land" and cl.publish_due_at is None and cl.confirm_due_at is None
    assert [(c.bidder_org_id, c.rank, c.price_fen) for c in cl.candidates] == [
        (bidders[1].org.id, 1, PRICES[1]), (bidders[2].org.id, 2, PRICES[2]), (bidders[0].org.id, 3, PRICES[0])]

    # no candidate publicity; only rank 1 is awarded
    with pytest.raises(Conflict) as pub:
        awards.publish_candidates(octx, code)
    assert pub.value.code == "award.no_publicity"
    with pytest.raises(RuleViolation) as second:
        result.award(octx, code, bidders[2].org.id)
    assert second.value.details["problems"] == ["award.rank_one_required"] and trade.status == "reported"

    clock.advance(timedelta(hours=1))
    row = result.award(octx, code, bidders[1].org.id)
    assert trade.status == "awarded" and row.price_fen == PRICES[1] and row.result_due_at is None
    # the grant contract within 10 working days of the deal (国土资发〔2010〕34号), not the 30-day clock
    # the grant contract within 10 working days of the deal (国土资发〔2010〕34号), not the 30-day clock:
    # Sat 29 Aug → 31 Aug … 4 Sep, 7 … 11 Sep, 24:00
    assert to_beijing(clock.now()).date().isoformat() == "2026-08-29"
    assert to_beijing(row.contract_due_at) == to_beijing(beijing(2026, 9, 12))
    notice = session.get(Notice, row.result_notice_id)
    assert notice.kind == "result" and notice.status == "published" and "招标出让中标结果公告" in notice.title
    _letter, data = result.letter_pdf(bidders[1].ctx, row.letters[0].id)
    assert "人民币壹仟贰佰伍拾万元整" in pdf_text(data)
    assert "签订出让合同" in pdf_text(data).replace("\n", "") and "30日内" not in pdf_text(data)
    # the losers' deposits are due back within 5 WD of the result; the winner's becomes part of the price
    for a in accounts:
        session.refresh(a)
    winner = next(a for a in accounts if a.bidder_org_id == bidders[1].org.id)
    assert winner.is_winner and winner.refund_due_at is None
    losers = [a for a in accounts if a is not winner]
    assert all(a.refund_event == "result" and a.refund_due_at is not None for a in losers)
    assert to_beijing(losers[0].refund_due_at).date() == to_beijing(clock.now()).date() + timedelta(days=7)

    clock.advance(timedelta(days=3))
    rec = result.record_contract(octx, code, to_beijing(clock.now()).date(), PRICES[1])
    assert trade.status == "contracted" and not rec.late
    session.refresh(winner)
    assert winner.refund_due_at is None

    stages.advance(operator_ctx(ctx), code, "archive")
    assert trade.status == "archived"
    assert verify(session).ok
    assert stage_history(session, trade.lot_id) == [
        ("trading_opened", None, None), ("opening.opened", None, None),
        ("start_evaluation", "opened", "evaluating"), ("submit_report", "evaluating", "reported"),
        ("award", "reported", "awarded"), ("sign_contract", "awarded", "contracted"),
        ("archive", "contracted", "archived")]


def test_land_tender_with_two_bidders_fails_at_the_opening_and_is_terminated(session, clock, ctx):
    owner, octx, trade = land_lot(ctx)
    code = trade.lot_code
    deposits.set_lot_deposit(octx, code, 200 * WAN)
    set_criteria(octx, code, CRITERIA)
    bidders = registered_bidders(ctx, code, 2)
    for b, price in zip(bidders, PRICES, strict=False):
        submit_price(b, code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, code)
    assert trade.status == "failed"
    record = session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one()
    assert (record.valid_offers, record.outcome) == (2, "failed")

    # no panel for a failed tender, and the tender ends (39号令 Art. 13): terminated with a reason
    with pytest.raises(Conflict):
        stages.advance(octx, code, "start_evaluation", facts={"panel_size": 5, "panel_experts": 5})
    with pytest.raises(RuleViolation):
        stages.cancel_lot(octx, code, "")
    stages.cancel_lot(octx, code, "投标人不足三人，终止本次招标出让")
    assert trade.status == "terminated"
    accounts = session.execute(select(DepositAccount).where(DepositAccount.lot_id == trade.lot_id)).scalars().all()
    assert len(accounts) == 2 and all(a.refund_event == "termination" and a.refund_due_at for a in accounts)
    assert stage_history(session, trade.lot_id)[-1] == ("cancel", "failed", "terminated")
    assert verify(session).ok


def test_land_tender_minimum_of_bidders_is_a_setting(session, clock, ctx):
    """The centre lowers land_tender.min_bidders to 2: a lot published afterwards opens with two."""
    from trading.reference.services import update_setting

    update_setting(actor_ctx(ctx.session, ctx.clock, make_user(ctx, "admin")), "land_tender.min_bidders", 2)
    owner, octx, trade = land_lot(ctx)
    assert trade.min_valid_offers == 2
    bidders = registered_bidders(ctx, trade.lot_code, 2)
    for b, price in zip(bidders, PRICES, strict=False):
        submit_price(b, trade.lot_code, price)
    clock.set(trade.deadline_at + timedelta(minutes=1))
    open_by_custodians(ctx, trade.lot_code)
    assert trade.status == "opened"


def test_mining_right_tender_needs_twenty_working_days_of_notice_and_runs_the_same_machine(session, clock, ctx):
    ensure_custodians(ctx)
    owner = make_user(ctx, "owner")
    octx = actor_ctx(session, clock, owner)
    project = notice_project(ctx, owner, procedure="mining_tender", category="mining", owner_type="gov",
                             funding_source="self_raised", total_investment_fen=880 * WAN,
                             name="石桥镇建筑用砂岩矿采矿权招标出让", lots=[{"name": "砂岩矿采矿权", "budget_fen": 880 * WAN}])
    # 25 calendar days satisfy a land notice but not the mining right's 20 working days
    short = bj_at(clock.now(), 25, 9, 0)
    draft = make_notice(octx, project, deadline_at=short, opening_at=short, closing_at=None)
    with pytest.raises(RuleViolation) as err:
        notices.publish_notice(octx, draft.id)
    codes = [p["code"] for p in err.value.details["violations"]]
    assert "period.mining_notice" in codes and "period.land_notice" not in codes
    assert session.get(Notice, draft.id).status == "draft"

    at = bj_at(clock.now(), 32, 9, 0)
    published_notice(octx, project, deadline_at=at, opening_at=at, closing_at=None)
    trade = get_trade(ctx, project.lots[0].code)
    assert (trade.procedure, trade.sealed, trade.min_valid_offers) == ("mining_tender", True, 3)
    with pytest.raises(DepositRefused):
        deposits.set_lot_deposit(octx, trade.lot_code, 100 * WAN)   # below 20 % of 8.8 M
    deposits.set_lot_deposit(octx, trade.lot_code, 176 * WAN)
    set_criteria(octx, trade.lot_code, {**CRITERIA, "min_price_fen": 880 * WAN})
    assert stages.available_actions(octx, trade) == ["terminate"]


def test_the_parcel_is_recorded_by_the_grantor_before_the_deadline_and_audited(session, clock, ctx):
    from tests.factories.notices import notice_project as other_project
    from trading.audit.models import AuditEntry
    from trading.core.errors import Forbidden, InvalidInput, NotFound
    from trading.procedures.land_tender import services as parcels

    owner, octx, trade = land_lot(ctx)
    raw = {"subject_ref": "城区2026-21号", "location": "城区滨江路北侧", "area_m2": "12345.67",
           "land_use": "城镇住宅用地", "term_years": "70", "plot_ratio": "1.0–2.5"}
    row = parcels.set_parcel(octx, trade.lot_code, raw)
    assert (row.subject_ref, str(row.area_m2), row.term_years) == ("城区2026-21号", "12345.67", 70)
    parcels.set_parcel(octx, trade.lot_code, {**raw, "plot_ratio": "≤2.0"})
    entries = session.execute(select(AuditEntry).where(AuditEntry.action == "land_tender.parcel_set")
                              .order_by(AuditEntry.seq)).scalars().all()
    assert len(entries) == 2
    before = len(entries)

    with pytest.raises(InvalidInput):                    # nothing written on bad input
        parcels.set_parcel(octx, trade.lot_code, {**raw, "area_m2": "-1"})
    stranger = actor_ctx(session, clock, make_user(ctx, "owner"))
    with pytest.raises(Forbidden):
        parcels.set_parcel(stranger, trade.lot_code, raw)
    selection_owner = make_user(ctx, "owner")
    project = other_project(ctx, selection_owner, procedure="selection")
    with pytest.raises(NotFound):                         # not a land tender: the 404 of an unknown lot
        parcels.parcel_of(ctx, project.lots[0].code)
    clock.set(trade.deadline_at)
    with pytest.raises(Conflict) as locked:
        parcels.set_parcel(octx, trade.lot_code, raw)
    assert locked.value.code == "land_tender.parcel_locked"
    assert session.query(AuditEntry).filter(AuditEntry.action == "land_tender.parcel_set").count() == before
    assert parcels.parcel_of(ctx, trade.lot_code)[2].plot_ratio == "≤2.0"
