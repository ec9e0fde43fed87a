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
from typing import TYPE_CHECKING, Any, TypeVar

from actors.envelope import Envelope, _format_id
from actors.errors import AskTimeout, Cancelled
from actors.events import DeadLetterReason
from actors.future import Future
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
    """

    def __init__(self, *, timeout: float | None = None, what: object = "the request") -> None:
        super().__init__(timeout=timeout, what=what)

    @property
    def envelope_id(self) -> str | None:
        """The id of the envelope that carried the request (None before it was sent)."""
        sent = self.sent_id
        return _format_id(sent) if isinstance(sent, int) else sent

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
        self.cancelled = True  # read by the agent: skip it, or context.cancelled
        done = self.fail(Cancelled(f"request {self.envelope_id or ''} was cancelled".strip()))
        if not done:
            self.cancelled = self._error is not None and isinstance(self._error, Cancelled)
        return done


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
