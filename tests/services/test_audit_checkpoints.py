"""Audit stage 2 on the database: checkpoints extend from the stored frontier and sign a C2SP note,
proofs from stored nodes + entries match the pure tree, milestones sign in the same transaction (and
never in ordinary appends), witnesses cosign against their registered key."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from tests.conftest import is_postgres
from tests.factories.accounts import make_org
from trading.audit import checkpoints as cps
from trading.audit import keys, merkle, note
from trading.audit.models import AuditCheckpoint, AuditEntry, AuditMerkleNode
from trading.audit.services import record
from trading.core.errors import DomainError
from trading.extensions import db


def _write(ctx, n, action="test.event"):
    for i in range(n):
        record(ctx, action, "thing", i, payload={"n": i, "text": "第" * (i % 5)})


def _bodies():
    return [bytes(b) for b in db.session.execute(select(AuditEntry.body).order_by(AuditEntry.seq)).scalars()]


def _count():
    return db.session.scalar(select(func.count()).select_from(AuditCheckpoint))


def test_checkpoint_signs_the_root_of_the_stored_entries(ctx):
    _write(ctx, 5)
    cp = cps.make_checkpoint(ctx, "manual")
    db.session.commit()
    bodies = _bodies()
    assert (cp.size, bytes(cp.root)) == merkle.tree_head(bodies)
    body, sigs = note.split_note(cp.note)
    parsed = note.parse_checkpoint(body)
    assert (parsed.origin, parsed.size, parsed.root) == (keys.DEFAULT_ORIGIN, 5, bytes(cp.root))
    name, public = note.parse_verifier_key(keys.log_verifier_key())
    assert note.verify_signature(body, sigs[0], name, public)
    assert sigs[0].line().startswith("\u2014 " + keys.DEFAULT_ORIGIN + " ")
    # the log did not grow: the same checkpoint, not a second one
    assert cps.make_checkpoint(ctx, "periodic").id == cp.id and _count() == 1


def test_next_checkpoint_extends_the_frontier_and_proofs_use_stored_nodes(ctx):
    _write(ctx, 300)
    first = cps.make_checkpoint(ctx, "periodic")
    _write(ctx, 333)
    second = cps.make_checkpoint(ctx, "periodic")
    db.session.commit()
    bodies = _bodies()
    leaves = [merkle.leaf_hash(b) for b in bodies]
    assert bytes(first.root) == merkle.root_of_leaves(leaves[:300])
    assert bytes(second.root) == merkle.root_of_leaves(leaves)
    stored = db.session.execute(select(AuditMerkleNode.level, AuditMerkleNode.index)).all()
    assert sorted(stored) == [(8, 0), (8, 1), (9, 0)]
    memory = merkle.leaves_subtree(leaves)
    for seq in (0, 1, 255, 256, 299, 511, 512, 632):
        got = cps.inclusion(db.session, seq)
        proof = [base64.b64decode(p) for p in got["proof"]]
        assert proof == merkle.inclusion_proof(seq, 633, memory)
        assert merkle.verify_inclusion(seq, 633, merkle.leaf_hash(got["entry"].encode()), proof, bytes(second.root))
    proof = cps.consistency(db.session, 300, 633)
    assert merkle.verify_consistency(300, 633, bytes(first.root), bytes(second.root), proof)


def test_inclusion_is_none_until_a_checkpoint_covers_the_entry(ctx):
    _write(ctx, 3)
    assert cps.inclusion(db.session, 0) is None
    cps.make_checkpoint(ctx)
    _write(ctx, 1)
    assert cps.inclusion(db.session, 3) is None
    assert cps.inclusion(db.session, 2)["tree_size"] == 3


def test_milestone_signs_in_the_same_transaction_ordinary_appends_do_not(ctx):
    _write(ctx, 3)
    db.session.commit()
    assert _count() == 0
    entry = record(ctx, "award.determined", "lot", 9, payload={})
    _write(ctx, 1)
    db.session.commit()
    cp = db.session.execute(select(AuditCheckpoint)).scalar_one()
    assert (cp.size, cp.reason, cp.milestone_action, cp.milestone_seq) == (5, "milestone", "award.determined", entry.seq)
    assert bytes(cp.root) == merkle.tree_head(_bodies())[1]


def test_a_savepoint_neither_signs_nor_forgets_the_milestone(ctx):
    """The commit events of a SAVEPOINT are not the transaction's: the milestone signs once, at the
    outer commit, even after a savepoint was released and another rolled back."""
    entry = record(ctx, "award.determined", "lot", 9, payload={})
    with db.session.begin_nested():
        _write(ctx, 1)
    assert _count() == 0
    try:
        with db.session.begin_nested():
            raise ValueError("a refused step")
    except ValueError:
        pass
    db.session.commit()
    cp = db.session.execute(select(AuditCheckpoint)).scalar_one()
    assert (cp.size, cp.milestone_seq) == (entry.seq + 2, entry.seq)


def test_rolled_back_milestone_signs_nothing(ctx):
    record(ctx, "opening.opened", "lot", 1, payload={})
    db.session.rollback()
    _write(ctx, 1)
    db.session.commit()
    assert _count() == 0


@pytest.mark.parametrize("action,signs", [("complaint.decided", True), ("complaint.filed", False),
                                          ("evaluation.report_final", True), ("evaluation.sheet_saved", False)])
def test_milestone_codes(ctx, action, signs):
    record(ctx, action, "x", 1, payload={})
    db.session.commit()
    assert _count() == (1 if signs else 0)


def test_cli_checkpoint(app, ctx):
    _write(ctx, 2)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "2"
    assert _count() == 1


def _witness(ctx, kind="supervisor"):
    org = make_org(ctx, kind)
    key = Ed25519PrivateKey.generate()
    w = cps.register_witness(ctx, org_id=org.id, name=f"witness.{org.credit_code}", public_raw=note.public_raw(key))
    return w, key


def test_witness_cosigns_after_checking_consistency(ctx):
    w, key = _witness(ctx)
    _write(ctx, 4)
    old = cps.make_checkpoint(ctx)
    _write(ctx, 6)
    new = cps.make_checkpoint(ctx)
    body, _ = note.split_note(new.note)
    assert merkle.verify_consistency(old.size, new.size, bytes(old.root), bytes(new.root),
                                     cps.consistency(db.session, old.size, new.size))
    line = note.cosign(body, w.name, key, 1_780_000_000).line()
    cps.submit_cosignature(ctx, new.size, line)
    db.session.commit()
    rows = cps.checkpoint_rows(db.session)
    assert rows[0]["witnesses"] == [w.name] and rows[1]["witnesses"] == []
    full = cps.cosigned_note(db.session, new)
    _, sigs = note.split_note(full)
    assert note.verify_cosignature(body, sigs[1], w.name, bytes(w.public_raw)) == 1_780_000_000
    assert cps.last_cosigned_size(db.session, w.id) == new.size
    assert cps.checkpoint_json(db.session, new)["witnessed"] is True


def test_bad_cosignatures_are_refused(ctx):
    w, key = _witness(ctx)
    _write(ctx, 2)
    cp = cps.make_checkpoint(ctx)
    body, _ = note.split_note(cp.note)
    other = Ed25519PrivateKey.generate()
    cases = [note.cosign(body, w.name, other, 1).line(),                     # wrong key
             note.cosign(body.replace(f"\n{cp.size}\n", f"\n{cp.size + 1}\n"), w.name, key, 1).line(),  # another tree
             note.cosign(body, "witness.unknown", key, 1).line(),            # unregistered
             "not a signature line"]
    for line in cases:
        with pytest.raises(DomainError):
            cps.submit_cosignature(ctx, cp.size, line)
    with pytest.raises(DomainError):
        cps.submit_cosignature(ctx, 99, note.cosign(body, w.name, key, 1).line())


def test_only_a_supervising_authority_is_a_witness(ctx):
    with pytest.raises(DomainError):
        _witness(ctx, kind="bidder")


@pytest.mark.skipif(not is_postgres(), reason="the append-only triggers are PostgreSQL's")
@pytest.mark.parametrize("table", ["audit_checkpoint", "audit_cosignature", "audit_merkle_node"])
def test_postgres_refuses_to_rewrite_stage2_rows(ctx, table):
    w, key = _witness(ctx)
    _write(ctx, 300)
    cp = cps.make_checkpoint(ctx)
    body, _ = note.split_note(cp.note)
    cps.submit_cosignature(ctx, cp.size, note.cosign(body, w.name, key, 1).line())
    db.session.commit()
    for stmt in (f"UPDATE {table} SET created_at = created_at" if table != "audit_merkle_node"
                 else f"UPDATE {table} SET hash = hash", f"DELETE FROM {table}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(stmt))
        db.session.rollback()
