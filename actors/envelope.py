"""Envelopes: the metadata every message travels with.

An envelope is created for every send, so it is a plain ``__slots__`` class, not a pydantic
model: building one costs about as much as a tuple of its fields. It round-trips through JSON
(`Envelope.to_json` / `Envelope.from_json`) with a ``type`` discriminator naming the body's
registered `Message` class; bad JSON raises `InvalidEnvelope` naming the offending field.
A `Broadcast` that includes its sender adds ``"include_self": true`` (for ``to``) or
``"reply_to_include_self": true`` (for ``reply_to``): the address string cannot carry the flag.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from actors.address import Address, Broadcast, parse_address, validate_name
from actors.errors import InvalidAddress, InvalidEnvelope
from actors.messages import Kind, Message, Priority, message_type

if TYPE_CHECKING:
    from actors.future import Future

__all__ = ["Envelope", "make_envelope", "new_id"]

_ID_PREFIX = os.urandom(4).hex()
_id_counter = itertools.count(1)


def new_id() -> str:
    """Return a new envelope id, unique across processes (random prefix plus a counter)."""
    return _format_id(next(_id_counter))


def _format_id(seq: int) -> str:
    return f"{_ID_PREFIX}-{seq:x}"


class Envelope:
    """A message body plus its routing and tracing metadata.

    Attributes:
        id: unique id of this envelope.
        sender: name of the sending agent, or None for a caller outside the system.
        to: the address it was sent to.
        body: the `Message`.
        kind: a `Kind` or a custom short string.
        priority: a `Priority`; only a priority mailbox acts on it.
        correlation_id: id shared by a conversation (an ask and its reply share one).
        causation_id: id of the envelope being handled when this one was sent.
        reply_to: where replies go when this is a tell (None: to the sender).
        created_at: wall-clock creation time, seconds since the epoch.
        deadline: wall-clock time after which it is skipped and dead-lettered, or None.
        future: the asker's reply future (never serialised), or None for a tell.

    Two envelopes are equal when every serialised field is: ``to`` and ``reply_to`` are
    compared as addresses (so ``Broadcast(include_self=True)`` differs from ``Broadcast()``),
    the body by its type and JSON form; ``future`` is ignored.

    In JSON, ``to`` and ``reply_to`` are address strings (``"coder-1"``, ``"role:coder"``,
    ``"*"``, ``"*:coder"``). A string cannot say whether a broadcast includes its sender, so
    `to_dict` adds ``"include_self": true`` when ``to`` is a `Broadcast` with the flag set, and
    ``"reply_to_include_self": true`` when ``reply_to`` is; the keys are absent otherwise, so
    the common case is unchanged and readers that predate them still accept the envelope.
    """

    __slots__ = (
        "_id",
        "body",
        "causation_id",
        "correlation_id",
        "created_at",
        "deadline",
        "future",
        "kind",
        "priority",
        "reply_to",
        "sender",
        "to",
    )

    def __init__(
        self,
        body: Message,
        to: Address,
        *,
        sender: str | None = None,
        kind: str = Kind.EVENT,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        reply_to: Address | None = None,
        deadline: float | None = None,
        future: Future[Any] | None = None,
        id: str | None = None,  # noqa: A002 - the field is called id
        created_at: float | None = None,
    ) -> None:
        self._id: str | int = next(_id_counter) if id is None else id
        self.sender = sender
        self.to = to
        self.body = body
        self.kind = kind
        self.priority = priority
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.reply_to = reply_to
        self.created_at = time.time() if created_at is None else created_at
        self.deadline = deadline
        self.future = future

    @property
    def id(self) -> str:
        """Unique id of this envelope (formatted on first use: most are never looked at)."""
        value = self._id
        if type(value) is int:
            value = self._id = _format_id(value)
        return value  # type: ignore[return-value]  # int only until first formatted

    def __repr__(self) -> str:
        return (
            f"Envelope(id={self.id!r}, {type(self.body).__name__} "
            f"{self.sender or '<outside>'} -> {self.to}, kind={self.kind!s})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Envelope):
            return NotImplemented
        # Addresses compare as dataclasses (include_self included), not by whatever their
        # JSON encoding happens to keep.
        return (
            self.to == other.to
            and self.reply_to == other.reply_to
            and self.to_dict() == other.to_dict()
        )

    __hash__ = None  # type: ignore[assignment]  # mutable metadata: not hashable

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (the reply future is left out).

        ``include_self`` / ``reply_to_include_self`` appear only when true (see the class).
        """
        data = {
            "id": self.id,
            "type": type(self.body).type_name,
            "sender": self.sender,
            "to": str(self.to),
            "kind": str(self.kind),
            "priority": self.priority.name.lower(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "reply_to": None if self.reply_to is None else str(self.reply_to),
            "created_at": self.created_at,
            "deadline": self.deadline,
            "body": self.body.model_dump(mode="json"),
        }
        if _includes_self(self.to):
            data["include_self"] = True
        if _includes_self(self.reply_to):
            data["reply_to_include_self"] = True
        return data

    def to_json(self) -> str:
        """Serialise to JSON; the body's class is named by the ``type`` field."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Rebuild an envelope from `to_json` output.

        Raises:
            InvalidEnvelope: on malformed JSON (field ``"<json>"``), an unknown ``type``, or a
                bad field; ``field`` names it (``"body.title"`` for a field of the body).
        """
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            msg = f"invalid envelope: malformed JSON ({exc})"
            raise InvalidEnvelope(msg, "<json>") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: object) -> Envelope:
        """Rebuild an envelope from `to_dict` output.

        Raises:
            InvalidEnvelope: as for `from_json`.
        """
        if not isinstance(data, dict):
            msg = f"invalid envelope: expected a JSON object, got {type(data).__name__}"
            raise InvalidEnvelope(msg, "<json>")
        type_name = _required(data, "type", str)
        body_class = message_type(type_name)
        if body_class is None:
            msg = f"invalid envelope field 'type': no message class registered as {type_name!r}"
            raise InvalidEnvelope(msg, "type")
        raw_body = data.get("body")
        try:
            body = body_class.model_validate(raw_body)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in ("body", *error["loc"]))
            msg = f"invalid envelope field {where!r}: {error['msg']}"
            raise InvalidEnvelope(msg, where) from exc
        sender = _optional(data, "sender", str)
        if sender is not None:
            _checked(data, "sender", validate_name)
        to = _address(data, "to", "include_self", required=True)
        reply_to = _address(data, "reply_to", "reply_to_include_self", required=False)
        kind = _required(data, "kind", str)
        if not kind or len(kind) > 64:
            msg = f"invalid envelope field 'kind': {kind!r} must be 1-64 characters"
            raise InvalidEnvelope(msg, "kind")
        priority = _checked(data, "priority", Priority.parse)
        created_at = _number(data, "created_at", required=True)
        assert to is not None  # required=True above
        return cls(
            body,
            to,
            sender=sender,
            kind=_kind(kind),
            priority=priority,
            correlation_id=_optional(data, "correlation_id", str),
            causation_id=_optional(data, "causation_id", str),
            reply_to=reply_to,
            deadline=_number(data, "deadline", required=False),
            id=_required(data, "id", str),
            created_at=created_at,
        )


def make_envelope(  # noqa: PLR0917 - positional on purpose: the hot path
    body: Message,
    to: Address,
    sender: str | None,
    kind: str,
    priority: Priority,
    correlation_id: str | None,
    causation_id: str | None,
    reply_to: Address | None,
    deadline: float | None,
    future: Future[Any] | None,
) -> Envelope:
    """Build an envelope on the send path: positional, no defaults, about half the cost."""
    envelope = _new(Envelope)
    envelope._id = next(_id_counter)
    envelope.sender = sender
    envelope.to = to
    envelope.body = body
    envelope.kind = kind
    envelope.priority = priority
    envelope.correlation_id = correlation_id
    envelope.causation_id = causation_id
    envelope.reply_to = reply_to
    envelope.created_at = _time()
    envelope.deadline = deadline
    envelope.future = future
    return envelope


_new = object.__new__
_time = time.time


def _includes_self(address: Address | None) -> bool:
    return type(address) is Broadcast and address.include_self


def _kind(value: str) -> str:
    try:
        return Kind(value)
    except ValueError:
        return value


def _required(data: dict[str, Any], field: str, kind: type[Any]) -> Any:
    if field not in data:
        msg = f"invalid envelope field {field!r}: missing"
        raise InvalidEnvelope(msg, field)
    return _optional(data, field, kind)


def _optional(data: dict[str, Any], field: str, kind: type[Any]) -> Any:
    value = data.get(field)
    if value is not None and not isinstance(value, kind):
        msg = f"invalid envelope field {field!r}: expected {kind.__name__}, got {value!r}"
        raise InvalidEnvelope(msg, field)
    return value


def _checked(data: dict[str, Any], field: str, check: Any) -> Any:
    try:
        return check(data.get(field))
    except (ValueError, TypeError) as exc:
        msg = f"invalid envelope field {field!r}: {exc}"
        raise InvalidEnvelope(msg, field) from exc


def _address(data: dict[str, Any], field: str, flag: str, *, required: bool) -> Address | None:
    value = _required(data, field, str) if required else _optional(data, field, str)
    include_self = data.get(flag, False)
    if type(include_self) is not bool:
        msg = f"invalid envelope field {flag!r}: expected true or false, got {include_self!r}"
        raise InvalidEnvelope(msg, flag)
    if value is None:
        if include_self:
            msg = f"invalid envelope field {flag!r}: set, but {field!r} is null"
            raise InvalidEnvelope(msg, flag)
        return None
    try:
        address = parse_address(value)
    except InvalidAddress as exc:
        msg = f"invalid envelope field {field!r}: {exc}"
        raise InvalidEnvelope(msg, field) from exc
    if not include_self:
        return address
    if type(address) is not Broadcast:
        msg = f"invalid envelope field {flag!r}: only a broadcast can include itself, not {value!r}"
        raise InvalidEnvelope(msg, flag)
    return Broadcast(address.role, include_self=True)


def _number(data: dict[str, Any], field: str, *, required: bool) -> float | None:
    value = _required(data, field, object) if required else data.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"invalid envelope field {field!r}: expected a number, got {value!r}"
        raise InvalidEnvelope(msg, field)
    return float(value)
