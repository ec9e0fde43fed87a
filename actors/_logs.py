"""Per-message DEBUG lines, written only while an application's sink wants DEBUG.

A line per handled message is too much for loguru's own default handler (stderr at DEBUG, there
before the application configures anything): an application that never touched loguru would be
flooded. So the lines are written while a sink the *application added* accepts DEBUG (any
handler but loguru's default one, id 0).

The check costs one identity test per message: loguru replaces its handler dict on every
``add`` and ``remove`` (copy on write), so an agent's loop remembers the dict it last found
quiet and looks again only when the dict changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loguru import logger

from actors.messages import wire_name

if TYPE_CHECKING:
    from actors._slot import Slot
    from actors.envelope import Envelope
    from actors.recording import MessageOutcome

__all__ = ["core", "log_message"]

core: Any = getattr(logger, "_core")  # noqa: B009 - loguru's handler registry (private; 0.7.x)
_DEBUG = 10
_DEFAULT_HANDLER = 0  # the stderr handler loguru adds at import


def debug_wanted(handlers: dict[int, Any]) -> bool:
    """True if a handler other than loguru's default one accepts DEBUG."""
    return any(
        number != _DEFAULT_HANDLER and handler.levelno <= _DEBUG
        for number, handler in handlers.items()
    )


def log_message(
    slot: Slot, envelope: Envelope, outcome: MessageOutcome, took: int | None
) -> dict[int, Any] | None:
    """Write the DEBUG line for a message if a sink wants it.

    Returns:
        The handler dict if it wants no DEBUG line (the caller skips until it changes),
        else None (look again next time).
    """
    handlers = core.handlers
    if not debug_wanted(handlers):
        return handlers  # type: ignore[no-any-return]
    duration = "" if took is None else f" in {took / 1e6:.3f} ms"
    slot.log.bind(
        msg_id=envelope.id,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
    ).debug(
        "{} {!r} took {} from {}: {}{}",
        slot.kind,
        slot.name,
        wire_name(envelope.body),
        envelope.sender or "outside",
        outcome.value,
        duration,
    )
    return None
