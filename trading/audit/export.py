"""`flask audit export`: the offline bundle (design/audit.md stage 2). A directory holding the entries'
exact bytes, their chain hashes, the head, every checkpoint with its cosignatures, the public keys and
a copy of the stand-alone verifier — everything an auditor needs, nothing of the platform's database.
Format: see standalone_verify.py."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from trading.core.clock import rfc3339

from . import keys
from .checkpoints import cosigned_note
from .models import AuditCheckpoint, AuditHead, AuditWitness
from .services import iter_rows

FORMAT = "ptaudit-bundle/1"
VERIFIER = Path(__file__).with_name("standalone_verify.py")


def export_bundle(session, directory: str | Path, *, now: datetime) -> dict:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    head_seq, head_hash = session.execute(select(AuditHead.next_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one()
    count = 0
    with open(out / "entries.bin", "wb") as entries, open(out / "entry_hashes.bin", "wb") as hashes:
        for seq, body, entry_hash in iter_rows(session):
            if seq >= head_seq:
                break
            if b"\n" in body:
                raise ValueError(f"audit entry {seq} holds a newline: not canonical JSON")
            entries.write(body + b"\n")
            hashes.write(entry_hash)
            count += 1
    (out / "head.json").write_text(json.dumps({"next_seq": head_seq, "last_hash": bytes(head_hash).hex()}))
    with open(out / "checkpoints.jsonl", "w", encoding="utf-8") as f:
        for cp in session.execute(select(AuditCheckpoint).where(AuditCheckpoint.size <= head_seq)
                                  .order_by(AuditCheckpoint.size)).scalars():
            f.write(json.dumps({"size": cp.size, "note": cosigned_note(session, cp), "reason": cp.reason,
                                "milestone_action": cp.milestone_action, "created_at": rfc3339(cp.created_at)},
                               ensure_ascii=False) + "\n")
    witnesses = [{"name": w.name, "public": base64.b64encode(bytes(w.public_raw)).decode(), "org_id": w.org_id}
                 for w in session.execute(select(AuditWitness).order_by(AuditWitness.id)).scalars()]
    (out / "keys.json").write_text(json.dumps({"log": keys.log_verifier_key(), "witnesses": witnesses}, indent=1))
    manifest = {"format": FORMAT, "origin": keys.origin(), "entries": count, "exported_at": rfc3339(now),
                "verify": "python standalone_verify.py bundle . --log-key '<the log key obtained elsewhere>'"}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.copyfile(VERIFIER, out / "standalone_verify.py")
    return manifest
