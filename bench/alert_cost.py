"""Supervision alert evaluation per accepted offer, as a share of the offer request's own time (PostgreSQL).

Set-up (not measured): a 比选 lot published through the real services (key ceremony), N bidders
(the first through the services, the rest cloned), each registered for the lot from its own IP
through the service, the registrations' alerts evaluated.

Measured, for each bidder in turn, in the same run:
  request — what the upload request does on the server: start_submission + put_envelope (manifest,
            payload, completion, receipt, audit entries) + the commit, with the after-commit alert
            hook switched off (ALERTS_ON_COMMIT = False);
  alerts  — what the hook then adds to that request: evaluator.evaluate_now on the same engine (a
            fresh session: lock the cursor, read the new audit entries, gather the lot's facts —
            every bidder act of the lot with its IP, contacts, digests — run the rules, commit).
The figure is the median of `alerts` against the median of `request` (the ratio printed is the share;
medians, because the shared machine stalls a few calls by hundreds of ms); the share of the sums is in
the note. No target: the issue asks for the share, measured. The
request is measured in-process, without HTTP parsing or the WSGI server, so the share is an upper
bound of what a real request pays. The lot's facts grow with its bidders: the last offers cost most."""

from __future__ import annotations

import shutil
import statistics
import time
from datetime import UTC, datetime

from bench import _offers as offers
from bench.common import Figure

SCHEMA = "bench_alert_cost"
BIDDERS = 60
OFFER_BYTES = 1024


def run(scale: float = 1.0) -> list[Figure]:
    blobs = offers.blob_dir("alert_cost")
    try:
        return _run(scale, blobs)
    finally:
        shutil.rmtree(blobs.parent, ignore_errors=True)


def _run(scale: float, blobs) -> list[Figure]:
    import json

    from trading.accounts.models import User
    from trading.core.clock import FrozenClock
    from trading.core.context import ServiceContext
    from trading.extensions import db
    from trading.procedures.common.participation import completion, uploads
    from trading.procedures.common.participation.services import register_for_lot
    from trading.supervision.alerts import evaluator
    from trading.supervision.alerts.models import SupervisionAlert

    n = max(8, int(BIDDERS * scale))
    offers.fresh_schema(SCHEMA)
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = offers.make_app(SCHEMA, blobs, clock=clock)
    app.config["ALERTS_ON_COMMIT"] = False
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        lot = offers.publish_sealed_lot(session, clock)
        bidders = offers.make_bidders(session, clock, n)
        session.commit()
        contexts = []
        for i, b in enumerate(bidders):
            user = session.get(User, b.user_id)
            ctx = offers.acting(session, clock, user)
            ctx.ip = f"10.{i // 250}.{i % 250}.7"
            register_for_lot(ctx, lot.lot_code)
            contexts.append((b, user.id))
        session.commit()
        evaluator.evaluate_now(db.engine, clock)
        db.session.remove()
        print(f"  set-up: lot {lot.lot_code}, {n} registered bidders ({time.perf_counter() - started:.0f} s)")

        request_ms, alert_ms = [], []
        for i, (b, user_id) in enumerate(contexts):
            sheet = offers.price_sheet(i, OFFER_BYTES)
            session = db.session
            ctx = ServiceContext(session=session, actor=offers.acting(session, clock, session.get(User, user_id)).actor,
                                 clock=clock, ip=f"10.{i // 250}.{i % 250}.7")
            t0 = time.perf_counter()
            started_upload = uploads.start_submission(ctx, lot.lot_code, "price")
            t_seal = time.perf_counter()
            manifest, payload = offers.seal_for(lot, b, "price", started_upload.submission_id, sheet)
            raw = json.dumps(manifest).encode("utf-8")
            t_sealed = time.perf_counter()   # sealing is the bidder's client work: not the request's
            completion.put_envelope(ctx, started_upload.submission_id, raw, payload)
            session.commit()
            t1 = time.perf_counter()
            db.session.remove()
            evaluator.evaluate_now(db.engine, clock)
            t2 = time.perf_counter()
            request_ms.append(((t_seal - t0) + (t1 - t_sealed)) * 1000)
            alert_ms.append((t2 - t1) * 1000)
        alerts = db.session.query(SupervisionAlert).count()
        db.session.remove()
        db.engine.dispose()

    share = sum(alert_ms) / sum(request_ms)
    tail = max(1, n // 10)
    note = (f"{n} offers: request median {statistics.median(request_ms):.1f} ms, alert evaluation median "
            f"{statistics.median(alert_ms):.1f} ms (last {tail}: {statistics.mean(alert_ms[-tail:]):.1f} ms); "
            f"alerts raised: {alerts} (every bidder has its own IP)")
    note += f"; share of the sums {share:.2f}"
    return [Figure("alert evaluation / offer request", round(statistics.median(alert_ms), 3), "ms/offer",
                   round(statistics.median(request_ms), 3), "offer request (in-process, median)",
                   note=note,
                   details={"share": round(share, 4), "request_ms": request_ms, "alert_ms": alert_ms})]
