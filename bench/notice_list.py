"""Portal notice list: filtered, paginated searches over 100,000 notices through
trading.portal.queries.search_notices, median and p95 per query type (target p95 < 50 ms).

Data: bench/_notice_data.py (regions, projects across trade types, notice chains over three years),
loaded with COPY, with the keyword search's terms of every published title (notice_term, from the
same rules.title_terms publish_notice uses), then VACUUM ANALYZE. Each query type runs REPEATS
times with varying values (a random trade type, region, month, keyword …); a sample is the wall
time of one search_notices call — the count and the page query plus loading the rows, what the list
page pays — and the database time within it (statements' round trips) is shown beside it. The
baseline, in the same run, is the simplest indexed query: the latest 20 published notices in plain
SQL. The EXPLAIN (ANALYZE, BUFFERS) plan of every statement of each query type is saved in the
results file, and the indexes it uses are printed."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from bench import _notice_data as data
from bench.common import Figure, fresh_schema_engine, summary, timed
from trading.core.clock import beijing, to_beijing
from trading.portal.queries import NoticeFilters, search_notices
from trading.procedures.common.models import NoticeTerm
from trading.procedures.common.rules import title_terms

SCHEMA = "bench_notices"
NOTICES = 100_000
REPEATS = 40
PER_PAGE = 20
TARGET_MS = 50.0
#: time budget of one query type (a type that misses its index by far stops early, with >= 5 samples)
SECONDS_PER_TYPE = 6.0
NOW = beijing(2026, 11, 10, 9, 0)
#: common, middling, rare and absent title words, and a project-code-shaped keyword
KEYWORDS = ["道路", "采购", "污水管网", "卫生院综合楼", "城关镇2025年", "物业管理服务", "排污权", "不存在的词语"]
#: keyword cases by what the posting lists (notice_term) see: a rare word (in 0.6-0.8% of the notices),
#: a common one (11-41%), a phrase of four characters (2.5-3.6%), a phrase in no title
RARE_WORDS = ["排污", "罚没", "林地", "水面"]
COMMON_WORDS = ["工程", "采购", "服务", "设备"]
PHRASES = ["污水管网", "物业管理", "医疗设备", "桥梁加固"]
NO_MATCH = ["不存在的词语", "量子计算", "航天发射场"]
#: shown without a target, for what the posting lists do not help: a single character (the LIKE
#: scan), and a phrase of common terms that no title has (中标 and 标段 are everywhere, 中标段 nowhere)
HARD = {"keyword: 1 character": ["路", "砂", "罚", "鑫"], "keyword: common terms, no match": ["中标段", "招标段", "果公示"]}
BASELINE_SQL = ("SELECT id, title, published_at FROM notice WHERE status = 'published'"
                " ORDER BY published_at DESC, id DESC LIMIT 20")


def query_types(rnd: random.Random, codes: list[str]) -> dict[str, Callable[[], tuple[NoticeFilters, int]]]:
    """name → a function giving (filters, page) for one sample."""
    today = to_beijing(NOW).date()

    def month() -> tuple[date, date]:
        start = today - timedelta(days=rnd.randrange(30, 3 * 365))
        return start, start + timedelta(days=30)

    def combined() -> NoticeFilters:
        start, _ = month()
        return NoticeFilters(trade_type="engineering", region_id=rnd.randint(1, len(data.REGIONS)),
                             kind="announcement", date_from=start - timedelta(days=60), date_to=start + timedelta(days=30))

    trade_types = ["engineering", "procurement", "land_mining", "state_asset", "other"]
    kinds = ["announcement", "change", "candidates", "result", "contract", "land_grant", "deal_publicity",
             "termination"]
    return {
        "no filter, page 1": lambda: (NoticeFilters(), 1),
        "trade type": lambda: (NoticeFilters(trade_type=rnd.choice(trade_types)), 1),
        "kind": lambda: (NoticeFilters(kind=rnd.choice(kinds)), 1),
        "region": lambda: (NoticeFilters(region_id=rnd.randint(1, len(data.REGIONS))), 1),
        "date range (30 days)": lambda: (NoticeFilters(date_from=(m := month())[0], date_to=m[1]), 1),
        "keyword": lambda: (NoticeFilters(keyword=rnd.choice(KEYWORDS)), 1),
        "keyword: rare word": lambda: (NoticeFilters(keyword=rnd.choice(RARE_WORDS)), 1),
        "keyword: common word": lambda: (NoticeFilters(keyword=rnd.choice(COMMON_WORDS)), 1),
        "keyword: 4-character phrase": lambda: (NoticeFilters(keyword=rnd.choice(PHRASES)), 1),
        "keyword: no match": lambda: (NoticeFilters(keyword=rnd.choice(NO_MATCH)), 1),
        **{name: (lambda words=words: (NoticeFilters(keyword=rnd.choice(words)), 1)) for name, words in HARD.items()},
        "keyword = project code": lambda: (NoticeFilters(keyword=rnd.choice(codes)), 1),
        "project code": lambda: (NoticeFilters(project_code=rnd.choice(codes)), 1),
        "status": lambda: (NoticeFilters(status=rnd.choice(["open", "closed", "publicity", "ended"])), 1),
        "combined (type+region+kind+dates)": lambda: (combined(), 1),
        "deep page (page 500)": lambda: (NoticeFilters(), 500),
        "deep page, trade type (page 200)": lambda: (NoticeFilters(trade_type=rnd.choice(trade_types)), 200),
    }


class StatementLog:
    """Times every statement an engine sends (database time: round trip and execution, without the
    ORM), and records SQL and parameters on demand so each query type's plan can be explained."""

    def __init__(self, engine: Engine):
        self.statements, self.capturing, self.db_ms, self._started = [], False, 0.0, 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.capturing:
            self.statements.append((statement, parameters))
        self._started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.db_ms += (time.perf_counter() - self._started) * 1000

    def capture(self, fn: Callable[[], object]) -> list[tuple[str, object]]:
        self.statements, self.capturing = [], True
        try:
            fn()
        finally:
            self.capturing = False
        return self.statements


def explain(engine: Engine, statements: list[tuple[str, object]]) -> list[str]:
    plans = []
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            for statement, params in statements:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plans.append("\n".join(r[0] for r in cur.fetchall()))
    finally:
        raw.close()
    return plans


def indexes_used(plans: list[str]) -> str:
    used = []
    for plan in plans:
        names = re.findall(r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan)
        seq = ["SEQ SCAN " + t for t in re.findall(r"Seq Scan on (\w+)", plan)]
        used.append("+".join(dict.fromkeys(names + seq)) or "?")
    return " | ".join(used)


_COST = re.compile(r"  \(cost=[^)]*\)")
_ACTUAL = re.compile(r"\(actual time=[\d.]+\.\.([\d.]+) rows=(\d+) loops=(\d+)\)")


def condensed(plan: str) -> list[str]:
    """The plan's nodes, one line each, with the time to the last row and the rows instead of costs."""
    lines = []
    for line in plan.splitlines():
        if line.lstrip().startswith("->") or (not lines and "(cost=" in line):
            line = _ACTUAL.sub(lambda m: f"[{m[1]} ms, {m[2]} rows{'' if m[3] == '1' else ' x' + m[3]}]",
                               _COST.sub("", line))
            lines.append(line.rstrip())
        elif line.startswith("Execution Time"):
            lines.append(line)
    return lines


def load_terms(engine: Engine) -> int:
    """The search terms of the published notices, as publish_notice writes them (the same
    title_terms), COPied in; the primary key is built once afterwards, quicker than row by row."""
    with engine.connect() as conn:
        titles = conn.execute(text("SELECT id, title FROM notice WHERE status = 'published'")).all()
    table = NoticeTerm.__table__
    pk = table.primary_key.name
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE notice_term DROP CONSTRAINT {pk}"))
    rows = ({"term": term, "notice_id": nid} for nid, title in titles for term in title_terms(title))
    n = data.copy_rows(engine, table, rows)
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE notice_term ADD CONSTRAINT {pk} PRIMARY KEY (term, notice_id)"))
    return n


def load(engine: Engine, notices: int) -> dict:
    started = time.perf_counter()
    info = data.load(engine, notices, NOW)
    info["terms"] = load_terms(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        info["table_mb"] = round(conn.execute(text("SELECT pg_total_relation_size('notice')")).scalar_one() / 2**20, 1)
        info["terms_mb"] = round(conn.execute(text("SELECT pg_total_relation_size('notice_term')")).scalar_one()
                                 / 2**20, 1)
    info["load_seconds"] = round(time.perf_counter() - started, 1)
    return info


def run(scale: float = 1.0) -> list[Figure]:
    notices = max(2_000, int(NOTICES * scale))
    repeats = max(5, int(REPEATS * min(1.0, scale * 4)))
    engine = fresh_schema_engine(SCHEMA)
    try:
        info = load(engine, notices)
        print(f"  loaded {info['notices']:,} notices of {info['projects']:,} projects in {info['load_seconds']} s "
              f"(notice table with indexes {info['table_mb']} MB; {info['terms']:,} search terms, "
              f"{info['terms_mb']} MB)")
        log = StatementLog(engine)
        rnd = random.Random(7)
        with Session(engine) as session:
            def baseline():
                session.execute(text(BASELINE_SQL)).all()

            for _ in range(3):
                baseline()
            base = summary([timed(baseline) for _ in range(repeats * 2)])
            base_plan = explain(engine, [(BASELINE_SQL, None)])
            figures = []
            for name, make in query_types(rnd, info["project_codes"]).items():
                samples, db_samples = [], []
                budget_ends = time.perf_counter() + SECONDS_PER_TYPE * max(scale, 0.25)
                for i in range(repeats + 2):
                    if i > 6 and time.perf_counter() > budget_ends:
                        break  # a slow query type gets fewer samples, so the run stays bounded
                    filters, page = make()
                    session.expunge_all()  # a page request starts with an empty identity map
                    log.db_ms = 0.0
                    ms = timed(lambda f=filters, p=page: search_notices(session, f, p, PER_PAGE, NOW))
                    if i >= 2:  # the first two warm the statement cache
                        samples.append(ms)
                        db_samples.append(log.db_ms)
                session.expunge_all()
                statements = log.capture(lambda f=filters, p=page: search_notices(session, f, p, PER_PAGE, NOW))
                plans = explain(engine, statements)
                stats, db = summary(samples), summary(db_samples)
                targeted = name not in HARD
                figures.append(Figure(
                    name=f"notices: {name}", value=stats["p95_ms"], unit="ms p95",
                    baseline=base["p95_ms"], baseline_name="latest 20 (plain SQL)",
                    target=f"p95 < {TARGET_MS:.0f} ms" if targeted else "",
                    ok=stats["p95_ms"] < TARGET_MS if targeted else None,
                    note=f"median {stats['median_ms']:.2f} ms; database time median {db['median_ms']:.2f} ms, "
                         f"p95 {db['p95_ms']:.2f} ms; indexes: {indexes_used(plans)}\n"
                         + "\n".join("\n".join(condensed(p)) for p in plans),
                    details={**stats, "database_ms": db, "example_filters": repr(filters), "page": page,
                             "statements": [s for s, _ in statements], "plans": plans}))
    finally:
        engine.dispose()
    figures.insert(0, Figure(
        name="notices: baseline latest 20", value=base["p95_ms"], unit="ms p95", baseline=base["p95_ms"],
        baseline_name="itself", note=f"median {base['median_ms']:.2f} ms; indexes: {indexes_used(base_plan)}",
        details={**base, "sql": BASELINE_SQL, "plans": base_plan, "data": {k: v for k, v in info.items()
                                                                            if k != "project_codes"}}))
    return figures
