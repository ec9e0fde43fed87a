"""Addresses: who a message is for.

Four kinds, each with a string form that parses back to it:

- ``Direct("coder-1")``, written ``"coder-1"``: the agent with that unique name;
- ``Role("coder")``, written ``"role:coder"``: exactly one live agent holding the role,
  chosen round-robin;
- ``Broadcast()``, written ``"*"``: every live agent except the sender;
- ``Broadcast(role="coder")``, written ``"*:coder"``: every live agent holding the role,
  except the sender;
- ``NOWHERE``, written ``"-"``: nobody (the message is recorded, never delivered).

Names and roles are lowercase slugs: 1 to 64 characters from ``a-z``, ``0-9``, ``-`` and ``_``,
starting with a letter or a digit. They travel unchanged to NATS subjects later, which is why
dots and upper case are refused. A bad one raises `InvalidAddress` where it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from actors.errors import InvalidAddress

__all__ = [
    "NOWHERE",
    "Address",
    "AddressLike",
    "Broadcast",
    "Direct",
    "Nowhere",
    "Role",
    "parse_address",
    "validate_name",
]

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def validate_name(value: object, what: str = "name") -> str:
    """Return ``value`` if it is a valid name or role, else raise.

    Args:
        value: the candidate.
        what: what the value is, for the error message ("name", "role").

    Raises:
        InvalidAddress: if ``value`` is not a lowercase slug of 1-64 characters.
    """
    if type(value) is not str or _SLUG.fullmatch(value) is None:
        msg = (
            f"invalid {what} {value!r}: use 1-64 characters of a-z, 0-9, '-' and '_', "
            "starting with a letter or digit"
        )
        raise InvalidAddress(msg, value)
    return value


@dataclass(frozen=True, slots=True)
class Direct:
    """The agent with this unique name."""

    name: str

    def __post_init__(self) -> None:
        validate_name(self.name)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Role:
    """Exactly one live agent holding this role, chosen round-robin."""

    role: str

    def __post_init__(self) -> None:
        validate_name(self.role, "role")

    def __str__(self) -> str:
        return f"role:{self.role}"


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Every live agent (holding ``role``, if given), except the sender unless ``include_self``."""

    role: str | None = None
    include_self: bool = False

    def __post_init__(self) -> None:
        if self.role is not None:
            validate_name(self.role, "role")

    def __str__(self) -> str:
        return "*" if self.role is None else f"*:{self.role}"


@dataclass(frozen=True, slots=True)
class Nowhere:
    """No agent at all, written ``"-"``: a message sent here is recorded, never delivered.

    Recorded means counted as sent, announced as `MessageSent` (to 0 recipients) and kept in a
    message log; it is not a dead letter. What a publish route with ``to=None`` sends to
    (see `actors.routes`).
    """

    def __str__(self) -> str:
        return "-"


NOWHERE = Nowhere()

Address: TypeAlias = Direct | Role | Broadcast | Nowhere
AddressLike: TypeAlias = Address | str

_cache: dict[str, Address] = {}
_CACHE_LIMIT = 10_000


def parse_address(value: AddressLike) -> Address:
    """Turn an address or its string form into an address.

    Parsed strings are cached, so parsing on the send path costs a dict lookup.

    Raises:
        InvalidAddress: if the string (or the name or role in it) is malformed.
    """
    if type(value) is str:
        cached = _cache.get(value)
        if cached is not None:
            return cached
        address = _parse(value)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[value] = address
        return address
    if isinstance(value, Direct | Role | Broadcast | Nowhere):
        return value
    msg = (
        f"invalid address {value!r}: expected a name, 'role:<role>', '*', '*:<role>' or an Address"
    )
    raise InvalidAddress(msg, value)


def _parse(text: str) -> Address:
    if text == "-":
        return NOWHERE
    if text == "*":
        return Broadcast()
    if text.startswith("*:"):
        return Broadcast(role=text[2:])
    if text.startswith("role:"):
        return Role(text[5:])
    return Direct(text)
