"""The mailbox queues behind `actors.Mailbox` settings.

Both kinds have one consumer (the agent's current incarnation) and any number of producers.
Both keep a control lane that `get` empties before the user lane, and `get_control` that waits
for control items only (used while an agent waits for its supervisor's decision).

- `FifoQueue` (the default) is built on two `queue.SimpleQueue`s, which are implemented in C:
  a put is one C call plus an attribute read. A control put also drops a wake-up token into the
  user lane, so a consumer blocked there wakes and checks the control lane first.
- `LockedQueue` (priority and/or bounded) is a lock, one deque per priority level, and two
  conditions. It notifies only when somebody is actually waiting.

`close()` ends a mailbox for good: everything queued, and everything put afterwards, goes to
``reject`` with reason ``"stopped"``. A put racing with close is caught by re-reading ``closed``
after the put (CPython runs bytecodes one at a time, so either the putter sees the flag or the
closer's drain sees the item): nothing is stranded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from actors import _local
from actors.errors import MailboxFull
from actors.mailbox import Overflow

if TYPE_CHECKING:
    from actors.envelope import Envelope

__all__ = ["FifoQueue", "LockedQueue", "MailboxQueue", "Reject"]

Reject = Callable[[Any, str], None]


class MailboxQueue(Protocol):
    """What the runtime needs from a mailbox queue."""

    owner: str
    capacity: int | None
    closed: bool
    consumer: int | None

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message; False if it was refused (it went to ``reject``)."""
        ...

    def put_control(self, item: object) -> bool:
        """Queue a control item ahead of all user messages; False if the mailbox is closed."""
        ...

    def get(self) -> object:
        """Block until an item is available (control first) and return it."""
        ...

    def get_control(self, timeout: float) -> object | None:
        """Wait up to ``timeout`` for a control item; None if none came."""
        ...

    def qsize(self) -> int:
        """Number of queued user messages (approximate while others put and get)."""
        ...

    def close(self) -> None:
        """Refuse everything from now on and reject everything queued (reason "stopped")."""
        ...

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``; returns how many."""
        ...


class _Wake:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<wake>"


_WAKE = _Wake()


class FifoQueue:
    """Unbounded FIFO on `queue.SimpleQueue`; priorities are ignored."""

    __slots__ = ("_control", "_lock", "_q", "_reject", "_wakes", "closed", "consumer", "owner")

    capacity: int | None = None  # unbounded

    def __init__(self, owner: str, reject: Reject) -> None:
        self.owner = owner
        self.closed = False
        self.consumer: int | None = None
        self._reject = reject
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._control: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wakes = 0  # wake-up tokens still in the user lane

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message; False if the mailbox is closed."""
        self._q.put(envelope)
        if self.closed:
            self._drain_user("stopped")
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
                    return control.get_nowait()
                except queue.Empty:  # pragma: no cover - single consumer
                    pass
            item = q.get()
            if item is _WAKE:
                with self._lock:
                    self._wakes -= 1
                continue
            return item

    def get_control(self, timeout: float) -> object | None:
        """Wait up to ``timeout`` seconds for a control item."""
        try:
            return self._control.get(timeout=timeout)
        except queue.Empty:
            return None

    def qsize(self) -> int:
        """Queued user messages."""
        return max(0, self._q.qsize() - self._wakes)

    def close(self) -> None:
        """Close and reject everything queued."""
        with self._lock:
            self.closed = True
        self._drain_user("stopped")
        while True:
            try:
                item = self._control.get_nowait()
            except queue.Empty:
                return
            self._reject(item, "stopped")

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``."""
        return self._drain_user(reason)

    def _drain_user(self, reason: str) -> int:
        count = 0
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return count
            if item is _WAKE:
                with self._lock:
                    self._wakes -= 1
                continue
            count += 1
            self._reject(item, reason)


class LockedQueue:
    """Priority and/or bounded queue: one deque per level under one lock."""

    __slots__ = (
        "_blocked",
        "_control",
        "_lanes",
        "_lock",
        "_not_empty",
        "_not_full",
        "_reject",
        "_size",
        "_waiting",
        "block_timeout",
        "capacity",
        "closed",
        "consumer",
        "overflow",
        "owner",
    )

    def __init__(
        self,
        owner: str,
        reject: Reject,
        *,
        levels: int,
        capacity: int | None,
        overflow: Overflow,
        block_timeout: float,
    ) -> None:
        self.owner = owner
        self.capacity = capacity
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.closed = False
        self.consumer: int | None = None
        self._reject = reject
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._lanes: tuple[deque[Envelope], ...] = tuple(deque() for _ in range(levels))
        self._control: deque[object] = deque()
        self._size = 0
        self._waiting = False  # the consumer is waiting on _not_empty
        self._blocked = 0  # senders waiting on _not_full

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message, applying the overflow policy when full.

        Raises:
            MailboxFull: with `Overflow.FAIL`, or with `Overflow.BLOCK` after the timeout or
                when the consumer itself would wait for room.
        """
        dropped: Envelope | None = None
        with self._lock:
            if not self.closed:
                capacity = self.capacity
                if capacity is not None and self._size >= capacity:
                    dropped = self._overflow(envelope, capacity)
                if dropped is not envelope and not self.closed:
                    lanes = self._lanes
                    lanes[envelope.priority if len(lanes) > 1 else 0].append(envelope)
                    self._size += 1
                    if self._waiting:
                        self._not_empty.notify()
                    if dropped is None:
                        return True
        if dropped is None:  # closed
            self._reject(envelope, "stopped")
            return False
        self._reject(dropped, "mailbox_full")
        return dropped is not envelope

    def _overflow(self, envelope: Envelope, capacity: int) -> Envelope | None:
        """Make room or refuse (lock held); returns the envelope to drop, if any."""
        overflow = self.overflow
        if overflow is Overflow.DROP_NEWEST:
            return envelope
        if overflow is Overflow.DROP_OLDEST:
            for lane in self._lanes:
                if lane:
                    self._size -= 1
                    return lane.popleft()
            return None  # pragma: no cover - size >= capacity >= 1 means a lane is non-empty
        if (
            overflow is Overflow.BLOCK
            and threading.get_ident() != self.consumer
            and not _local.state.never_block
        ):
            deadline = time.monotonic() + self.block_timeout
            while self._size >= capacity and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._blocked += 1
                try:
                    self._not_full.wait(remaining)
                finally:
                    self._blocked -= 1
            if self._size < capacity or self.closed:
                return None
            why = f"still full after waiting {self.block_timeout:g}s"
        elif overflow is Overflow.BLOCK and _local.state.never_block:
            why = "the sending thread (the timer thread) never waits for room"
        elif overflow is Overflow.BLOCK:
            why = "the agent would wait for room in its own mailbox"
        else:
            why = "overflow policy FAIL"
        msg = f"mailbox of {self.owner!r} is full ({capacity} messages): {why}"
        error = MailboxFull(msg, self.owner, capacity, envelope)
        self._lock.release()
        try:
            self._reject(envelope, "mailbox_full")
        finally:
            self._lock.acquire()
        raise error

    def put_control(self, item: object) -> bool:
        """Queue a control item ahead of user messages, ignoring the capacity."""
        with self._lock:
            if self.closed:
                return False
            self._control.append(item)
            if self._waiting:
                self._not_empty.notify()
        return True

    def get(self) -> object:
        """Return the next control item, else the most urgent oldest user message (blocking)."""
        with self._lock:
            while True:
                if self._control:
                    return self._control.popleft()
                if self._size:
                    return self._pop()
                self._waiting = True
                try:
                    self._not_empty.wait()
                finally:
                    self._waiting = False

    def _pop(self) -> Envelope:
        lanes = self._lanes
        for index in range(len(lanes) - 1, -1, -1):
            lane = lanes[index]
            if lane:
                self._size -= 1
                if self._blocked:
                    self._not_full.notify()
                return lane.popleft()
        raise AssertionError("size and lanes disagree")  # pragma: no cover

    def get_control(self, timeout: float) -> object | None:
        """Wait up to ``timeout`` seconds for a control item."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._control:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._waiting = True
                try:
                    self._not_empty.wait(remaining)
                finally:
                    self._waiting = False
            return self._control.popleft()

    def qsize(self) -> int:
        """Queued user messages."""
        return self._size

    def close(self) -> None:
        """Close, wake blocked senders, and reject everything queued."""
        with self._lock:
            self.closed = True
            self._not_full.notify_all()
        self._drain(control=True, reason="stopped")

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``."""
        return self._drain(control=False, reason=reason)

    def _drain(self, *, control: bool, reason: str) -> int:
        with self._lock:
            items: list[Any] = [item for lane in self._lanes for item in lane]
            for lane in self._lanes:
                lane.clear()
            self._size = 0
            if self._blocked:
                self._not_full.notify_all()
            if control:
                items.extend(self._control)
                self._control.clear()
        for item in items:
            self._reject(item, reason)
        return len(items)
