"""`SupervisorRef`: the handle of a running supervisor.

Each call runs inside the supervisor's own thread (as a call in its control lane), so requests
never race with the supervisor's own restart decisions. Every call takes a timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors._spi import check_timeout
from actors.ref import AgentRef
from supervision.errors import InvalidTree
from supervision.spec import ChildSpec, SupervisorSpec

if TYPE_CHECKING:
    from actors._spi import Slot
    from supervision.supervisor import ChildInfo

__all__ = ["SupervisorRef"]


class SupervisorRef:
    """Add, stop, restart and list the children of one supervisor, from any thread."""

    __slots__ = ("_slot",)

    def __init__(self, slot: Slot) -> None:
        self._slot = slot

    def __repr__(self) -> str:
        return f"<SupervisorRef {self._slot.name!r} {self._slot.state.value}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SupervisorRef) and other._slot is self._slot

    def __hash__(self) -> int:
        return hash(id(self._slot))

    @property
    def name(self) -> str:
        """The supervisor's name."""
        return self._slot.name

    def is_alive(self) -> bool:
        """True until the supervisor stops for good."""
        return self._slot.alive

    def _call(self, function: Any, timeout: float, what: str) -> Any:
        check_timeout(timeout)
        return self._slot.call(function, timeout, f"{what} on supervisor {self._slot.name!r}")

    def spawn(self, spec: ChildSpec | SupervisorSpec, *, timeout: float = 30.0) -> Any:
        """Add and start a child (an agent or a whole subtree); returns its ref.

        Returns:
            An `AgentRef` for a `ChildSpec`, a `SupervisorRef` for a `SupervisorSpec`.

        Raises:
            InvalidTree: for a malformed spec or a name already taken (nothing starts).
            StartFailed: if it failed to start (what started is stopped, names are freed).
            AskTimeout: if the supervisor did not answer within ``timeout``.
        """
        if not isinstance(spec, ChildSpec | SupervisorSpec):
            msg = f"spawn takes a ChildSpec or SupervisorSpec, got {spec!r}"
            raise InvalidTree(msg)
        slot: Slot = self._call(lambda sup: sup.add_child(spec), timeout, "spawn")
        if slot.kind == "supervisor":
            return SupervisorRef(slot)
        return AgentRef(slot)

    def stop_child(self, name: str, *, timeout: float = 30.0) -> bool:
        """Stop the child ``name`` for good (its subtree too); False if there is none."""
        result: bool = self._call(lambda sup: sup.stop_child(name), timeout, "stop_child")
        return result

    def restart_child(self, name: str, *, timeout: float = 30.0) -> bool:
        """Restart the child ``name`` now, not charged to the budget; False if there is none.

        Raises:
            StartFailed: if the new incarnation failed to start (the child is then removed).
        """
        result: bool = self._call(lambda sup: sup.restart_child(name), timeout, "restart_child")
        return result

    def children(self, *, timeout: float = 5.0) -> list[ChildInfo]:
        """The children, in start order, with their kind, state and restart count."""
        result: list[ChildInfo] = self._call(lambda sup: sup.children_info(), timeout, "children")
        return result

    def child(self, name: str) -> AgentRef | SupervisorRef | None:
        """The ref of the child ``name``, or None (reads the tree without a call)."""
        slot = self._slot.runtime.router.table.names.get(name)
        if slot is None or slot.parent is not self._slot or slot not in self._slot.children:
            return None
        return SupervisorRef(slot) if slot.kind == "supervisor" else AgentRef(slot)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop this supervisor and its whole subtree for good."""
        return self._slot.runtime.stop_slot(self._slot, timeout)
