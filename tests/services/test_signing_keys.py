"""Signing-key use cases: register (point validated, kid and fingerprint derived, unique), revoke with a
reason, list own organisation only, validity at an instant — each audited, each refusal a clear 4xx."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from tests.factories.accounts import actor_ctx, make_user
from trading.accounts import signing_keys as sk
from trading.accounts.models import Organisation
from trading.audit.models import AuditEntry
from trading.core.errors import Conflict, Forbidden, InvalidInput, NotFound


def new_raw() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)


def entries(session, action: str) -> list[dict]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).scalars()
    return [json.loads(bytes(r.body)) for r in rows]


@pytest.fixture
def bidder(ctx):
    return make_user(ctx, "bidder")


@pytest.fixture
def bctx(session, clock, bidder):
    return actor_ctx(session, clock, bidder)


def test_register_derives_kid_and_fingerprint_and_audits(bctx, session, bidder, clock):
    raw = new_raw()
    key = sk.register_signing_key(bctx, public_raw=raw, label="  财务室电脑 ", source="browser")
    assert key.kid == hashlib.sha256(raw).digest()[:8]
    assert key.fingerprint == hashlib.sha256(raw).hexdigest()
    assert (key.org_id, key.label, key.source, key.created_by) == (bidder.org_id, "财务室电脑", "browser", bidder.id)
    assert key.created_at == clock.now() and key.revoked_at is None
    [entry] = entries(session, "signing_key.registered")
    assert entry["payload"] == {"kid": key.kid.hex(), "fingerprint": key.fingerprint, "label": "财务室电脑",
                                "source": "browser", "org_id": bidder.org_id}
    assert entry["object"] == {"type": "signing_key", "id": str(key.id)}


def _off_curve() -> bytes:
    raw = bytearray(new_raw())
    raw[-1] ^= 1  # y no longer matches x
    return bytes(raw)


@pytest.mark.parametrize("make_raw,code", [
    (lambda: new_raw()[:64], "signing_key.wrong_length"),
    (lambda: new_raw() + b"\0", "signing_key.wrong_length"),
    (lambda: b"", "signing_key.wrong_length"),
    (_off_curve, "signing_key.invalid_point"),
    (lambda: b"\x02" + new_raw()[1:], "signing_key.invalid_point"),  # not the uncompressed form
    (lambda: b"\x04" + b"\0" * 64, "signing_key.invalid_point"),
])
def test_register_refuses_bad_points(bctx, session, make_raw, code):
    with pytest.raises(InvalidInput) as err:
        sk.register_signing_key(bctx, public_raw=make_raw(), label="x", source="browser")
    assert err.value.code == code and err.value.status == 422
    assert entries(session, "signing_key.registered") == []


@pytest.mark.parametrize("fields,code", [
    ({"source": "usb"}, "signing_key.source_invalid"),
    ({"label": "钥" * 61}, "signing_key.label_too_long"),
])
def test_register_refuses_bad_fields(bctx, fields, code):
    with pytest.raises(InvalidInput) as err:
        sk.register_signing_key(bctx, public_raw=new_raw(), **{"label": "", "source": "tool", **fields})
    assert err.value.code == code


def test_duplicate_kid_refused_even_for_another_org(bctx, session, clock, ctx):
    raw = new_raw()
    sk.register_signing_key(bctx, public_raw=raw, label="a", source="tool")
    with pytest.raises(Conflict) as err:
        sk.register_signing_key(bctx, public_raw=raw, label="b", source="tool")
    assert err.value.code == "signing_key.duplicate" and err.value.status == 409
    other = actor_ctx(session, clock, make_user(ctx, "bidder"))
    with pytest.raises(Conflict):
        sk.register_signing_key(other, public_raw=raw, label="c", source="tool")


@pytest.mark.parametrize("role", ["owner", "agency", "operator", "supervisor", "expert", "admin"])
def test_only_bidders_manage_keys(ctx, session, clock, role):
    actor = actor_ctx(session, clock, make_user(ctx, role))
    with pytest.raises(Forbidden):
        sk.register_signing_key(actor, public_raw=new_raw(), label="", source="browser")
    with pytest.raises(Forbidden):
        sk.list_signing_keys(actor)


def test_revoke_records_reason_and_refuses_twice(bctx, session, bidder, clock):
    key = sk.register_signing_key(bctx, public_raw=new_raw(), label="", source="browser")
    clock.advance(hours=1)
    sk.revoke_signing_key(bctx, key.id, "  电脑丢失 ")
    assert (key.revoked_at, key.revoked_by, key.revoke_reason) == (clock.now(), bidder.id, "电脑丢失")
    [entry] = entries(session, "signing_key.revoked")
    assert entry["payload"] == {"kid": key.kid.hex(), "fingerprint": key.fingerprint, "reason": "电脑丢失",
                                "org_id": bidder.org_id}
    with pytest.raises(Conflict) as err:
        sk.revoke_signing_key(bctx, key.id, "again")
    assert err.value.code == "signing_key.already_revoked"
    assert len(entries(session, "signing_key.revoked")) == 1


def test_revoke_needs_a_reason(bctx):
    key = sk.register_signing_key(bctx, public_raw=new_raw(), label="", source="browser")
    with pytest.raises(InvalidInput) as err:
        sk.revoke_signing_key(bctx, key.id, "   ")
    assert err.value.code == "signing_key.reason_required"
    assert key.revoked_at is None


def test_other_orgs_key_is_not_found_nor_listed(bctx, ctx, session, clock):
    key = sk.register_signing_key(bctx, public_raw=new_raw(), label="", source="browser")
    other = actor_ctx(session, clock, make_user(ctx, "bidder"))
    with pytest.raises(NotFound) as err:
        sk.revoke_signing_key(other, key.id, "not mine")
    with pytest.raises(NotFound) as missing:
        sk.revoke_signing_key(other, 999_999, "none")
    assert err.value.message_zh == missing.value.message_zh  # the same 404 either way
    assert sk.list_signing_keys(other) == []
    assert key.revoked_at is None


def test_list_own_org_newest_first_including_revoked(bctx, ctx, bidder, session, clock):
    colleague = actor_ctx(session, clock, make_user(ctx, "bidder", org=session.get(Organisation, bidder.org_id)))
    first = sk.register_signing_key(bctx, public_raw=new_raw(), label="1", source="browser")
    clock.advance(minutes=1)
    second = sk.register_signing_key(colleague, public_raw=new_raw(), label="2", source="tool")
    sk.revoke_signing_key(bctx, first.id, "rotated")
    assert [k.id for k in sk.list_signing_keys(bctx)] == [second.id, first.id]


def test_valid_at_instants(bctx, bidder, ctx, session, clock):
    registered = clock.now()
    key = sk.register_signing_key(bctx, public_raw=new_raw(), label="", source="browser")
    tick = timedelta(microseconds=1)
    org = bidder.org_id
    assert sk.signing_key_valid_at(bctx, org, key.kid, registered - tick) is None
    assert sk.signing_key_valid_at(bctx, org, key.kid, registered) is key
    clock.advance(days=2)
    revoked = clock.now()
    sk.revoke_signing_key(bctx, key.id, "rotated")
    assert sk.signing_key_valid_at(bctx, org, key.kid, revoked - tick) is key
    assert sk.signing_key_valid_at(bctx, org, key.kid, revoked) is None
    assert sk.signing_key_valid_at(bctx, org, key.kid, revoked + timedelta(days=1)) is None
    # another organisation's kid, or an unknown kid, is never valid for this org
    other_user = make_user(ctx, "bidder")
    other = sk.register_signing_key(actor_ctx(session, clock, other_user), public_raw=new_raw(), label="",
                                    source="tool")
    assert sk.signing_key_valid_at(bctx, org, other.kid, clock.now()) is None
    assert sk.signing_key_valid_at(bctx, other_user.org_id, other.kid, clock.now()) is other
    assert sk.signing_key_valid_at(bctx, org, b"\0" * 8, clock.now()) is None


def test_pem_round_trip_and_refusals():
    priv = ec.generate_private_key(ec.SECP256R1())
    pem = priv.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    assert sk.public_raw_from_pem("\n" + pem + "\n") == priv.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    other = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(InvalidInput) as err:
        sk.public_raw_from_pem(other)
    assert err.value.code == "signing_key.not_p256"
    for bad in ("", "hello", pem.replace("A", "B", 3)[:60]):
        with pytest.raises(InvalidInput) as err:
            sk.public_raw_from_pem(bad)
        assert err.value.code == "signing_key.bad_pem"


def test_grouped_fingerprint():
    assert sk.grouped("ab12cd34ef") == "ab12 cd34 ef"
