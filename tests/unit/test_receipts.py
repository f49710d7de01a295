"""Receipt signatures (sealing/receipts.py) and the rules of the upload layout, pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trading.procedures.common.participation import rules
from trading.procedures.common.participation.receipts import load_or_create_key
from trading.sealing import receipts as sig

BODY = {"v": 1, "kind": "submitted", "lot_id": "SFX2026-GC-0007-01", "bidder_id": "91510100MA6CGUWQ4C",
        "bidder_name": "示范建筑工程有限公司", "part": "price", "submission_id": "abcDEF123_-abcDEF123_-ab",
        "payload_sha256": "0" * 64, "payload_len": 1053, "received_at": "2026-11-27T02:00:00.000Z",
        "received_at_beijing": "2026-11-27 10:00:00（北京时间）", "audit_seq": 42, "supersedes": None}


def test_canonical_json_is_sorted_compact_utf8():
    text = sig.canonical(BODY).decode("utf-8")
    assert text.startswith('{"audit_seq":42,"bidder_id":"91510100MA6CGUWQ4C","bidder_name":"示范建筑工程有限公司"')
    assert ", " not in text and '": ' not in text


def test_sign_verify_and_every_field_change_fails():
    key = sig.new_private_key()
    s = sig.sign(key, BODY)
    pub = sig.public_raw(key)
    assert len(s) == 64 and len(pub) == 32 and sig.verify(pub, BODY, s)
    for field, value in [("payload_len", 1054), ("audit_seq", 43), ("kind", "withdrawn"), ("supersedes", "x"),
                         ("bidder_name", "另一家")]:
        assert not sig.verify(pub, {**BODY, field: value}, s), field
    assert not sig.verify(sig.public_raw(sig.new_private_key()), BODY, s)
    assert not sig.verify(pub, BODY, s[:-1] + bytes([s[-1] ^ 1]))


def test_key_id_is_the_first_8_bytes_of_sha256_in_hex():
    import hashlib
    key = sig.new_private_key()
    assert sig.key_id(key) == hashlib.sha256(sig.public_raw(key)).digest()[:8].hex()
    assert len(sig.key_id(key)) == 16


def test_only_receipt_bodies_are_signed():
    key = sig.new_private_key()
    with pytest.raises(ValueError):
        sig.sign(key, {**BODY, "extra": 1})
    with pytest.raises(ValueError):
        sig.sign(key, {**BODY, "kind": "opened"})


def test_key_file_is_made_once_with_mode_0600(tmp_path):
    path = tmp_path / "k" / "receipt_ed25519.pem"
    key = load_or_create_key(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sig.public_raw(load_or_create_key(path)) == sig.public_raw(key)


@pytest.mark.parametrize("payload_len, chunks, last", [(29, 1, 29), (2**20, 1, 2**20), (2**20 + 1, 2, 1),
                                                       (3 * 2**20, 3, 2**20)])
def test_upload_chunk_layout(payload_len, chunks, last):
    assert rules.chunks_expected(payload_len) == chunks
    assert rules.chunk_size(chunks - 1, payload_len) == last
    assert rules.chunk_size(chunks, payload_len) is None and rules.chunk_size(-1, payload_len) is None


@pytest.mark.parametrize("text, value", [("0", 0), ("7", 7), ("12", 12), ("007", None), ("-1", None), ("１", None),
                                         ("", None), ("1e3", None), ("99999999999", None)])
def test_chunk_index_parsing(text, value):
    assert rules.parse_index(text) == value


def test_beijing_text_and_stage():
    at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert rules.beijing_text(at) == "2026-11-27 10:00:00（北京时间）"
    dl = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
    assert rules.lot_stage(lot_status="accepting", deadline_at=dl, opening_at=dl, accepted_parts=frozenset(),
                           now=at) == rules.Stage("registered", "submit", ("deadline", dl))
    assert rules.lot_stage(lot_status="accepting", deadline_at=dl, opening_at=dl,
                           accepted_parts=frozenset({"price", "documents"}), now=at).code == "submitted"
    assert rules.lot_stage(lot_status="closed", deadline_at=dl, opening_at=dl, accepted_parts=frozenset(),
                           now=dl).next_step == "hall"
    assert rules.lot_stage(lot_status="opened", deadline_at=dl, opening_at=dl, accepted_parts=frozenset(),
                           now=dl).next_step == "result"
