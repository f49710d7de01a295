"""Expert draw services: request (commitment) → run (reveal, panel sealed) → verify; replacement;
refusals write nothing; secrecy of names until start_panel."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.experts import drawable_lot, make_expert, make_experts, operator_ctx
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, Forbidden, RuleViolation
from trading.evaluation.draw import services as draw
from trading.evaluation.draw.models import ExpertDraw
from trading.evaluation.experts import services as pool
from trading.evaluation.panels import Panel, PanelMember


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
