"""The live-event broker: streams are woken after a commit and never by a rollback; the table
replays from an id; PostgreSQL LISTEN/NOTIFY reaches another connection at COMMIT only."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import is_postgres
from trading.core import broker as broker_mod
from trading.core.broker import (
    InProcessBroker,
    PostgresBroker,
    format_payload,
    make_broker,
    parse_payload,
    pg_dsn,
)
from trading.core.events import LiveEvent, audience_allows, events_since, last_event_id, publish
from trading.extensions import db

CH = "hall:SFX2026-GC-0007-01"


@pytest.fixture
def local_broker(app, session):
    """A fresh in-process broker that this test's session reports to."""
    b = InProcessBroker()
    session.info["broker"] = b
    yield b
    session.info.pop("broker", None)


def test_payload_round_trip():
    assert parse_payload(format_payload(CH, 42)) == (CH, 42)
    assert parse_payload(CH) == (CH, None)
    assert parse_payload("hall:A B") == ("hall:A B", None)


@pytest.mark.parametrize("audience, staff, org_id, allowed", [
    ("all", False, None, True),
    ("all", True, 3, True),
    ("staff", True, None, True),
    ("staff", False, 3, False),
    ("org:3", False, 3, True),
    ("org:3", False, 33, False),
    ("org:3", True, None, False),   # staff do not read a bidder's private event
    ("org:", False, None, False),
    ("bidders", True, 3, False),    # unknown audience: nobody (fail closed)
])
def test_audience(audience, staff, org_id, allowed):
    assert audience_allows(audience, staff=staff, org_id=org_id) is allowed


def test_wakes_after_commit_only(ctx, session, local_broker):
    eid = publish(ctx, CH, "hall:message", {"text": "开标即将开始"})
    assert local_broker.wait(CH, 0, timeout=0) is False  # flushed, not committed: no wake-up yet
    session.commit()
    assert local_broker.latest(CH) == eid
    assert local_broker.wait(CH, 0, timeout=0) is True
    assert local_broker.wait(CH, eid, timeout=0) is False  # nothing after the last one
    assert local_broker.wait("hall:OTHER", 0, timeout=0) is False


def test_rollback_wakes_nobody(ctx, session, local_broker):
    publish(ctx, CH, "hall:message", {"text": "x"})
    session.rollback()
    assert local_broker.wait(CH, 0, timeout=0.05) is False
    session.commit()  # a later empty commit does not deliver the rolled-back event
    assert local_broker.latest(CH) == 0
    assert session.query(LiveEvent).count() == 0


def test_a_savepoint_is_not_the_commit(ctx, session, local_broker):
    """SQLAlchemy fires the commit and rollback events for a SAVEPOINT too: a released savepoint
    wakes nobody (the outer transaction is not visible yet) and a rolled-back one forgets nothing
    of the outer transaction; the outer commit wakes the streams."""
    eid = publish(ctx, CH, "hall:message", {"text": "before the savepoint"})
    with session.begin_nested():
        publish(ctx, "hall:OTHER", "hall:message", {"text": "inside"})
    assert local_broker.wait(CH, 0, timeout=0) is False
    try:
        with session.begin_nested():
            raise ValueError("a refused step inside the request")
    except ValueError:
        pass
    session.commit()
    assert local_broker.latest(CH) == eid
    assert local_broker.wait("hall:OTHER", 0, timeout=0) is True


def test_waiting_thread_is_woken(ctx, session, local_broker):
    results = []
    waiter = threading.Thread(target=lambda: results.append(local_broker.wait(CH, 0, timeout=10)))
    waiter.start()
    time.sleep(0.05)  # let it block (the only sleep: a real thread must be waiting)
    started = time.monotonic()
    publish(ctx, CH, "opening:stage", {"stage": "custodians"})
    session.commit()
    waiter.join(5)
    assert results == [True]
    assert time.monotonic() - started < 2


def test_commit_between_poll_and_wait_is_not_missed(ctx, session, local_broker):
    seen = last_event_id(session, CH)          # the stream polled: nothing yet
    publish(ctx, CH, "hall:message", {"text": "x"})
    session.commit()                           # lands before the stream calls wait()
    assert local_broker.wait(CH, seen, timeout=0) is True


def test_replay_after_an_id(ctx, session):
    ids = [publish(ctx, CH, "decrypt:status", {"done": i, "total": 3}) for i in range(1, 4)]
    publish(ctx, "hall:OTHER", "hall:message", {"text": "elsewhere"})
    session.commit()
    assert [e.id for e in events_since(session, CH, 0)] == ids
    assert [e.data["done"] for e in events_since(session, CH, ids[0])] == [2, 3]
    assert events_since(session, CH, ids[-1]) == []
    assert last_event_id(session, CH) == ids[-1]


def test_bare_channel_notification_wakes_waiters():
    b = InProcessBroker()
    results = []
    t = threading.Thread(target=lambda: results.append(b.wait(CH, 10**9, timeout=10)))
    t.start()
    time.sleep(0.05)
    b.notify([CH])
    t.join(5)
    assert results == [True]


def test_selection_by_config():
    assert isinstance(make_broker(None, "sqlite://"), InProcessBroker)
    assert isinstance(make_broker("inprocess", "postgresql+psycopg://u@h/db"), InProcessBroker)
    pg = make_broker(None, "postgresql+psycopg://u:p@127.0.0.1:5432/x")
    assert isinstance(pg, PostgresBroker) and pg.dsn == "postgresql://u:p@127.0.0.1:5432/x"
    assert make_broker("postgres", "postgresql+psycopg://u:p@127.0.0.1:5432/x") is pg  # one per process
    pg.close()
    with pytest.raises(ValueError):
        make_broker("postgres", "sqlite://")
    with pytest.raises(ValueError):
        make_broker("carrier-pigeon", "sqlite://")


def test_app_broker_is_woken_by_a_commit(app, ctx, session):
    b = app.extensions["broker"]  # PostgreSQL: the process's shared broker, so a channel of its own
    channel = f"hall:T{time.monotonic_ns()}"
    eid = publish(ctx, channel, "hall:message", {"text": "x"})
    assert b.latest(channel) == 0
    session.commit()
    assert b.latest(channel) == eid


# --- PostgreSQL: two connections ------------------------------------------------------------------
pg_only = pytest.mark.skipif(not is_postgres(), reason="PostgreSQL LISTEN/NOTIFY (set TEST_DATABASE_URL)")


@pytest.fixture
def listener(app):
    b = PostgresBroker(pg_dsn(db.engine.url))  # its own LISTEN connection, not the app's broker
    assert b.wait_listening(10)
    yield b
    b.close()


@pg_only
def test_pg_notify_reaches_another_connection_at_commit(ctx, session, listener):
    session.info["broker"] = InProcessBroker()  # the local wake-up must not be what the listener sees
    eid = publish(ctx, CH, "hall:message", {"text": "x"})
    assert listener.wait(CH, 0, timeout=0.5) is False  # not committed: not delivered
    session.commit()
    assert listener.wait(CH, 0, timeout=10) is True
    deadline = time.monotonic() + 5
    while listener.latest(CH) < eid and time.monotonic() < deadline:
        listener.wait(CH, 0, timeout=0.2)
    assert listener.latest(CH) == eid


@pg_only
def test_pg_rollback_is_never_delivered(ctx, session, listener):
    session.info["broker"] = InProcessBroker()
    publish(ctx, CH, "hall:message", {"text": "x"})
    session.rollback()
    assert listener.wait(CH, 0, timeout=1.5) is False


@pg_only
def test_pg_raw_notify_from_a_psycopg_transaction(app, listener):
    import psycopg

    with psycopg.connect(pg_dsn(db.engine.url)) as conn:
        conn.execute("SELECT pg_notify(%s, %s)", (broker_mod.PG_CHANNEL, format_payload(CH, 7)))
        assert listener.wait(CH, 0, timeout=0.5) is False
        conn.commit()
    assert listener.wait(CH, 0, timeout=10) is True
    assert listener.latest(CH) == 7


def test_a_notification_wakes_waiters_even_below_a_stale_id():
    """Ids can restart (a restored database, the tests' TRUNCATE … RESTART IDENTITY): a broker that
    remembers a higher id must still wake the streams for the new, lower ones."""
    b = InProcessBroker()
    b.notify({CH: 100})
    results = []
    t = threading.Thread(target=lambda: results.append(b.wait(CH, 100, timeout=10)))
    t.start()
    time.sleep(0.05)
    b.notify({CH: 5})
    t.join(5)
    assert results == [True] and b.latest(CH) == 100
