"""Smoke test of bench/auction_bids.py: a few bidders race one 网络竞价 lot through gunicorn for a few
seconds; the bid table afterwards has no ordering violation, no 5xx, no client error, and the
conditional-UPDATE baseline ran the same race (same racers, pooled connections) in order. The speed target is not asserted (`make bench` does).

PostgreSQL only (the benchmark starts gunicorn and refuses SQLite); it works in its own schema
(bench_auction) of the test database."""

from __future__ import annotations

import pytest

from tests.conftest import DB_URL, is_postgres

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="the benchmarks run on PostgreSQL only")]


def test_auction_benchmark_keeps_the_order(monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL", DB_URL)
    monkeypatch.setenv("BENCH_AUCTION_BIDDERS", "8")
    from bench import auction_bids

    figures = {f.name: f for f in auction_bids.run(scale=0.01)}
    main = figures["accepted bids/s (8 bidders)"]
    d = main.details
    assert d["bidders"]["5xx"] == 0 and not d["bidders"]["errors"] and d["bidders"]["other"] == 0
    assert d["check"]["violations"] == 0 and figures["ordering violations"].value == 0
    assert d["check"]["accepted_rows"] == d["bidders"]["accepted"] > 0
    # refusals decided under the lot lock are stored; answers to a price already beaten are not
    assert 0 <= d["check"]["refused_rows"] <= d["bidders"]["refused"]
    # the baseline ran the same race (8 racers over the pooled connections) without a break of order
    b = d["baseline"]
    assert b["accepted"] > 0 and b["attempts"] >= b["accepted"] and b["racers"] == 8 and not d["baseline_errors"]
    assert b["violations"] == 0 and b["connections"] <= 32
    assert figures["bid attempts decided/s"].value > 0 and figures["bid attempts decided/s"].baseline > 0
