"""The export bundle and the stand-alone verifier, run as a subprocess on a bundle copied away from the
platform: a clean bundle passes; each tampering is detected and named."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories.accounts import make_org
from trading.audit import checkpoints as cps
from trading.audit import keys, note
from trading.audit.export import export_bundle
from trading.audit.services import record
from trading.extensions import db

EDIT_FROM, EDIT_TO = "第".encode(), "弟".encode()  # one character of an entry's text, same length
VERIFIER = Path(__file__).parents[2] / "trading" / "audit" / "standalone_verify.py"


def _write(ctx, n, start=0):
    for i in range(start, start + n):
        record(ctx, "test.event", "thing", i, payload={"n": i, "name": f"第{i}号", "digest": "ab" * 32})


@pytest.fixture
def bundle(app, ctx, tmp_path):
    """A log of 40 entries with checkpoints at 10, 25 (cosigned) and 38, exported and copied away."""
    org = make_org(ctx, "supervisor")
    wkey = Ed25519PrivateKey.generate()
    witness = cps.register_witness(ctx, org_id=org.id, name="witness.test", public_raw=note.public_raw(wkey))
    _write(ctx, 9)
    cps.make_checkpoint(ctx, "periodic")
    _write(ctx, 15, 9)
    cp = cps.make_checkpoint(ctx, "periodic")
    body, _ = note.split_note(cp.note)
    cps.submit_cosignature(ctx, cp.size, note.cosign(body, witness.name, wkey, 1_780_000_000).line())
    _write(ctx, 12, 30)
    cps.make_checkpoint(ctx, "periodic")
    _write(ctx, 2, 50)
    db.session.commit()
    src = tmp_path / "exported"
    export_bundle(db.session, src, now=ctx.now())
    away = tmp_path / "elsewhere" / "bundle"
    shutil.copytree(src, away)
    return away, keys.log_verifier_key(), keys.log_key()


def run(directory: Path, vkey: str, *extra) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-I", str(directory / "standalone_verify.py"), "bundle", str(directory),
                           "--log-key", vkey, *extra], capture_output=True, text=True, cwd=directory.parent, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def _entries(d: Path) -> list[bytes]:
    return (d / "entries.bin").read_bytes().split(b"\n")[:-1]


def _save(d: Path, bodies: list[bytes], hashes: list[bytes] | None = None) -> None:
    (d / "entries.bin").write_bytes(b"".join(b + b"\n" for b in bodies))
    if hashes is not None:
        (d / "entry_hashes.bin").write_bytes(b"".join(hashes))


def _hashes(d: Path) -> list[bytes]:
    raw = (d / "entry_hashes.bin").read_bytes()
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def _head(d: Path, **values) -> None:
    head = json.loads((d / "head.json").read_text())
    head.update(values)
    (d / "head.json").write_text(json.dumps(head))


def test_verifier_imports_only_stdlib_and_cryptography():
    tree = ast.parse(VERIFIER.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    assert roots - {"__future__", "cryptography"} <= set(sys.stdlib_module_names)
    assert "cryptography" in roots and "trading" not in roots


def test_clean_bundle_passes(bundle):
    d, vkey, _ = bundle
    code, out = run(d, vkey)
    assert code == 0, out
    n, sizes = len(_entries(d)), [r["size"] for r in _checkpoints(d)]
    assert f"{n} entries, chain recomputed; 3 checkpoint size(s), 3 root(s) recomputed and matching; 1 witnessed" in out
    assert f"entries {sizes[-1]}…{n - 1} are not yet covered" in out


def test_edited_byte_is_named(bundle):
    d, vkey, _ = bundle
    bodies = _entries(d)
    bodies[17] = bodies[17].replace(EDIT_FROM, EDIT_TO)
    _save(d, bodies)
    code, out = run(d, vkey)
    assert code == 1 and "FAIL [edited] entry seq 17 was edited" in out
    covering = min(r["size"] for r in _checkpoints(d) if r["size"] > 17)
    assert f"FAIL [root-mismatch] checkpoint of size {covering} " in out


def test_deleted_entry_is_named(bundle):
    d, vkey, _ = bundle
    bodies, hashes = _entries(d), _hashes(d)
    del bodies[12], hashes[12]
    _save(d, bodies, hashes)
    _head(d, next_seq=len(bodies))
    code, out = run(d, vkey)
    assert code == 1 and "FAIL [deleted] entries seq 12…12 were deleted" in out


def test_inserted_entry_is_named(bundle):
    d, vkey, _ = bundle
    bodies, hashes = _entries(d), _hashes(d)
    forged = bodies[12].replace(EDIT_FROM, EDIT_TO)
    bodies.insert(12, forged)
    hashes.insert(12, hashlib.sha256(hashes[11] + hashlib.sha256(b"\x00" + forged).digest()).digest())
    _save(d, bodies, hashes)
    code, out = run(d, vkey)
    assert code == 1 and "FAIL [inserted] an entry was inserted at seq 12" in out


def test_reordered_entries_are_named(bundle):
    d, vkey, _ = bundle
    bodies, hashes = _entries(d), _hashes(d)
    bodies[20], bodies[21] = bodies[21], bodies[20]
    hashes[20], hashes[21] = hashes[21], hashes[20]
    _save(d, bodies, hashes)
    code, out = run(d, vkey)
    assert code == 1 and "FAIL [reordered] entries are reordered: seq 20 is at position 21" in out


def test_truncated_log_is_named(bundle):
    d, vkey, _ = bundle
    last = _checkpoints(d)[-1]["size"]
    bodies, hashes = _entries(d)[:last - 5], _hashes(d)[:last - 5]
    _save(d, bodies, hashes)
    _head(d, next_seq=len(bodies), last_hash=hashes[-1].hex())  # a consistent-looking head: the checkpoint tells
    code, out = run(d, vkey)
    assert code == 1 and f"FAIL [truncated] a checkpoint signs {last} entries but the bundle holds {last - 5}" in out


def test_rewritten_history_with_recomputed_chain_is_caught_by_the_signed_root(bundle):
    d, vkey, _ = bundle
    bodies = _entries(d)
    bodies[3] = bodies[3].replace(EDIT_FROM, EDIT_TO)
    assert bodies[3] != _entries(d)[3]
    prev, hashes = bytes(32), []
    for b in bodies:
        prev = hashlib.sha256(prev + hashlib.sha256(b"\x00" + b).digest()).digest()
        hashes.append(prev)
    _save(d, bodies, hashes)
    _head(d, last_hash=prev.hex())
    code, out = run(d, vkey)
    first = _checkpoints(d)[0]["size"]
    assert code == 1 and f"FAIL [root-mismatch] checkpoint of size {first} " in out and "[edited]" not in out


def _checkpoints(d: Path) -> list[dict]:
    return [json.loads(line) for line in (d / "checkpoints.jsonl").read_text().splitlines()]


def test_forged_checkpoint_is_named(bundle):
    d, vkey, _ = bundle
    rows = _checkpoints(d)
    body, sigs = note.split_note(rows[1]["note"])
    parsed = note.parse_checkpoint(body)
    fake_root = hashlib.sha256(b"fake").digest()
    rows[1]["note"] = rows[1]["note"].replace(base64.b64encode(parsed.root).decode(), base64.b64encode(fake_root).decode())
    (d / "checkpoints.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out = run(d, vkey)
    assert code == 1 and f"FAIL [forged-checkpoint] checkpoints.jsonl line 2: checkpoint of size {parsed.size} is " \
                         "not signed by the log key" in out


def test_checkpoint_signed_by_another_key_and_a_swapped_key_file_are_named(bundle):
    d, vkey, _ = bundle
    other = Ed25519PrivateKey.generate()
    body = note.checkpoint_body(keys.DEFAULT_ORIGIN, 43, hashlib.sha256(b"x").digest())
    (d / "mine.note").write_text(note.signed_note(body, [note.sign_body(body, keys.DEFAULT_ORIGIN, other)]))
    k = json.loads((d / "keys.json").read_text())
    k["log"] = note.verifier_key(keys.DEFAULT_ORIGIN, note.public_raw(other))
    (d / "keys.json").write_text(json.dumps(k))
    code, out = run(d, vkey, "--checkpoint", str(d / "mine.note"))
    assert code == 1
    assert "FAIL [forged-checkpoint] the bundle's log key differs" in out
    assert "FAIL [forged-checkpoint] " + str(d / "mine.note") + ": checkpoint of size 43 is not signed" in out


def test_split_view_is_named(bundle):
    d, vkey, log_key = bundle
    rows = _checkpoints(d)
    size = json.loads(json.dumps(rows[1]))["size"]
    fork = note.checkpoint_body(keys.DEFAULT_ORIGIN, size, hashlib.sha256(b"another history").digest())
    (d / "fork.note").write_text(note.signed_note(fork, [note.sign_body(fork, keys.DEFAULT_ORIGIN, log_key)]))
    code, out = run(d, vkey, "--checkpoint", str(d / "fork.note"))
    assert code == 1 and f"FAIL [split-view] two different roots were signed for size {size}" in out


def test_bad_cosignature_is_named(bundle):
    d, vkey, _ = bundle
    rows = _checkpoints(d)
    sig_line = rows[1]["note"].splitlines()[-1]
    name, b64 = sig_line.split(" ")[1:]
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    rows[1]["note"] = rows[1]["note"].replace(b64, base64.b64encode(bytes(raw)).decode())
    (d / "checkpoints.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out = run(d, vkey)
    assert code == 1 and f"FAIL [bad-cosignature] checkpoints.jsonl line 2: cosignature by {name} does not verify" in out


def test_cli_export(app, ctx, tmp_path):
    assert cps.make_checkpoint(ctx).size == 0  # the empty log's checkpoint: root SHA-256("")
    _write(ctx, 3)
    cps.make_checkpoint(ctx)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "export", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    code, out = run(tmp_path / "b", keys.log_verifier_key())
    assert code == 0 and "2 checkpoint size(s), 2 root(s) recomputed and matching" in out, out
