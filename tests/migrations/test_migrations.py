"""The migrations build exactly the schema the models describe, with what autogenerate cannot see
(the audit head row, PostgreSQL's append-only triggers), and take it all down again.

Runs on a SQLite file in tmp_path, and on PostgreSQL (a fresh public schema) when TEST_DATABASE_URL
is set. The conftest `app` fixture builds with create_all, so these tests build their own app whose
schema comes from `alembic upgrade` only."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from tests.conftest import _config, is_postgres
from tests.timeline import T0
from trading.audit.chain import GENESIS
from trading.audit.services import record, verify
from trading.core.clock import FrozenClock
from trading.core.context import ServiceContext
from trading.core.db import Base
from trading.extensions import db
from trading.factory import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _fresh_schema() -> None:
    if is_postgres():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))


@pytest.fixture
def mig_app(tmp_path):
    """An app on an empty database; nothing built by create_all."""
    cfg = _config()
    if not is_postgres():
        cfg["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'migrated.db'}"
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    app = create_app(cfg, clock=FrozenClock(T0))
    app.instance_path = str(tmp_path)
    with app.app_context():
        _fresh_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


def _alembic_config():
    return current_app.extensions["migrate"].migrate.get_config()


def _differences() -> list:
    with db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(mc, Base.metadata)


def _tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_one_head_with_dated_file_names_and_real_downgrades():
    scripts = ScriptDirectory(str(MIGRATIONS))
    assert len(scripts.get_heads()) == 1, "parallel branches: merge them (flask db merge) or regenerate"
    for rev in scripts.walk_revisions():
        name = Path(rev.path).name
        assert re.match(r"^\d{8}_[0-9a-f]+_\w+\.py$", name), name
        source = Path(rev.path).read_text()
        downgrade = source.split("def downgrade", 1)[1]
        assert "op." in downgrade, f"{name}: downgrade does nothing"


DRIFT = "the models and the migrations differ: regenerate or add a revision (migrations/README)"


def test_every_models_module_is_registered():
    """A models.py that trading/models.py does not import is missing from create_all and from
    autogenerate alike, so the comparison below could not notice it. Checked in a fresh interpreter,
    where nothing else has imported the model modules."""
    trading_dir = MIGRATIONS.parent / "trading"
    modules = {".".join(p.relative_to(trading_dir.parent).with_suffix("").parts)
               for p in trading_dir.rglob("models.py") if p.parent != trading_dir}
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, trading.models; print(' '.join(sys.modules))"],
        cwd=MIGRATIONS.parent, capture_output=True, text=True, check=True).stdout.split()
    assert modules and not modules - set(loaded), sorted(modules - set(loaded))


def test_upgrade_builds_the_schema_of_the_models(mig_app):
    command.upgrade(_alembic_config(), "head")
    assert _differences() == [], DRIFT
    head = db.session.execute(sa.text("SELECT id, next_seq, last_hash FROM audit_head")).all()
    assert [(r[0], r[1], bytes(r[2])) for r in head] == [(1, 0, GENESIS)]


def test_migrated_database_takes_a_chain(mig_app):
    command.upgrade(_alembic_config(), "head")
    ctx = ServiceContext(session=db.session, clock=FrozenClock(T0))
    for i in range(3):
        record(ctx, "test.event", "thing", i, payload={"n": i, "百分比": "50%"})
    db.session.commit()
    result = verify(db.session)
    assert result.ok and result.count == 3


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="the append-only trigger exists on PostgreSQL only")
@pytest.mark.parametrize("statement, verb", [
    ("UPDATE audit_entry SET action = 'forged'", "UPDATE"),
    ("DELETE FROM audit_entry", "DELETE"),
    ("TRUNCATE audit_entry", "TRUNCATE"),
])
def test_trigger_refuses_changes_to_entries(mig_app, statement, verb):
    command.upgrade(_alembic_config(), "head")
    ctx = ServiceContext(session=db.session, clock=FrozenClock(T0))
    record(ctx, "test.event", "thing", 1)
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError) as err:
        with db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    # The message proves the function body reached PostgreSQL with its single % intact.
    assert f"audit_entry is append-only: {verb} refused" in str(err.value)
    assert verify(db.session).count == 1


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="the append-only triggers exist on PostgreSQL only")
@pytest.mark.parametrize("statement", ["UPDATE audit_checkpoint SET reason = 'forged'", "DELETE FROM audit_checkpoint"])
def test_migrated_checkpoints_are_append_only(mig_app, statement):
    from trading.audit.checkpoints import make_checkpoint

    command.upgrade(_alembic_config(), "head")
    ctx = ServiceContext(session=db.session, clock=FrozenClock(T0))
    record(ctx, "test.event", "thing", 1)
    make_checkpoint(ctx, "manual")
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="audit_checkpoint is append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    names = set(db.session.execute(sa.text(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%append_only'")).scalars())
    assert names == {f"{t}_append_only" for t in ("audit_checkpoint", "audit_cosignature", "audit_merkle_node",
                                                  "supervision_view_log")}


def test_downgrade_removes_everything_and_upgrade_works_again(mig_app):
    cfg = _alembic_config()
    command.upgrade(cfg, "head")
    assert _tables() == set(Base.metadata.tables)
    command.downgrade(cfg, "base")
    assert _tables() == set()
    if is_postgres():
        with db.engine.connect() as conn:
            # this schema only: the benchmarks' smoke tests keep their own schemas in the same database
            left = conn.execute(sa.text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname = 'audit_entry_immutable' AND n.nspname = current_schema()"))
            assert left.all() == []
    command.upgrade(cfg, "head")
    assert _differences() == [], DRIFT
    assert db.session.execute(sa.text("SELECT count(*) FROM audit_head")).scalar_one() == 1


def test_printed_sql_builds_the_same_schema(mig_app):
    """`flask db upgrade --sql` (for a DBA to review and run) prints SQL that runs as printed: the
    head row as a literal, RAISE's single %, and nothing the driver would have to bind."""
    cfg = _alembic_config()
    cfg.output_buffer = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    script = cfg.output_buffer.getvalue()
    assert "\x00" not in script
    if is_postgres():
        assert "append-only: % refused" in script
    raw = db.engine.raw_connection()
    try:
        if is_postgres():
            raw.driver_connection.execute(script)
        else:
            raw.driver_connection.executescript(script)
        raw.commit()
    finally:
        raw.close()
    assert _differences() == [], DRIFT
    head = db.session.execute(sa.text("SELECT id, next_seq, last_hash FROM audit_head")).all()
    assert [(r[0], r[1], bytes(r[2])) for r in head] == [(1, 0, GENESIS)]
