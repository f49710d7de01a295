"""C2SP signed notes, tlog-checkpoint bodies and tlog-cosignature/v1 lines, with Ed25519. Pure:
stdlib and `cryptography`; no Flask, no database.

checkpoint body   "<origin>\\n<size>\\n<base64 root>\\n"
signed note       body + "\\n" + one line per signature: "— <key name> <base64(key id || signature)>\\n"
key id            SHA-256(<key name> || 0x0A || type || public key)[:4]; type 0x01 = Ed25519 note
                  signature, 0x04 = cosignature/v1
Ed25519 signature over the body bytes exactly as written.
cosignature/v1    signature over "cosignature/v1\\ntime <t>\\n" + body; the line's payload is
                  key id || t (uint64 big-endian, seconds since the epoch) || signature
verifier key      "<name>+<hex key id>+<base64(0x01 || public key)>" (the note verifier-key form)

The stand-alone verifier (standalone_verify.py) carries its own copy of these few lines on purpose:
it must run with nothing of this package installed."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
DASH = "\u2014"
COSIGNATURE_PREFIX = "cosignature/v1\ntime {}\n"


class NoteError(ValueError):
    """A note, checkpoint or signature line that is not in the expected form."""


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"a key name must be non-empty, without spaces or '+': {name!r}")
    return name


def key_id(name: str, public: bytes, sig_type: int = SIG_ED25519) -> bytes:
    return hashlib.sha256(check_name(name).encode("utf-8") + b"\n" + bytes([sig_type]) + bytes(public)).digest()[:4]


def verifier_key(name: str, public: bytes) -> str:
    return f"{name}+{key_id(name, public).hex()}+{base64.b64encode(bytes([SIG_ED25519]) + bytes(public)).decode()}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    try:
        name, kid_hex, b64 = vkey.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise NoteError(f"not a verifier key: {vkey!r}") from exc
    if len(raw) != 33 or raw[0] != SIG_ED25519 or key_id(name, raw[1:]).hex() != kid_hex:
        raise NoteError(f"verifier key {name!r} is not an Ed25519 key with a matching key id")
    return name, raw[1:]


# --- checkpoint bodies ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return checkpoint_body(self.origin, self.size, self.root)


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    if not origin or "\n" in origin or size < 0 or len(root) != 32:
        raise NoteError("a checkpoint needs an origin line, a size >= 0 and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(line == "" for line in lines[:-1]):
        raise NoteError("a checkpoint body is origin, size, root (and extension lines), each ending in a newline")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"checkpoint size is not a decimal number: {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise NoteError("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise NoteError("checkpoint root is not 32 bytes")
    return Checkpoint(origin, int(size_text), root)


# --- signed notes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoteSignature:
    name: str
    raw: bytes  # key id (4 bytes) || signature bytes

    @property
    def key_id(self) -> bytes:
        return self.raw[:4]

    def line(self) -> str:
        return f"{DASH} {self.name} {base64.b64encode(self.raw).decode()}\n"


def split_note(text: str) -> tuple[str, list[NoteSignature]]:
    """(body, signatures) of a signed note. The body ends with its newline; the blank line separates."""
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise NoteError("a signed note is text, a blank line and signature lines")
    body, tail = text[:cut + 1], text[cut + 2:]
    sigs = []
    for line in tail[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"malformed signature line: {line!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError as exc:
            raise NoteError(f"signature line is not base64: {line!r}") from exc
        if len(raw) < 5:
            raise NoteError(f"signature line too short: {line!r}")
        sigs.append(NoteSignature(check_name(parts[1]), raw))
    if not sigs:
        raise NoteError("a signed note needs at least one signature")
    return body, sigs


def sign_body(body: str, name: str, key: Ed25519PrivateKey) -> NoteSignature:
    return NoteSignature(name, key_id(name, public_raw(key)) + key.sign(body.encode("utf-8")))


def signed_note(body: str, signatures: list[NoteSignature]) -> str:
    return body + "\n" + "".join(s.line() for s in signatures)


def _ed25519_ok(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_signature(body: str, sig: NoteSignature, name: str, public: bytes) -> bool:
    return (sig.name == name and sig.key_id == key_id(name, public) and len(sig.raw) == 68
            and _ed25519_ok(public, sig.raw[4:], body.encode("utf-8")))


def find_signature(sigs: list[NoteSignature], name: str, public: bytes, sig_type: int = SIG_ED25519):
    kid = key_id(name, public, sig_type)
    return next((s for s in sigs if s.name == name and s.key_id == kid), None)


# --- cosignatures (C2SP tlog-cosignature, cosignature/v1) -----------------------------------------

def cosign(body: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    message = (COSIGNATURE_PREFIX.format(timestamp) + body).encode("utf-8")
    return NoteSignature(name, key_id(name, public_raw(key), SIG_COSIGNATURE_V1) + struct.pack(">Q", timestamp)
                         + key.sign(message))


def verify_cosignature(body: str, sig: NoteSignature, name: str, public: bytes) -> int | None:
    """The cosignature's timestamp when it is valid for this body and key, else None."""
    if sig.name != name or len(sig.raw) != 76 or sig.key_id != key_id(name, public, SIG_COSIGNATURE_V1):
        return None
    timestamp = struct.unpack(">Q", sig.raw[4:12])[0]
    message = (COSIGNATURE_PREFIX.format(timestamp) + body).encode("utf-8")
    return timestamp if _ed25519_ok(public, sig.raw[12:], message) else None


def parse_signature_line(line: str) -> NoteSignature:
    text = line if line.endswith("\n") else line + "\n"
    _, sigs = split_note("x\n\n" + text)
    if len(sigs) != 1:
        raise NoteError("expected exactly one signature line")
    return sigs[0]
