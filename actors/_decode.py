"""Decoding an envelope from untrusted JSON: every check `Envelope.from_dict` makes.

The rules, field by field, are in `actors.envelope`'s module docstring. Everything here raises
`InvalidEnvelope` and nothing else, naming the offending field.
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

from pydantic import ValidationError

from actors.address import Address, Broadcast, parse_address, validate_name
from actors.errors import InvalidAddress, InvalidEnvelope
from actors.messages import Kind, Message, Priority, UnknownMessage, message_type

__all__ = ["UNKNOWN_POLICIES", "decode_fields"]

UNKNOWN_POLICIES = ("error", "keep")


def decode_fields(
    data: object, unknown: Literal["error", "keep"] = "error"
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of `Envelope` for decoded JSON ``data``.

    ``unknown="keep"`` turns a ``type`` no class is registered under into an `UnknownMessage`
    body (the body must still be a JSON object); ``"error"`` refuses it.

    Raises:
        InvalidEnvelope: for anything that is not a valid envelope.
    """
    if not isinstance(data, dict):
        msg = f"invalid envelope: expected a JSON object, got {_show(data)}"
        raise InvalidEnvelope(msg, "<json>")
    envelope_id = _required_text(data, "id", _MAX_ID)
    type_name = _required_text(data, "type", None)
    body_class = message_type(type_name)
    body: Message
    if body_class is not None:
        body = _body(body_class, data.get("body"))
    elif unknown == "keep":
        body = _unknown_body(type_name, data.get("body"))
    else:
        msg = f"invalid envelope field 'type': no message class registered as {_show(type_name)}"
        raise InvalidEnvelope(msg, "type")
    sender = _text(data, "sender", _MAX_NAME)
    if sender is not None:
        try:
            validate_name(sender, "sender")
        except InvalidAddress as exc:
            msg = f"invalid envelope field 'sender': {exc}"
            raise InvalidEnvelope(msg, "sender") from exc
    to = _address(data, "to", "include_self", required=True)
    kind = _required_text(data, "kind", _MAX_KIND)
    created_at = _timestamp(data, "created_at")
    if created_at is None:
        raise InvalidEnvelope(_absent(data, "created_at"), "created_at")
    return (body, to), dict(
        sender=sender,
        kind=_kind(kind),
        priority=_priority(data.get("priority")),
        correlation_id=_text(data, "correlation_id", _MAX_ID),
        causation_id=_text(data, "causation_id", _MAX_ID),
        reply_to=_address(data, "reply_to", "reply_to_include_self", required=False),
        deadline=_timestamp(data, "deadline"),
        id=envelope_id,
        created_at=created_at,
    )


# Length caps for decoded strings. Ids: new_id() writes 17 characters; 128 leaves room for
# other id schemes (UUIDs, prefixed ids) while keeping a hostile document from storing
# megabytes in every envelope. Names are slugs of at most 64 (actors.address); the longest
# address string is "role:" plus a name.
_MAX_ID = 128
_MAX_KIND = 64
_MAX_NAME = 64
_MAX_ADDRESS = len("role:") + _MAX_NAME
_SHOW_CHARS = 40


def _kind(value: str) -> str:
    try:
        return Kind(value)
    except ValueError:
        return value


def _show(value: object) -> str:
    """Describe a decoded value for an error message, safely and briefly.

    ``repr`` is not safe on hostile data: it fails on integers of more than 4300 digits and on
    deeply nested lists, and a megabyte string would end up in every log line.
    """
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int):
        bits = value.bit_length()
        return repr(value) if bits <= 64 else f"an integer of {bits} bits"
    if isinstance(value, str):
        if len(value) <= _SHOW_CHARS:
            return repr(value)
        return f"{value[:_SHOW_CHARS]!r}... ({len(value)} characters)"
    return f"a value of type {type(value).__name__}"


def _absent(data: dict[str, Any], field: str) -> str:
    what = "null" if field in data else "missing"
    return f"invalid envelope field {field!r}: {what}, but required"


def _text(data: dict[str, Any], field: str, limit: int | None) -> str | None:
    """Return the string ``data[field]`` (None if absent or null), checking its length."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"invalid envelope field {field!r}: expected a string, got {_show(value)}"
        raise InvalidEnvelope(msg, field)
    if not value or (limit is not None and len(value) > limit):
        most = "" if limit is None else f" of at most {limit} characters"
        msg = f"invalid envelope field {field!r}: expected a non-empty string{most}"
        msg += f", got {_show(value)}"
        raise InvalidEnvelope(msg, field)
    return value


def _required_text(data: dict[str, Any], field: str, limit: int | None) -> str:
    value = _text(data, field, limit)
    if value is None:
        raise InvalidEnvelope(_absent(data, field), field)
    return value


def _body(body_class: type[Message], raw: object) -> Message:
    """Validate the body; any error, even one pydantic does not wrap, is `InvalidEnvelope`."""
    if not isinstance(raw, dict):
        what = "missing" if raw is None else f"expected a JSON object, got {_show(raw)}"
        msg = f"invalid envelope field 'body': {what}"
        raise InvalidEnvelope(msg, "body")
    try:
        return body_class.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        loc = errors[0]["loc"] if errors else ()
        where = ".".join(str(part) for part in ("body", *loc))
        reason = errors[0]["msg"] if errors else "invalid"
        msg = f"invalid envelope field {where!r}: {reason}"
        raise InvalidEnvelope(msg, where) from exc
    except Exception as exc:
        # pydantic wraps only ValueError and AssertionError from a model's own validators; a
        # TypeError, KeyError or RecursionError (nested bodies) would otherwise escape.
        msg = (
            f"invalid envelope field 'body': {body_class.__name__} validation raised "
            f"{type(exc).__name__}"
        )
        raise InvalidEnvelope(msg, "body") from exc


def _unknown_body(type_name: str, raw: object) -> UnknownMessage:
    """Keep the raw body of an unregistered type; it must still be a JSON object."""
    if not isinstance(raw, dict):
        what = "missing" if raw is None else f"expected a JSON object, got {_show(raw)}"
        msg = f"invalid envelope field 'body': {what}"
        raise InvalidEnvelope(msg, "body")
    # Decoded JSON holds JSON values only, so validating them again (a deep walk) would
    # only cost time; the dict is the caller's own, fresh from json.loads or to_dict.
    return UnknownMessage.model_construct(wire_type=type_name, fields=raw)


@overload
def _address(
    data: dict[str, Any], field: str, flag: str, *, required: Literal[True]
) -> Address: ...
@overload
def _address(
    data: dict[str, Any], field: str, flag: str, *, required: Literal[False]
) -> Address | None: ...
def _address(data: dict[str, Any], field: str, flag: str, *, required: bool) -> Address | None:
    """Return the address in ``data[field]`` (None if absent or null) with its ``flag`` key."""
    value = (
        _required_text(data, field, _MAX_ADDRESS) if required else _text(data, field, _MAX_ADDRESS)
    )
    include_self = data.get(flag, False)
    if type(include_self) is not bool:
        msg = f"invalid envelope field {flag!r}: expected true or false, got {_show(include_self)}"
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


def _priority(value: object) -> Priority:
    # Type and length first: Priority.parse's own message would repr() the hostile value.
    if (isinstance(value, str) and len(value) <= len("critical")) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) <= len(Priority)
    ):
        try:
            return Priority.parse(value)
        except ValueError:
            pass
    names = ", ".join(member.name.lower() for member in Priority)
    msg = f"invalid envelope field 'priority': expected one of {names}, got {_show(value)}"
    raise InvalidEnvelope(msg, "priority")


def _timestamp(data: dict[str, Any], field: str) -> float | None:
    """Return ``data[field]`` as a finite float (None if absent or null)."""
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"invalid envelope field {field!r}: expected a number, got {_show(value)}"
        raise InvalidEnvelope(msg, field)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        number = math.inf
    if not math.isfinite(number):
        msg = f"invalid envelope field {field!r}: expected a finite number, got {_show(value)}"
        raise InvalidEnvelope(msg, field)
    return number
