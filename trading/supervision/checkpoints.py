"""Offer deadlines in the audit log (design/audit.md stage 2: "offer deadline — committing the exact set
of sealed digests").

Nothing happens at a deadline: no request, so no milestone hook. `flask audit deadlines` (run by cron
every minute, like `flask audit checkpoint`) finds the lots whose deadline has passed and that are still
waiting for their opening (accepting or closed), writes for each one entry `audit.deadline_committed`
listing the sealed offers standing at the deadline (submission id, part, SHA-256 of the envelope, the
seq of its offer.submitted entry — replayed from the log itself) and signs a checkpoint (reason
"deadline") over the log including those entries. So the set is in the log and under a signed root
minutes after the deadline, before anyone can open anything. Why a scheduled command rather than the
opening ceremony's first step: the opening may start hours later, and the gap between deadline and
opening is exactly when a swapped envelope would matter. If cron was down, the opening's own
milestone (opening.opened lists every digest) still commits the set before decryption results exist.

Lives in supervision because it reads lots (procedures) and writes the audit log; audit imports no
domain package."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import String, and_, cast, exists, select

from trading.audit.checkpoints import make_checkpoint, sealed_digests
from trading.audit.cli import audit_cli
from trading.audit.models import AuditCheckpoint, AuditEntry
from trading.audit.services import record
from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.procedures.common.lots import LotStatus
from trading.procedures.common.models import LotTrade

ACTION = "audit.deadline_committed"


def lots_past_deadline(ctx: ServiceContext) -> list[LotTrade]:
    committed = exists().where(and_(AuditEntry.action == ACTION, AuditEntry.object_type == "lot",
                                    AuditEntry.object_id == cast(LotTrade.lot_id, String)))
    return list(ctx.session.execute(
        select(LotTrade).where(LotTrade.deadline_at.is_not(None), LotTrade.deadline_at <= ctx.now(),
                               LotTrade.status.in_((LotStatus.ACCEPTING, LotStatus.CLOSED)), ~committed)
        .order_by(LotTrade.deadline_at, LotTrade.lot_id)).scalars())


def commit_deadlines(ctx: ServiceContext) -> AuditCheckpoint | None:
    """One entry per lot past its deadline, then one signed checkpoint over them (None if none due)."""
    lots = lots_past_deadline(ctx)
    if not lots:
        return None
    for trade in lots:
        sealed = sealed_digests(ctx.session, trade.lot_id)
        record(ctx, ACTION, "lot", trade.lot_id, project_id=trade.project_id,
               payload={"lot_code": trade.lot_code, "deadline_at": rfc3339(trade.deadline_at),
                        "sealed": sealed, "count": len(sealed)})
    return make_checkpoint(ctx, "deadline", detail={"lots": [t.lot_code for t in lots]})


@audit_cli.command("deadlines", help="Commit the sealed offers of every lot past its deadline and sign a "
                                     "checkpoint over them. Run it every minute from cron.")
@with_appcontext
def deadlines_command():
    ctx = ServiceContext(session=db.session, clock=current_app.extensions["clock"])
    cp = commit_deadlines(ctx)
    db.session.commit()
    click.echo("no lot reached its deadline" if cp is None else f"checkpoint {cp.size}: {cp.detail}")
