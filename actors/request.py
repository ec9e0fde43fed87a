"""Request handles and deferred replies: an ask as an object that can be watched and cancelled.

`AgentRef.request` / `ActorSystem.request` send an ask and return a `Request`: a `Future` that
also says where the work is (`status`: pending, running, done, failed, cancelled, expired) and
can be cancelled. A cancelled request that has not started is skipped by the agent
(dead-lettered ``cancelled``); one that is running sees ``self.context.cancelled`` become True,
and ``self.check_cancelled()`` raises `Cancelled` inside the handler, so long work can stop
cooperatively.

Inside a handler for an ask, ``token = self.defer()`` keeps the ask open after the handler
returns (its return value is then ignored); later, from a later message, a callback or any
thread, ``token.reply(message)`` or ``token.fail(error)`` answers it. The asker's timeout
still applies: a reply after it is dropped and counted (``late_replies`` in
`ActorSystem.metrics`).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from actors.envelope import Envelope, _format_id
from actors.errors import AskTimeout, Cancelled
from actors.events import DeadLetterReason
from actors.future import _PENDING, Future
from actors.messages import Kind

if TYPE_CHECKING:
    from actors._slot import Slot

__all__ = ["ReplyToken", "Request", "RequestStatus"]

T = TypeVar("T")


class RequestStatus(enum.StrEnum):
    """Where a `Request` is."""

    PENDING = "pending"  # sent, not taken by the agent yet
    RUNNING = "running"  # the agent took it (its handler runs, or deferred its reply)
    DONE = "done"  # answered with a value
    FAILED = "failed"  # answered with an error (the handler raised, it was undeliverable, ...)
    CANCELLED = "cancelled"  # cancelled before it was answered
    EXPIRED = "expired"  # no answer within its timeout


class Request(Future[T]):
    """A sent ask that can be awaited, cancelled, and asked where it is; thread-safe.

    It is a `Future`: ``result(timeout)``, ``get(timeout=)``, ``done()``, ``await request``,
    callbacks. Plus `status` and `cancel`.

    A request answered (cancelled, expired) before its agent took it will never run: the
    agent skips it. One that started is *settled* once its agent is done with it (the handler
    returned or raised, or a deferred reply came), even if it was answered before (a
    timeout, a cancel): `actors.Gather` counts work in flight until then.
    """

    def __init__(self, *, timeout: float | None = None, what: object = "the request") -> None:
        super().__init__(timeout=timeout, what=what)
        self._settled = False
        self._on_settle: list[Callable[[Request[T]], object]] | None = None  # made on first use
        self._listener: Callable[[Request[T], bool, bool], object] | None = None
        self.tag = 0  # the listener's own mark (a gather's item index)

    @property
    def envelope_id(self) -> str | None:
        """The id of the envelope that carried the request (None before it was sent)."""
        sent = self.sent_id
        return _format_id(sent) if isinstance(sent, int) else sent

    @property
    def cancelled(self) -> bool:  # type: ignore[override]
        """True once it was cancelled (the agent reads it: ``context.cancelled``)."""
        return isinstance(self._error, Cancelled)

    @property
    def abandoned(self) -> bool:  # type: ignore[override]
        """True once nobody waits for its answer: cancelled, or expired (its timeout passed).

        What the agent reads: ``context.cancelled`` and ``check_cancelled()``, so long work
        stops when its asker gave up, however it gave up.
        """
        return isinstance(self._error, Cancelled | AskTimeout)

    def status(self) -> RequestStatus:
        """Where the request is now (a snapshot)."""
        if not self.done():
            return RequestStatus.RUNNING if self.started else RequestStatus.PENDING
        error = self._error
        if error is None:
            return RequestStatus.DONE
        if isinstance(error, Cancelled):
            return RequestStatus.CANCELLED
        if isinstance(error, AskTimeout):
            return RequestStatus.EXPIRED
        return RequestStatus.FAILED

    def cancel(self) -> bool:
        """Cancel it: it fails with `Cancelled` now; the agent skips or is asked to stop it.

        Returns:
            False if it was already answered (nothing changes then).
        """
        name = self.envelope_id or "(not sent)"
        error = Cancelled(f"request {name} was cancelled", self.envelope_id)
        return self._finish(None, error, outside=True)

    def start(self) -> bool:
        """The agent takes it: False (skip it) if it was answered before it started."""
        with self._lock:
            if self._value is not _PENDING:
                return False
            self.started = True
            return True

    def _expire(self) -> None:
        if not self.done():  # the deadline passed: not the agent's doing
            timeout = self._timeout if self._timeout is not None else 0.0
            error = AskTimeout(f"no reply from {self._what!s} within {timeout:g}s", timeout)
            self._finish(None, error, outside=True)

    def _complete(self, value: Any, error: BaseException | None) -> bool:
        return self._finish(value, error, outside=False)

    def _finish(self, value: Any, error: BaseException | None, *, outside: bool) -> bool:
        """Complete (once), and settle: see the class docstring. One lock section for both.

        ``outside``: a cancel or a timeout, not the agent answering: it settles the request
        only if the agent had not started it (the agent then skips it).
        """
        waiters = callbacks = settle_callbacks = None
        with self._lock:
            completed = self._value is _PENDING
            if completed:
                self._value = value
                self._error = error
                waiters, self._waiters = self._waiters, None
                callbacks, self._callbacks = self._callbacks, None
            if self.started:
                settles = not outside and not self._settled
            else:
                settles = completed and not self._settled
            if settles:
                self._settled = True
                settle_callbacks, self._on_settle = self._on_settle, None
            listener = self._listener
        if waiters:
            for waiter in waiters:
                waiter.release()
        if callbacks:
            for callback in callbacks:
                self._run_callback(callback)
        if listener is not None and (completed or settles):
            try:
                listener(self, completed, settles)
            except Exception:  # noqa: BLE001 - must not break the completing thread
                logger.opt(exception=True).error("request listener {!r} raised", listener)
        if settle_callbacks:
            for settled in settle_callbacks:
                self._run_callback(settled)  # type: ignore[arg-type]
        return completed

    def listen(self, listener: Callable[[Request[T], bool, bool], object]) -> None:
        """Call ``listener(request, answered, settled)`` when it is answered and when settled.

        One call per event, or one for both (at once, if they happened already); ``answered``
        may be reported twice, ``settled`` exactly once. For `actors.Gather`: one hook per
        request instead of two callbacks.
        """
        with self._lock:
            self._listener = listener
            answered = self._value is not _PENDING
            settled = self._settled
        if answered or settled:
            listener(self, answered, settled)

    def on_settled(self, callback: Callable[[Request[T]], object]) -> None:
        """Call ``callback(request)`` once its agent is done with it (see the class docstring).

        Runs in the settling thread (the agent's, or the one that cancelled it, or the timer
        thread), or at once if it has settled already. Keep it short.
        """
        with self._lock:
            if not self._settled:
                if self._on_settle is None:
                    self._on_settle = []
                self._on_settle.append(callback)
                return
        self._run_callback(callback)  # type: ignore[arg-type]


class ReplyToken:
    """The answer to a deferred ask, to give later from any thread (`AgentActor.defer`).

    Answers once: a second `reply` or `fail` returns False and changes nothing.
    """

    __slots__ = ("_answered", "_lock", "_slot", "envelope")

    def __init__(self, slot: Slot, envelope: Envelope) -> None:
        self._slot = slot
        self.envelope = envelope
        self._lock = threading.Lock()
        self._answered = False

    def __repr__(self) -> str:
        state = "answered" if self._answered else "open"
        return f"<ReplyToken for {self.envelope.id} of {self._slot.name!r} {state}>"

    def _claim(self) -> bool:
        with self._lock:
            if self._answered:
                return False
            self._answered = True
            return True

    @property
    def answered(self) -> bool:
        """True once `reply` or `fail` was called."""
        return self._answered

    def reply(self, message: Any) -> bool:
        """Answer the deferred request with ``message``.

        An ask's future gets it; a tell's answer is sent (kind ``response``, the request's
        correlation id) to its ``reply_to``, else to its sender.

        Returns:
            True if the answer reached the asker (or was sent); False if the token was already
            used, or the ask had timed out (then the late reply is dropped and counted).
        """
        if not self._claim():
            return False
        return answer(self._slot, self.envelope, message)

    def fail(self, error: BaseException) -> bool:
        """Answer the deferred ask with an error (its asker's future fails with it).

        Returns:
            False if the token was used already, the ask had timed out, or the request was a
            tell (a tell's sender has no future to fail: nothing is sent, a warning is logged).
        """
        if not self._claim():
            return False
        future = self.envelope.future
        if future is None:
            self._slot.log.warning(
                "a deferred reply to tell {} failed with {!r}; a tell has no asker to tell",
                self.envelope.id,
                error,
            )
            return False
        if future.fail(error):
            return True
        late(self._slot)
        return False


def answer(slot: Slot, request: Envelope, message: Any) -> bool:
    """Answer ``request`` (handled by ``slot``) with ``message``, from any thread.

    Returns:
        False if an ask's future was already complete (a late reply: dropped and counted).
    """
    future = request.future
    if future is not None:
        if future.resolve(message):
            return True
        late(slot)
        return False
    target: Any = request.reply_to
    if target is None and request.sender is not None:
        target = request.sender
    correlation = request.correlation_id or request.id
    if target is None:
        reply = Envelope(message, request.to, kind=Kind.RESPONSE, correlation_id=correlation)
        slot.runtime.dead_letters.record(
            reply, DeadLetterReason.UNKNOWN_ADDRESS, "the request has no sender or reply_to"
        )
        return True
    slot.runtime.router.tell(
        target,
        message,
        slot,
        kind=Kind.RESPONSE,
        correlation_id=correlation,
        causation_id=request.id,
        detached=True,  # maybe from another thread: take no ids from what the slot handles
    )
    return True


def late(slot: Slot) -> None:
    """Count a reply that came after its asker gave up."""
    next(slot.runtime.totals.late)
    slot.log.debug("{} {!r}: a late reply was dropped", slot.kind, slot.name)
