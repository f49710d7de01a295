"""Smoke test of bench/auction_watchers.py: a few watchers of one auction's live room through gunicorn
with the PostgreSQL broker; every watcher gets every accepted bid in order (no gap, none missing), the
latencies and the bare NOTIFY baseline are measured, and the database connections stay bounded. The
latency target is not asserted (`make bench` does).

PostgreSQL only (gunicorn and LISTEN/NOTIFY); it works in its own schema (bench_auction_watch) of the
test database."""

from __future__ import annotations

import pytest

from tests.conftest import DB_URL, is_postgres

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="the benchmarks run on PostgreSQL only")]


def test_every_watcher_gets_every_bid(monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL", DB_URL)
    monkeypatch.setenv("BENCH_AUCTION_WATCHERS", "12")
    monkeypatch.setenv("BENCH_AUCTION_WATCHER_BIDS", "5")
    from bench import auction_watchers

    figures = {f.name: f for f in auction_watchers.run(scale=0.01)}
    p99 = figures["bid → 12 watchers, p99"]
    d = p99.details
    assert d["ready"] == 12 and d["accepted"] == 5 and d["bidder"]["statuses"] == {201: 5}
    assert d["deliveries"] == 12 * 5 and d["missing"] == 0 and d["watchers_with_gaps"] == 0
    assert d["watcher_error_count"] == 0 and figures["missed bids (all watchers)"].value == 0
    assert 0 < figures["bid → 12 watchers, p50"].value <= p99.value and p99.baseline > 0
    assert d["baseline_n"] == 5 and 0 < d["peak_db_connections"] <= 40
