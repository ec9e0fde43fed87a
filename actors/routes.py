"""Publish by message type: where a message goes is decided by its class, not by the sender.

The broker seed's pattern: a status heartbeat is not routed, an artifact is broadcast, a
question goes to the supervisor's inbox. Routes map message classes to addresses::

    system = ActorSystem("app", routes=[
        Route(Artifact, to="*"),        # every agent
        Route(Question, to="human"),    # a name (an agent or an inbox)
        Route(Status, to=None),         # recorded only: delivered to nobody
    ])
    system.routes.add(Route(Patch, to="role:reviewer"))
    self.publish(Artifact(...))         # inside a handler; or system.publish(...)

The most specific route along the message's class hierarchy wins (a route for ``Artifact``
covers its subclasses unless one of them has a route of its own). ``to=None`` sends to
`actors.address.NOWHERE` (``"-"``): the message is counted, announced (`MessageSent`) and kept
in a message log, but nobody gets it and it is no dead letter. A message whose class no route
covers is dead-lettered ``no_route``. A published message then goes through the same send
path as an addressed one: the send policy, dead letters, traffic events.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from actors.address import Address, AddressLike, parse_address
from actors.errors import InvalidConfig
from actors.messages import Message

__all__ = ["Route", "Routes"]


@dataclass(frozen=True, slots=True)
class Route:
    """Send every published message of class ``message_type`` (and subclasses) to ``to``.

    Args:
        message_type: a `Message` subclass.
        to: a name, ``"role:<r>"``, ``"*"``, ``"*:<r>"`` or an `Address`; None: recorded
            only, delivered to nobody.

    Raises:
        InvalidConfig: if ``message_type`` is not a `Message` subclass.
        InvalidAddress: if ``to`` is malformed.
    """

    message_type: type[Message]
    to: AddressLike | None
    address: Address | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kind = self.message_type
        if not (isinstance(kind, type) and issubclass(kind, Message)):
            msg = f"a Route's message_type must be a Message subclass, got {kind!r}"
            raise InvalidConfig(msg)
        address = None if self.to is None else parse_address(self.to)
        object.__setattr__(self, "address", address)


class Routes:
    """A system's publish routes, one per message class; thread-safe (see the module)."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._lock = threading.Lock()
        self._by_type: dict[type[Message], Route] = {}
        self._resolved: dict[type, Route | None] = {}  # resolve() answers, per class
        for route in routes:
            self.add(route)

    def add(self, route: Route) -> None:
        """Add ``route``; it replaces the route of the same class, if there was one.

        Raises:
            InvalidConfig: if ``route`` is not a `Route`.
        """
        if not isinstance(route, Route):
            msg = f"routes take Route objects, got {route!r}"
            raise InvalidConfig(msg)
        with self._lock:
            self._by_type[route.message_type] = route
            self._resolved = {}

    def remove(self, route: Route | type[Message]) -> bool:
        """Remove the route of ``route``'s class (or of this class); False if there was none."""
        kind = route.message_type if isinstance(route, Route) else route
        with self._lock:
            found = self._by_type.pop(kind, None) is not None
            self._resolved = {}
        return found

    def resolve(self, kind: type) -> Route | None:
        """The route for messages of class ``kind``: the most specific along its hierarchy."""
        resolved = self._resolved
        if kind in resolved:
            return resolved[kind]
        by_type = self._by_type
        found = next((by_type[base] for base in kind.__mro__ if base in by_type), None)
        resolved[kind] = found
        return found

    def __iter__(self) -> Iterator[Route]:
        with self._lock:
            return iter(list(self._by_type.values()))

    def __len__(self) -> int:
        return len(self._by_type)

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_type
