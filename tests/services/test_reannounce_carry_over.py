"""A re-announced attempt (<code>-A2) starts with the failed attempt's deposit and evaluation criteria
(评分细则) as drafts the owner can still change before the new deadline: the deposit amount, and
the criteria as version 1 of the new lot (same body and SHA-256, marked as carried over, audited).
The failed attempt's rows stay as they were. Also after a winner's default ends the lot for
re-procurement."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.factories.accounts import actor_ctx
from tests.factories.deposits import deposit_lot
from tests.factories.evaluation import CRITERIA
from tests.factories.notices import bj_at, make_notice
from trading.audit.models import AuditEntry
from trading.evaluation.criteria import services as criteria
from trading.evaluation.criteria.models import LotCriteria
from trading.procedures.common import services as notices
from trading.procedures.common.deposits import services as deposits
from trading.procedures.common.models import LotTrade
from trading.projects.models import Project


def _reannounce(octx, trade, clock):
    project = octx.session.get(Project, trade.project_id)
    notice = make_notice(octx, project, lot_id=trade.lot_id, deadline_at=bj_at(clock.now(), 12),
                         opening_at=bj_at(clock.now(), 12))
    notices.publish_notice(octx, notice.id)
    return octx.session.execute(select(LotTrade).where(LotTrade.previous_lot_id == trade.lot_id)).scalar_one()


def _failed_lot(ctx, *, with_criteria=True):
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=8_000)
    octx = actor_ctx(ctx.session, ctx.clock, owner)
    old = criteria.set_criteria(octx, trade.lot_code, CRITERIA) if with_criteria else None
    trade.status = "failed"  # the opening's 流标 (tested in test_stages_reannounce.py)
    ctx.session.flush()
    ctx.clock.advance(days=1)
    return octx, trade, old


def test_the_next_attempt_starts_with_the_deposit_and_the_criteria_as_editable_drafts(session, ctx, clock):
    octx, trade, old = _failed_lot(ctx)
    new = _reannounce(octx, trade, clock)
    assert new.lot_code == f"{trade.lot_code}-A2" and new.deposit_fen == 8_000_00
    carried = criteria.latest(session, new.lot_id)
    assert (carried.version, carried.body, carried.sha256, carried.carried_from_id) == (1, old.body, old.sha256, old.id)
    assert criteria.carried_from(octx, carried) == (trade.lot_code, 1)
    [entry] = session.execute(select(AuditEntry).where(AuditEntry.action == "criteria.carried_over")).scalars()
    payload = json.loads(entry.body)["payload"]
    assert (payload["from_lot_code"], payload["lot_code"], payload["sha256"]) == (trade.lot_code, new.lot_code, old.sha256)
    opened = [json.loads(e.body)["payload"] for e in session.execute(
        select(AuditEntry).where(AuditEntry.action == "lot.trading_opened")).scalars()]
    assert opened[-1]["deposit_fen"] == 8_000_00

    # the owner edits both before the new deadline; the failed attempt's criteria stay as they were
    changed = {**CRITERIA, "price_weight": "50", "items": [
        {**CRITERIA["items"][0], "max": str(int(CRITERIA["items"][0]["max"]) - 10)}, *CRITERIA["items"][1:]]}
    v2 = criteria.set_criteria(octx, new.lot_code, changed)
    assert v2.version == 2 and v2.carried_from_id is None and criteria.carried_from(octx, v2) is None
    assert criteria.latest(session, trade.lot_id).id == old.id
    deposits.set_lot_deposit(octx, new.lot_code, 6_000_00)
    assert (new.deposit_fen, session.get(LotTrade, trade.lot_id).deposit_fen) == (6_000_00, 8_000_00)


def test_no_criteria_on_the_failed_attempt_none_on_the_next(session, ctx, clock):
    octx, trade, _ = _failed_lot(ctx, with_criteria=False)
    new = _reannounce(octx, trade, clock)
    assert criteria.latest(session, new.lot_id) is None and new.deposit_fen == 8_000_00
    assert session.execute(select(LotCriteria)).first() is None


def test_after_a_winners_default_the_re_procurement_carries_over_too(session, ctx, clock):
    from tests.factories.accounts import make_user
    from tests.factories.deposits import registered_account
    from trading.core.clock import beijing
    from trading.procedures.common.awards import reaward, result
    from trading.procedures.common.awards import services as awards
    from trading.procedures.common.awards.rules import CandidateIn

    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=9_000)
    octx = actor_ctx(session, clock, owner)
    bidders = [make_user(ctx, "bidder") for _ in range(2)]
    for b in bidders:
        registered_account(ctx, trade, b)
    criteria.set_criteria(octx, trade.lot_code, CRITERIA)
    clock.set(beijing(2026, 11, 23, 10, 0))
    trade.status = "reported"  # opening and evaluation: their own tests
    session.flush()
    awards.propose_candidates(octx, trade.lot_code, [CandidateIn(b.org_id, i, 900_000_00 + i)
                                                     for i, b in enumerate(bidders, start=1)], report_id=None)
    awards.publish_candidates(octx, trade.lot_code)
    clock.set(beijing(2026, 11, 27))
    result.award(octx, trade.lot_code, bidders[0].org_id)
    reaward.record_default(octx, trade.lot_code, "waived", "中选人书面声明放弃中选。", "放弃声明")
    reaward.end_for_reprocurement(octx, trade.lot_code, "第二名报价超出预算，重新比选")
    new = _reannounce(octx, trade, clock)
    assert new.lot_code == f"{trade.lot_code}-A2" and new.deposit_fen == 9_000_00
    assert criteria.latest(session, new.lot_id).carried_from_id is not None
