"""Audit stage 2 over HTTP: a witness (a supervising authority) fetches checkpoints and consistency
proofs, verifies them with the stand-alone verifier's witness step and cosigns; a bidder's receipt
download gains an inclusion proof that the stand-alone verifier checks offline."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.api.conftest import Caller
from tests.factories.accounts import login_as, make_org, make_user
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.audit import checkpoints as cps
from trading.audit import keys, note
from trading.audit.services import record
from trading.extensions import db
from trading.procedures.common.participation import completion, services

VERIFIER = Path(__file__).parents[2] / "trading" / "audit" / "standalone_verify.py"


def _standalone():
    spec = importlib.util.spec_from_file_location("standalone_verify", VERIFIER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(ctx, n):
    for i in range(n):
        record(ctx, "test.event", "thing", i, payload={"n": i})


@pytest.fixture
def witness(app, ctx):
    org = make_org(ctx, "supervisor")
    user = make_user(ctx, "supervisor", org=org, totp=True)
    key = Ed25519PrivateKey.generate()
    w = cps.register_witness(ctx, org_id=org.id, name="witness.jiandu", public_raw=note.public_raw(key))
    db.session.commit()
    return Caller(app, user), w, key


def test_witness_fetches_verifies_and_cosigns(app, ctx, witness):
    api, w, key = witness
    sv = _standalone()
    assert api.get("/audit/checkpoints/latest").status_code == 404
    logkey = api.get("/audit/log-key").json
    assert logkey["vkey"] == keys.log_verifier_key() and logkey["witnesses"][0]["name"] == w.name
    _write(ctx, 7)
    cps.make_checkpoint(ctx)
    db.session.commit()

    state: dict = {}
    for round_ in range(2):
        latest = api.get("/audit/checkpoints/latest").json
        proof = []
        if state:
            proof = api.get(f"/audit/consistency?first={state['size']}&second={latest['size']}").json["proof"]
        line, state = sv.witness_step(latest["note"], proof, state, key, w.name, logkey["vkey"], 1_780_000_000 + round_)
        resp = api.post(f"/audit/checkpoints/{latest['size']}/cosignatures", {"line": line})
        assert resp.status_code == 201, resp.json
        assert resp.json == {"size": latest["size"], "witness": w.name, "timestamp": 1_780_000_000 + round_}
        shown = api.get(f"/audit/checkpoints/{latest['size']}").json
        assert shown["witnessed"] is True and shown["note"].endswith(line)
        _write(ctx, 5)
        cps.make_checkpoint(ctx)
        db.session.commit()
    assert not api.get("/audit/checkpoints/latest").json["witnessed"]
    assert api.get("/audit/log-key").json["witnesses"][0]["last_cosigned_size"] == state["size"]


def test_witness_refuses_a_split_view_and_a_log_that_does_not_extend(app, ctx, witness):
    api, w, key = witness
    sv = _standalone()
    _write(ctx, 5)
    cp = cps.make_checkpoint(ctx)
    db.session.commit()
    _, state = sv.witness_step(cp.note, [], {}, key, w.name, keys.log_verifier_key(), 1)
    fork = note.checkpoint_body(keys.origin(), cp.size, b"\x07" * 32)
    fork_note = note.signed_note(fork, [note.sign_body(fork, keys.origin(), keys.log_key())])
    with pytest.raises(ValueError, match="split view"):
        sv.witness_step(fork_note, [], state, key, w.name, keys.log_verifier_key(), 2)
    bigger = note.checkpoint_body(keys.origin(), cp.size + 3, b"\x07" * 32)
    bigger_note = note.signed_note(bigger, [note.sign_body(bigger, keys.origin(), keys.log_key())])
    with pytest.raises(ValueError, match="does not extend"):
        sv.witness_step(bigger_note, [base64.b64encode(b"\x01" * 32).decode()], state, key, w.name,
                        keys.log_verifier_key(), 2)
    other = note.signed_note(fork, [note.sign_body(fork, keys.origin(), Ed25519PrivateKey.generate())])
    with pytest.raises(ValueError, match="not signed by the log key"):
        sv.witness_step(other, [], {}, key, w.name, keys.log_verifier_key(), 2)


def test_cosignature_refusals(app, ctx, witness):
    api, w, key = witness
    _write(ctx, 3)
    cp = cps.make_checkpoint(ctx)
    other_org_user = make_user(ctx, "supervisor", totp=True)
    db.session.commit()
    body, _ = note.split_note(cp.note)
    line = note.cosign(body, w.name, key, 5).line()
    assert api.post(f"/audit/checkpoints/{cp.size}/cosignatures", {"line": "— x y"}).status_code == 422
    bad = note.cosign(body, w.name, Ed25519PrivateKey.generate(), 5).line()
    resp = api.post(f"/audit/checkpoints/{cp.size}/cosignatures", {"line": bad})
    assert resp.status_code == 422 and resp.json["error"] == "audit.cosignature_invalid"
    assert api.post(f"/audit/checkpoints/{cp.size + 50}/cosignatures", {"line": line}).status_code == 404
    resp = Caller(app, other_org_user).post(f"/audit/checkpoints/{cp.size}/cosignatures", {"line": line})
    assert resp.status_code == 403 and resp.json["error"] == "audit.witness_other_org"


def test_consistency_needs_checkpoint_sizes(app, ctx, witness):
    api, _, _ = witness
    _write(ctx, 3)
    cp = cps.make_checkpoint(ctx)
    db.session.commit()
    assert api.get(f"/audit/consistency?first=2&second={cp.size}").status_code == 404
    assert api.get(f"/audit/consistency?first={cp.size}&second=0").status_code in (404, 422)


def _upload(lot, b):
    sub = services.start_submission(b.ctx, lot.code, "price")
    manifest, payload = seal_for(lot, b, "price", sub.submission_id, price_sheet())
    services.put_manifest(b.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_chunk(b.ctx, sub.submission_id, 0, payload)
    receipt, _ = completion.complete_submission(b.ctx, sub.submission_id)
    db.session.commit()
    return receipt


def _verify_receipt(tmp_path: Path, doc: dict, *extra) -> tuple[int, str]:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    proc = subprocess.run([sys.executable, "-I", str(VERIFIER), "receipt", str(path), "--log-key",
                           keys.log_verifier_key(), *extra], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout


def test_receipt_gains_an_inclusion_proof_checked_offline(app, ctx, client, tmp_path):
    lot = sealed_lot(ctx)
    db.session.commit()
    b = bidder_with_key(ctx)
    services.register_for_lot(b.ctx, lot.code)
    receipt = _upload(lot, b)
    login_as(client, b.user)
    url = f"/offers/receipts/{receipt.public_id}.json"
    assert client.get(url).json["inclusion"] is None
    resp = client.get(f"/api/v1/receipts/{receipt.public_id}/inclusion")
    assert resp.status_code == 404 and resp.json["error"] == "audit.not_checkpointed"

    cp = cps.make_checkpoint(ctx, "periodic")
    org = make_org(ctx, "supervisor")
    wkey = Ed25519PrivateKey.generate()
    w = cps.register_witness(ctx, org_id=org.id, name="witness.receipt", public_raw=note.public_raw(wkey))
    body, _ = note.split_note(cp.note)
    cosig = note.cosign(body, w.name, wkey, 9).line()
    cps.submit_cosignature(ctx, cp.size, cosig)
    db.session.commit()
    doc = client.get(url).json
    assert doc["inclusion"]["witnessed"] and doc["inclusion"]["checkpoint"].endswith(cosig)
    inc = doc["inclusion"]
    assert inc["leaf_index"] == doc["receipt"]["audit_seq"] and inc["log_key"] == keys.log_verifier_key()
    assert client.get(f"/api/v1/receipts/{receipt.public_id}/inclusion").json == inc
    code, out = _verify_receipt(tmp_path, doc)
    assert code == 0, out
    assert f"entry {inc['leaf_index']} is in the log's signed checkpoint of size {inc['tree_size']}" in out

    receipt_key = client.get("/api/v1/receipt-key").json["public"]
    code, out = _verify_receipt(tmp_path, doc, "--receipt-key", receipt_key)
    assert code == 0 and "receipt signature verified" in out, out

    # tampering: another digest in the receipt, a changed proof hash, a forged checkpoint
    changed = json.loads(json.dumps(doc))
    changed["receipt"]["payload_sha256"] = "00" * 32
    assert "FAIL [mismatch]" in _verify_receipt(tmp_path, changed)[1]
    assert "FAIL [receipt-signature]" in _verify_receipt(tmp_path, changed, "--receipt-key", receipt_key)[1]
    if inc["proof"]:
        bad = json.loads(json.dumps(doc))
        bad["inclusion"]["proof"][0] = base64.b64encode(b"\x00" * 32).decode()
        assert "FAIL [inclusion]" in _verify_receipt(tmp_path, bad)[1]
    forged = json.loads(json.dumps(doc))
    forged["inclusion"]["checkpoint"] = forged["inclusion"]["checkpoint"].replace(
        f"\n{inc['tree_size']}\n", f"\n{inc['tree_size'] + 1}\n")
    code, out = _verify_receipt(tmp_path, forged)
    assert code == 1 and "FAIL [forged-checkpoint]" in out
