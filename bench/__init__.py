"""Benchmarks on PostgreSQL: `python -m bench [name ...]` (see bench/__main__.py).

Every module of this package other than __main__ and common is a benchmark: it defines
`run(scale: float) -> list[Figure]` and a module docstring saying what it measures."""
