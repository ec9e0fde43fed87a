"""Per-slot counters and handling-time histograms: what `ActorSystem.metrics` reads.

Every counter of a slot is written only by the slot's own thread (the incarnation that handles
its messages), so counts are exact without a lock: a snapshot reads them from another thread
and may be a message behind, never wrong. The system-wide counters written by many threads
(messages sent, sends that reached no mailbox) are `itertools.count` objects, whose ``next``
is a single C call under the GIL, so they are exact too.

**Timing is sampled.** Every message is counted, but reading the clock twice costs about as
much as handling an empty message on a small machine, so an agent times:

- a message it takes after waiting for one, when its previous wait ended more than a
  millisecond before (the mailbox reads the clock as it wakes): so a quiet agent times every
  message, and a busy one that keeps catching up with its senders does not;
- every message while its handlers are slow (a timed run above `SLOW_NS`: the clock is then
  noise next to the handler);
- otherwise one message in `STRIDE` while it works through a backlog of fast messages;
- every message while someone subscribes to `actors.MessageHandled` (its ``duration``).

Timed runs go into a fixed-bucket histogram with one bucket per power of two nanoseconds:
a duration of ``d`` ns goes to bucket ``d.bit_length()`` (bucket ``i`` holds ``2**(i-1) <= d <
2**i``). That index costs one C call; percentiles are interpolated within a bucket, so they are
estimates within a factor of two, over the timed runs.

A slot's counters outlive its incarnations (restarts keep counting) and, when the slot closes,
are folded into the system's totals (`Totals.retire`), so the system's counts include agents
that have stopped.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actors._slot import Slot

__all__ = [
    "BUCKETS",
    "SLOW_NS",
    "STRIDE",
    "Counter",
    "SlotStats",
    "Totals",
    "count_of",
    "percentile",
]

BUCKETS = 64  # durations up to 2**63 ns; a bucket per power of two
STRIDE = 256  # a busy agent with fast handlers times one message in STRIDE (a power of two)
SLOW_NS = 20_000  # a timed run longer than this: time every message (the clock is noise)

Counter = itertools.count


def count_of(counter: itertools.count[int]) -> int:
    """How many times ``next`` was called on a counter started at 0 (read without advancing)."""
    return int(repr(counter)[6:-1])


class SlotStats:
    """The counters of one slot; written by its own thread only (see the module docstring).

    Attributes:
        received: messages the agent took off its mailbox (the one in hand included).
        failed: handler runs that raised.
        unhandled: messages with no handler.
        expired: messages skipped because their deadline had passed.
        cancelled: requests skipped (cancelled before they started) or stopped by their
            handler (`actors.Cancelled`).
        retried: failed messages kept for another try.
        hist: *timed* handler runs per power-of-two bucket of nanoseconds (see `STRIDE`).
        total: nanoseconds spent in timed handler runs.
        max: the longest timed handler run, in nanoseconds.
        since: the loop's latest clock reading (`time.perf_counter_ns`): when the message in
            hand started if it is timed (always after a wait), else when the last timed one
            ended (a lower bound, at most STRIDE - 1 back-to-back messages earlier).
        high_water: the deepest the mailbox was seen (counting the message being taken),
            sampled as a timed message is taken.
        taken_created: creation time (wall clock) of the last message timed.
    """

    __slots__ = (
        "cancelled",
        "expired",
        "failed",
        "high_water",
        "hist",
        "max",
        "received",
        "retried",
        "since",
        "taken_created",
        "total",
        "unhandled",
    )

    def __init__(self) -> None:
        self.received = 0
        self.failed = 0
        self.unhandled = 0
        self.expired = 0
        self.cancelled = 0
        self.retried = 0
        self.hist = [0] * BUCKETS
        self.total = 0
        self.max = 0
        self.since = 0
        self.high_water = 0
        self.taken_created = 0.0

    def handled(self, in_hand: bool = False) -> int:
        """Handler runs that returned normally (``in_hand``: one is still running)."""
        return (
            self.received - in_hand - self.failed - self.unhandled - self.expired - self.cancelled
        )

    def add(self, other: SlotStats) -> None:
        """Add ``other``'s counts to these (``since`` and ``taken_created`` are not summed)."""
        hist = self.hist
        for index, value in enumerate(other.hist):
            if value:
                hist[index] += value
        self.received += other.received
        self.total += other.total
        self.max = max(self.max, other.max)
        self.high_water = max(self.high_water, other.high_water)
        self.failed += other.failed
        self.unhandled += other.unhandled
        self.expired += other.expired
        self.cancelled += other.cancelled
        self.retried += other.retried

    def record(self, nanoseconds: int) -> None:
        """Count one timed handler run (the slow path; the loop inlines this)."""
        self.hist[nanoseconds.bit_length()] += 1
        self.total += nanoseconds
        self.max = max(self.max, nanoseconds)


def percentile(hist: list[int], fraction: float, maximum: int) -> float:
    """Estimate the ``fraction`` quantile, in nanoseconds, of a power-of-two histogram.

    Linear interpolation inside the bucket that holds the quantile, capped at ``maximum``
    (the exact largest value). 0.0 for an empty histogram.
    """
    count = sum(hist)
    if not count:
        return 0.0
    rank = fraction * count
    seen = 0
    for index, in_bucket in enumerate(hist):
        if not in_bucket:
            continue
        if seen + in_bucket >= rank:
            low = 0 if index == 0 else 1 << (index - 1)
            high = 1 << index
            estimate = low + (high - low) * max(0.0, rank - seen) / in_bucket
            return float(min(estimate, maximum))
        seen += in_bucket
    return float(maximum)


class Totals:
    """The system-wide counters (see the module docstring). Thread-safe.

    Attributes:
        sent: one ``next`` per send (tell, ask, broadcast) that built an envelope.
        missed: sends that reached no mailbox (dead-lettered, refused, raised).
        late: replies dropped because their ask had timed out (or was cancelled).
        fanout: mailboxes a broadcast reached beyond its first (written under ``lock``).
        escalations: supervisors that gave up (written under ``lock``).
        lock: guards the fields above that are not counters, and retiring slots.
        retired: the folded counters of every slot that has closed.
        retired_restarts: their restarts.
        tool_calls: tool calls by outcome (`actors.tools.ToolOutcome` value), under ``lock``.
    """

    def __init__(self) -> None:
        self.sent = Counter()
        self.missed = Counter()
        self.late = Counter()  # replies that came after their asker gave up
        self.fanout = 0
        self.escalations = 0
        self.lock = threading.Lock()
        self.retired = SlotStats()
        self.retired_restarts = 0
        self.tool_calls: dict[str, int] = {}

    def delivered(self) -> int:
        """Mailbox placements: every send that reached one, plus a broadcast's extra copies."""
        return count_of(self.sent) - count_of(self.missed) + self.fanout

    def add_fanout(self, extra: int) -> None:
        """Count ``extra`` more mailboxes reached by one broadcast."""
        with self.lock:
            self.fanout += extra

    def escalated(self) -> None:
        """Count one escalation."""
        with self.lock:
            self.escalations += 1

    def retire(self, slot: Slot) -> None:
        """Fold a closing slot's counters into the totals, once."""
        stats = slot.stats
        with self.lock:
            if slot.retired:
                return
            slot.retired = True
            self.retired_restarts += slot.restarts
            if stats is not None:
                self.retired.add(stats)

    def count_tool_call(self, outcome: str) -> None:
        """Count one tool call that ended with ``outcome``."""
        with self.lock:
            self.tool_calls[outcome] = self.tool_calls.get(outcome, 0) + 1
