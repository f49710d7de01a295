"""Purging the upload staging area: pieces of uploads that can no longer complete go, an upload that
can still be resumed before the deadline keeps its pieces, and the database is not touched."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.audit.models import AuditEntry
from trading.core.blobs import get_store
from trading.procedures.common.participation import completion, services
from trading.procedures.common.participation.housekeeping import purge_staging
from trading.procedures.common.participation.models import Submission


def _half_uploaded(lot, b):
    """A sealed price part whose manifest and (only) chunk are stored but never completed."""
    sub = services.start_submission(b.ctx, lot.code, "price")
    manifest, payload = seal_for(lot, b, "price", sub.submission_id, price_sheet())
    services.put_manifest(b.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_chunk(b.ctx, sub.submission_id, 0, payload)
    return services.own_submission(b.ctx, sub.submission_id)


def test_only_uploads_that_cannot_complete_lose_their_pieces(ctx, session, clock):
    lot = sealed_lot(ctx)
    a, b = bidder_with_key(ctx), bidder_with_key(ctx)
    for bidder in (a, b):
        services.register_for_lot(bidder.ctx, lot.code)
    resumable = _half_uploaded(lot, a)
    withdrawn = _half_uploaded(lot, b)
    completion.complete_submission(b.ctx, withdrawn.submission_id)
    completion.withdraw_submission(b.ctx, withdrawn.submission_id)
    store = get_store()
    store.stage_put(withdrawn.submission_id, "0", b"left behind")  # as if the after-commit cleanup never ran
    store.stage_put("no-such-upload", "0", b"orphan")
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))

    removed = purge_staging(ctx)

    assert sorted(removed) == sorted([withdrawn.submission_id, "no-such-upload"])
    assert store.staged_keys() == [resumable.submission_id]
    # at the deadline the unfinished upload is abandoned (Art. 27): its pieces go too
    clock.set(lot.deadline)
    assert purge_staging(ctx) == [resumable.submission_id]
    assert store.staged_keys() == []
    assert session.get(Submission, resumable.id).status == "uploading"  # the record is untouched
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_the_command_reports_what_it_removed(app, ctx):
    get_store().stage_put("abandoned-upload", "0", b"x")
    result = app.test_cli_runner().invoke(args=["offers", "purge-staging"])
    assert result.exit_code == 0 and "1 upload(s)" in result.output
    assert get_store().staged_keys() == []
