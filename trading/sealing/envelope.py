"""The ptbid/v1 suite-1 envelope of design/sealing.md: seal, parse, check, verify, open.

Pure crypto (pyca `cryptography`): HPKE (DHKEM P-256, HKDF-SHA256, AES-256-GCM) wraps one DEK per
recipient with info = context; the payload is a 13-byte header and STREAM AES-256-GCM chunks with
aad = header || context; the bidder signs `to_be_signed` with ECDSA P-256 / SHA-256 (raw r||s).

`open_envelope` runs every check in the order of the vectors' decision I15: v, suite, key set, context
fields, other manifest fields, expected context, lot opening key, own kid, signer key, size limit,
payload_len, header/layout, payload_sha256, signature, unwrap, chunks. Everything before the digest
runs before any crypto."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .failures import EnvelopeError, Failure

LABEL = b"ptbid/v1"
SIG_LABEL = b"ptbid/v1 sig"
MAGIC = b"PTBP"
VERSION = 1
SUITE = 1
HEADER_LEN = 13
PREFIX_LEN = 7
TAG_LEN = 16
DEK_LEN = 32
WRAP_LEN = 113
KID_LEN = 8
SIG_LEN = 64
CHUNK_LOG2_MIN, CHUNK_LOG2_MAX, CHUNK_LOG2_DEFAULT = 10, 24, 22
MAX_CHUNKS = 2**32
#: closed list; "reserve" is an owner's sealed 底价 (auction lots, issue 5), never a bidder's part
PARTS = ("price", "documents", "reserve")
ROLES = ("opening", "bidder")
MANIFEST_KEYS = frozenset(
    {"v", "suite", "lot_id", "bidder_id", "part", "submission_id", "recipients", "payload_sha256",
     "payload_len", "sig"})
RECIPIENT_KEYS = frozenset({"role", "kid", "wrap"})
SIG_KEYS = frozenset({"alg", "kid", "value"})
CONTEXT_FIELDS = ("lot_id", "bidder_id", "part", "submission_id")
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,128}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SUITE = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def lp(value: bytes) -> bytes:
    """u16be(len) || value."""
    if len(value) > 0xFFFF:
        raise ValueError("LP field over 65535 bytes")
    return struct.pack(">H", len(value)) + value


# --- context ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    lot_id: str
    bidder_id: str
    part: str
    submission_id: str

    def __post_init__(self) -> None:
        for name in CONTEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str) or not _TOKEN.fullmatch(value):
                raise EnvelopeError(Failure.CONTEXT_FIELD, f"{name} is not an ASCII token [A-Za-z0-9._-]{{1,128}}")
        if self.part not in PARTS:
            raise EnvelopeError(Failure.CONTEXT_FIELD, "part is not 'price', 'documents' or 'reserve'")

    def encode(self) -> bytes:
        return lp(LABEL) + b"".join(lp(getattr(self, n).encode("ascii")) for n in CONTEXT_FIELDS)


# --- keys ------------------------------------------------------------------------------------------

def public_raw(pub: ec.EllipticCurvePublicKey) -> bytes:
    return pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A raw 65-byte uncompressed SEC1 point, validated."""
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not a raw uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(raw))


def kid(pub: ec.EllipticCurvePublicKey) -> bytes:
    """SHA-256(raw 65-byte point)[:8]."""
    return hashlib.sha256(public_raw(pub)).digest()[:KID_LEN]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64_field(value: object, length: int, what: str) -> bytes:
    """Canonical standard base64 with padding of exactly `length` bytes, else ManifestError."""
    if not isinstance(value, str):
        raise EnvelopeError(Failure.MANIFEST, f"{what} is not a base64 string")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EnvelopeError(Failure.MANIFEST, f"{what} is not valid base64") from None
    if b64(raw) != value:
        raise EnvelopeError(Failure.MANIFEST, f"{what} is not canonical base64")
    if len(raw) != length:
        raise EnvelopeError(Failure.MANIFEST, f"{what} is not {length} bytes")
    return raw


# --- payload layout --------------------------------------------------------------------------------

def header(chunk_log2: int, nonce_prefix: bytes) -> bytes:
    return MAGIC + bytes((VERSION, chunk_log2)) + nonce_prefix


def chunk_nonce(nonce_prefix: bytes, index: int, is_last: bool) -> bytes:
    return bytes(nonce_prefix) + struct.pack(">IB", index, 1 if is_last else 0)


def read_header(head: bytes | memoryview) -> tuple[int, bytes]:
    """(chunk_log2, nonce_prefix) from the first 13 bytes, or HeaderError."""
    if len(head) < HEADER_LEN:
        raise EnvelopeError(Failure.HEADER, "payload shorter than the 13-byte header")
    head = bytes(head[:HEADER_LEN])
    if head[:4] != MAGIC or head[4] != VERSION:
        raise EnvelopeError(Failure.HEADER, "bad magic or payload version")
    if not CHUNK_LOG2_MIN <= head[5] <= CHUNK_LOG2_MAX:
        raise EnvelopeError(Failure.HEADER, "chunk_log2 outside 10..24")
    return head[5], head[6:]


def chunk_lengths(payload_len: int, chunk_log2: int) -> tuple[int, int]:
    """(number of chunks, plaintext length of the last chunk) of a payload, or ChunkLayoutError."""
    body, full = payload_len - HEADER_LEN, (1 << chunk_log2) + TAG_LEN
    count, rest = divmod(body, full)
    if rest == 0 and count >= 1:
        last = 1 << chunk_log2
    elif rest >= TAG_LEN and not (rest == TAG_LEN and count >= 1):
        count, last = count + 1, rest - TAG_LEN
    else:
        raise EnvelopeError(Failure.CHUNK_LAYOUT, "payload_len does not fit the chunk layout")
    if count > MAX_CHUNKS:
        raise EnvelopeError(Failure.CHUNK_LAYOUT, "more than 2^32 chunks")
    return count, last


# --- manifest --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    role: str
    kid: bytes
    wrap: bytes


@dataclass(frozen=True)
class Manifest:
    context: Context
    recipients: tuple[Recipient, ...]
    payload_sha256: bytes
    payload_len: int
    sig_kid: bytes
    sig_value: bytes
    v: int = VERSION
    suite: int = SUITE

    def recipients_digest_input(self) -> bytes:
        return b"".join(lp(r.role.encode("ascii")) + r.kid + r.wrap for r in self.recipients)

    def to_be_signed(self) -> bytes:
        return b"".join((
            lp(SIG_LABEL), bytes((self.v, self.suite)), self.context.encode(), self.payload_sha256,
            hashlib.sha256(self.recipients_digest_input()).digest(), self.sig_kid))

    def to_json(self) -> dict:
        c = self.context
        return {"v": self.v, "suite": self.suite, "lot_id": c.lot_id, "bidder_id": c.bidder_id,
                "part": c.part, "submission_id": c.submission_id,
                "recipients": [{"role": r.role, "kid": b64(r.kid), "wrap": b64(r.wrap)}
                               for r in self.recipients],
                "payload_sha256": self.payload_sha256.hex(), "payload_len": self.payload_len,
                "sig": {"alg": "ES256", "kid": b64(self.sig_kid), "value": b64(self.sig_value)}}


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise EnvelopeError(Failure.MANIFEST, "duplicate JSON key")
        out[key] = value
    return out


def _bad_constant(name: str) -> object:
    raise EnvelopeError(Failure.MANIFEST, f"JSON constant {name}")


def _is_int(value: object) -> bool:
    return type(value) is int  # not bool, not 1.0


def parse_manifest(raw: bytes | str | Mapping) -> Manifest:
    """A manifest from its JSON text (strict) or an already-parsed object, checked in the I15 order
    up to "other manifest fields". No crypto."""
    if isinstance(raw, bytes | str):
        try:
            obj = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_bad_constant)
        except (ValueError, RecursionError):
            raise EnvelopeError(Failure.MANIFEST, "not JSON") from None
    else:
        obj = raw
    if not isinstance(obj, Mapping):
        raise EnvelopeError(Failure.MANIFEST, "not a JSON object")
    if "v" in obj and not (_is_int(obj["v"]) and obj["v"] == VERSION):
        raise EnvelopeError(Failure.UNSUPPORTED_VERSION, "v is not the integer 1")
    if "suite" in obj and not (_is_int(obj["suite"]) and obj["suite"] == SUITE):
        raise EnvelopeError(Failure.UNSUPPORTED_SUITE, "suite is not the integer 1")
    if set(obj) != MANIFEST_KEYS:
        raise EnvelopeError(Failure.MANIFEST, "unknown or missing keys")
    context = Context(*(obj[n] for n in CONTEXT_FIELDS))
    recipients = _parse_recipients(obj["recipients"])
    digest = obj["payload_sha256"]
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise EnvelopeError(Failure.MANIFEST, "payload_sha256 is not 64 lowercase hex digits")
    length = obj["payload_len"]
    if not _is_int(length) or length < 0:
        raise EnvelopeError(Failure.MANIFEST, "payload_len is not a non-negative integer")
    sig = obj["sig"]
    if not isinstance(sig, Mapping) or set(sig) != SIG_KEYS:
        raise EnvelopeError(Failure.MANIFEST, "sig keys are not alg, kid, value")
    if sig["alg"] != "ES256":
        raise EnvelopeError(Failure.MANIFEST, "sig.alg is not ES256")
    return Manifest(context=context, recipients=recipients, payload_sha256=bytes.fromhex(digest),
                    payload_len=length, sig_kid=_b64_field(sig["kid"], KID_LEN, "sig.kid"),
                    sig_value=_b64_field(sig["value"], SIG_LEN, "sig.value"))


def _parse_recipients(items: object) -> tuple[Recipient, ...]:
    if not isinstance(items, list) or not 1 <= len(items) <= 2:
        raise EnvelopeError(Failure.MANIFEST, "recipients is not a list of one or two")
    out = []
    for item in items:
        if not isinstance(item, Mapping) or set(item) != RECIPIENT_KEYS:
            raise EnvelopeError(Failure.MANIFEST, "recipient keys are not role, kid, wrap")
        if item["role"] not in ROLES:
            raise EnvelopeError(Failure.MANIFEST, "recipient role is not 'opening' or 'bidder'")
        out.append(Recipient(item["role"], _b64_field(item["kid"], KID_LEN, "recipient kid"),
                             _b64_field(item["wrap"], WRAP_LEN, "recipient wrap")))
    if out[0].role != "opening" or any(r.role != "bidder" for r in out[1:]):
        raise EnvelopeError(Failure.MANIFEST, "recipients: 'opening' first, then at most one 'bidder'")
    if len({r.kid for r in out}) != len(out):
        raise EnvelopeError(Failure.MANIFEST, "recipient kids are not distinct")
    return tuple(out)


# --- checks before crypto --------------------------------------------------------------------------

def check(manifest: Manifest, head: bytes | memoryview, *, payload_len: int | None = None,
          expected: Context | None = None, opening_kid: bytes | None = None, own_kid: bytes | None = None,
          signer_pub: ec.EllipticCurvePublicKey | None = None,
          max_payload_len: int | None = None) -> tuple[int, int]:
    """The checks after parsing and before any crypto, in the I15 order. `head` is the payload (or at
    least its first 13 bytes); `payload_len` the received length when known. Returns chunk_lengths."""
    if expected is not None and manifest.context != expected:
        raise EnvelopeError(Failure.CONTEXT_MISMATCH, "the envelope is bound to another lot/bidder/part/upload")
    if opening_kid is not None and manifest.recipients[0].kid != opening_kid:
        raise EnvelopeError(Failure.KID_MISMATCH, "the first recipient is not the lot's opening key")
    if own_kid is not None and own_kid not in {r.kid for r in manifest.recipients}:
        raise EnvelopeError(Failure.KID_MISMATCH, "this key is no recipient of the envelope")
    if signer_pub is not None and kid(signer_pub) != manifest.sig_kid:
        raise EnvelopeError(Failure.SIGNER_MISMATCH, "sig.kid is not the registered signing key")
    if max_payload_len is not None and manifest.payload_len > max_payload_len:
        raise EnvelopeError(Failure.MANIFEST, "payload_len over the lot's limit")
    if payload_len is not None and payload_len != manifest.payload_len:
        raise EnvelopeError(Failure.PAYLOAD_DIGEST, "payload length differs from payload_len")
    chunk_log2, _ = read_header(head)
    return chunk_lengths(manifest.payload_len, chunk_log2)


def verify_signature(manifest: Manifest, payload_sha256: bytes, signer_pub: ec.EllipticCurvePublicKey) -> None:
    """PayloadDigestMismatch, or BadSignature unless sig.value (raw r||s, any S) signs to_be_signed."""
    if not secrets.compare_digest(payload_sha256, manifest.payload_sha256):
        raise EnvelopeError(Failure.PAYLOAD_DIGEST, "payload_sha256 does not match the payload")
    r = int.from_bytes(manifest.sig_value[:32], "big")
    s = int.from_bytes(manifest.sig_value[32:], "big")
    if not (0 < r < _ORDER and 0 < s < _ORDER):
        raise EnvelopeError(Failure.BAD_SIGNATURE, "r or s out of range")
    try:
        signer_pub.verify(encode_dss_signature(r, s), manifest.to_be_signed(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise EnvelopeError(Failure.BAD_SIGNATURE, "the signature does not verify") from None


def sha256_of(payload: bytes | memoryview, block: int = 1 << 22) -> bytes:
    view, h = memoryview(payload), hashlib.sha256()
    for at in range(0, len(view), block):
        h.update(view[at:at + block])
    return h.digest()


# --- seal and open ---------------------------------------------------------------------------------

def seal(plaintext: bytes | memoryview, ctx: Context, opening_pub: ec.EllipticCurvePublicKey,
         signing_key: ec.EllipticCurvePrivateKey, *, bidder_pub: ec.EllipticCurvePublicKey | None = None,
         chunk_log2: int = CHUNK_LOG2_DEFAULT, dek: bytes | None = None,
         nonce_prefix: bytes | None = None) -> tuple[dict, bytes]:
    """(manifest as a JSON-ready dict, payload). `dek` and `nonce_prefix` are for known-answer tests
    only; by default both come from `secrets`."""
    if not CHUNK_LOG2_MIN <= chunk_log2 <= CHUNK_LOG2_MAX:
        raise ValueError("chunk_log2 outside 10..24")
    dek = secrets.token_bytes(DEK_LEN) if dek is None else dek
    prefix = secrets.token_bytes(PREFIX_LEN) if nonce_prefix is None else nonce_prefix
    if len(dek) != DEK_LEN or len(prefix) != PREFIX_LEN:
        raise ValueError("bad DEK or nonce prefix length")
    context = ctx.encode()
    head = header(chunk_log2, prefix)
    aad = head + context
    pt, size = memoryview(plaintext), 1 << chunk_log2
    count = max(1, -(-len(pt) // size))
    payload = bytearray(HEADER_LEN + len(pt) + count * TAG_LEN)
    payload[:HEADER_LEN] = head
    out, aead = memoryview(payload), AESGCM(dek)
    for i in range(count):
        piece = pt[i * size:(i + 1) * size]
        at = HEADER_LEN + i * (size + TAG_LEN)
        aead.encrypt_into(chunk_nonce(prefix, i, i == count - 1), piece, aad,
                          out[at:at + len(piece) + TAG_LEN])
    recipients = [Recipient("opening", kid(opening_pub), _SUITE.encrypt(dek, opening_pub, info=context))]
    if bidder_pub is not None:
        recipients.append(Recipient("bidder", kid(bidder_pub), _SUITE.encrypt(dek, bidder_pub, info=context)))
    unsigned = Manifest(context=ctx, recipients=tuple(recipients), payload_sha256=sha256_of(payload),
                        payload_len=len(payload), sig_kid=kid(signing_key.public_key()), sig_value=b"")
    der = signing_key.sign(unsigned.to_be_signed(), ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    signed = Manifest(context=ctx, recipients=unsigned.recipients, payload_sha256=unsigned.payload_sha256,
                      payload_len=unsigned.payload_len, sig_kid=unsigned.sig_kid,
                      sig_value=r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    return signed.to_json(), bytes(payload)


def unwrap(manifest: Manifest, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The DEK from this key's wrap (HPKE, info = context), or WrapError."""
    own = kid(private_key.public_key())
    wraps = [r.wrap for r in manifest.recipients if r.kid == own]
    if not wraps:
        raise EnvelopeError(Failure.KID_MISMATCH, "this key is no recipient of the envelope")
    try:
        dek = _SUITE.decrypt(wraps[0], private_key, info=manifest.context.encode())
    except (InvalidTag, ValueError):
        raise EnvelopeError(Failure.WRAP, "the key wrap does not open for this key and context") from None
    if len(dek) != DEK_LEN:
        raise EnvelopeError(Failure.WRAP, "the wrapped key is not 32 bytes")
    return dek


def decrypt_chunks(manifest: Manifest, payload: bytes | memoryview, dek: bytes) -> bytes:
    """The plaintext of a payload whose layout `check` accepted, or ChunkAuthError."""
    view = memoryview(payload)
    chunk_log2, prefix = read_header(view)
    count, last = chunk_lengths(len(view), chunk_log2)
    size = 1 << chunk_log2
    plain = bytearray((count - 1) * size + last)
    out, aead = memoryview(plain), AESGCM(dek)
    aad = bytes(view[:HEADER_LEN]) + manifest.context.encode()
    for i in range(count):
        n = last if i == count - 1 else size
        at = HEADER_LEN + i * (size + TAG_LEN)
        try:
            aead.decrypt_into(chunk_nonce(prefix, i, i == count - 1), view[at:at + n + TAG_LEN], aad,
                              out[i * size:i * size + n])
        except InvalidTag:
            raise EnvelopeError(Failure.CHUNK_AUTH, f"chunk {i} does not authenticate") from None
    return bytes(plain)


def open_envelope(manifest: Manifest | bytes | str | Mapping, payload: bytes | memoryview,
                  private_key: ec.EllipticCurvePrivateKey, *, signer_pub: ec.EllipticCurvePublicKey,
                  expected: Context | None = None, opening_kid: bytes | None = None,
                  max_payload_len: int | None = None) -> bytes:
    """Every check in the I15 order, then the plaintext. `expected` is the upload's context,
    `opening_kid` the lot's opening key id, `signer_pub` the bidder's registered signing key."""
    m = manifest if isinstance(manifest, Manifest) else parse_manifest(manifest)
    check(m, payload, payload_len=len(payload), expected=expected, opening_kid=opening_kid,
          own_kid=kid(private_key.public_key()), signer_pub=signer_pub, max_payload_len=max_payload_len)
    verify_signature(m, sha256_of(payload), signer_pub)
    return decrypt_chunks(m, payload, unwrap(m, private_key))
