"""Signing keys through the API: register from a raw base64 point or a PEM, list own organisation,
revoke; refusals are 4xx that write nothing to the audit trail."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.api.conftest import Caller, audit_next_seq
from tests.factories.accounts import make_user
from trading.extensions import db


def keypair():
    pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    return (pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint),
            pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())


def test_register_raw_list_and_revoke(caller):
    bidder = caller("bidder")
    raw, _ = keypair()
    made = bidder.post("/signing-keys", {"public": base64.b64encode(raw).decode(), "label": "财务室"})
    assert made.status_code == 201, made.json
    k = made.json
    assert k["kid"] == base64.b64encode(hashlib.sha256(raw).digest()[:8]).decode()
    assert k["fingerprint"] == hashlib.sha256(raw).hexdigest()
    assert (k["label"], k["source"], k["revoked_at"]) == ("财务室", "browser", None)
    assert k["created_at"].endswith("+08:00")
    assert [i["id"] for i in bidder.get("/signing-keys").json["items"]] == [k["id"]]
    revoked = bidder.post(f"/signing-keys/{k['id']}/revoke", {"reason": "换电脑"})
    assert revoked.status_code == 200, revoked.json
    assert revoked.json["revoked_at"] and revoked.json["revoke_reason"] == "换电脑"
    again = bidder.post(f"/signing-keys/{k['id']}/revoke", {"reason": "换电脑"})
    assert (again.status_code, again.json["error"]) == (409, "signing_key.already_revoked")


def test_register_pem_is_source_tool(caller):
    raw, pem = keypair()
    made = caller("bidder").post("/signing-keys", {"pem": pem, "label": "制作工具"})
    assert made.status_code == 201, made.json
    assert made.json["source"] == "tool"
    assert made.json["public"] == base64.b64encode(raw).decode()


@pytest.mark.parametrize("body,status,code", [
    ({}, 422, "signing_key.public_or_pem"),
    ({"public": "AAAA", "pem": "x"}, 422, "signing_key.public_or_pem"),
    ({"public": "not base64!"}, 422, "signing_key.bad_base64"),
    ({"public": base64.b64encode(b"\x04" + b"\1" * 63).decode()}, 422, "signing_key.wrong_length"),
    ({"public": base64.b64encode(b"\x04" + b"\1" * 64).decode()}, 422, "signing_key.invalid_point"),
    ({"pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}, 422, "signing_key.bad_pem"),
    ({"public": "AAAA", "source": "usb"}, 422, "invalid_input"),
    ({"public": "AAAA", "extra": 1}, 422, "invalid_input"),
])
def test_bad_bodies(caller, body, status, code):
    bidder = caller("bidder")
    before = audit_next_seq()
    resp = bidder.post("/signing-keys", body)
    assert (resp.status_code, resp.json["error"]) == (status, code), resp.json
    assert resp.json["message"]
    assert audit_next_seq() == before


def test_duplicate_is_409(caller):
    raw, _ = keypair()
    body = {"public": base64.b64encode(raw).decode()}
    assert caller("bidder").post("/signing-keys", body).status_code == 201
    resp = caller("bidder").post("/signing-keys", body)
    assert (resp.status_code, resp.json["error"]) == (409, "signing_key.duplicate")


@pytest.mark.parametrize("role", ["owner", "agency", "operator", "supervisor", "expert", "admin"])
def test_non_bidders_refused(caller, role):
    who = caller(role)
    before = audit_next_seq()
    raw, _ = keypair()
    resp = who.post("/signing-keys", {"public": base64.b64encode(raw).decode()})
    assert (resp.status_code, resp.json["error"]) == (403, "permission.role_required")
    assert who.get("/signing-keys").status_code == 403
    assert audit_next_seq() == before


def test_anonymous_needs_login(caller):
    assert caller("anonymous").get("/signing-keys").status_code == 401


def test_other_orgs_key_invisible(app, ctx, caller):
    raw, _ = keypair()
    k = caller("bidder").post("/signing-keys", {"public": base64.b64encode(raw).decode()}).json
    other_user = make_user(ctx, "bidder")
    db.session.commit()
    other = Caller(app, other_user)
    assert other.get("/signing-keys").json["items"] == []
    mine = other.post(f"/signing-keys/{k['id']}/revoke", {"reason": "x"})
    missing = other.post("/signing-keys/999999/revoke", {"reason": "x"})
    assert mine.status_code == missing.status_code == 404
    assert mine.json == missing.json


def test_session_post_needs_csrf(caller):
    raw, _ = keypair()
    resp = caller("bidder").post("/signing-keys", {"public": base64.b64encode(raw).decode()}, csrf=False)
    assert resp.status_code == 400 and resp.json["error"] == "csrf.missing"
