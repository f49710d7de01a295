"""core.db.cacheable: a dialect-specific statement (which SQLAlchemy compiles on every execution)
as a cached textual statement that behaves the same: typed parameters in (UTC datetimes, JSON),
ON CONFLICT kept, RETURNING columns typed out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trading.core.db import UTCDateTime, cacheable
from trading.extensions import db

meta = MetaData()
probe = Table("cacheable_probe", meta,
              Column("id", Integer, primary_key=True),
              Column("code", String(20), nullable=False, unique=True),
              Column("doc", JSON, nullable=False),
              Column("at", UTCDateTime, nullable=False))


@pytest.fixture
def table(app):
    meta.create_all(db.engine)
    yield probe
    db.session.rollback()
    meta.drop_all(db.engine)


def _insert(dialect: str):
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    return (make(probe).values(code=bindparam("code"), doc=bindparam("doc"), at=bindparam("at"))
            .on_conflict_do_nothing(index_elements=["code"]).returning(probe.c.id))


def test_the_dialect_statement_is_not_cached_and_the_text_is(table):
    dialect = db.engine.dialect.name
    assert _insert(dialect)._generate_cache_key() is None          # why the helper exists
    assert cacheable(_insert(dialect), dialect)._generate_cache_key() is not None


def test_typed_parameters_conflict_and_returning_behave_as_the_original(table):
    dialect = db.engine.dialect.name
    stmt = cacheable(_insert(dialect), dialect)
    at = datetime(2026, 11, 27, 9, 30, tzinfo=timezone(timedelta(hours=8)))   # Beijing time in
    first = db.session.execute(stmt, {"code": "A", "doc": {"k": [1, "二"]}, "at": at}).scalar_one_or_none()
    again = db.session.execute(stmt, {"code": "A", "doc": {}, "at": at}).scalar_one_or_none()
    assert isinstance(first, int) and again is None                     # ON CONFLICT DO NOTHING kept
    row = db.session.execute(select(probe)).one()
    assert row.doc == {"k": [1, "二"]}                                   # JSON serialised by its type
    assert row.at == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)          # stored and read as UTC


def test_a_naive_datetime_is_refused_as_by_the_column_type(table):
    dialect = db.engine.dialect.name
    with pytest.raises(Exception, match="(?i)naive|aware|utc"):
        db.session.execute(cacheable(_insert(dialect), dialect),
                           {"code": "B", "doc": {}, "at": datetime(2026, 11, 27, 9, 30)})
