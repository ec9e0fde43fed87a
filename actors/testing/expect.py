"""`expect_event` and `expect_dead_letter`: wait for what a system published, or fail clearly.

```python
crash = expect_event(system, AgentCrashed, name="coder-1")      # timeout=1.0 by default
letter = expect_dead_letter(system, "unhandled", timeout=2.0)   # a DeadLetterReason or its str
```

Both read the system's `EventRecord` (``system.testing.record()``), so they also find what was
published *before* the call, from the moment the record began: the ``actor_system`` fixture
starts it with the system; on a system of your own, call ``system.testing.record()`` right
after building it. Each call takes the oldest matching event it has not taken yet. Traffic
events (`MessageSent`, `MessageHandled`) are recorded only from their first expectation on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from actors._timeouts import check_timeout
from actors.events import DeadLetter, DeadLetterReason, Event

if TYPE_CHECKING:
    from actors.messages import Message
    from actors.system import ActorSystem

__all__ = ["expect_dead_letter", "expect_event"]

E = TypeVar("E", bound=Event)


def expect_event(
    system: ActorSystem, event_type: type[E], timeout: float = 1.0, **fields: Any
) -> E:
    """Take the oldest untaken ``event_type`` event whose fields equal ``fields``.

    Waits up to ``timeout`` seconds for it to be published.

    Returns:
        The event.

    Raises:
        AssertionError: if none came in time; the message lists the ``event_type`` events
            the system did publish.
    """
    check_timeout(timeout)
    wanted = _describe(event_type.__name__, fields)
    missing = object()

    def match(event: E) -> bool:
        return all(getattr(event, k, missing) == v for k, v in fields.items())

    return system.testing.record().take(event_type, timeout, match, wanted)


def expect_dead_letter(
    system: ActorSystem,
    reason: DeadLetterReason | str,
    timeout: float = 1.0,
    *,
    message_type: type[Message] | None = None,
) -> DeadLetter:
    """Take the oldest untaken dead letter with this ``reason`` (and message type, if given).

    A dead letter taken here is expected: the ``actor_system`` fixture does not report it.

    Returns:
        The `DeadLetter` event (``.envelope``, ``.reason``, ``.detail``).

    Raises:
        AssertionError: if none came within ``timeout``; lists the dead letters there were.
        ValueError: for a reason that is no `DeadLetterReason`.
    """
    check_timeout(timeout)
    wanted_reason = DeadLetterReason(reason)

    def match(letter: DeadLetter) -> bool:
        if letter.reason != wanted_reason:
            return False
        return message_type is None or isinstance(letter.envelope.body, message_type)

    fields: dict[str, Any] = {"reason": wanted_reason.value}
    if message_type is not None:
        fields["message_type"] = message_type.__name__
    wanted = _describe("DeadLetter", fields)
    return system.testing.record().take(DeadLetter, timeout, match, wanted)


def _describe(name: str, fields: dict[str, Any]) -> str:
    if not fields:
        return f"a {name} event"
    return f"a {name} event with " + ", ".join(f"{k}={v!r}" for k, v in fields.items())
