"""Offer deadlines in the audit log: `flask audit deadlines` commits the exact set of sealed digests
standing at the deadline (a replaced part counts once, a withdrawn one not at all) in an entry and
signs a checkpoint over it; once per lot; nothing before the deadline. The supervision page shows the
checkpoints and which are witnessed."""

from __future__ import annotations

import json
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tests.factories.accounts import login_as, make_org, make_user
from tests.factories.offers import bidder_with_key, manifest_bytes, price_sheet, seal_for, sealed_lot
from trading.audit import checkpoints as cps
from trading.audit import merkle, note
from trading.audit.models import AuditCheckpoint, AuditEntry
from trading.extensions import db
from trading.procedures.common.participation import completion, services
from trading.supervision.checkpoints import ACTION, commit_deadlines


def _upload(lot, b, part):
    sub = services.start_submission(b.ctx, lot.code, part)
    manifest, payload = seal_for(lot, b, part, sub.submission_id, price_sheet())
    services.put_manifest(b.ctx, sub.submission_id, manifest_bytes(manifest))
    services.put_chunk(b.ctx, sub.submission_id, 0, payload)
    receipt, _ = completion.complete_submission(b.ctx, sub.submission_id)
    db.session.commit()
    return services.own_submission(b.ctx, sub.submission_id)


def test_deadline_commits_the_standing_sealed_digests_once(app, ctx, clock):
    lot = sealed_lot(ctx)
    db.session.commit()
    a, b = bidder_with_key(ctx), bidder_with_key(ctx)
    for bidder in (a, b):
        services.register_for_lot(bidder.ctx, lot.code)
    first = _upload(lot, a, "price")
    replaced = _upload(lot, a, "price")  # the same part again: supersedes the first
    gone = _upload(lot, b, "price")
    completion.withdraw_submission(b.ctx, gone.submission_id)
    kept = _upload(lot, b, "price")
    db.session.commit()
    assert commit_deadlines(ctx) is None  # before the deadline: nothing
    clock.set(lot.deadline + timedelta(seconds=1))

    result = app.test_cli_runner().invoke(args=["audit", "deadlines"])
    assert result.exit_code == 0, result.output
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == ACTION)).scalar_one()
    payload = json.loads(entry.body)["payload"]
    assert [row[:3] for row in payload["sealed"]] == [[replaced.submission_id, "price", replaced.payload_sha256],
                                                      [kept.submission_id, "price", kept.payload_sha256]]
    assert first.submission_id not in entry.body.decode() and payload["count"] == 2
    cp = db.session.execute(select(AuditCheckpoint).where(AuditCheckpoint.reason == "deadline")).scalar_one()
    assert cp.size == entry.seq + 1 and json.loads(cp.detail) == {"lots": [lot.code]}
    bodies = [bytes(x) for x in db.session.execute(select(AuditEntry.body).order_by(AuditEntry.seq)).scalars()]
    assert bytes(cp.root) == merkle.tree_head(bodies)[1]

    again = app.test_cli_runner().invoke(args=["audit", "deadlines"])
    assert again.exit_code == 0 and "no lot reached its deadline" in again.output


def test_supervision_page_shows_checkpoints_and_witnesses(app, ctx, client):
    org = make_org(ctx, "supervisor")
    sup = make_user(ctx, "supervisor", org=org, totp=True)
    key = Ed25519PrivateKey.generate()
    w = cps.register_witness(ctx, org_id=org.id, name="witness.page", public_raw=note.public_raw(key))
    old = cps.make_checkpoint(ctx, "periodic")
    body, _ = note.split_note(old.note)
    cps.submit_cosignature(ctx, old.size, note.cosign(body, w.name, key, 7).line())
    new = cps.make_checkpoint(ctx, "manual")
    db.session.commit()
    login_as(client, sup)
    html = client.get("/supervise/audit/verify").get_data(as_text=True)
    assert 'data-testid="checkpoints"' in html
    old_row = html.split(f'data-size="{old.size}"')[1].split("</tr>")[0]
    new_row = html.split(f'data-size="{new.size}"')[1].split("</tr>")[0]
    assert 'data-testid="witnessed"' in old_row and "witness.page" in old_row
    assert 'data-testid="not-witnessed"' in new_row
    english = client.get("/supervise/audit/verify?lang=en").get_data(as_text=True)
    assert "Signed checkpoints" in english and "Witnessed" in english and "Not yet witnessed" in english
