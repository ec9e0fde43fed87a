"""Clocks: where a system reads the time, so tests can drive it by hand.

A system reads time only through its clock: restart budgets and backoff, timers, rate limits,
and envelope deadlines. `SystemClock` is the real one. `ManualClock` stands still until a test
calls `ManualClock.advance`, which also wakes the system's timer thread, so tests of "three
restarts within five seconds" or "a timer every second" need no real sleeps.

Two things wait in real time on purpose: ask timeouts (they bound a caller's real wait) and
`ActorSystem.run_until`'s ``max_runtime`` and ``idle``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """What a system needs from a clock."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (for timestamps and deadlines)."""
        ...

    def real_timeout(self, delay: float) -> float | None:
        """How long, in real seconds, a thread should sleep to let ``delay`` clock-seconds pass.

        None means "until woken by `on_advance` listeners".
        """
        ...

    def on_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever the clock jumps; returns a function that unsubscribes."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `time.time`."""

    def monotonic(self) -> float:
        """Return `time.monotonic()`."""
        return time.monotonic()

    def time(self) -> float:
        """Return `time.time()`."""
        return time.time()

    def real_timeout(self, delay: float) -> float | None:
        """Return ``delay``: real time passes by itself."""
        return max(0.0, delay)

    def on_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Return a no-op: the real clock never jumps."""
        return _noop


def _noop() -> None:
    return None


class ManualClock:
    """A clock that moves only when `advance` is called. Thread-safe.

    Args:
        start: the initial `monotonic` reading.
        wall_start: the initial `time` reading (defaults to the real time at creation).
    """

    def __init__(self, start: float = 0.0, wall_start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start
        self._wall_offset = (time.time() if wall_start is None else wall_start) - start
        self._listeners: list[Callable[[], None]] = []

    def monotonic(self) -> float:
        """Return the current manual reading."""
        return self._now

    def time(self) -> float:
        """Return the wall-clock reading, which advances with `monotonic`."""
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward and wake everything waiting on it.

        Raises:
            ValueError: if ``seconds`` is negative.
        """
        if seconds < 0:
            msg = f"a clock cannot go backwards (advance({seconds}))"
            raise ValueError(msg)
        with self._lock:
            self._now += seconds
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def real_timeout(self, delay: float) -> float | None:
        """Return None: only `advance` makes manual time pass."""
        return None

    def on_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every `advance`; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
