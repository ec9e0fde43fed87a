"""How a run ends: `StopReason` and the `RunReport` that `ActorSystem.run_until` returns.

`ActorSystem.run_until` blocks the calling thread until the first of these holds, and says
which one as a `RunReport`:

| reason                     | when                                                            |
| -------------------------- | --------------------------------------------------------------- |
| `StopReason.COMPLETED`     | ``predicate()`` returned True (checked after bursts of work)     |
| `StopReason.IDLE`          | nothing handled for ``idle`` seconds, every mailbox empty        |
| `StopReason.MAX_MESSAGES`  | the agents handled ``max_messages`` messages since the call      |
| `StopReason.MAX_RUNTIME`   | ``max_runtime`` seconds passed                                   |
| `StopReason.FATAL_ERROR`   | the root supervisor escalated (the system is stopping)           |
| `StopReason.MANUAL_STOP`   | someone shut the system down meanwhile                           |

The predicate runs in the caller's thread, never in an agent's. ``run_until`` only observes: it
does not stop the agents unless ``shutdown=True`` (then the system is shut down before it
returns), so a runaway conversation is cut off by passing ``shutdown=True``.
Per-agent ``max_messages`` (on a child spec) stops that one agent for good instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.events import Reason

__all__ = ["RunReport", "StopReason"]


class StopReason(Reason):
    """Why `ActorSystem.run_until` returned."""

    COMPLETED = "completed"  # the predicate became true
    IDLE = "idle"  # nothing happened for the idle period and all mailboxes are empty
    MAX_MESSAGES = "max_messages"  # the message budget was used up
    MAX_RUNTIME = "max_runtime"  # the time budget was used up
    FATAL_ERROR = "fatal_error"  # the root supervisor escalated
    MANUAL_STOP = "manual_stop"  # the system was shut down by someone else


@dataclass(frozen=True, slots=True)
class RunReport:
    """What ended a run: the reason, and the counts when it was decided.

    Compares equal to its `StopReason`, so ``system.run_until(...) == StopReason.IDLE`` reads
    naturally.

    Attributes:
        reason: why the run ended.
        messages: messages handled by the system's agents during the run.
        elapsed: seconds the run lasted.
        failure: the fatal cause, for `StopReason.FATAL_ERROR`.
    """

    reason: StopReason
    messages: int
    elapsed: float
    failure: BaseException | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StopReason):
            return self.reason is other
        if isinstance(other, RunReport):
            return (self.reason, self.messages, self.elapsed) == (
                other.reason,
                other.messages,
                other.elapsed,
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.reason)
