"""The priority mailbox queue: one `SimpleQueue` per level plus wake-up tokens.

See `actors._mailboxes` for the contract every mailbox queue keeps.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from actors._mailboxes import CLOSED, QUIET_NS, Overflow, Reject, _Bounded, _ControlLane, drain
from actors.messages import Priority

if TYPE_CHECKING:
    from actors.envelope import Envelope

_clock = time.perf_counter_ns

__all__ = ["LaneQueue"]


class LaneQueue(_Bounded, _ControlLane):
    """Priority queue, bounded or not: one `SimpleQueue` per level and a queue of tokens.

    Every put adds the item to its lane, then one token; the consumer waits on the tokens, then
    takes from the most urgent non-empty lane (control first). An item can leave without its
    token (a control item taken early, a dropped or drained message), so tokens may outnumber
    items: a token that finds nothing is simply skipped. No lock is shared by producer and
    consumer on the way of a message (a shared lock convoys badly across CPUs under the GIL).

    Bounded: producers take a lock among themselves for the size check, so the capacity is
    exact; the consumer touches that lock only to wake a producer blocked on a full mailbox.
    """

    __slots__ = (
        "_blocked",
        "_control",
        "_lanes",
        "_not_full",
        "_plock",
        "_reject",
        "_tokens",
        "block_timeout",
        "capacity",
        "close_reason",
        "closed",
        "consumer",
        "last_wake",
        "overflow",
        "owner",
        "stride",
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
        self.consumer: int | None = None
        self.stride = 0  # the consumer's timing stride (see MailboxQueue)
        self.last_wake = 0  # when get() last returned after waiting
        self._reject = reject
        self._lanes: tuple[queue.SimpleQueue[Envelope], ...] = tuple(
            queue.SimpleQueue() for _ in Priority
        )
        self._control: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._plock = threading.Lock()  # producers' lock: size checks, close
        self._not_full = threading.Condition(self._plock)
        self._blocked = 0  # producers waiting on _not_full

    def put(self, envelope: Envelope) -> bool:
        """Queue a user message, applying the overflow policy when full.

        Raises:
            MailboxFull: with `Overflow.FAIL`, or with `Overflow.BLOCK` after the timeout or
                when the sending thread must not wait (the agent itself, the timer thread).
        """
        if self.capacity is not None:
            return self._bounded_put(envelope)
        if self.closed:
            self._reject([envelope], self.close_reason)
            return False
        self._lanes[envelope.priority].put(envelope)
        self._tokens.put(None)
        if self.closed:
            self._drain(control=False, reason=self.close_reason)
            return False
        return True

    def _enqueue(self, envelope: Envelope) -> None:
        self._lanes[envelope.priority].put(envelope)
        self._tokens.put(None)

    def _pop_oldest(self) -> Envelope | None:
        for lane in self._lanes:  # the lowest level first
            try:
                return lane.get_nowait()
            except queue.Empty:
                continue
        return None

    def put_control(self, item: object) -> bool:
        """Queue a control item ahead of user messages, ignoring the capacity."""
        with self._plock:
            if self.closed:
                return False
            self._control.put(item)
            self._tokens.put(None)
        return True

    def get(self) -> object:
        """Return the next control item, else the most urgent oldest user message (blocking)."""
        control = self._control
        tokens = self._tokens
        lanes = self._lanes
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
                tokens.get_nowait()
            except queue.Empty:  # idle: note when work came (an idle agent pays for the clock)
                tokens.get()
                now = _clock()
                if now - self.last_wake > QUIET_NS:  # not one of many short waits in a row
                    self.stride = 0  # the consumer times the next message
                self.last_wake = now
            if not control.empty():
                continue
            for index in range(len(lanes) - 1, -1, -1):
                lane = lanes[index]
                if not lane.empty():
                    try:
                        item = lane.get_nowait()
                    except queue.Empty:  # a producer dropped it (DROP_OLDEST) meanwhile
                        continue
                    if self._blocked:
                        self._wake_producers()
                    return item
            # a token whose item already left (taken early, dropped or drained): skip it

    def qsize(self) -> int:
        """Queued user messages."""
        return sum(lane.qsize() for lane in self._lanes)

    def close(self, reason: str = "stopped") -> None:
        """Close, wake blocked senders, reject everything queued, wake the consumer to end."""
        with self._plock:
            if self.closed:
                return
            self.close_reason = reason
            self.closed = True
            self._not_full.notify_all()
        self._drain(control=True, reason=reason)
        self._reclose()

    def _reclose(self) -> None:
        """Put `CLOSED` back (and wake a consumer): every consumer must see it."""
        self._control.put(CLOSED)
        self._tokens.put(None)

    def discard(self, reason: str) -> int:
        """Reject every queued user message with ``reason``."""
        count = self._drain(control=False, reason=reason)
        self._wake_producers(every=True)
        return count

    def _drain(self, *, control: bool, reason: str) -> int:
        items: list[Any] = [item for lane in self._lanes for item in drain(lane)]
        count = len(items)
        if control:
            items.extend(drain(self._control))
        if items:
            self._reject(items, reason)
        return count
