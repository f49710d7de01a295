"""Re-running a draw from its two audit entries and its pool snapshot, pure. Anyone holding the
bodies of the `expert_draw.requested` and `expert_draw.run` entries (JSON, as the trail stores them)
and the snapshot bytes can check, without the database:

1. the request came before the run (seq order);
2. the revealed seed hashes to the commitment made in the request (SHA-256);
3. the snapshot hashes to the digest committed in the request entry and repeated in the run entry;
4. the avoidance filters and the sampler of draw.rules, applied to the snapshot with the request of
   the request entry and the revealed seed, give exactly the committed eligible ids (digest), the
   recorded eligible count and the recorded panel.

Imports: core.errors, draw.rules."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from trading.core.errors import DomainError

from . import rules


@dataclass(frozen=True)
class DrawVerification:
    draw_id: int
    ok: bool
    #: check name → passed (order: the module docstring's)
    checks: dict[str, bool] = field(default_factory=dict)
    recorded: tuple[int, ...] = ()
    recomputed: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()


def check(draw_id: int, request_entry: dict[str, Any], run_entry: dict[str, Any], snapshot: bytes) -> DrawVerification:
    """Entries are the decoded audit bodies ({"seq", "action", "payload", …})."""
    checks: dict[str, bool] = {}
    problems: list[str] = []
    req_p, run_p = request_entry.get("payload", {}), run_entry.get("payload", {})
    checks["order"] = (request_entry.get("action") == "expert_draw.requested"
                       and run_entry.get("action") == "expert_draw.run"
                       and int(request_entry.get("seq", -1)) < int(run_entry.get("seq", -1)))
    try:
        seed = bytes.fromhex(run_p.get("seed", ""))
    except ValueError:
        seed = b""
    checks["commitment"] = len(seed) == rules.SEED_BYTES and hashlib.sha256(seed).hexdigest() == req_p.get("seed_sha256")
    digest = rules.sha256_hex(snapshot)
    checks["snapshot"] = digest == run_p.get("snapshot_sha256") and req_p.get("snapshot_sha256", digest) == digest
    recorded = tuple(run_p.get("result") or ())
    recomputed: tuple[int, ...] = ()
    try:
        req = rules.request_from_record(req_p["request"])
        outcome = rules.draw(rules.snapshot_from_bytes(snapshot), req, seed if len(seed) == 32 else b"\0" * 32)
        recomputed = outcome.chosen_ids
        eligible_digest = rules.ids_sha256(outcome.eligible_ids)
        checks["result"] = (recomputed == recorded and len(outcome.eligible_ids) == run_p.get("eligible_count")
                            and req_p.get("eligible_sha256", eligible_digest) == eligible_digest)
    except (KeyError, TypeError, ValueError, DomainError) as exc:
        checks["result"] = False
        problems.append(f"re-run failed: {type(exc).__name__}: {exc}")
    problems += [f"{name} check failed" for name, ok in checks.items() if not ok]
    return DrawVerification(draw_id, all(checks.values()), checks, recorded, recomputed, tuple(problems))
