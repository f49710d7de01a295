"""Run the benchmarks: `python -m bench [name ...] [--scale 0.1]`.

Runs every benchmark module of this package (or the ones named), prints for each figure its name,
the figure, the baseline measured in the same run and the ratio, and writes everything (with the
query plans) to bench/results/latest.json, which git ignores. Exit status 1 when a figure misses
its target or a benchmark fails."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Figure, database_url

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__main__", "common", "wsgi"}


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)])
                  if m.name not in NOT_BENCHMARKS and not m.name.startswith("_"))


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def print_figure(f: Figure) -> None:
    verdict = "" if f.ok is None else ("  OK" if f.ok else "  MISSED")
    target = f"  target {f.target}{verdict}" if f.target else ""
    print(f"  {f.name:<34} {_fmt(f.value, f.unit):>16}   baseline {f.baseline_name}: "
          f"{_fmt(f.baseline, f.baseline_unit or f.unit)}   ratio {f.ratio:.2f}{target}")
    for line in f.note.splitlines():
        print(f"  {'':<34} {line}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {', '.join(available())})")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full data and duration (e.g. 0.05 for a smoke run)")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    url = database_url()
    report = {"run_at": datetime.now(UTC).isoformat(timespec="seconds"), "scale": args.scale,
              "database": url.rsplit("@", 1)[-1], "python": platform.python_version(),
              "cpus": os.cpu_count(), "benchmarks": {}}
    failed = False
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== {name}: {(module.__doc__ or '').strip().splitlines()[0]}")
        start, load_before = time.perf_counter(), os.getloadavg()[0]
        try:
            figures: list[Figure] = module.run(scale=args.scale)
        except Exception:  # a failed benchmark is reported, the others still run
            traceback.print_exc()
            report["benchmarks"][name] = {"error": traceback.format_exc()}
            failed = True
            continue
        seconds = time.perf_counter() - start
        load = os.getloadavg()[0]
        for f in figures:
            print_figure(f)
            failed |= f.ok is False
        # Other work on the machine moves the figures; the ratio to the same-run baseline less so.
        print(f"  ({seconds:.0f} s; load average {load_before:.1f} before, {load:.1f} after)")
        report["benchmarks"][name] = {"seconds": round(seconds, 1), "load_average": [load_before, load],
                                      "figures": [f.as_dict() for f in figures]}

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    print(f"\nresults written to {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
