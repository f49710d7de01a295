"""Canonical bytes of an audit entry: JSON with sorted keys, no whitespace, UTF-8, integers only.
The entry is hashed exactly as stored; the verifier never re-serialises."""

from __future__ import annotations

import json
from datetime import datetime

from trading.core.clock import rfc3339


def _check(value, path: str = "$"):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, float):
        raise TypeError(f"audit payload {path}: floats are not allowed (money is integer fen)")
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"audit payload {path}: keys must be strings")
            out[k] = _check(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_check(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bytes):
        raise TypeError(f"audit payload {path}: give bytes as hex digests, not raw bytes")
    raise TypeError(f"audit payload {path}: unsupported type {type(value).__name__}")


def canonical_bytes(obj: dict) -> bytes:
    return json.dumps(_check(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")
