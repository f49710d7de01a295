#!/usr/bin/env python3
"""Stand-alone verifier of the platform's audit trail (公共资源交易平台审计日志独立校验工具).

Needs Python 3.10+ and the `cryptography` package only: no platform code, no database. Copy this one
file anywhere and run:

  python standalone_verify.py bundle DIR [--log-key VKEY] [--checkpoint FILE ...]
      Recompute, in one pass over the exported entries, every leaf (SHA-256(0x00 || entry bytes)), the
      hash chain (SHA-256(prev || leaf)) and the RFC 9162 root at every checkpoint size; check every
      checkpoint's Ed25519 signature and every witness cosignature; name what is wrong: an edited
      entry (its seq), a deleted, inserted, reordered or truncated entry, a forged checkpoint, a split
      view (two roots signed for one size — extra checkpoints a witness or bidder kept can be added with
      --checkpoint). VKEY is the log's verifier key obtained out of band ("name+keyid+base64"); without
      it the key in the bundle is used and the report says so.
  python standalone_verify.py receipt RECEIPT.json [--log-key VKEY] [--receipt-key BASE64]
      Check a bidder's receipt offline: its entry is in the signed checkpoint (inclusion proof), and
      with --receipt-key (GET /api/v1/receipt-key "public") the platform's signature on the receipt.
  python standalone_verify.py keygen --key FILE --name NAME
      A witness's new Ed25519 key (PEM, mode 0600); prints the public key to register on the platform.
  python standalone_verify.py cosign --key FILE --name NAME --state FILE --log-key VKEY --url URL [--token T]
      Witness: fetch the latest checkpoint and a consistency proof from the last size this witness
      cosigned, verify both, cosign (C2SP tlog-cosignature/v1) and submit. Never cosigns two roots for
      one size or a tree that does not extend the last one.

Bundle (flask audit export): entries.bin (each entry's exact bytes followed by a newline; canonical
JSON never contains one), entry_hashes.bin (the stored 32-byte chain hash of each entry), head.json,
checkpoints.jsonl (one {"size", "note"} per line, the note with its cosignature lines), keys.json
({"log": VKEY, "witnesses": [{"name", "public"}]}), manifest.json.

Exit status 0 when everything checks, 1 when something is wrong (each problem on its own line), 2 on
bad usage."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import struct
import sys
import time
import urllib.request
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

sha256 = hashlib.sha256
DASH = "\u2014"
GENESIS = bytes(32)


# --- Merkle (RFC 9162) ----------------------------------------------------------------------------

def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def frontier_root(hashes: list) -> bytes:
    if not hashes:
        return sha256(b"").digest()
    r = hashes[-1]
    for h in reversed(hashes[:-1]):
        r = node_hash(h, r)
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list, root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: list) -> bool:
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    path = list(proof)
    if not path:
        return False
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# --- signed notes (C2SP signed-note, tlog-checkpoint, tlog-cosignature) ----------------------------

def key_id(name: str, public: bytes, sig_type: int = 0x01) -> bytes:
    return sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public).digest()[:4]


def parse_vkey(vkey: str) -> tuple:
    name, kid, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33 or raw[0] != 1 or key_id(name, raw[1:]).hex() != kid:
        raise ValueError(f"not an Ed25519 verifier key: {vkey!r}")
    return name, raw[1:]


def split_note(text: str) -> tuple:
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise ValueError("not a signed note")
    sigs = []
    for line in text[cut + 2:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise ValueError(f"malformed signature line {line!r}")
        sigs.append((parts[1], base64.b64decode(parts[2], validate=True)))
    return text[:cut + 1], sigs


def parse_checkpoint(body: str) -> tuple:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[1].isdigit():
        raise ValueError("not a checkpoint body")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("checkpoint root is not 32 bytes")
    return lines[0], int(lines[1]), root


def ed25519_ok(public: bytes, sig: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def note_signed_by(body: str, sigs: list, name: str, public: bytes) -> bool:
    kid = key_id(name, public)
    return any(n == name and raw[:4] == kid and len(raw) == 68 and ed25519_ok(public, raw[4:], body.encode("utf-8"))
               for n, raw in sigs)


def cosignature_time(body: str, raw: bytes, name: str, public: bytes):
    if len(raw) != 76 or raw[:4] != key_id(name, public, 0x04):
        return None
    t = struct.unpack(">Q", raw[4:12])[0]
    return t if ed25519_ok(public, raw[12:], f"cosignature/v1\ntime {t}\n{body}".encode()) else None


def cosign_line(body: str, name: str, key: Ed25519PrivateKey, t: int) -> str:
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = key.sign(f"cosignature/v1\ntime {t}\n{body}".encode())
    raw = key_id(name, pub, 0x04) + struct.pack(">Q", t) + sig
    return f"{DASH} {name} {base64.b64encode(raw).decode()}\n"


# --- the bundle -------------------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.problems: list = []
        self.notes: list = []

    def fail(self, kind: str, text: str) -> None:
        self.problems.append(f"FAIL [{kind}] {text}")

    def info(self, text: str) -> None:
        self.notes.append(text)


def _seq_of(body: bytes):
    try:
        value = json.loads(body.decode("utf-8")).get("seq")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _diagnose(bodies: list, i: int, report: Report) -> None:
    """Name what happened at the first entry whose chain hash disagrees (position i)."""
    seq = _seq_of(bodies[i])
    nxt = _seq_of(bodies[i + 1]) if i + 1 < len(bodies) else None
    if seq == i and nxt == i:
        report.fail("inserted", f"an entry was inserted at seq {i} (seq {i} appears twice)")
    elif seq == i:
        report.fail("edited", f"entry seq {i} was edited: its bytes do not hash to its recorded chain hash")
    elif seq is None:
        report.fail("edited", f"entry seq {i} was edited: its bytes are not a valid entry")
    elif seq > i:
        later = next((j for j in range(i + 1, min(len(bodies), i + 1 + 10_000)) if _seq_of(bodies[j]) == i), None)
        if later is not None:
            report.fail("reordered", f"entries are reordered: seq {i} is at position {later}, seq {seq} at {i}")
        else:
            report.fail("deleted", f"entries seq {i}…{seq - 1} were deleted (seq {seq} found at position {i})")
    else:  # an earlier seq again: a copy was inserted before it, or entries were moved back
        twin = next((j for j in range(i - 1, max(-1, i - 10_001), -1) if _seq_of(bodies[j]) == seq), None)
        if twin is not None:
            report.fail("inserted", f"an entry was inserted at seq {twin} (seq {seq} appears twice, at positions "
                                    f"{twin} and {i})")
        else:
            report.fail("reordered", f"entries are reordered: seq {seq} is at position {i}")


def load_checkpoints(path: Path, extra: list) -> list:
    """[(source, size, note text)] from the bundle and any extra checkpoint files."""
    out = []
    if path.exists():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                out.append((f"checkpoints.jsonl line {n}", row.get("size"), row["note"]))
    for file in extra:
        out.append((str(file), None, Path(file).read_text(encoding="utf-8")))
    return out


def verify_bundle(directory, log_vkey: str | None = None, extra_checkpoints: list = ()) -> Report:
    d = Path(directory)
    report = Report()
    keys = json.loads((d / "keys.json").read_text(encoding="utf-8"))
    if log_vkey is None:
        log_vkey = keys["log"]
        report.info("log key taken from the bundle (pass --log-key to check against a key obtained elsewhere)")
    elif keys.get("log") != log_vkey:
        report.fail("forged-checkpoint", "the bundle's log key differs from the one given with --log-key")
    log_name, log_pub = parse_vkey(log_vkey)
    witnesses = {w["name"]: base64.b64decode(w["public"]) for w in keys.get("witnesses", [])}
    head = json.loads((d / "head.json").read_text(encoding="utf-8"))

    # checkpoints first: signature and form, so the one pass knows which sizes to stop at
    by_size: dict = {}
    for source, listed, text in load_checkpoints(d / "checkpoints.jsonl", list(extra_checkpoints)):
        try:
            body, sigs = split_note(text)
            origin, size, root = parse_checkpoint(body)
        except (ValueError, KeyError) as exc:
            report.fail("forged-checkpoint", f"{source}: not a signed checkpoint ({exc})")
            continue
        if origin != log_name or not note_signed_by(body, sigs, log_name, log_pub):
            report.fail("forged-checkpoint", f"{source}: checkpoint of size {size} is not signed by the log key "
                                             f"{log_name}")
            continue
        if listed is not None and listed != size:
            report.fail("forged-checkpoint", f"{source}: listed as size {listed} but the signed note says {size}")
        for name, raw in sigs:
            if name == log_name:
                continue
            if name not in witnesses:
                report.fail("bad-cosignature", f"{source}: signature by unknown key {name!r}")
            elif cosignature_time(body, raw, name, witnesses[name]) is None:
                report.fail("bad-cosignature", f"{source}: cosignature by {name} does not verify")
        roots = by_size.setdefault(size, {})
        roots.setdefault(root, []).append((source, [n for n, _ in sigs if n != log_name]))
    for size, roots in sorted(by_size.items()):
        if len(roots) > 1:
            shown = "; ".join(f"{base64.b64encode(r).decode()} ({', '.join(s for s, _ in src)})" for r, src in roots.items())
            report.fail("split-view", f"two different roots were signed for size {size}: {shown}")

    data = (d / "entries.bin").read_bytes()
    hashes = (d / "entry_hashes.bin").read_bytes()
    bodies = data.split(b"\n")
    if bodies[-1] != b"":
        report.fail("truncated", "entries.bin does not end with a newline: the last entry was cut")
    bodies.pop()
    n = len(bodies)
    if len(hashes) != 32 * n:
        report.fail("truncated", f"{n} entries but {len(hashes) // 32} chain hashes")
    sizes = sorted(s for s in by_size if s <= n)
    if by_size and max(by_size) > n:
        report.fail("truncated", f"a checkpoint signs {max(by_size)} entries but the bundle holds {n}: entries were "
                                 f"cut from the end")
    if head.get("next_seq") != n:
        report.fail("truncated" if head.get("next_seq", 0) > n else "inserted",
                    f"the head says {head.get('next_seq')} entries, the bundle holds {n}")

    # the one pass: leaf, chain link, frontier; root at every checkpoint size
    computed = {}
    targets = iter(sizes)
    want = next(targets, None)
    if want == 0:
        computed[0] = frontier_root([])
        want = next(targets, None)
    frontier: list = []
    prev = GENESIS
    bad_chain = None
    offset = 0
    size = 0
    for body in bodies:
        leaf = sha256(b"\x00" + body).digest()
        prev = sha256(prev + leaf).digest()
        if bad_chain is None and prev != hashes[offset:offset + 32]:
            bad_chain = size
        offset += 32
        frontier.append(leaf)
        m = size
        while m & 1:
            right = frontier.pop()
            frontier[-1] = sha256(b"\x01" + frontier[-1] + right).digest()
            m >>= 1
        size += 1
        if size == want:
            computed[size] = frontier_root(frontier)
            want = next(targets, None)
    if bad_chain is not None:
        _diagnose(bodies, bad_chain, report)
    elif n and bytes.fromhex(head.get("last_hash", "")) != prev:
        report.fail("truncated", "the head's last hash is not the chain's end")

    good_sizes = 0
    for size in sizes:
        roots = by_size[size]
        for root, sources in roots.items():
            if computed[size] != root:
                report.fail("root-mismatch", f"checkpoint of size {size} ({sources[0][0]}) signs a root the entries "
                                             f"0…{size - 1} do not give: entries before {size} changed")
            else:
                good_sizes += 1
    witnessed = sum(1 for roots in by_size.values() for src in roots.values() if any(w for _, w in src))
    report.info(f"{n} entries, chain recomputed; {len(by_size)} checkpoint size(s), {good_sizes} root(s) recomputed "
                f"and matching; {witnessed} witnessed")
    last = max(by_size) if by_size else 0
    if n > last:
        report.info(f"entries {last}…{n - 1} are not yet covered by a signed checkpoint")
    return report


# --- receipts ------------------------------------------------------------------------------------

def verify_receipt(doc: dict, log_vkey: str | None, receipt_key: str | None = None) -> Report:
    report = Report()
    if receipt_key is not None:  # the platform's receipt signature (canonical JSON of the receipt body)
        public = base64.b64decode(receipt_key)
        signed = json.dumps(doc.get("receipt", {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if not ed25519_ok(public, base64.b64decode(doc.get("signature", "")), signed.encode()):
            report.fail("receipt-signature", "the receipt's signature does not verify with the given receipt key")
        elif doc.get("key_id") != sha256(public).digest()[:8].hex():
            report.fail("receipt-signature", "the receipt names another key id than the given receipt key")
        else:
            report.info("receipt signature verified")
    inc = doc.get("inclusion")
    if not inc:
        report.fail("no-proof", "the receipt carries no inclusion proof yet (no checkpoint covered it when downloaded)")
        return report
    vkey = log_vkey or inc.get("log_key")
    if log_vkey is None:
        report.info("log key taken from the receipt (pass --log-key to check against a key obtained elsewhere)")
    name, pub = parse_vkey(vkey)
    try:
        body, sigs = split_note(inc["checkpoint"])
        origin, size, root = parse_checkpoint(body)
    except (ValueError, KeyError) as exc:
        report.fail("forged-checkpoint", f"the receipt's checkpoint is malformed ({exc})")
        return report
    if origin != name or not note_signed_by(body, sigs, name, pub):
        report.fail("forged-checkpoint", "the receipt's checkpoint is not signed by the log key")
    entry = inc["entry"].encode("utf-8")
    index = inc["leaf_index"]
    receipt = doc.get("receipt", {})
    if receipt.get("audit_seq") != index or _seq_of(entry) != index:
        report.fail("mismatch", f"the receipt's audit seq {receipt.get('audit_seq')} is not the proven entry {index}")
    payload = json.loads(entry).get("payload", {})
    if receipt.get("payload_sha256") is not None and payload.get("payload_sha256") != receipt.get("payload_sha256"):
        report.fail("mismatch", "the proven entry records another payload digest than the receipt")
    proof = [base64.b64decode(p) for p in inc["proof"]]
    if inc.get("tree_size") != size or not verify_inclusion(index, size, sha256(b"\x00" + entry).digest(), proof, root):
        report.fail("inclusion", f"entry {index} is not included in the checkpoint of size {size}")
    if not report.problems:
        report.info(f"entry {index} is in the log's signed checkpoint of size {size}")
    return report


# --- witness -------------------------------------------------------------------------------------

def witness_step(note_text: str, proof_b64: list, state: dict, key: Ed25519PrivateKey, name: str, log_vkey: str,
                 now: int) -> tuple:
    """Verify a checkpoint and its consistency with the last cosigned one; return (cosignature line, new
    state). Raises ValueError naming the reason to refuse."""
    log_name, log_pub = parse_vkey(log_vkey)
    body, sigs = split_note(note_text)
    origin, size, root = parse_checkpoint(body)
    if origin != log_name or not note_signed_by(body, sigs, log_name, log_pub):
        raise ValueError("the checkpoint is not signed by the log key")
    old_size, old_root = state.get("size", 0), base64.b64decode(state.get("root", "")) or sha256(b"").digest()
    if size < old_size:
        raise ValueError(f"the log went back from size {old_size} to {size}")
    if size == old_size and root != old_root:
        raise ValueError(f"split view: size {size} was cosigned with another root")
    proof = [base64.b64decode(p) for p in proof_b64]
    if old_size and not verify_consistency(old_size, size, old_root, root, proof):
        raise ValueError(f"the checkpoint of size {size} does not extend the cosigned size {old_size}")
    line = cosign_line(body, name, key, now)
    return line, {"size": size, "root": base64.b64encode(root).decode(), "log": log_vkey}


def _http(method: str, url: str, token: str | None, payload: dict | None = None) -> dict:
    req = urllib.request.Request(url, method=method, data=json.dumps(payload).encode() if payload is not None else None)
    req.add_header("Accept", "application/json")
    if payload is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (the operator gives the URL)
        return json.loads(resp.read().decode("utf-8"))


def load_key(path: str) -> Ed25519PrivateKey:
    key = load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the key file does not hold an Ed25519 private key")
    return key


def cmd_cosign(args) -> int:
    key = load_key(args.key)
    state_path = Path(args.state)
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    base = args.url.rstrip("/") + "/api/v1/audit"
    latest = _http("GET", base + "/checkpoints/latest", args.token)
    size = latest["size"]
    proof = []
    if state.get("size") and state["size"] < size:
        proof = _http("GET", f"{base}/consistency?first={state['size']}&second={size}", args.token)["proof"]
    line, new_state = witness_step(latest["note"], proof, state, key, args.name, args.log_key, int(time.time()))
    _http("POST", f"{base}/checkpoints/{size}/cosignatures", args.token, {"line": line})
    tmp = state_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(new_state))
    os.replace(tmp, state_path)
    print(f"cosigned size {size}")
    return 0


def cmd_keygen(args) -> int:
    key = Ed25519PrivateKey.generate()
    fd = os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    print(f"name: {args.name}\npublic key (base64, register on the platform): {base64.b64encode(pub).decode()}")
    return 0


def _print(report: Report) -> int:
    for line in report.notes:
        print(line)
    for line in report.problems:
        print(line)
    print("OK" if not report.problems else f"FAILED: {len(report.problems)} problem(s)")
    return 0 if not report.problems else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Stand-alone audit trail verifier (stdlib + cryptography)")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bundle", help="verify an export bundle directory")
    b.add_argument("directory")
    b.add_argument("--log-key")
    b.add_argument("--checkpoint", action="append", default=[], help="an extra signed checkpoint note file")
    r = sub.add_parser("receipt", help="verify a receipt's inclusion proof")
    r.add_argument("file")
    r.add_argument("--log-key")
    r.add_argument("--receipt-key", help="the platform's receipt public key, base64 (raw 32 bytes)")
    k = sub.add_parser("keygen", help="make a witness key")
    k.add_argument("--key", required=True)
    k.add_argument("--name", required=True)
    c = sub.add_parser("cosign", help="witness: verify and cosign the latest checkpoint")
    for opt in ("--key", "--name", "--state", "--log-key", "--url"):
        c.add_argument(opt, required=True)
    c.add_argument("--token")
    args = p.parse_args(argv)
    try:
        if args.cmd == "bundle":
            return _print(verify_bundle(args.directory, args.log_key, args.checkpoint))
        if args.cmd == "receipt":
            return _print(verify_receipt(json.loads(Path(args.file).read_text(encoding="utf-8")), args.log_key,
                                         args.receipt_key))
        if args.cmd == "keygen":
            return cmd_keygen(args)
        return cmd_cosign(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"FAILED: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
