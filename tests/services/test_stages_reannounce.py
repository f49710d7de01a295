"""Re-announcement after 流标: an announcement naming a failed lot moves it to "reannounced" (through
the machine, audited) and opens the next attempt as a new lot of the same project — its own code
(<first code>-A<n>), deadline and opening key — while the failed attempt's registrations, key and
rows stay as they were. A refused announcement changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.notices import bj_at, make_notice
from tests.factories.stages import register_bidders, stage_lot
from trading.audit.models import AuditEntry
from trading.core.errors import DomainError
from trading.procedures.common import services as notices
from trading.procedures.common.models import LotTrade
from trading.procedures.common.opening.models import OpeningKey
from trading.procedures.common.participation.models import Participation
from trading.projects.models import Lot


def _entries(session, action):
    return [json.loads(e.body) for e in session.execute(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()]


def _key(session, lot_id) -> OpeningKey:
    return session.execute(select(OpeningKey).where(OpeningKey.lot_id == lot_id)).scalar_one()


def _reannounce(lot, lot_id, clock, days=12):
    project = lot.octx.session.get(LotTrade, lot_id).project_id
    from trading.projects.models import Project
    p = lot.octx.session.get(Project, project)
    notice = make_notice(lot.octx, p, lot_id=lot_id, deadline_at=bj_at(clock.now(), days),
                         opening_at=bj_at(clock.now(), days))
    return notices.publish_notice(lot.octx, notice.id)


def test_a_failed_lot_announced_again_opens_its_next_attempt(session, ctx, clock):
    lot = stage_lot(ctx, "selection", "failed")
    old_id, old_code = lot.trade.lot_id, lot.code
    register_bidders(ctx, lot.trade, 2)
    old_key = bytes(_key(session, old_id).kid)
    clock.advance(days=3)
    notice = _reannounce(lot, old_id, clock)

    old = session.get(LotTrade, old_id)
    assert old.status == "reannounced"
    [entry] = _entries(session, "lot.reannounce")
    assert entry["payload"]["old"] == "failed" and entry["payload"]["new"] == "reannounced"
    assert entry["payload"]["detail"] == {"cycle": 2}

    new = session.execute(select(LotTrade).where(LotTrade.previous_lot_id == old_id)).scalar_one()
    assert (new.cycle, new.lot_code, new.status) == (2, f"{old_code}-A2", "accepting")
    assert new.deadline_at == notice.deadline_at and new.notice_id == notice.id and new.procedure == "selection"
    new_lot = session.get(Lot, new.lot_id)
    old_lot = session.get(Lot, old_id)
    assert (new_lot.project_id, new_lot.name, new_lot.budget_fen) == (old_lot.project_id, old_lot.name,
                                                                       old_lot.budget_fen)
    assert bytes(_key(session, new.lot_id).kid) != old_key            # a new key ceremony
    assert bytes(_key(session, old_id).kid) == old_key                # the old key is kept
    assert session.execute(select(Participation).where(Participation.lot_id == new.lot_id)).first() is None
    assert len(session.execute(select(Participation).where(Participation.lot_id == old_id)).all()) == 2
    opened = [e for e in _entries(session, "lot.trading_opened") if e["payload"]["lot_code"] == new.lot_code]
    assert opened[0]["payload"]["cycle"] == 2 and opened[0]["payload"]["previous_lot_code"] == old_code


def test_a_third_attempt_counts_from_the_first_lots_code(session, ctx, clock):
    lot = stage_lot(ctx, "selection", "failed")
    first_code = lot.code
    _reannounce(lot, lot.trade.lot_id, clock)
    second = session.execute(select(LotTrade).where(LotTrade.previous_lot_id == lot.trade.lot_id)).scalar_one()
    second.status = "failed"
    session.flush()
    clock.advance(days=1)
    _reannounce(lot, second.lot_id, clock)
    third = session.execute(select(LotTrade).where(LotTrade.previous_lot_id == second.lot_id)).scalar_one()
    assert (third.cycle, third.lot_code) == (3, f"{first_code}-A3")
    assert session.get(LotTrade, second.lot_id).status == "reannounced"


@pytest.mark.parametrize("status", ["accepting", "opened", "terminated"])
def test_an_announcement_naming_a_lot_that_did_not_fail_opens_no_attempt(session, ctx, clock, status):
    lot = stage_lot(ctx, "selection", status)
    before = session.execute(select(LotTrade)).scalars().all()
    try:
        _reannounce(lot, lot.trade.lot_id, clock)
    except DomainError:
        pass
    assert session.execute(select(LotTrade)).scalars().all() == before
    assert session.get(LotTrade, lot.trade.lot_id).status == status
    assert not _entries(session, "lot.reannounce")


def test_a_refused_reannouncement_changes_nothing(session, ctx, clock):
    lot = stage_lot(ctx, "selection", "failed")
    session.commit()
    lots_before = session.execute(select(Lot.id)).scalars().all()
    with pytest.raises(DomainError) as err:
        _reannounce(lot, lot.trade.lot_id, clock, days=2)   # < 5 calendar days for 比选
    assert err.value.code.startswith("period.") or err.value.code.startswith("notice.")
    session.rollback()
    assert session.get(LotTrade, lot.trade.lot_id).status == "failed"
    assert session.execute(select(Lot.id)).scalars().all() == lots_before
    assert not _entries(session, "lot.reannounce")


def test_journey_selection_with_two_applicants_fails_at_the_opening_and_is_reannounced(session, ctx, clock):
    """比选 with 2 applicants: the custodians open it, 2 valid offers < 3 → 流标 (the opening code's own
    step, which the machine lists); the owner publishes a re-announcement; the next attempt takes a
    new registration; the first attempt's envelopes and record stay as they were."""
    from tests.factories.accounts import actor_ctx, make_user
    from tests.factories.custodians import add_offer, ensure_custodians
    from trading.procedures.common.flow import machine_for
    from trading.procedures.common.opening import services as opening
    from trading.procedures.common.opening.models import OpeningRecord
    from trading.procedures.common.participation.models import Submission
    from trading.procedures.common.participation.services import register_for_lot

    people = {u.id: (u, p) for u, p in ensure_custodians(ctx)}
    lot = stage_lot(ctx, "selection", "accepting")
    trade, key = lot.trade, _key(session, lot.trade.lot_id)
    bidders = [add_offer(ctx, trade, key, price_fen=fen)[0] for fen in (98_000_000, 99_500_000)]
    clock.set(trade.deadline_at + timedelta(seconds=1))
    for share in sorted(key.shares, key=lambda s: s.x)[:key.k]:
        user, passphrase = people[share.custodian_user_id]
        opening.submit_share(actor_ctx(session, clock, user), trade.lot_code, passphrase)
    assert session.get(LotTrade, trade.lot_id).status == "failed"
    assert machine_for("selection").find("opening", "fail").target == "failed"
    record = session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one()
    assert (record.outcome, record.valid_offers) == ("failed", 2)

    clock.advance(days=1)
    _reannounce(lot, trade.lot_id, clock)
    new = session.execute(select(LotTrade).where(LotTrade.previous_lot_id == trade.lot_id)).scalar_one()
    assert new.status == "accepting" and new.deadline_at > clock.now()
    part, _created = register_for_lot(actor_ctx(session, clock, bidders[0]), new.lot_code)
    assert part.lot_id == new.lot_id
    newcomer = make_user(ctx, "bidder")
    assert register_for_lot(actor_ctx(session, clock, newcomer), new.lot_code)[0].lot_id == new.lot_id
    # the first attempt: its envelopes stay accepted on the old lot, its record unchanged, never reopened
    old_subs = session.execute(select(Submission).where(Submission.lot_id == trade.lot_id)).scalars().all()
    assert {s.status for s in old_subs} == {"accepted"} and len(old_subs) == 2
    assert session.execute(select(OpeningRecord).where(OpeningRecord.lot_id == trade.lot_id)).scalar_one().sha256 \
        == record.sha256
    assert session.get(LotTrade, trade.lot_id).status == "reannounced"


def test_the_failed_attempts_deposits_fall_due_for_refund(session, ctx, clock):
    from tests.factories.accounts import actor_ctx, make_user
    from tests.factories.deposits import deposit_lot, registered_account
    from tests.factories.stages import StageLot

    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=5_000)
    account = registered_account(ctx, trade, make_user(ctx, "bidder"))
    assert account is not None and account.refund_due_at is None
    trade.status = "failed"
    session.flush()
    clock.advance(days=1)
    _reannounce(StageLot(trade, owner, actor_ctx(session, clock, owner)), trade.lot_id, clock)
    session.refresh(account)
    assert account.refund_due_at is not None and account.refund_due_at > clock.now()
