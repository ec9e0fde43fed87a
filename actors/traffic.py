"""Traffic events: what happens to each message, for whoever subscribes.

Two event types on `ActorSystem.events`, published only while someone subscribes to them
(`EventStream.wants`), so a system nobody watches pays one flag test per send and per message:

| event            | when                                                               |
| ---------------- | ------------------------------------------------------------------ |
| `MessageSent`    | a send resolved its address, before the envelope reaches a mailbox |
| `MessageHandled` | an agent is done with a message: handled, failed, unhandled, expired |

For one sender and one receiver, a subscriber sees a message's `MessageSent` before its
`MessageHandled`, and messages in the order they were sent.
"""

from __future__ import annotations

from actors.events import Event
from actors.recording import MessageOutcome

__all__ = ["MessageHandled", "MessageSent"]


class MessageSent(Event):
    """A send resolved its address (published before the envelope reaches any mailbox).

    Attributes:
        envelope_id: the envelope's id.
        sender: the sending agent's name, or None for a caller outside the system.
        address: the address sent to, as a string (``"coder-1"``, ``"role:coder"``, ``"*"``).
        recipients: how many agents the address resolved to (0: it was dead-lettered).
        message_type: the body's `Message.type_name`.
        kind: the envelope's kind (``event``, ``query``, ``response``, ...).
        priority: the envelope's priority, by name.
        correlation_id: the conversation it belongs to.
        causation_id: the envelope being handled when it was sent, if any.
    """

    envelope_id: str
    sender: str | None
    address: str
    recipients: int
    message_type: str
    kind: str
    priority: str
    correlation_id: str | None
    causation_id: str | None


class MessageHandled(Event):
    """An agent is done with a message.

    Attributes:
        agent: the agent's name.
        envelope_id: the envelope's id.
        message_type: the body's `Message.type_name`.
        outcome: what became of it (`MessageOutcome`).
        duration: seconds its handler ran (0.0 for ``unhandled`` and ``expired``; None when
            the system runs with ``metrics=False`` and the agent keeps no flight recording).
    """

    agent: str
    envelope_id: str
    message_type: str
    outcome: MessageOutcome
    duration: float | None
