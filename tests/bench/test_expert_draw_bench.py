"""Smoke test of the expert-draw benchmark (bench/expert_draw.py): it runs end to end at a tiny scale,
the committed draw re-verifies from the audit trail and no drawn expert is conflicted with a bidder.
Speed is not asserted (`python -m bench expert_draw` measures it). PostgreSQL only, in its own schema."""

from __future__ import annotations

import pytest

from tests.conftest import DB_URL, is_postgres

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="the benchmarks run on PostgreSQL only")]


@pytest.fixture(autouse=True)
def bench_database(monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL", DB_URL)


def test_expert_draw_benchmark_verifies_and_avoids():
    from bench import expert_draw

    figures = expert_draw.run(scale=0.02)
    assert figures and all(f.value == f.value and f.value > 0 for f in figures)
    d = figures[0].details
    assert d["verified"] and d["no_conflicted_drawn"] and figures[0].ok
    assert d["pool"] == 400 and d["eligible"] < d["pool"]
    assert {"employer", "relation", "status", "unavailable", "frequency"} <= set(d["excluded"])
