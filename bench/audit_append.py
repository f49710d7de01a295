"""Audit append throughput: 8 concurrent writers, each committing every entry, against raw INSERTs.

Each writer is a process (as gunicorn workers are) with its own connection and session; it appends
through trading.audit.services.record (head-row lock, canonical JSON, SHA-256 chain) and commits
after every entry, as a request does.
The baseline, in the same run: 8 processes inserting rows of the same size into a plain table (primary
key only), committing per row. ratio = audit entries/s ÷ raw inserts/s. Afterwards the whole chain
is verified (it must be intact: one chain, no fork, no gap, whatever the interleaving)."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import Figure, database_url, fresh_schema_engine
from trading.audit.canonical import canonical_bytes
from trading.audit.services import record, verify
from trading.core.clock import SystemClock
from trading.core.context import Actor, ServiceContext

SCHEMA = "bench_audit"
WRITERS = 8
SECONDS = 20.0

RAW_TABLE = """
CREATE TABLE raw_entry (
  id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL, entry_hash BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL, action VARCHAR(64) NOT NULL, object_type VARCHAR(32) NOT NULL,
  object_id VARCHAR(64) NOT NULL, actor_user_id INTEGER, actor_org_id INTEGER, project_id INTEGER)
"""
RAW_INSERT = text(
    "INSERT INTO raw_entry (body, entry_hash, created_at, action, object_type, object_id, actor_user_id,"
    " actor_org_id, project_id) VALUES (:body, :h, :at, :action, 'notice', :oid, :uid, :org, :pid)")


def _payload(writer: int, i: int) -> dict:
    """What a typical state change records: a few fields old → new, in Chinese."""
    return {"status": ["draft", "published"], "title": [None, f"示范县第{writer}中学教学楼改造工程（第{i}标段）招标公告"],
            "deadline_at": [None, "2026-12-08T01:30:00Z"], "budget_fen": [None, 1_234_567_00 + i],
            "body_sha256": [None, f"{i:064x}"]}


def _actor(writer: int) -> Actor:
    return Actor(user_id=100 + writer, org_id=10 + writer, roles=frozenset({"operator"}),
                 username=f"operator{writer}", acting_role="operator")


def _writer(schema: str, step_name: str, w: int, seconds: float, barrier, results) -> None:
    """One writer process: its own engine and session; step + commit until the time is up."""
    step = globals()[step_name]
    engine = create_engine(database_url(), pool_size=1, max_overflow=0,
                           connect_args={"options": f"-c search_path={schema}"})
    count, error = 0, None
    try:
        with Session(engine) as session:
            step(session, w, -1)  # connect and warm the statement cache before the clock starts
            session.commit()
            barrier.wait(timeout=120)
            stop_at = time.perf_counter() + seconds
            while time.perf_counter() < stop_at:
                step(session, w, count)
                session.commit()
                count += 1
    except Exception as exc:  # reported by the parent
        error = repr(exc)
        barrier.abort()  # the others stop waiting for this one
    finally:
        engine.dispose()
    results.put((w, count, error))


def _run_writers(schema: str, step_name: str, seconds: float, writers: int = WRITERS) -> int:
    """`writers` processes (like gunicorn workers) run the step; returns the rows they committed."""
    mp = multiprocessing.get_context("fork")  # the parent holds no open connection (see run)
    barrier, results = mp.Barrier(writers), mp.Queue()
    procs = [mp.Process(target=_writer, args=(schema, step_name, w, seconds, barrier, results))
             for w in range(writers)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    errors = [e for _, _, e in outcomes if e]
    if errors:
        raise RuntimeError(f"writer failed: {errors[0]}")
    return sum(c for _, c, _ in outcomes)


def _audit_step(session: Session, w: int, i: int) -> None:
    ctx = ServiceContext(session=session, actor=_actor(w), clock=SystemClock(), ip="127.0.0.1")
    record(ctx, "notice.publish", "notice", f"{w}-{i}", payload=_payload(w, i), project_id=1000 + i % 500)


def _raw_step(session: Session, w: int, i: int) -> None:
    # The same bytes an audit entry would store (canonical body + 32-byte hash), without the chain.
    body = canonical_bytes({"v": 1, "seq": i, "at": "2026-11-26T00:00:00Z", "action": "notice.publish",
                            "object": {"type": "notice", "id": f"{w}-{i}"}, "project": 1000 + i % 500,
                            "actor": {"user": 100 + w, "org": 10 + w, "name": f"operator{w}", "role": "operator"},
                            "ip": "127.0.0.1", "payload": _payload(w, i)})
    session.execute(RAW_INSERT, {"body": body, "h": bytes(32), "at": datetime.now(UTC), "action": "notice.publish",
                                 "oid": f"{w}-{i}", "uid": 100 + w, "org": 10 + w, "pid": 1000 + i % 500})


def run(scale: float = 1.0) -> list[Figure]:
    seconds = max(2.0, SECONDS * scale)
    engine = fresh_schema_engine(SCHEMA)
    try:
        with engine.begin() as conn:
            conn.execute(text(RAW_TABLE))
        engine.dispose()  # no connection may be shared with the forked writers
        raw_rows = _run_writers(SCHEMA, "_raw_step", seconds)
        audit_rows = _run_writers(SCHEMA, "_audit_step", seconds)
        # One writer each: what one append costs without waiting for the head lock.
        raw_one = _run_writers(SCHEMA, "_raw_step", seconds / 2, writers=1)
        audit_one = _run_writers(SCHEMA, "_audit_step", seconds / 2, writers=1)
        with Session(engine) as session:
            started = time.perf_counter()
            result = verify(session)
            verify_s = time.perf_counter() - started
            avg_body = session.execute(text("SELECT avg(length(body)) FROM audit_entry")).scalar_one()
    finally:
        engine.dispose()

    return [
        Figure(name="audit append, 8 writers", value=round(audit_rows / seconds, 1), unit="entries/s",
               baseline=round(raw_rows / seconds, 1), baseline_name="raw INSERT, 8 writers", baseline_unit="rows/s",
               target="chain intact", ok=result.ok,
               note=f"verify: {result.describe()} ({verify_s:.2f} s); {audit_rows} entries and {raw_rows} raw rows "
                    f"in {seconds:.0f} s each; average body {float(avg_body):.0f} bytes; commit per row",
               details={"writers": WRITERS, "seconds": seconds, "audit_entries": audit_rows, "raw_rows": raw_rows,
                        "verify": result.describe(), "verify_seconds": round(verify_s, 3)}),
        Figure(name="audit append, 1 writer", value=round(audit_one / (seconds / 2), 1), unit="entries/s",
               baseline=round(raw_one / (seconds / 2), 1), baseline_name="raw INSERT, 1 writer", baseline_unit="rows/s",
               note=f"8 writers reach {audit_rows / max(audit_one * 2, 1):.1f}x the one-writer audit rate "
                    f"(raw: {raw_rows / max(raw_one * 2, 1):.1f}x): appends queue on the head row, locked until commit",
               details={"writers": 1, "seconds": seconds / 2, "audit_entries": audit_one, "raw_rows": raw_one}),
    ]
