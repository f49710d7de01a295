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
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select

from bench import _offers as offers
from bench.common import Figure, database_url, percentile

SCHEMA = "bench_auction_watch"
WATCHERS = int(os.environ.get("BENCH_AUCTION_WATCHERS", 500))
BIDS = int(os.environ.get("BENCH_AUCTION_WATCHER_BIDS", 50))
PACE = float(os.environ.get("BENCH_AUCTION_WATCHER_PACE", 0.2))
WORKERS = int(os.environ.get("BENCH_WATCH_WORKERS", 3))
POOL = 5
VIEWERS = 10
START = 50 * 1_000_000
INC = 100_000
TARGET_P99_MS = 500
UA = "bench-auction-watcher/1"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _setup(schema: str, viewers: int) -> tuple[str, list[str], list[str], str]:
    """The lot code, two bidders' API tokens, the viewers' session cookies (name=value) and the DSN."""
    import flask_login.utils

    from trading.accounts import services as accounts
    from trading.core.clock import FrozenClock, SystemClock
    from trading.extensions import db
    from trading.procedures.auction import services as auctions
    from trading.procedures.common import services as notices
    from trading.projects import services as projects
    from trading.reference.models import CalendarYear, Region
    from trading.reference.services import builtin_years, load_builtin_years

    real_now = datetime.now(UTC)
    clock = FrozenClock(real_now - timedelta(days=8))
    app = offers.make_app(schema, offers.blob_dir("auction-watch"), clock=clock, pool_size=2)
    with app.app_context():
        s = db.session
        ctx = offers.system_ctx(s, clock)
        years = [y for y in {clock.now().year, real_now.year, (real_now + timedelta(days=20)).year}
                 if y in builtin_years() and s.get(CalendarYear, y) is None]
        if years:
            load_builtin_years(ctx, years)
        region = s.execute(select(Region).where(Region.code == "511000")).scalar_one_or_none()
        if region is None:
            region = Region(code="511000", name="城区", name_en="County seat", sort=0)
            s.add(region)
            s.flush()
        owner = offers.make_user(ctx, "owner", "owner")
        operator = offers.make_user(ctx, "operator", "centre", totp=True)
        octx, opctx = offers.acting(s, clock, owner), offers.acting(s, clock, operator)
        project = projects.register_project(
            octx, name="示范县基准测试车辆网络竞价（围观）", approval_number="示国资〔2026〕998号",
            approval_department="示范县国有资产管理局", funding_source="fiscal_county", fiscal_share_bp=10_000,
            category="state_asset", owner_type="gov", total_investment_fen=START, procedure="online_bidding",
            lots=[{"name": "一批公务车辆", "budget_fen": START}], combined_total_fen=None, description="基准测试",
            contact_name="张工", contact_phone="0838-1234567", region_id=region.id)
        projects.submit_project(octx, project.id)
        projects.accept_project(opctx, project.id, "材料齐全，予以受理")
        notice = notices.create_notice(
            octx, project.id, kind="disclosure", title=f"{project.name}信息披露公告",
            body="一、标的概况\n基准测试。\n\n二、竞买条件\n无。", deadline_at=real_now - timedelta(hours=1),
            opening_at=real_now - timedelta(minutes=10), closing_at=real_now + timedelta(days=12))
        notices.publish_notice(octx, notice.id)
        code = project.lots[0].code
        auctions.configure_listing(octx, code, starting_fen=START, increment_fen=INC, deposit_fen=0)
        tokens = []
        for _ in range(2):
            user = offers.make_user(ctx, "bidder", "bidder")
            bctx = offers.acting(s, clock, user)
            app_row, _ = auctions.apply(bctx, code)
            auctions.qualify(opctx, app_row.id)
            tokens.append(accounts.create_api_token(bctx, name="bench bidder")[1])
        people = [offers.make_user(ctx, "bidder", "bidder") for _ in range(viewers)]
        s.commit()
        auctions.start_bidding(offers.acting(s, SystemClock(), operator), code)
        s.commit()
        cookies = []
        serializer = app.session_interface.get_signing_serializer(app)
        name = app.config["SESSION_COOKIE_NAME"]
        for user in people:
            # the session a browser holds after logging in (Flask-Login "strong" protection: the
            # identifier binds it to the client's address and user agent, which the watchers send)
            with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                          headers={"User-Agent": UA}):
                ident = flask_login.utils._create_identifier()
            value = serializer.dumps({"_user_id": f"{user.id}:{user.session_version}", "_fresh": True, "_id": ident})
            cookies.append(f"{name}={value}")
        db.session.remove()
        db.engine.dispose()  # no idle set-up connections while the server runs
    return code, tokens, cookies, database_url().replace("postgresql+psycopg://", "postgresql://")


# --- the server ---------------------------------------------------------------------------------------

class Server:
    """gunicorn on bench.wsgi:app with the PostgreSQL broker and enough threads for every stream."""

    def __init__(self, schema: str, blob_root: Path, log: Path, threads: int):
        from bench.upload import _free_port, request

        self.port = _free_port()
        env = {**os.environ, "BENCH_SCHEMA": schema, "BENCH_BLOB_ROOT": str(blob_root),
               "BENCH_POOL_SIZE": str(POOL), "PYTHONPATH": str(ROOT), "TRADING_BROKER": "postgres"}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(gunicorn), "-k", "gthread", "-w", str(WORKERS), "--threads", str(threads),
             "--worker-connections", str(threads), "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--backlog", "2048", "--keep-alive", "30", "--no-control-socket", "bench.wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {log}")
            try:
                status, _ = request(self.port, "GET", "/api/v1/receipt-key")
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in 60 s; see {log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


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
    server = Server(SCHEMA, blob_root, log, threads)
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
