"""A custodian's share encrypted under its passphrase: scrypt → AES-256-GCM, AAD = lot || index ||
custodian (design/sealing.md, "Opening key and custodians", step 1). Small scrypt n keeps tests fast."""

from __future__ import annotations

import base64
import json

import pytest

from trading.sealing import custodian, shamir
from trading.sealing.custodian import ShareBlobError, ShareBlobRefused, open_share, seal_share
from trading.sealing.shamir import Share, make_opening_key, rebuild_private_key

FAST = 2**4
LOT = "ZB-2026-000123-L1"
PASS = "correct horse battery staple 马"


@pytest.fixture(scope="module")
def ceremony():
    return make_opening_key(3, 5)


@pytest.fixture()
def sealed(ceremony):
    share = ceremony.shares[1]
    return share, seal_share(share, PASS, lot_id=LOT, custodian_id="centre", scrypt_n=FAST)


def test_round_trip_and_blob_shape(sealed):
    share, blob = sealed
    assert json.loads(json.dumps(blob)) == blob
    assert blob["v"] == 1 and blob["kdf"] == "scrypt" and blob["aead"] == "AES-256-GCM"
    assert blob["params"] == {"n": FAST, "r": 8, "p": 1}
    assert len(base64.b64decode(blob["salt"])) == 16 and len(base64.b64decode(blob["nonce"])) == 12
    assert open_share(blob, PASS, lot_id=LOT, index=2, custodian_id="centre") == share


def test_default_parameters_are_the_design_ones():
    assert (custodian.SCRYPT_N, custodian.SCRYPT_R, custodian.SCRYPT_P) == (2**15, 8, 1)


def test_default_parameters_round_trip(ceremony):
    share = ceremony.shares[0]
    blob = seal_share(share, PASS, lot_id=LOT, custodian_id="owner")
    assert blob["params"] == {"n": 2**15, "r": 8, "p": 1}
    assert open_share(blob, PASS, lot_id=LOT, index=1, custodian_id="owner") == share


def test_two_seals_differ(sealed):
    share, blob = sealed
    again = seal_share(share, PASS, lot_id=LOT, custodian_id="centre", scrypt_n=FAST)
    assert again["salt"] != blob["salt"] and again["ct"] != blob["ct"]


def test_passphrase_is_nfc_normalised(ceremony):
    share = ceremony.shares[0]
    blob = seal_share(share, "cafe\u0301", lot_id=LOT, custodian_id="owner", scrypt_n=FAST)
    assert open_share(blob, "caf\u00e9", lot_id=LOT, index=1, custodian_id="owner") == share


def test_wrong_passphrase_refused(sealed):
    _, blob = sealed
    with pytest.raises(ShareBlobRefused, match="wrong passphrase"):
        open_share(blob, PASS + "x", lot_id=LOT, index=2, custodian_id="centre")


@pytest.mark.parametrize("lot_id, index, custodian_id", [
    ("ZB-2026-000123-L2", 2, "centre"),     # other lot
    (LOT, 3, "centre"),                      # other index
    (LOT, 2, "supervisor"),                  # other custodian
    ("centre", 2, LOT),                      # lot and custodian swapped
])
def test_other_aad_refused(sealed, lot_id, index, custodian_id):
    _, blob = sealed
    with pytest.raises(ShareBlobRefused):
        open_share(blob, PASS, lot_id=lot_id, index=index, custodian_id=custodian_id)


def test_aad_is_length_prefixed():
    assert custodian.aad("ab", 1, "c") != custodian.aad("a", 1, "bc")
    assert custodian.aad("a", 2, "b") == bytes.fromhex("000161" "00020002" "000162")


@pytest.mark.parametrize("field", ["ct", "nonce", "salt"])
def test_tampered_bytes_refused(sealed, field):
    _, blob = sealed
    raw = bytearray(base64.b64decode(blob[field]))
    for position in (0, len(raw) - 1):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        bad = dict(blob, **{field: base64.b64encode(bytes(flipped)).decode()})
        with pytest.raises(ShareBlobRefused):
            open_share(bad, PASS, lot_id=LOT, index=2, custodian_id="centre")


def test_changed_params_refused(sealed):
    _, blob = sealed
    bad = dict(blob, params={"n": FAST * 2, "r": 8, "p": 1})
    with pytest.raises(ShareBlobRefused):
        open_share(bad, PASS, lot_id=LOT, index=2, custodian_id="centre")


@pytest.mark.parametrize("change", [
    {"v": 2}, {"v": True}, {"kdf": "argon2id"}, {"aead": "AES-128-GCM"},
    {"params": {"n": 2**21, "r": 8, "p": 1}}, {"params": {"n": 1000, "r": 8, "p": 1}},
    {"params": {"n": 16, "r": 8}}, {"params": {"n": 16, "r": 64, "p": 1}},
    {"salt": "not base64!"}, {"nonce": base64.b64encode(b"short").decode()}, {"ct": 5},
])
def test_malformed_blob_refused(sealed, change):
    _, blob = sealed
    with pytest.raises(ShareBlobError):
        open_share(dict(blob, **change), PASS, lot_id=LOT, index=2, custodian_id="centre")


def test_empty_passphrase_refused(sealed):
    share, _ = sealed
    with pytest.raises(ShareBlobError):
        seal_share(share, "", lot_id=LOT, custodian_id="centre", scrypt_n=FAST)


def test_ceremony_to_opening_through_blobs(ceremony):
    custodians = ["owner", "centre", "finance", "supervisor", "audit"]
    blobs = [seal_share(s, f"pass-{c}", lot_id=LOT, custodian_id=c, scrypt_n=FAST)
             for s, c in zip(ceremony.shares, custodians, strict=True)]
    submitted = []
    for index in (5, 2, 4):
        share = open_share(blobs[index - 1], f"pass-{custodians[index - 1]}", lot_id=LOT, index=index,
                           custodian_id=custodians[index - 1])
        submitted.append((index, share))
    key = rebuild_private_key(submitted, ceremony.commitments, 3, ceremony.public_key_bytes)
    assert shamir._point(key) == ceremony.public_key_bytes


def test_share_x_is_the_index(ceremony):
    blob = seal_share(Share(4, ceremony.shares[3].y), PASS, lot_id=LOT, custodian_id="c", scrypt_n=FAST)
    assert open_share(blob, PASS, lot_id=LOT, index=4, custodian_id="c").x == 4
