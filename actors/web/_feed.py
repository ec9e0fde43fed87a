"""The live feed behind ``/api/events``: events and metrics as Server-Sent Events, throttled.

Each stream subscribes a bounded `queue.Queue` to the system's event stream (``put_nowait`` in
the publishing thread: no thread of its own, and a full queue drops and counts, so heavy
traffic never slows the system). Every `INTERVAL` seconds the stream's coroutine drains that
queue; if anything arrived (or `HEARTBEAT` seconds passed) it sends one ``update``: the feed
lines of the batch (at most `BATCH`, the rest counted as dropped), the tree, the agent rows,
and the recent dead letters when their count moved. So a client gets at most
``1 / INTERVAL`` updates a second however many events the system publishes.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from actors.events import DeadLetter, Event, LifecycleChanged
from actors.web._views import (
    FEED_TYPES,
    Rates,
    agents_view,
    dead_letters_view,
    event_summary,
    tree_view,
)

if TYPE_CHECKING:
    from actors.system import ActorSystem

__all__ = ["BATCH", "HEARTBEAT", "INTERVAL", "Feed", "stream"]

INTERVAL = 0.25  # seconds between two updates, at least: at most 4 updates a second
HEARTBEAT = 1.0  # seconds after which an update is sent even if no event arrived
BATCH = 100  # feed lines one update carries at most (the newest); the rest are counted
CAPACITY = 2000  # events a stream's queue holds between two updates; more are dropped
DEAD_LETTERS = 30  # dead letters an update carries when their count moved

WATCHED: tuple[type[Event], ...] = (*FEED_TYPES, LifecycleChanged, DeadLetter)


class Feed:
    """One stream's subscription: events wait in a bounded queue until `take` drains them."""

    def __init__(self, system: ActorSystem, capacity: int = CAPACITY) -> None:
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=capacity)
        self._subscription = system.events.subscribe(self._queue, *WATCHED)
        self._reported = 0  # the subscription's drops already reported

    def take(self) -> tuple[list[dict[str, Any]], int, bool]:
        """Drain the queue: (feed lines, oldest first; events dropped; whether any arrived)."""
        lines: list[dict[str, Any]] = []
        arrived = False
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            arrived = True
            line = event_summary(event)
            if line is not None:
                lines.append(line)
        dropped_now = self._subscription.dropped
        dropped = dropped_now - self._reported + max(0, len(lines) - BATCH)
        self._reported = dropped_now
        return lines[-BATCH:], dropped, arrived or dropped > 0

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        self._subscription.cancel()


def _frame(event: str, seq: int, data: dict[str, Any]) -> str:
    # json.dumps escapes newlines, so the data is one line, as SSE requires.
    return f"event: {event}\nid: {seq}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def stream(
    system: ActorSystem,
    rates: Rates,
    *,
    stopping: Callable[[], bool],
    limit: int | None = None,
    interval: float = INTERVAL,
) -> AsyncIterator[str]:
    """The SSE text of one client's stream, until it disconnects, ``limit`` updates, or a stop.

    ``stopping()`` is polled every ``interval``: once it says True (the server or the system is
    stopping) a last ``update`` and a ``stopped`` event are sent and the stream ends.
    """
    feed = Feed(system)
    try:
        yield ": regiment observer\n\n"  # a comment: the client sees the stream open at once
        seq = 0
        last = float("-inf")
        letters_seen = -1
        while True:
            lines, dropped, arrived = feed.take()
            ending = stopping()
            now = time.monotonic()
            if arrived or ending or now - last >= HEARTBEAT:
                seq += 1
                last = now
                update: dict[str, Any] = {
                    "seq": seq,
                    "events": lines,
                    "dropped": dropped,
                    "tree": tree_view(system)["tree"],
                    "agents": agents_view(system, rates)["agents"],
                }
                letters = sum(system.dead_letter_counts().values())
                if letters != letters_seen:
                    letters_seen = letters
                    update["dead_letters"] = dead_letters_view(system, DEAD_LETTERS)
                yield _frame("update", seq, update)
                if limit is not None and seq >= limit:
                    return
            if ending:
                yield _frame("stopped", seq + 1, {"system": system.name})
                return
            await asyncio.sleep(interval)
    finally:
        feed.close()


class Closing:
    """A flag the server sets when it stops, read by every stream (thread-safe)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Tell every stream to end."""
        self._event.set()

    def is_set(self) -> bool:
        """True once the server is stopping."""
        return self._event.is_set()
