"""The 签名密钥 page: bidders only; lists the organisation's keys with grouped fingerprints; registers a
PEM public key from the offline tool (pasted or uploaded); revokes with a reason; no inline script."""

from __future__ import annotations

import io
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.factories.accounts import actor_ctx, csrf_token, login_as, make_user
from trading.accounts import signing_keys as sk
from trading.accounts.models import SigningKey
from trading.extensions import db


def pem_and_raw():
    pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    return (pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
            pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


@pytest.fixture
def bidder(ctx):
    return make_user(ctx, "bidder")


def test_page_lists_own_keys_grouped_and_loads_the_module(client, ctx, session, clock, bidder):
    _, raw = pem_and_raw()
    key = sk.register_signing_key(actor_ctx(session, clock, bidder), public_raw=raw, label="财务室", source="browser")
    other = make_user(ctx, "bidder")
    sk.register_signing_key(actor_ctx(session, clock, other), public_raw=pem_and_raw()[1], label="别家", source="tool")
    login_as(client, bidder)
    page = client.get("/keys/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert sk.grouped(key.fingerprint) in html and "财务室" in html and "别家" not in html
    assert 'type="module"' in html and "js/sealing/keys.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script (CSP)
    assert " on" + "click=" not in html


@pytest.mark.parametrize("role", ["owner", "operator", "supervisor", "expert"])
def test_page_is_for_bidders(client, ctx, role):
    login_as(client, make_user(ctx, role, totp=role in ("operator", "supervisor")))
    assert client.get("/keys/").status_code == 403


def test_register_pem_pasted_and_uploaded(client, bidder):
    login_as(client, bidder)
    pem, raw = pem_and_raw()
    token = csrf_token(client, "/keys/")
    resp = client.post("/keys/pem", data={"csrf_token": token, "pem": pem, "label": "制作工具"})
    assert resp.status_code == 302
    pem2, raw2 = pem_and_raw()
    resp = client.post("/keys/pem", data={"csrf_token": token, "label": "",
                                          "pem_file": (io.BytesIO(pem2.encode()), "key.pub.pem")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    rows = db.session.query(SigningKey).order_by(SigningKey.id).all()
    assert [(r.public_raw, r.source, r.label) for r in rows] == [(raw, "tool", "制作工具"), (raw2, "tool", "")]
    assert "已登记签名公钥" in client.get("/keys/").get_data(as_text=True)


def test_bad_pem_shows_the_error_on_the_form(client, bidder):
    login_as(client, bidder)
    resp = client.post("/keys/pem", data={"csrf_token": csrf_token(client, "/keys/"), "pem": "hello"})
    assert resp.status_code == 422
    assert "无法读取 PEM 公钥" in resp.get_data(as_text=True)
    assert db.session.query(SigningKey).count() == 0


def test_revoke_with_reason(client, session, clock, bidder):
    key = sk.register_signing_key(actor_ctx(session, clock, bidder), public_raw=pem_and_raw()[1], label="",
                                  source="browser")
    login_as(client, bidder)
    token = csrf_token(client, "/keys/")
    assert client.post(f"/keys/{key.id}/revoke", data={"csrf_token": token, "reason": ""}).status_code == 302
    assert db.session.get(SigningKey, key.id).revoked_at is None  # a reason is required
    assert client.post(f"/keys/{key.id}/revoke", data={"csrf_token": token, "reason": "电脑报废"}).status_code == 302
    assert db.session.get(SigningKey, key.id).revoke_reason == "电脑报废"
    html = client.get("/keys/").get_data(as_text=True)
    assert "已吊销" in html and "电脑报废" in html


def test_revoking_another_orgs_key_is_404(client, ctx, session, clock, bidder):
    other = make_user(ctx, "bidder")
    key = sk.register_signing_key(actor_ctx(session, clock, other), public_raw=pem_and_raw()[1], label="",
                                  source="browser")
    login_as(client, bidder)
    resp = client.post(f"/keys/{key.id}/revoke", data={"csrf_token": csrf_token(client, "/keys/"), "reason": "x"})
    assert resp.status_code == 404
