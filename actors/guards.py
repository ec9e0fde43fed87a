"""Loop guards for a whole system: run until done, idle, or a limit trips.

`ActorSystem.run_until` blocks the calling thread until the first of these holds, and says
which one as a `RunReport`:

| reason                     | when                                                            |
| -------------------------- | --------------------------------------------------------------- |
| `StopReason.COMPLETED`     | ``predicate()`` returned True (checked after bursts of work)     |
| `StopReason.IDLE`          | nothing handled for ``idle`` seconds, every mailbox empty        |
| `StopReason.MAX_MESSAGES`  | the agents handled ``max_messages`` messages since the call      |
| `StopReason.MAX_RUNTIME`   | ``max_runtime`` seconds passed                                   |
| `StopReason.FATAL_ERROR`   | the root supervisor escalated (the system is stopping)           |
| `StopReason.MANUAL_STOP`   | someone shut the system down meanwhile                           |

The predicate runs in the caller's thread, never in an agent's. ``run_until`` only observes: it
does not stop the agents unless ``shutdown=True`` (then the system is shut down before it
returns), so a runaway conversation is cut off by passing ``shutdown=True``.
Per-agent ``max_messages`` (on a child spec) stops that one agent for good instead.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors.errors import InvalidConfig

if TYPE_CHECKING:
    from actors.system import ActorSystem

__all__ = ["RunReport", "RunWatch", "StopReason"]

_NO_LIMIT = 3600.0  # a run with no time bound still returns after an hour


class StopReason(enum.Enum):
    """Why `ActorSystem.run_until` returned."""

    COMPLETED = "completed"  # the predicate became true
    IDLE = "idle"  # nothing happened for the idle period and all mailboxes are empty
    MAX_MESSAGES = "max_messages"  # the message budget was used up
    MAX_RUNTIME = "max_runtime"  # the time budget was used up
    FATAL_ERROR = "fatal_error"  # the root supervisor escalated
    MANUAL_STOP = "manual_stop"  # the system was shut down by someone else


@dataclass(frozen=True, slots=True)
class RunReport:
    """What ended a run: the reason, and the counts when it was decided.

    Compares equal to its `StopReason`, so ``system.run_until(...) == StopReason.IDLE`` reads
    naturally.

    Attributes:
        reason: why the run ended.
        messages: messages handled by the system's agents during the run.
        elapsed: seconds the run lasted.
        failure: the fatal cause, for `StopReason.FATAL_ERROR`.
    """

    reason: StopReason
    messages: int
    elapsed: float
    failure: BaseException | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StopReason):
            return self.reason is other
        if isinstance(other, RunReport):
            return (self.reason, self.messages, self.elapsed) == (
                other.reason,
                other.messages,
                other.elapsed,
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.reason)


class RunWatch:
    """Counts handled messages while a run is active and wakes the waiting caller."""

    def __init__(self, system: ActorSystem) -> None:
        self._system = system
        self._lock = threading.Lock()
        self._activity = threading.Event()
        self._counter = itertools.count(1)
        self._last = 0
        self._limit: int | None = None
        self._tripped: int | None = None
        self._stopped = False
        self.active = False

    def tick(self) -> None:
        """Called by an agent's thread after each handled message while a run is active."""
        handled = self._last = next(self._counter)
        if handled == self._limit:
            self._tripped = handled
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
        for label, value in (
            ("max_messages", max_messages),
            ("max_runtime", max_runtime),
            ("idle", idle),
        ):
            if value is not None and not value > 0:
                msg = f"run_until: {label} must be > 0, got {value!r}"
                raise InvalidConfig(msg)
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
        start = time.monotonic()
        try:
            report = self._wait(predicate, max_runtime, idle, start)
        finally:
            self.active = False
        if shutdown:
            self._system.shutdown(drain=0.0)  # cut the run off: no draining
        return report

    def _handled(self) -> int:
        return self._last

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
                failure = self._system.failure if reason is StopReason.FATAL_ERROR else None
                return RunReport(reason, count, now - start, failure)
            if idle is not None and now - last_activity >= idle and self._quiet():
                return RunReport(StopReason.IDLE, self._handled(), now - start)
            wait = deadline - now
            if idle is not None:
                wait = min(wait, max(0.0, last_activity + idle - now) or idle)
            if self._activity.wait(wait):
                self._activity.clear()
                last_activity = time.monotonic()

    def _reason(self, predicate: Callable[[], bool] | None, timed_out: bool) -> StopReason | None:
        if self._system.failure is not None:
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
            cell.current is None and cell.mailbox.qsize() == 0
            for cell in self._system.router.table.agents
        )
