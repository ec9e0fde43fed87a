"""The watch behind `ActorSystem.run_until`: counts handled messages and decides when a run ends.

The public half (`StopReason`, `RunReport`, and what each reason means) is `actors.run`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from loguru import logger

from actors._local import state as _current
from actors.errors import InvalidConfig
from actors.run import RunReport, StopReason

if TYPE_CHECKING:
    from actors._runtime import Runtime

__all__ = ["RunWatch", "check_limits"]

_NO_LIMIT = 3600.0  # a run with no time bound still returns after an hour


def check_limits(max_messages: int | None, max_runtime: float | None, idle: float | None) -> None:
    """Check a run's limits before it starts.

    Raises:
        InvalidConfig: for a limit that is given but not > 0.
    """
    for label, value in (
        ("max_messages", max_messages),
        ("max_runtime", max_runtime),
        ("idle", idle),
    ):
        if value is not None and not value > 0:
            msg = f"run_until: {label} must be > 0, got {value!r}"
            raise InvalidConfig(msg)


class RunWatch:
    """Counts handled messages while a run is active and wakes the waiting caller."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._activity = threading.Event()
        self._counter = itertools.count(1)
        self._last = 0
        self._limit: int | None = None
        self._tripped: int | None = None
        self._tripper: str | None = None  # the agent whose message reached max_messages
        self._stopped = False
        self.active = False

    def tick(self) -> None:
        """Called by an agent's thread after each handled message while a run is active."""
        handled = self._last = next(self._counter)
        if handled == self._limit:
            self._tripped = handled
            slot = _current.slot
            self._tripper = None if slot is None else slot.name
        if not self._activity.is_set():
            self._activity.set()

    def stop(self) -> None:
        """The system is shutting down: wake any run."""
        self._stopped = True
        self._activity.set()

    def run(
        self,
        predicate: Callable[[], bool] | None = None,
        *,
        max_messages: int | None = None,
        max_runtime: float | None = None,
        idle: float | None = None,
        shutdown: bool = False,
    ) -> RunReport:
        """Block until a stop condition holds; see the module docstring.

        Raises:
            InvalidConfig: for a non-positive limit, or if a run is already in progress.
        """
        check_limits(max_messages, max_runtime, idle)
        with self._lock:
            if self.active:
                msg = "run_until is already running in another thread"
                raise InvalidConfig(msg)
            self._counter = itertools.count(1)
            self._last = 0
            self._limit = max_messages
            self._tripped = None
            self._activity.clear()
            self.active = True
        self._runtime.follow_tap()
        start = time.monotonic()
        try:
            report = self._wait(predicate, max_runtime, idle, start)
        finally:
            self.active = False
            self._runtime.follow_tap()
        if shutdown:
            self._runtime.shutdown(30.0, 0.0)  # cut the run off: no draining
        return report

    def _handled(self) -> int:
        return self._last

    @property
    def handled(self) -> int:
        """Messages handled so far in the active run (0 when no run is active; any thread)."""
        return self._last if self.active else 0

    def _wait(
        self,
        predicate: Callable[[], bool] | None,
        max_runtime: float | None,
        idle: float | None,
        start: float,
    ) -> RunReport:
        deadline = start + (max_runtime if max_runtime is not None else _NO_LIMIT)
        last_activity = start
        while True:
            now = time.monotonic()
            reason = self._reason(predicate, now >= deadline)
            if reason is not None:
                tripped = self._tripped
                count = (
                    tripped if reason is StopReason.MAX_MESSAGES and tripped else self._handled()
                )
                failure = self._runtime.failure if reason is StopReason.FATAL_ERROR else None
                self._log_limit(reason, count, now - start)
                return RunReport(reason, count, now - start, failure)
            if idle is not None and now - last_activity >= idle and self._quiet():
                return RunReport(StopReason.IDLE, self._handled(), now - start)
            wait = deadline - now
            if idle is not None:
                wait = min(wait, max(0.0, last_activity + idle - now) or idle)
            if self._activity.wait(wait):
                self._activity.clear()
                last_activity = time.monotonic()

    def _log_limit(self, reason: StopReason, count: int, elapsed: float) -> None:
        """Log a run cut short by one of its limits (WARNING: the work may be unfinished)."""
        log = logger.bind(system=self._runtime.name)
        if reason is StopReason.MAX_MESSAGES:
            log.bind(agent=self._tripper).warning(
                "run_until stopped at its max_messages limit ({} messages; the last one was "
                "handled by {!r})",
                count,
                self._tripper,
            )
        elif reason is StopReason.MAX_RUNTIME:
            log.warning(
                "run_until stopped at its max_runtime limit ({:.3g}s, {} messages handled)",
                elapsed,
                count,
            )

    def _reason(self, predicate: Callable[[], bool] | None, timed_out: bool) -> StopReason | None:
        if self._runtime.failure is not None:
            return StopReason.FATAL_ERROR
        if self._stopped:
            return StopReason.MANUAL_STOP
        if self._tripped is not None:
            return StopReason.MAX_MESSAGES
        if predicate is not None and predicate():
            return StopReason.COMPLETED
        if timed_out:
            return StopReason.MAX_RUNTIME
        return None

    def _quiet(self) -> bool:
        """No agent is handling a message and every mailbox is empty."""
        return all(
            slot.current is None and slot.mailbox.qsize() == 0
            for slot in self._runtime.router.table.agents
        )
