"""Every error regiment raises, in one hierarchy.

```
RegimentError                      base of everything regiment raises
├── InvalidAddress (ValueError)    a name, role or address string is malformed
├── InvalidMessage (TypeError)     a body is not an actors.Message
├── InvalidEnvelope (ValueError)   JSON that does not describe a valid envelope
├── InvalidConfig (ValueError)     a mailbox, policy or system setting is out of range
├── DuplicateName (ValueError)     a name is already taken in this system
├── SystemStopped                  the system is shut down (or shutting down)
├── StartFailed                    an agent's constructor or on_start raised
├── InboxEmpty (TimeoutError)      an inbox got nothing within the reader's timeout
├── InboxClosed                    the inbox is closed: nothing more will arrive
├── PoolFull                       a pool was asked to grow past its max_size
├── InvalidMemoryEntry (ValueError) a blackboard key or value it cannot hold
├── MissingExtra (ImportError)     an optional dependency is not installed (names the extra)
├── TransportError                 the transport to other nodes failed (connect, registry)
├── DeliveryError                  a message could not be delivered or handled
│   ├── UnknownAddress             no agent has that name / holds that role
│   ├── AgentUnavailable           the agent stopped before handling the message
│   ├── MailboxFull                a bounded mailbox refused the message
│   ├── MessageTooLarge            the encoded envelope is over the transport's size limit
│   ├── PolicyViolation            the send policy denied or rate-limited the send
│   │   ├── ToolDenied             the tool policy does not let the agent call the tool
│   │   └── ToolRateLimited        a tool rate limit refused the call
│   └── UnhandledMessage           the agent has no handler for the message's type
└── AskError                       an ask did not produce a reply
    ├── AskTimeout (TimeoutError)  no reply within the timeout
    ├── AgentFailed                the handler raised (the original is __cause__)
    ├── AskToSelf                  an agent asked itself from inside a handler
    ├── AskCycle                   a blocking ask would close a cycle of blocked agents
    └── Cancelled                  the request was cancelled (Request.cancel)
```

`InvalidToolArguments` (a `RegimentError` and a `ValueError`): a tool call's arguments do not
match the tool's signature.

The ``regiment`` command raises `actors._app.AppError` (a `RegimentError`) for an ``APP``
argument that names no usable application; it prints it as one line, never a traceback.

`supervision` adds `SupervisionError` (with `InvalidTree` and `EscalationError`) under
`RegimentError`.

Errors carry their context as attributes (the offending name, address, agent, envelope), and
their message names it, so a log line alone says what went wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.envelope import Envelope


class RegimentError(Exception):
    """Base class of every error raised by regiment."""


class InvalidAddress(RegimentError, ValueError):
    """A name, role or address is malformed.

    Attributes:
        value: the rejected value.
    """

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        self.value = value


class InvalidMessage(RegimentError, TypeError):
    """A message body is not an instance of `actors.Message`.

    Attributes:
        value: the rejected body.
    """

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        self.value = value


class InvalidEnvelope(RegimentError, ValueError):
    """Text that does not decode to a valid envelope.

    Attributes:
        field: dotted path of the offending field (``"<json>"`` for malformed JSON).
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidConfig(RegimentError, ValueError):
    """A configuration value (mailbox, policy, system setting) is out of range."""


class DuplicateName(RegimentError, ValueError):
    """The name is already taken by another agent or supervisor of the same system.

    Attributes:
        name: the contested name.
    """

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class SystemStopped(RegimentError):
    """The actor system has been shut down; it accepts no new work."""


class StartFailed(RegimentError):
    """An agent's constructor or ``on_start`` raised while it was being started.

    The original exception is ``__cause__``.

    Attributes:
        agent: name of the agent that failed to start.
    """

    def __init__(self, message: str, agent: str) -> None:
        super().__init__(message)
        self.agent = agent


class InboxEmpty(RegimentError, TimeoutError):
    """`Inbox.get` (or ``get_async``) waited its whole timeout and nothing arrived.

    A `TimeoutError`, as `AskTimeout` is: ``except TimeoutError`` catches both.

    Attributes:
        inbox: the inbox's name.
        timeout: how long the reader waited, in seconds.
    """

    def __init__(self, message: str, inbox: str, timeout: float) -> None:
        super().__init__(message)
        self.inbox = inbox
        self.timeout = timeout


class InboxClosed(RegimentError):
    """The inbox is closed (by `Inbox.close` or the system's shutdown): it gets nothing more.

    Attributes:
        inbox: the inbox's name.
    """

    def __init__(self, message: str, inbox: str) -> None:
        super().__init__(message)
        self.inbox = inbox


class PoolFull(RegimentError):
    """A pool was asked to grow past its ``max_size`` (nothing was started).

    Attributes:
        pool: the pool's name.
        max_size: the most members it may have.
        requested: the size asked for.
    """

    def __init__(self, message: str, pool: str, max_size: int, requested: int) -> None:
        super().__init__(message)
        self.pool = pool
        self.max_size = max_size
        self.requested = requested


class InvalidMemoryEntry(RegimentError, ValueError):
    """A blackboard (`actors.memory.Blackboard`) key or value it cannot hold.

    Keys are non-empty strings; values are JSON-compatible (and survive a JSON round-trip
    unchanged) or `actors.Message` instances.

    Attributes:
        key: the key concerned (the ``repr`` of a key that is not a string).
    """

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class MissingExtra(RegimentError, ImportError):
    """A feature needs an optional dependency that is not installed.

    The message names the ``pip install 'regiment[<extra>]'`` command that installs it.

    Attributes:
        name: the missing module (as `ImportError` has it).
        extra: the regiment extra that installs it (``"cli"`` for ``rich``).
    """

    def __init__(self, message: str, module: str, extra: str) -> None:
        super().__init__(message, name=module)
        self.extra = extra


class TransportError(RegimentError):
    """The transport joining this system to other nodes failed (see `actors.nats`).

    Raised where the failure is met: connecting at `ActorSystem` creation, or a registry
    request (claiming a name) the servers did not answer in time. The cause is chained.
    """


class DeliveryError(RegimentError):
    """A message could not be delivered to, or handled by, its recipient.

    Attributes:
        envelope: the envelope concerned, when there is one.
    """

    def __init__(self, message: str, envelope: Envelope | None = None) -> None:
        super().__init__(message)
        self.envelope = envelope


class UnknownAddress(DeliveryError):
    """No live agent has the name, or holds the role, that the address names.

    Attributes:
        address: the address (string form) that did not resolve.
        reason: ``"unknown_address"`` or ``"no_role_member"``.
    """

    def __init__(
        self,
        message: str,
        address: str,
        reason: str = "unknown_address",
        envelope: Envelope | None = None,
    ) -> None:
        super().__init__(message, envelope)
        self.address = address
        self.reason = reason


class AgentUnavailable(DeliveryError):
    """The agent stopped (or discarded its queue on restart) before handling the message.

    Attributes:
        agent: the agent's name.
    """

    def __init__(self, message: str, agent: str, envelope: Envelope | None = None) -> None:
        super().__init__(message, envelope)
        self.agent = agent


class MailboxFull(DeliveryError):
    """A bounded mailbox refused a message (or dropped it to make room for a newer one).

    Attributes:
        agent: the owner of the mailbox.
        capacity: the mailbox's capacity.
    """

    def __init__(
        self, message: str, agent: str, capacity: int, envelope: Envelope | None = None
    ) -> None:
        super().__init__(message, envelope)
        self.agent = agent
        self.capacity = capacity


class MessageTooLarge(DeliveryError):
    """A message for another node is larger, encoded, than the transport allows.

    Raised at the sender, before anything is sent.

    Attributes:
        size: the encoded envelope's size in bytes.
        limit: the transport's limit in bytes.
    """

    def __init__(
        self, message: str, size: int, limit: int, envelope: Envelope | None = None
    ) -> None:
        super().__init__(message, envelope)
        self.size = size
        self.limit = limit


class PolicyViolation(DeliveryError):
    """The system's send policy refused the send.

    Attributes:
        sender: the sending agent's name (None for a caller outside the system).
        address: the address (string form) the send was meant for.
        reason: ``"policy_denied"`` or ``"rate_limited"``.
    """

    def __init__(
        self,
        message: str,
        sender: str | None,
        address: str,
        reason: str,
        envelope: Envelope | None = None,
    ) -> None:
        super().__init__(message, envelope)
        self.sender = sender
        self.address = address
        self.reason = reason


class UnhandledMessage(DeliveryError):
    """The agent has no handler for the message's type.

    Attributes:
        agent: the agent's name.
        message_type: the unhandled body's class.
    """

    def __init__(
        self, message: str, agent: str, message_type: type[Any], envelope: Envelope | None = None
    ) -> None:
        super().__init__(message, envelope)
        self.agent = agent
        self.message_type = message_type


class AskError(RegimentError):
    """An ask did not produce a reply."""


class AskTimeout(AskError, TimeoutError):
    """No reply arrived within the ask's timeout.

    Attributes:
        timeout: the timeout, in seconds.
    """

    def __init__(self, message: str, timeout: float | None) -> None:
        super().__init__(message)
        self.timeout = timeout


class AgentFailed(AskError):
    """The handler raised while handling an ask; the original exception is ``__cause__``.

    Attributes:
        agent: the name of the agent whose handler raised.
    """

    def __init__(self, message: str, agent: str) -> None:
        super().__init__(message)
        self.agent = agent


class AskToSelf(AskError):
    """An agent asked itself from inside one of its handlers, which could never be answered.

    Attributes:
        agent: the agent's name.
    """

    def __init__(self, message: str, agent: str) -> None:
        super().__init__(message)
        self.agent = agent


class AskCycle(AskError):
    """A blocking ask would close a cycle of agents each blocked in an ask on the next.

    Agent ``a`` blocks in ``self.ask("b", ...)`` while ``b`` blocks in an ask on ``a``: neither
    can ever answer, so the ask that closes the cycle fails at once instead of at its timeout
    (see `AgentActor.ask`). Only blocking waits count (``ask``, or ``get()`` on an ask's future
    inside a handler); ``ask_future`` with a callback, ``await ask_async``, ``defer`` and
    ``gather`` block nothing and are never refused.

    Attributes:
        cycle: the agents' names along the cycle, starting and ending with the asker
            (``("a", "b", "a")``).
    """

    def __init__(self, message: str, cycle: tuple[str, ...]) -> None:
        super().__init__(message)
        self.cycle = cycle


class Cancelled(AskError):
    """A request was cancelled (`actors.Request.cancel`, or a gather's ``cancel``).

    Its future fails with it at once. Inside the handler of a cancelled request,
    ``self.check_cancelled()`` raises it, to stop long work cooperatively; raised there, it
    ends the request quietly (it is not a failure of the agent).

    Attributes:
        request: what was cancelled, as a string (the envelope id).
    """

    def __init__(self, message: str, request: str | None = None) -> None:
        super().__init__(message)
        self.request = request


class ToolDenied(PolicyViolation):
    """The tool policy does not let the agent call the tool (see `actors.tools`).

    A `PolicyViolation` with ``sender`` the agent, ``address`` ``"tool:<name>"`` and
    ``reason`` ``"policy_denied"``.

    Attributes:
        agent: the calling agent's name.
        tool: the tool's name.
        detail: why, in words (the granted and the required level, or "no such tool").
        granted: the agent's level on the tool (None for an unknown tool).
        required: the tool's level (None for an unknown tool).
    """

    def __init__(
        self,
        message: str,
        agent: str,
        tool: str,
        detail: str,
        *,
        granted: Any = None,
        required: Any = None,
    ) -> None:
        super().__init__(message, agent, f"tool:{tool}", "policy_denied")
        self.agent = agent
        self.tool = tool
        self.detail = detail
        self.granted = granted
        self.required = required


class ToolRateLimited(PolicyViolation):
    """A tool rate limit refused the call (see `actors.tools`).

    A `PolicyViolation` with ``sender`` the agent, ``address`` ``"tool:<name>"`` and
    ``reason`` ``"rate_limited"``.

    Attributes:
        agent: the calling agent's name.
        tool: the tool's name.
        detail: which limit refused it, in words.
        retry_after: seconds until the limit allows another call.
    """

    def __init__(
        self, message: str, agent: str, tool: str, detail: str, *, retry_after: float = 0.0
    ) -> None:
        super().__init__(message, agent, f"tool:{tool}", "rate_limited")
        self.agent = agent
        self.tool = tool
        self.detail = detail
        self.retry_after = retry_after


class InvalidToolArguments(RegimentError, ValueError):
    """A tool call's arguments do not match the tool's signature.

    Pydantic's ``ValidationError`` is ``__cause__``.

    Attributes:
        tool: the tool's name.
        fields: the offending fields (dotted paths; ``"<arguments>"`` for the whole).
        agent: the calling agent's name, when an agent called.
    """

    def __init__(
        self, message: str, tool: str, fields: tuple[str, ...], agent: str | None = None
    ) -> None:
        super().__init__(message)
        self.tool = tool
        self.fields = fields
        self.agent = agent
