"""Audit rows. No code path updates or deletes them; on PostgreSQL a trigger refuses it too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from trading.core.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    #: dense sequence 0, 1, 2, … assigned under the head lock
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: canonical JSON bytes, hashed exactly as stored
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: SHA-256(prev_hash || SHA-256(0x00 || body))
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    # Columns below copy fields of `body` for search; the body is the record.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    actor_org_id: Mapped[int | None] = mapped_column(Integer)
    #: the project the entry belongs to, when there is one (project timelines)
    project_id: Mapped[int | None] = mapped_column(Integer)
    #: a lot whose bid deadline must pass before anyone may read this entry: who registered, downloaded,
    #: paid or submitted is secret until then (招标投标法 Art. 22), from supervisors too (rules.md §2.4)
    embargo_lot_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_audit_entry_object", "object_type", "object_id", "seq"),
        Index("ix_audit_entry_action", "action", "seq"),
        Index("ix_audit_entry_project", "project_id", "seq"),
        Index("ix_audit_entry_actor", "actor_user_id", "seq"),
        Index("ix_audit_entry_embargo", "embargo_lot_id"),
    )


class AuditHead(Base):
    """One row (id = 1): the next seq and the last entry hash. Appenders lock it, so the chain is
    written by one transaction at a time and never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditCheckpoint(Base):
    """A signed tree head (C2SP tlog-checkpoint) over the first `size` entries. One per size: the
    platform never signs two roots for one size (a split view would show as two rows)."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    #: RFC 9162 MTH of entries 0 … size-1
    root: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    #: the signed note exactly as signed and served
    note: Mapped[str] = mapped_column(Text, nullable=False)
    #: the right edge of the tree at `size` (32-byte hashes, largest subtree first): the next
    #: checkpoint hashes only the entries after this one
    frontier: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: periodic | milestone | deadline | manual
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    #: the milestone's action code and entry seq (reason milestone), or the lots whose offer deadline
    #: it commits (reason deadline, in `detail`)
    milestone_action: Mapped[str | None] = mapped_column(String(64))
    milestone_seq: Mapped[int | None] = mapped_column(BigInteger)
    #: canonical JSON of what the checkpoint commits beyond the root (deadline: lots and sealed digests)
    detail: Mapped[str | None] = mapped_column(Text)


class AuditMerkleNode(Base):
    """Perfect subtrees of the Merkle tree at level >= NODE_MIN_LEVEL, kept as checkpoints complete
    them, so proofs read at most 2^NODE_MIN_LEVEL entries per subtree instead of the whole log."""

    __tablename__ = "audit_merkle_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    #: the subtree covers leaves [index << level, (index + 1) << level)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditWitness(Base):
    """A supervisory department that cosigns checkpoints with its own Ed25519 key (the private key
    stays with the department; the platform holds the public key only)."""

    __tablename__ = "audit_witness"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: the cosignature key name (C2SP), e.g. witness.<credit code>
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    public_raw: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class AuditCosignature(Base):
    """A witness's tlog-cosignature/v1 on one checkpoint, verified against its registered key."""

    __tablename__ = "audit_cosignature"
    __table_args__ = (UniqueConstraint("checkpoint_id", "witness_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("audit_checkpoint.id"), nullable=False)
    witness_id: Mapped[int] = mapped_column(ForeignKey("audit_witness.id"), nullable=False)
    #: the signature line exactly as submitted ("— <name> <base64>")
    line: Mapped[str] = mapped_column(Text, nullable=False)
    #: the witness's own time in the cosignature (seconds since the epoch)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


# Tests build the schema with create_all; migrations insert the same row explicitly.
_ZERO_HEX = "00" * 32
event.listen(AuditHead.__table__, "after_create",
             DDL(f"INSERT INTO audit_head (id, next_seq, last_hash) VALUES (1, 0, X'{_ZERO_HEX}')")
             .execute_if(dialect="sqlite"))
event.listen(AuditHead.__table__, "after_create",
             DDL(f"INSERT INTO audit_head (id, next_seq, last_hash) VALUES (1, 0, '\\x{_ZERO_HEX}'::bytea)")
             .execute_if(dialect="postgresql"))

#: PostgreSQL refuses UPDATE, DELETE and TRUNCATE on audit rows whatever the caller.
PG_IMMUTABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
PG_IMMUTABLE_TRIGGERS = [
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_immutable()",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_immutable()",
]
event.listen(AuditEntry.__table__, "after_create", DDL(PG_IMMUTABLE_FUNCTION.replace("%", "%%")).execute_if(dialect="postgresql"))
for _stmt in PG_IMMUTABLE_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))

#: Checkpoints, their cosignatures and the stored tree nodes are append-only too (PostgreSQL), and
#: so is the supervisors' access log (supervision.access.models, which attaches its own trigger from
#: this list; named here, not imported, so that the one migration creates every such trigger).
PG_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TABLES = ("audit_checkpoint", "audit_cosignature", "audit_merkle_node", "supervision_view_log")
#: the triggers (the migration creates the same ones: migrations/script.py.mako)
PG_APPEND_ONLY_TRIGGERS = [
    f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()" for name in APPEND_ONLY_TABLES]
for _table in (AuditCheckpoint.__table__, AuditCosignature.__table__, AuditMerkleNode.__table__):
    event.listen(_table, "after_create", DDL(PG_APPEND_ONLY_FUNCTION.replace("%", "%%")).execute_if(dialect="postgresql"))
    event.listen(_table, "after_create", DDL(
        PG_APPEND_ONLY_TRIGGERS[APPEND_ONLY_TABLES.index(_table.name)]).execute_if(dialect="postgresql"))
