"""The event stream: every state change of a system, observable as an event.

Events are `Message` models (frozen pydantic), so a tap can forward them to an agent or
serialise them. What is published:

| event            | when                                                          |
| ---------------- | ------------------------------------------------------------- |
| `AgentStarted`   | an incarnation finished ``on_start`` / ``post_restart``        |
| `AgentCrashed`   | a handler (or ``on_start``) raised; ``directive`` is what the supervisor did |
| `AgentRestarted` | a new incarnation replaced a failed one                        |
| `AgentStopped`   | an agent stopped for good (it is unregistered)                 |
| `Escalated`      | a supervisor gave up and failed itself                         |
| `DeadLetter`     | a message could not be delivered or handled                    |
| `SystemFailed`   | the root supervisor escalated: the system is stopping           |

Subscribers are called synchronously in the thread where the change happens; they must be
quick and must not block (forward to a queue or ``system.tell`` for real work). A subscriber
that raises is logged and detached, so a broken tap never breaks delivery.

The reasons events carry (`DeadLetterReason`, `ExitReason`, and `actors.run.StopReason` for a
run) derive from `Reason`: string enums, each member equal to its value.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from loguru import logger
from pydantic import ConfigDict, Field, field_serializer, field_validator

from actors.envelope import Envelope
from actors.messages import Message
from actors.recording import HandledMessage

__all__ = [
    "AgentCrashed",
    "AgentRestarted",
    "AgentStarted",
    "AgentStopped",
    "DeadLetter",
    "DeadLetterReason",
    "Escalated",
    "Event",
    "EventStream",
    "ExitReason",
    "Reason",
    "Subscription",
    "SystemFailed",
    "Terminated",
]

E = TypeVar("E", bound="Event")


class Reason(enum.StrEnum):
    """Base of the reason enums (`DeadLetterReason`, `ExitReason`, `StopReason`).

    Its members are ``str``: each equals its value (``ExitReason.NORMAL == "normal"``), so
    a reason formats, logs and serialises as its plain name.
    """


class DeadLetterReason(Reason):
    """Why a message became a dead letter."""

    UNKNOWN_ADDRESS = "unknown_address"  # no agent has the name
    NO_ROLE_MEMBER = "no_role_member"  # no live agent holds the role
    STOPPED = "stopped"  # the recipient stopped before handling it
    UNHANDLED = "unhandled"  # the recipient has no handler for the body's type
    HANDLER_FAILED = "handler_failed"  # the handler raised while handling it
    EXPIRED = "expired"  # its deadline passed before it was handled
    MAILBOX_FULL = "mailbox_full"  # a bounded mailbox refused or dropped it
    RESTART_DISCARDED = "restart_discarded"  # keep_mailbox=False dropped it on a restart
    POLICY_DENIED = "policy_denied"  # the send policy does not allow this sender/target
    RATE_LIMITED = "rate_limited"  # the sender exceeded its rate limit
    SHUTDOWN = "shutdown"  # still queued when its system stopped (asks fail with SystemStopped)


class ExitReason(Reason):
    """Why an agent stopped for good (carried by `Terminated` and `AgentStopped`)."""

    NORMAL = "normal"  # it was asked to stop, or stopped itself
    FAILED = "failed"  # its supervisor stopped it after a failure (or gave up on it)
    MAX_MESSAGES = "max_messages"  # it reached its max_messages guard
    SHUTDOWN = "shutdown"  # its system shut down
    START_FAILED = "start_failed"  # its first start failed
    NOT_FOUND = "not_found"  # it was already gone when it was watched


class Event(Message):
    """Base class of everything published on a system's event stream.

    Attributes:
        system: name of the system that published it.
        at: wall-clock time it happened (seconds since the epoch).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    system: str
    at: float = Field(default_factory=time.time)


class DeadLetter(Event):
    """A message that could not be delivered or handled."""

    envelope: Envelope
    reason: DeadLetterReason
    detail: str | None = None

    @field_serializer("envelope")
    def _envelope_json(self, envelope: Envelope) -> dict[str, Any]:
        return envelope.to_dict()

    @field_validator("envelope", mode="before")
    @classmethod
    def _envelope_from_json(cls, value: object) -> object:
        return Envelope.from_dict(value) if isinstance(value, dict) else value


class AgentStarted(Event):
    """An incarnation of an agent (or supervisor) has started and is taking messages."""

    name: str
    kind: str
    restarts: int


class AgentCrashed(Event):
    """A handler, ``on_start`` or ``post_restart`` raised.

    Attributes:
        error: ``repr`` of the exception.
        error_type: qualified name of the exception's class.
        directive: what the supervisor decided (restart, resume, stop, escalate), or None
            before it decided.
        recent: the agent's flight recording when it failed (`HandledMessage` summaries of
            the last messages it took, oldest first; the failing one last).
    """

    name: str
    error: str
    error_type: str
    directive: str | None = None
    recent: tuple[HandledMessage, ...] = ()


class AgentRestarted(Event):
    """A new incarnation replaced the previous one; ``restarts`` counts them for the slot."""

    name: str
    restarts: int


class AgentStopped(Event):
    """An agent stopped for good and was unregistered."""

    name: str
    reason: ExitReason


class LifecycleChanged(Event):
    """An agent's or supervisor's slot moved from one lifecycle state to another.

    ``previous`` and ``state`` are slot states: ``new``, ``starting``, ``running``,
    ``suspended`` (failed, awaiting its supervisor), ``restarting``, ``stopped``, ``closed``.
    """

    name: str
    kind: str
    previous: str
    state: str


class Escalated(Event):
    """A supervisor stopped its children and failed itself."""

    supervisor: str
    cause: str


class SystemFailed(Event):
    """The root supervisor escalated; the system is stopping."""

    cause: str


class Terminated(Message):
    """Delivered to every agent that watched ``name`` when it stops for good.

    Declare a handler for it (``def on_terminated(self, msg: Terminated)``) to react.
    """

    name: str
    reason: ExitReason


class Subscription:
    """A registered event callback; `cancel` (or leaving the ``with`` block) removes it."""

    def __init__(
        self,
        stream: EventStream,
        callback: Callable[[Any], object],
        types: tuple[type[Event], ...],
    ) -> None:
        self.callback = callback
        self.types = types
        self._stream = stream

    def cancel(self) -> None:
        """Stop receiving events. Idempotent."""
        self._stream._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class EventStream:
    """Publishes a system's events to subscribed callbacks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: tuple[Subscription, ...] = ()
        self._wanted: dict[type[Event], bool] = {}  # wants() answers, per event type
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the set of subscriptions changes."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def subscribe(
        self, callback: Callable[[Any], object], *event_types: type[Event]
    ) -> Subscription:
        """Call ``callback(event)`` for every published event of the given types (all if none).

        The callback runs in the publishing thread; see the module docstring.

        Raises:
            TypeError: if a type is not an `Event` subclass.
        """
        for event_type in event_types:
            if not (isinstance(event_type, type) and issubclass(event_type, Event)):
                msg = f"subscribe() takes Event subclasses, got {event_type!r}"
                raise TypeError(msg)
        sub = Subscription(self, callback, event_types or (Event,))
        with self._lock:
            self._subs = (*self._subs, sub)
            self._wanted = {}
        self._changed()
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)
            self._wanted = {}
        self._changed()

    def wants(self, event_type: type[Event]) -> bool:
        """True if some subscriber would receive events of this type (cached per type)."""
        wanted = self._wanted  # read before _subs: a change replaces both, in that order
        known = wanted.get(event_type)
        if known is None:
            known = wanted[event_type] = any(
                issubclass(event_type, sub.types) for sub in self._subs
            )
        return known

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to its subscribers, detaching any that raises."""
        for sub in self._subs:
            if isinstance(event, sub.types):
                try:
                    sub.callback(event)
                except BaseException:  # noqa: BLE001 - even a SystemExit from a tap must not break it
                    logger.opt(exception=True).error(
                        "event subscriber {!r} raised on {}; detached",
                        sub.callback,
                        type(event).__name__,
                    )
                    sub.cancel()
