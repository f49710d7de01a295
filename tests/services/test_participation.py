"""Registration (报名), tender documents and their download records, the bidder's own lot list, and the
secrecy of participant lists before the deadline (招标投标法 Art. 22)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.audit.models import AuditEntry
from trading.core.errors import Forbidden, NotFound, RuleViolation
from trading.procedures.common.participation import documents, queries, services
from trading.procedures.common.participation.models import DocumentDownload, Participation

ROLES = ("owner", "agency", "operator", "supervisor", "expert", "admin", "bidder")


@pytest.fixture
def lot(ctx):
    return sealed_lot(ctx)


def test_register_once_audited_then_the_same_registration(ctx, lot):
    b = bidder_with_key(ctx)
    part, created = services.register_for_lot(b.ctx, lot.code)
    assert created and part.status == "registered" and part.registered_at == ctx.now()
    again, created = services.register_for_lot(b.ctx, lot.code)
    assert again.id == part.id and not created
    actions = ctx.session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("participation.registered") == 1


@pytest.mark.parametrize("role", [r for r in ROLES if r != "bidder"])
def test_only_bidders_register(ctx, session, clock, lot, role):
    with pytest.raises(Forbidden):
        services.register_for_lot(actor_ctx(session, clock, make_user(ctx, role)), lot.code)


def test_registration_closes_at_the_deadline_and_unknown_lots_are_404(ctx, clock, lot):
    b = bidder_with_key(ctx)
    with pytest.raises(NotFound):
        services.register_for_lot(b.ctx, "SFX2099-NONE-01")
    clock.set(lot.deadline)
    with pytest.raises(RuleViolation) as err:
        services.register_for_lot(b.ctx, lot.code)
    assert err.value.code == "offer.deadline_passed"


def test_an_unregistered_bidder_cannot_start_an_upload(ctx, lot):
    b = bidder_with_key(ctx)
    with pytest.raises(RuleViolation) as err:
        services.start_submission(b.ctx, lot.code, "price")
    assert err.value.code == "offer.not_registered"


def test_registration_opens_the_deposit_sub_account_only_when_the_lot_asks_one(ctx):
    from trading.procedures.common.deposits.models import DepositAccount
    free, paid = sealed_lot(ctx, deposit_fen=0), sealed_lot(ctx, deposit_fen=20_000_00)
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, free.code)
    assert ctx.session.execute(select(DepositAccount)).first() is None
    part, _ = services.register_for_lot(b.ctx, paid.code)
    account = ctx.session.execute(select(DepositAccount)).scalar_one()
    assert (account.participation_id, account.required_fen) == (part.id, 20_000_00)


def test_entries_that_reveal_participation_are_embargoed_until_the_deadline(ctx, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    started = services.start_submission(b.ctx, lot.code, "price")

    def entries():
        return sorted(ctx.session.execute(
            select(AuditEntry.action, AuditEntry.embargo_lot_id)
            .where(AuditEntry.action.in_(["participation.registered", "offer.upload_started"]))).all())

    # issuing a submission id stores nothing; the upload's row and entry come with its manifest
    assert entries() == [("participation.registered", lot.trade.lot_id)]
    manifest, _ = seal_for(lot, b, "price", started.submission_id, price_sheet())
    services.put_manifest(b.ctx, started.submission_id, manifest_bytes(manifest))
    assert entries() == [("offer.upload_started", lot.trade.lot_id), ("participation.registered", lot.trade.lot_id)]


@pytest.mark.parametrize("with_bidders", [False, True])
def test_before_the_deadline_every_role_gets_the_same_403_whatever_the_lot_holds(ctx, session, clock, with_bidders):
    lot = sealed_lot(ctx)
    if with_bidders:
        for _ in range(2):
            services.register_for_lot(bidder_with_key(ctx).ctx, lot.code)
    callers = [actor_ctx(session, clock, lot.owner)] + [actor_ctx(session, clock, make_user(ctx, r)) for r in ROLES]
    for caller in callers:
        for query in (queries.participants_after_deadline, queries.downloads_after_deadline):
            with pytest.raises(Forbidden) as err:
                query(caller, lot.code)
            assert err.value.code == "participation.sealed_until_deadline"
    clock.set(lot.deadline - timedelta(microseconds=1))
    with pytest.raises(Forbidden):
        queries.participants_after_deadline(actor_ctx(session, clock, lot.owner), lot.code)


def test_after_the_deadline_the_owner_side_centre_and_supervisors_read_the_list(ctx, session, clock, lot):
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    clock.set(lot.deadline)
    rows = queries.participants_after_deadline(actor_ctx(session, clock, lot.owner), lot.code)
    assert [r.credit_code for r in rows] == [b.org.credit_code]
    for role in ("operator", "supervisor"):
        assert len(queries.participants_after_deadline(actor_ctx(session, clock, make_user(ctx, role)), lot.code)) == 1
    for role in ("owner", "bidder", "expert", "admin"):  # another owner's org, bidders, experts, admins
        with pytest.raises(Forbidden):
            queries.participants_after_deadline(actor_ctx(session, clock, make_user(ctx, role)), lot.code)


def test_documents_are_published_by_the_owner_and_obtained_by_registered_bidders(ctx, session, clock, lot):
    owner_ctx = actor_ctx(session, clock, lot.owner)
    doc = documents.upload_tender_document(owner_ctx, lot.code, title="招标文件", filename="zbwj.pdf",
                                           content_type="application/pdf", stream=io.BytesIO(b"%PDF-1.7 test"))
    assert len(doc.sha256) == 64 and doc.size == 13
    b = bidder_with_key(ctx)
    with pytest.raises(Forbidden) as err:
        documents.obtain_document(b.ctx, doc.id)
    assert err.value.code == "document.register_first"
    services.register_for_lot(b.ctx, lot.code)
    b.ctx.ip = "10.0.0.8"
    got, f = documents.obtain_document(b.ctx, doc.id)
    with f:
        assert f.read() == b"%PDF-1.7 test"
    row = session.execute(select(DocumentDownload)).scalar_one()
    assert (row.org_id, row.user_id, row.ip, row.at) == (b.org.id, b.user.id, "10.0.0.8", ctx.now())
    for role in ("expert", "admin"):
        with pytest.raises(NotFound):
            documents.obtain_document(actor_ctx(session, clock, make_user(ctx, role)), doc.id)
    with pytest.raises(Forbidden):
        documents.upload_tender_document(b.ctx, lot.code, title="x", filename="x", content_type="",
                                         stream=io.BytesIO(b"x"))
    # the download record is no audit entry (supervisors read the trail before the deadline)
    assert "document.downloaded" not in session.execute(select(AuditEntry.action)).scalars().all()
    clock.set(lot.deadline)
    rows = queries.downloads_after_deadline(owner_ctx, lot.code)
    assert [(r["org"], r["ip"]) for r in rows] == [(b.org.name, "10.0.0.8")]


def test_my_lots_shows_only_my_organisation_with_stage_and_next_deadline(ctx, clock, lot):
    b, rival = bidder_with_key(ctx), bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    assert queries.my_lots(rival.ctx) == []
    rows = queries.my_lots(b.ctx)
    assert len(rows) == 1 and rows[0].lot_code == lot.code
    assert rows[0].stage.code == "registered" and rows[0].stage.next_step == "submit"
    assert rows[0].stage.next_deadline == ("deadline", lot.deadline)
    clock.set(lot.deadline)
    assert queries.my_lots(b.ctx)[0].stage.code == "closed"
    view = queries.lot_view(rival.ctx, lot.code)
    assert view.participation is None and view.submissions == {"price": [], "documents": []}
    assert ctx.session.execute(select(Participation)).scalars().all()[0].bidder_org_id == b.org.id
