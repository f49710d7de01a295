"""Writing and reading the audit trail. `record` is called by every mutating service inside its own
transaction, so the entry commits or rolls back with the change it describes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from trading.core.clock import rfc3339
from trading.core.context import ServiceContext

from .canonical import canonical_bytes
from .chain import VerifyResult, chain_hash, verify_chain
from .models import AuditEntry, AuditHead

#: payload keys that must never reach the trail (sealed contents, secrets)
FORBIDDEN_KEYS = frozenset({"password", "password_hash", "totp_secret", "token", "share", "private_key", "plaintext"})


def _scrub(payload: dict[str, Any]) -> dict[str, Any]:
    bad = FORBIDDEN_KEYS.intersection(payload)
    if bad:
        raise ValueError(f"audit payload must not carry secrets: {sorted(bad)}")
    return payload


@dataclass(frozen=True)
class Recorded:
    """What an append returns: enough for a receipt (seq, hash) without loading the row."""
    seq: int
    entry_hash: bytes
    body: bytes


_head = AuditHead.__table__
_entries = AuditEntry.__table__

# The append's statements, built once (the head lock is held from the first of them to the commit,
# so every microsecond spent building and compiling them would be spent by every concurrent writer).
_TAKE_WRITER_LOCK = update(_head).where(_head.c.id == 1).values(next_seq=_head.c.next_seq)  # SQLite
_READ_HEAD = select(_head.c.next_seq, _head.c.last_hash).where(_head.c.id == 1)
_LOCK_HEAD = _READ_HEAD.with_for_update()  # PostgreSQL: the row lock serialises appenders
_INSERT_ENTRY = _entries.insert().values(**{c: bindparam(c) for c in (
    "seq", "body", "entry_hash", "created_at", "action", "object_type", "object_id", "actor_user_id",
    "actor_org_id", "project_id", "embargo_lot_id")})
_ADVANCE_HEAD = update(_head).where(_head.c.id == 1).values(next_seq=bindparam("next_seq"),
                                                            last_hash=bindparam("last_hash"))
#: PostgreSQL: the insert as a data-modifying CTE of the update, one round trip under the lock
_APPEND = _ADVANCE_HEAD.add_cte(_INSERT_ENTRY.cte("appended"))


def record(ctx: ServiceContext, action: str, object_type: str, object_id: Any, *,
           payload: dict[str, Any] | None = None, project_id: int | None = None,
           embargo_lot_id: int | None = None) -> Recorded:
    """Append one entry under the head lock. `payload` says what changed (old → new).

    `embargo_lot_id` marks an entry that reveals a bidder's participation in that lot: readers hide it
    until the lot's deadline has passed (supervision.embargo). It is part of the hashed body, so
    clearing the column cannot un-hide an entry unnoticed.

    Plain Core statements, not the ORM: the head row stays locked from here until the request
    commits, so every microsecond spent here is spent by every concurrent writer."""
    session = ctx.session
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite: take the writer lock before reading, to avoid the read-then-upgrade deadlock.
        session.execute(_TAKE_WRITER_LOCK)
        seq, prev = session.execute(_READ_HEAD).one()
    else:
        seq, prev = session.execute(_LOCK_HEAD).one()  # the chain cannot fork
    now = ctx.now()
    actor = ctx.actor
    fields = {
        "v": 1,
        "seq": seq,
        "at": rfc3339(now),
        "action": action,
        "object": {"type": object_type, "id": str(object_id)},
        "project": project_id,
        "actor": {"user": actor.user_id, "org": actor.org_id, "name": actor.username,
                  "role": actor.acting_role},
        # The client address is inside the hashed body on purpose: "from which IP" is evidence
        # (supervisors' timelines, the same-address alerts across bidders) and must be as tamper-evident
        # as who and when; an address kept beside the chain could be rewritten unnoticed. It comes from
        # the web layer (core.web: request.remote_addr, through ProxyFix only with TRUSTED_PROXIES).
        "ip": ctx.ip,
        "payload": _scrub(payload or {}),
    }
    if embargo_lot_id is not None:
        fields["embargo_lot"] = embargo_lot_id
    body = canonical_bytes(fields)
    entry_hash = chain_hash(bytes(prev), body)
    params = {"seq": seq, "body": body, "entry_hash": entry_hash, "created_at": now, "action": action,
              "object_type": object_type, "object_id": str(object_id), "actor_user_id": actor.user_id,
              "actor_org_id": actor.org_id, "project_id": project_id, "embargo_lot_id": embargo_lot_id,
              "next_seq": seq + 1, "last_hash": entry_hash}
    if sqlite:
        session.execute(_INSERT_ENTRY, params)
        session.execute(_ADVANCE_HEAD, params)
    else:
        session.execute(_APPEND, params)
    if action in MILESTONE_ACTIONS or action.startswith("complaint."):
        _mark_milestone(session, action, seq, now)
    if action in WATCHED_ACTIONS:
        session.info.setdefault(WATCHED_KEY, []).append(seq)
    return Recorded(seq, entry_hash, body)


#: Actions a later layer evaluates after the commit (supervision alerts fill it at import): the
#: append only notes the seq, O(1); the rules run after the commit, outside the head lock.
WATCHED_ACTIONS: set[str] = set()
WATCHED_KEY = "audit_watched"


#: Actions after which a checkpoint is signed in the same transaction (design/audit.md stage 2): the
#: opening (sealed offers, negotiation quotes), the opening record, the final evaluation report, the
#: candidate publicity and the award, answers to objections (异议/质疑), and every complaint (投诉)
#: decision (complaint.* codes ending in COMPLAINT_DECISIONS). The offer deadline has no event of its
#: own: supervision.checkpoints signs one on schedule (and opening.opened lists every digest again).
MILESTONE_ACTIONS = frozenset({
    "opening.opened", "negotiation.quotes_opened", "opening.record_published", "opening.dispute_answered",
    "evaluation.report_final", "award.candidates_publicized", "award.determined", "award.objection_answered",
})
COMPLAINT_DECISIONS = ("decided", "dismissed", "rejected", "upheld", "resolved")
_PENDING = "audit_milestones"


def _mark_milestone(session, action: str, seq: int, now) -> None:
    """O(1) in the append: note the milestone; the before-commit hook signs one checkpoint."""
    if action.startswith("complaint.") and not action.endswith(COMPLAINT_DECISIONS):
        return
    session.info.setdefault(_PENDING, []).append((action, seq, now))


@event.listens_for(Session, "before_commit")
def _checkpoint_before_commit(session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a SAVEPOINT's release (SQLAlchemy fires the commit events for it too): not the commit
    pending = session.info.pop(_PENDING, None)
    if pending:
        from .checkpoints import checkpoint_milestones
        checkpoint_milestones(session, pending)


@event.listens_for(Session, "after_rollback")
def _forget_milestones(session) -> None:
    if session.get_nested_transaction() is None:  # a SAVEPOINT's rollback keeps the outer's milestones
        session.info.pop(_PENDING, None)


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for the fields that changed — what an update entry records."""
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def iter_rows(session, batch: int = 5000) -> Iterator[tuple[int, bytes, bytes]]:
    last = -1
    while True:
        rows = session.execute(
            select(AuditEntry.seq, AuditEntry.body, AuditEntry.entry_hash)
            .where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return
        for seq, body, h in rows:
            yield seq, bytes(body), bytes(h)
        last = rows[-1][0]


def verify(session) -> VerifyResult:
    head = session.execute(select(AuditHead.next_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one_or_none()
    if head is None:
        return VerifyResult(False, 0, 0, "audit head row is missing")
    # Ordered by the stored seq; a row moved between positions shows as a gap or as a bytes/seq mismatch.
    return verify_chain(iter_rows(session), head=(head[0], bytes(head[1])))


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    import json
    return {"seq": entry.seq, "entry_hash": entry.entry_hash.hex(), "at": rfc3339(entry.created_at),
            "entry": json.loads(bytes(entry.body).decode("utf-8"))}
