"""The ptbid/v1 envelope against the independent vectors in shared/data/ptbid-v1-vectors.json."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from trading.sealing import envelope as env
from trading.sealing.failures import VECTOR_NAMES, EnvelopeError, Failure

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbid-v1-vectors.json"


def _load() -> dict:
    if not VECTORS.exists():
        return {}
    return json.loads(VECTORS.read_text(encoding="utf-8"))


DATA = _load()
needs_vectors = pytest.mark.skipif(not DATA, reason=f"vectors file absent: {VECTORS} (shared/ beside the clone)")


def _ids(items: list[dict], key: str = "name") -> list[str]:
    return [str(i.get(key, i.get("why"))) for i in items]


ENVELOPES = DATA.get("envelopes", [])
NEGATIVE = DATA.get("negative", [])
CONTEXT_REJECTED = DATA.get("context_rejected", [])


@pytest.fixture(scope="module")
def keys() -> dict[str, ec.EllipticCurvePrivateKey]:
    return {name: ec.derive_private_key(int(k["d_hex"], 16), ec.SECP256R1())
            for name, k in DATA["keys"].items()}


def test_failure_kinds_map_one_to_one_onto_the_vectors():
    assert len(set(VECTOR_NAMES.values())) == len(VECTOR_NAMES) == len(Failure)
    assert set(VECTOR_NAMES) == set(Failure)
    if DATA:
        assert set(VECTOR_NAMES.values()) == set(DATA["failure_kinds"])


@needs_vectors
def test_keys_and_kids(keys):
    for name, k in DATA["keys"].items():
        pub = keys[name].public_key()
        assert env.public_raw(pub).hex() == k["pub_raw_hex"]
        assert env.load_public(bytes.fromhex(k["pub_raw_hex"])) == pub
        assert env.kid(pub).hex() == k["kid_hex"] and env.b64(env.kid(pub)) == k["kid"]


@needs_vectors
@pytest.mark.parametrize("case", DATA.get("lp", []), ids=_ids(DATA.get("lp", []), "input"))
def test_lp(case):
    assert env.lp(case["input"].encode("ascii")).hex() == case["hex"]


@needs_vectors
@pytest.mark.parametrize("case", DATA.get("context", []))
def test_context_bytes(case):
    ctx = env.Context(case["lot_id"], case["bidder_id"], case["part"], case["submission_id"])
    assert ctx.encode().hex() == case["hex"]


@needs_vectors
@pytest.mark.parametrize("case", CONTEXT_REJECTED, ids=_ids(CONTEXT_REJECTED, "why"))
def test_context_rejected(case):
    fields = {"lot_id": "ZB-1", "bidder_id": "B1", "part": "price", "submission_id": "s1", case["field"]: case["value"]}
    with pytest.raises(EnvelopeError) as err:
        env.Context(**fields)
    assert VECTOR_NAMES[err.value.kind] == "ContextFieldError"


@needs_vectors
@pytest.mark.parametrize("case", ENVELOPES, ids=_ids(ENVELOPES))
def test_known_answer(case, keys):
    i, mid = case["inputs"], case["intermediate"]
    ctx = env.Context(i["lot_id"], i["bidder_id"], i["part"], i["submission_id"])
    assert ctx.encode().hex() == mid["context_hex"]
    prefix = bytes.fromhex(i["nonce_prefix_hex"])
    head = env.header(i["chunk_log2"], prefix)
    assert head.hex() == mid["header_hex"]
    assert (head + ctx.encode()).hex() == mid["aad_hex"]
    payload = bytes.fromhex(case["payload_hex"])
    count, _ = env.chunk_lengths(len(payload), i["chunk_log2"])
    assert [env.chunk_nonce(prefix, n, n == count - 1).hex() for n in range(count)] == mid["chunk_nonces_hex"]
    assert hashlib.sha256(payload).hexdigest() == mid["payload_sha256_hex"]
    m = env.parse_manifest(json.dumps(case["manifest"]).encode())
    assert m.to_json() == case["manifest"]
    assert m.recipients_digest_input().hex() == mid["recipients_digest_input_hex"]
    assert hashlib.sha256(m.recipients_digest_input()).hexdigest() == mid["recipients_digest_hex"]
    assert m.sig_kid.hex() == mid["signer_kid_hex"]
    assert m.to_be_signed().hex() == mid["to_be_signed_hex"]
    assert m.sig_value.hex() == mid["sig_raw_hex"]
    suite = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    for spec, wrap, rec in zip(i["recipients"], mid["wraps"], m.recipients, strict=True):
        assert rec.role == spec["role"] and rec.wrap.hex() == wrap["wire_hex"]
        assert wrap["wire_hex"].startswith(wrap["enc"])
        assert suite.decrypt(rec.wrap, keys[spec["key"]], info=ctx.encode()).hex() == i["dek_hex"]
    signer = keys[i["signing_key"]]
    env.verify_signature(m, hashlib.sha256(payload).digest(), signer.public_key())
    for spec in i["recipients"]:  # the opening key and a bidder-held key both open it
        plain = env.open_envelope(case["manifest"], payload, keys[spec["key"]], signer_pub=signer.public_key(),
                                  expected=ctx, opening_kid=env.kid(keys["opening"].public_key()))
        assert plain.hex() == i["plaintext_hex"]


@needs_vectors
@pytest.mark.parametrize("case", ENVELOPES, ids=_ids(ENVELOPES))
def test_seal_reproduces_payload_and_signature(case, keys):
    """Everything but the wraps (whose HPKE ephemeral key pyca cannot take) is reproduced byte for byte."""
    i = case["inputs"]
    ctx = env.Context(i["lot_id"], i["bidder_id"], i["part"], i["submission_id"])
    bidder = [keys[r["key"]].public_key() for r in i["recipients"] if r["role"] == "bidder"]
    manifest, payload = env.seal(bytes.fromhex(i["plaintext_hex"]), ctx, keys["opening"].public_key(),
                                 keys[i["signing_key"]], bidder_pub=bidder[0] if bidder else None,
                                 chunk_log2=i["chunk_log2"], dek=bytes.fromhex(i["dek_hex"]),
                                 nonce_prefix=bytes.fromhex(i["nonce_prefix_hex"]))
    assert payload.hex() == case["payload_hex"]
    expected = {k: v for k, v in case["manifest"].items() if k not in ("recipients", "sig")}
    assert {k: v for k, v in manifest.items() if k not in ("recipients", "sig")} == expected
    assert [r["kid"] for r in manifest["recipients"]] == [r["kid"] for r in case["manifest"]["recipients"]]
    plain = env.open_envelope(manifest, payload, keys["opening"], signer_pub=keys[i["signing_key"]].public_key())
    assert plain.hex() == i["plaintext_hex"]


@needs_vectors
@pytest.mark.parametrize("case", NEGATIVE, ids=_ids(NEGATIVE))
def test_refused_with_the_named_kind(case, keys):
    kw = {}
    if case["expected"]:
        kw["expected"] = env.Context(**case["expected"])
    if case["opening_public_key"]:
        kw["opening_kid"] = env.kid(keys[case["opening_public_key"]].public_key())
    signer = keys[case["signer"]].public_key()
    payload = bytes.fromhex(case["payload_hex"])
    for manifest in (case["manifest"], json.dumps(case["manifest"]).encode()):
        with pytest.raises(EnvelopeError) as err:
            env.open_envelope(manifest, payload, keys[case["open_with"]], signer_pub=signer, **kw)
        assert VECTOR_NAMES[err.value.kind] == case["expect"], err.value.detail


# --- RFC 9180 base-mode seal with a given ephemeral key (test only: pyca's API cannot take one) ----

def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, n = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes((n,)), hashlib.sha256).digest()
        out, n = out + block, n + 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length)


def _hpke_seal(eph: ec.EllipticCurvePrivateKey, pk_r: ec.EllipticCurvePublicKey, info: bytes, pt: bytes) -> dict:
    raw = lambda pub: pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)  # noqa: E731
    kem_id, hpke_id = b"KEM" + struct.pack(">H", 0x10), b"HPKE" + struct.pack(">HHH", 0x10, 1, 2)
    enc = raw(eph.public_key())
    dh = eph.exchange(ec.ECDH(), pk_r)
    eae_prk = _labeled_extract(kem_id, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem_id, eae_prk, b"shared_secret", enc + raw(pk_r), 32)
    ks_context = (b"\x00" + _labeled_extract(hpke_id, b"", b"psk_id_hash", b"")
                  + _labeled_extract(hpke_id, b"", b"info_hash", info))
    secret = _labeled_extract(hpke_id, shared, b"secret", b"")
    key = _labeled_expand(hpke_id, secret, b"key", ks_context, 32)
    nonce = _labeled_expand(hpke_id, secret, b"base_nonce", ks_context, 12)
    return {"enc": enc.hex(), "shared_secret": shared.hex(), "key": key.hex(), "base_nonce": nonce.hex(),
            "wire_hex": (enc + AESGCM(key).encrypt(nonce, pt, b"")).hex()}


@needs_vectors
@pytest.mark.parametrize("case", ENVELOPES, ids=_ids(ENVELOPES))
def test_wraps_and_signature_are_deterministic_given_the_vector_randomness(case, keys):
    i, mid = case["inputs"], case["intermediate"]
    info = bytes.fromhex(mid["context_hex"])
    for spec, wrap in zip(i["recipients"], mid["wraps"], strict=True):
        eph = ec.derive_private_key(int(spec["eph_d_hex"], 16), ec.SECP256R1())
        assert _hpke_seal(eph, keys[spec["key"]].public_key(), info, bytes.fromhex(i["dek_hex"])) == wrap
    der = keys[i["signing_key"]].sign(bytes.fromhex(mid["to_be_signed_hex"]),
                                      ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    assert (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex() == mid["sig_raw_hex"]  # RFC 6979, as seal() signs
