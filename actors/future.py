"""Futures for replies: pykka-compatible, with callbacks and a non-blocking ``await``.

`Future` subclasses `pykka.Future`, so ``get(timeout=...)``, ``map``, ``join`` and
``pykka.get_all`` work as pykka users expect. It adds what pykka's futures lack (see
``shared/pykka-notes.md`` part d): ``done()``, ``add_done_callback()``, an optional deadline
after which ``get()`` raises `AskTimeout`, an ``await`` that suspends the coroutine instead
of blocking the event loop's thread, and ``as_concurrent()`` for `concurrent.futures.wait` and
`concurrent.futures.as_completed`.

Promises it keeps:

- **Deadlines.** An ask's future fails with `AskTimeout` at its deadline (real time): the
  system's timer thread fails it (``TimerService.expire``, armed by ``Router.ask``), and so
  does any ``get()`` that reaches the deadline first. Callbacks and ``await`` see the timeout;
  a reply arriving later is dropped (`resolve` returns False).
- **Callbacks run where they were added.** A callback added in an agent's thread runs in that
  agent's thread, between its messages, with the envelope that was being handled when it was
  added as the current one: sends from it carry the agent as sender, the conversation's
  correlation id and the causation. It is delivered through the agent's control lane, never
  run re-entrantly, and never in the replier's thread. Elsewhere a callback runs in the
  completing thread.

It is cheaper than `pykka.ThreadingFuture`: no `threading.Condition` is built per future; a
waiter allocates one lock only when it actually has to wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pykka
from loguru import logger

from actors._local import state as _current
from actors.errors import AskCycle, AskTimeout

if TYPE_CHECKING:
    from types import TracebackType

    from actors._slot import Slot
    from actors.envelope import Envelope

__all__ = ["Future"]

T = TypeVar("T")


class _Pending:
    __slots__ = ()


_PENDING: Any = _Pending()


class Future(pykka.Future[T]):
    """The eventual reply to an ask.

    Any thread may wait on it; it is completed once: by the replying agent's thread, or with
    `AskTimeout` at its deadline.

    Args:
        timeout: seconds after creation after which the future fails with `AskTimeout`. For an
            ask the system's timer thread enforces it; a future built by hand enforces it only
            when ``get()`` reaches it. None: no deadline of its own.
        what: whom the reply is expected from (an address, a description), named in the
            timeout's message; formatted only if it is needed.
    """

    # Set by the agent that takes the ask (the handler started) and by `Request.cancel`; a
    # plain future keeps the class defaults.
    started = False
    cancelled = False
    abandoned = False  # a Request nobody waits for any more (cancelled or expired)
    sent_id: str | int | None = None  # the id of the envelope that carried the ask
    target: Slot | None = None  # the agent the ask went to (set by the router): see AskCycle

    def __init__(self, *, timeout: float | None = None, what: object = "the future") -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._value: Any = _PENDING
        self._error: BaseException | None = None
        self._waiters: list[threading.Lock] | None = None
        self._callbacks: list[Callable[[Future[T]], object]] | None = None
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._what = what

    def start(self) -> bool:
        """Called by the agent that takes the ask, before its handler runs.

        Returns:
            False if the ask must be skipped (a `actors.Request` cancelled or expired before
            it started); a plain future always starts.
        """
        self.started = True
        return True

    def __repr__(self) -> str:
        state = "pending" if self._value is _PENDING else "done"
        return f"<actors.Future from {self._what} {state}>"

    # -- completing (the replying side) -------------------------------------------------------

    def _complete(self, value: Any, error: BaseException | None) -> bool:
        with self._lock:
            if self._value is not _PENDING:
                return False
            self._value = value
            self._error = error
            waiters, self._waiters = self._waiters, None
            callbacks, self._callbacks = self._callbacks, None
        if waiters:
            for waiter in waiters:
                waiter.release()
        if callbacks:
            for callback in callbacks:
                self._run_callback(callback)
        return True

    def resolve(self, value: T) -> bool:
        """Complete with a value; returns False (and changes nothing) if already complete."""
        return self._complete(value, None)

    def fail(self, error: BaseException) -> bool:
        """Complete with an exception; returns False (and changes nothing) if already complete."""
        return self._complete(None, error)

    def set(self, value: T | None = None) -> None:
        """Complete with a value (pykka API).

        Raises:
            queue.Full: if the future is already complete, as pykka does.
        """
        if self._get_hook is not None or not self._complete(value, None):
            raise queue.Full

    def set_exception(
        self,
        exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
        | None = None,
    ) -> None:
        """Complete with an exception, given as ``sys.exc_info()`` (pykka API).

        Raises:
            queue.Full: if the future is already complete, as pykka does.
        """
        exc_type, exc_value, _ = exc_info if exc_info is not None else sys.exc_info()
        if exc_value is None:
            exc_value = exc_type() if exc_type is not None else RuntimeError("unknown error")
        if self._get_hook is not None or not self._complete(None, exc_value):
            raise queue.Full

    # -- observing (the asking side) ----------------------------------------------------------

    def done(self) -> bool:
        """Return True once the future holds a value or an exception."""
        return self._value is not _PENDING

    def get(self, *, timeout: float | None = None) -> T:
        """Wait for the reply and return it, or raise the error it carries.

        Args:
            timeout: seconds to wait at most; the future's own deadline (from the ask's
                timeout) also applies. None with no deadline waits until completion.

        Raises:
            AskTimeout: if no reply arrived in time.
            AskCycle: at once, if called in a handler on an ask's future and waiting would
                close a cycle of agents blocked in asks on each other (the future fails with
                it too).
            Exception: the error the reply carries (`AgentFailed`, `UnknownAddress`, ...).
        """
        if self._get_hook is not None:
            return super().get(timeout=timeout)
        if self._value is _PENDING:
            self._wait(timeout)
        if self._error is not None:
            raise self._error
        return cast("T", self._value)

    def result(self, timeout: float | None = None) -> T:
        """Same as `get` (``concurrent.futures`` spelling)."""
        return self.get(timeout=timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait like `get`, then return the carried exception, or None after a value.

        A future that failed at its own deadline returns its `AskTimeout`.

        Raises:
            AskTimeout: if ``timeout`` passed before the future completed.
        """
        if self._value is _PENDING:
            self._wait(timeout)
        return self._error

    def add_done_callback(self, callback: Callable[[Future[T]], object]) -> None:
        """Call ``callback(future)`` once the future completes.

        Completing means a value, an error, or `AskTimeout` at the future's deadline. Which
        thread runs the callback:

        - **Added inside an agent** (a handler, ``on_start``, another callback): that agent's
          own thread, between two messages, delivered through its control lane like Akka's
          ``pipeToSelf``, also if the future is already complete (never re-entrantly). While
          it runs, the envelope being handled when it was added is the current one, so its
          sends carry this agent as sender, the conversation's correlation id and causation.
          An exception it raises is a failure of the agent, as a handler's would be. If the
          agent restarted meanwhile, the callback is not run on the new instance; if it has
          stopped, it is dropped. Both are logged as warnings.
        - **Added elsewhere**: the thread that completes the future (the replier's, or the
          timer thread at the deadline), or at once in the caller's thread if the future is
          already complete. Keep it short and non-blocking; an exception it raises is logged
          and otherwise ignored.
        """
        slot = _current.slot
        if slot is not None:
            item = _AgentCallback(callback, self, slot, slot.incarnation, slot.current)
            self._on_done(item.post)
            return
        self._on_done(callback)

    def _on_done(self, callback: Callable[[Future[T]], object]) -> None:
        """Run ``callback(self)`` in the completing thread (or now, if already complete)."""
        with self._lock:
            if self._value is _PENDING:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
                return
        self._run_callback(callback)

    def _expire(self) -> None:
        """Fail with `AskTimeout` unless already complete: the deadline has passed."""
        if self._value is _PENDING:
            timeout = self._timeout if self._timeout is not None else 0.0
            msg = f"no reply from {self._what!s} within {timeout:g}s"
            self._complete(None, AskTimeout(msg, timeout))

    def _run_callback(self, callback: Callable[[Future[T]], object]) -> None:
        try:
            callback(self)
        except Exception:  # noqa: BLE001 - a callback must not break the completing thread
            logger.opt(exception=True).error("future callback {!r} raised", callback)

    def _wait(self, timeout: float | None) -> None:
        limit, own_deadline = timeout, False
        if self._deadline is not None:
            remaining = max(0.0, self._deadline - time.monotonic())
            if limit is None or remaining < limit:
                limit, own_deadline = remaining, True
        waiter = threading.Lock()
        waiter.acquire()
        with self._lock:
            if self._value is not _PENDING:
                return
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
        slot = _current.slot  # a handler blocked here reads as WAITING meanwhile
        if slot is not None:
            if self.target is not None:  # a blocking ask: it must not close a cycle
                cycle = _closes_cycle(slot, self)
                if cycle is not None and self.fail(cycle):
                    slot.blocked_on = None
                    raise cycle
                # (completed meanwhile: the wait below returns at once)
            slot.waiting += 1
        try:
            got = waiter.acquire(timeout=-1 if limit is None else limit)
        finally:
            if slot is not None:
                slot.waiting -= 1
                slot.blocked_on = None
        if got:
            return
        if own_deadline:
            self._expire()  # the future's own deadline passed: it fails for everyone
            return
        with self._lock:
            if self._value is not _PENDING:
                return
            if self._waiters is not None:
                self._waiters.remove(waiter)
        msg = f"no reply from {self._what!s} within {timeout:g}s"
        raise AskTimeout(msg, timeout)

    # -- asyncio ----------------------------------------------------------------------------

    def as_asyncio(self) -> asyncio.Future[T]:
        """Return an asyncio future, bound to the running loop, that completes with this one.

        Raises:
            RuntimeError: if called outside a running event loop.
        """
        loop = asyncio.get_running_loop()
        target: asyncio.Future[T] = loop.create_future()

        def transfer(_: Future[T]) -> None:
            # RuntimeError: the loop closed meanwhile, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_copy_into, self, target)

        self._on_done(transfer)  # the loop's thread may be an agent's: never via its mailbox
        return target

    def as_concurrent(self) -> concurrent.futures.Future[T]:
        """Return a `concurrent.futures.Future` that completes with this one.

        Use it to wait for many futures at once with the standard library::

            pending = [ref.ask_future(Ping(), timeout=2).as_concurrent() for ref in refs]
            for done in concurrent.futures.as_completed(pending, timeout=3):
                print(done.result())

        It is already running (``cancel()`` returns False). Callbacks added to it run in the
        completing thread, as ``concurrent.futures`` defines; to have one run in an agent's own
        thread, add it to this future instead.
        """
        target: concurrent.futures.Future[T] = concurrent.futures.Future()
        target.set_running_or_notify_cancel()

        def transfer(_: Future[T]) -> None:
            if self._error is not None:
                target.set_exception(self._error)
            else:
                target.set_result(self._value)

        self._on_done(transfer)
        return target

    async def wait_async(self, timeout: float | None = None) -> T:
        """Await the reply for at most ``timeout`` seconds without blocking the event loop.

        Raises:
            AskTimeout: if it did not complete in time.
            Exception: the error the reply carries.
        """
        try:
            return await asyncio.wait_for(self.as_asyncio(), timeout)
        except TimeoutError as exc:
            if isinstance(exc, AskTimeout):
                raise
            msg = f"no reply from {self._what} within {timeout:g}s"
            raise AskTimeout(msg, timeout) from None

    def __await__(self) -> Generator[Any, None, T]:
        """Suspend the awaiting coroutine (never the loop's thread) until completion."""
        return self.as_asyncio().__await__()

    __iter__ = __await__


def _copy_into(source: Future[T], target: asyncio.Future[T]) -> None:
    if target.done():
        return
    if source._error is not None:
        target.set_exception(source._error)
    else:
        target.set_result(source._value)


@dataclass(frozen=True, slots=True)
class _AgentCallback:
    """A control item: run a callback added inside an agent in that agent's thread.

    ``post`` runs in the completing thread and puts the item in the agent's control lane;
    ``AgentActor._on_control`` runs it there (see `Future.add_done_callback`).
    """

    callback: Callable[[Future[Any]], object]
    future: Future[Any]
    slot: Slot
    incarnation: int  # the incarnation that added it; a restart makes the callback stale
    envelope: Envelope | None  # the envelope being handled when it was added

    def post(self, _: Future[Any]) -> None:
        if not self.slot.mailbox.put_control(self):
            self.slot.log.warning(
                "{} {!r} has stopped; future callback {!r} dropped",
                self.slot.kind,
                self.slot.name,
                self.callback,
            )


def _closes_cycle(slot: Slot, future: Future[Any]) -> AskCycle | None:
    """Mark ``slot`` blocked on ``future`` (an ask); the `AskCycle` to raise if that closes a cycle.

    The edge is set before the chain is read, so of two agents asking each other at the same
    moment at least one sees the other's edge (both may: then both fail). An edge whose future
    is done is no edge: its agent is about to wake up.
    """
    slot.blocked_on = future
    target = future.target
    assert target is not None
    cycle = [slot.name]
    seen: set[int] = set()
    step: Slot | None = target
    while step is not None and id(step) not in seen:
        cycle.append(step.name)
        if step is slot:
            path = " -> ".join(cycle)
            return AskCycle(
                f"agent {slot.name!r} asked {target.name!r}, closing a cycle of blocking asks "
                f"({path}): none of them could ever answer",
                tuple(cycle),
            )
        seen.add(id(step))
        edge = step.blocked_on
        step = None if edge is None or edge.done() else edge.target
    return None  # the chain ends (or loops without this agent): no cycle through it
