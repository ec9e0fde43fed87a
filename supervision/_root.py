"""The root supervisor of a system, and what `ActorSystem` asks of the tree.

`ActorSystem` boots a `Root` when it starts (the one place `actors` imports `supervision`) and
delegates to it everything that needs the tree's types: spawning an agent from a class or a
`ChildSpec`, starting a `SupervisorSpec`, finding a supervisor by name, and snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors._spi import Runtime, Slot, SlotOptions
from actors.mailbox import Mailbox
from supervision.pool import PoolRef, pool_spec
from supervision.ref import SupervisorRef
from supervision.spec import ChildSpec, SupervisorSpec, validate
from supervision.supervisor import Supervisor
from supervision.tree import TreeNode, snapshot

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors.agent import AgentActor
    from actors.ref import AgentRef
    from actors.routing import RoutingStrategy
    from supervision.policy import RestartPolicy
    from supervision.spec import Strategy

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
        self._pools: list[PoolRef] = []  # every pool spawn_pool started; see `pools`
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

    def spawn_pool(
        self,
        factory: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        name: str,
        size: int,
        role: str,
        max_size: int | None,
        routing: RoutingStrategy,
        strategy: Strategy | None,
        policy: RestartPolicy | None,
    ) -> PoolRef:
        """Start a pool under the root (see `ActorSystem.spawn_pool`) and return its ref.

        Everything is checked before anything starts; the role's routing is set before the
        members start, so that the first message sent to it is routed by it.
        """
        spec, members = pool_spec(
            factory,
            args,
            kwargs,
            name=name,
            size=size,
            role=role,
            max_size=max_size,
            strategy=strategy,
            policy=policy,
        )
        validate(spec)  # names and roles, before the routing is set
        router = self.slot.runtime.router
        router.set_routing(role, routing)  # validates the strategy
        supervisor: SupervisorRef = self.ref.spawn(spec)
        slot = router.table.names[supervisor.name]
        pool = PoolRef(slot, members)
        self._pools = [*(p for p in self._pools if p.is_alive()), pool]  # replaced, never mutated
        return pool

    def pools(self) -> list[PoolRef]:
        """The pools started by `spawn_pool` that are still running, in start order."""
        return [pool for pool in self._pools if pool.is_alive()]

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
