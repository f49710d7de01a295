"""The evaluation room through the services: criteria versions and lock, check-in, sheets (drafts,
refusals that change nothing, the lock), secrecy before everyone submits, the summary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.evaluation import CRITERIA, check_in, evaluation_lot, fill_and_submit, sheet
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from trading.core.events import LiveEvent
from trading.evaluation.criteria import services as criteria_services
from trading.evaluation.criteria.models import LotCriteria
from trading.evaluation.scoring import services as scoring
from trading.evaluation.scoring.models import ScoreSheet


def audit_count(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def snapshot(session):
    rows = session.execute(select(ScoreSheet).order_by(ScoreSheet.id)).scalars()
    return [(s.id, s.status, s.revision, dict(s.scores), dict(s.comments), s.decision) for s in rows], audit_count(session)


# --- criteria -----------------------------------------------------------------------------------------
def test_criteria_versions_before_the_deadline_and_locked_after(ctx, session, clock):
    from tests.factories.notices import make_notice, notice_project
    from trading.procedures.common.models import LotTrade

    owner = make_user(ctx, "owner")
    octx = actor_ctx(session, clock, owner)
    project = notice_project(ctx, owner, procedure="selection")
    notice = make_notice(octx, project)
    lot = project.lots[0]
    session.add(LotTrade(lot_id=lot.id, project_id=project.id, lot_code=lot.code, notice_id=notice.id,
                         procedure="selection", sealed=True, deadline_at=notice.deadline_at, max_part_bytes=1,
                         deposit_fen=0, min_valid_offers=3, status="accepting", status_changed_at=clock.now(),
                         created_at=clock.now()))
    session.flush()
    v1 = criteria_services.set_criteria(octx, lot.code, CRITERIA)
    assert v1.version == 1 and v1.body["price_weight"] == "40"
    assert criteria_services.set_criteria(octx, lot.code, CRITERIA).id == v1.id   # unchanged: no new version
    changed = {**CRITERIA, "price_weight": "30",
               "items": [*CRITERIA["items"], {"code": "C2", "name": "信誉", "group": "commercial", "max": "10"}]}
    v2 = criteria_services.set_criteria(octx, lot.code, changed)
    assert v2.version == 2 and criteria_services.latest(session, lot.id).id == v2.id
    assert session.execute(select(AuditEntry).where(AuditEntry.action == "criteria.set")).scalars().all()

    before = audit_count(session)
    with pytest.raises(InvalidInput) as err:      # a bad body stores nothing
        criteria_services.set_criteria(octx, lot.code, {**CRITERIA, "price_weight": "45"})
    assert err.value.code == "criteria.total"
    stranger = actor_ctx(session, clock, make_user(ctx, "owner"))
    with pytest.raises(NotFound):
        criteria_services.set_criteria(stranger, lot.code, CRITERIA)
    with pytest.raises(Forbidden):
        criteria_services.set_criteria(actor_ctx(session, clock, make_user(ctx, "bidder")), lot.code, CRITERIA)
    clock.set(notice.deadline_at - timedelta(seconds=1))
    criteria_services.set_criteria(octx, lot.code, CRITERIA)          # one second before: still open (v3)
    clock.set(notice.deadline_at)
    count = session.execute(select(func.count()).select_from(LotCriteria)).scalar_one()
    audits = audit_count(session)
    with pytest.raises(Conflict) as err:
        criteria_services.set_criteria(octx, lot.code, changed)
    assert err.value.code == "criteria.locked"
    assert session.execute(select(func.count()).select_from(LotCriteria)).scalar_one() == count == 3
    assert audit_count(session) == audits and audits > before


# --- check-in and sheets ----------------------------------------------------------------------------
def test_scoring_needs_check_in_and_drafts_autosave(ctx, session):
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    b1 = ev.bidders[0]
    with pytest.raises(Conflict) as err:
        scoring.save_draft(a.ctx, ev.code, b1.id, {"scores": {"T1": "40"}})
    assert err.value.code == "evaluation.check_in_first"
    check_in(ev, a)
    d1 = scoring.save_draft(a.ctx, ev.code, b1.id, {"scores": {"T1": "40"}})
    assert d1.status == "draft" and d1.scores == {"T1": "40"} and d1.revision == 1
    d2 = scoring.save_draft(a.ctx, ev.code, b1.id, {"scores": {"T1": "38"}, "comments": {"T1": "略有不足"}},
                            revision=1)
    assert d2.id == d1.id and d2.revision == 2
    with pytest.raises(Conflict) as err:           # an older tab's autosave is refused
        scoring.save_draft(a.ctx, ev.code, b1.id, {"scores": {"T1": "30"}}, revision=1)
    assert err.value.code == "evaluation.stale_draft"
    with pytest.raises(Conflict) as err:
        scoring.declare(a.ctx, ev.code, b1.id, conflict=False)
    assert err.value.code == "evaluation.already_declared"


@pytest.mark.parametrize("raw, code, status", [
    ({"scores": {"T1": "41", "C1": "20"}, "comments": {"T1": "x"}}, "evaluation.score_out_of_range", 422),
    ({"scores": {"T1": "35", "C1": "20"}}, "evaluation.comment_required", 422),
    ({"scores": {"T1": "40"}}, "evaluation.score_missing", 422),
    ({"decision": "reject", "reject_code": "nope"}, "evaluation.reject_reason", 422),
])
def test_bad_sheets_change_nothing(ctx, session, raw, code, status):
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    check_in(ev, a)
    scoring.save_draft(a.ctx, ev.code, ev.bidders[0].id, {"scores": {"T1": "40"}})
    before = snapshot(session)
    calls = [lambda: scoring.submit_sheet(a.ctx, ev.code, ev.bidders[0].id, raw)]
    if code != "evaluation.score_missing":   # a draft may be incomplete, never out of range
        calls.append(lambda: scoring.save_draft(a.ctx, ev.code, ev.bidders[0].id, raw))
    for call in calls:
        with pytest.raises(DomainError) as err:
            call()
        assert err.value.code == code and err.value.status == status
    assert snapshot(session) == before


def test_submit_locks_and_a_second_submission_is_a_conflict(ctx, session):
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    check_in(ev, a)
    b = ev.bidders[0]
    row = scoring.submit_sheet(a.ctx, ev.code, b.id, sheet("36", "18"))
    assert row.status == "submitted" and row.submitted_at is not None and row.scores == {"T1": "36", "C1": "18"}
    before = snapshot(session)
    for call in (lambda: scoring.submit_sheet(a.ctx, ev.code, b.id, sheet("40", "20")),
                 lambda: scoring.submit_sheet(a.ctx, ev.code, b.id),
                 lambda: scoring.save_draft(a.ctx, ev.code, b.id, sheet("40", "20"))):
        with pytest.raises(Conflict) as err:
            call()
        assert err.value.code == "evaluation.sheet_locked" and err.value.status == 409
    assert snapshot(session) == before
    # the saved draft can be submitted as it stands
    scoring.save_draft(a.ctx, ev.code, ev.bidders[1].id, {"decision": "reject", "reject_code": "R1"})
    assert scoring.submit_sheet(a.ctx, ev.code, ev.bidders[1].id).decision == "reject"


def test_outsiders_and_a_lot_not_in_evaluation(ctx, session, clock):
    ev = evaluation_lot(ctx, status="opened")
    a = ev.members[0]
    with pytest.raises(Conflict) as err:
        scoring.declare(a.ctx, ev.code, ev.bidders[0].id, conflict=False)
    assert err.value.code == "evaluation.not_in_progress"
    other_expert = actor_ctx(session, clock, make_user(ctx, "expert"))
    with pytest.raises(NotFound):
        scoring.room(other_expert, ev.code)
    with pytest.raises(Forbidden):
        scoring.room(actor_ctx(session, clock, make_user(ctx, "bidder")), ev.code)


# --- secrecy --------------------------------------------------------------------------------------
def test_members_see_only_their_own_sheets_until_everyone_submitted(ctx, session):
    ev = evaluation_lot(ctx)
    a, b, c = ev.members
    fill_and_submit(ev, members=[a, b])
    own = scoring.read_sheet(a.ctx, ev.code, a.member.id, ev.bidders[0].id)
    assert own.member_id == a.member.id
    with pytest.raises(NotFound):
        scoring.read_sheet(a.ctx, ev.code, b.member.id, ev.bidders[0].id)
    with pytest.raises(Conflict) as err:
        scoring.lot_summary(a.ctx, ev.code)
    assert err.value.code == "evaluation.summary_not_ready"
    with pytest.raises(Conflict):
        scoring.lot_summary(ev.owner_ctx, ev.code)
    _, _, rows, done = scoring.progress(ev.owner_ctx, ev.code)
    assert not done and [r.submitted for r in rows] == [3, 3, 0]
    assert all(set(vars(r)) == {"member_id", "name", "role", "declared", "conflicts", "submitted", "expected"}
               for r in rows)   # counts only: no score anywhere in the progress
    fill_and_submit(ev, members=[c])
    assert scoring.read_sheet(a.ctx, ev.code, b.member.id, ev.bidders[0].id).member_id == b.member.id
    summary, _ = scoring.lot_summary(ev.owner_ctx, ev.code)
    assert len(summary.rows) == 3
    with pytest.raises(NotFound):      # another owner: the 404 of an unknown lot
        scoring.lot_summary(actor_ctx(session, ev.owner_ctx.clock, make_user(ctx, "owner")), ev.code)


def test_summary_ranks_and_excludes_the_rejected(ctx, session):
    ev = evaluation_lot(ctx, prices=(800_000_00, 900_000_00, 850_000_00, 700_000_00))
    b1, b2, b3, b4 = ev.bidders
    reject = {"decision": "reject", "reject_code": "R1", "reject_note": "资格证书缺失"}
    fill_and_submit(ev, {b1.id: ("35", "15"), b2.id: ("40", "20"), b3.id: ("30", "10"),
                         b4.id: {0: reject, 1: reject, 2: ("30", "10")}})
    summary, _ = scoring.lot_summary(ev.members[0].ctx, ev.code)
    rows = {r.org_id: r for r in summary.rows}
    assert rows[b4.id].rejected and rows[b4.id].rank is None
    assert rows[b2.id].price_score == Decimal("35.56") and rows[b2.id].average == Decimal("95.56")
    assert summary.candidates == (b2.id, b1.id, b3.id)


def test_events_during_evaluation_carry_no_scores(ctx, session):
    ev = evaluation_lot(ctx)
    fill_and_submit(ev, {ev.bidders[0].id: ("33.75", "12.25")})
    events = session.execute(select(LiveEvent).where(LiveEvent.channel == scoring.channel(ev.code))).scalars().all()
    assert {e.name for e in events} >= {"evaluation:checked_in", "evaluation:sheet_submitted",
                                        "evaluation:all_submitted"}
    allowed = {"stage", "submitted", "expected", "signed"}
    for e in events:
        assert set(e.data) <= allowed, e.data
        assert e.audience == "staff"
        assert "33.75" not in str(e.data) and "12.25" not in str(e.data)


def test_a_declared_conflict_voids_the_sheets_and_replaces_the_member(ctx, session):
    from trading.evaluation.panels import PanelMember
    from trading.evaluation.scoring import queries

    ev = evaluation_lot(ctx)
    a = ev.members[0]
    scoring.declare(a.ctx, ev.code, ev.bidders[0].id, conflict=False)
    with pytest.raises(InvalidInput) as err:        # a conflict needs the relation described
        scoring.declare(a.ctx, ev.code, ev.bidders[1].id, conflict=True)
    assert err.value.code == "evaluation.conflict_note_required"
    scoring.declare(a.ctx, ev.code, ev.bidders[1].id, conflict=True, note="曾在该公司任职")
    old = session.get(PanelMember, a.member.id)
    assert old.status == "replaced" and old.replaced_by_id is not None
    active = queries.active_members(session, ev.panel.id)
    assert a.member.id not in {m.id for m in active} and old.replaced_by_id in {m.id for m in active}
    assert len(active) == 3
    with pytest.raises(NotFound):                    # the replaced member has no seat any more
        scoring.room(a.ctx, ev.code)
    actions = [e.action for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
    assert "evaluation.conflict_declared" in actions and "panel.member_replaced" in actions


def test_a_conflict_found_after_scoring_voids_the_member_s_sheets(ctx, session):
    ev = evaluation_lot(ctx)
    a, b = ev.members[0], ev.members[1]
    check_in(ev, a)
    check_in(ev, b)
    scoring.submit_sheet(a.ctx, ev.code, ev.bidders[0].id, sheet("35", "15"))
    scoring.save_draft(a.ctx, ev.code, ev.bidders[1].id, {"scores": {"T1": "40"}})
    scoring.submit_sheet(b.ctx, ev.code, ev.bidders[0].id, sheet("30", "15"))
    with pytest.raises(Conflict):                   # "no conflict" twice is refused …
        scoring.declare(a.ctx, ev.code, ev.bidders[2].id, conflict=False)
    # … but a relation that comes to light later is declared and voids the member's sheets
    scoring.declare(a.ctx, ev.code, ev.bidders[2].id, conflict=True, note="发现配偶在该公司任职")
    mine = session.execute(select(ScoreSheet).where(ScoreSheet.member_id == a.member.id)).scalars().all()
    assert len(mine) == 2 and {s.status for s in mine} == {"void"} and all(s.voided_at for s in mine)
    assert mine[0].scores == {"T1": "35", "C1": "15"}         # kept, not deleted
    theirs = session.execute(select(ScoreSheet).where(ScoreSheet.member_id == b.member.id)).scalars().all()
    assert [s.status for s in theirs] == ["submitted"]
    done, expected = scoring.submission_counts(ctx, ev.trade, ev.panel)
    assert (done, expected) == (1, 9)               # the new member's three sheets are still to come


def test_an_inquiry_is_judged_on_responsiveness_then_price_through_the_report(ctx, session, clock):
    from tests.factories.accounts import totp_code
    from trading.evaluation.criteria.rules import template_body
    from trading.evaluation.reports import services as reports

    ev = evaluation_lot(ctx, procedure="inquiry", criteria=template_body("lowest_price"),
                        prices=(300_000_00, 280_000_00, 310_000_00, 260_000_00))
    b1, b2, b3, b4 = ev.bidders
    reject = {"decision": "reject", "reject_code": "R4", "reject_note": "技术参数不满足"}
    fill_and_submit(ev, {b.id: {"decision": "score"} for b in ev.bidders}
                    | {b4.id: {0: reject, 1: reject, 2: {"decision": "score"}}})
    summary, _ = scoring.lot_summary(ev.members[0].ctx, ev.code)
    assert summary.candidates == (b2.id, b1.id, b3.id)      # the cheapest (b4) is not responsive
    assert all(r.average is None for r in summary.rows)
    report = reports.generate_report(ev.members[0].ctx, ev.code)
    for m in ev.members:
        reports.sign_report(m.ctx, ev.code, "agree", code=totp_code(m.user, clock))
    assert report.status == "final" and ev.trade.status == "reported"


def test_negotiation_prices_come_from_the_final_offers(ctx, session, monkeypatch):
    from trading.evaluation.scoring import queries
    from trading.procedures.negotiation import quotes

    ev = evaluation_lot(ctx)
    ev.trade.procedure = "negotiation"
    b1, b2, _b3 = ev.bidders
    monkeypatch.setattr(quotes, "final_prices", lambda s, lot_id: {b2.id: 700_000_00, b1.id: 650_000_00})
    assert [(b.org_id, b.price_fen) for b in queries.bidders(session, ev.trade)] == \
        sorted([(b1.id, 650_000_00), (b2.id, 700_000_00)])
    monkeypatch.setattr(queries, "FINAL_PRICES", (("trading.procedures.negotiation.nowhere", "final_prices"),
                                                  ("trading.procedures.negotiation.quotes", "no_such_function")))
    with pytest.raises(Conflict) as err:
        queries.bidders(session, ev.trade)
    assert err.value.code == "evaluation.final_prices_missing"


def test_the_audit_trail_names_sheets_by_digest_not_by_points(ctx, session):
    ev = evaluation_lot(ctx)
    a = ev.members[0]
    check_in(ev, a)
    scoring.save_draft(a.ctx, ev.code, ev.bidders[0].id, {"scores": {"T1": "33.75"}, "comments": {"T1": "方案偏弱"}})
    row = scoring.submit_sheet(a.ctx, ev.code, ev.bidders[0].id, sheet("33.75", "12.25"))
    bodies = [bytes(e.body).decode("utf-8") for e in session.execute(
        select(AuditEntry).where(AuditEntry.action.like("evaluation.sheet_%"))).scalars()]
    assert len(bodies) == 2 and all(row.sha256 in b or "revision" in b for b in bodies)
    assert not any("33.75" in b or "12.25" in b or "方案偏弱" in b for b in bodies)
