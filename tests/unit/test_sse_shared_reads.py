"""core.sse.SharedReads: concurrent reads of one channel after the same id, while the broker knows the
same latest id, share one underlying query; a newer committed id or an expired entry makes a new one;
a failing read is not cached."""

from __future__ import annotations

import threading
import time

import pytest

from trading.core.broker import InProcessBroker
from trading.core.sse import Event, SharedReads


def test_concurrent_streams_share_one_query():
    broker, shared = InProcessBroker(), SharedReads(ttl=60)
    calls, gate = [], threading.Event()

    def read(after: int) -> list[Event]:
        calls.append(after)
        gate.wait(5)  # hold the first query until every stream is waiting on it
        return [Event(after + 1, "auction:bid", {"seq": 1})]

    broker.notify({"auction:L": 7})
    wrapped = shared.wrap("auction:L", read, broker)
    results = [None] * 20

    def stream(i):
        results[i] = wrapped(6)

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    assert calls == [6] and shared.queries == 1
    assert all(r == [Event(7, "auction:bid", {"seq": 1})] for r in results)


def test_a_newer_commit_or_an_expired_entry_reads_again():
    broker, shared = InProcessBroker(), SharedReads(ttl=0.05)
    calls = []

    def read(after):
        calls.append(after)
        return []

    wrapped = shared.wrap("auction:L", read, broker)
    assert wrapped(3) == [] and wrapped(3) == [] and calls == [3]   # the same latest id: shared
    broker.notify({"auction:L": 4})
    wrapped(3)
    assert calls == [3, 3]                                          # a newer id: a new query
    time.sleep(0.06)
    wrapped(3)
    assert calls == [3, 3, 3]                                       # expired: a new query
    other = shared.wrap("hall:L", read, broker)
    other(3)
    assert calls == [3, 3, 3, 3]                                    # channels never share


def test_a_failing_read_is_not_cached():
    broker, shared = InProcessBroker(), SharedReads(ttl=60)
    outcomes = iter([RuntimeError("db down"), [Event(1, "x", {})]])

    def read(after):
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return out

    wrapped = shared.wrap("auction:L", read, broker)
    with pytest.raises(RuntimeError):
        wrapped(0)
    assert wrapped(0) == [Event(1, "x", {})]
