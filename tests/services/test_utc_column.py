"""The UTC column type round-trips aware UTC on both databases and refuses naive values; the money
column refuses floats."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from trading.core.clock import beijing
from trading.extensions import db
from trading.reference.models import CalendarYear, RuleSetting


def test_utc_round_trip(session):
    session.add(CalendarYear(year=2030, source="test", loaded_at=beijing(2026, 11, 10, 9, 30, 15)))
    session.commit()
    session.expire_all()
    row = session.execute(select(CalendarYear)).scalar_one()
    assert row.loaded_at == datetime(2026, 11, 10, 1, 30, 15, tzinfo=UTC)
    assert row.loaded_at.tzinfo is not None


def test_naive_datetime_refused(session):
    session.add(RuleSetting(code="x", value=1, updated_at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError):
        session.flush()
    session.rollback()


def test_fen_column_refuses_float(session, ctx):
    from trading.projects.models import Lot
    session.add(Lot(project_id=1, seq=1, name="x", budget_fen=1.5))
    with pytest.raises(StatementError):
        session.flush()
    db.session.rollback()
