<%
    # The revision that creates audit_entry also needs what autogenerate cannot see: the chain's
    # head row and, on PostgreSQL, the append-only triggers (see README in this folder).
    creates_audit = "op.create_table('audit_entry'" in (upgrades or "")
%>"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
% if creates_audit:
from trading.audit.models import (
    APPEND_ONLY_TABLES,
    PG_APPEND_ONLY_FUNCTION,
    PG_APPEND_ONLY_TRIGGERS,
    PG_IMMUTABLE_FUNCTION,
    PG_IMMUTABLE_TRIGGERS,
)
% endif

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}
% if creates_audit:
    _audit_upgrade()
% endif


def downgrade():
% if creates_audit:
    _audit_downgrade()
% endif
    ${downgrades if downgrades else "pass"}
% if creates_audit:


# --- written by hand (rendered from script.py.mako; autogenerate cannot see rows or triggers) ---

def _audit_upgrade():
    """The chain's head row (next seq 0, genesis hash of 32 zero bytes) and, on PostgreSQL, the
    triggers that refuse UPDATE, DELETE and TRUNCATE of audit_entry, and UPDATE and DELETE of the
    checkpoints, cosignatures and stored tree nodes."""
    # Literal SQL rather than bulk_insert: `flask db upgrade --sql` cannot print a bytes parameter.
    zero = "00" * 32
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"INSERT INTO audit_head (id, next_seq, last_hash) VALUES (1, 0, decode('{zero}', 'hex'))")
    else:
        op.execute(f"INSERT INTO audit_head (id, next_seq, last_hash) VALUES (1, 0, X'{zero}')")
    if op.get_context().dialect.name == "postgresql":
        # A plain string: its single % (RAISE's placeholder) reaches PostgreSQL as written; only the
        # DDL() event in the models doubles it.
        op.execute(PG_IMMUTABLE_FUNCTION)
        for statement in PG_IMMUTABLE_TRIGGERS:
            op.execute(statement)
        # checkpoints, cosignatures and stored tree nodes: append-only too
        op.execute(PG_APPEND_ONLY_FUNCTION)
        for statement in PG_APPEND_ONLY_TRIGGERS:
            op.execute(statement)


def _audit_downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_immutable()")
        for name in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_append_only ON {name}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
% endif
