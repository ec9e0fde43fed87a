"""The restart budget (Erlang's restart intensity), as a pure function.

A supervisor may restart at most ``max_restarts`` times within ``within`` seconds. Each
restart attempt, successful or not, adds its monotonic timestamp to the history; timestamps
older than the window drop out (a restart at ``t`` counts while ``now - t < within``). If the
window then holds more than ``max_restarts`` entries, the supervisor must escalate. This is
``add_restart/1`` of OTP's ``supervisor.erl``.
"""

from __future__ import annotations

__all__ = ["add_restart"]


def add_restart(
    history: tuple[float, ...], now: float, max_restarts: int, within: float
) -> tuple[bool, tuple[float, ...]]:
    """Charge one restart at ``now`` against the budget.

    Args:
        history: timestamps of earlier restarts, oldest first.
        now: the current monotonic time.
        max_restarts: restarts allowed within the window.
        within: the window, in seconds.

    Returns:
        ``(allowed, new_history)``: ``allowed`` is False when this restart exceeds the budget
        (the supervisor escalates); ``new_history`` holds the restarts still in the window,
        this one included.
    """
    kept = (*(t for t in history if now - t < within), now)
    return len(kept) <= max_restarts, kept
