"""The supervisor's project timeline (全过程留痕) assembled from the audit trail: chain order, who
and from which address, entry hashes, notice and document versions with their SHA-256, and nothing
about bidders before the lot's deadline (not even how many)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.custodians import ensure_custodians
from tests.factories.deposits import deposit_lot
from tests.factories.journeys import open_by_custodians, registered_bidders, submit_price
from trading.audit.models import AuditEntry
from trading.audit.services import verify
from trading.core.errors import Forbidden, NotFound
from trading.procedures.common.models import Notice
from trading.procedures.common.participation import documents
from trading.projects.models import Project
from trading.supervision import timeline as timelines

HIDDEN_BEFORE_DEADLINE = {"participation.registered", "deposit.account_opened", "offer.submitted",
                          "offer.upload_started"}


@pytest.fixture()
def world(session, clock, ctx):
    ensure_custodians(ctx)
    owner, trade = deposit_lot(ctx, procedure="selection", deposit_yuan=10_000)
    octx = actor_ctx(session, clock, owner, ip="203.0.113.7")
    for body in (b"%PDF first", b"%PDF second, corrected"):
        documents.upload_tender_document(octx, trade.lot_code, title="比选文件", filename="bxwj.pdf",
                                         content_type="application/pdf", stream=io.BytesIO(body))
    bidders = registered_bidders(ctx, trade.lot_code, 3)
    for b, price in zip(bidders, (800_000_00, 810_000_00, 820_000_00), strict=True):
        submit_price(b, trade.lot_code, price)
    sup = make_user(ctx, "supervisor", totp=True)
    project = session.get(Project, trade.project_id)
    return {"trade": trade, "owner": owner, "project": project, "sup": actor_ctx(session, clock, sup, ip="198.51.100.9")}


def test_rows_follow_the_chain_with_actor_ip_hash_and_versions(session, world):
    tl = timelines.project_timeline(world["sup"], world["project"])
    seqs = [r.seq for r in tl.rows]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    stored = {e.seq: e for e in session.execute(select(AuditEntry).where(
        AuditEntry.project_id == world["project"].id)).scalars()}
    for r in tl.rows:
        assert r.entry_hash == bytes(stored[r.seq].entry_hash).hex()
        assert r.at == stored[r.seq].created_at
    assert verify(session).ok

    docs = [r for r in tl.rows if r.action == "document.published"]
    assert [d.doc.version for d in docs] == [1, 2]
    assert all(d.ip == "203.0.113.7" and d.actor_username == world["owner"].username for d in docs)
    assert all(d.org_name and d.org_id == world["owner"].org_id for d in docs)
    assert docs[0].doc.sha256 != docs[1].doc.sha256 and len(docs[0].doc.sha256) == 64
    assert docs[0].lot_code == world["trade"].lot_code

    notice = session.execute(select(Notice).where(Notice.project_id == world["project"].id)).scalar_one()
    published = next(r for r in tl.rows if r.action == "notice.published")
    assert published.doc.kind == "notice" and published.doc.id == notice.id and published.doc.version == 1
    assert published.doc.sha256 == notice.body_sha256
    assert published.seq > next(r for r in tl.rows if r.action == "project.registered").seq


def test_before_the_deadline_no_bidder_step_shows_and_nothing_counts_them(session, clock, ctx, world):
    before = timelines.project_timeline(world["sup"], world["project"])
    assert not HIDDEN_BEFORE_DEADLINE & {r.action for r in before.rows}
    assert before.next_after is None

    clock.set(world["trade"].deadline_at + timedelta(minutes=1))
    after = timelines.project_timeline(world["sup"], world["project"])
    actions = [r.action for r in after.rows]
    assert actions.count("participation.registered") == 3 and actions.count("offer.submitted") == 3
    submitted = next(r for r in after.rows if r.action == "offer.submitted")
    assert any(k == "payload_sha256" for k, _ in submitted.digests)

    open_by_custodians(ctx, world["trade"].lot_code)
    opened = timelines.project_timeline(world["sup"], world["project"])
    record = next(r for r in opened.rows if r.action == "opening.record_published")
    assert record.doc.kind == "opening_record" and len(record.doc.sha256) == 64


def test_pages_continue_after_the_last_seq(world):
    first = timelines.project_timeline(world["sup"], world["project"], limit=5)
    assert len(first.rows) == 5 and first.next_after == first.rows[-1].seq
    rest = timelines.project_timeline(world["sup"], world["project"], after_seq=first.next_after)
    assert rest.rows[0].seq > first.next_after
    full = timelines.project_timeline(world["sup"], world["project"])
    assert [r.seq for r in first.rows + rest.rows] == [r.seq for r in full.rows]


def test_found_by_trade_code_or_number_and_only_for_supervisors(session, clock, world):
    project = world["project"]
    assert timelines.find_project(world["sup"], project.trade_code).id == project.id
    assert timelines.find_project(world["sup"], str(project.id)).id == project.id
    with pytest.raises(NotFound):
        timelines.find_project(world["sup"], "SFX2099-GC-9999")
    rows, _ = timelines.search_projects(world["sup"], project.trade_code[-4:])
    assert [p.id for p, _owner in rows] == [project.id]
    owner_ctx = actor_ctx(session, clock, world["owner"])
    with pytest.raises(Forbidden):
        timelines.project_timeline(owner_ctx, project)
    with pytest.raises(Forbidden):
        timelines.find_project(owner_ctx, project.trade_code)
