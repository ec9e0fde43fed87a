"""Pools: a supervisor of identical agents sharing one role, resizable while it runs.

```python
pool = system.spawn_pool(Coder, name="coders", size=4, role="coder", max_size=8)
system.tell("role:coder", Task(title="fix the bug"))     # one member, least busy first
pool.resize(6)                                           # starts coders-5 and coders-6
pool.resize(2)                                           # stops coders-6 ... coders-3
pool.stop()
```

A pool is a supervisor named after it whose children are ``{name}-1`` ... ``{name}-{size}``,
all built from the same class and arguments and all holding the pool's role, whose sends
use the pool's routing strategy (`actors.Routing.LEAST_BUSY` by default; it is set for the
role, so it also covers any other holder of that role). Members are supervised like any
child (ONE_FOR_ONE and the default `RestartPolicy` unless given): a crashed member restarts
with its mailbox, and while it restarts the role's other members take the new work.

Resizing:

- growing starts the lowest free numbers (after a shrink to 2, growing to 4 starts
  ``{name}-3`` and ``{name}-4`` again); past ``max_size`` it raises `actors.PoolFull` and
  starts nothing;
- shrinking stops the highest-numbered members, one at a time: each finishes the message in
  hand and runs ``on_stop``. What is still queued in its mailbox then is dead-lettered with
  reason ``stopped`` (a queued ask fails with `actors.AgentUnavailable`), as for any agent
  that stops; under LEAST_BUSY a member's queue is short, but it is not handed over.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors._spi import check_timeout
from actors.errors import AskTimeout, InvalidConfig, PoolFull
from actors.ref import AgentRef
from supervision.ref import SupervisorRef
from supervision.spec import ChildSpec, Strategy, SupervisorSpec

if TYPE_CHECKING:
    from actors._spi import Slot
    from supervision.policy import RestartPolicy

__all__ = ["PoolRef"]


class _Members:
    """What every member of one pool is built from (validated when the pool is spawned)."""

    __slots__ = ("_number", "args", "factory", "kwargs", "max_size", "name", "role")

    def __init__(
        self,
        factory: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        name: str,
        role: str,
        max_size: int | None,
    ) -> None:
        for taken in ("name", "roles"):
            if taken in kwargs:
                msg = f"pool {name!r}: members are named {name}-<n> and hold role=; not {taken}="
                raise InvalidConfig(msg)
        self.factory = factory
        self.args = args
        self.kwargs = kwargs
        self.name = name
        self.role = role
        self.max_size = max_size
        self._number = re.compile(re.escape(name) + r"-([1-9][0-9]*)")

    def spec(self, number: int) -> ChildSpec:
        """The spec of member number ``number``."""
        return ChildSpec(
            self.factory, *self.args, name=self.member(number), roles=(self.role,), **self.kwargs
        )

    def member(self, number: int) -> str:
        """The name of member number ``number``."""
        return f"{self.name}-{number}"

    def number(self, name: str) -> int | None:
        """The number of the member called ``name`` (None: not a member's name)."""
        match = self._number.fullmatch(name)
        return None if match is None else int(match.group(1))

    def check_size(self, size: object, what: str) -> int:
        """``size`` if it is an int in [0, max_size].

        Raises:
            InvalidConfig: if it is not an int >= 0.
            PoolFull: if it exceeds ``max_size``.
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            msg = f"pool {self.name!r}: {what} must be an int >= 0, got {size!r}"
            raise InvalidConfig(msg)
        if self.max_size is not None and size > self.max_size:
            msg = f"pool {self.name!r} cannot grow to {size} members (max_size {self.max_size})"
            raise PoolFull(msg, self.name, self.max_size, size)
        return size


def pool_spec(
    factory: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    name: str,
    size: int,
    role: str,
    max_size: int | None,
    strategy: Strategy | None,
    policy: RestartPolicy | None,
) -> tuple[SupervisorSpec, _Members]:
    """The supervisor spec of a new pool, and what its members are built from.

    Raises:
        InvalidConfig: for a bad size or max_size, or ``name``/``roles`` among the options.
        PoolFull: if ``size`` exceeds ``max_size``.
    """
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
    ):
        msg = f"pool {name!r}: max_size must be an int >= 1 or None, got {max_size!r}"
        raise InvalidConfig(msg)
    members = _Members(factory, args, kwargs, name=name, role=role, max_size=max_size)
    members.check_size(size, "size")
    spec = SupervisorSpec(
        name,
        [members.spec(number) for number in range(1, size + 1)],
        strategy=Strategy.ONE_FOR_ONE if strategy is None else strategy,
        policy=policy,
    )
    return spec, members


class PoolRef:
    """The handle of a running pool (from `actors.ActorSystem.spawn_pool`); any thread may use it.

    See the module docstring for what a pool is and how it resizes.
    """

    __slots__ = ("_lock", "_members", "_slot", "_supervisor")

    def __init__(self, slot: Slot, members: _Members) -> None:
        self._slot = slot
        self._supervisor = SupervisorRef(slot)
        self._members = members
        self._lock = threading.Lock()  # one resize at a time

    def __repr__(self) -> str:
        return f"<PoolRef {self.name!r} role={self.role!r} size={self.size}>"

    @property
    def name(self) -> str:
        """The pool's name (also its supervisor's)."""
        return self._members.name

    @property
    def role(self) -> str:
        """The role every member holds."""
        return self._members.role

    @property
    def max_size(self) -> int | None:
        """The most members the pool may grow to (None: no bound)."""
        return self._members.max_size

    @property
    def supervisor(self) -> SupervisorRef:
        """The pool's supervisor."""
        return self._supervisor

    @property
    def size(self) -> int:
        """How many members the pool has now (restarting ones included)."""
        return len(self._numbered())

    def is_alive(self) -> bool:
        """True until the pool is stopped (or its supervisor stopped for good)."""
        return self._slot.alive

    def members(self) -> list[AgentRef]:
        """The refs of the members, in number order (reads the tree without waiting)."""
        return [AgentRef(slot) for _, slot in self._numbered()]

    def _numbered(self) -> list[tuple[int, Slot]]:
        members = self._members
        found = []
        for slot in list(self._slot.children):  # copied at once: the supervisor may change it
            number = members.number(slot.name)
            if number is not None and slot.alive:
                found.append((number, slot))
        found.sort(key=lambda pair: pair[0])
        return found

    def resize(self, size: int, *, timeout: float = 30.0) -> None:
        """Grow or shrink the pool to ``size`` members; returns once they started or stopped.

        Growing starts the lowest free member numbers; shrinking stops the highest-numbered
        members, each after the message in hand (their queued messages are dead-lettered,
        reason ``stopped``). Resizes are made one at a time.

        Args:
            size: the number of members wanted (0 leaves the pool's supervisor running empty).
            timeout: seconds the whole resize may take.

        Raises:
            PoolFull: if ``size`` exceeds ``max_size`` (nothing is started).
            InvalidConfig: if ``size`` is not an int >= 0, or for a bad ``timeout``.
            StartFailed: if a new member failed to start (those started before it stay).
            AskTimeout: if the resize did not finish within ``timeout`` (what is done stays).
            AgentUnavailable: if the pool was stopped.
        """
        check_timeout(timeout)
        wanted = self._members.check_size(size, "size")
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            self._timed_out("another resize", timeout)
        try:
            numbered = self._numbered()
            if wanted > len(numbered):
                self._grow({number for number, _ in numbered}, wanted, deadline, timeout)
            else:
                for number, _ in reversed(numbered[wanted:]):
                    remaining = self._remaining(deadline, timeout)
                    self._supervisor.stop_child(self._members.member(number), timeout=remaining)
        finally:
            self._lock.release()

    def _grow(self, taken: set[int], wanted: int, deadline: float, timeout: float) -> None:
        number = 0
        for _ in range(wanted - len(taken)):
            number += 1
            while number in taken:
                number += 1
            remaining = self._remaining(deadline, timeout)
            self._supervisor.spawn(self._members.spec(number), timeout=remaining)

    def _remaining(self, deadline: float, timeout: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self._timed_out("resize", timeout)
        return remaining

    def _timed_out(self, what: str, timeout: float) -> None:
        msg = f"pool {self.name!r}: {what} did not finish within {timeout:g}s"
        raise AskTimeout(msg, timeout)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the pool: every member (each after the message in hand), then its supervisor.

        Returns:
            True once stopped; False if it did not stop within ``timeout``.

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        return self._supervisor.stop(timeout)
