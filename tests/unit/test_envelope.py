"""The ptbid/v1 envelope: round trips, strict manifests, and tampering (design/sealing.md "What must be tested")."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from trading.sealing import envelope as env
from trading.sealing.failures import EnvelopeError, Failure

ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
CTX = env.Context("ZB-2026-000123-L1", "91350100M000100Y43", "documents", "sub-01J9Z6Q8K3TQ4W")
OPENING = ec.derive_private_key(0x1234567, ec.SECP256R1())
BIDDER_RECIPIENT = ec.derive_private_key(0x7654321, ec.SECP256R1())
SIGNER = ec.derive_private_key(0xABCDEF, ec.SECP256R1())
OTHER = ec.derive_private_key(0xFEDCBA, ec.SECP256R1())


def _seal(plaintext: bytes, ctx: env.Context = CTX, **kw) -> tuple[dict, bytes]:
    kw.setdefault("chunk_log2", 10)
    return env.seal(plaintext, ctx, OPENING.public_key(), SIGNER, bidder_pub=BIDDER_RECIPIENT.public_key(), **kw)


def _open(manifest, payload: bytes, key=OPENING, **kw) -> bytes:
    kw.setdefault("signer_pub", SIGNER.public_key())
    return env.open_envelope(manifest, payload, key, **kw)


def _kind(manifest, payload: bytes, **kw) -> Failure:
    with pytest.raises(EnvelopeError) as err:
        _open(manifest, payload, **kw)
    return err.value.kind


def _resign(m: env.Manifest, payload: bytes | None = None, key=SIGNER, **changes) -> dict:
    """The manifest with `changes` (and the digest/length of `payload`), signed again by the bidder."""
    if payload is not None:
        changes.update(payload_sha256=hashlib.sha256(payload).digest(), payload_len=len(payload))
    m = dataclasses.replace(m, sig_kid=env.kid(key.public_key()), **changes)
    r, s = decode_dss_signature(key.sign(m.to_be_signed(), ec.ECDSA(hashes.SHA256())))
    return dataclasses.replace(m, sig_value=r.to_bytes(32, "big") + s.to_bytes(32, "big")).to_json()


@pytest.mark.parametrize("size", [0, 1, 1024, 1025, 5 * 1024 + 7, 3 * 1024])
def test_round_trip(size):
    plaintext = bytes(range(256)) * (size // 256) + bytes(size % 256)
    manifest, payload = _seal(plaintext)
    count = max(1, -(-size // 1024))
    assert len(payload) == 13 + size + 16 * count == manifest["payload_len"]
    assert _open(manifest, payload, expected=CTX, opening_kid=env.kid(OPENING.public_key())) == plaintext
    assert _open(json.dumps(manifest).encode(), payload, key=BIDDER_RECIPIENT) == plaintext


def test_default_chunk_size_and_random_nonces():
    m1, p1 = env.seal(b"x" * 100, CTX, OPENING.public_key(), SIGNER)
    m2, p2 = env.seal(b"x" * 100, CTX, OPENING.public_key(), SIGNER)
    assert p1[5] == 22 and p1[6:13] != p2[6:13] and m1["recipients"][0]["wrap"] != m2["recipients"][0]["wrap"]
    assert len(m1["recipients"]) == 1 and _open(m1, p1) == b"x" * 100


def test_chunk_log2_range():
    for bad in (9, 25):
        with pytest.raises(ValueError):
            _seal(b"", chunk_log2=bad)


def test_high_s_signature_is_accepted():
    manifest, payload = _seal(b"offer")
    raw = base64.b64decode(manifest["sig"]["value"])
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    flipped = r.to_bytes(32, "big") + (ORDER - s).to_bytes(32, "big")
    other = dict(manifest, sig=dict(manifest["sig"], value=env.b64(flipped)))
    assert _open(manifest, payload) == _open(other, payload) == b"offer"
    zero = dict(manifest, sig=dict(manifest["sig"], value=env.b64(bytes(32) + raw[32:])))
    assert _kind(zero, payload) is Failure.BAD_SIGNATURE


@pytest.mark.parametrize("text, kind", [
    ('{"v": 1, "v": 1}', Failure.MANIFEST),
    ("[1]", Failure.MANIFEST),
    ("not json", Failure.MANIFEST),
    ('{"v": NaN}', Failure.MANIFEST),
    ('{"v": 1e0}', Failure.UNSUPPORTED_VERSION),
    ('{"v": true}', Failure.UNSUPPORTED_VERSION),
    ('{"v": 1, "suite": 1.0}', Failure.UNSUPPORTED_SUITE),
    ('{"v": 1, "suite": 2}', Failure.UNSUPPORTED_SUITE),
    ('{"v": 1, "suite": 1}', Failure.MANIFEST),
])
def test_strict_json(text, kind):
    with pytest.raises(EnvelopeError) as err:
        env.parse_manifest(text)
    assert err.value.kind is kind


def test_duplicate_key_deep_and_bad_field_shapes():
    manifest, payload = _seal(b"abc")
    text = json.dumps(manifest)
    dup = text.replace('"alg": "ES256"', '"alg": "ES256", "alg": "ES256"')
    assert _kind(dup.encode(), payload) is Failure.MANIFEST
    for key, value in [("payload_len", True), ("payload_len", -1), ("payload_len", float(len(payload))),
                       ("recipients", []), ("recipients", manifest["recipients"] * 2),
                       ("recipients", [manifest["recipients"][0], manifest["recipients"][0]]),
                       ("sig", dict(manifest["sig"], extra=1)), ("payload_sha256", "ab")]:
        assert _kind(dict(manifest, **{key: value}), payload) is Failure.MANIFEST, key
    assert _kind(dict(manifest, part="Price"), payload) is Failure.CONTEXT_FIELD
    assert _kind(dict(manifest, lot_id=7), payload) is Failure.CONTEXT_FIELD


def test_size_limit_and_received_length():
    manifest, payload = _seal(b"z" * 2000)
    assert _open(manifest, payload, max_payload_len=len(payload)) == b"z" * 2000
    assert _kind(manifest, payload, max_payload_len=len(payload) - 1) is Failure.MANIFEST
    assert _kind(manifest, payload + b"\0") is Failure.PAYLOAD_DIGEST


def test_every_payload_byte_flip_is_rejected():
    manifest, payload = _seal(bytes(range(200)) * 6)  # 1200 B: two chunks
    m = env.parse_manifest(manifest)
    for at in range(len(payload)):
        bad = bytearray(payload)
        bad[at] ^= 0x01
        bad = bytes(bad)
        assert _kind(manifest, bad) in (Failure.PAYLOAD_DIGEST, Failure.HEADER, Failure.CHUNK_LAYOUT), at
        # even with the manifest re-signed over the changed payload, the crypto refuses it
        assert _kind(_resign(m, bad), bad) in (Failure.CHUNK_AUTH, Failure.HEADER, Failure.CHUNK_LAYOUT), at


def test_every_wrap_and_signature_byte_flip_is_rejected():
    manifest, payload = _seal(b"price sheet")
    m = env.parse_manifest(manifest)
    for n, rec in enumerate(m.recipients):
        key = (OPENING, BIDDER_RECIPIENT)[n]
        for at in range(len(rec.wrap)):
            wrap = bytearray(rec.wrap)
            wrap[at] ^= 0x80
            recs = list(m.recipients)
            recs[n] = dataclasses.replace(rec, wrap=bytes(wrap))
            edited = m.to_json()
            edited["recipients"][n]["wrap"] = env.b64(bytes(wrap))
            assert _kind(edited, payload, key=key) is Failure.BAD_SIGNATURE
            assert _kind(_resign(m, recipients=tuple(recs)), payload, key=key) is Failure.WRAP
    for at in range(64):
        sig = bytearray(m.sig_value)
        sig[at] ^= 0x01
        assert _kind(dict(manifest, sig=dict(manifest["sig"], value=env.b64(bytes(sig)))), payload) \
            is Failure.BAD_SIGNATURE


def test_manifest_field_flips_are_rejected():
    manifest, payload = _seal(b"price sheet")
    m = env.parse_manifest(manifest)
    digest = bytearray(m.payload_sha256)
    for at in range(0, 32, 5):
        digest[at] ^= 0x10
        assert _kind(dict(manifest, payload_sha256=bytes(digest).hex()), payload) is Failure.PAYLOAD_DIGEST
        digest[at] ^= 0x10
    for delta in (-1, 1, 16):  # payload_len is checked against the received length
        assert _kind(dict(manifest, payload_len=len(payload) + delta), payload) is Failure.PAYLOAD_DIGEST
    for n in range(2):
        for at in range(8):
            k = bytearray(m.recipients[n].kid)
            k[at] ^= 0x01
            edited = m.to_json()
            edited["recipients"][n]["kid"] = env.b64(bytes(k))
            key = (OPENING, BIDDER_RECIPIENT)[n]
            assert _kind(edited, payload, key=key) is Failure.KID_MISMATCH
            assert _kind(edited, payload, key=(BIDDER_RECIPIENT, OPENING)[n]) is Failure.BAD_SIGNATURE
    sig_kid = bytearray(m.sig_kid)
    sig_kid[0] ^= 0x01
    assert _kind(dict(manifest, sig=dict(manifest["sig"], kid=env.b64(bytes(sig_kid)))), payload) \
        is Failure.SIGNER_MISMATCH
    for field in env.CONTEXT_FIELDS[:2] + env.CONTEXT_FIELDS[3:]:
        assert _kind(dict(manifest, **{field: manifest[field] + "x"}), payload) is Failure.BAD_SIGNATURE


OTHER_CONTEXTS = [
    dataclasses.replace(CTX, bidder_id="91350100MA2YYYYY2Y"),
    dataclasses.replace(CTX, lot_id="ZB-2026-000123-L2"),
    dataclasses.replace(CTX, part="price"),
    dataclasses.replace(CTX, submission_id="sub-OTHER"),
]


@pytest.mark.parametrize("other", OTHER_CONTEXTS, ids=["bidder", "lot", "part", "submission"])
def test_context_swaps_are_rejected(other):
    manifest, payload = _seal(b"offer" * 300)
    m = env.parse_manifest(manifest)
    assert _kind(manifest, payload, expected=other) is Failure.CONTEXT_MISMATCH
    moved = dict(manifest, **{f: getattr(other, f) for f in env.CONTEXT_FIELDS})
    assert _kind(moved, payload) is Failure.BAD_SIGNATURE
    assert _kind(_resign(m, context=other), payload) is Failure.WRAP
    # a DEK holder re-wrapping for the new context still fails on the chunks (AAD binds the context)
    dek = env.unwrap(m, OPENING)
    suite = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    rewrapped = (env.Recipient("opening", m.recipients[0].kid,
                               suite.encrypt(dek, OPENING.public_key(), info=other.encode())),)
    assert _kind(_resign(m, context=other, recipients=rewrapped), payload) is Failure.CHUNK_AUTH


def test_truncated_reordered_and_extended_chunks_are_rejected():
    manifest, payload = _seal(bytes(range(256)) * 12)  # 3072 B: three full chunks
    m = env.parse_manifest(manifest)
    head, size = payload[:13], 1024 + 16
    chunks = [payload[13 + i * size:13 + (i + 1) * size] for i in range(3)]
    for bad in (head + chunks[0] + chunks[1], head + chunks[1] + chunks[0] + chunks[2],
                head + chunks[0] + chunks[2] + chunks[1], head + chunks[0] + chunks[1] + chunks[1],
                head + chunks[2]):
        assert _kind(manifest, bad) is Failure.PAYLOAD_DIGEST
        assert _kind(_resign(m, bad), bad) is Failure.CHUNK_AUTH
    for bad in (head, payload + bytes(16), head + chunks[0] + chunks[1][:10]):
        assert _kind(_resign(m, bad), bad) is Failure.CHUNK_LAYOUT  # no final chunk, empty tail, cut tag
    for bad in (payload[:-1], payload[:-10]):  # a shorter last chunk: the layout fits, the tag does not
        assert _kind(_resign(m, bad), bad) is Failure.CHUNK_AUTH


def test_another_signer_is_refused():
    manifest, payload = _seal(b"offer")
    assert _kind(manifest, payload, signer_pub=OTHER.public_key()) is Failure.SIGNER_MISMATCH
    m = env.parse_manifest(manifest)
    assert _kind(_resign(m, key=OTHER), payload) is Failure.SIGNER_MISMATCH
    assert _open(_resign(m, key=OTHER), payload, signer_pub=OTHER.public_key()) == b"offer"
