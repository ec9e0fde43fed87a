"""Timers: one thread per system fires every scheduled message and delayed call.

The thread starts with the first timer and reads time from the system's clock, so with a
`ManualClock` timers fire exactly when a test advances the clock past their due time (and a
repeating timer fires once per interval passed). Agents' timers are cancelled when the
incarnation that made them stops or restarts.

The same thread keeps a second queue: the deadlines of asks (`TimerService.expire`). They run
in real time whatever the clock (an ask's timeout bounds a caller's real wait), and at its
deadline a still-pending future fails with `AskTimeout`, so callbacks and ``await`` see the
timeout too.

Every ask with a timeout arms one, so arming takes no lock: it appends to an inbox (a deque)
and wakes the thread only if the thread would otherwise sleep past the new deadline, or if the
inbox has grown to `_DRAIN_AT` entries. The thread moves the inbox into a heap, skipping futures
already complete, and sweeps completed ones out of the heap whenever it has doubled since the
last sweep. So completed futures are dropped lazily but never pile up: about `_DRAIN_AT` in the
inbox plus twice the pending asks (at least `_COMPACT_MIN`) in the heap.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors._local import state as _current
from actors.errors import InvalidConfig, RegimentError, SystemStopped

if TYPE_CHECKING:
    from actors._runtime import Runtime
    from actors._slot import Slot
    from actors.address import AddressLike
    from actors.future import Future
    from actors.messages import Message

__all__ = ["Timer", "TimerService"]

_EPSILON = 1e-9  # a timer this close to due counts as due (float sums of clock readings)
_COMPACT_MIN = 1024  # deadline entries tolerated before completed futures are swept out
_DRAIN_AT = 256  # inbox length at which arming a deadline wakes the thread to drain it
_INF = math.inf
_MAX_WAIT = 3600.0  # longest single wait (larger timeouts overflow the platform's time_t)


class Timer:
    """A scheduled message (or call); `cancel` stops it."""

    __slots__ = (
        "_on_done",
        "_service",
        "action",
        "cancelled",
        "due",
        "fired",
        "first_due",
        "interval",
    )

    def __init__(
        self,
        service: TimerService,
        due: float,
        interval: float | None,
        action: Callable[[], object],
        on_done: Callable[[Timer], object] | None,
    ) -> None:
        self._service = service
        self._on_done = on_done
        self.due = due
        self.first_due = due
        self.interval = interval
        self.action = action
        self.cancelled = False
        self.fired = 0

    def __repr__(self) -> str:
        every = f" every {self.interval:g}s" if self.interval is not None else ""
        return f"<Timer due={self.due:g}{every} fired={self.fired} cancelled={self.cancelled}>"

    @property
    def active(self) -> bool:
        """True while it may still fire."""
        return not self.cancelled and (self.interval is not None or self.fired == 0)

    def cancel(self) -> None:
        """Stop the timer; it will not fire again. Idempotent, callable from any thread."""
        self.cancelled = True
        self._done()

    def _done(self) -> None:
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(self)


class TimerService:
    """The system's timer thread and its queue of due timers."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._clock = runtime.clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        # Ask deadlines, in real `time.monotonic` seconds; see the module docstring.
        self._inbox: collections.deque[Future[Any]] = collections.deque()
        self._deadlines: list[tuple[float, int, Future[Any]]] = []  # a heap; thread-owned
        self._compact_at = _COMPACT_MIN
        # The real time by which the sleeping thread will wake and read the inbox; +inf while
        # it is awake, not started, closed or asleep without a deadline, so that `expire`
        # then always takes the locked path and notifies.
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None
        self._closed = False
        self._unsubscribe = self._clock.on_advance(self._wake)

    def schedule(
        self,
        delay: float,
        interval: float | None,
        to: AddressLike,
        message: Message,
        *,
        sender: Slot | None,
        causation_id: str | None,
        correlation_id: str | None = None,
        on_done: Callable[[Timer], object] | None = None,
    ) -> Timer:
        """Send ``message`` to ``to`` after ``delay`` (then every ``interval``, if given).

        The message carries the ids given here (those of the message being handled when it
        was scheduled), never those of whatever the sender handles when the timer fires.

        Raises:
            InvalidConfig: for a negative delay or a non-positive interval.
        """
        router = self._runtime.router

        def send() -> None:
            router.tell(
                to,
                message,
                sender,
                causation_id=causation_id,
                correlation_id=correlation_id,
                detached=True,
            )

        return self.call_later(delay, send, interval=interval, on_done=on_done)

    def call_later(
        self,
        delay: float,
        action: Callable[[], object],
        *,
        interval: float | None = None,
        on_done: Callable[[Timer], object] | None = None,
    ) -> Timer:
        """Run ``action()`` in the timer thread after ``delay`` (then every ``interval``).

        Raises:
            InvalidConfig: for a negative delay or a non-positive interval.
            SystemStopped: if the system is shut down.
        """
        if not (delay >= 0 and math.isfinite(delay)):
            msg = f"timer delay must be finite and >= 0, got {delay!r}"
            raise InvalidConfig(msg)
        if interval is not None and not (interval > 0 and math.isfinite(interval)):
            msg = f"timer interval must be finite and > 0, got {interval!r}"
            raise InvalidConfig(msg)
        timer = Timer(self, self._clock.monotonic() + delay, interval, action, on_done)
        with self._cond:
            if self._closed:
                msg = f"system {self._runtime.name!r} is shut down; no new timers"
                raise SystemStopped(msg)
            heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
            if self._thread is None:
                self._start_thread()
            self._cond.notify()
        return timer

    def expire(self, future: Future[Any], deadline: float) -> None:
        """Fail ``future`` with `AskTimeout` (in the timer thread) if pending at ``deadline``.

        ``deadline`` must be the future's own (``future._deadline``), in real `time.monotonic`
        seconds whatever the system's clock; an infinite one is ignored. Called from any
        thread (by ``Router.ask``), without a lock in the common case (see the module
        docstring). After `close` it does nothing (``get`` still enforces the deadline).
        """
        if not deadline < _INF:
            return  # never (or NaN): nothing to enforce
        inbox = self._inbox
        inbox.append(future)  # atomic: no lock; the thread reads future._deadline
        # The thread drains the inbox whenever it wakes. Read after the append: if it is
        # asleep until _wake_at and this deadline is no earlier, it will see the entry in time.
        if deadline >= self._wake_at and len(inbox) < _DRAIN_AT:
            return
        with self._cond:
            if self._closed:
                inbox.clear()
            elif self._thread is None:
                self._start_thread()
            else:
                self._cond.notify()

    def _take_inbox(self) -> None:
        """Move armed deadlines into the heap, skipping completed futures (timer thread)."""
        inbox, deadlines, seq = self._inbox, self._deadlines, self._seq
        while inbox:
            future = inbox.popleft()
            deadline = future._deadline
            if deadline is not None and not future.done():
                heapq.heappush(deadlines, (deadline, next(seq), future))
        if len(deadlines) >= self._compact_at:
            kept = [entry for entry in deadlines if not entry[2].done()]
            heapq.heapify(kept)
            deadlines[:] = kept
            self._compact_at = max(_COMPACT_MIN, 2 * len(kept))

    def _start_thread(self) -> None:
        self._thread = self._runtime.threads.new(self._run, "timers", ())
        self._thread.start()

    def pending(self) -> int:
        """Timers waiting to fire (cancelled ones are dropped lazily)."""
        with self._cond:
            return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def _run(self) -> None:
        _current.never_block = True  # a full BLOCK mailbox must not stall every timer
        clock = self._clock
        heap, deadlines = self._heap, self._deadlines
        while True:
            timer: Timer | None = None
            expired: list[Future[Any]] = []
            with self._cond:
                while True:
                    self._wake_at = math.inf  # awake: every expire() notifies (it can't miss)
                    if self._closed:
                        return
                    self._take_inbox()
                    now = time.monotonic()
                    while deadlines and deadlines[0][0] <= now + _EPSILON:
                        future = heapq.heappop(deadlines)[2]
                        if not future.done():
                            expired.append(future)
                    while heap and heap[0][2].cancelled:
                        heapq.heappop(heap)
                    wait: float | None = None
                    if heap:
                        delay = heap[0][0] - clock.monotonic()
                        if delay <= _EPSILON:
                            timer = heapq.heappop(heap)[2]
                        else:
                            wait = clock.real_timeout(delay)
                    if expired or timer is not None:
                        break
                    if deadlines:
                        until = deadlines[0][0] - now
                        wait = until if wait is None else min(wait, until)
                    if wait is not None:
                        wait = min(wait, _MAX_WAIT)
                        self._wake_at = now + wait
                    else:
                        self._wake_at = math.inf
                    self._cond.wait(wait)
            for future in expired:
                future._expire()
            if timer is not None:
                self._fire(timer)

    def _fire(self, timer: Timer) -> None:
        if timer.cancelled:
            return
        timer.fired += 1
        try:
            timer.action()
        except RegimentError as exc:
            logger.warning("timer {!r} could not deliver: {}", timer, exc)
        except Exception:  # noqa: BLE001 - a timer must not kill the timer thread
            logger.opt(exception=True).error("timer {!r} raised", timer)
        if timer.interval is None or timer.cancelled:
            timer._done()
            return
        # From the first due time, not by repeated addition, so it never drifts.
        timer.due = timer.first_due + timer.fired * timer.interval
        with self._cond:
            if not self._closed:
                heapq.heappush(self._heap, (timer.due, next(self._seq), timer))

    def close(self, timeout: float) -> None:
        """Cancel everything and stop the thread (joined up to ``timeout``)."""
        with self._cond:
            self._closed = True
            timers = [timer for _, _, timer in self._heap]
            self._heap.clear()
            self._deadlines.clear()
            self._inbox.clear()
            self._wake_at = math.inf
            self._cond.notify_all()
        for timer in timers:
            timer.cancel()
        self._unsubscribe()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
