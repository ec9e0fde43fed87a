"""Specs: what a supervision tree is made of, checked before anything starts.

```python
tree = SupervisorSpec(
    "workers",
    children=[
        ChildSpec(Coder, name="coder-1", roles=("coder",)),
        ChildSpec(Coder, name="coder-2", roles=("coder",), restart=Restart.TRANSIENT),
        SupervisorSpec("reviews", children=[ChildSpec(Reviewer, name="reviewer")]),
    ],
    strategy=Strategy.ONE_FOR_ONE,
    policy=RestartPolicy(max_restarts=3, within=5.0),
)
system.start_tree(tree)
```

`validate` checks a whole tree: valid and unique names (also against names already taken in
the system), no spec reachable from itself, sane numbers. It raises `InvalidTree` naming the
first problem, and nothing is started.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Container, Iterable, Sequence
from typing import Any

from actors.address import validate_name
from actors.errors import InvalidAddress
from actors.mailbox import Mailbox
from supervision.errors import InvalidName, InvalidTree, NameTaken
from supervision.policy import RestartPolicy

__all__ = ["ChildSpec", "Restart", "Strategy", "SupervisorSpec", "validate"]


class Restart(enum.Enum):
    """When a child is restarted."""

    PERMANENT = "permanent"  # always, even after it stopped by itself
    TRANSIENT = "transient"  # only after an abnormal exit (a failure or an escalation)
    TEMPORARY = "temporary"  # never: it is removed when it stops or fails


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them fails."""

    ONE_FOR_ONE = "one_for_one"  # only the failed child
    ONE_FOR_ALL = "one_for_all"  # every child (stopped in reverse order, started in order)
    REST_FOR_ONE = "rest_for_one"  # the failed child and the children started after it


class ChildSpec:
    """How to start (and restart) one agent.

    Args:
        factory: the agent class (or a callable returning an instance) to build each
            incarnation with ``factory(*args, **kwargs)``.
        name: the agent's unique name (default: derived from the class, numbered).
        roles: its roles (default: the class attribute ``roles``).
        restart: `Restart.PERMANENT`, `TRANSIENT` or `TEMPORARY`.
        shutdown_timeout: seconds a stop waits for the current message to finish.
        start_timeout: seconds a start waits for ``on_start`` / ``post_restart``.
        mailbox: `actors.Mailbox` settings (default: the class attribute, else unbounded).
        keep_mailbox: False dead-letters the queue on every restart (reason
            ``restart_discarded``), as an Erlang process would lose it.
        retry_failed: redeliver a failing told message to the next incarnation up to this
            many times before dead-lettering it (for idempotent handlers).
        restart_on_ask_error: also treat an exception raised while handling an *ask* as a
            failure (the asker always gets the error; by default the agent carries on).
        max_messages: stop for good after handling this many messages (a loop guard).
        flight_recorder: how many summaries of the last messages taken the agent keeps for
            post-mortems (`AgentRef.recent`, crash events and logs); 0 keeps none.
        durable: back the agent's mailbox with a JetStream stream (needs a system with an
            `actors.nats.NatsTransport`): a message is acknowledged only once its handler
            finished, so a crash of the whole process loses nothing; the agent spawned again
            under the same name (on any node) gets what was pending, ``envelope.redelivered``
            set. At-least-once: make its handlers idempotent.

    Everything else in ``args``/``kwargs`` goes to the factory. Specs are not modified after
    creation.
    """

    def __init__(
        self,
        factory: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        roles: Iterable[str] | None = None,
        restart: Restart = Restart.PERMANENT,
        shutdown_timeout: float = 5.0,
        start_timeout: float = 5.0,
        mailbox: Mailbox | None = None,
        keep_mailbox: bool = True,
        retry_failed: int = 0,
        restart_on_ask_error: bool = False,
        max_messages: int | None = None,
        flight_recorder: int = 32,
        durable: bool = False,
        **kwargs: Any,
    ) -> None:
        self.factory = factory
        self.args = args
        self.kwargs = kwargs
        self.name = name
        self.roles: tuple[str, ...] | None = None if roles is None else _roles(roles)
        self.restart = restart
        self.shutdown_timeout = shutdown_timeout
        self.start_timeout = start_timeout
        self.mailbox = mailbox
        self.keep_mailbox = keep_mailbox
        self.retry_failed = retry_failed
        self.restart_on_ask_error = restart_on_ask_error
        self.max_messages = max_messages
        self.flight_recorder = flight_recorder
        self.durable = bool(durable)

    def __repr__(self) -> str:
        factory = getattr(self.factory, "__qualname__", repr(self.factory))
        return f"ChildSpec({factory}, name={self.name!r}, restart={self.restart.value})"

    def effective_roles(self) -> frozenset[str]:
        """The roles the agent will hold: the spec's, else the class attribute."""
        if self.roles is not None:
            return frozenset(self.roles)
        return frozenset(getattr(self.factory, "roles", ()) or ())

    def effective_mailbox(self) -> Mailbox:
        """The mailbox settings: the spec's, else the class attribute, else the default."""
        if self.mailbox is not None:
            return self.mailbox
        declared = getattr(self.factory, "mailbox", None)
        return declared if isinstance(declared, Mailbox) else Mailbox()


class SupervisorSpec:
    """A supervisor and its children (agents or supervisors), started in order.

    Args:
        name: the supervisor's unique name.
        children: child specs, in start order.
        strategy: which children a failure restarts.
        policy: the restart budget, backoff and decider.
        restart: how the supervisor itself is treated by its own parent.
        shutdown_timeout: seconds its parent waits for it (and so its subtree) to stop.
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec | SupervisorSpec] = (),
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        policy: RestartPolicy | None = None,
        restart: Restart = Restart.PERMANENT,
        shutdown_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.children = tuple(children)
        self.strategy = strategy
        self.policy = policy if policy is not None else RestartPolicy()
        self.restart = restart
        self.shutdown_timeout = shutdown_timeout

    def __repr__(self) -> str:
        return (
            f"SupervisorSpec({self.name!r}, {len(self.children)} children, {self.strategy.value})"
        )


def _roles(roles: Iterable[str]) -> tuple[str, ...]:
    if isinstance(roles, str):
        msg = f"roles must be a collection of role names, not the string {roles!r}"
        raise InvalidTree(msg)
    return tuple(roles)


def validate(spec: ChildSpec | SupervisorSpec, taken: Container[str] = ()) -> None:
    """Check a whole tree before anything starts.

    Args:
        spec: the root of the tree (or a single child spec).
        taken: names already in use in the system: any container (it is only asked ``in``,
            never copied, so checking a spawn costs the same in a system of any size).

    Raises:
        InvalidTree: naming the first problem found (`InvalidName`, also an
            `actors.InvalidAddress`, for a malformed name or role).
    """
    _Validator(taken).visit(spec, ())


class _Validator:
    def __init__(self, taken: Container[str]) -> None:
        self.taken = taken
        self.seen: set[str] = set()

    def visit(self, spec: object, path: tuple[object, ...]) -> None:
        if any(spec is ancestor for ancestor in path):
            names = " -> ".join(getattr(s, "name", "?") or "?" for s in (*path, spec))
            msg = f"cycle in supervision tree: {names}"
            raise InvalidTree(msg)
        if isinstance(spec, SupervisorSpec):
            self.name(spec.name, "supervisor")
            self.supervisor(spec)
            for child in spec.children:
                self.visit(child, (*path, spec))
        elif isinstance(spec, ChildSpec):
            if spec.name is not None:
                self.name(spec.name, "child")
            self.child(spec)
        else:
            msg = f"a supervision tree holds ChildSpec and SupervisorSpec, not {spec!r}"
            raise InvalidTree(msg)

    def name(self, name: object, what: str) -> None:
        try:
            validate_name(name)
        except InvalidAddress as exc:
            raise InvalidName(f"{what} name: {exc}", name) from exc
        assert isinstance(name, str)
        if name in self.taken:
            msg = f"{what} name {name!r} is already taken in this system"
            raise NameTaken(msg, name)
        if name in self.seen:
            msg = f"{what} name {name!r} appears more than once in the tree"
            raise NameTaken(msg, name)
        self.seen.add(name)

    def supervisor(self, spec: SupervisorSpec) -> None:
        where = f"supervisor {spec.name!r}"
        if not isinstance(spec.strategy, Strategy):
            raise InvalidTree(f"{where}: strategy must be a Strategy, got {spec.strategy!r}")
        if not isinstance(spec.policy, RestartPolicy):
            raise InvalidTree(f"{where}: policy must be a RestartPolicy, got {spec.policy!r}")
        for problem in spec.policy.problems():
            raise InvalidTree(f"{where}: {problem}")
        self.common(where, spec.restart, spec.shutdown_timeout)

    def child(self, spec: ChildSpec) -> None:
        where = f"child {spec.name or spec.factory!r}"
        if not callable(spec.factory):
            raise InvalidTree(f"{where}: factory must be callable, got {spec.factory!r}")
        self.common(where, spec.restart, spec.shutdown_timeout)
        if not (spec.start_timeout > 0 and math.isfinite(spec.start_timeout)):
            raise InvalidTree(f"{where}: start_timeout must be > 0, got {spec.start_timeout!r}")
        if isinstance(spec.retry_failed, bool) or not isinstance(spec.retry_failed, int):
            raise InvalidTree(f"{where}: retry_failed must be an int, got {spec.retry_failed!r}")
        if spec.retry_failed < 0:
            raise InvalidTree(f"{where}: retry_failed must be >= 0, got {spec.retry_failed}")
        if spec.max_messages is not None and (
            isinstance(spec.max_messages, bool)
            or not isinstance(spec.max_messages, int)
            or spec.max_messages < 1
        ):
            msg = f"{where}: max_messages must be a positive int or None, got {spec.max_messages!r}"
            raise InvalidTree(msg)
        recorder = spec.flight_recorder
        if isinstance(recorder, bool) or not isinstance(recorder, int) or recorder < 0:
            msg = f"{where}: flight_recorder must be an int >= 0, got {recorder!r}"
            raise InvalidTree(msg)
        if spec.mailbox is not None and not isinstance(spec.mailbox, Mailbox):
            raise InvalidTree(f"{where}: mailbox must be an actors.Mailbox, got {spec.mailbox!r}")
        for role in spec.effective_roles():
            try:
                validate_name(role, "role")
            except InvalidAddress as exc:
                raise InvalidName(f"{where}: {exc}", role) from exc

    def common(self, where: str, restart: object, shutdown_timeout: float) -> None:
        if not isinstance(restart, Restart):
            raise InvalidTree(f"{where}: restart must be a Restart, got {restart!r}")
        if not (shutdown_timeout > 0 and math.isfinite(shutdown_timeout)):
            msg = f"{where}: shutdown_timeout must be > 0 and finite, got {shutdown_timeout!r}"
            raise InvalidTree(msg)
