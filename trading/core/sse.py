"""Server-Sent Events: the wire format and one generic stream loop (ux.md §5.1–5.3).

    return sse_response(live_stream(channel, after_id, read=..., snapshot=..., broker=get_broker(),
                                    clock=app_clock, heartbeat=15, max_seconds=300))

The stream first replays what a reconnecting client missed (events after its Last-Event-ID), then
sends the current snapshot, then each new event as it commits. Between polls it holds no database
connection: `read` opens a short session, copies plain values out and closes it, and the loop
blocks on the broker. Every `heartbeat` seconds it sends a comment (idle proxies keep the
connection) and a `tick` event without an id (the page re-syncs its server clock). After
`max_seconds` the server ends the stream; the browser reconnects after `retry` (jittered, so a
hall full of bidders does not reconnect in the same instant) and resumes from its last id.

Imports: core only (flask for the response)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Response, request, stream_with_context
from sqlalchemy.orm import Session

from .broker import Broker
from .context import ServiceContext


@dataclass(frozen=True)
class Event:
    """A plain copy of a live_event row (no ORM object crosses a poll)."""
    id: int
    name: str
    data: dict
    audience: str = "all"


def short_contexts(engine, ctx: ServiceContext) -> Callable[[], AbstractContextManager[ServiceContext]]:
    """For a stream that outlives its request: each `with short() as c` opens a session of its own on
    `engine`, as the request's actor with its clock and locale, and closes it at the end of the block,
    so the connection goes back to the pool between polls (the request's own session gave its
    connection back when the request boundary committed, before the first byte was sent)."""
    actor, clock, locale = ctx.actor, ctx.clock, ctx.locale

    @contextmanager
    def short() -> Iterator[ServiceContext]:
        session = Session(engine)
        try:
            yield ServiceContext(session=session, actor=actor, clock=clock, locale=locale)
        finally:
            session.close()

    return short


def channel_reader(short: Callable[[], AbstractContextManager[ServiceContext]], channel: str,
                   limit: int = 200) -> Callable[[int], list[Event]]:
    """live_stream's `read`: the channel's events after an id, as plain Events, in a short session."""
    from .events import events_since  # core.events holds the table; imported here to keep this module light

    def read(after: int) -> list[Event]:
        with short() as c:
            return [Event(e.id, e.name, dict(e.data), e.audience) for e in events_since(c.session, channel, after, limit)]

    return read


def format_event(data: Any, *, event: str | None = None, id: int | None = None, retry: int | None = None) -> str:
    """One SSE message. `data` is sent as compact JSON on one line (JSON has no raw newlines)."""
    lines = []
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    if id is not None:
        lines.append(f"id: {int(id)}")
    if event is not None:
        if "\n" in event or "\r" in event:
            raise ValueError("event names are one line")
        lines.append(f"event: {event}")
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                                                           default=str)
    lines.extend(f"data: {line}" for line in payload.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def format_comment(text: str = "") -> str:
    return f": {text}\n\n"


def retry_ms(base: int = 3000, jitter: int = 4000) -> int:
    """How long the browser waits before reconnecting: spread over [base, base + jitter)."""
    return base + random.randrange(max(1, jitter))


def requested_last_id() -> int:
    """The id to resume after: the Last-Event-ID header (a browser's reconnect), else ?last_id=
    (a page that rendered the snapshot at that id), else 0. Anything not a number counts as 0."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_id") or "0"
    try:
        value = int(raw.strip())
    except ValueError:
        return 0
    return value if value >= 0 else 0


def sse_response(stream: Iterable[str]) -> Response:
    response = Response(stream_with_context(stream), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"   # nginx: do not buffer the stream
    response.headers["Connection"] = "keep-alive"  # dropped by WSGI servers that manage it themselves
    return response


def live_stream(channel: str, after_id: int, *,
                read: Callable[[int], list[Event]],
                snapshot: Callable[[], tuple[int, str, dict]] | None,
                broker: Broker,
                visible: Callable[[Event], bool] = lambda e: True,
                decorate: Callable[[dict], dict] = lambda d: d,
                heartbeat: float = 15.0,
                max_seconds: float | None = 300.0,
                tick: Callable[[], dict] | None = None,
                monotonic: Callable[[], float] = time.monotonic) -> Iterator[str]:
    """The generator behind an SSE endpoint.

    read(after_id) → the events after that id, oldest first (a bounded batch, short session);
    snapshot() → (id it stands at, event name, data); visible(event) → may this viewer get it;
    decorate(data) → data as sent (adds server_now); tick() → the data of the heartbeat event."""
    started = monotonic()
    yield f"retry: {retry_ms()}\n\n"
    last = after_id
    if after_id > 0:  # a reconnect: first everything it missed
        for ev in _drain(read, after_id):
            last = ev.id
            if visible(ev):
                yield format_event(decorate(ev.data), event=ev.name, id=ev.id)
    if snapshot is not None:
        snap_id, name, data = snapshot()
        # The snapshot stands at snap_id: events up to it are in it. On a reconnect, replay above
        # covered (after_id, last]; what is between last and snap_id is in the snapshot.
        last = max(last, snap_id)
        yield format_event(decorate(data), event=name, id=last)
    floor = last  # a broker id below which nothing new can be (guards against a stale broker)
    next_beat = monotonic() + heartbeat
    while True:
        now = monotonic()
        if max_seconds is not None and now - started >= max_seconds:
            yield format_comment("bye: reconnect with Last-Event-ID")
            return
        wait_for = next_beat - now
        if max_seconds is not None:
            wait_for = min(wait_for, started + max_seconds - now)
        woken = broker.wait(channel, max(last, floor), timeout=max(0.0, wait_for))
        sent = False
        for ev in _drain(read, last):
            last = ev.id
            if visible(ev):
                sent = True
                yield format_event(decorate(ev.data), event=ev.name, id=ev.id)
        if woken and not sent and broker.latest(channel) > last:
            floor = broker.latest(channel)  # the broker remembers ids the table no longer has
        if monotonic() >= next_beat:
            yield format_comment("keep-alive")
            if tick is not None:
                yield format_event(tick(), event="tick")
            next_beat = monotonic() + heartbeat


class SharedReads:
    """One query for many streams of a channel in one process (a room with hundreds of watchers).

    Every stream of a channel is woken by the same commit and asks for the same events: without this
    each runs its own query, so one bid costs as many queries (and pooled connections) as the worker
    has watchers, and the last watcher waits for all the others' queries. `wrap` gives a `read` whose
    concurrent calls for the same (channel, after_id) while the broker knows the same latest id share
    one call of the underlying read: the first caller queries, the others wait for its answer. Live
    events are append-only, so a shared answer is the answer each would have got; an entry lives at
    most `ttl` seconds, so a missed broker wake-up still costs at most one poll, as without it.
    Only for reads whose answer does not depend on the viewer (filter per viewer with `visible`)."""

    def __init__(self, ttl: float = 1.0, max_entries: int = 512) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[float, list[Event]]] = {}
        self._gates: dict[tuple, threading.Lock] = {}
        self.queries = 0  # underlying reads run (for tests and benchmarks)

    def _hit(self, key: tuple) -> list[Event] | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def wrap(self, channel: str, read: Callable[[int], list[Event]], broker: Broker) -> Callable[[int], list[Event]]:
        def shared(after_id: int) -> list[Event]:
            key = (channel, after_id, broker.latest(channel))
            with self._lock:
                hit = self._hit(key)
                if hit is not None:
                    return hit
                gate = self._gates.setdefault(key, threading.Lock())
            with gate:
                with self._lock:
                    hit = self._hit(key)
                    if hit is not None:
                        return hit
                events = read(after_id)
                with self._lock:
                    self.queries += 1
                    if len(self._entries) >= self.max_entries:
                        now = time.monotonic()
                        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                    self._entries[key] = (time.monotonic() + self.ttl, events)
                    self._gates.pop(key, None)
                return events
        return shared


#: the process's shared reads (streams whose read is the same for every viewer of a channel)
SHARED_READS = SharedReads()


def _drain(read: Callable[[int], list[Event]], after_id: int) -> Iterator[Event]:
    while True:
        batch = read(after_id)
        if not batch:
            return
        yield from batch
        after_id = batch[-1].id
