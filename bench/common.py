"""What every benchmark shares: the PostgreSQL URL, a fresh schema per benchmark, timing helpers, and
the Figure a benchmark reports (its number, the baseline measured in the same run, the ratio).

Benchmarks use PostgreSQL at BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/bench).
Each builds its own schema (named after it) from the models with create_all, so the audit triggers
and the head row exist exactly as in the tests, and never touches another schema."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, text

from trading.config import normalise_database_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"


def database_url() -> str:
    return normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))


def fresh_schema_engine(schema: str, *, pool_size: int = 5) -> Engine:
    """An engine whose connections live in `schema`, dropped and re-created empty with every model."""
    import trading.models  # noqa: F401  (every table on the metadata)
    from trading.core.db import Base

    url = database_url()
    if not url.startswith("postgresql"):
        raise SystemExit(f"benchmarks need PostgreSQL, got {url.split(':')[0]}")
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(url, pool_size=pool_size, max_overflow=0,
                           connect_args={"options": f"-c search_path={schema}"})
    Base.metadata.create_all(engine)
    return engine


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SHOW server_version")).scalar_one()


def timed(fn: Callable[[], Any]) -> float:
    """Milliseconds one call takes (wall clock, client side: what a page pays)."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) — the p95 of 40 samples is the 38th smallest."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {"n": len(samples_ms), "median_ms": round(statistics.median(samples_ms), 3),
            "p95_ms": round(percentile(samples_ms, 95), 3), "max_ms": round(max(samples_ms), 3)}


@dataclass
class Figure:
    """One line of the report: `value` compared with `baseline` measured in the same run."""
    name: str
    value: float
    unit: str
    baseline: float
    baseline_name: str
    #: value ÷ baseline (for times: how many times slower than the simplest query)
    ratio: float = field(init=False)
    #: e.g. "p95 < 50 ms"; `ok` says whether the value meets it (None when there is no target)
    target: str = ""
    ok: bool | None = None
    note: str = ""
    #: when the baseline counts something else (rows/s against entries/s)
    baseline_unit: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.ratio = round(self.value / self.baseline, 3) if self.baseline else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
