"""Database base: the declarative base with a naming convention (so migrations name constraints
deterministically), the UTC column type, and the money column type."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, MetaData, TextClause, TypeDecorator, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.orm import DeclarativeBase

from .clock import ensure_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_DIALECTS = {"postgresql": postgresql.dialect, "sqlite": sqlite.dialect}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores aware UTC; refuses naive values on the way in and returns aware UTC on the way out
    (SQLite drops the offset, PostgreSQL 'timestamptz' keeps it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        v = ensure_utc(value)
        return v.replace(tzinfo=None) if dialect.name == "sqlite" else v

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            from datetime import UTC
            return value.replace(tzinfo=UTC)
        return ensure_utc(value)


class Fen(TypeDecorator):
    """Money in integer fen (BigInteger). Refuses floats and Decimals so no rounding hides anywhere."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"money must be int fen, got {type(value).__name__}")
        return value


def cacheable(stmt, dialect_name: str) -> TextClause:
    """`stmt` as a textual statement with the same typed parameters and result columns.

    SQLAlchemy compiles a dialect-specific statement (postgresql.insert(...).on_conflict_do_nothing(),
    sqlite.insert(...)) on every execution: those classes set `inherit_cache = False`. On a hot path
    (the one-request upload) that compile cost about a tenth of the request's CPU. A TextClause is
    cached like any other statement, and its bind types keep their processing (UTC datetimes, JSON).
    Built once, at import, for one dialect."""
    dialect = _DIALECTS[dialect_name](paramstyle="named")
    dialect.bind_typing = BindTyping.NONE  # the executing dialect renders its own casts (::JSON) on the text
    compiled = stmt.compile(dialect=dialect)
    sql = str(compiled)
    binds = [bindparam(name, type_=b.type) for name, b in compiled.binds.items()]
    clause = text(sql).bindparams(*binds)
    returning = getattr(stmt, "_returning", ())
    return clause.columns(*returning) if returning else clause
