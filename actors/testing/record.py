"""`EventRecord`: the events a system published, kept so that a test can expect them later.

`actors.testing.expect_event` and `actors.testing.expect_dead_letter` read it. A record
subscribes inline (in the publishing thread) to every event type but the traffic events
(`MessageSent`, `MessageHandled`): recording those would turn the traffic tap on for every
send (see `actors.traffic`), so they are recorded only from the first expectation of them on.

The event types are those defined when the record began; an `Event` subclass defined later
(and not a subclass of one recorded) is, like the traffic events, recorded from its first
expectation on.

Each expectation *takes* the oldest matching event it has not taken yet, so two expectations
of one event type need two such events. Dead letters nobody took are what the ``actor_system``
fixture reports as unexpected.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from actors.events import DeadLetter, Event
from actors.traffic import MessageHandled, MessageSent

if TYPE_CHECKING:
    from actors.events import EventStream, Subscription

__all__ = ["EventRecord"]

E = TypeVar("E", bound=Event)

TRAFFIC: frozenset[type[Event]] = frozenset({MessageSent, MessageHandled})
KEPT = 100_000  # the most events a record holds; the oldest go first
SHOWN = 10  # events a failure message spells out


class EventRecord:
    """Every event (but traffic ones) a system published since the record began; thread-safe.

    Made by `actors.testing.TestingHooks.record`.
    """

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream
        self._cond = threading.Condition()
        self._events: deque[list[Any]] = deque(maxlen=KEPT)  # [event, taken]
        self._subscriptions: list[Subscription] = []
        self._types: set[type[Event]] = set()
        self._subscribing = threading.Lock()  # include() may be called from any thread
        self.include(*(t for t in _event_types() if t not in TRAFFIC))

    def include(self, *event_types: type[Event]) -> None:
        """Record these event types too, from now on (a no-op for those already recorded)."""
        with self._subscribing:
            # A subclass of a recorded type is recorded already (subscriptions match by
            # isinstance): a second subscription would store each of its events twice.
            new = [t for t in event_types if not issubclass(t, tuple(self._types))]
            if not new:
                return
            self._types.update(new)
            self._subscriptions.append(self._stream.subscribe(self._add, *new, inline=True))

    def _add(self, event: Event) -> None:
        with self._cond:
            self._events.append([event, False])
            self._cond.notify_all()

    def events(self, event_type: type[E] = Event) -> list[E]:  # type: ignore[assignment]
        """The recorded events of ``event_type`` (and its subclasses), oldest first."""
        with self._cond:
            return [e for e, _ in self._events if isinstance(e, event_type)]

    def take(
        self, event_type: type[E], timeout: float, match: Callable[[E], bool], wanted: str
    ) -> E:
        """Take the oldest untaken event of ``event_type`` that ``match`` accepts.

        Waits up to ``timeout`` seconds for one to be published.

        Raises:
            AssertionError: if none came in time; the message says what was ``wanted`` and
                lists the events of that type the system did publish.
        """
        self.include(event_type)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for entry in self._events:
                    event = entry[0]
                    if not entry[1] and isinstance(event, event_type) and match(event):
                        entry[1] = True
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            seen = [e for e, _ in self._events if isinstance(e, event_type)]
        raise AssertionError(_missing(wanted, timeout, event_type, seen))

    def untaken_dead_letters(self) -> list[DeadLetter]:
        """The dead letters no `expect_dead_letter` took, oldest first."""
        with self._cond:
            return [e for e, taken in self._events if isinstance(e, DeadLetter) and not taken]

    def close(self) -> None:
        """Stop recording (what was recorded stays readable)."""
        with self._subscribing:
            for subscription in self._subscriptions:
                subscription.cancel()


def _event_types() -> list[type[Event]]:
    """Every concrete `Event` subclass defined so far (the packages define them at import)."""
    found: list[type[Event]] = []
    todo = list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _missing(wanted: str, timeout: float, event_type: type[Event], seen: Sequence[Event]) -> str:
    name = event_type.__name__
    if not seen:
        return f"expected {wanted} within {timeout:g}s; the system published no {name} at all"
    shown = "".join(f"\n  {_short(e)}" for e in seen[-SHOWN:])
    more = f" (the last {SHOWN} of {len(seen)})" if len(seen) > SHOWN else ""
    return (
        f"expected {wanted} within {timeout:g}s; the {name} events published{more} "
        f"(taken ones included):{shown}"
    )


def _short(event: Event) -> str:
    fields = {k: v for k, v in event if k not in {"system", "at"}}
    text = ", ".join(f"{k}={_value(v)}" for k, v in fields.items())
    return f"{type(event).__name__}({text})"


def _value(value: object) -> str:
    body = getattr(value, "body", None)
    if body is not None and hasattr(value, "to"):  # an envelope: its message says enough
        return f"<{type(body).__name__} to {value.to}>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
