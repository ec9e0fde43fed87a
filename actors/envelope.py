"""Envelopes: the metadata every message travels with.

An envelope is created for every send, so it is a plain ``__slots__`` class, not a pydantic
model: building one costs about as much as a tuple of its fields. It round-trips through JSON
(`Envelope.to_json` / `Envelope.from_json`) with a ``type`` discriminator naming the body's
registered `Message` class.

Decoding is meant for untrusted input: `Envelope.from_json` and `Envelope.from_dict` raise
`InvalidEnvelope` and nothing else (its ``field`` names the offending field, ``"<json>"`` when
the text is not a JSON object). The rules, field by field:

- ``id``: a string of 1-128 characters (`new_id` writes 17); ``correlation_id`` and
  ``causation_id``: null or the same;
- ``type``: the name of a registered `Message` class; ``body``: a JSON object that the class
  validates (an error raised by the class's own validators is reported on ``"body"``). With
  ``unknown="keep"`` any other ``type`` is accepted too, its ``body`` (still a JSON object)
  kept raw in an `UnknownMessage`, which `Envelope.to_json` writes back unchanged;
- ``sender``: null or a valid name; ``to``: an address string, ``reply_to``: null or one;
- ``include_self`` / ``reply_to_include_self``: optional booleans, written only when true, and
  only for a `Broadcast` in ``to`` / ``reply_to`` (the address string cannot carry the flag);
- ``kind``: a string of 1-64 characters; ``priority``: a `Priority` name or value;
- ``created_at``: a finite number; ``deadline``: null or a finite number (no booleans, no
  NaN or infinities, no integer too large for a float).

Unknown keys are ignored, so newer writers can add fields.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import TYPE_CHECKING, Any, Literal

from actors._decode import UNKNOWN_POLICIES, decode_fields
from actors.address import Address, Broadcast
from actors.errors import InvalidEnvelope
from actors.messages import Kind, Message, Priority, UnknownMessage

if TYPE_CHECKING:
    from actors.future import Future

__all__ = ["Envelope", "new_id"]

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
        deliveries: how many times it was delivered: 1, except for a durable agent's message
            redelivered after a crash (see `actors.nats`); not serialised.
        redelivered: ``deliveries > 1``: handle it idempotently, it may have been handled.

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
        "_corr",
        "_deliveries",
        "_id",
        "body",
        "causation_id",
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
        self._corr: str | int | None = correlation_id
        self.causation_id = causation_id
        self.reply_to = reply_to
        self.created_at = time.time() if created_at is None else created_at
        self.deadline = deadline
        self.future = future

    @property
    def correlation_id(self) -> str | None:
        """Id shared by every envelope of one conversation (formatted on first use)."""
        value = self._corr
        if type(value) is int:
            value = self._corr = _format_id(value)
        return value  # type: ignore[return-value]  # int only until first formatted

    @correlation_id.setter
    def correlation_id(self, value: str | None) -> None:
        self._corr = value

    @property
    def deliveries(self) -> int:
        """How many times it was delivered (more than 1 only for durable redeliveries)."""
        try:
            return self._deliveries
        except AttributeError:  # set only by a durable mailbox: most envelopes never have it
            return 1

    @deliveries.setter
    def deliveries(self, value: int) -> None:
        self._deliveries = value

    @property
    def redelivered(self) -> bool:
        """True if it was delivered before (a durable agent's message, after a crash)."""
        return self.deliveries > 1

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
        body = self.body
        if type(body) is UnknownMessage:  # passed on as it came: its own type, its raw body
            type_name: str = body.wire_type
            body_data: dict[str, Any] = dict(body.fields)
        else:
            type_name = type(body).type_name
            body_data = body.model_dump(mode="json")
        data = {
            "id": self.id,
            "type": type_name,
            "sender": self.sender,
            "to": str(self.to),
            "kind": str(self.kind),
            "priority": self.priority.name.lower(),
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "reply_to": None if self.reply_to is None else str(self.reply_to),
            "created_at": self.created_at,
            "deadline": self.deadline,
            "body": body_data,
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
    def from_json(cls, text: str | bytes, unknown: Literal["error", "keep"] = "error") -> Envelope:
        """Rebuild an envelope from `to_json` output; safe on untrusted text.

        Args:
            text: the JSON document, as text or as UTF-8 (or UTF-16/32) bytes.
            unknown: what a ``type`` no class is registered under becomes: ``"error"``
                refuses it (`InvalidEnvelope` on ``"type"``); ``"keep"`` makes the body an
                `UnknownMessage` holding the raw ``type`` and ``body``, which `to_json`
                writes back unchanged. Every other field is checked either way.

        Returns:
            A new envelope, without a reply future.

        Raises:
            InvalidEnvelope: and nothing else, for any input that is not a valid envelope (the
                rules are in the module docstring). ``field`` is ``"<json>"`` for text that is
                not JSON (undecodable bytes, bad syntax, nesting too deep for the parser) or
                not a JSON object, else the offending field (``"body.title"`` for a field of
                the body).
            ValueError: if ``unknown`` is neither ``"error"`` nor ``"keep"``.
        """
        _check_unknown(unknown)
        try:
            data = json.loads(text)
        except RecursionError as exc:
            msg = "invalid envelope: malformed JSON (nested too deeply)"
            raise InvalidEnvelope(msg, "<json>") from exc
        except (ValueError, TypeError) as exc:
            msg = f"invalid envelope: malformed JSON ({exc})"
            raise InvalidEnvelope(msg, "<json>") from exc
        return cls.from_dict(data, unknown)

    @classmethod
    def from_dict(cls, data: object, unknown: Literal["error", "keep"] = "error") -> Envelope:
        """Rebuild an envelope from `to_dict` output (or any decoded JSON value).

        Args:
            data: the decoded JSON document.
            unknown: as for `from_json`.

        Returns:
            A new envelope, without a reply future.

        Raises:
            InvalidEnvelope: as for `from_json`.
            ValueError: if ``unknown`` is neither ``"error"`` nor ``"keep"``.
        """
        _check_unknown(unknown)
        args, kwargs = decode_fields(data, unknown)
        return cls(*args, **kwargs)


_new = object.__new__
_time = time.time


def _check_unknown(unknown: object) -> None:
    if unknown not in UNKNOWN_POLICIES:
        msg = f"unknown must be 'error' or 'keep', not {unknown!r}"
        raise ValueError(msg)


def _includes_self(address: Address | None) -> bool:
    return type(address) is Broadcast and address.include_self
