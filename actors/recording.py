"""Flight recordings: each agent's summaries of the last messages it took.

Each agent keeps a *flight recording* (`ChildSpec(flight_recorder=N)`, default 32, 0 for none):
`HandledMessage` summaries of the last N messages it took, oldest first, read with
`AgentRef.recent`. A crash's `AgentCrashed` event, its log line and the history of an
`EscalationError` carry the recording, so a post-mortem shows what led up to the failure.

The agent's thread appends the envelope itself (a pointer: no formatting, no model), with the
outcome and timing when there is more to say than "handled"; summaries are built only when
someone reads them. So a recording keeps up to N envelopes (and their bodies) alive until newer
ones push them out; ``flight_recorder=0`` for agents whose messages are large.
"""

from __future__ import annotations

import enum
import time
from typing import TYPE_CHECKING

from actors.envelope import Envelope
from actors.messages import Message, wire_name

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["HandledMessage", "MessageOutcome", "summaries"]


class MessageOutcome(enum.StrEnum):
    """What became of a message an agent took off its mailbox."""

    OK = "ok"  # its handler returned
    FAILED = "failed"  # its handler raised
    UNHANDLED = "unhandled"  # the agent has no handler for its type
    EXPIRED = "expired"  # its deadline had passed: skipped and dead-lettered
    CANCELLED = "cancelled"  # its request was cancelled: skipped, or stopped by the handler


class HandledMessage(Message):
    """One entry of an agent's flight recording: a small summary of a message it took.

    Attributes:
        id: the envelope's id.
        type: the body's `Message.type_name`.
        sender: the sender's name, or None.
        correlation_id: the conversation it belongs to.
        outcome: what became of it (`MessageOutcome`).
        duration: seconds its handler ran, or None if it was not timed (timing is sampled:
            see `actors.metrics`).
        at: wall-clock time its handler started (seconds since the epoch), or None if it
            was not timed.
    """

    id: str
    type: str
    sender: str | None
    correlation_id: str | None
    outcome: MessageOutcome
    duration: float | None
    at: float | None


# A recording entry as the agent's thread appends it (no formatting, no model): the envelope
# itself when its handler returned and it was not timed, else (envelope, outcome, start
# perf_counter_ns or 0, duration ns).
Entry = Envelope | tuple[Envelope, MessageOutcome, int, int]


def summaries(entries: Iterable[Entry]) -> tuple[HandledMessage, ...]:
    """Turn raw recording entries into `HandledMessage` summaries (any thread)."""
    now_ns = time.perf_counter_ns()
    now = time.time()
    out = []
    for entry in entries:
        if isinstance(entry, tuple):
            envelope, outcome, started, took = entry
        else:
            envelope, outcome, started, took = entry, MessageOutcome.OK, 0, 0
        out.append(
            HandledMessage(
                id=envelope.id,
                type=wire_name(envelope.body),
                sender=envelope.sender,
                correlation_id=envelope.correlation_id,
                outcome=outcome,
                duration=took / 1e9 if started and outcome in _RAN else None,
                at=now - (now_ns - started) / 1e9 if started else None,
            )
        )
    return tuple(out)


_RAN = (MessageOutcome.OK, MessageOutcome.FAILED)  # outcomes where a handler ran
