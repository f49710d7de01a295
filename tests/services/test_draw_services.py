"""Expert draw services: request (commitment) → run (reveal, panel sealed) → verify; replacement;
refusals write nothing; secrecy of names until start_panel."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.experts import drawable_lot, make_expert, make_experts, operator_ctx
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, Forbidden, RuleViolation
from trading.evaluation.draw import services as draw
from trading.evaluation.draw.models import ExpertDraw
from trading.evaluation.experts import services as pool
from trading.evaluation.panels import Panel


def _entries(session, action):
    rows = session.execute(select(AuditEntry.body).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()
    return [json.loads(bytes(b)) for b in rows]


def _count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_request_commits_the_seed_hash_and_run_reveals_it(ctx, session):
    owner, trade, bidders = drawable_lot(ctx, bidders=3)
    make_experts(ctx, 8)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=5, specialties="GC01", experts_required=5)
    (req,) = _entries(session, "expert_draw.requested")
    assert req["payload"]["seed_sha256"] == hashlib.sha256(d.seed).hexdigest()
    assert d.seed.hex() not in json.dumps(req)
    assert sorted(req["payload"]["request"]["avoid_org_ids"]) == sorted({owner.org_id, *(b.id for b in bidders)})
    panel = draw.run_draw(op, d.id)
    (run,) = _entries(session, "expert_draw.run")
    assert run["payload"]["seed"] == d.seed.hex() and run["seq"] > req["seq"]
    assert panel.status == "sealed" and len(draw.active_members(session, trade.lot_id)) == 5
    assert run["payload"]["result"] == [m.expert_id for m in draw.active_members(session, trade.lot_id)]
    v = draw.verify_draw(session, d.id)
    assert v.ok, v.problems


def _relation(ctx, expert, org, kind="shareholding", **kw):
    return pool.declare_relation(operator_ctx(ctx), expert.id, org_id=org.id, kind=kind, **kw)


def test_avoidance_through_the_database(ctx, session):
    from datetime import date
    owner, trade, bidders = drawable_lot(ctx, bidders=2)
    plain = make_experts(ctx, 5)
    make_expert(ctx, employer=owner.organisation)
    make_expert(ctx, employer=bidders[0])
    shareholder = make_expert(ctx)
    _relation(ctx, shareholder, bidders[1])
    old_job = make_expert(ctx)              # left the bidder more than 3 years before: eligible
    _relation(ctx, old_job, bidders[0], "employment", from_on=date(2010, 1, 1), to_on=date(2022, 1, 1))
    recent_job = make_expert(ctx)
    _relation(ctx, recent_job, bidders[0], "employment", from_on=date(2010, 1, 1), to_on=date(2025, 1, 1))
    away = make_expert(ctx)
    from trading.core.clock import to_beijing
    today = to_beijing(ctx.now()).date()
    pool.declare_unavailable(operator_ctx(ctx), away.id, today, today)
    suspended = make_expert(ctx)
    pool.set_expert_status(operator_ctx(ctx), suspended.id, "suspended", reason="违规")
    other_field = make_expert(ctx, specialties=("SZ02",))
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=7, specialties=["GC01"], experts_required=6)
    draw.run_draw(op, d.id)
    (run,) = _entries(session, "expert_draw.run")
    assert run["payload"]["excluded"] == {"employer": 2, "relation": 2, "status": 1, "unavailable": 1}
    assert run["payload"]["pool_size"] == 12 and run["payload"]["eligible_count"] == 6
    assert sorted(run["payload"]["result"]) == sorted([e.id for e in plain] + [old_job.id])
    assert other_field.id not in run["payload"]["result"]


def test_a_conflicted_expert_is_never_drawn_over_many_draws(ctx, session):
    owner, trade, bidders = drawable_lot(ctx, bidders=1)
    make_experts(ctx, 5)
    conflicted = make_expert(ctx)
    _relation(ctx, conflicted, bidders[0], "relative")
    op = operator_ctx(ctx)
    for _ in range(25):
        nested = session.begin_nested()
        d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
        draw.run_draw(op, d.id)
        assert conflicted.id not in d.result
        nested.rollback()


def test_too_few_eligible_experts_writes_nothing(ctx, session):
    owner, trade, bidders = drawable_lot(ctx, bidders=1)
    make_experts(ctx, 2)
    make_expert(ctx, employer=bidders[0])
    op = operator_ctx(ctx)
    before = (_count(session, AuditEntry), _count(session, ExpertDraw), _count(session, Panel))
    with pytest.raises(RuleViolation) as exc:
        draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    assert exc.value.code == "draw.too_few_experts" and exc.value.details == {"needed": 3, "available": 2}
    assert (_count(session, AuditEntry), _count(session, ExpertDraw), _count(session, Panel)) == before
    # the pool is frozen at the request: a change afterwards does not steer the run
    extra = make_expert(ctx)
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    pool.set_expert_status(op, extra.id, "blacklisted", reason="失信")
    draw.run_draw(op, d.id)
    assert extra.id in d.result and draw.verify_draw(session, d.id).ok


def test_a_snapshot_edited_before_the_run_is_refused(ctx, session):
    import zlib
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    make_experts(ctx, 4)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    snap, eligible = zlib.decompress(d.snapshot), list(d.eligible_ids)
    before = (_count(session, AuditEntry), _count(session, Panel))
    for edit in (lambda: setattr(d, "snapshot", zlib.compress(snap.replace(b'"active"', b'"suspended"', 1))),
                 lambda: setattr(d, "eligible_ids", eligible[:-1])):
        d.snapshot, d.eligible_ids = zlib.compress(snap), eligible
        edit()
        with pytest.raises(Conflict) as exc:
            draw.run_draw(op, d.id)
        assert exc.value.code == "draw.snapshot_changed"
        assert (_count(session, AuditEntry), _count(session, Panel)) == before


@pytest.mark.parametrize("size, experts, code", [(4, 4, "draw.size_rule"), (1, 1, "draw.size_rule"),
                                                  (5, 3, "draw.experts_share"), (5, 6, "draw.experts_share")])
def test_panel_sizes(ctx, session, size, experts, code):
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    with pytest.raises(RuleViolation) as exc:
        draw.request_draw(operator_ctx(ctx), trade.lot_code, size=size, specialties="GC01", experts_required=experts)
    assert exc.value.code == code


def test_refusals_before_the_deadline_twice_and_for_other_roles(ctx, session):
    from tests.factories.deposits import deposit_lot
    _, early = deposit_lot(ctx, deposit_yuan=None)
    make_experts(ctx, 4)
    op = operator_ctx(ctx)
    with pytest.raises(Conflict):
        draw.request_draw(op, early.lot_code, size=3, specialties="GC01", experts_required=3)
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    with pytest.raises(Forbidden):
        draw.request_draw(actor_ctx(session, ctx.clock, owner), trade.lot_code, size=3, specialties="GC01",
                          experts_required=3)
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    with pytest.raises(Conflict):
        draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    draw.run_draw(op, d.id)
    with pytest.raises(Conflict):
        draw.run_draw(op, d.id)
    with pytest.raises(Conflict):
        draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)


def test_frequency_cap_counts_this_owners_recent_panels(ctx, session):
    from trading.reference.services import update_setting
    admin = make_user(ctx, "admin")
    update_setting(actor_ctx(session, ctx.clock, admin), "draw.frequency_cap", 1)
    owner, first, _ = drawable_lot(ctx, bidders=1)
    experts = make_experts(ctx, 5)
    op = operator_ctx(ctx)
    d1 = draw.request_draw(op, first.lot_code, size=3, specialties="GC01", experts_required=3)
    draw.run_draw(op, d1.id)
    _, second, _ = drawable_lot(ctx, bidders=1, owner=owner)
    op = operator_ctx(ctx)
    with pytest.raises(RuleViolation):          # 3 of 5 sat on this owner's panel: 2 left
        draw.request_draw(op, second.lot_code, size=3, specialties="GC01", experts_required=3)
    _, other_owner_lot, _ = drawable_lot(ctx, bidders=1)
    d3 = draw.request_draw(op, other_owner_lot.lot_code, size=5, specialties="GC01", experts_required=5)
    assert sorted(draw.run_draw(op, d3.id) and d3.result) == sorted(e.id for e in experts)


def test_replacement_uses_a_new_committed_seed_and_excludes_every_earlier_member(ctx, session):
    owner, trade, _ = drawable_lot(ctx, bidders=2)
    make_experts(ctx, 5)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    draw.run_draw(op, d.id)
    seated = draw.active_members(session, trade.lot_id)
    out = seated[0]
    new = draw.replace_member(op, out.id, reason="声明与投标人存在利害关系")
    assert out.status == "replaced" and out.replaced_by_id == new.id
    assert new.expert_id not in {m.expert_id for m in seated}
    reqs, runs = _entries(session, "expert_draw.requested"), _entries(session, "expert_draw.run")
    assert len(reqs) == len(runs) == 2 and reqs[1]["seq"] < runs[1]["seq"]
    assert reqs[1]["payload"]["purpose"] == "replacement"
    assert set(reqs[1]["payload"]["request"]["exclude_expert_ids"]) == {m.expert_id for m in seated}
    assert runs[1]["payload"]["seed"] != runs[0]["payload"]["seed"]
    assert draw.verify_draw(session, reqs[1]["object"]["id"] and int(reqs[1]["object"]["id"])).ok
    # the replaced experts never return: after two replacements the pool of 5 is exhausted
    second = draw.replace_member(op, new.id, reason="缺席")
    with pytest.raises(RuleViolation):
        draw.replace_member(op, second.id, reason="缺席")
    assert {m.expert_id for m in draw.active_members(session, trade.lot_id)} & {out.expert_id, new.expert_id} == set()


def test_verify_reports_a_tampered_copy_of_the_audit_body(ctx, session):
    from trading.evaluation.draw.verification import check
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    make_experts(ctx, 9)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=5, specialties="GC01", experts_required=4)
    draw.run_draw(op, d.id)
    request_body, run_body, snap = draw.draw_entries(session, d.id)
    assert check(d.id, request_body, run_body, snap).ok
    forged = json.loads(json.dumps(run_body))
    forged["payload"]["seed"] = "11" * 32
    v = check(d.id, request_body, forged, snap)
    assert not v.ok and not v.checks["commitment"]
    forged = json.loads(json.dumps(run_body))
    forged["payload"]["result"][0], forged["payload"]["result"][1] = forged["payload"]["result"][1], forged["payload"]["result"][0]
    assert not check(d.id, request_body, forged, snap).checks["result"]
    # the stored snapshot edited behind the trail's back
    session.get(ExpertDraw, d.id).snapshot = __import__("zlib").compress(snap.replace(b'"active"', b'"blacklisted"', 1))
    v = draw.verify_draw(session, d.id)
    assert not v.ok and not v.checks["snapshot"]


def test_names_are_sealed_until_start_panel(ctx, session):
    from trading.evaluation.draw.panel_services import my_assignments, panel_view
    owner, trade, bidders = drawable_lot(ctx, bidders=1)
    experts = make_experts(ctx, 4)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    draw.run_draw(op, d.id)
    bidder_ctx = actor_ctx(session, ctx.clock, make_user(ctx, "bidder", org=bidders[0]))
    owner_ctx = actor_ctx(session, ctx.clock, owner)
    view = panel_view(op, trade.lot_code)
    assert (view.status, view.experts_seated, view.names) == ("sealed", 3, ())
    assert panel_view(owner_ctx, trade.lot_code) is None and panel_view(bidder_ctx, trade.lot_code) is None
    member = draw.active_members(session, trade.lot_id)[0]
    from trading.accounts.models import User
    expert_ctx = actor_ctx(session, ctx.clock, session.get(User, member.user_id))
    (mine,) = my_assignments(expert_ctx)
    assert mine.project_name is None and mine.lot_code is None and mine.evaluation_on == d.evaluation_on
    assert panel_view(expert_ctx, trade.lot_code) is None
    with pytest.raises(Forbidden):
        draw.start_panel(bidder_ctx, trade.lot_code)
    draw.start_panel(owner_ctx, trade.lot_code)
    names = {n for _, n, _ in panel_view(op, trade.lot_code).names}
    assert names == {e.name for e in experts if e.id in d.result}
    assert panel_view(owner_ctx, trade.lot_code) is None and panel_view(bidder_ctx, trade.lot_code) is None
    (mine,) = my_assignments(expert_ctx)
    assert mine.lot_code == trade.lot_code and mine.project_name
    assert len(panel_view(expert_ctx, trade.lot_code).names) == 3
    with pytest.raises(Conflict):
        draw.start_panel(op, trade.lot_code)


def test_start_needs_every_seat_including_the_buyer_rep(ctx, session):
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    make_experts(ctx, 4)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=2)
    draw.run_draw(op, d.id)
    with pytest.raises(Conflict) as exc:
        draw.start_panel(op, trade.lot_code)
    assert exc.value.code == "panel.incomplete"
    from trading.core.errors import InvalidInput
    with pytest.raises(InvalidInput):
        draw.add_buyer_rep(op, trade.lot_code, make_user(ctx, "owner").id)   # another owner's account
    rep = draw.add_buyer_rep(op, trade.lot_code, owner.id)
    assert rep.role == "buyer_rep" and rep.expert_id is None
    with pytest.raises(Conflict):
        draw.add_buyer_rep(op, trade.lot_code, owner.id)
    assert draw.start_panel(op, trade.lot_code).status == "active"
    assert len(draw.active_members(session, trade.lot_id)) == 3


def test_start_panel_moves_an_opened_selection_lot_to_evaluating(ctx, session):
    from tests.factories.stages import register_bidders, stage_lot
    lot = stage_lot(ctx, "selection", "opened")
    register_bidders(ctx, lot.trade, 3)
    make_experts(ctx, 6)
    op = operator_ctx(ctx)
    d = draw.request_draw(op, lot.code, size=5, specialties="GC01", experts_required=5)
    panel = draw.run_draw(op, d.id)
    assert lot.trade.status == "opened"
    draw.start_panel(actor_ctx(session, ctx.clock, lot.owner), lot.code)
    assert lot.trade.status == "evaluating"
    (moved,) = _entries(session, "lot.start_evaluation")
    assert moved["payload"]["detail"]["panel_id"] == panel.id and moved["actor"]["user"] == lot.owner.id


def test_another_owner_cannot_start_the_panel(ctx, session):
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    make_experts(ctx, 3)
    op = operator_ctx(ctx)
    draw.run_draw(op, draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3).id)
    from trading.core.errors import NotFound
    with pytest.raises(NotFound):
        draw.start_panel(actor_ctx(session, ctx.clock, make_user(ctx, "owner")), trade.lot_code)


def test_a_deactivated_account_and_an_unknown_avoid_org(ctx, session):
    from trading.accounts.services import deactivate_user
    from trading.core.errors import InvalidInput
    owner, trade, _ = drawable_lot(ctx, bidders=1)
    experts = make_experts(ctx, 4)
    deactivate_user(actor_ctx(session, ctx.clock, make_user(ctx, "admin")), experts[0].user_id)
    op = operator_ctx(ctx)
    with pytest.raises(InvalidInput):
        draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3, avoid_org_ids=[987654])
    d = draw.request_draw(op, trade.lot_code, size=3, specialties="GC01", experts_required=3)
    assert experts[0].id not in d.eligible_ids
    (req,) = _entries(session, "expert_draw.requested")
    assert req["payload"]["excluded"] == {"status": 1}
