"""The supervisor's other two decisions, as pure functions (OTP's ``do_restart`` and ``restart/3``).

- `should_restart`: is this child restarted at all, given its restart type and how it ended?
- `affected`: which children does the strategy restart, in start order?
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar

from supervision.spec import Restart, Strategy

__all__ = ["affected", "should_restart"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _Ordered(Protocol[T_co]):
    """Children in start order: a list, or the keys of a dict used as an ordered set."""

    def __contains__(self, item: object, /) -> bool: ...
    def __iter__(self) -> Iterator[T_co]: ...
    def __reversed__(self) -> Iterator[T_co]: ...


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


def affected(strategy: Strategy, children: _Ordered[T], failed: T) -> list[T]:
    """The children a restart touches, in start order.

    ``ONE_FOR_ONE``: the failed child only. ``ONE_FOR_ALL``: every child. ``REST_FOR_ONE``:
    the failed child and every child started after it.

    ``children`` is anything ordered that answers ``in`` and iterates both ways: a list, or
    (what a supervisor passes) a dict used as an ordered set. With a dict the cost is that of
    the answer, never more: ``ONE_FOR_ONE`` does not look at the other children, and
    ``REST_FOR_ONE`` walks back from the last child to the failed one.

    Raises:
        ValueError: if ``failed`` is not among ``children``.
    """
    if failed not in children:
        msg = f"{failed!r} is not among the children"
        raise ValueError(msg)
    if strategy is Strategy.ONE_FOR_ONE:
        return [failed]
    if strategy is Strategy.ONE_FOR_ALL:
        return list(children)
    rest: list[T] = []
    for child in reversed(children):
        rest.append(child)
        if child is failed or child == failed:
            break
    rest.reverse()
    return rest
