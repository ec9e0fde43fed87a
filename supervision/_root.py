"""The root supervisor of a system, and what `ActorSystem` asks of the tree.

`ActorSystem` boots a `Root` when it starts (the one place `actors` imports `supervision`) and
delegates to it everything that needs the tree's types: spawning an agent from a class or a
`ChildSpec`, starting a `SupervisorSpec`, finding a supervisor by name, and snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors._spi import Runtime, Slot, SlotOptions
from actors.mailbox import Mailbox
from supervision.ref import SupervisorRef
from supervision.spec import ChildSpec, SupervisorSpec
from supervision.supervisor import Supervisor
from supervision.tree import TreeNode, snapshot

if TYPE_CHECKING:
    from actors.agent import AgentActor
    from actors.ref import AgentRef
    from supervision.policy import RestartPolicy

__all__ = ["ROOT_SHUTDOWN_TIMEOUT", "Root"]

ROOT_SHUTDOWN_TIMEOUT = 60.0  # how long stopping the root's children may take, in all


class Root:
    """The root supervisor's slot, started; see the module docstring.

    Args:
        runtime: the system's runtime (the root slot is stored as ``runtime.root``).
        policy: the root supervisor's restart policy (default: `RestartPolicy()`).

    Raises:
        StartFailed: if the root supervisor failed to start.
    """

    def __init__(self, runtime: Runtime, policy: RestartPolicy | None) -> None:
        spec = SupervisorSpec("root", policy=policy)
        self.slot = Slot(
            runtime,
            "root",
            kind="supervisor",
            roles=frozenset(),
            factory=lambda: Supervisor(spec),
            mailbox=Mailbox(),
            parent=None,
            options=SlotOptions(shutdown_timeout=ROOT_SHUTDOWN_TIMEOUT),
            spec=spec,
            registered=False,
        )
        self.ref = SupervisorRef(self.slot)
        runtime.root = self.slot
        self.slot.start()

    def spawn(
        self,
        agent: type[AgentActor] | ChildSpec,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        name: str | None,
        roles: tuple[str, ...] | list[str] | None,
        mailbox: Mailbox | None,
    ) -> AgentRef:
        """Start an agent under the root (see `ActorSystem.spawn`) and return its ref."""
        if isinstance(agent, ChildSpec):
            spec = agent
        else:
            spec = ChildSpec(agent, *args, name=name, roles=roles, mailbox=mailbox, **kwargs)
        ref: AgentRef = self.ref.spawn(spec)
        return ref

    def start_tree(self, spec: SupervisorSpec) -> SupervisorRef:
        """Start a supervision tree under the root (see `ActorSystem.start_tree`)."""
        ref: SupervisorRef = self.ref.spawn(spec)
        return ref

    def supervisor(self, name: str) -> SupervisorRef | None:
        """The ref of the supervisor ``name`` (``"root"`` included), or None."""
        if name == self.slot.name:
            return self.ref
        slot = self.slot.runtime.router.table.names.get(name)
        if slot is None or slot.kind != "supervisor":
            return None
        return SupervisorRef(slot)

    def tree(self) -> TreeNode:
        """A snapshot of the whole tree."""
        return snapshot(self.slot)
