"""200 concurrent bidders each uploading a 1 MiB sealed offer through gunicorn on PostgreSQL in the
last minutes before the deadline: zero lost, zero 5xx, p50/p99 per upload, throughput against a bare
upload endpoint of the same server.

Set-up (not measured): a 比选 lot published through the real services (custodians, key ceremony),
200 bidder organisations made through the services, each with a user, a registered signing key and
an API token; gunicorn (`-k gthread`, bench/wsgi.py: the real app plus the bare endpoint) on the
benchmark's schema and blob store; every bidder registers for the lot through the API; 16 other
bidders upload a small offer each and post to the bare endpoint (warming every worker up); the lot's
deadline is then set to a few minutes from now (real time: the server's SystemClock decides).
A sampler records, meanwhile, how busy the machine's CPUs are, how much of them the clients use, and
how many PostgreSQL backends wait for a lock or sit idle in a transaction.

Measured, 200 threads with http.client, one connection each, released together — what a bidder does
in the last minute:
  1. POST /lots/{lot}/submissions — the server issues the submission id, which the envelope's
     context binds, so a bidder can only seal after this call (it writes nothing: the id is bound to
     the bidder, lot and part by an HMAC, and the row is made by the upload);
  (every bidder seals its 1 MiB documents part — client work, not measured: between the phases)
  2. the upload: PUT /submissions/{sid}/envelope — the one-request upload of an envelope that fits
     one upload chunk (payload in the body, manifest in the X-Envelope-Manifest header), which must
     give 201 with a signed receipt. The same run measures, with other bidders (set-up like the
     measured ones), the chunked protocol: PUT manifest → PUT chunk 0 → POST complete (BENCH_UPLOAD_CHUNKED=0
     skips it).
An upload's latency is its start latency plus its upload latency; throughput is uploads ÷ (wall time
of phase 1 + wall time of phase 2). Afterwards the database must hold exactly one
accepted submission per bidder and every receipt must verify with the platform's receipt key.

Baseline, in the same run, same server, same 200 clients and the same 1 MiB payload bytes: POST to
/bench/bare-upload, which only stores the body in the blob store (hash, write, fsync, rename).
Target: throughput ≥ 0.5× the bare endpoint's; zero lost; zero 5xx.

A rung between the two, reported beside them: PUT /api/bench/accountable-upload (bench/wsgi.py) with
the same clients and bytes — the bearer-token log-in, the same store, one audit entry and the commit:
the floor any accountable upload pays before a single sealed-offer check."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update

from bench import _offers as offers
from bench.common import Figure, percentile
from trading.sealing import envelope

SCHEMA = "bench_upload"
BIDDERS = 200
PAYLOAD_BYTES = 1 << 20
#: gunicorn on 2 cores: a few processes (the GIL) with threads for I/O (fsync, PostgreSQL round trips)
WORKERS = int(os.environ.get("BENCH_UPLOAD_WORKERS", max(2, min(4, (os.cpu_count() or 2) * 2))))
THREADS = int(os.environ.get("BENCH_UPLOAD_THREADS", 8))
#: the lot's deadline is this long after the set-up ends (real time)
DEADLINE_AFTER = timedelta(minutes=4)
TARGET_RATIO = 0.5
#: bidders besides the measured ones who upload a small offer first, to warm every worker up
WARM_UP = 16
#: also measure the chunked protocol (manifest + chunk + complete) with as many other bidders
CHUNKED = os.environ.get("BENCH_UPLOAD_CHUNKED", "1") != "0"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# --- the server --------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on bench.wsgi:app, in its own process group (stopped by its pid at the end)."""

    def __init__(self, schema: str, blob_root: Path, log: Path, *, workers: int = WORKERS, threads: int = THREADS,
                 pool: int | None = None, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
        """`pool`: database connections per worker (default: one per thread); `env`, `args`: more
        environment (e.g. TRADING_BROKER) and gunicorn options for one benchmark."""
        self.port = _free_port()
        env = {**os.environ, "BENCH_SCHEMA": schema, "BENCH_BLOB_ROOT": str(blob_root),
               "BENCH_POOL_SIZE": str(pool or threads), "PYTHONPATH": str(ROOT), **(env or {})}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(gunicorn), "-k", "gthread", "-w", str(workers), "--threads", str(threads), *args,
             "-b", f"127.0.0.1:{self.port}", "--timeout", "120", "--backlog", "2048",
             "--keep-alive", "30", "--no-control-socket", "bench.wsgi:app"],
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


def request(port: int, method: str, path: str, body: bytes | None = None, *, token: str | None = None,
            content_type: str = "application/json", conn: http.client.HTTPConnection | None = None
            ) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        if own:
            conn.close()


# --- what the machine does meanwhile ----------------------------------------------------------------

def _process_cpu() -> dict[int, tuple[int, int]]:
    """pid → (process group, CPU ticks used so far) of every process on the machine."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry.name)] = (int(fields[2]), int(fields[11]) + int(fields[12]))
    return out


class Sampler:
    """While a phase runs: every 50 ms the CPU use of the whole machine (/proc/stat) and what the
    benchmark database's PostgreSQL backends do (pg_stat_activity: waiting for a lock — the audit head
    row is the usual one — or idle in a transaction, i.e. the app holds the transaction open while it
    computes); and over the phase the CPU seconds used by gunicorn (its process group), by this
    database's PostgreSQL backends and by the clients (this process). Tells a CPU-bound run from a
    lock-bound one, and who spends the CPU."""

    def __init__(self, server_pgid: int):
        from sqlalchemy import create_engine

        self.engine = create_engine(offers.database_url(), pool_size=1)
        self.server_pgid, self.samples, self.stop_flag = server_pgid, [], threading.Event()
        self.backends: set[int] = set()
        self.tick = os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _cpu() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def _loop(self):
        query = text("SELECT pid, wait_event_type = 'Lock', state = 'idle in transaction' FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        with self.engine.connect() as conn:
            last = self._cpu()
            while not self.stop_flag.wait(0.05):
                busy, total = self._cpu()
                rows = conn.execute(query).all()
                self.backends.update(r[0] for r in rows)
                cpu = (busy - last[0]) / max(1, total - last[1])
                last = (busy, total)
                self.samples.append((cpu, sum(bool(r[1]) for r in rows), sum(bool(r[2]) for r in rows)))

    def __enter__(self):
        self.samples.clear()
        self.backends.clear()
        self.stop_flag.clear()
        self.before = _process_cpu()
        self.client_cpu, self.started = sum(os.times()[:2]), time.perf_counter()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join()
        self.seconds = time.perf_counter() - self.started
        self.client_s = sum(os.times()[:2]) - self.client_cpu
        after = _process_cpu()

        def used(pids) -> float:
            return sum(after[p][1] - self.before.get(p, (0, 0))[1] for p in pids if p in after) / self.tick
        self.gunicorn_s = used(p for p, (group, _) in after.items() if group == self.server_pgid)
        self.postgres_s = used(self.backends)

    def summary(self, requests: int) -> dict:
        if not self.samples:
            return {}
        cols = list(zip(*self.samples, strict=True))
        per = 1000 / max(1, requests)
        return {"seconds": round(self.seconds, 2), "cpu_busy": round(statistics.fmean(cols[0]), 2),
                "pg_lock_waiting": round(statistics.fmean(cols[1]), 1),
                "pg_idle_in_tx": round(statistics.fmean(cols[2]), 1), "samples": len(self.samples),
                "gunicorn_cpu_s": round(self.gunicorn_s, 2), "postgres_cpu_s": round(self.postgres_s, 2),
                "client_cpu_s": round(self.client_s, 2), "gunicorn_cpu_ms_per_upload": round(self.gunicorn_s * per, 1),
                "postgres_cpu_ms_per_upload": round(self.postgres_s * per, 1),
                "load_average": os.getloadavg()[0]}


# --- the clients -------------------------------------------------------------------------------------

@dataclass
class Client:
    bidder: offers.Bidder
    payload: bytes = b""
    manifest: bytes = b""
    sid: str = ""
    statuses: list[int] = field(default_factory=list)
    start_s: float = 0.0
    upload_s: float = 0.0
    #: seconds of each request of phase 2: manifest, chunk, complete
    steps: list[float] = field(default_factory=list)
    bare_s: float = 0.0
    accountable_s: float = 0.0
    receipt: dict | None = None
    error: str = ""


def _concurrently(clients: list[Client], step) -> float:
    """Run step(client, conn) in one thread per client, all released together; the wall seconds."""
    barrier = threading.Barrier(len(clients) + 1)

    def body(c: Client):
        conn = http.client.HTTPConnection("127.0.0.1", PORT[0], timeout=300)
        try:
            conn.connect()
            barrier.wait()
            step(c, conn)
        except Exception as exc:  # counted as lost; reported
            c.error = c.error or repr(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=body, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - started


PORT = [0]


def _start(lot_code: str):
    def step(c: Client, conn):
        t0 = time.perf_counter()
        status, body = request(0, "POST", f"/api/v1/lots/{lot_code}/submissions", json.dumps({"part": "documents"})
                               .encode(), token=c.bidder.token, conn=conn)
        c.start_s = time.perf_counter() - t0
        c.statuses.append(status)
        if status != 201:
            c.error = f"start {status} {body[:200]!r}"
            return
        c.sid = json.loads(body)["submission_id"]
    return step


def _envelope(c: Client, conn) -> None:
    """The one-request upload: body = payload, manifest base64 in a header; 201 + receipt."""
    t0 = time.perf_counter()
    headers = {"Content-Type": "application/octet-stream", "Accept": "application/json",
               "Authorization": f"Bearer {c.bidder.token}", "X-Envelope-Manifest": base64.b64encode(c.manifest).decode()}
    conn.request("PUT", f"/api/v1/submissions/{c.sid}/envelope", body=c.payload, headers=headers)
    resp = conn.getresponse()
    status, answer = resp.status, resp.read()
    c.upload_s = time.perf_counter() - t0
    c.steps.append(c.upload_s)
    c.statuses.append(status)
    if status != 201:
        c.error = f"envelope {status} {answer[:200]!r}"
        c.upload_s = 0.0
        return
    c.receipt = json.loads(answer)


def _upload(c: Client, conn) -> None:
    """The chunked protocol: manifest, chunk 0, complete."""
    t0 = time.perf_counter()
    for method, path, body, ctype, want in (
            ("PUT", f"/api/v1/submissions/{c.sid}/manifest", c.manifest, "application/json", 200),
            ("PUT", f"/api/v1/submissions/{c.sid}/chunks/0", c.payload, "application/octet-stream", 200),
            ("POST", f"/api/v1/submissions/{c.sid}/complete", b"", "application/json", 201)):
        t1 = time.perf_counter()
        status, answer = request(0, method, path, body, token=c.bidder.token, content_type=ctype, conn=conn)
        c.steps.append(time.perf_counter() - t1)
        c.statuses.append(status)
        if status != want:
            c.error = f"{path.rsplit('/', 1)[-1]} {status} {answer[:200]!r}"
            return
    c.upload_s = time.perf_counter() - t0
    c.receipt = json.loads(answer)


def _bare(c: Client, conn) -> None:
    t0 = time.perf_counter()
    status, answer = request(0, "POST", "/bench/bare-upload", c.payload, content_type="application/octet-stream",
                             conn=conn)
    c.bare_s = time.perf_counter() - t0
    c.statuses.append(status)
    if status != 201:
        c.error = f"bare {status} {answer[:200]!r}"


def _accountable(c: Client, conn) -> None:
    """The floor of an accountable upload (bench/wsgi.py): token log-in, store, one audit entry, commit."""
    t0 = time.perf_counter()
    status, answer = request(0, "PUT", "/api/bench/accountable-upload", c.payload, token=c.bidder.token,
                             content_type="application/octet-stream", conn=conn)
    c.accountable_s = time.perf_counter() - t0
    c.statuses.append(status)
    if status != 201:
        c.error = f"accountable {status} {answer[:200]!r}"


def documents_zip(i: int, size: int) -> bytes:
    """A ZIP (stored, one file) of exactly `size` bytes: the documents part of bidder i."""
    def build(n: int) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            z.writestr(zipfile.ZipInfo("投标文件.bin", (2026, 11, 27, 9, 0, 0)), os.urandom(n))
        return out.getvalue()
    overhead = len(build(0))
    data = build(size - overhead)
    assert len(data) == size
    return data


def _verify_receipts(clients: list[Client], key_json: dict) -> int:
    """How many receipts verify with the platform's Ed25519 receipt key (canonical JSON body)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_json["public"]))
    good = 0
    for c in clients:
        r = c.receipt or {}
        try:
            body = json.dumps(r["receipt"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            pub.verify(base64.b64decode(r["signature"]), body)
            good += r["receipt"]["submission_id"] == c.sid and r["receipt"]["payload_len"] == len(c.payload)
        except (KeyError, TypeError, ValueError, InvalidSignature):
            pass
    return good


def _latencies(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1), "mean_ms": round(statistics.fmean(ms), 1)} if ms else {}


def run(scale: float = 1.0) -> list[Figure]:
    blobs = offers.blob_dir("upload")
    try:
        return _run(scale, blobs)
    finally:
        shutil.rmtree(blobs.parent, ignore_errors=True)


def _run(scale: float, blobs: Path) -> list[Figure]:
    from trading.extensions import db
    from trading.procedures.common.models import LotTrade
    from trading.procedures.common.participation.models import Submission

    n = max(10, int(BIDDERS * scale))
    offers.fresh_schema(SCHEMA)
    app = offers.make_app(SCHEMA, blobs)
    started = time.perf_counter()
    with app.app_context():
        from trading.core.clock import SystemClock
        clock = SystemClock()
        lot = offers.publish_sealed_lot(db.session, clock)
        extra = n if CHUNKED else 0
        bidders = offers.make_bidders(db.session, clock, n + WARM_UP + extra, tokens=True, via_services=True)
        db.session.commit()
    clients = [Client(b) for b in bidders[:n]]
    warmers = [Client(b) for b in bidders[n:n + WARM_UP]]
    chunked = [Client(b) for b in bidders[n + WARM_UP:]]
    plaintexts = [documents_zip(i, PAYLOAD_BYTES - envelope.HEADER_LEN - envelope.TAG_LEN) for i in range(n)]

    log = HERE / "results" / "upload-gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = Server(SCHEMA, blobs, log)
    PORT[0] = server.port
    try:
        for c in clients + warmers + chunked:
            status, body = request(server.port, "POST", f"/api/v1/lots/{lot.lot_code}/registration", b"{}",
                                   token=c.bidder.token)
            if status not in (200, 201):
                raise RuntimeError(f"registration {status}: {body[:300]!r}")
        status, body = request(server.port, "GET", f"/api/v1/lots/{lot.lot_code}/sealing", token=clients[0].bidder.token)
        sealing = json.loads(body)
        if status != 200 or base64.b64decode(sealing["opening_key"]["kid"]) != lot.opening_kid:
            raise RuntimeError(f"sealing info {status}: {body[:300]!r}")
        status, body = request(server.port, "GET", "/api/v1/receipt-key")
        receipt_key = json.loads(body)
        # warm every worker up (imports, statement caches, the receipt key): other bidders than the
        # measured ones upload a small offer each, and post to the bare endpoint
        _concurrently(warmers, _start(lot.lot_code))
        for c in warmers:
            m, c.payload = offers.seal_for(lot, c.bidder, "documents", c.sid, documents_zip(0, 64 * 1024))
            c.manifest = json.dumps(m).encode()
        half = len(warmers) // 2  # both upload paths warm up
        _concurrently(warmers[:half], _upload)
        _concurrently(warmers[half:], _envelope)
        _concurrently(warmers, _bare)
        _concurrently(warmers, _accountable)
        if any(c.error for c in warmers):
            raise RuntimeError(f"warm-up upload failed: {next(c.error for c in warmers if c.error)}")
        with app.app_context():
            deadline = datetime.now(UTC) + DEADLINE_AFTER
            db.session.execute(update(LotTrade).where(LotTrade.lot_id == lot.lot_id).values(deadline_at=deadline))
            db.session.commit()
        setup_s = time.perf_counter() - started
        print(f"  set-up: lot {lot.lot_code}, {n} bidders registered, gunicorn -k gthread -w {WORKERS} "
              f"--threads {THREADS} on :{server.port}; deadline {deadline:%H:%M:%S} UTC ({setup_s:.0f} s)")

        sampler = Sampler(server.proc.pid)
        with sampler:
            wall_start = _concurrently(clients, _start(lot.lot_code))
        machine = {"start": sampler.summary(n)}
        for i, c in enumerate(clients):  # sealing: client work, between the phases, not measured
            if c.sid:
                m, c.payload = offers.seal_for(lot, c.bidder, "documents", c.sid, plaintexts[i])
                c.manifest = json.dumps(m).encode()
        ready = [c for c in clients if c.sid]
        with sampler:
            wall_upload = _concurrently(ready, _envelope)
        machine["envelope"] = sampler.summary(len(ready))
        finished_at = datetime.now(UTC)
        wall_chunked = _chunked_run(lot, chunked, plaintexts, sampler, machine)
        for c in clients:  # the bare endpoint gets the same bytes (random ones if a start failed)
            c.payload = c.payload or os.urandom(PAYLOAD_BYTES)
        with sampler:
            wall_bare = _concurrently(clients, _bare)
        machine["bare"] = sampler.summary(n)
        with sampler:
            wall_accountable = _concurrently(clients, _accountable)
        machine["accountable"] = sampler.summary(n)
        sampler.engine.dispose()
    finally:
        server.stop()

    with app.app_context():
        measured = [c.bidder.org_id for c in clients]
        accepted = db.session.execute(select(func.count()).select_from(Submission).where(
            Submission.lot_id == lot.lot_id, Submission.status == "accepted",
            Submission.bidder_org_id.in_(measured))).scalar_one()
        per_bidder = db.session.execute(
            select(func.count()).select_from(
                select(Submission.bidder_org_id).where(Submission.lot_id == lot.lot_id, Submission.status == "accepted",
                                                       Submission.bidder_org_id.in_(measured))
                .group_by(Submission.bidder_org_id).having(func.count() == 1).subquery())).scalar_one()
    statuses = [s for c in clients for s in c.statuses]
    five_xx = sum(s >= 500 for s in statuses)
    errors = [c.error for c in clients if c.error]
    receipts = sum(c.receipt is not None for c in clients)
    verified = _verify_receipts(clients, receipt_key)
    lost = n - min(receipts, verified, accepted, per_bidder)
    uploads = [c.start_s + c.upload_s for c in clients if c.receipt]
    lat, bare_lat = _latencies(uploads), _latencies([c.bare_s for c in clients if not c.error or c.bare_s])
    throughput = receipts / (wall_start + wall_upload)
    chunked_receipts = sum(c.receipt is not None for c in chunked)
    chunked_throughput = chunked_receipts / wall_chunked if chunked else float("nan")
    chunked_lat = _latencies([c.start_s + c.upload_s for c in chunked if c.receipt])
    bare_throughput = n / wall_bare
    accountable_throughput = n / wall_accountable
    envelope_throughput = receipts / wall_upload
    ok = lost == 0 and five_xx == 0 and not errors and throughput >= TARGET_RATIO * bare_throughput
    details = {"bidders": n, "payload_bytes": PAYLOAD_BYTES, "workers": WORKERS, "threads": THREADS,
               "wall_start_s": round(wall_start, 3), "wall_upload_s": round(wall_upload, 3),
               "wall_bare_s": round(wall_bare, 3), "wall_accountable_s": round(wall_accountable, 3),
               "envelope_only_throughput": round(envelope_throughput, 2),
               "accountable_throughput": round(accountable_throughput, 2), "latency": lat, "bare_latency": bare_lat,
               "start_latency": _latencies([c.start_s for c in clients if c.sid]),
               "envelope_latency": _latencies([c.steps[0] for c in clients if c.steps]),
               "chunked": {"bidders": len(chunked), "receipts": chunked_receipts,
                           "throughput": round(chunked_throughput, 2), "latency": chunked_lat,
                           "errors": [c.error for c in chunked if c.error][:10],
                           "http_5xx": sum(s >= 500 for c in chunked for s in c.statuses),
                           **{f"{step}_latency": _latencies([c.steps[i] for c in chunked if len(c.steps) > i])
                              for i, step in enumerate(("manifest", "chunk", "complete"))}},
               "receipts": receipts, "receipts_verified": verified, "accepted_in_db": accepted,
               "bidders_with_one_accepted": per_bidder, "http_5xx": five_xx, "errors": errors[:20],
               "finished_before_deadline_s": round((deadline - finished_at).total_seconds(), 1),
               "gunicorn_log": str(log), "machine": machine}
    for e in errors[:5]:
        print(f"  error: {e}")
    return [
        Figure(name=f"upload {n} x 1 MiB, concurrent", value=round(throughput, 2), unit="uploads/s",
               baseline=round(bare_throughput, 2), baseline_name="bare store endpoint", baseline_unit="posts/s",
               target=f">= {TARGET_RATIO}x baseline, 0 lost, 0 5xx", ok=ok,
               note=f"{receipts} receipts ({verified} verify), {accepted} accepted in the database, lost {lost}, "
                    f"5xx {five_xx}, errors {len(errors)}; phases: start {wall_start:.2f} s + "
                    f"envelope {wall_upload:.2f} s; bare {wall_bare:.2f} s\n"
                    + "CPU (machine busy; gunicorn and PostgreSQL CPU ms per upload; backends waiting for a lock / "
                    "idle in a transaction): " + "; ".join(
                        f"{phase} {m.get('cpu_busy', 0):.0%}, {m.get('gunicorn_cpu_ms_per_upload')} + "
                        f"{m.get('postgres_cpu_ms_per_upload')} ms, {m.get('pg_lock_waiting')}/{m.get('pg_idle_in_tx')}"
                        for phase, m in machine.items()),
               details=details),
        Figure(name="upload latency per offer", value=lat.get("p99_ms", float("nan")), unit="ms p99",
               baseline=bare_lat.get("p99_ms", float("nan")), baseline_name="bare POST p99",
               note=f"p50 {lat.get('p50_ms')} ms, max {lat.get('max_ms')} ms (start + envelope); "
                    f"bare p50 {bare_lat.get('p50_ms')} ms; all {n} clients at once; p50 by step: "
                    + ", ".join(f"{step} {details[step + '_latency'].get('p50_ms')} ms" for step in ("start", "envelope")),
               details={"upload": lat, "bare": bare_lat}),
        Figure(name="accountable store (floor)", value=round(accountable_throughput, 2), unit="puts/s",
               baseline=round(bare_throughput, 2), baseline_name="bare store endpoint", baseline_unit="posts/s",
               note=f"the same {n} clients and bytes: bearer-token log-in + store + one audit entry + commit, no "
                    f"envelope checks, no submission, no receipt — what any accountable upload pays; the envelope "
                    f"request alone (without the start) ran at {envelope_throughput:.1f}/s "
                    f"({envelope_throughput / bare_throughput:.2f}x of bare)",
               details={"wall_s": round(wall_accountable, 3)}),
    ] + ([Figure(
        name=f"chunked protocol {len(chunked)} x 1 MiB", value=round(chunked_throughput, 2), unit="uploads/s",
        baseline=round(bare_throughput, 2), baseline_name="bare store endpoint", baseline_unit="posts/s",
        note=f"start + manifest + chunk 0 + complete, the same {len(chunked)} concurrent clients (other bidders); "
             f"{chunked_receipts} receipts, 5xx {details['chunked']['http_5xx']}, "
             f"errors {len(details['chunked']['errors'])}; p99 {chunked_lat.get('p99_ms')} ms, "
             f"p50 {chunked_lat.get('p50_ms')} ms; p50 by step: " + ", ".join(
                 f"{step} {details['chunked'][step + '_latency'].get('p50_ms')} ms"
                 for step in ("manifest", "chunk", "complete")),
        details=details["chunked"])] if chunked else [])


def _chunked_run(lot, chunked: list[Client], plaintexts: list[bytes], sampler: Sampler, machine: dict) -> float:
    """The chunked protocol, for comparison: start, then (sealed in between) manifest + chunk 0 +
    complete, by other bidders with the same payload sizes. Wall seconds of both phases."""
    if not chunked:
        return float("nan")
    with sampler:
        wall = _concurrently(chunked, _start(lot.lot_code))
    for i, c in enumerate(chunked):
        if c.sid:
            m, c.payload = offers.seal_for(lot, c.bidder, "documents", c.sid, plaintexts[i % len(plaintexts)])
            c.manifest = json.dumps(m).encode()
    with sampler:
        wall += _concurrently([c for c in chunked if c.sid], _upload)
    machine["chunked"] = sampler.summary(len(chunked))
    return wall
