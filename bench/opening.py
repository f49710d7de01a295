"""Opening 10,000 sealed 1 KiB offers end to end on PostgreSQL: k custodians submit their shares, the
k-th share opens the lot (open_lot), the opening record is written, audit included.

Set-up (not measured), bench/_offers.py: a 比选 lot published through the real services (custodians
enrolled with their passphrases, the key ceremony of publish_notice), 10,000 bidder organisations
with registered signing keys, and for each a 1 KiB price sheet sealed to the lot's opening key,
registered and accepted: the first bidder through the participation services (register, start,
manifest, chunk, complete), the others cloned from its rows, each payload put in the blob store.
Then the clock moves past the deadline.

Measured: each of k custodians calls opening.services.submit_share (the passphrase unsealed with
scrypt, the share checked against its commitment), committing after each as a request does; the k-th
rebuilds the opening key and runs open_lot. Besides the wall time, the time spent inside the envelope
functions during open_lot (parse_manifest, load_public, check, verify_signature, unwrap,
decrypt_chunks … — wrapped by the benchmark, production code unchanged) is the "crypto step", and the
SQL statements are counted.

Baseline, in the same run: the bare loop over the same 10,000 envelopes with the payloads already in
memory: parse_manifest + load_public(signer) + open_envelope (every check, the signature, the unwrap,
the chunks). Targets: end to end ≤ 10× the bare loop; the crypto step inside open_lot ≤ 2×.
BENCH_PROFILE=1 runs the measured part under cProfile and prints the top functions (the figures are
then inflated by the profiler)."""

from __future__ import annotations

import cProfile
import functools
import gc
import io
import os
import pstats
import shutil
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from bench import _offers as offers
from bench.common import Figure
from trading.core.clock import FrozenClock
from trading.sealing import envelope

SCHEMA = "bench_opening"
OFFERS = 10_000
OFFER_BYTES = 1024
TARGET_E2E = 10.0
TARGET_CRYPTO = 2.0
#: the envelope functions whose time inside open_lot is the crypto step
CRYPTO_FUNCTIONS = ("parse_manifest", "load_public", "open_envelope", "check", "verify_signature", "sha256_of",
                    "unwrap", "decrypt_chunks", "read_header", "chunk_lengths")


class CryptoTimer:
    """Wraps the envelope functions, in the envelope module and wherever the opening code imported
    them by name, and sums the wall time of the outermost calls (a nested call is not counted twice)."""

    def __init__(self, modules):
        self.modules = [m for m in modules if m is not None]
        self.seconds, self.calls, self._depth, self._saved = 0.0, 0, 0, []

    def _wrap(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1
                self._depth -= 1
        return timed

    def __enter__(self):
        originals = {name: getattr(envelope, name) for name in CRYPTO_FUNCTIONS}
        wrapped = {name: self._wrap(fn) for name, fn in originals.items()}
        for module in [envelope, *self.modules]:
            for name, fn in originals.items():
                if getattr(module, name, None) is fn:
                    self._saved.append((module, name, fn))
                    setattr(module, name, wrapped[name])
        return self

    def __exit__(self, *exc):
        for module, name, fn in self._saved:
            setattr(module, name, fn)
        self._saved.clear()


class StatementCounter:
    def __init__(self, engine):
        self.count, self.seconds, self._started = 0, 0.0, 0.0
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *args):
        self._started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.seconds += time.perf_counter() - self._started

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


class GcTimer:
    """Time spent in Python's cyclic garbage collector (gc.callbacks) while active: a loop that keeps
    many objects alive (10,000 manifests, result rows) pays more for each full collection."""

    def __init__(self):
        self.seconds, self.collections, self._started = 0.0, [0, 0, 0], 0.0

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1

    def __enter__(self):
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)


def bare_loop(items, private_key, opening_kid) -> float:
    """Seconds to parse, verify and open every envelope in memory: (manifest JSON bytes, payload,
    signer public raw, expected context)."""
    started = time.perf_counter()
    for raw, payload, signer_raw, expected in items:
        m = envelope.parse_manifest(raw)
        envelope.open_envelope(m, payload, private_key, signer_pub=envelope.load_public(signer_raw),
                               expected=expected, opening_kid=opening_kid)
    return time.perf_counter() - started


def run(scale: float = 1.0) -> list[Figure]:
    blobs = offers.blob_dir("opening")
    try:
        return _run(scale, blobs)
    finally:
        shutil.rmtree(blobs.parent, ignore_errors=True)


def _run(scale: float, blobs) -> list[Figure]:
    from trading.extensions import db
    from trading.procedures.common.opening import services as opening

    n = max(20, int(OFFERS * scale))
    offers.fresh_schema(SCHEMA)
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app = offers.make_app(SCHEMA, blobs, clock=clock)
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        lot = offers.publish_sealed_lot(session, clock)
        bidders = offers.make_bidders(session, clock, n)
        items = offers.accepted_offers(session, clock, lot, bidders, OFFER_BYTES)
        session.commit()
        setup_s = time.perf_counter() - started
        print(f"  set-up: lot {lot.lot_code}, {n:,} bidders with accepted 1 KiB price envelopes "
              f"({setup_s:.0f} s)")

        # The bare loop needs the opening key: rebuilt here, outside anything measured, from the
        # custodians' shares (the same passphrases they type at the opening).
        private_key = offers.rebuild_opening_key(session, lot)
        bare_runs = []
        for _ in range(2):
            with GcTimer() as bare_gc:
                bare_runs.append((bare_loop(items, private_key, lot.opening_kid), bare_gc))
        bare, bare_gc = min(bare_runs, key=lambda r: r[0])
        del private_key, items  # nothing of the set-up stays alive for the garbage collector to walk

        k = offers.threshold(session, lot)
        custodians = offers.holders(session, lot)[:k]
        db.session.remove()
        clock.set(lot.deadline_at + timedelta(hours=1))
        counter = StatementCounter(db.engine)
        per_share = []
        profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        with CryptoTimer([opening, *offers.opening_modules()]) as crypto, GcTimer() as gc_timer:
            e2e_started = time.perf_counter()
            for user, passphrase in custodians:
                t0 = time.perf_counter()
                if profiler:
                    profiler.enable()
                offers.submit_share(db.session, clock, user, lot, passphrase)
                db.session.commit()
                db.session.remove()  # the next request starts with a new session
                if profiler:
                    profiler.disable()
                per_share.append(time.perf_counter() - t0)
            e2e = time.perf_counter() - e2e_started
        counter.close()
        outcome = offers.opening_outcome(db.session, lot)
    expected_opened = n
    profile_text = ""
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(35)
        stats.print_stats(r"trading[/\\]", 40)  # the platform's own functions
        stats.sort_stats("tottime").print_stats(25)
        profile_text = out.getvalue()
        print(profile_text)
    ok_open = outcome["opened"] == expected_opened and outcome["record"]
    note = (f"{k} shares: {', '.join(f'{s:.2f}' for s in per_share)} s (the last one opens the lot); "
            f"{outcome['opened']:,} of {n:,} opened, {outcome['failed']} failed, record "
            f"{'written' if outcome['record'] else 'MISSING'}, {outcome['audit_entries']} audit entries; "
            f"{counter.count:,} SQL statements ({counter.seconds:.2f} s in the database); garbage collector "
            f"{gc_timer.seconds:.2f} s (full collections {gc_timer.collections[2]}; bare loop {bare_gc.seconds:.2f} s, "
            f"{bare_gc.collections[2]})")
    details = {"offers": n, "offer_bytes": OFFER_BYTES, "k": k, "per_share_seconds": per_share,
               "setup_seconds": round(setup_s, 1), "sql_statements": counter.count,
               "sql_seconds": round(counter.seconds, 3), "crypto_calls": crypto.calls,
               "gc_seconds": round(gc_timer.seconds, 3), "gc_collections": gc_timer.collections,
               "bare_gc_seconds": round(bare_gc.seconds, 3), "bare_gc_collections": bare_gc.collections, **outcome}
    if profile_text:
        details["profile"] = profile_text
    return [
        Figure(name=f"opening {n:,} x 1 KiB, end to end", value=round(e2e, 3), unit="s", baseline=round(bare, 3),
               baseline_name="bare verify+open loop", target=f"<= {TARGET_E2E:.0f}x baseline, all opened",
               ok=bool(ok_open and e2e <= TARGET_E2E * bare), note=note, details=details),
        Figure(name="opening: crypto step in open_lot", value=round(crypto.seconds, 3), unit="s",
               baseline=round(bare, 3), baseline_name="bare verify+open loop",
               target=f"<= {TARGET_CRYPTO:.0f}x baseline", ok=crypto.seconds <= TARGET_CRYPTO * bare,
               note=f"time inside the envelope functions during the opening ({crypto.calls:,} outermost calls, "
                    f"garbage collections they set off included); of the {e2e:.2f} s end to end: crypto "
                    f"{crypto.seconds:.2f} s, SQL {counter.seconds:.2f} s, garbage collector {gc_timer.seconds:.2f} s "
                    f"(partly inside the crypto), the rest {e2e - crypto.seconds - counter.seconds:.2f} s: share "
                    "unsealing (scrypt, per share), blob reads, price sheets, the record, audit, the ORM",
               details={"crypto_seconds": round(crypto.seconds, 3), "calls": crypto.calls}),
    ]
