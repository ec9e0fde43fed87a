"""The mailbox queues behind `actors.Mailbox` settings.

Every kind has one consumer (the agent's current incarnation) and any number of producers.
Each keeps a control lane that `get` empties before the user lane, and `get_control` that waits
for control items only (used while an agent waits for its supervisor's decision).

- `FifoQueue` (the default) is built on two `queue.SimpleQueue`s, which are implemented in C:
  a put is one C call plus an attribute read. A control put also drops a wake-up token into the
  user lane, so a consumer blocked there wakes and checks the control lane first.
- `BoundedFifoQueue` is a `FifoQueue` with a capacity: producers check it under a lock that
  only producers take; the consumer touches that lock only to wake a blocked producer.
- `actors._lanes.LaneQueue` (priority, bounded or not) is one `SimpleQueue` per priority
  level plus a queue of wake-up tokens.

No lock is shared by producer and consumer on the way of a message: under the GIL a shared
Python lock convoys badly when the two threads run on different CPUs.

`close(reason)` ends a mailbox for good: everything queued, and everything put afterwards, goes
to ``reject`` with that reason (``"stopped"``, or ``"shutdown"`` when the system stops), and a
`CLOSED` marker is queued last in the control lane, so a consumer blocked in `get` (or waiting
in `get_control`) wakes up and ends instead of waiting for ever. A sender checks ``closed``
before it puts, so once a mailbox is closed senders reject their own messages and never add to
the closer's work; a put racing with close is caught by re-reading ``closed`` after the put
(CPython runs bytecodes one at a time, so either the putter sees the flag or the closer's drain
sees the item): nothing is stranded.

Rejected items go to ``reject`` in batches (a list per call), so dead-lettering a queue of
100,000 messages at shutdown costs one call, not 100,000.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from actors._local import state as _current
from actors.errors import MailboxFull

if TYPE_CHECKING:
    from actors.envelope import Envelope

__all__ = [
    "CLOSED",
    "QUIET_NS",
    "BoundedFifoQueue",
    "FifoQueue",
    "MailboxQueue",
    "Overflow",
    "Reject",
]


class Overflow(enum.Enum):
    """What a bounded mailbox does with a user message that arrives when it is full.

    Whatever is refused or dropped is also dead-lettered (reason ``mailbox_full``); a refused
    or dropped ask fails with `MailboxFull`. With ``DROP_OLDEST`` in a priority mailbox, the
    oldest message of the *lowest* non-empty level goes, even if the new one is less urgent.
    A thread that must never wait (the system's timer thread, an agent sending to itself)
    gets `MailboxFull` at once under ``BLOCK``.
    """

    BLOCK = "block"  # the sender waits up to block_timeout for room, then gets MailboxFull
    FAIL = "fail"  # the sender gets MailboxFull at once
    DROP_NEWEST = "drop_newest"  # the new message is dead-lettered (reason mailbox_full)
    DROP_OLDEST = "drop_oldest"  # the oldest queued message is dead-lettered to make room


Reject = Callable[[list[Any], str], None]
_clock = time.perf_counter_ns
QUIET_NS = 1_000_000  # see MailboxQueue.stride


class _Closed:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<closed>"


CLOSED: Any = _Closed()  # the last control item of a closed mailbox: its consumer must end


class MailboxQueue(Protocol):
    """What the runtime needs from a mailbox queue."""

    owner: str
    capacity: int | None
    closed: bool
    consumer: int | None
    # The consumer's timing stride (a mask, see actors._stats): it times a message when
    # ``taken & stride == 0``. get() sets it to 0 when it returns after a wait that came at
    # least QUIET_NS after the previous one (a quiet agent: time its next message); the
    # consumer sets it back after a timed message.
    stride: int

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message; False if it was refused (it went to ``reject``)."""
        ...

    def put_control(self, item: object) -> bool:
        """Queue a control item ahead of all user messages; False if the mailbox is closed."""
        ...

    def get(self) -> object:
        """Block until an item is available (control first) and return it; `CLOSED` at the end."""
        ...

    def get_control(self, timeout: float) -> object | None:
        """Wait up to ``timeout`` for a control item; None if none came."""
        ...

    def qsize(self) -> int:
        """Number of queued user messages (approximate while others put and get)."""
        ...

    def close(self, reason: str = "stopped") -> None:
        """Refuse everything from now on, reject everything queued, wake the consumer."""
        ...

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``; returns how many."""
        ...


def drain(source: queue.SimpleQueue[Any]) -> list[Any]:
    """Take everything queued in ``source`` now, oldest first, without blocking."""
    items = []
    while True:
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            return items


class _ControlLane:
    """The control lane every queue has: a `SimpleQueue` read before the user messages."""

    __slots__ = ()

    _control: queue.SimpleQueue[object]

    def get_control(self, timeout: float) -> object | None:
        """Wait up to ``timeout`` seconds for a control item."""
        try:
            item = self._control.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is CLOSED:
            self._reclose()
        return item

    def _reclose(self) -> None:
        """Put `CLOSED` back (and wake a consumer): every consumer must see it."""
        raise NotImplementedError


class _Wake:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<wake>"


_WAKE = _Wake()


class FifoQueue(_ControlLane):
    """Unbounded FIFO on `queue.SimpleQueue`; priorities are ignored."""

    __slots__ = (
        "_control",
        "_lock",
        "_q",
        "_reject",
        "_wakes",
        "close_reason",
        "closed",
        "consumer",
        "last_wake",
        "owner",
        "stride",
    )

    capacity: int | None = None  # unbounded

    def __init__(self, owner: str, reject: Reject) -> None:
        self.owner = owner
        self.closed = False
        self.close_reason = "stopped"
        self.consumer: int | None = None
        self._reject = reject
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._control: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wakes = 0  # wake-up tokens still in the user lane
        self.stride = 0  # the consumer's timing stride (see MailboxQueue)
        self.last_wake = 0  # when get() last returned after waiting

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message; False if the mailbox is closed."""
        if self.closed:
            self._reject([envelope], self.close_reason)
            return False
        self._q.put(envelope)
        if self.closed:
            self._drain_user(self.close_reason)
            return False
        return True

    def put_control(self, item: object) -> bool:
        """Queue a control item ahead of user messages; False if closed."""
        with self._lock:
            if self.closed:
                return False
            self._control.put(item)
            self._wakes += 1
        self._q.put(_WAKE)
        return True

    def get(self) -> object:
        """Return the next control item, else the next user message (blocking)."""
        control = self._control
        q = self._q
        while True:
            if not control.empty():
                try:
                    item = control.get_nowait()
                except queue.Empty:  # pragma: no cover - single consumer
                    pass
                else:
                    if item is CLOSED:
                        self._reclose()
                    return item
            try:
                item = q.get_nowait()
            except queue.Empty:  # idle: note when work came (an idle agent pays for the clock)
                item = q.get()
                now = _clock()
                if now - self.last_wake > QUIET_NS:  # not one of many short waits in a row
                    self.stride = 0  # the consumer times the next message
                self.last_wake = now
            if item is _WAKE:
                with self._lock:
                    self._wakes -= 1
                continue
            return item

    def _reclose(self) -> None:
        with self._lock:
            self._control.put(CLOSED)
            self._wakes += 1
        self._q.put(_WAKE)

    def qsize(self) -> int:
        """Queued user messages."""
        return max(0, self._q.qsize() - self._wakes)

    def close(self, reason: str = "stopped") -> None:
        """Close, reject everything queued with ``reason``, and wake the consumer to end."""
        with self._lock:
            if self.closed:
                return
            self.close_reason = reason
            self.closed = True
        self._finish_close(reason)

    def _finish_close(self, reason: str) -> None:
        self._drain_user(reason)
        left = drain(self._control)
        if left:
            self._reject(left, reason)
        self._reclose()

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``."""
        return self._drain_user(reason)

    def _drain_user(self, reason: str) -> int:
        items = []
        wakes = 0
        for item in drain(self._q):
            if item is _WAKE:
                wakes += 1
            else:
                items.append(item)
        for _ in range(wakes):  # the wake-ups belong to control items: keep them
            self._q.put(_WAKE)
        if items:
            self._reject(items, reason)
        return len(items)


class _Bounded:
    """Capacity and overflow policy, shared by the bounded queues.

    The concrete class supplies the attributes below, `qsize`, `_enqueue` (add one user
    message, producers' lock held) and `_pop_oldest` (remove the message to drop first).
    """

    __slots__ = ()

    owner: str
    capacity: int | None
    overflow: Overflow
    block_timeout: float
    closed: bool
    close_reason: str
    consumer: int | None
    _reject: Reject
    _plock: threading.Lock
    _not_full: threading.Condition
    _blocked: int

    if TYPE_CHECKING:  # supplied by the concrete class (a stub here would shadow it in the MRO)

        def qsize(self) -> int: ...

        def _enqueue(self, envelope: Envelope) -> None: ...

        def _pop_oldest(self) -> Envelope | None: ...

    def _bounded_put(self, envelope: Envelope) -> bool:
        capacity = self.capacity
        assert capacity is not None
        dropped: Envelope | None = None
        with self._plock:
            if not self.closed:
                if self.qsize() >= capacity:
                    dropped = self._overflow(envelope, capacity)
                if dropped is not envelope and not self.closed:
                    self._enqueue(envelope)
                    if dropped is None:
                        return True
        if dropped is None:  # closed
            self._reject([envelope], self.close_reason)
            return False
        self._reject([dropped], "mailbox_full")
        return dropped is not envelope

    def _overflow(self, envelope: Envelope, capacity: int) -> Envelope | None:
        """Make room or refuse (producers' lock held); returns the envelope to drop, if any."""
        overflow = self.overflow
        if overflow is Overflow.DROP_NEWEST:
            return envelope
        if overflow is Overflow.DROP_OLDEST:
            return self._pop_oldest()  # None: the consumer emptied it meanwhile
        if (
            overflow is Overflow.BLOCK
            and threading.get_ident() != self.consumer
            and not _current.never_block
        ):
            deadline = time.monotonic() + self.block_timeout
            self._blocked += 1  # type: ignore[misc]  # a slot of the concrete class
            try:
                while self.qsize() >= capacity and not self.closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._not_full.wait(remaining)
            finally:
                self._blocked -= 1  # type: ignore[misc]
            if self.qsize() < capacity or self.closed:
                return None
            why = f"still full after waiting {self.block_timeout:g}s"
        elif overflow is Overflow.BLOCK and _current.never_block:
            why = "the sending thread (the timer thread) never waits for room"
        elif overflow is Overflow.BLOCK:
            why = "the agent would wait for room in its own mailbox"
        else:
            why = "overflow policy FAIL"
        msg = f"mailbox of {self.owner!r} is full ({capacity} messages): {why}"
        error = MailboxFull(msg, self.owner, capacity, envelope)
        self._plock.release()
        try:
            self._reject([envelope], "mailbox_full")
        finally:
            self._plock.acquire()
        raise error

    def _wake_producers(self, every: bool = False) -> None:
        """Room was made: wake a producer blocked on the full mailbox (all if ``every``)."""
        if self._blocked:
            with self._plock:
                if every:
                    self._not_full.notify_all()
                else:
                    self._not_full.notify()


class BoundedFifoQueue(_Bounded, FifoQueue):
    """FIFO with a capacity and an overflow policy; priorities are ignored."""

    __slots__ = ("_blocked", "_not_full", "_plock", "block_timeout", "capacity", "overflow")

    def __init__(
        self, owner: str, reject: Reject, *, capacity: int, overflow: Overflow, block_timeout: float
    ) -> None:
        super().__init__(owner, reject)
        self.capacity = capacity
        self.overflow = overflow
        self.block_timeout = block_timeout
        self._plock = threading.Lock()  # producers' lock: size checks
        self._not_full = threading.Condition(self._plock)
        self._blocked = 0  # producers waiting on _not_full

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message, applying the overflow policy when full.

        Raises:
            MailboxFull: with `Overflow.FAIL`, or with `Overflow.BLOCK` after the timeout or
                when the sending thread must not wait (the agent itself, the timer thread).
        """
        return self._bounded_put(envelope)

    def _enqueue(self, envelope: Envelope) -> None:
        self._q.put(envelope)

    def _pop_oldest(self) -> Envelope | None:
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return None
            if item is not _WAKE:
                return item  # type: ignore[no-any-return]
            with self._lock:
                self._wakes -= 1
            self._q.put(_WAKE)  # keep the wake-up (it now sits behind the messages)
            with self._lock:
                self._wakes += 1

    def get(self) -> object:
        """As `FifoQueue.get`, then wake a producer blocked on the full mailbox."""
        item = FifoQueue.get(self)
        if self._blocked:
            self._wake_producers()
        return item

    def close(self, reason: str = "stopped") -> None:
        """Close, wake blocked senders (they get ``reason``), reject everything queued."""
        with self._plock:  # producers check ``closed`` under this lock
            if self.closed:
                return
            self.close_reason = reason
            with self._lock:
                self.closed = True
            self._not_full.notify_all()
        self._finish_close(reason)

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``; blocked senders may go on."""
        count = FifoQueue.discard(self, reason)
        self._wake_producers(every=True)
        return count
