"""The queue behind an `actors.inbox.Inbox`: a mailbox that plain threads read.

An agent's mailbox has one consumer, its incarnation's thread, and is built so that producer
and consumer share no lock (`actors._mailboxes`). An inbox is read by whoever holds the
`Inbox`: any number of plain threads and event loops, with timeouts, and it must also show
what is pending without taking it (``peek``). So `InboxQueue` is the plain design: a `deque`
under one lock, with two conditions on that lock (``_not_empty`` for readers, ``_not_full``
for senders waiting on a bounded inbox) and a list of wake-up callbacks for coroutines
waiting in ``get_async``. An inbox is not on the hot path of agent-to-agent traffic, and the
lock makes ``peek``, ``drain`` and the size exact.

To the runtime it is a `MailboxQueue` like any other: the router puts envelopes into it, and
``close(reason)`` dead-letters what is queued and everything put afterwards. It has no control
lane (an inbox runs no incarnation that could take stop orders or calls): ``put_control``
queues envelopes (the `Terminated` notices of the inbox's watches) past any bound and refuses
anything else. Capacity and overflow reuse `actors._mailboxes._Bounded`, so a bounded inbox
behaves exactly like a bounded mailbox (``BLOCK``/``FAIL``/``DROP_NEWEST``/``DROP_OLDEST``,
dead letters with reason ``mailbox_full``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors._mailboxes import CLOSED, Overflow, _Bounded
from actors.envelope import Envelope
from actors.mailbox import Mailbox

if TYPE_CHECKING:
    from actors._mailboxes import MailboxQueue, Reject

__all__ = ["InboxMailbox", "InboxQueue"]

Waker = Callable[[], None]
_END: object = CLOSED  # what a reader gets from a closed inbox


class InboxQueue(_Bounded):
    """A thread-safe FIFO of envelopes for plain readers; see the module docstring.

    Every method may be called from any thread.
    """

    __slots__ = (
        "_blocked",
        "_items",
        "_not_empty",
        "_not_full",
        "_plock",
        "_reject",
        "_wakers",
        "block_timeout",
        "capacity",
        "close_reason",
        "closed",
        "consumer",
        "overflow",
        "owner",
        "stride",
        "total",
    )

    def __init__(
        self,
        owner: str,
        reject: Reject,
        *,
        capacity: int | None,
        overflow: Overflow,
        block_timeout: float,
    ) -> None:
        self.owner = owner
        self.capacity = capacity
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.closed = False
        self.close_reason = "stopped"
        self.consumer: int | None = None  # no consumer thread: any sender may wait for room
        self.stride = 0  # (MailboxQueue) no incarnation times anything here
        self.total = 0  # envelopes ever accepted
        self._reject = reject
        self._items: deque[Envelope] = deque()
        self._plock = threading.Lock()  # guards everything below and above
        self._not_empty = threading.Condition(self._plock)
        self._not_full = threading.Condition(self._plock)
        self._blocked = 0  # senders waiting on _not_full
        self._wakers: list[Waker] = []  # coroutines waiting in get_async

    # -- the runtime's side (MailboxQueue) ----------------------------------------------------

    def put(self, envelope: Envelope) -> bool:
        """Queue an envelope; False if it was refused or dropped (it went to ``reject``).

        Raises:
            MailboxFull: for a full bounded inbox with `Overflow.FAIL`, or `Overflow.BLOCK`
                after ``block_timeout``.
        """
        if self.capacity is not None:
            return self._bounded_put(envelope)
        with self._plock:
            if not self.closed:
                self._enqueue(envelope)
                return True
        self._reject([envelope], self.close_reason)
        return False

    def put_control(self, item: object) -> bool:
        """Queue an envelope (a `Terminated` notice of a watch) past any bound; refuse the rest.

        An inbox has no incarnation to take stop orders or calls, so only envelopes are kept;
        False once closed.
        """
        if type(item) is not Envelope:
            return False
        with self._plock:
            if self.closed:
                return False
            self._enqueue(item)
            return True

    def get(self) -> object:
        """The next envelope, waiting without bound; `CLOSED` once closed (runtime protocol).

        Readers use `take`, which takes a timeout; nothing in the runtime calls this.
        """
        while True:
            item = self.take(3600.0)
            if item is not None:
                return item

    def get_control(self, timeout: float) -> object | None:
        """None at once: there is no control lane (`CLOSED` once closed)."""
        return _END if self.closed else None

    def qsize(self) -> int:
        """Envelopes pending (exact)."""
        return len(self._items)

    def close(self, reason: str = "stopped") -> None:
        """Refuse everything from now on, reject what is queued, wake every reader and sender."""
        with self._plock:
            if self.closed:
                return
            self.closed = True
            self.close_reason = reason
            items = self._take_all()
            self._not_empty.notify_all()
            wakers = self._take_wakers()
        if items:
            self._reject(items, reason)
        for wake in wakers:
            wake()

    def discard(self, reason: str) -> int:
        """Reject every pending envelope with ``reason``; returns how many."""
        with self._plock:
            items = self._take_all()
        if items:
            self._reject(items, reason)
        return len(items)

    # -- _Bounded's hooks (producers' lock held) ----------------------------------------------

    def _enqueue(self, envelope: Envelope) -> None:
        self._items.append(envelope)
        self.total += 1
        self._not_empty.notify()
        if self._wakers:
            for wake in self._take_wakers():
                wake()  # only schedules a callback in the waiting loop: safe under the lock

    def _pop_oldest(self) -> Envelope | None:
        items = self._items
        return items.popleft() if items else None

    # -- the readers' side --------------------------------------------------------------------

    def take(self, timeout: float) -> object | None:
        """Wait up to ``timeout`` seconds for the next envelope.

        Returns:
            The envelope; `CLOSED` if the inbox is closed (and so empty); None on timeout.
        """
        deadline = time.monotonic() + timeout
        with self._plock:
            items = self._items
            while not items:
                if self.closed:
                    return _END
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._not_empty.wait(remaining)
            envelope = items.popleft()
            if self._blocked:
                self._not_full.notify()
            return envelope

    def take_or_register(self, wake: Waker) -> object | None:
        """The next envelope (or `CLOSED`) if there is one now, without waiting.

        Otherwise None, and ``wake()`` is called once, when an envelope arrives or the inbox
        closes (unless `forget` drops it first). ``wake`` must not block: it runs under the
        inbox's lock, in the sender's thread.
        """
        with self._plock:
            if self._items:
                envelope = self._items.popleft()
                if self._blocked:
                    self._not_full.notify()
                return envelope
            if self.closed:
                return _END
            self._wakers.append(wake)
            return None

    def forget(self, wake: Waker) -> None:
        """Drop ``wake`` if it was not called yet (its coroutine stopped waiting)."""
        with self._plock, contextlib.suppress(ValueError):  # already called (and removed)
            self._wakers.remove(wake)

    def peek(self) -> list[Envelope]:
        """The pending envelopes, oldest first, left in place."""
        with self._plock:
            return list(self._items)

    def take_all(self) -> list[Envelope]:
        """Take every pending envelope, oldest first (senders waiting for room may go on)."""
        with self._plock:
            return self._take_all()

    def _take_all(self) -> list[Envelope]:
        items = list(self._items)
        self._items.clear()
        if self._blocked:
            self._not_full.notify_all()
        return items

    def _take_wakers(self) -> list[Waker]:
        wakers, self._wakers = self._wakers, []
        return wakers


@dataclass(frozen=True, slots=True)
class InboxMailbox(Mailbox):
    """`Mailbox` settings that build an `InboxQueue` (priorities are ignored: FIFO)."""

    def build(self, owner: str, reject: Reject) -> MailboxQueue:
        """Create the inbox's queue (once, by its slot)."""
        return InboxQueue(
            owner,
            reject,
            capacity=self.capacity,
            overflow=self.overflow,
            block_timeout=self.block_timeout,
        )
