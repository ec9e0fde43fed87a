"""The CPython floor: plain threads and `queue.SimpleQueue`, no actor library at all.

A consumer thread loops ``item = q.get()`` and counts; a producer loops ``q.put(item)``. An
ask is a thread ping-pong over two queues. This is the least any thread-per-agent design can
cost on this interpreter; it has no agents to spawn, restart or gather from.
"""

from __future__ import annotations

import gc
import itertools
import threading
from queue import SimpleQueue
from typing import Any

from benchmarks.anchors.common import (
    WAIT,
    NotApplicable,
    Side,
    Tally,
    perf_counter,
    run_producers,
    split,
    timed_calls,
)

_STOP = object()  # tells a consumer thread to end


class Tick:
    """The item every put carries (one instance, shared by all puts)."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n


def _consume(queue: SimpleQueue[Any], tally: Any) -> None:
    get = queue.get
    while True:
        item = get()
        if item is _STOP:
            return
        tally.hit()


class _Consumers:
    """``count`` consumer threads, one queue each; `close` ends and joins them."""

    def __init__(self, count: int, tally: Any) -> None:
        self.queues: list[SimpleQueue[Any]] = [SimpleQueue() for _ in range(count)]
        self.threads = [
            threading.Thread(target=_consume, args=(q, tally), name=f"floor-{i}", daemon=True)
            for i, q in enumerate(self.queues)
        ]
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        for queue in self.queues:
            queue.put(_STOP)
        for thread in self.threads:
            thread.join(WAIT)


class _Hub:
    __slots__ = ("current",)

    def __init__(self, tally: Tally) -> None:
        self.current = tally

    def hit(self) -> None:
        self.current.hit()


class FloorSide(Side):
    """`SimpleQueue` producer/consumer threads and a thread ping-pong."""

    key = "floor"

    def tell(self, n: int, producers: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=False)
        consumers = _Consumers(1, tally)
        try:
            put = consumers.queues[0].put

            def body(count: int) -> None:
                for item in itertools.repeat(msg, count):
                    put(item)

            start = run_producers([lambda c=c: body(c) for c in split(n, producers)])
            return tally.wait("floor tell") - start
        finally:
            consumers.close()

    def pairs(self, n: int, pairs: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=True)
        consumers = _Consumers(pairs, tally)
        try:

            def body(put: Any, count: int) -> None:
                for item in itertools.repeat(msg, count):
                    put(item)

            start = run_producers(
                [
                    lambda q=q, c=c: body(q.put, c)
                    for q, c in zip(consumers.queues, split(n, pairs), strict=True)
                ]
            )
            return tally.wait("floor pairs") - start
        finally:
            consumers.close()

    def role(self, n: int, agents: int) -> float:
        msg = Tick()
        tally = Tally(n, shared=True)
        consumers = _Consumers(agents, tally)
        try:
            puts = itertools.cycle([q.put for q in consumers.queues])

            def body() -> None:
                for put, item in zip(puts, itertools.repeat(msg, n), strict=False):
                    put(item)

            start = run_producers([body])
            return tally.wait("floor role") - start
        finally:
            consumers.close()

    def ask(self, n: int) -> list[float]:
        requests: SimpleQueue[Any] = SimpleQueue()
        replies: SimpleQueue[Any] = SimpleQueue()

        def serve() -> None:
            while True:
                item = requests.get()
                if item is _STOP:
                    return
                replies.put(item.n)

        server = threading.Thread(target=serve, name="floor-server", daemon=True)
        server.start()
        msg = Tick(1)
        put, get = requests.put, replies.get

        def round_trip() -> object:
            put(msg)
            return get(timeout=5.0)

        try:
            return timed_calls(round_trip, n)
        finally:
            requests.put(_STOP)
            server.join(WAIT)

    def broadcast(self, agents: int, repeats: int) -> list[float]:
        msg = Tick()
        handled = [Tally(agents, shared=True) for _ in range(repeats)]
        hub = _Hub(handled[0])
        consumers = _Consumers(agents, hub)
        try:
            times = []
            for tally in handled:
                hub.current = tally
                gc.collect()
                start = perf_counter()
                for queue in consumers.queues:
                    queue.put(msg)
                times.append(tally.wait("floor broadcast") - start)
            return times
        finally:
            consumers.close()

    def spawn(self, n: int) -> tuple[float, float]:
        raise NotApplicable("plain threads: no agent to spawn")

    def rss(self, n: int) -> float:
        raise NotApplicable("plain threads: no agent to hold in memory")

    def restart(self, n: int) -> list[float]:
        raise NotApplicable("plain threads: no failure handling, nothing to restart")

    def gather(self, n: int, agents: int) -> float:
        raise NotApplicable("plain threads: no request/reply over a group")
