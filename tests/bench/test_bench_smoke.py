"""Smoke test of the sealed-offer benchmarks: each runs end to end at a tiny scale and its correctness
checks hold (every envelope opened and the record written; every upload got a verified receipt, no
5xx, one accepted submission per bidder). The speed targets are not asserted: tiny runs say nothing
about them (`make bench` does).

PostgreSQL only (the benchmarks refuse SQLite, and the upload one starts gunicorn): skipped under
`make test`, run by `make test-pg` or `TEST_DATABASE_URL=… pytest tests/bench`, in about half a minute.
The benchmarks work in their own schemas (bench_opening, bench_upload) of the test database, never in
the public schema the other tests use."""

from __future__ import annotations

import pytest

from tests.conftest import DB_URL, is_postgres

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="the benchmarks run on PostgreSQL only")]


@pytest.fixture(autouse=True)
def bench_database(monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL", DB_URL)


def _figures(name: str, scale: float) -> dict:
    import importlib

    module = importlib.import_module(f"bench.{name}")
    figures = module.run(scale=scale)
    assert figures and all(f.value == f.value for f in figures)  # no NaN
    return {f.name: f for f in figures}


def test_opening_benchmark_opens_every_envelope():
    figures = _figures("opening", 0.002)
    e2e = next(f for name, f in figures.items() if name.endswith("end to end"))
    d = e2e.details
    assert d["opened"] == d["offers"] == 20 and d["failed"] == 0
    assert d["record"] and d["lot_status"] == "opened"
    assert figures["opening: crypto step in open_lot"].details["calls"] >= d["offers"]


def test_upload_benchmark_loses_nothing():
    figures = _figures("upload", 0.05)
    d = next(iter(figures.values())).details
    assert d["http_5xx"] == 0 and not d["errors"]
    assert d["receipts"] == d["receipts_verified"] == d["accepted_in_db"] == d["bidders"] == 10
    chunked = d["chunked"]  # the chunked protocol, measured beside the one-request upload
    assert chunked["receipts"] == chunked["bidders"] == 10 and chunked["http_5xx"] == 0 and not chunked["errors"]
    assert figures["accountable store (floor)"].value > 0  # the rung between bare and the protocol answered 201s
