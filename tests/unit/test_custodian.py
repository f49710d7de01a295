"""A custodian key derived from its passphrase (scrypt → P-256 scalar) and a share sealed to it with HPKE,
info = LP(lot) || LP(u16be(x)) || LP(custodian). Small scrypt n keeps tests fast."""

from __future__ import annotations

import base64
import hashlib
import json
import struct

import pytest
from cryptography.hazmat.primitives import hpke

from trading.sealing import custodian, shamir
from trading.sealing.custodian import (
    ShareBlobError,
    ShareBlobRefused,
    derive_private_key,
    derive_scalar,
    new_custodian_key,
    open_share,
    passphrase_matches,
    passphrase_problem,
    seal_share,
    share_info,
    unseal_share,
)
from trading.sealing.shamir import ORDER, Share, make_opening_key, rebuild_private_key

FAST = {"n": 2**4, "r": 8, "p": 1}
LOT = "ZB-2026-000123-L1"
PASS = "correct horse battery staple 马 42"
SALT = bytes(range(16))


@pytest.fixture(scope="module")
def ceremony():
    return make_opening_key(3, 5)


@pytest.fixture(scope="module")
def key():
    return new_custodian_key(PASS, params=FAST)


@pytest.fixture()
def sealed(ceremony, key):
    share = ceremony.shares[1]
    return share, seal_share(share, key.public_raw, lot_code=LOT, custodian_id=17)


# --- the key --------------------------------------------------------------------------------------

def test_default_parameters_are_the_design_ones():
    assert (custodian.SCRYPT_N, custodian.SCRYPT_R, custodian.SCRYPT_P) == (2**15, 8, 1)
    assert custodian.default_params() == {"n": 2**15, "r": 8, "p": 1}


def test_scalar_known_answer_against_hashlib_scrypt():
    """The derivation, recomputed with an independent scrypt (hashlib/OpenSSL): 48 bytes, mod (n-1), +1."""
    material = hashlib.scrypt(PASS.encode("utf-8"), salt=SALT, n=16, r=8, p=1, dklen=48)
    expected = int.from_bytes(material, "big") % (ORDER - 1) + 1
    assert derive_scalar(PASS, SALT, FAST) == expected
    assert 1 <= expected < ORDER


def test_key_material_is_deterministic_and_public_only():
    a = new_custodian_key(PASS, params=FAST, salt=SALT)
    b = new_custodian_key(PASS, params=FAST, salt=SALT)
    assert a == b and len(a.public_raw) == 65 and a.public_raw[0] == 4
    assert a.kid == hashlib.sha256(a.public_raw).digest()[:8]
    assert set(vars(a)) == {"public_raw", "kid", "salt", "params"}
    assert shamir.commitment(derive_scalar(PASS, SALT, FAST)) == a.public_raw


def test_fresh_keys_have_fresh_salts():
    a, b = new_custodian_key(PASS, params=FAST), new_custodian_key(PASS, params=FAST)
    assert a.salt != b.salt and a.public_raw != b.public_raw


def test_passphrase_is_nfc_normalised():
    a = new_custodian_key("cafe\u0301 passphrase 1", params=FAST, salt=SALT)
    b = new_custodian_key("caf\u00e9 passphrase 1", params=FAST, salt=SALT)
    assert a.public_raw == b.public_raw


def test_passphrase_matches(key):
    assert passphrase_matches(PASS, key)
    assert not passphrase_matches(PASS + "x", key)


@pytest.mark.parametrize("passphrase, problem", [
    ("short1", "too_short"), ("abcdefghijk1", None), ("abcdefghijkl", "needs_digit"),
    ("123456789012", "needs_letter"), ("保管人口令一二三四五六7", None), ("a1" * 129, "too_long"),
])
def test_passphrase_policy(passphrase, problem):
    assert passphrase_problem(passphrase) == problem


@pytest.mark.parametrize("params", [
    {"n": 2**19, "r": 8, "p": 1}, {"n": 1000, "r": 8, "p": 1}, {"n": 16, "r": 8},
    {"n": 16, "r": 64, "p": 1}, {"n": 16, "r": 8, "p": 0}, {"n": True, "r": 8, "p": 1}, [16, 8, 1],
])
def test_bad_params_refused(params):
    with pytest.raises(ShareBlobError):
        derive_scalar(PASS, SALT, params)


def test_bad_salt_and_empty_passphrase_refused():
    with pytest.raises(ShareBlobError):
        derive_scalar(PASS, b"short", FAST)
    with pytest.raises(ShareBlobError):
        derive_scalar("", SALT, FAST)


# --- info ------------------------------------------------------------------------------------------

def test_info_is_length_prefixed():
    assert share_info("a", 2, 7) == bytes.fromhex("000161" "00020002" "000137")
    assert share_info("ab", 1, "c") != share_info("a", 1, "bc")
    assert share_info(LOT, 3, 17) == (struct.pack(">H", len(LOT)) + LOT.encode() + b"\x00\x02\x00\x03"
                                      + b"\x00\x0217")


@pytest.mark.parametrize("lot, index, who", [("", 1, 1), (LOT, 0, 1), (LOT, 65536, 1), (LOT, True, 1), (LOT, 1, "")])
def test_bad_info_refused(lot, index, who):
    with pytest.raises(ShareBlobError):
        share_info(lot, index, who)


# --- seal / open -----------------------------------------------------------------------------------

def test_round_trip_and_blob_shape(sealed, key):
    share, blob = sealed
    assert json.loads(json.dumps(blob)) == blob
    assert blob["v"] == 2 and blob["suite"] == "HPKE-P256-SHA256-AES256GCM"
    assert base64.b64decode(blob["kid"]) == key.kid
    assert len(base64.b64decode(blob["wrap"])) == 65 + 32 + 16
    assert unseal_share(blob, PASS, key, lot_code=LOT, index=2, custodian_id=17) == share
    assert unseal_share(blob, PASS, key, lot_code=LOT, index=2, custodian_id="17") == share


def test_the_wrap_is_plain_rfc9180_hpke(sealed, key):
    """Interoperability: any RFC 9180 implementation of the suite opens it with the derived key."""
    share, blob = sealed
    suite = hpke.Suite(hpke.KEM.P256, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    private = derive_private_key(PASS, key.salt, key.params)
    plain = suite.decrypt(base64.b64decode(blob["wrap"]), private, info=share_info(LOT, 2, 17))
    assert plain == share.y.to_bytes(32, "big")


def test_default_parameters_round_trip(ceremony):
    material = new_custodian_key(PASS)
    assert material.params == {"n": 2**15, "r": 8, "p": 1}
    blob = seal_share(ceremony.shares[0], material.public_raw, lot_code=LOT, custodian_id=1)
    assert unseal_share(blob, PASS, material, lot_code=LOT, index=1, custodian_id=1) == ceremony.shares[0]


def test_two_seals_differ(sealed, key):
    share, blob = sealed
    again = seal_share(share, key.public_raw, lot_code=LOT, custodian_id=17)
    assert again["wrap"] != blob["wrap"]


def test_wrong_passphrase_refused(sealed, key):
    _, blob = sealed
    with pytest.raises(ShareBlobRefused, match="wrong passphrase"):
        unseal_share(blob, PASS + "x", key, lot_code=LOT, index=2, custodian_id=17)


def test_wrong_private_key_refused(sealed):
    _, blob = sealed
    with pytest.raises(ShareBlobRefused):
        open_share(blob, derive_private_key("another one 12345", SALT, FAST), lot_code=LOT, index=2, custodian_id=17)


@pytest.mark.parametrize("lot_code, index, custodian_id", [
    ("ZB-2026-000123-L2", 2, 17),   # other lot
    (LOT, 3, 17),                    # other index
    (LOT, 2, 18),                    # other custodian
    ("17", 2, LOT),                  # lot and custodian swapped
])
def test_other_info_refused(sealed, key, lot_code, index, custodian_id):
    _, blob = sealed
    with pytest.raises(ShareBlobRefused):
        unseal_share(blob, PASS, key, lot_code=lot_code, index=index, custodian_id=custodian_id)


def test_every_wrap_byte_flip_refused(sealed, key):
    _, blob = sealed
    raw = base64.b64decode(blob["wrap"])
    private = derive_private_key(PASS, key.salt, key.params)
    for position in range(len(raw)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        bad = dict(blob, wrap=base64.b64encode(bytes(flipped)).decode())
        with pytest.raises(ShareBlobError):
            open_share(bad, private, lot_code=LOT, index=2, custodian_id=17)


def test_other_kid_refused(sealed, key):
    _, blob = sealed
    bad = dict(blob, kid=base64.b64encode(b"\0" * 8).decode())
    with pytest.raises(ShareBlobRefused):
        unseal_share(bad, PASS, key, lot_code=LOT, index=2, custodian_id=17)


@pytest.mark.parametrize("change", [
    {"v": 1}, {"v": True}, {"suite": "AES-256-GCM"}, {"kid": "not base64!"},
    {"wrap": base64.b64encode(b"short").decode()}, {"wrap": 5}, {"extra": 1},
])
def test_malformed_blob_refused(sealed, key, change):
    _, blob = sealed
    with pytest.raises(ShareBlobError):
        unseal_share(dict(blob, **change), PASS, key, lot_code=LOT, index=2, custodian_id=17)


def test_seal_refuses_bad_inputs(key):
    with pytest.raises(ShareBlobError):
        seal_share(Share(1, 0), key.public_raw, lot_code=LOT, custodian_id=1)
    with pytest.raises(ShareBlobError):
        seal_share(Share(1, 5), b"\x04" + b"\x01" * 64, lot_code=LOT, custodian_id=1)


def test_ceremony_to_opening_through_blobs(ceremony):
    keys = [new_custodian_key(f"pass-{i}-custodian", params=FAST) for i in range(1, 6)]
    blobs = [seal_share(s, k.public_raw, lot_code=LOT, custodian_id=i)
             for i, (s, k) in enumerate(zip(ceremony.shares, keys, strict=True), start=1)]
    submitted = []
    for index in (5, 2, 4):
        share = unseal_share(blobs[index - 1], f"pass-{index}-custodian", keys[index - 1], lot_code=LOT,
                             index=index, custodian_id=index)
        submitted.append((index, share))
    key = rebuild_private_key(submitted, ceremony.commitments, 3, ceremony.public_key_bytes)
    assert shamir._point(key) == ceremony.public_key_bytes

