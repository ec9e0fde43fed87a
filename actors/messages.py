"""User messages: frozen pydantic models that register themselves by subclassing.

Subclass `Message` to declare a message type. Instances are immutable (``frozen=True``), so one
instance can be shared by any number of threads. Every subclass is recorded in a registry under
its `type_name` (by default ``"<module>.<qualname>"``; set the class variable ``type_name`` to
choose a shorter, stable one), which `Envelope.from_json` uses to rebuild the body.
"""

from __future__ import annotations

import enum
import threading
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["Kind", "Message", "Priority", "UnknownMessage", "message_type"]

_registry: dict[str, type[Message]] = {}
_registry_lock = threading.Lock()
# Every Message class ever defined: ``type(body) in message_classes`` is a cheaper test than
# isinstance() on the send path (pydantic's metaclass implements __instancecheck__ in Python).
message_classes: set[type] = set()


class Priority(enum.IntEnum):
    """How urgent a message is; a priority mailbox hands out higher levels first."""

    LOW = 0  # background work, handled when nothing else waits
    NORMAL = 1  # the default for every send
    HIGH = 2  # overtakes NORMAL and LOW
    CRITICAL = 3  # overtakes every other user message (control messages still come first)

    @classmethod
    def parse(cls, value: object) -> Priority:
        """Accept a member, its name in any case, or its integer value.

        Raises:
            ValueError: for anything else.
        """
        if isinstance(value, Priority):
            return value
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        msg = f"invalid priority {value!r}: expected one of low, normal, high, critical"
        raise ValueError(msg)


class Kind(enum.StrEnum):
    """What an envelope carries; any other short string is accepted as a custom kind."""

    QUERY = "query"  # a request that expects an answer (the default for ask)
    RESPONSE = "response"  # the answer to a query
    STATUS = "status"  # progress or state reports
    ARTIFACT = "artifact"  # a produced piece of work (code, a document, a result)
    ERROR = "error"  # a reported failure
    EVENT = "event"  # a notification nobody needs to answer (the default for tell)


class Message(BaseModel):
    """Base class of every message body.

    Example:
        ```python
        class Task(actors.Message):
            title: str
            effort: int = 1
        ```

    Subclasses are frozen pydantic v2 models and are registered under `type_name` for JSON
    round-trips. A later class registered under the same name replaces the earlier one.

    Unknown fields are rejected (``extra="forbid"``): ``Task(titel="x")`` raises pydantic's
    ``ValidationError`` where it is built, instead of sending a message whose ``title`` is
    missing or left at its default. A subclass that sets its own ``model_config`` inherits
    this unless it says otherwise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str] = "actors.messages.Message"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Register the subclass under its type name."""
        super().__pydantic_init_subclass__(**kwargs)
        if "type_name" not in cls.__dict__:
            cls.type_name = f"{cls.__module__}.{cls.__qualname__}"
        with _registry_lock:
            _registry[cls.type_name] = cls
            message_classes.add(cls)


message_classes.add(Message)


class UnknownMessage(Message):
    """A body whose ``type`` no class in this process is registered under, kept as it came.

    `Envelope.from_json` (and ``from_dict``) produce one with ``unknown="keep"``; with the
    default ``unknown="error"`` such an envelope is refused. In an envelope it serialises back
    to the original ``type`` and ``body``, unchanged, so a router or forwarder passes on
    message types it does not know (new types are additive: old readers ignore them).

    It is an ordinary body otherwise: an agent with a handler for `UnknownMessage` gets it;
    one without gets ``on_unhandled``, as for any type it does not handle. It is not in the
    registry, so no envelope decodes into it by naming its ``type_name``: such an envelope is
    itself unknown, and kept (or refused) like any other.

    Attributes:
        wire_type: the envelope's ``type`` as it was on the wire.
        fields: the envelope's ``body`` object, raw (JSON values only).
    """

    type_name: ClassVar[str] = "actors.messages.UnknownMessage"

    wire_type: str = Field(min_length=1)
    fields: dict[str, JsonValue]


# Not a registered type: decoding never produces it from its own type_name (see its docstring).
with _registry_lock:
    del _registry[UnknownMessage.type_name]


def wire_name(body: Message) -> str:
    """The type name ``body`` travels under (what events, logs and recordings show).

    Its class's `Message.type_name`, or, for an `UnknownMessage`, the type it came with.
    """
    if isinstance(body, UnknownMessage):
        return body.wire_type
    return body.type_name


def message_type(type_name: str) -> type[Message] | None:
    """Return the message class registered under ``type_name``, or None."""
    return _registry.get(type_name)


def registered_types() -> dict[str, type[Message]]:
    """A snapshot of the registry: {type name: class} of every decodable message type."""
    with _registry_lock:
        return dict(_registry)
