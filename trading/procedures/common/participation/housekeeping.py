"""Housekeeping of the upload staging area: the pieces of uploads that can never complete.

An upload is finished with (accepted, replaced or withdrawn), or abandoned once its lot's deadline has
passed (an unfinished transfer counts as withdrawn, 电子招标投标办法 Art. 27); its staged chunks are
then only disk space. Nothing in the database changes: the submission row and its audit entries stay
as they are, so this is safe to run at any time (`flask offers purge-staging`, e.g. nightly)."""

from __future__ import annotations

from sqlalchemy import select

from trading.core.blobs import get_store
from trading.core.context import ServiceContext

from ..lots import before_deadline
from ..models import LotTrade
from .models import Submission
from .rules import SubmissionStatus


def purge_staging(ctx: ServiceContext) -> list[str]:
    """Remove the staged pieces of every upload that can no longer complete; return their ids."""
    store = get_store()
    keys = store.staged_keys()
    if not keys:
        return []
    rows = dict(ctx.session.execute(select(Submission.submission_id, Submission)
                                    .where(Submission.submission_id.in_(keys))).all())
    now, removed = ctx.now(), []
    for key in keys:
        sub = rows.get(key)
        if sub is not None and sub.status == SubmissionStatus.UPLOADING:
            trade = ctx.session.get(LotTrade, sub.lot_id)
            if before_deadline(trade, now):
                continue  # still resumable
        store.stage_remove(key)
        removed.append(key)
    return removed
