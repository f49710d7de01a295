"""Shared fixtures. TEST_DATABASE_URL (or DATABASE_URL) selects PostgreSQL; the default is in-memory
SQLite. Each test gets a clean database built by create_all (the migration test checks that the
migrations build the same schema)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.pool import StaticPool

from tests.timeline import T0
from trading.config import TestConfig, normalise_database_url
from trading.core.clock import FrozenClock
from trading.core.context import ServiceContext
from trading.extensions import db
from trading.factory import create_app

DB_URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")


def is_postgres() -> bool:
    return bool(DB_URL and DB_URL.startswith("postgres"))


def _config() -> dict:
    cfg = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    if is_postgres():
        cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(DB_URL)
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    else:
        cfg["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        # one shared in-memory database for every connection of the test
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    return cfg


_pg_built_in_this_process = False


def reset_schema() -> None:
    """A clean database for each test. SQLite: a new in-memory schema. PostgreSQL: the schema is
    built once per test process and emptied between tests by one round trip of DELETEs with the
    triggers (foreign keys, the audit trail's immutability) off for that transaction only, and every
    sequence set back to 1 (dropping and creating every table per test made the run many times
    slower; TRUNCATE of some sixty tables costs about 150 ms a test, the DELETEs about 4 ms); it is
    rebuilt whenever it does not look exactly like the models' (a migration test replaced it, or a
    trigger is missing)."""
    global _pg_built_in_this_process
    if not is_postgres():
        db.create_all()
        return
    names = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if _pg_built_in_this_process and _pg_schema_intact(conn, names):
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("; ".join(f'DELETE FROM "{name}"' for name in reversed(names))))
            conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                              "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))
            conn.execute(text("INSERT INTO audit_head (id, next_seq, last_hash) "
                              f"VALUES (1, 0, '\\x{'00' * 32}'::bytea)"))
            return
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.create_all()
    _pg_built_in_this_process = True


def _pg_schema_intact(conn, names: list[str]) -> bool:
    tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    if tables != set(names):
        return False
    triggers = conn.execute(text(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_entry'::regclass "
        "AND NOT tgisinternal AND tgenabled = 'O'")).scalar()
    return triggers == 2


@pytest.fixture
def clock():
    return FrozenClock(T0)


@pytest.fixture
def app(clock, tmp_path):
    cfg = _config()
    app = create_app(cfg, clock=clock)
    app.instance_path = str(tmp_path)
    with app.app_context():
        reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def ctx(app, clock):
    """A system context (no user): for building fixtures through the real services."""
    return ServiceContext(session=db.session, clock=clock, ip="127.0.0.1")
