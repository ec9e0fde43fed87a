"""`TestingHooks`: what ``system.testing`` offers a test (fault injection, an event record).

```python
system.testing.fail_next("coder-1", RuntimeError("disk full"), times=2)
```

makes the next two handler runs of ``coder-1`` raise that error, without touching its code:
the message it takes next fails exactly as if its handler had raised (the crash is logged and
published, an ask gets `AgentFailed`, the message is dead-lettered ``handler_failed``, and its
supervisor applies its policy). The faults wait in the agent's slot, so they survive restarts
until used; they are taken in the agent's own thread, before its next message.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from actors.address import validate_name
from actors.errors import InvalidConfig, RegimentError, UnknownAddress
from actors.testing.record import EventRecord

if TYPE_CHECKING:
    from actors._runtime import Runtime

__all__ = ["InjectedFault", "TestingHooks"]


class InjectedFault(RegimentError):
    """The error `TestingHooks.fail_next` injects when it is given none."""


class TestingHooks:
    """Test support for one system, reached as ``system.testing``; thread-safe.

    It costs nothing until used: no fault is checked on the send or handling path unless one
    was injected, and no event is recorded before `record` is called (the ``actor_system``
    fixture calls it when it builds the system).
    """

    __test__ = False  # not a test class, whatever pytest's collection rules say

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._record: EventRecord | None = None

    def fail_next(
        self,
        name: str,
        error: BaseException | type[BaseException] = InjectedFault,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` handler runs of the agent ``name`` raise ``error``.

        See the module docstring. The agent takes its next message and, instead of handling
        it, fails with ``error`` in its own thread.

        Args:
            name: the agent's name.
            error: an exception instance (raised each time), or an exception class (called
                with a message naming the agent, once per fault).
            times: how many handler runs fail.

        Raises:
            UnknownAddress: if no agent has that name (an inbox or a supervisor is not an
                agent).
            InvalidConfig: if ``times`` is not a positive int, or ``error`` is no exception.
            InvalidAddress: for a malformed name.
        """
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            msg = f"fail_next(times=...) must be a positive int, got {times!r}"
            raise InvalidConfig(msg)
        slot = self._runtime.router.table.names.get(validate_name(name))
        if slot is None or slot.kind != "agent":
            article = "an" if slot is not None and slot.kind[:1] in "aeiou" else "a"
            what = "no agent" if slot is None else f"{article} {slot.kind}, not an agent"
            msg = f"cannot inject a fault into {name!r}: it is {what}"
            raise UnknownAddress(msg, name)
        slot.inject_faults([_fault(error, name) for _ in range(times)])

    def pending_faults(self, name: str) -> int:
        """How many injected faults of the agent ``name`` are still to be raised (0 if none)."""
        slot = self._runtime.router.table.names.get(name)
        faults = None if slot is None else slot.faults
        return len(faults) if faults else 0

    def record(self) -> EventRecord:
        """The system's `EventRecord`, started by the first call (later ones return it)."""
        with self._lock:
            if self._record is None:
                self._record = EventRecord(self._runtime.events)
            return self._record


def _fault(error: BaseException | type[BaseException], name: str) -> BaseException:
    if isinstance(error, BaseException):
        return error
    if isinstance(error, type) and issubclass(error, BaseException):
        return error(f"fault injected into {name!r} by system.testing.fail_next")
    msg = f"fail_next(error=...) takes an exception or an exception class, got {error!r}"
    raise InvalidConfig(msg)
