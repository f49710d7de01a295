"""Audit stage 2 in the platform's own flows: a real opening signs one milestone checkpoint in its own
transaction (covering opening.opened and the record); the administrator registers a witness with the
CLI; the witness's `cosign` command (stand-alone verifier) talks to the API and keeps its state."""

from __future__ import annotations

import base64
import importlib.util
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select

from tests.api.conftest import Caller
from tests.factories.accounts import actor_ctx, make_org, make_user
from tests.factories.custodians import add_offer, ensure_custodians, sealed_lot
from trading.audit import checkpoints as cps
from trading.audit import keys, merkle, note
from trading.audit.models import AuditCheckpoint, AuditCosignature, AuditEntry, AuditWitness
from trading.audit.services import record
from trading.extensions import db
from trading.procedures.common.opening import services as opening

VERIFIER = Path(__file__).parents[2] / "trading" / "audit" / "standalone_verify.py"


def test_an_opening_signs_a_milestone_checkpoint_in_its_transaction(session, clock, ctx):
    people = ensure_custodians(ctx)
    trade, key = sealed_lot(ctx)
    by_id = {u.id: (u, p) for u, p in people}
    holders = [by_id[s.custodian_user_id] for s in key.shares]
    for price in (1_200_000_00, 1_100_000_00, 1_150_000_00):
        add_offer(ctx, trade, key, price_fen=price, documents=None)
    db.session.commit()
    before = set(db.session.execute(select(AuditCheckpoint.size)).scalars())
    clock.set(trade.deadline_at + timedelta(seconds=1))
    for user, passphrase in holders[:3]:
        opening.submit_share(actor_ctx(session, clock, user), trade.lot_code, passphrase)
        db.session.commit()
    new = [c for c in db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.size)).scalars()
           if c.size not in before]
    assert len(new) == 1
    cp = new[0]
    opened, published = (db.session.execute(select(AuditEntry.seq).where(AuditEntry.action == a)).scalar_one()
                         for a in ("opening.opened", "opening.record_published"))
    assert cp.reason == "milestone" and cp.milestone_action == "opening.record_published"
    assert cp.milestone_seq == published and cp.size > published
    assert json.loads(cp.detail)["milestones"][:2] == [["opening.opened", opened],
                                                        ["opening.record_published", published]]
    bodies = [bytes(b) for b in db.session.execute(select(AuditEntry.body).where(AuditEntry.seq < cp.size)
                                                   .order_by(AuditEntry.seq)).scalars()]
    assert bytes(cp.root) == merkle.tree_head(bodies)[1]


def test_cli_registers_a_witness_of_a_supervising_authority_only(app, ctx):
    sup, bidder = make_org(ctx, "supervisor"), make_org(ctx, "bidder")
    db.session.commit()
    public = base64.b64encode(note.public_raw(Ed25519PrivateKey.generate())).decode()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "witness-add", "--org-id", str(sup.id), "--name", "witness.a", "--public-key",
                             public])
    assert ok.exit_code == 0 and "witness witness.a registered" in ok.output
    for org_id, name, key in ((bidder.id, "witness.b", public), (sup.id, "witness.a", public),
                              (sup.id, "witness c", public), (sup.id, "witness.d", "not-base64!")):
        refused = runner.invoke(args=["audit", "witness-add", "--org-id", str(org_id), "--name", name,
                                      "--public-key", key])
        assert refused.exit_code == 1 and "refused" in refused.output, (name, refused.output)
    assert db.session.execute(select(AuditWitness.name)).scalars().all() == ["witness.a"]
    assert db.session.execute(select(AuditEntry.action).where(AuditEntry.action == "audit.witness_registered")
                              ).scalars().all() == ["audit.witness_registered"]


def _load_verifier():
    spec = importlib.util.spec_from_file_location("standalone_verify_flows", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cosign_command_round_trip_through_the_api(app, ctx, tmp_path, monkeypatch):
    org = make_org(ctx, "supervisor")
    user = make_user(ctx, "supervisor", org=org, totp=True)
    wkey = Ed25519PrivateKey.generate()
    (tmp_path / "w.pem").write_bytes(wkey.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cps.register_witness(ctx, org_id=org.id, name="witness.cron", public_raw=note.public_raw(wkey))
    for i in range(4):
        record(ctx, "test.event", "thing", i, payload={})
    cps.make_checkpoint(ctx, "periodic")
    db.session.commit()
    api = Caller(app, user)
    sv = _load_verifier()
    calls = []

    def http(method, url, token, payload=None):  # the platform answered through the test client
        path = urlparse(url)
        calls.append((method, path.path))
        resp = api.call(method, path.path + (f"?{path.query}" if path.query else ""), payload)
        assert resp.status_code < 400, resp.json
        return resp.json

    monkeypatch.setattr(sv, "_http", http)
    args = ["cosign", "--key", str(tmp_path / "w.pem"), "--name", "witness.cron", "--state", str(tmp_path / "s.json"),
            "--log-key", keys.log_verifier_key(), "--url", "https://ggzy.example"]
    assert sv.main(args) == 0
    first = json.loads((tmp_path / "s.json").read_text())
    for i in range(3):
        record(ctx, "test.event", "thing", 10 + i, payload={})
    cps.make_checkpoint(ctx, "periodic")
    db.session.commit()
    assert sv.main(args) == 0
    second = json.loads((tmp_path / "s.json").read_text())
    assert second["size"] > first["size"]
    assert ("GET", "/api/v1/audit/consistency") in calls
    assert db.session.query(AuditCosignature).count() == 2
