"""The evaluator: reads the audit trail from a stored cursor, turns each relevant entry into checks
(which lot, which facts), gathers the facts from the domain tables, runs the pure rules and raises
what they find (services.raise_finding, idempotent per rule + subject).

Two callers, one code path:
* the after-commit hook (below): a transaction whose `record(...)` calls appended a watched action
  (audit.services notes their seqs in O(1), like its milestone mark) is followed, once committed, by
  an evaluation in a fresh session and transaction. ALERTS_ON_COMMIT chooses where it runs:
  "background" (the default outside tests) wakes one evaluator thread per process, which works from
  the cursor until nothing is left — no request waits for it, and a burst of offers is evaluated in
  a few passes instead of one pass per request (measured with the upload benchmark: the inline
  evaluation cost each upload about a third of its CPU); "inline" (or True) evaluates in the
  request, before the response (tests that look at the alert right after a request); False: off;
* `flask alerts sweep` (cron): the same evaluation from the cursor up to the head, so an entry
  whose hook never ran (a worker killed between the commit and the hook, a hook that failed, a
  transaction made without an app) is evaluated late rather than never.

Evaluators serialise on the cursor row (never on the audit head for longer than an alert's own
append), and the cursor only moves forward past entries that were evaluated in the same
transaction as the alerts they raised."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict

from sqlalchemy import event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from trading.audit import services as audit_services
from trading.audit.models import AuditEntry, AuditHead
from trading.core.context import ServiceContext
from trading.evaluation.reports.models import EvaluationReport
from trading.procedures.common.deposits.models import DepositAccount, DepositEntry
from trading.procedures.common.models import LotTrade
from trading.reference.settings import catalogue, get_setting

from . import facts
from .models import AlertCursor
from .services import announce_released, raise_finding

log = logging.getLogger(__name__)

#: audit action → the check it calls for
WATCH: dict[str, str] = {
    "participation.registered": "registration", "offer.upload_started": "acts", "offer.submitted": "offer",
    "opening.checked_in": "acts", "deposit.statement_imported": "deposits",
    "deposit.unmatched_assigned": "deposits", "opening.opened": "opened", "evaluation.report_final": "evaluation",
    "award.determined": "award", "award.reawarded": "award", "notice.published": "notice", "lot.redated": "redated",
    "offer.withdrawn": "withdrawal", "award.candidate_passed": "passed",
}
BATCH = 2000
_CURSOR = AlertCursor.__table__

audit_services.WATCHED_ACTIONS.update(WATCH)


def _settings(ctx: ServiceContext) -> dict[str, int]:
    return {code: get_setting(ctx, code) for code in catalogue() if code.startswith("alerts.")}


def _lock_cursor(session) -> tuple[AlertCursor, int]:
    """The cursor row, locked until the commit (evaluators take turns), and the audit head's next seq,
    in one round trip; the row is made on first use."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The commit need not wait for its WAL flush: a crash may lose the last evaluation's cursor
        # move and alerts together, and the sweep then evaluates those entries again (idempotent).
        session.execute(text("SET LOCAL synchronous_commit TO off"))
    if dialect == "sqlite":  # the writer lock first, as the audit append does
        session.execute(update(_CURSOR).where(_CURSOR.c.id == 1).values(next_seq=_CURSOR.c.next_seq))
    stmt = (select(AlertCursor, select(AuditHead.next_seq).where(AuditHead.id == 1).scalar_subquery())
            .where(AlertCursor.id == 1))
    if dialect != "sqlite":
        stmt = stmt.with_for_update(of=AlertCursor)
    row = session.execute(stmt).one_or_none()
    if row is None:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_CURSOR)
        session.execute(ins.values(id=1, next_seq=0).on_conflict_do_nothing())
        row = session.execute(stmt).one()
    return row[0], row[1] or 0


def evaluate(ctx: ServiceContext, *, limit: int = BATCH, backlog_to_sweep: bool = False) -> tuple[int, int]:
    """Evaluate the watched entries after the cursor (up to `limit` seqs); (entries evaluated,
    alerts raised). The caller commits. backlog_to_sweep (the hook): when more than `limit` entries
    wait, do nothing — a request never pays for a backlog; the sweep works through it."""
    session = ctx.session
    cursor, head = _lock_cursor(session)
    start, stop = cursor.next_seq, min(head, cursor.next_seq + limit)
    if start >= stop or (backlog_to_sweep and head - start > limit):
        return 0, 0
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.action, AuditEntry.object_id, AuditEntry.project_id,
               AuditEntry.embargo_lot_id, AuditEntry.body)
        .where(AuditEntry.seq >= start, AuditEntry.seq < stop, AuditEntry.action.in_(list(WATCH)))
        .order_by(AuditEntry.seq)).all()
    checks: OrderedDict[tuple[str, int], int] = OrderedDict()
    for seq, action, object_id, _project_id, embargo_lot, body in rows:
        kind = WATCH[action]
        try:
            lots = _lots_of(session, action, object_id, embargo_lot, body)
        except (ValueError, TypeError, KeyError) as exc:  # an entry whose object cannot be resolved
            _failed(ctx, kind, None, seq, exc)
            continue
        for lot_id in lots:
            checks[(kind, lot_id)] = seq
    for kind, lot_id in list(checks):  # a registration, an offer or a withdrawal covers the acts' IP check
        if kind in ("registration", "offer", "withdrawal"):
            checks.pop(("acts", lot_id), None)
    settings = _settings(ctx) if checks else {}
    raised = 0
    for (kind, lot_id), seq in checks.items():
        trade = session.get(LotTrade, lot_id)
        if trade is None:
            continue
        # No SAVEPOINT here: SQLAlchemy fires after_commit when one is released, which would wake
        # the live streams before this transaction commits. Gathering facts only reads, so a check
        # that fails on bad data (a Python error) leaves nothing half-written; a database error
        # propagates (the transaction is lost anyway) and the sweep retries.
        try:
            found, embargo = facts.findings_for(ctx, kind, trade, seq, settings)
        except DBAPIError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad fact must not stop the cursor for every lot
            _failed(ctx, kind, lot_id, seq, exc)
            continue
        raised += _raise(ctx, found, embargo, trade, seq)
    cursor.next_seq = stop
    cursor.updated_at = ctx.now()
    session.flush()
    return len(rows), raised


def _failed(ctx: ServiceContext, kind: str, lot_id: int | None, seq: int, exc: Exception) -> None:
    """A check that could not run is not skipped silently: logged, and an administrator's alert
    (reference.alerts, audited) names the check, the lot and the audit entry, so it can be looked at
    and the lot's facts checked by hand. The cursor moves on: a poison entry must not stop every
    later alert."""
    from trading.reference.alerts import raise_alert

    log.error("supervision alerts: check %s of lot %s at seq %s failed: %r", kind, lot_id, seq, exc)
    raise_alert(ctx, f"supervision.check_failed:{kind}:{lot_id}"[:80],
                f"电子监察检查失败：{kind}，标段 {lot_id}，审计记录 #{seq}（{type(exc).__name__}: {exc}）")


def sweep(ctx_factory, *, limit: int = BATCH) -> tuple[int, int, int]:
    """Evaluate everything up to the head in batches, each in its own transaction, then announce the
    alerts whose embargo has ended. ctx_factory() gives a context on a session this loop commits.
    (entries, raised, released)."""
    entries = raised = 0
    while True:
        ctx = ctx_factory()
        n_entries, n_raised = evaluate(ctx, limit=limit)
        cursor, head = _lock_cursor(ctx.session)
        before = cursor.next_seq
        ctx.session.commit()
        entries, raised = entries + n_entries, raised + n_raised
        if before >= head:
            break
    ctx = ctx_factory()
    released = announce_released(ctx)
    ctx.session.commit()
    return entries, raised, released


# --- which lots an entry concerns ------------------------------------------------------------------

def _lot_by_code(session, code) -> list[int]:
    if not code:
        return []
    lot_id = session.execute(select(LotTrade.lot_id).where(LotTrade.lot_code == code)).scalar_one_or_none()
    return [lot_id] if lot_id is not None else []


def _lots_of(session, action: str, object_id: str, embargo_lot: int | None, body) -> list[int]:
    if embargo_lot is not None:
        return [embargo_lot]
    if action == "deposit.statement_imported":
        return list(session.execute(
            select(DepositAccount.lot_id).distinct().join(DepositEntry, DepositEntry.account_id == DepositAccount.id)
            .where(DepositEntry.statement_id == int(object_id))).scalars())
    if action == "deposit.unmatched_assigned":
        account = session.get(DepositAccount, facts.payload(body).get("account_id"))
        return [account.lot_id] if account else []
    if action == "evaluation.report_final":
        report = session.get(EvaluationReport, int(object_id))
        return [report.lot_id] if report else []
    if action in ("opening.opened", "award.determined", "award.reawarded", "lot.redated",
                  "award.candidate_passed") and object_id.isdigit():
        return [int(object_id)]
    if action == "notice.published":
        return list(session.execute(select(LotTrade.lot_id).where(LotTrade.notice_id == int(object_id))).scalars())
    return _lot_by_code(session, facts.payload(body).get("lot_code"))


# --- the checks: facts from the tables, then the pure rules -----------------------------------------

def _raise(ctx: ServiceContext, findings, embargo: int | None, trade: LotTrade, seq: int) -> int:
    raised = 0
    for f in findings:
        if raise_finding(ctx, f, project_id=trade.project_id, lot_id=trade.lot_id if f.subject.startswith("lot:")
                         else None, embargo_lot_id=embargo, trigger_seq=seq) is not None:
            raised += 1
    return raised



# --- the after-commit hook ---------------------------------------------------------------------------

def hook_mode(app) -> str:
    """"inline" | "background" | "off" from ALERTS_ON_COMMIT (default: background, off under TESTING)."""
    value = app.config.get("ALERTS_ON_COMMIT", "off" if app.testing else "background")
    if value is True:
        return "inline"
    if not value or value in ("off", "0", "false"):
        return "off"
    if value not in ("inline", "background"):
        raise ValueError(f"ALERTS_ON_COMMIT must be inline, background or off, not {value!r}")
    return value


def _current_app():
    try:
        from flask import current_app
        return current_app._get_current_object()
    except RuntimeError:  # no app: the sweep will evaluate it
        return None


@event.listens_for(Session, "after_commit")
def _evaluate_after_commit(session) -> None:
    if session.get_nested_transaction() is not None:
        # SQLAlchemy fires after_commit for a released SAVEPOINT too: the outer transaction is still
        # open (holding the writer lock / the audit head), so wait for its own commit.
        return
    noted = session.info.pop(audit_services.WATCHED_KEY, None)
    if not noted:
        return
    app = _current_app()
    mode = hook_mode(app) if app is not None else "off"
    if mode == "inline":
        evaluate_now(session.get_bind(), app.extensions["clock"], limit=int(app.config.get("ALERTS_BATCH", BATCH)))
    elif mode == "background":
        BACKGROUND.wake(app, session.get_bind())


#: seconds the background evaluator waits after a wake-up before its pass (ALERTS_DEBOUNCE_S)
DEBOUNCE_S = 1.0


class BackgroundEvaluator:
    """One evaluator thread per process, started by the first wake-up (and again in a forked worker:
    the pid is checked). Each wake-up asks for one more pass from the cursor; wake-ups that arrive
    during a pass, or during the short wait before it (ALERTS_DEBOUNCE_S), are folded into the next
    one. A pass gathers the facts of each lot it touches — every bidder act of the lot — so a burst of
    offers to one lot in the last minute must cost a few passes, not one per offer: measured with the
    upload benchmark, one pass per commit cost each upload about a third of its CPU."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._wanted = self._done = 0
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._target: tuple | None = None

    def wake(self, app, bind) -> None:
        with self._cond:
            self._target = (app, bind)
            self._wanted += 1
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="alerts-evaluator", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._done >= self._wanted:
                    self._cond.wait()
                app = self._target[0]
            delay = float(app.config.get("ALERTS_DEBOUNCE_S", DEBOUNCE_S))
            if delay > 0:
                time.sleep(delay)  # the commits of the next moments join this pass
            with self._cond:
                wanted, (app, bind) = self._wanted, self._target
            with app.app_context():  # the app's broker, settings and clock, as in the request
                evaluate_now(bind, app.extensions["clock"], limit=int(app.config.get("ALERTS_BATCH", BATCH)))
            with self._cond:
                self._done = wanted
                self._cond.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every wake-up so far has had its pass (tests, an orderly shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._done >= self._wanted, timeout)


BACKGROUND = BackgroundEvaluator()


def evaluate_now(bind, clock, *, limit: int = BATCH) -> None:
    """One evaluation in a fresh session and transaction. A failure is logged, never raised: the
    triggering transaction has committed, and the sweep evaluates what was left."""
    fresh = Session(bind=bind)
    try:
        evaluate(ServiceContext(session=fresh, clock=clock, ip=None), limit=limit, backlog_to_sweep=True)
        fresh.commit()
    except Exception:  # noqa: BLE001 - the request already succeeded; the sweep retries
        fresh.rollback()
        log.exception("supervision alerts: evaluation after commit failed; the sweep will retry")
    finally:
        fresh.close()


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    if session.get_nested_transaction() is None:  # a SAVEPOINT's rollback keeps the outer's seqs
        session.info.pop(audit_services.WATCHED_KEY, None)
