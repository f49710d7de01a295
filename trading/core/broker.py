"""The live-event broker: wakes the waiting Server-Sent-Event streams when new `live_event` rows
commit (ux.md §5.3). The table is the source of truth and gives the replay after Last-Event-ID; a
broker only says "look again", so a lost wake-up costs at most one poll interval, never an event.

    broker = get_broker()                      # the app's broker (config TRADING_BROKER)
    broker.wait("hall:LOT", after_id=41, timeout=15)   # True when an event > 41 is known to exist

Implementations:
- InProcessBroker: a threading.Condition; woken by the session "after_commit" listener (one process:
  tests, the embedded default on SQLite).
- PostgresBroker: one LISTEN connection and one thread per process (psycopg 3). The publisher runs
  `pg_notify('live_event', '<channel> <id>')` inside its transaction (core/events.publish), so the
  notification is delivered at COMMIT and never on rollback, to every worker of every host.
- RedisBroker is not built: the `redis` package is not a dependency (see the docstring of `make_broker`).

Waiters compare event ids, not wake-up counts, so a commit that lands between a stream's database
poll and its wait() is not missed: wait() returns at once when the channel's known latest id is
already beyond `after_id`.

Imports: core only (flask only in init_app)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: the PostgreSQL notification channel every live event goes through
PG_CHANNEL = "live_event"


def format_payload(channel: str, event_id: int | None) -> str:
    """'<channel> <id>' (a bare '<channel>' is accepted too: it wakes every waiter of the channel)."""
    return channel if event_id is None else f"{channel} {event_id}"


def parse_payload(payload: str) -> tuple[str, int | None]:
    channel, sep, tail = payload.rpartition(" ")
    if sep and tail.isdigit():
        return channel, int(tail)
    return payload, None


class Broker:
    """Waiting and waking by channel. Subclasses only change where the wake-ups come from."""

    name = "base"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        #: channel → highest event id known to have committed
        self._latest: dict[str, int] = {}
        #: channel → count of notifications (wakes whoever is waiting, whatever the ids say: a table
        #: whose ids restarted — a restore, the tests' TRUNCATE — must not leave a stream asleep)
        self._generation: dict[str, int] = {}
        self._epoch = 0  # bumped to wake every waiter of every channel

    # -- waking ---------------------------------------------------------------------------------
    def notify(self, channels: Iterable[str] | Mapping[str, int | None]) -> None:
        """Wake the waiters of these channels. A mapping gives each channel's newest committed id."""
        self._wake(channels)

    def _wake(self, channels: Iterable[str] | Mapping[str, int | None]) -> None:
        items = channels.items() if isinstance(channels, Mapping) else ((c, None) for c in channels)
        with self._cond:
            for channel, event_id in items:
                # Every notification wakes the channel's current waiters; the id also covers a
                # commit that lands between a stream's poll and its wait().
                self._generation[channel] = self._generation.get(channel, 0) + 1
                if event_id is not None and event_id > self._latest.get(channel, 0):
                    self._latest[channel] = event_id
            self._cond.notify_all()

    def _wake_all(self) -> None:
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()

    # -- waiting --------------------------------------------------------------------------------
    def wait(self, channel: str, after_id: int, timeout: float) -> bool:
        """Block up to `timeout` seconds; True when the channel may have events after `after_id`
        (the caller then reads them from the table), False on a timeout."""
        self._ensure_started()
        with self._cond:
            gen, epoch = self._generation.get(channel, 0), self._epoch
            return self._cond.wait_for(
                lambda: (self._latest.get(channel, 0) > after_id or self._generation.get(channel, 0) != gen
                         or self._epoch != epoch), timeout)

    def latest(self, channel: str) -> int:
        with self._cond:
            return self._latest.get(channel, 0)

    def _ensure_started(self) -> None:
        pass

    def close(self) -> None:
        self._wake_all()


class InProcessBroker(Broker):
    """One process: the after_commit listener calls notify()."""

    name = "inprocess"


class PostgresBroker(Broker):
    """LISTEN live_event on one autocommit connection per process, read by one daemon thread.

    Started lazily by the first wait() (never at import or app creation, and again in a forked
    worker: the pid is checked). If the connection drops, the thread reconnects with a back-off and
    then wakes every waiter, so the streams re-read the table for anything sent meanwhile."""

    name = "postgres"
    _instances: dict[str, PostgresBroker] = {}
    _instances_lock = threading.Lock()

    def __init__(self, dsn: str, *, poll_seconds: float = 1.0) -> None:
        super().__init__()
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._start_lock = threading.Lock()

    @classmethod
    def shared(cls, dsn: str) -> PostgresBroker:
        """The process's broker for this database (one LISTEN connection per process, not per app)."""
        with cls._instances_lock:
            broker = cls._instances.get(dsn)
            if broker is None or broker._stop.is_set():
                broker = cls._instances[dsn] = cls(dsn)
            return broker

    def notify(self, channels) -> None:
        # The database delivers the cross-process notification (pg_notify at commit); waking the
        # local waiters at once as well saves them the listener's round trip.
        self._wake(channels)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop.clear()
            self._listening.clear()
            self._thread = threading.Thread(target=self._run, name="live-event-listener", daemon=True)
            self._thread.start()

    def wait_listening(self, timeout: float = 5.0) -> bool:
        """Start the listener and wait until LISTEN is in effect (tests; the first stream of a worker)."""
        self._ensure_started()
        return self._listening.wait(timeout)

    def _run(self) -> None:
        import psycopg

        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {PG_CHANNEL}")
                    self._listening.set()
                    self._wake_all()  # anything sent while we were not listening: look again
                    backoff = 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=self.poll_seconds):
                            channel, event_id = parse_payload(note.payload)
                            self._wake({channel: event_id})
            except Exception as exc:  # noqa: BLE001 - the listener must outlive a database restart
                self._listening.clear()
                if self._stop.is_set():
                    break
                log.warning("live-event listener lost its connection (%s); retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        self._listening.clear()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.poll_seconds + 5)
        with self._instances_lock:
            if self._instances.get(self.dsn) is self:
                del self._instances[self.dsn]
        super().close()


def pg_dsn(sqlalchemy_url) -> str:
    """A libpq connection string from the SQLAlchemy URL (postgresql+psycopg://… → postgresql://…)."""
    from sqlalchemy.engine import make_url

    url = make_url(str(sqlalchemy_url)) if not hasattr(sqlalchemy_url, "set") else sqlalchemy_url
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_broker(kind: str | None, database_uri: str) -> Broker:
    """TRADING_BROKER = inprocess | postgres (default: postgres on PostgreSQL, inprocess otherwise).
    "redis" is refused with a clear message: pub/sub through Redis is not transactional with the
    database, and LISTEN/NOTIFY covers a county's several workers without another service."""
    is_pg = database_uri.startswith("postgresql")
    kind = (kind or ("postgres" if is_pg else "inprocess")).lower()
    if kind == "inprocess":
        return InProcessBroker()
    if kind == "postgres":
        if not is_pg:
            raise ValueError("TRADING_BROKER=postgres needs a PostgreSQL database")
        return PostgresBroker.shared(pg_dsn(database_uri))
    raise ValueError(f"unknown TRADING_BROKER {kind!r} (inprocess | postgres)")


# --- the after_commit listener --------------------------------------------------------------------
_default_broker: Broker = InProcessBroker()


def _broker_for_session(session: Session) -> Broker:
    broker = session.info.get("broker")
    if broker is not None:
        return broker
    try:
        from flask import current_app

        return current_app.extensions.get("broker") or _default_broker
    except RuntimeError:  # no app context: a plain session (scripts, unit tests)
        return _default_broker


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # SQLAlchemy fires after_commit when a SAVEPOINT is released too: the outer transaction is
        # still open, so its events are not visible yet; wake the streams at its own commit
        return
    ids = session.info.pop("live_event_ids", None)
    channels = session.info.pop("live_channels", None)
    if not ids and not channels:
        return
    wake = dict(ids or {})
    for channel in channels or ():
        wake.setdefault(channel, None)
    _broker_for_session(session).notify(wake)


def _after_rollback(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a SAVEPOINT rolled back: the outer transaction's events still stand
    session.info.pop("live_event_ids", None)
    session.info.pop("live_channels", None)


_installed = False


def install_listeners() -> None:
    """Hook every SQLAlchemy session (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        _installed = True


def init_app(app) -> None:
    install_listeners()
    app.extensions["broker"] = make_broker(app.config.get("BROKER"), app.config["SQLALCHEMY_DATABASE_URI"])


def get_broker() -> Broker:
    from flask import current_app

    return current_app.extensions.get("broker") or _default_broker


def default_broker() -> Broker:
    return _default_broker
