"""Shared fixtures. TEST_DATABASE_URL (or DATABASE_URL) selects PostgreSQL; the default is in-memory
SQLite. Each test gets a clean schema built by create_all (the migration test checks that the
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


def reset_schema() -> None:
    if is_postgres():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


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
