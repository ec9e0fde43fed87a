"""Mailbox settings: unbounded FIFO (default), priority, bounded with an overflow policy.

Every mailbox has a **control lane** that overtakes user messages: stop and restart orders from
a supervisor and death-watch notices are handled before anything queued in the user lane, so an
agent with a million queued messages still stops or restarts after its current message.

Choose a mailbox per agent with ``mailbox=`` on `ActorSystem.spawn` or a child spec, or with the
class attribute ``AgentActor.mailbox``:

```python
Mailbox()                                   # unbounded FIFO: the fastest
Mailbox(priority=True)                      # CRITICAL > HIGH > NORMAL > LOW, FIFO within a level
Mailbox(capacity=1000)                      # bounded; a full mailbox blocks senders up to 1 s
Mailbox(capacity=1000, overflow=Overflow.DROP_OLDEST)
```

The mailbox belongs to the agent's slot in the supervision tree, not to one incarnation: it
survives restarts, so queued messages are handled by the next incarnation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors._lanes import LaneQueue
from actors._mailboxes import BoundedFifoQueue, FifoQueue, Overflow
from actors.errors import InvalidConfig

if TYPE_CHECKING:
    from actors._mailboxes import MailboxQueue, Reject

__all__ = ["Mailbox", "Overflow"]


@dataclass(frozen=True, slots=True)
class Mailbox:
    """How an agent's mailbox queues messages.

    Args:
        capacity: the most user messages it holds; None for unbounded. Control messages do
            not count and are never refused.
        priority: hand out higher `Priority` levels first (FIFO within a level).
        overflow: what happens to a message that arrives when the mailbox is full.
        block_timeout: with `Overflow.BLOCK`, how long a sender waits for room.

    Raises:
        InvalidConfig: for a capacity below 1 or a non-positive or infinite block timeout.
    """

    capacity: int | None = None
    priority: bool = False
    overflow: Overflow = Overflow.BLOCK
    block_timeout: float = 1.0

    def __post_init__(self) -> None:
        if self.capacity is not None and (
            isinstance(self.capacity, bool)
            or not isinstance(self.capacity, int)
            or self.capacity < 1
        ):
            msg = f"mailbox capacity must be a positive integer or None, got {self.capacity!r}"
            raise InvalidConfig(msg)
        if not isinstance(self.overflow, Overflow):
            msg = f"mailbox overflow must be an Overflow member, got {self.overflow!r}"
            raise InvalidConfig(msg)
        if not (self.block_timeout > 0 and math.isfinite(self.block_timeout)):
            msg = f"mailbox block_timeout must be positive and finite, got {self.block_timeout!r}"
            raise InvalidConfig(msg)

    @property
    def bounded(self) -> bool:
        """True if the mailbox has a capacity."""
        return self.capacity is not None

    def build(self, owner: str, reject: Reject) -> MailboxQueue:
        """Create the queue these settings describe (used by the runtime, once per slot).

        Args:
            owner: the agent's name, for error messages.
            reject: called with every item the mailbox refuses or drops, and its reason.
        """
        if not self.priority:
            if self.capacity is None:
                return FifoQueue(owner, reject)
            return BoundedFifoQueue(
                owner,
                reject,
                capacity=self.capacity,
                overflow=self.overflow,
                block_timeout=self.block_timeout,
            )
        return LaneQueue(
            owner,
            reject,
            capacity=self.capacity,
            overflow=self.overflow,
            block_timeout=self.block_timeout,
        )
