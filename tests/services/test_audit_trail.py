"""Audit stage 1: entries in the same transaction, canonical bytes, dense sequence, tamper detection,
no update/delete path (PostgreSQL trigger), one chain under concurrent writers."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select, text

from tests.conftest import is_postgres
from trading.audit.chain import GENESIS, chain_hash
from trading.audit.models import AuditEntry, AuditHead
from trading.audit.services import record, verify
from trading.core.context import Actor, ServiceContext
from trading.extensions import db


def _write(ctx, n, start=0):
    for i in range(start, start + n):
        record(ctx, "test.event", "thing", i, payload={"n": i, "name": f"第{i}号"})


def test_entries_are_dense_and_chained(ctx):
    _write(ctx, 5)
    db.session.commit()
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    assert [r.seq for r in rows] == [0, 1, 2, 3, 4]
    prev = GENESIS
    for r in rows:
        assert r.entry_hash == chain_hash(prev, r.body)
        prev = r.entry_hash
    head = db.session.get(AuditHead, 1)
    assert head.next_seq == 5 and head.last_hash == prev
    assert verify(db.session).ok


def test_body_is_canonical_json(ctx):
    entry = record(ctx, "test.event", "thing", 7, payload={"b": 2, "a": "中文", "when": ctx.now()})
    body = bytes(entry.body)
    parsed = json.loads(body)
    assert body == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "中文".encode() in body
    assert parsed["payload"]["when"].endswith("Z")


@pytest.mark.parametrize("payload", [{"amount": 1.5}, {"password": "x"}, {1: "a"}, {"raw": b"\x00"}])
def test_bad_payloads_are_refused(ctx, payload):
    with pytest.raises((TypeError, ValueError)):
        record(ctx, "test.event", "thing", 1, payload=payload)


def test_rollback_removes_entry_with_the_change(ctx):
    _write(ctx, 2)
    db.session.commit()
    _write(ctx, 1, start=2)
    db.session.rollback()
    assert db.session.execute(select(AuditEntry.seq)).scalars().all() == [0, 1]
    assert verify(db.session).ok
    _write(ctx, 1, start=2)
    db.session.commit()
    assert verify(db.session).ok


def _raw(sql, **params):
    """Tamper with the database as an attacker with table access would (bypassing the trigger)."""
    with db.engine.begin() as conn:
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if is_postgres():
            conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))


def _flip_body(seq):
    body = bytes(db.session.get(AuditEntry, seq).body)
    db.session.rollback()
    return body.replace(b'"n":' + str(seq).encode(), b'"n":' + str(seq + 100).encode())


@pytest.mark.parametrize("case,bad_seq", [
    ("edit", 3), ("delete", 3), ("swap", 2), ("truncate", 9), ("rehash_one", 4),
])
def test_tampering_is_detected_and_named(ctx, case, bad_seq):
    _write(ctx, 10)
    db.session.commit()
    if case == "edit":
        _raw("UPDATE audit_entry SET body = :b WHERE seq = 3", b=_flip_body(3))
    elif case == "delete":
        _raw("DELETE FROM audit_entry WHERE seq = 3")
    elif case == "swap":
        a, b = (bytes(db.session.get(AuditEntry, s).body) for s in (2, 3))
        ha, hb = (bytes(db.session.get(AuditEntry, s).entry_hash) for s in (2, 3))
        db.session.rollback()
        _raw("UPDATE audit_entry SET body = :b, entry_hash = :h WHERE seq = 2", b=b, h=hb)
        _raw("UPDATE audit_entry SET body = :b, entry_hash = :h WHERE seq = 3", b=a, h=ha)
    elif case == "truncate":
        _raw("DELETE FROM audit_entry WHERE seq = 9")
    elif case == "rehash_one":
        # the attacker edits entry 4 and recomputes its own hash: the next link still breaks
        prev = bytes(db.session.get(AuditEntry, 3).entry_hash)
        body = _flip_body(4)
        _raw("UPDATE audit_entry SET body = :b, entry_hash = :h WHERE seq = 4", b=body, h=chain_hash(prev, body))
        bad_seq = 5
    db.session.expire_all()
    result = verify(db.session)
    assert not result.ok
    assert result.bad_seq == bad_seq, result.describe()


def test_cli_verify_exits_nonzero_naming_entry(app, ctx):
    _write(ctx, 4)
    db.session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "4 entries" in ok.output
    _raw("UPDATE audit_entry SET body = :b WHERE seq = 1", b=_flip_body(1))
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert "seq 1" in bad.output


@pytest.mark.skipif(not is_postgres(), reason="the trigger exists on PostgreSQL")
@pytest.mark.parametrize("sql", ["UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry",
                                 "TRUNCATE audit_entry"])
def test_postgres_trigger_refuses_update_and_delete(ctx, sql):
    _write(ctx, 2)
    db.session.commit()
    from sqlalchemy.exc import DBAPIError
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    assert verify(db.session).ok


@pytest.mark.skipif(not is_postgres(), reason="parallel writers need a server database")
def test_parallel_writers_leave_one_chain(app, clock):
    errors = []

    def writer(k):
        try:
            with app.app_context():
                for i in range(25):
                    c = ServiceContext(session=db.session, clock=clock,
                                       actor=Actor(user_id=None, org_id=None, username=f"w{k}"))
                    record(c, "test.parallel", "writer", k, payload={"i": i})
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = verify(db.session)
    assert result.ok and result.count == 200
