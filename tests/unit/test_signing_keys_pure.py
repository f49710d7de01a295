"""Signing-key helpers without a database: kid and fingerprint agree with the vectors' independent
implementation; point and PEM checks name what is wrong."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from trading.accounts import signing_keys as sk
from trading.core.errors import InvalidInput

VECTORS = Path("/work/shared/data/ptbid-v1-vectors.json")


@pytest.mark.skipif(not VECTORS.exists(), reason="vectors file not present")
def test_kid_matches_the_vectors():
    keys = json.loads(VECTORS.read_text())["keys"]
    for name, key in keys.items():
        raw = bytes.fromhex(key["pub_raw_hex"])
        assert sk.kid_of(sk.check_public_raw(raw)).hex() == key["kid_hex"], name
        assert sk.fingerprint_of(raw) == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("value,code", [
    (b"", "signing_key.wrong_length"),
    (b"\x04" + b"\x01" * 63, "signing_key.wrong_length"),
    ("04" * 65, "signing_key.wrong_length"),            # hex text, not bytes
    (b"\x04" + b"\x01" * 64, "signing_key.invalid_point"),
    (b"\x05" + b"\x01" * 64, "signing_key.invalid_point"),
])
def test_check_public_raw_refusals(value, code):
    with pytest.raises(InvalidInput) as err:
        sk.check_public_raw(value)
    assert err.value.code == code and err.value.field == "public"


def test_grouped_reads_in_fours():
    fp = "0123456789abcdef" * 4
    assert sk.grouped(fp).split(" ") == [fp[i:i + 4] for i in range(0, 64, 4)]
