"""Stand-alone audit verifier on a 1,000,000-entry bundle against a bare SHA-256 loop over the same bytes.

The bundle is synthetic but shaped like the platform's: canonical JSON bodies of about 300 bytes made
by trading.audit.canonical (a notice, an offer, a score … with Chinese text and digests), the hash
chain, and Ed25519-signed C2SP checkpoints every 10,000 entries (as a busy log checkpoints every
minute) with a witness cosigning every tenth. Both sides run as their own `python -I` process over the
same entries.bin: the verifier (`standalone_verify.py bundle`: leaves, chain, every checkpoint root,
signatures) and a loop that reads the file, splits it and hashes every entry once with SHA-256 and
nothing else. ratio = baseline time ÷ verifier time (1.0 would be a verifier as cheap as one hash
per entry; it does at least three: leaf, chain link, Merkle node). No database is used."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import Figure
from trading.audit import merkle, note
from trading.audit.canonical import canonical_bytes

ENTRIES = 1_000_000
CHECKPOINT_EVERY = 10_000
ORIGIN = "bench.trading.local/audit-log"
TARGET = 0.3
VERIFIER = Path(__file__).resolve().parents[1] / "trading" / "audit" / "standalone_verify.py"

BARE_LOOP = """
import hashlib, sys, time
t = time.perf_counter()
bodies = open(sys.argv[1], "rb").read().split(b"\\n")
bodies.pop()
sha256 = hashlib.sha256
for b in bodies:
    sha256(b).digest()
print(len(bodies), time.perf_counter() - t)
"""

_ACTIONS = [("notice.published", "notice"), ("offer.submitted", "submission"), ("evaluation.sheet_saved", "sheet"),
            ("deposit.refunded", "deposit"), ("participation.registered", "participation")]


def body(i: int) -> bytes:
    action, otype = _ACTIONS[i % len(_ACTIONS)]
    return canonical_bytes({
        "v": 1, "seq": i, "at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",
        "action": action, "object": {"type": otype, "id": str(100_000 + i)}, "project": 1000 + i % 700,
        "actor": {"user": 200 + i % 900, "org": 30 + i % 300, "name": f"user{i % 900}", "role": "bidder"},
        "ip": f"10.{i % 200}.{i % 250}.{i % 253 + 1}",
        "payload": {"lot_code": f"SFX-2026-{i % 900:04d}-01", "sha256": hashlib.sha256(i.to_bytes(8, "big")).hexdigest()}})


def make_bundle(directory: Path, n: int) -> dict:
    log_key, witness_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    frontier = merkle.Frontier()
    prev = bytes(32)
    size_total = 0
    with open(directory / "entries.bin", "wb") as entries, open(directory / "entry_hashes.bin", "wb") as hashes, \
            open(directory / "checkpoints.jsonl", "w") as cps:
        for i in range(n):
            b = body(i)
            size_total += len(b)
            leaf = merkle.leaf_hash(b)
            prev = hashlib.sha256(prev + leaf).digest()
            entries.write(b + b"\n")
            hashes.write(prev)
            frontier.append(leaf)
            if frontier.size % CHECKPOINT_EVERY == 0:
                text = note.checkpoint_body(ORIGIN, frontier.size, frontier.root())
                sigs = [note.sign_body(text, ORIGIN, log_key)]
                if frontier.size % (CHECKPOINT_EVERY * 10) == 0:
                    sigs.append(note.cosign(text, "witness.bench", witness_key, 1_780_000_000 + i))
                cps.write(json.dumps({"size": frontier.size, "note": note.signed_note(text, sigs)}) + "\n")
    (directory / "head.json").write_text(json.dumps({"next_seq": n, "last_hash": prev.hex()}))
    vkey = note.verifier_key(ORIGIN, note.public_raw(log_key))
    (directory / "keys.json").write_text(json.dumps({"log": vkey, "witnesses": [
        {"name": "witness.bench", "public": base64.b64encode(note.public_raw(witness_key)).decode()}]}))
    shutil.copyfile(VERIFIER, directory / "standalone_verify.py")
    return {"vkey": vkey, "average_body": size_total / n, "checkpoints": n // CHECKPOINT_EVERY}


def run(scale: float = 1.0) -> list[Figure]:
    n = max(CHECKPOINT_EVERY, int(ENTRIES * scale))
    with tempfile.TemporaryDirectory(prefix="bench_audit_verify_") as tmp:
        d = Path(tmp)
        started = time.perf_counter()
        info = make_bundle(d, n)
        built = time.perf_counter() - started

        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-I", str(d / "standalone_verify.py"), "bundle", str(d),
                               "--log-key", info["vkey"]], capture_output=True, text=True)
        verify_s = time.perf_counter() - started
        ok = proc.returncode == 0 and proc.stdout.rstrip().endswith("OK")

        started = time.perf_counter()
        bare = subprocess.run([sys.executable, "-I", "-c", BARE_LOOP, str(d / "entries.bin")],
                              capture_output=True, text=True, check=True)
        bare_s = time.perf_counter() - started
        bare_count, bare_inner = bare.stdout.split()
    verify_rate, bare_rate = n / verify_s, n / bare_s
    ratio = verify_rate / bare_rate
    return [Figure(
        name="stand-alone verifier, bundle", value=round(verify_rate, 1), unit="entries/s",
        baseline=round(bare_rate, 1), baseline_name="bare SHA-256 loop", target=f"ratio >= {TARGET}",
        ok=ok and ratio >= TARGET,
        note=f"{n:,} entries (average body {info['average_body']:.0f} bytes), {info['checkpoints']} checkpoints: "
             f"verifier {verify_s:.2f} s, bare loop {bare_s:.2f} s ({float(bare_inner):.2f} s inside), "
             f"both as python -I processes reading the same file; bundle built in {built:.0f} s\n"
             f"verifier says: {proc.stdout.strip().splitlines()[-2] if ok else proc.stdout + proc.stderr}",
        details={"entries": n, "verify_seconds": round(verify_s, 3), "bare_seconds": round(bare_s, 3),
                 "bare_inner_seconds": float(bare_inner), "bare_count": int(bare_count),
                 "checkpoints": info["checkpoints"], "average_body": round(info["average_body"], 1),
                 "verifier_ok": ok})]
