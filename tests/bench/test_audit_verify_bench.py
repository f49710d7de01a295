"""Smoke test of bench/audit_verify.py: at a tiny scale the synthetic bundle is built, the stand-alone
verifier passes it (every root and signature), and both sides hashed the same number of entries. The
speed target is not asserted here (`python -m bench audit_verify` does, at 1,000,000 entries)."""

from bench import audit_verify


def test_audit_verify_benchmark_runs_and_the_bundle_verifies():
    (figure,) = audit_verify.run(scale=0.01)
    d = figure.details
    assert d["verifier_ok"] and d["entries"] == d["bare_count"] == 10_000 and d["checkpoints"] == 1
    assert 250 <= d["average_body"] <= 400
