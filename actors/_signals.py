"""Control-lane items: what supervisors, the runtime and agents say to each other.

They travel in the control lane of a mailbox, which overtakes user messages. Orders aimed at
one incarnation carry its number, so an order that arrives late (after the incarnation it was
meant for has ended) is recognised and ignored by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors._slot import Slot
    from actors.envelope import Envelope
    from actors.events import ExitReason
    from actors.future import Future
    from actors.recording import Entry


@dataclass(frozen=True, slots=True)
class Terminate:
    """End an incarnation after its current message.

    Runs ``pre_restart`` on the instance if ``restart``, else ``on_stop``.
    """

    incarnation: int
    restart: bool
    cause: BaseException | None


@dataclass(frozen=True, slots=True)
class Resume:
    """Go on with the same instance after a failure (the failing message is already dropped)."""

    incarnation: int


@dataclass(frozen=True, slots=True)
class Nudge:
    """Wake the consumer so that it looks at its slot again (an item was handed back to it)."""


@dataclass(frozen=True, slots=True)
class Faulted:
    """Fail the handling of ``envelope`` with ``error`` (a fault injected by a test).

    Made by the consumer itself when its slot has faults pending (see
    `actors.testing.TestingHooks.fail_next`), so the failure takes the path a raising
    handler takes.
    """

    envelope: Envelope
    error: BaseException


@dataclass(frozen=True, slots=True)
class Call:
    """Run ``function(instance)`` in the actor's thread and complete ``future`` with the result.

    An exception is returned to the caller through the future; it does not fail the actor.
    """

    function: Callable[[Any], Any]
    future: Future[Any]


@dataclass(frozen=True, slots=True)
class ChildFailed:
    """To a supervisor: ``slot``'s incarnation raised ``error`` and waits for a directive."""

    slot: Slot
    incarnation: int
    error: BaseException
    envelope: Envelope | None
    recent: tuple[Entry, ...] = ()  # the child's flight recording at the failure, raw


@dataclass(frozen=True, slots=True)
class ChildExited:
    """To a supervisor: ``slot``'s incarnation ended by itself, without an error."""

    slot: Slot
    incarnation: int
    reason: ExitReason
