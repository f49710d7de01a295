"""The hash chain, pure: entry_hash = SHA-256(prev_hash || SHA-256(0x00 || entry_bytes)).
The inner hash is the RFC 9162 leaf hash, so stage 2 builds its Merkle tree over the same rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = bytes(32)


def leaf_hash(entry_bytes: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry_bytes).digest()


def chain_hash(prev_hash: bytes, entry_bytes: bytes) -> bytes:
    return hashlib.sha256(prev_hash + leaf_hash(entry_bytes)).digest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    bad_seq: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"OK: {self.count} entries, chain intact"
        return f"FAILED at seq {self.bad_seq}: {self.reason}"


def verify_chain(rows: Iterable[tuple[int, bytes, bytes]], head: tuple[int, bytes] | None = None) -> VerifyResult:
    """rows: (seq, stored bytes, stored entry_hash) in seq order. head: (next_seq, last_hash) as kept
    in the head row, which catches rows cut from the end."""
    prev = GENESIS
    expected = 0
    for seq, body, stored_hash in rows:
        if seq != expected:
            return VerifyResult(False, expected, expected,
                                f"sequence gap or reorder: expected seq {expected}, found {seq}")
        try:
            inner_seq = json.loads(body.decode("utf-8")).get("seq")
        except (UnicodeDecodeError, ValueError, AttributeError):
            return VerifyResult(False, expected, seq, "stored bytes are not a valid entry")
        if inner_seq != seq:
            return VerifyResult(False, expected, seq, f"entry bytes carry seq {inner_seq}, row has {seq}")
        computed = chain_hash(prev, bytes(body))
        if computed != bytes(stored_hash):
            return VerifyResult(False, expected, seq, "hash mismatch: entry bytes or an earlier link changed")
        prev = computed
        expected += 1
    if head is not None:
        next_seq, last_hash = head
        if next_seq != expected:
            return VerifyResult(False, expected, expected,
                                f"head says {next_seq} entries but {expected} are stored (entries cut)")
        if bytes(last_hash) != prev:
            return VerifyResult(False, expected, max(expected - 1, 0), "head hash does not match last entry")
    return VerifyResult(True, expected)
