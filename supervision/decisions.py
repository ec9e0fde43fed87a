"""The supervisor's other two decisions, as pure functions (OTP's ``do_restart`` and ``restart/3``).

- `should_restart`: is this child restarted at all, given its restart type and how it ended?
- `affected`: which children does the strategy restart, in start order?
"""

from __future__ import annotations

from collections.abc import Collection
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


def affected(strategy: Strategy, children: Collection[T], failed: T) -> list[T]:
    """The children a restart touches, in start order.

    ``ONE_FOR_ONE``: the failed child only. ``ONE_FOR_ALL``: every child. ``REST_FOR_ONE``:
    the failed child and every child started after it. ``children`` is any ordered collection
    (a list, or the keys of a dict, whose membership test is O(1)): ``ONE_FOR_ONE`` costs one
    membership test, however many children there are.

    Raises:
        ValueError: if ``failed`` is not among ``children``.
    """
    if failed not in children:
        msg = f"{failed!r} is not a child"
        raise ValueError(msg)
    if strategy is Strategy.ONE_FOR_ONE:
        return [failed]
    ordered = list(children)
    if strategy is Strategy.ONE_FOR_ALL:
        return ordered
    index = next(i for i, child in enumerate(ordered) if child is failed)
    return ordered[index:]
