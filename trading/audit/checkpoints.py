"""Stage 2 services: signed checkpoints over the stored entries, proofs, witnesses and cosignatures.

Nothing here runs in the append path. A checkpoint extends the tree from the previous checkpoint's
stored frontier, so it hashes only the entries recorded since; perfect subtrees of 2^NODE_MIN_LEVEL
leaves and more are stored as they complete, so a proof reads at most that many entries per subtree.

When: `flask audit checkpoint` (periodic, e.g. every minute by cron; it does nothing if the log did not
grow), at a milestone action in the same transaction as the milestone (services.record marks it; the
before-commit hook below signs), and at offer deadlines (supervision.checkpoints, scheduled)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import column, func, select, table
from sqlalchemy.dialects import postgresql, sqlite

from trading.core.clock import rfc3339
from trading.core.context import ServiceContext
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound

from . import keys, merkle, note
from .canonical import canonical_bytes
from .models import AuditCheckpoint, AuditCosignature, AuditEntry, AuditHead, AuditMerkleNode, AuditWitness

_log = logging.getLogger(__name__)
NODE_MIN_LEVEL = 8
BATCH = 5000


# --- building ------------------------------------------------------------------------------------

def latest_checkpoint(session, *, max_size: int | None = None) -> AuditCheckpoint | None:
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)
    if max_size is not None:
        stmt = stmt.where(AuditCheckpoint.size <= max_size)
    return session.execute(stmt).scalar_one_or_none()


def checkpoint_at(session, size: int) -> AuditCheckpoint | None:
    return session.execute(select(AuditCheckpoint).where(AuditCheckpoint.size == size)).scalar_one_or_none()


def _bodies(session, lo: int, hi: int):
    while lo < hi:
        rows = session.execute(select(AuditEntry.seq, AuditEntry.body).where(AuditEntry.seq >= lo, AuditEntry.seq < hi)
                               .order_by(AuditEntry.seq).limit(BATCH)).all()
        if not rows:
            raise RuntimeError(f"audit entries {lo}…{hi - 1} are missing")
        for seq, body in rows:
            if seq != lo:
                raise RuntimeError(f"audit entry {lo} is missing")
            yield bytes(body)
            lo += 1


def _insert_nodes(session, nodes: list[dict]) -> None:
    if not nodes:
        return
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AuditMerkleNode.__table__)
    for i in range(0, len(nodes), 1000):
        session.execute(ins.on_conflict_do_nothing(), nodes[i:i + 1000])


def build_checkpoint(session, now: datetime, reason: str, *, size: int | None = None, action: str | None = None,
                     seq: int | None = None, detail: dict | None = None) -> AuditCheckpoint:
    """Sign a checkpoint over the first `size` entries (default: all recorded, as this transaction
    sees them). Returns the existing one when a checkpoint of that size exists (a milestone then
    keeps that checkpoint: its root already commits the milestone entry)."""
    if size is None:
        size = session.execute(select(AuditHead.next_seq).where(AuditHead.id == 1)).scalar_one()
    existing = checkpoint_at(session, size)
    if existing is not None:
        return existing
    last = latest_checkpoint(session, max_size=size)
    frontier = merkle.Frontier.unpack(last.size, bytes(last.frontier)) if last else merkle.Frontier()
    nodes: list[dict] = []

    def keep(level: int, index: int, h: bytes) -> None:
        if level >= NODE_MIN_LEVEL:
            nodes.append({"level": level, "index": index, "hash": h})

    leaf = merkle.leaf_hash
    for body in _bodies(session, frontier.size, size):
        frontier.append(leaf(body), keep)
    _insert_nodes(session, nodes)
    root = frontier.root()
    body = note.checkpoint_body(keys.origin(), size, root)
    text = note.signed_note(body, [note.sign_body(body, keys.origin(), keys.log_key())])
    cp = AuditCheckpoint(size=size, root=root, note=text, frontier=frontier.pack(), created_at=now, reason=reason,
                         milestone_action=action, milestone_seq=seq,
                         detail=canonical_bytes(detail).decode("utf-8") if detail is not None else None)
    session.add(cp)
    session.flush()
    return cp


def make_checkpoint(ctx: ServiceContext, reason: str = "manual", *, detail: dict | None = None) -> AuditCheckpoint:
    """A checkpoint over everything recorded so far (periodic, manual or at an offer deadline)."""
    if reason not in ("periodic", "manual", "deadline", "milestone"):
        raise InvalidInput("audit.checkpoint_reason", "检查点原因无效", "Unknown checkpoint reason")
    return build_checkpoint(ctx.session, ctx.now(), reason, detail=detail)


def checkpoint_milestones(session, pending: list[tuple[str, int, datetime]]) -> AuditCheckpoint | None:
    """Called before the commit of a transaction that recorded milestone entries: one checkpoint
    over everything up to and including them, in the same transaction."""
    action, seq, now = pending[-1]
    if not keys.available():  # no log key outside the app: the next periodic checkpoint covers it
        _log.warning("audit milestone %s at seq %s: no app context, checkpoint left to the periodic run", action, seq)
        return None
    return build_checkpoint(session, now, "milestone", action=action, seq=seq,
                            detail={"milestones": [[a, s] for a, s, _ in pending]} if len(pending) > 1 else None)


# --- proofs --------------------------------------------------------------------------------------

class StoredTree:
    """A subtree provider over the stored nodes and entries (merkle.Subtree)."""

    def __init__(self, session):
        self.session = session

    def __call__(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n & (n - 1) == 0 and lo % n == 0:
            level = n.bit_length() - 1
            if level >= NODE_MIN_LEVEL:
                h = self.session.execute(select(AuditMerkleNode.hash).where(
                    AuditMerkleNode.level == level, AuditMerkleNode.index == lo >> level)).scalar_one_or_none()
                if h is not None:
                    return bytes(h)
        if n > 1 << NODE_MIN_LEVEL:
            k = merkle.split_point(n)
            return merkle.node_hash(self(lo, lo + k), self(lo + k, hi))
        return merkle.root_of_leaves([merkle.leaf_hash(b) for b in _bodies(self.session, lo, hi)])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def inclusion(session, seq: int, *, size: int | None = None) -> dict[str, Any] | None:
    """The inclusion proof of entry `seq` against the latest checkpoint (or the one of `size`), with
    the entry's exact bytes and the checkpoint note with its cosignatures — or None while no
    checkpoint covers it."""
    cp = checkpoint_at(session, size) if size is not None else latest_checkpoint(session)
    if cp is None or cp.size <= seq:
        return None
    body = session.execute(select(AuditEntry.body).where(AuditEntry.seq == seq)).scalar_one()
    proof = merkle.inclusion_proof(seq, cp.size, StoredTree(session))
    return {"leaf_index": seq, "tree_size": cp.size, "entry": bytes(body).decode("utf-8"),
            "leaf_hash": b64(merkle.leaf_hash(bytes(body))), "proof": [b64(p) for p in proof],
            "checkpoint": cosigned_note(session, cp), "witnessed": witness_count(session, cp.id) > 0}


def consistency(session, first: int, second: int) -> list[bytes]:
    for s in (first, second):
        if s and checkpoint_at(session, s) is None:
            raise NotFound("audit.no_checkpoint", f"没有规模为 {s} 的检查点", f"No checkpoint of size {s}")
    if first > second:
        raise InvalidInput("audit.consistency_order", "起始规模大于目标规模", "First size exceeds second size")
    return merkle.consistency_proof(first, second, StoredTree(session))


# --- witnesses -----------------------------------------------------------------------------------

#: accounts.rules.OrgKind.SUPERVISOR, read through a bare table so audit imports no domain package
SUPERVISOR_KIND = "supervisor"
_org = table("organisation", column("id"), column("kind"))


def register_witness(ctx: ServiceContext, *, org_id: int, name: str, public_raw: bytes) -> AuditWitness:
    """Register a supervisory department's cosigning key (called by the administrator's CLI)."""
    try:
        note.check_name(name)
    except note.NoteError:
        raise InvalidInput("audit.witness_name", "见证人密钥名称不能含空格或“+”",
                           "A witness key name has no spaces or '+'") from None
    if len(public_raw) != 32:
        raise InvalidInput("audit.witness_key", "见证人公钥须为 32 字节 Ed25519 公钥",
                           "A witness key is a 32-byte Ed25519 public key")
    kind = ctx.session.execute(select(_org.c.kind).where(_org.c.id == org_id)).scalar_one_or_none()
    if kind != SUPERVISOR_KIND:
        raise InvalidInput("audit.witness_org", "见证人须为已登记的行政监督部门",
                           "A witness is a registered supervising authority")
    if ctx.session.execute(select(AuditWitness.id).where(AuditWitness.name == name)).first():
        raise Conflict("audit.witness_exists", "该见证人密钥名称已登记", "That witness key name is registered")
    w = AuditWitness(org_id=org_id, name=name, public_raw=public_raw, created_at=ctx.now(), active=True)
    ctx.session.add(w)
    ctx.session.flush()
    from .services import record
    record(ctx, "audit.witness_registered", "audit_witness", w.id,
           payload={"org_id": org_id, "name": name, "public_key": b64(public_raw)})
    return w


def witness_count(session, checkpoint_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AuditCosignature)
                          .where(AuditCosignature.checkpoint_id == checkpoint_id)) or 0


def last_cosigned_size(session, witness_id: int) -> int | None:
    return session.scalar(select(func.max(AuditCheckpoint.size)).join(
        AuditCosignature, AuditCosignature.checkpoint_id == AuditCheckpoint.id)
        .where(AuditCosignature.witness_id == witness_id))


def submit_cosignature(ctx: ServiceContext, size: int, line: str) -> AuditCosignature:
    """Store a witness's cosignature on the checkpoint of `size` after checking it against the
    registered key. The witness checked consistency itself; the platform keeps what it signed."""
    cp = checkpoint_at(ctx.session, size)
    if cp is None:
        raise NotFound("audit.no_checkpoint", f"没有规模为 {size} 的检查点", f"No checkpoint of size {size}")
    try:
        sig = note.parse_signature_line(line.strip())
    except note.NoteError:
        raise InvalidInput("audit.cosignature_form", "副署签名行格式错误", "The cosignature line is malformed") from None
    witness = ctx.session.execute(select(AuditWitness).where(AuditWitness.name == sig.name,
                                                             AuditWitness.active.is_(True))).scalar_one_or_none()
    if witness is None:
        raise InvalidInput("audit.witness_unknown", "该见证人未登记", "No registered witness has that key name")
    if ctx.actor.org_id is not None and witness.org_id != ctx.actor.org_id:
        raise Forbidden("audit.witness_other_org", "只能以本单位登记的见证人密钥副署",
                        "A witness cosigns only with its own organisation's registered key")
    body, _ = note.split_note(cp.note)
    timestamp = note.verify_cosignature(body, sig, witness.name, bytes(witness.public_raw))
    if timestamp is None:
        raise InvalidInput("audit.cosignature_invalid", "副署签名验证失败", "The cosignature does not verify")
    existing = ctx.session.execute(select(AuditCosignature).where(
        AuditCosignature.checkpoint_id == cp.id, AuditCosignature.witness_id == witness.id)).scalar_one_or_none()
    if existing is not None:
        return existing
    cosig = AuditCosignature(checkpoint_id=cp.id, witness_id=witness.id, line=sig.line(), timestamp=timestamp,
                             created_at=ctx.now())
    ctx.session.add(cosig)
    ctx.session.flush()
    from .services import record
    record(ctx, "audit.checkpoint_cosigned", "audit_checkpoint", cp.size,
           payload={"size": cp.size, "root": b64(bytes(cp.root)), "witness": witness.name, "time": timestamp})
    return cosig


def cosigned_note(session, cp: AuditCheckpoint) -> str:
    """The checkpoint note with the log's signature and every stored cosignature line."""
    lines = session.execute(select(AuditCosignature.line).where(AuditCosignature.checkpoint_id == cp.id)
                            .order_by(AuditCosignature.id)).scalars().all()
    return cp.note + "".join(lines)


def checkpoint_rows(session, limit: int = 20) -> list[dict]:
    """The latest checkpoints with their witnesses, for the supervision page."""
    cps = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(limit)).scalars().all()
    names: dict[int, list[str]] = {}
    if cps:
        for cid, name in session.execute(
                select(AuditCosignature.checkpoint_id, AuditWitness.name)
                .join(AuditWitness, AuditWitness.id == AuditCosignature.witness_id)
                .where(AuditCosignature.checkpoint_id.in_([c.id for c in cps]))):
            names.setdefault(cid, []).append(name)
    return [{"size": c.size, "root": bytes(c.root).hex(), "created_at": c.created_at, "reason": c.reason,
             "action": c.milestone_action, "witnesses": names.get(c.id, [])} for c in cps]


def checkpoint_json(session, cp: AuditCheckpoint) -> dict[str, Any]:
    return {"size": cp.size, "root": b64(bytes(cp.root)), "note": cosigned_note(session, cp),
            "created_at": rfc3339(cp.created_at), "reason": cp.reason, "milestone_action": cp.milestone_action,
            "milestone_seq": cp.milestone_seq, "detail": json.loads(cp.detail) if cp.detail else None,
            "witnessed": witness_count(session, cp.id) > 0}


# --- offer deadlines -----------------------------------------------------------------------------

def sealed_digests(session, lot_id: int) -> list[list]:
    """The lot's sealed offers standing at this moment, replayed from its audit entries
    (offer.submitted minus withdrawn or superseded): [[submission id, part, sha256, seq], …]."""
    rows = session.execute(select(AuditEntry.seq, AuditEntry.action, AuditEntry.object_id, AuditEntry.body)
                           .where(AuditEntry.embargo_lot_id == lot_id,
                                  AuditEntry.action.in_(("offer.submitted", "offer.withdrawn")))
                           .order_by(AuditEntry.seq)).all()
    standing: dict[str, list] = {}
    for seq, action, object_id, body in rows:
        payload = json.loads(bytes(body).decode("utf-8"))["payload"]
        if action == "offer.withdrawn":
            standing.pop(object_id, None)
            continue
        if payload.get("supersedes"):
            standing.pop(payload["supersedes"], None)
        standing[object_id] = [object_id, payload.get("part"), payload.get("payload_sha256"), seq]
    return sorted(standing.values(), key=lambda r: r[3])
