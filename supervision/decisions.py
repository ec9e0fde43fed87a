"""The supervisor's other two decisions, as pure functions (OTP's ``do_restart`` and ``restart/3``).

- `should_restart`: is this child restarted at all, given its restart type and how it ended?
- `affected`: which children does the strategy restart, in start order?
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from supervision.spec import Restart, Strategy

__all__ = ["affected", "should_restart"]

T = TypeVar("T")


def should_restart(restart: Restart, *, abnormal: bool) -> bool:
    """True if a child of this restart type is restarted after this kind of exit.

    ``PERMANENT`` always is; ``TRANSIENT`` only after an abnormal exit (a failure, including
    an escalation); ``TEMPORARY`` never.
    """
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return abnormal
    return False


def affected(strategy: Strategy, children: Sequence[T], failed: T) -> list[T]:
    """The children a restart touches, in start order.

    ``ONE_FOR_ONE``: the failed child only. ``ONE_FOR_ALL``: every child. ``REST_FOR_ONE``:
    the failed child and every child started after it.

    Raises:
        ValueError: if ``failed`` is not among ``children``.
    """
    index = list(children).index(failed)
    if strategy is Strategy.ONE_FOR_ONE:
        return [children[index]]
    if strategy is Strategy.ONE_FOR_ALL:
        return list(children)
    return list(children[index:])
