"""Benchmark (b): delivery of each accepted bid to 500 watchers of one auction's live room (Server-Sent
Events, GET /auctions/{lot}/stream) through gunicorn with several workers and the PostgreSQL broker
(TRADING_BROKER=postgres: LISTEN/NOTIFY wakes the streams of every worker): p50 and p99 latency from
acceptance to receipt over every (bid, watcher) pair (target p99 < 500 ms), and no watcher misses a bid.

Definition:
* set-up (not measured): a 网络竞价 lot through the real services (as bench/auction_bids.py), two
  qualified bidders with API tokens, 10 signed-in viewers (session cookies made with the app's secret
  key, as a browser holds after logging in); the lot started on the real clock.
* gunicorn `-k gthread`, WORKERS processes × T threads with `--worker-connections T`, T large enough for
  every stream to hold a thread (a stream holds its request thread; it holds no database connection
  between polls — core/sse.py); each worker's database pool is small (BENCH_POOL_SIZE 5, overflow 5)
  and has one LISTEN connection, so the benchmark stays far below PostgreSQL's shared max_connections
  (the largest count seen in pg_stat_activity for the database during the run is reported).
* 500 watchers (one asyncio client, one HTTP connection each, cycling over the viewers' cookies) read
  the stream; bidding starts once every watcher has its snapshot ("auction:state"). The two bidders
  alternate, one bid every PACE seconds (50 bids by default), each the current price + 1 increment.
* latency of one (bid, watcher) pair = the watcher's receive time (time.time() when the bytes arrived)
  − the server's acceptance time in the event ("at", read after the lot lock, before the commit); same
  machine, same clock. Completeness: every watcher must receive seq 1..N of the N accepted bids, in
  order, none missing (a watcher still short 15 s after the last bid is counted as missing bids).
* baseline (same database, same run, before gunicorn starts): the bare transport — one LISTEN
  connection receiving NOTIFYs sent at the same pace by another connection, latency NOTIFY → receipt.

Scale: BENCH_AUCTION_WATCHERS (default 500) and BENCH_AUCTION_WATCHER_BIDS (default 50) set the size;
--scale shortens nothing else (the smoke test uses a few watchers and bids)."""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import os
import threading
import time
from datetime import datetime
from pathlib import Path

import psycopg

from bench import _offers as offers
from bench._auction import INC, START, started_sale
from bench.common import Figure, database_url, percentile
from bench.upload import Server

SCHEMA = "bench_auction_watch"
WATCHERS = int(os.environ.get("BENCH_AUCTION_WATCHERS", 500))
BIDS = int(os.environ.get("BENCH_AUCTION_WATCHER_BIDS", 50))
PACE = float(os.environ.get("BENCH_AUCTION_WATCHER_PACE", 0.2))
WORKERS = int(os.environ.get("BENCH_WATCH_WORKERS", 3))
POOL = 5
VIEWERS = 10
TARGET_P99_MS = 500
UA = "bench-auction-watcher/1"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _setup(schema: str, viewers: int) -> tuple[str, list[str], list[str], str]:
    """The lot code, two bidders' API tokens, the viewers' session cookies (name=value) and the DSN."""
    import flask_login.utils

    from trading.extensions import db

    sale = started_sale(schema, "auction-watch", title="示范县基准测试车辆网络竞价（围观）", approval_number="示国资〔2026〕998号",
                        lot_name="一批公务车辆", bidders=2, viewers=viewers, pool_size=2)
    app, code, tokens = sale.app, sale.code, sale.tokens
    with app.app_context():
        cookies = []
        serializer = app.session_interface.get_signing_serializer(app)
        name = app.config["SESSION_COOKIE_NAME"]
        for user_id, version in sale.viewers:
            # the session a browser holds after logging in (Flask-Login "strong" protection: the
            # identifier binds it to the client's address and user agent, which the watchers send)
            with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                          headers={"User-Agent": UA}):
                ident = flask_login.utils._create_identifier()
            value = serializer.dumps({"_user_id": f"{user_id}:{version}", "_fresh": True, "_id": ident})
            cookies.append(f"{name}={value}")
        db.session.remove()
        db.engine.dispose()  # no idle set-up connections while the server runs
    return code, tokens, cookies, database_url().replace("postgresql+psycopg://", "postgresql://")


# --- the server ---------------------------------------------------------------------------------------

class ConnectionSampler:
    """The largest number of backends on the benchmark's database, sampled every 0.5 s (one connection)."""

    def __init__(self, dsn: str):
        self.dsn, self.peak, self._stop = dsn, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()[0]
                self.peak = max(self.peak, n)
                self._stop.wait(0.5)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak


# --- the watchers -------------------------------------------------------------------------------------

class Watcher:
    def __init__(self, i: int):
        self.i = i
        self.ready = False
        self.seqs: list[int] = []
        self.latency_ms: list[float] = []
        self.error: str | None = None


def _parse(block: str) -> tuple[str | None, str]:
    name, data = None, []
    for line in block.split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    return name, "\n".join(data)


async def _watch(w: Watcher, port: int, path: str, cookie: str, ready: asyncio.Event, counter: list[int],
                 total: int) -> None:
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nUser-Agent: {UA}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            w.error = status.decode(errors="replace").strip()
            return
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        buf = ""
        while True:
            chunk = await reader.read(65536)
            received = time.time()
            if not chunk:
                return
            buf += chunk.decode("utf-8")
            while "\n\n" in buf:
                block, buf = buf.split("\n\n", 1)
                name, data = _parse(block)
                if name == "auction:state" and not w.ready:
                    w.ready = True
                    counter[0] += 1
                    if counter[0] == total:
                        ready.set()
                elif name == "auction:bid":
                    event = json.loads(data)
                    w.seqs.append(event["seq"])
                    w.latency_ms.append((received - datetime.fromisoformat(event["at"]).timestamp()) * 1000)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # reported
        w.error = repr(exc)
    finally:
        if writer is not None:
            writer.close()


def _bidder(port: int, code: str, tokens: list[str], bids: int, pace: float, out: dict) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    price, accepted, statuses = START, 0, {}
    next_at = time.monotonic()
    try:
        for n in range(bids):
            amount = price if n == 0 else price + INC
            body = json.dumps({"answers_price": price, "amount_fen": amount, "client_bid_id": f"w{n}"}).encode()
            conn.request("POST", f"/api/v1/auctions/{code}/bids", body=body, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {tokens[n % 2]}"})
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if resp.status == 201:
                accepted += 1
                price = data["amount_fen"]
            next_at += pace
            time.sleep(max(0.0, next_at - time.monotonic()))
    except Exception as exc:  # reported
        out["error"] = repr(exc)
    finally:
        conn.close()
    out.update(accepted=accepted, statuses=statuses)


async def _run_watchers(port: int, code: str, tokens: list[str], cookies: list[str], watchers: int,
                        bids: int, pace: float) -> dict:
    path = f"/auctions/{code}/stream"
    ws = [Watcher(i) for i in range(watchers)]
    ready, counter = asyncio.Event(), [0]
    tasks = []
    for w in ws:  # connect in small waves: a realistic room fills over a few seconds
        tasks.append(asyncio.create_task(_watch(w, port, path, cookies[w.i % len(cookies)], ready, counter, watchers)))
        if w.i % 50 == 49:
            await asyncio.sleep(0.05)
    connect_started = time.monotonic()
    try:
        await asyncio.wait_for(ready.wait(), timeout=120)
    except TimeoutError:
        pass
    connected_s = time.monotonic() - connect_started
    out: dict = {}
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _bidder, port, code, tokens, bids, pace, out)
    accepted = out.get("accepted", 0)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(len(w.seqs) < accepted for w in ws if w.error is None):
        await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"watchers": ws, "ready": counter[0], "connect_s": connected_s, "bidder": out}


# --- the baseline -------------------------------------------------------------------------------------

def _baseline(dsn: str, n: int, pace: float) -> list[float]:
    """NOTIFY → receipt on a LISTEN connection, n notifications at the same pace (two connections)."""
    got: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as listener, psycopg.connect(dsn, autocommit=True) as sender:
        listener.execute("LISTEN bench_watch_probe")

        def send():
            for _ in range(n):
                sender.execute("SELECT pg_notify('bench_watch_probe', %s)", (repr(time.time()),))
                time.sleep(pace)

        t = threading.Thread(target=send)
        t.start()
        for note in listener.notifies(timeout=n * pace + 10, stop_after=n):
            got.append((time.time() - float(note.payload)) * 1000)
        t.join()
    return got


def run(scale: float = 1.0) -> list[Figure]:
    watchers = int(os.environ.get("BENCH_AUCTION_WATCHERS", WATCHERS))
    bids = int(os.environ.get("BENCH_AUCTION_WATCHER_BIDS", BIDS))
    threads = math.ceil((watchers + 20) / WORKERS) + 8
    offers.fresh_schema(SCHEMA)
    code, tokens, cookies, dsn = _setup(SCHEMA, VIEWERS)
    base = _baseline(dsn, bids, PACE)
    blob_root = offers.blob_dir("auction-watch-server")
    blob_root.mkdir(parents=True, exist_ok=True)
    log = HERE / "results" / "auction_watchers-gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    sampler = ConnectionSampler(dsn)
    server = Server(SCHEMA, blob_root, log, workers=WORKERS, threads=threads, pool=POOL, env={"TRADING_BROKER": "postgres"},
                    args=("--worker-connections", str(threads)))
    try:
        res = asyncio.run(_run_watchers(server.port, code, tokens, cookies, watchers, bids, PACE))
    finally:
        server.stop()
        peak = sampler.stop()
    ws: list[Watcher] = res["watchers"]
    accepted = res["bidder"].get("accepted", 0)
    expected = list(range(1, accepted + 1))
    missing = sum(max(0, accepted - len(w.seqs)) for w in ws)
    broken = sum(1 for w in ws if w.seqs != expected)
    errors = [w.error for w in ws if w.error]
    lat = [x for w in ws for x in w.latency_ms]
    p50 = percentile(lat, 50) if lat else float("nan")
    p99 = percentile(lat, 99) if lat else float("nan")
    b50, b99 = (percentile(base, 50), percentile(base, 99)) if base else (float("nan"), float("nan"))
    ok = (bool(lat) and p99 < TARGET_P99_MS and missing == 0 and broken == 0 and not errors
          and accepted == bids and res["ready"] == watchers)
    details = {"watchers": watchers, "ready": res["ready"], "connect_s": round(res["connect_s"], 2),
               "bids": bids, "accepted": accepted, "bidder": res["bidder"], "pace_s": PACE,
               "deliveries": len(lat), "missing": missing, "watchers_with_gaps": broken,
               "watcher_errors": errors[:5], "watcher_error_count": len(errors), "max_ms": round(max(lat), 1) if lat else None,
               "workers": WORKERS, "threads": threads, "pool_per_worker": POOL,
               "peak_db_connections": peak, "baseline_n": len(base)}
    note = (f"{watchers} watchers ({res['ready']} with their snapshot in {res['connect_s']:.1f} s), {accepted}/{bids} "
            f"bids accepted at one per {PACE:g} s, {len(lat)} deliveries, {missing} missing, {broken} watchers "
            f"with a gap, {len(errors)} watcher errors; max {details['max_ms']} ms; gunicorn {WORKERS}×{threads} "
            f"(pool {POOL}+5 per worker), PostgreSQL broker; peak {peak} connections on the database; "
            f"baseline: bare NOTIFY → LISTEN, {len(base)} notifications")
    return [
        Figure(f"bid → {watchers} watchers, p99", p99, "ms", b99, "NOTIFY → LISTEN p99",
               target=f"< {TARGET_P99_MS} ms", ok=ok, note=note, details=details),
        Figure(f"bid → {watchers} watchers, p50", p50, "ms", b50, "NOTIFY → LISTEN p50"),
        Figure("missed bids (all watchers)", missing + broken, "count", 0, "required", target="= 0",
               ok=missing == 0 and broken == 0),
    ]
