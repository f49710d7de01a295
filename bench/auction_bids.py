"""Benchmark (a): 100 competing bidders on one 网络竞价 lot through gunicorn on PostgreSQL against the
same race run directly on the database, in the same run: accepted bids per second on both sides, their
ratio (target ≥ 0.3×), attempts per second on both sides, and the ordering of both accepted sequences
(violations must be 0) and no 5xx.

Definition (both sides run the SAME protocol with the SAME number of racers and the same bound on
database connections; only the platform's layers differ):

* a racer knows a price (it starts with the starting price, no bid yet) and bids `price + k × increment`
  (k = 1, 1, 1, 2 or 3 at random; on the platform the lot's first bid may equal the starting price,
  on the baseline a price-only condition cannot tell a first bid from a repeat, so it steps), naming
  the price it answers. An attempt either is accepted (the price moves) or is refused because the price
  it answered is no longer current; the refusal names the current price and the racer bids again on
  that price at once. A racer that holds the highest bid asks again after 5 ms (it must not outbid
  itself). Accepted/s = accepted attempts ÷ D; attempts/s = every answered attempt ÷ D.
* platform: 100 bidder threads, one HTTP connection each, released together, POST
  /api/v1/auctions/{lot}/bids with a bearer token (gunicorn `-k gthread`, bench/wsgi.py: the real app,
  WORKERS × THREADS request threads, each request holding one pooled database connection). Accepted =
  201; a refusal (409 with its reason: decided under the lot lock and stored, or, when it answers a
  price already beaten, answered before the lock from one read and not stored) carries
  `bid.price_fen`, the current price; `auction.already_leading` is the holder's refusal.
* baseline: 100 client threads running the same protocol directly on the database, pooled over
  min(WORKERS × THREADS, 32) autocommit psycopg connections exactly as gunicorn's request threads bound
  the platform: per attempt a thread takes a connection, runs the conditional single-row UPDATE
  `UPDATE auction_probe SET price = :new, seq = seq + 1 WHERE id = 1 AND price = :answers RETURNING seq`
  and, on 0 rows, re-reads the price (`SELECT price FROM auction_probe WHERE id = 1`) on the same
  connection (the refusal naming the current price), then gives the connection back. The holder of the
  highest price re-reads after 5 ms instead of bidding (counted as an attempt, like the platform's
  already_leading refusal). Accepted = an UPDATE that changed the row.

Set-up (not measured): the lot through the real services — project, acceptance, disclosure notice,
listing terms (starting price 50万元, increment 1,000 yuan, no deposit), 100 bidder organisations each
with a user and an API token, each applying and qualified by the operator — published in the past on a
frozen clock, then started on the real clock (the server's SystemClock decides, as in production).
D = 10 s × scale (at least 3 s) for each side; the baseline runs after gunicorn has stopped, so the
database connections in use stay bounded (≤ 32 + the set-up's few; PostgreSQL's max_connections is
100 and shared).

Afterwards both sequences are checked: on the platform the bid table (accepted sequence numbers dense
1..n, each accepted bid answering the previous accepted amount and above it by whole increments,
arrival times non-decreasing, every refused bid with a reason, the lot's state matching); on the
baseline the accepted UPDATEs (seq dense 1..n, each answering the previous new price and above it by
whole increments, the row's final state matching). Each break is one ordering violation (target 0).
Both sides pay about one refused attempt per other racer for each accepted bid (every racer answers
every new price), so the ratio of accepted/s is in the end the ratio of the cost of one decided attempt:
an HTTP request through the app and the engine (lot lock, rules, the attempt's row in the hash chain,
audit of an accepted bid, commit) against one UPDATE statement."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy import text

from bench import _offers as offers
from bench._auction import INC, START, started_sale
from bench.common import Figure, database_url

SCHEMA = "bench_auction"
#: the racing bidders (BENCH_AUCTION_BIDDERS; the smoke test uses a few)
BIDDERS = int(os.environ.get("BENCH_AUCTION_BIDDERS", 100))
TARGET_RATIO = 0.3
HERE = Path(__file__).resolve().parent


def _setup(schema: str) -> tuple[str, list[str]]:
    """The lot code and one bearer token per bidder."""
    sale = started_sale(schema, "auction", title="示范县基准测试闲置设备网络竞价", approval_number="示国资〔2026〕999号",
                        lot_name="一批闲置设备", bidders=int(os.environ.get("BENCH_AUCTION_BIDDERS", BIDDERS)))
    return sale.code, sale.tokens


# --- the measured phase -------------------------------------------------------------------------------

def _bidders(port: int, code: str, tokens: list[str], seconds: float) -> dict:
    barrier = threading.Barrier(len(tokens) + 1)
    stop = threading.Event()
    counts = {"accepted": 0, "refused": 0, "5xx": 0, "other": 0, "errors": []}
    lock = threading.Lock()
    path = f"/api/v1/auctions/{code}/bids"

    def body(i: int, token: str):
        rnd = random.Random(i)
        ids = itertools.count()
        seen = START
        first = True
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = {"accepted": 0, "refused": 0, "5xx": 0, "other": 0}
        try:
            conn.connect()
            barrier.wait()
            while not stop.is_set():
                amount = seen + (0 if first else rnd.choice((1, 1, 1, 2, 3)) * INC)
                payload = json.dumps({"answers_price": seen, "amount_fen": amount,
                                      "client_bid_id": f"b{i}-{next(ids)}"}).encode()
                conn.request("POST", path, body=payload, headers={
                    "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                resp = conn.getresponse()
                data = json.loads(resp.read() or b"{}")
                if resp.status == 201:
                    mine["accepted"] += 1
                    seen, first = data["amount_fen"], False
                elif resp.status >= 500:
                    mine["5xx"] += 1
                elif "bid" in data:
                    mine["refused"] += 1
                    price = data["bid"].get("price_fen")
                    if price is not None:
                        seen, first = price, False
                    if data.get("error") == "auction.already_leading":
                        time.sleep(0.005)
                else:
                    mine["other"] += 1
        except Exception as exc:  # reported
            with lock:
                counts["errors"].append(repr(exc))
            barrier.abort()
        finally:
            conn.close()
            with lock:
                for k, v in mine.items():
                    counts[k] += v

    threads = [threading.Thread(target=body, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    counts["seconds"] = time.perf_counter() - started
    return counts


def _baseline(schema: str, racers: int, connections: int, seconds: float) -> dict:
    """The same race on the database: `racers` threads over a pool of `connections` autocommit
    connections (see the module docstring), with the accepted sequence kept for the ordering check."""
    import queue

    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'DROP TABLE IF EXISTS "{schema}".auction_probe')
        admin.execute(f'CREATE TABLE "{schema}".auction_probe (id int PRIMARY KEY, price bigint NOT NULL, '
                      'seq bigint NOT NULL)')
        admin.execute(f'INSERT INTO "{schema}".auction_probe VALUES (1, %s, 0)', (START,))
    pool: queue.Queue = queue.Queue()
    opened = []
    try:
        for _ in range(connections):
            conn = psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}")
            opened.append(conn)
            pool.put(conn)
        barrier = threading.Barrier(racers + 1)
        stop = threading.Event()
        counts = [[0, 0] for _ in range(racers)]   # accepted, attempts
        accepted: list[tuple[int, int, int]] = []  # (seq, answers, new), appended by the winners
        errors: list[str] = []
        update_sql = ("UPDATE auction_probe SET price = %s, seq = seq + 1 WHERE id = 1 AND price = %s "
                      "RETURNING seq")
        read_sql = "SELECT price FROM auction_probe WHERE id = 1"

        def body(i: int):
            rnd = random.Random(i)
            price, mine = START, None   # the price known, the price I hold
            try:
                barrier.wait()
                while not stop.is_set():
                    conn = pool.get()
                    try:
                        if mine == price:  # I hold the highest bid: ask again later
                            price = conn.execute(read_sql).fetchone()[0]
                        else:
                            new = price + rnd.choice((1, 1, 1, 2, 3)) * INC
                            row = conn.execute(update_sql, (new, price)).fetchone()
                            if row is not None:
                                accepted.append((row[0], price, new))
                                counts[i][0] += 1
                                price = mine = new
                            else:
                                price = conn.execute(read_sql).fetchone()[0]
                    finally:
                        pool.put(conn)
                    counts[i][1] += 1
                    if mine == price:
                        time.sleep(0.005)
            except threading.BrokenBarrierError:
                pass
            except Exception as exc:  # reported
                errors.append(repr(exc))
                barrier.abort()  # never leave the others waiting

        ts = [threading.Thread(target=body, args=(i,)) for i in range(racers)]
        for t in ts:
            t.start()
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            stop.set()
            for t in ts:
                t.join()
            raise RuntimeError(f"baseline could not start: {errors[:3]}") from None
        started = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - started
        final = opened[0].execute(f'SELECT price, seq FROM "{schema}".auction_probe WHERE id = 1').fetchone()
    finally:
        for conn in opened:
            conn.close()
    bad, prev = 0, None
    for n, (seq, answers, new) in enumerate(sorted(accepted), start=1):
        bad += seq != n
        if prev is None:
            bad += answers != START or new <= START or (new - START) % INC != 0
        else:
            bad += answers != prev or new <= prev or (new - prev) % INC != 0
        prev = new
    bad += final[1] != len(accepted) or (accepted and final[0] != prev)
    return {"accepted": sum(c[0] for c in counts), "attempts": sum(c[1] for c in counts), "seconds": elapsed,
            "racers": racers, "connections": connections, "violations": int(bad), "errors": errors}


def _violations(schema: str, code: str) -> dict:
    from sqlalchemy import create_engine

    engine = create_engine(database_url(), connect_args={"options": f"-c search_path={schema}"})
    with engine.connect() as conn:
        lot_id = conn.execute(text("SELECT lot_id FROM auction WHERE lot_code = :c"), {"c": code}).scalar_one()
        rows = conn.execute(text("SELECT accepted, seq, answers_fen, amount_fen, received_at, reason FROM auction_bid "
                                 "WHERE lot_id = :l ORDER BY id"), {"l": lot_id}).all()
        state = conn.execute(text("SELECT price_fen, bids FROM auction WHERE lot_id = :l"), {"l": lot_id}).one()
    engine.dispose()
    bad = 0
    prev_amount, expect_seq, prev_at = None, 1, None
    for accepted, seq, answers, amount, at, reason in rows:
        if prev_at is not None and at < prev_at:
            bad += 1
        prev_at = at
        if not accepted:
            bad += reason is None or seq is not None
            continue
        bad += seq != expect_seq
        expect_seq += 1
        if prev_amount is None:
            bad += answers != START or amount < START or (amount - START) % INC != 0
        else:
            bad += answers != prev_amount or amount <= prev_amount or (amount - prev_amount) % INC != 0
        prev_amount = amount
    accepted_n = expect_seq - 1
    bad += state.bids != accepted_n or state.price_fen != prev_amount
    return {"violations": bad, "accepted_rows": accepted_n, "refused_rows": len(rows) - accepted_n}


def run(scale: float = 1.0) -> list[Figure]:
    from bench.upload import Server

    seconds = max(3.0, 10.0 * scale)
    offers.fresh_schema(SCHEMA)
    code, tokens = _setup(SCHEMA)
    blob_root = offers.blob_dir("auction-server")
    blob_root.mkdir(parents=True, exist_ok=True)
    log = HERE / "results" / "auction_bids-gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = Server(SCHEMA, blob_root, log)
    try:
        bids = _bidders(server.port, code, tokens, seconds)
    finally:
        server.stop()
    from bench.upload import THREADS, WORKERS

    # the baseline's racers share as many database connections as the server's request threads
    # (workers × threads), never more than 32: PostgreSQL's max_connections is 100, shared
    connections = min(WORKERS * THREADS, 32)
    base = _baseline(SCHEMA, len(tokens), connections, seconds)
    check = _violations(SCHEMA, code)
    attempts = bids["accepted"] + bids["refused"]
    rate, attempt_rate = bids["accepted"] / bids["seconds"], attempts / bids["seconds"]
    base_rate, base_attempt_rate = base["accepted"] / base["seconds"], base["attempts"] / base["seconds"]
    note = (f"platform: {bids['accepted']} accepted of {attempts} attempts ({bids['refused']} refused, each with "
            f"its reason), {bids['5xx']} 5xx, {bids['other']} other, {len(bids['errors'])} client errors in "
            f"{bids['seconds']:.1f} s, gunicorn {WORKERS}×{THREADS}; baseline: {base['accepted']} accepted of "
            f"{base['attempts']} attempts in {base['seconds']:.1f} s, {len(tokens)} racers over {connections} "
            f"connections; ordering violations {check['violations']} + {base['violations']} "
            f"({check['accepted_rows']} + {base['accepted']} accepted checked)")
    violations = check["violations"] + base["violations"]
    ok = (rate >= TARGET_RATIO * base_rate and violations == 0 and bids["5xx"] == 0
          and not bids["errors"] and not base["errors"])
    return [
        Figure(f"accepted bids/s ({len(tokens)} bidders)", rate, "bids/s", base_rate,
               f"same race on a conditional UPDATE ({len(tokens)} racers / {connections} connections)",
               target=f"≥ {TARGET_RATIO}×", ok=ok, note=note, baseline_unit="accepted updates/s",
               details={"bidders": bids, "baseline": {k: v for k, v in base.items() if k != "errors"},
                        "baseline_connections": connections, "baseline_errors": base["errors"][:5], "check": check,
                        "workers": WORKERS, "threads": THREADS}),
        # every attempt answered (accepted or refused): what one decided attempt costs on each side
        Figure("bid attempts decided/s", attempt_rate, "attempts/s", base_attempt_rate,
               "same race on a conditional UPDATE", baseline_unit="attempts/s"),
        Figure("ordering violations", violations, "count", 0, "required", target="= 0", ok=violations == 0,
               note=f"platform {check['violations']}, baseline {base['violations']}"),
    ]
