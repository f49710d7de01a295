"""100 competing bidders on one 网络竞价 lot through gunicorn on PostgreSQL: accepted bids per second
against the raw rate of a conditional single-row UPDATE on the same database in the same run, and
the ordering of the accepted sequence (violations must be 0).

Set-up (not measured): an online-bidding (网络竞价) asset lot through the real services — project,
acceptance, disclosure notice, listing terms (starting price 50万元, increment 1,000 yuan, no deposit),
100 bidder organisations each with a user and an API token, each applying and qualified by the
operator — published in the past on a frozen clock, then started on the real clock (the server's
SystemClock decides, as in production). gunicorn (`-k gthread`, bench/wsgi.py: the real app) on the
benchmark's own schema.

Measured, for D seconds (10 × scale, at least 3): 100 threads, one HTTP connection each, released
together; each posts bids (POST /api/v1/auctions/{lot}/bids with a bearer token) answering the
price it last saw, +1 to +3 increments, a fresh client_bid_id each. Every answer carries the current
price (an accepted bid's amount, or a refusal's `bid.price_fen`), so a bidder learns the new price
from its own answers, as a browser would from the live events; a bidder told it already leads waits
5 ms. Figure: accepted bids ÷ D.

Baseline, same database, same run, for D seconds, as many connections as the server holds (workers ×
threads, ≤ 32 — PostgreSQL's max_connections is 100, shared), one thread each: a conditional single-row UPDATE
(`UPDATE … SET price = price + k·inc, seq = seq + 1 WHERE id = 1 AND price = :seen RETURNING price`,
autocommit, one psycopg connection per thread; 0 rows → read the price and go again) — the least a
"one price moves by whole increments" store can cost. Target: ≥ 0.3× the baseline.

Afterwards the bid table is checked: accepted sequence numbers dense 1..n, each accepted bid answering
the previous accepted amount and above it by whole increments, arrival times non-decreasing, every
refused bid with a reason; each break of these is one ordering violation (target 0), and no 5xx.
A second figure, bid attempts decided per second (accepted + refused, each stored under the lot's
lock), shows the engine's own throughput: when all 100 bidders race every new price, each accepted
bid costs about one attempt per bidder, so accepted bids/s ≈ attempts/s ÷ bidders whatever the engine."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select, text

from bench import _offers as offers
from bench.common import Figure, database_url

SCHEMA = "bench_auction"
#: the racing bidders (BENCH_AUCTION_BIDDERS; the smoke test uses a few)
BIDDERS = int(os.environ.get("BENCH_AUCTION_BIDDERS", 100))
START = 50 * 1_000_000      # 50万元 in fen
INC = 100_000                # 1,000 yuan
TARGET_RATIO = 0.3
HERE = Path(__file__).resolve().parent


def _setup(schema: str) -> tuple[str, list[str]]:
    """The lot code and one bearer token per bidder."""
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
    app = offers.make_app(schema, offers.blob_dir("auction"), clock=clock)
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
            octx, name="示范县基准测试闲置设备网络竞价", approval_number="示国资〔2026〕999号",
            approval_department="示范县国有资产管理局", funding_source="fiscal_county", fiscal_share_bp=10_000,
            category="state_asset", owner_type="gov", total_investment_fen=START, procedure="online_bidding",
            lots=[{"name": "一批闲置设备", "budget_fen": START}], combined_total_fen=None, description="基准测试",
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
        for _ in range(int(os.environ.get("BENCH_AUCTION_BIDDERS", BIDDERS))):
            user = offers.make_user(ctx, "bidder", "bidder")
            bctx = offers.acting(s, clock, user)
            app_row, _ = auctions.apply(bctx, code)
            auctions.qualify(opctx, app_row.id)
            tokens.append(accounts.create_api_token(bctx, name="bench bidder")[1])
        s.commit()
        auctions.start_bidding(offers.acting(s, SystemClock(), operator), code)
        s.commit()
    return code, tokens


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


def _baseline(schema: str, threads: int, seconds: float) -> dict:
    """The conditional single-row UPDATE, one autocommit connection per thread."""
    url = database_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".bench_price (id int PRIMARY KEY, price bigint, seq bigint)')
        admin.execute(f'DELETE FROM "{schema}".bench_price')
        admin.execute(f'INSERT INTO "{schema}".bench_price VALUES (1, %s, 0)', (START,))
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()
    done = [0] * threads
    errors: list[str] = []

    def body(i: int):
        rnd = random.Random(i)
        try:
            with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
                seen = conn.execute("SELECT price FROM bench_price WHERE id = 1").fetchone()[0]
                barrier.wait()
                while not stop.is_set():
                    row = conn.execute("UPDATE bench_price SET price = price + %s, seq = seq + 1 "
                                       "WHERE id = 1 AND price = %s RETURNING price",
                                       (rnd.choice((1, 1, 1, 2, 3)) * INC, seen)).fetchone()
                    if row is not None:
                        done[i] += 1
                        seen = row[0]
                    else:
                        seen = conn.execute("SELECT price FROM bench_price WHERE id = 1").fetchone()[0]
        except Exception as exc:  # reported
            errors.append(repr(exc))
            barrier.abort()  # never leave the others waiting

    ts = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
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
    return {"updates": sum(done), "seconds": time.perf_counter() - started, "errors": errors}


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

    # as many database connections as the server's (workers × threads): the concurrency the
    # database sees from the app; 100 connections would exceed max_connections (100) outright
    connections = min(WORKERS * THREADS, 32)
    base = _baseline(SCHEMA, connections, seconds)
    check = _violations(SCHEMA, code)
    rate = bids["accepted"] / bids["seconds"]
    base_rate = base["updates"] / base["seconds"]
    note = (f"{bids['accepted']} accepted, {bids['refused']} refused (kept with their reason), {bids['5xx']} 5xx, "
            f"{bids['other']} other, {len(bids['errors'])} client errors in {bids['seconds']:.1f} s; "
            f"baseline {base['updates']} updates in {base['seconds']:.1f} s; "
            f"ordering violations {check['violations']} ({check['accepted_rows']} accepted rows checked)")
    ok = (rate >= TARGET_RATIO * base_rate and check["violations"] == 0 and bids["5xx"] == 0
          and not bids["errors"] and not base["errors"])
    return [
        Figure(f"accepted bids/s ({len(tokens)} bidders)", rate, "bids/s", base_rate, "conditional UPDATE", target=f"≥ {TARGET_RATIO}×",
               ok=ok, note=note, baseline_unit="updates/s",
               details={"bidders": bids, "baseline": {k: v for k, v in base.items() if k != "errors"},
                        "baseline_connections": connections,
                        "baseline_errors": base["errors"][:5], "check": check,
                        "workers": os.environ.get("BENCH_UPLOAD_WORKERS")}),
        # every bid attempt decided (accepted or refused, each stored under the lot lock): the engine's
        # throughput; with every bidder racing every new price, ~one attempt per bidder per accepted bid
        Figure("bid attempts decided/s", (bids["accepted"] + bids["refused"]) / bids["seconds"], "attempts/s", base_rate,
               "conditional UPDATE", baseline_unit="updates/s"),
        Figure("ordering violations", check["violations"], "count", 0, "required", target="= 0",
               ok=check["violations"] == 0),
    ]
