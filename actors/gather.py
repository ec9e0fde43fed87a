"""Fan-out / fan-in: many asks to one address with bounded concurrency, joined as they finish.

``system.gather(messages, to="role:coder", max_in_flight=4, timeout=5.0, deadline=60.0)``
sends every message as a `Request` to ``to`` (a name or a role: with a role, each request goes
to whichever member the role's routing picks) with at most ``max_in_flight`` of them in the
agents at once, and returns a `Gather` handle at once:

- `Gather.results` waits for all of them and returns one `Outcome` per message, in submission
  order. Per-item errors, timeouts and cancellations are in their `Outcome` (``ok``,
  ``value``, ``error``, ``status``), never raised;
- `Gather.as_completed` and `Gather.next` (the seed's ``join_next``) hand them out as they
  finish; `Gather.partial` is what has finished so far, without waiting;
- `Gather.cancel` (the seed's ``abort_all``): messages not sent yet are never sent, requests
  queued but not started are skipped by their agents, running ones see
  ``self.context.cancelled`` (``self.check_cancelled()`` raises `Cancelled`).

**The bound holds inside the agents.** A place is taken when a request is sent and given back
when its agent is done with it (`Request.on_settled`), not merely when it is answered: a
request that timed out while its handler still runs keeps its place until the handler returns.

``timeout`` is per item (from its sending); ``deadline`` (seconds from the call) bounds the
whole gather: items not sent by then are not sent (``expired``), and items sent get at most the
time left. Replies feed the next sends from whichever thread completes a request, so nothing
blocks: an agent gathers with ``self.gather(...)`` and gets `GatherDone` in its mailbox when all
items are in; asyncio code awaits ``system.gather_async(...)``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import ConfigDict

from actors.errors import AskTimeout, Cancelled, InvalidConfig, RegimentError
from actors.future import Future
from actors.messages import Message
from actors.request import Request, RequestStatus

if TYPE_CHECKING:
    from actors._runtime import Runtime
    from actors._slot import Slot
    from actors.address import AddressLike

__all__ = ["Gather", "GatherDone", "Outcome"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message of a gather.

    Attributes:
        index: its position in the messages given to the gather.
        message: the message.
        status: `RequestStatus`: ``done``, ``failed``, ``expired`` or ``cancelled``.
        value: the reply (``done``), else None.
        error: the error (``failed``: the handler's `AgentFailed`, an undeliverable
            address...; ``expired``: `AskTimeout`; ``cancelled``: `Cancelled`), else None.
    """

    index: int
    message: Message
    status: RequestStatus
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True if the message was answered with a value."""
        return self.status is RequestStatus.DONE


class GatherDone(Message):
    """Delivered to an agent when the gather it started with ``self.gather(...)`` finished.

    Attributes:
        gather: the finished `Gather` (its ``results(0)`` returns at once).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    gather: Gather


class Gather:
    """The handle of a running fan-out; see the module docstring. Thread-safe."""

    def __init__(
        self,
        runtime: Runtime,
        to: AddressLike,
        messages: Iterable[Message],
        *,
        max_in_flight: int,
        timeout: float | None,
        deadline: float | None,
        sender: Slot | None,
    ) -> None:
        self._messages = list(messages)
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int):
            msg = f"max_in_flight must be an int >= 1, got {max_in_flight!r}"
            raise InvalidConfig(msg)
        if max_in_flight < 1:
            msg = f"max_in_flight must be >= 1, got {max_in_flight}"
            raise InvalidConfig(msg)
        for name, value in (("timeout", timeout), ("deadline", deadline)):
            if value is not None and not value > 0:
                msg = f"gather {name} must be > 0 seconds or None, got {value!r}"
                raise InvalidConfig(msg)
        self._runtime = runtime
        self._to = to
        self._sender = sender
        current = None if sender is None else sender.current
        self._correlation = None if current is None else current.correlation_id
        self._causation = None if current is None else current.id
        self.max_in_flight = max_in_flight
        # A reply frees a place; sending resumes once a quarter of the places are free.
        self._refill_at = max_in_flight - max(1, max_in_flight // 2)
        self._timeout = timeout
        self._deadline_at = None if deadline is None else time.monotonic() + deadline
        count = len(self._messages)
        # Per index: an Outcome, or the answered Request it is built from when read (building
        # it on every reply would cost a status() and an object per item), or None.
        self._outcomes: list[Outcome | Request[Any] | None] = [None] * count
        self._requests: list[Request[Any] | None] = [None] * count
        self._order: list[int] = []  # indexes in the order they finished
        self._handed = 0  # how many of _order next()/as_completed handed out
        self._next = 0  # the next index to send
        self._in_flight = 0
        self._cancelled = False
        self._pumping = False
        self._again = False
        # State changes take the plain lock (a C call); the condition (on the same lock) is
        # only for waiting, and only notified when a waiter's wait may be over.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiting_any = 0  # threads in next(): woken by every outcome
        self._waiting_all = 0  # threads in results(): woken by the last one only
        self._on_complete: list[Callable[[Gather], object]] = []
        self._marker: Future[None] | None = None

    def _begin(self) -> None:
        """Send the first messages (and arm the deadline)."""
        if self._deadline_at is not None:
            marker: Future[None] = Future(timeout=self._deadline_at - time.monotonic())
            self._marker = marker
            marker._on_done(lambda _: self._expire_unsent())
            self._runtime.timers.expire(marker, self._deadline_at)
        if not self._messages:
            self._completed()
            return
        self._kick()

    def __repr__(self) -> str:
        return (
            f"<Gather to {self._to!s}: {len(self._order)}/{len(self._messages)} finished, "
            f"{self._in_flight} in flight>"
        )

    def __len__(self) -> int:
        return len(self._messages)

    # -- sending ----------------------------------------------------------------------------

    def _kick(self) -> None:
        """Send while places are free; one thread at a time, the others just ask it to go on."""
        with self._lock:
            if self._pumping:
                self._again = True
                return
            self._pumping = True
        self._pump()

    def _pump(self) -> None:
        """The sending loop of the thread that holds ``_pumping``."""
        while True:
            self._send_some()
            with self._lock:
                if not self._again:
                    self._pumping = False
                    return
                self._again = False

    def _send_some(self) -> None:
        while True:
            with self._lock:
                if self._cancelled or self._next >= len(self._messages):
                    return
                if self._in_flight >= self.max_in_flight:
                    return
                wait = self._timeout
                if self._deadline_at is not None:
                    left = self._deadline_at - time.monotonic()
                    if left <= 0:
                        break  # the unsent ones expire (outside the lock)
                    wait = left if wait is None else min(wait, left)
                index = self._next
                self._next += 1
                self._in_flight += 1
            self._send(index, wait)
        self._expire_unsent()

    def _send(self, index: int, wait: float | None) -> None:
        message = self._messages[index]
        try:
            request: Request[Any] = self._runtime.router.request(
                self._to,
                message,
                self._sender,
                timeout=wait,
                correlation_id=self._correlation,
                causation_id=self._causation,
                detached=True,
            )
        except RegimentError as exc:  # undeliverable (and dead-lettered): this item failed
            with self._lock:
                self._in_flight -= 1
            self._record(index, Outcome(index, message, RequestStatus.FAILED, error=exc))
            return
        self._requests[index] = request  # a list slot: cancel() reads it after _cancelled
        request.tag = index
        request.listen(self._event)
        if self._cancelled:  # cancel() ran while this one was being sent
            request.cancel()

    def _event(self, request: Request[Any], answered: bool, settled: bool) -> None:
        """A request was answered, and/or its agent is done with it (its place is free)."""
        index = request.tag
        complete = pump = False
        with self._lock:
            if answered and self._outcomes[index] is None:
                self._outcomes[index] = request
                self._order.append(index)
                complete = len(self._order) == len(self._messages)
                if self._waiting_any or (complete and self._waiting_all):
                    self._cond.notify_all()
            if settled:
                self._in_flight -= 1
                # Refill in batches (fewer wake-ups than a send per reply), by one thread.
                if self._in_flight <= self._refill_at:
                    if self._pumping:
                        self._again = True
                    else:
                        self._pumping = pump = True
        if complete:
            self._completed()
        if pump:
            self._pump()

    def _record(self, index: int, outcome: Outcome | Request[Any]) -> None:
        with self._lock:
            if self._outcomes[index] is not None:
                return
            self._outcomes[index] = outcome
            self._order.append(index)
            complete = len(self._order) == len(self._messages)
            if self._waiting_any or (complete and self._waiting_all):
                self._cond.notify_all()
        if complete:
            self._completed()

    def _outcome(self, index: int) -> Outcome | None:
        """The `Outcome` of item ``index`` (built from its request), or None if not in yet."""
        found = self._outcomes[index]
        if found is None or isinstance(found, Outcome):
            return found
        error = found._error
        value = None if error is not None else found._value
        return Outcome(index, self._messages[index], found.status(), value, error)

    def _expire_unsent(self) -> None:
        """The deadline passed: what was not sent never will be."""
        with self._lock:
            unsent = range(self._next, len(self._messages))
            self._next = len(self._messages)
        for index in unsent:
            error = AskTimeout("the gather's deadline passed before it was sent", None)
            outcome = Outcome(index, self._messages[index], RequestStatus.EXPIRED, None, error)
            self._record(index, outcome)

    def _completed(self) -> None:
        if self._marker is not None:
            self._marker.resolve(None)  # its deadline no longer matters
        with self._lock:
            callbacks, self._on_complete = self._on_complete, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:  # noqa: BLE001 - a callback must not break the completing thread
                logger.opt(exception=True).error("gather callback {!r} raised", callback)

    # -- reading ----------------------------------------------------------------------------

    def done(self) -> bool:
        """True once every message has its `Outcome`."""
        return len(self._order) == len(self._messages)

    def requests(self) -> list[Request[Any] | None]:
        """The `Request` of each message, in submission order (None: not sent, or refused)."""
        with self._lock:
            return list(self._requests)

    @property
    def in_flight(self) -> int:
        """Requests sent whose agents are not done with them yet."""
        return self._in_flight

    def results(self, timeout: float) -> list[Outcome]:
        """Wait for every outcome; return them in submission order.

        Raises:
            AskTimeout: if they were not all in within ``timeout`` seconds (`partial` has
                what was).
        """
        with self._lock:
            if not self._wait_for(self.done, timeout, every=False):
                msg = f"{self!r}: not finished within {timeout:g}s"
                raise AskTimeout(msg, timeout)
            found = [self._outcome(index) for index in range(len(self._messages))]
        return [outcome for outcome in found if outcome is not None]

    def _wait_for(self, predicate: Callable[[], bool], timeout: float, *, every: bool) -> bool:
        """`Condition.wait_for` with ``self._lock`` held; ``every``: wake on every outcome.

        A waiter for all of them is woken only by the last one: a thread woken per reply
        would cost a hand-over of the GIL per item.
        """
        if predicate():
            return True
        if every:
            self._waiting_any += 1
        else:
            self._waiting_all += 1
        try:
            return self._cond.wait_for(predicate, timeout)
        finally:
            if every:
                self._waiting_any -= 1
            else:
                self._waiting_all -= 1

    def partial(self) -> list[Outcome]:
        """The outcomes finished so far, in submission order, without waiting."""
        with self._lock:
            found = [self._outcome(index) for index in range(len(self._messages))]
        return [outcome for outcome in found if outcome is not None]

    def next(self, timeout: float) -> Outcome | None:
        """The next outcome to finish that was not handed out yet (the seed's ``join_next``).

        Returns:
            None once every outcome has been handed out (by `next` or `as_completed`).

        Raises:
            AskTimeout: if none finished within ``timeout`` seconds.
        """
        total = len(self._messages)
        with self._lock:
            ready = lambda: self._handed < len(self._order) or self._handed >= total  # noqa: E731
            if not self._wait_for(ready, timeout, every=True):
                msg = f"{self!r}: no outcome within {timeout:g}s"
                raise AskTimeout(msg, timeout)
            if self._handed >= total:
                return None
            index = self._order[self._handed]
            self._handed += 1
        outcome = self._outcome(index)
        assert outcome is not None
        return outcome

    def as_completed(self, timeout: float) -> Iterator[Outcome]:
        """Yield the outcomes not handed out yet, as they finish, within ``timeout`` in all.

        Raises:
            AskTimeout: if they were not all in within ``timeout`` seconds.
        """
        end = time.monotonic() + timeout
        while True:
            outcome = self.next(max(0.0, end - time.monotonic()))
            if outcome is None:
                return
            yield outcome

    def cancel(self) -> None:
        """Stop the gather: unsent messages are never sent, sent ones are cancelled.

        A request still queued is skipped by its agent; a running one sees
        ``self.context.cancelled``. Their outcomes are ``cancelled`` (unless answered first).
        """
        with self._lock:
            self._cancelled = True
            unsent = range(self._next, len(self._messages))
            self._next = len(self._messages)
            requests = [request for request in self._requests if request is not None]
        for index in unsent:
            error = Cancelled("the gather was cancelled before it was sent")
            outcome = Outcome(index, self._messages[index], RequestStatus.CANCELLED, None, error)
            self._record(index, outcome)
        for request in requests:
            request.cancel()

    def on_complete(self, callback: Callable[[Gather], object]) -> None:
        """Call ``callback(gather)`` once every outcome is in (at once if they are).

        Runs in the thread that completes the last item; keep it short.
        """
        with self._lock:
            if not self.done():
                self._on_complete.append(callback)
                return
        callback(self)

    async def wait_async(self, timeout: float | None = None) -> list[Outcome]:
        """`results` for asyncio: suspends the coroutine, never the event loop.

        Raises:
            AskTimeout: if they were not all in within ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()

        def finish() -> None:
            if not waiter.done():
                waiter.set_result(None)

        def wake(_: Gather) -> None:
            loop.call_soon_threadsafe(finish)

        self.on_complete(wake)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            msg = f"{self!r}: not finished within {timeout:g}s"
            raise AskTimeout(msg, timeout) from None
        return self.partial()


def start_gather(
    runtime: Runtime,
    to: AddressLike,
    messages: Iterable[Message],
    *,
    max_in_flight: int,
    timeout: float | None,
    deadline: float | None,
    sender: Slot | None,
) -> Gather:
    """Build a `Gather` and send its first messages (what ``gather`` methods call)."""
    gather = Gather(
        runtime,
        to,
        messages,
        max_in_flight=max_in_flight,
        timeout=timeout,
        deadline=deadline,
        sender=sender,
    )
    gather._begin()
    return gather


GatherDone.model_rebuild()  # its field's type, Gather, is defined after it
