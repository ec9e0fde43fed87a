"""`ActorSystem`: the unit of isolation, and what an application embeds.

A system owns its router (the address table), its root supervisor, its event
stream, dead letters, clock and timer thread. Two systems in one process share nothing: the
same names may exist in both, and a failure in one never stops the other (regiment never uses
pykka's process-global registry).

```python
with actors.ActorSystem("app") as system:
    system.spawn(Coder, name="coder-1", roles=("coder",))
    system.tell("role:coder", Task(title="fix the bug"))
    patch = system.ask("coder-1", Task(title="write a test"), timeout=2.0)
```

Every call may be made from any plain thread (a web handler, a worker, a test); ``tell``
never blocks (except on a full bounded mailbox with ``Overflow.BLOCK``, up to its timeout), and
every blocking call takes a timeout.

**Failure at the top.** When the root supervisor escalates, the system's fatal policy runs in a
thread of its own: it logs the cause at CRITICAL, publishes `SystemFailed`, stops the whole
tree in order, then calls ``on_fatal(cause)``. The embedding application sees the cause as
`failure` and can block on `wait`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors._inboxes import InboxMailbox
from actors._local import sender_in
from actors._logsetup import route_pykka_logging
from actors._progress import run_with_progress
from actors._runtime import Runtime
from actors._timeouts import check_timeout
from actors.address import AddressLike, Broadcast, validate_name
from actors.clock import Clock, SystemClock
from actors.errors import InvalidAddress, InvalidConfig, SystemStopped, UnknownAddress
from actors.events import DeadLetter, DeadLetterReason, EventStream
from actors.gather import Gather, Outcome, start_gather
from actors.inbox import Inbox, open_inbox
from actors.mailbox import Overflow
from actors.memory import Blackboard, open_store
from actors.message_log import MessageLog
from actors.messages import Kind, Message, Priority
from actors.metrics import MetricsSnapshot
from actors.metrics import snapshot as metrics_snapshot
from actors.nats._info import NodeInfo
from actors.ref import AgentRef
from actors.request import Request
from actors.routes import Route, Routes
from actors.routing import Routing, RoutingStrategy
from actors.testing.hooks import TestingHooks
from actors.tools import Tool, ToolBox, ToolPolicy, check_policy

if TYPE_CHECKING:
    from actors.agent import AgentActor
    from actors.future import Future
    from actors.mailbox import Mailbox
    from actors.nats import NatsTransport
    from actors.nats._node import Node
    from actors.run import RunReport
    from actors.send_policy import SendPolicy
    from supervision.policy import RestartPolicy
    from supervision.pool import PoolRef
    from supervision.ref import SupervisorRef
    from supervision.spec import ChildSpec, Strategy, SupervisorSpec
    from supervision.tree import TreeNode

__all__ = ["ActorSystem"]


class ActorSystem:
    """A running actor system; see the module docstring.

    Args:
        name: the system's name (used in logs, thread names and events).
        clock: where time comes from (`ManualClock` in tests); default the real clock.
        on_fatal: called with the cause after the system stopped because the root
            supervisor escalated. Runs in the system's fatal-handling thread.
        root_policy: the root supervisor's `RestartPolicy` (default: 3 restarts in 5 s).
        ask_timeout: default timeout of asks that give none.
        send_policy: an optional `SendPolicy` (who may send to whom, rate limits).
        dead_letter_capacity: how many recent dead letters `dead_letters` keeps.
        daemon: run agents on daemon threads (they then never block interpreter exit, and
            may be cut off at exit without ``on_stop``).
        metrics: keep per-agent counters and handling times (`metrics`); False saves their
            small cost on every message (system-wide send counts are kept either way).
        routes: publish routes (`actors.routes.Route`): where `publish` sends each message
            class; more can be added later through `routes`.
        memory: where `memory` (the shared `Blackboard`) lives: None keeps it in memory
            (it ends with the system); ``"sqlite:///path/to/file.db"`` keeps it in that
            SQLite file, so it survives a restart of the process (see `actors.memory`).
        tools: the `actors.tools.Tool`s (functions declared with `actors.tool`) agents may
            call with `AgentActor.use_tool`.
        tool_policy: the `ToolPolicy` over them (grants, rate limits); default: every
            call denied.
        message_log: keep the last this many envelopes sent in a `MessageLog`
            (`message_log`); 0, the default, keeps none and costs nothing.
        transport: join other processes' systems into one cluster (`actors.nats.NatsTransport`):
            the same addresses reach agents on every node. None (the default): this process
            only, and nothing of the transport is imported.

    Raises:
        InvalidConfig: for a bad setting.
        TransportError: if the transport cannot join its cluster (nothing is left running).
    """

    def __init__(
        self,
        name: str = "app",
        *,
        clock: Clock | None = None,
        on_fatal: Callable[[BaseException], object] | None = None,
        root_policy: RestartPolicy | None = None,
        ask_timeout: float = 5.0,
        send_policy: SendPolicy | None = None,
        dead_letter_capacity: int = 1000,
        daemon: bool = False,
        metrics: bool = True,
        routes: Iterable[Route] = (),
        memory: str | None = None,
        tools: Iterable[Tool] = (),
        tool_policy: ToolPolicy | None = None,
        message_log: int = 0,
        transport: NatsTransport | None = None,
    ) -> None:
        validate_name(name, "system name")
        self._toolbox = ToolBox(tools, tool_policy)
        if not check_timeout(ask_timeout, "ask_timeout"):
            msg = f"ask_timeout must be > 0, got {ask_timeout!r}"
            raise InvalidConfig(msg)
        store = open_store(memory)  # before any thread starts: a bad setting leaves nothing behind
        _check_message_log(message_log)
        route_pykka_logging()
        self.name = name
        self.daemon = daemon
        self._runtime = runtime = Runtime(
            name,
            clock=clock if clock is not None else SystemClock(),
            ask_timeout=ask_timeout,
            daemon=daemon,
            dead_letter_capacity=dead_letter_capacity,
            on_fatal=on_fatal,
            facade=self,
            metrics=bool(metrics),
        )
        runtime.router.policy = send_policy
        for route in routes:
            runtime.router.routes.add(route)
        self._memory = Blackboard(runtime, store)  # closes its store at the shutdown's end
        self._message_log = MessageLog(message_log) if message_log else None
        if self._message_log is not None:
            runtime.router.keep_log(self._message_log)
        # The one place `actors` imports `supervision`, which is built on `actors`: a
        # module-level import would make the two packages one import cycle.
        from supervision._root import Root  # noqa: PLC0415 - the one cycle, see above

        self._root = Root(runtime, root_policy)
        self._testing = TestingHooks(runtime)
        self._node: Node | None = None
        self._started = time.time()
        if transport is not None:
            self._join(transport)
        logger.bind(system=name).debug("actor system {!r} started", name)

    def _join(self, transport: NatsTransport) -> None:
        """Join ``transport``'s cluster; on failure stop what was started, and raise."""
        runtime = self._runtime
        try:
            node = transport._start(runtime)
        except BaseException:
            runtime.shutdown(10.0, 0.0)
            raise
        self._node = node
        runtime.router.remote = node
        runtime.on_shutdown(node.close)

    def __repr__(self) -> str:
        state = "stopped" if self._runtime.stopped else "running"
        return f"<ActorSystem {self.name!r} {state}>"

    def __enter__(self) -> ActorSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- spawning -------------------------------------------------------------------------------

    def spawn(
        self,
        agent: type[AgentActor] | ChildSpec,
        *args: Any,
        name: str | None = None,
        roles: tuple[str, ...] | list[str] | None = None,
        mailbox: Mailbox | None = None,
        **kwargs: Any,
    ) -> AgentRef:
        """Start an agent under the root supervisor and return its ref once ``on_start`` returned.

        Args:
            agent: an `AgentActor` subclass (or a `supervision.ChildSpec` for full control
                over restart type, retries, guards...).
            *args: passed to the agent's constructor.
            name: its unique name (default: derived from the class, numbered).
            roles: its roles (default: the class attribute ``roles``).
            mailbox: `Mailbox` settings (default: the class attribute, else unbounded FIFO).
            **kwargs: passed to the agent's constructor, except the `supervision.ChildSpec`
                options, which are taken by the spec: ``restart``, ``shutdown_timeout``,
                ``start_timeout``, ``keep_mailbox``, ``retry_failed``,
                ``restart_on_ask_error``, ``max_messages``, ``flight_recorder``, ``durable``.
                (An agent whose constructor needs one of those names is spawned from an
                explicit ChildSpec whose factory is a lambda.)

        Raises:
            InvalidAddress: for a malformed name or role (`supervision.InvalidName`, which
                is also a `supervision.InvalidTree`).
            DuplicateName: for a name already taken (`supervision.NameTaken`, also an
                `InvalidTree`).
            StartFailed: if the constructor or ``on_start`` raised (``__cause__``).
            SystemStopped: if the system is shut down.
        """
        self._check_open()
        return self._root.spawn(agent, args, kwargs, name=name, roles=roles, mailbox=mailbox)

    def start_tree(self, spec: SupervisorSpec) -> SupervisorRef:
        """Start a supervision tree under the root supervisor.

        Raises:
            InvalidTree: if the spec is malformed (nothing is started).
            StartFailed: if a child failed to start; everything started is stopped again in
                reverse order and every name is free again.
        """
        self._check_open()
        return self._root.start_tree(spec)

    def spawn_pool(
        self,
        agent: type[AgentActor] | Callable[..., Any],
        *args: Any,
        name: str,
        size: int,
        role: str,
        max_size: int | None = None,
        routing: RoutingStrategy = Routing.LEAST_BUSY,
        strategy: Strategy | None = None,
        policy: RestartPolicy | None = None,
        **kwargs: Any,
    ) -> PoolRef:
        """Start a pool of ``size`` identical agents sharing ``role``; returns once all started.

        The pool is a supervisor called ``name`` (under the root) whose children
        ``{name}-1`` ... ``{name}-{size}`` are each built as ``agent(*args, **kwargs)`` and
        hold ``role``; sends to ``role:<role>`` then pick a member with ``routing`` (set for
        the role, see `set_routing`). Resize it with `supervision.PoolRef.resize`.

        Args:
            agent: the members' `AgentActor` subclass (or a callable returning an instance).
            *args: passed to every member's constructor.
            name: the pool's name (its supervisor's); members are named ``{name}-<n>``.
            size: how many members to start (>= 0).
            role: the role every member holds.
            max_size: the most members `resize` may grow the pool to (None: no bound).
            routing: how sends to the role pick a member (default `Routing.LEAST_BUSY`).
            strategy: the supervisor's `supervision.Strategy` (default ONE_FOR_ONE).
            policy: the supervisor's `supervision.RestartPolicy` (default: 3 restarts in
                5 s, no backoff).
            **kwargs: the `supervision.ChildSpec` options for every member (``restart``,
                ``mailbox``, ``shutdown_timeout``, ``keep_mailbox``...); anything else goes
                to the constructor, as for `spawn`.

        Returns:
            A `supervision.PoolRef`.

        Raises:
            InvalidAddress: for a malformed name or role (`supervision.InvalidName`).
            DuplicateName: if the pool's or a member's name is taken (`supervision.NameTaken`).
            InvalidConfig: for a bad size, max_size or routing, or ``name=``/``roles=`` in
                ``kwargs``.
            PoolFull: if ``size`` exceeds ``max_size``.
            StartFailed: if a member failed to start (the pool is stopped again).
            SystemStopped: if the system is shut down.
        """
        self._check_open()
        return self._root.spawn_pool(
            agent,
            args,
            kwargs,
            name=name,
            size=size,
            role=role,
            max_size=max_size,
            routing=routing,
            strategy=strategy,
            policy=policy,
        )

    def _check_open(self) -> None:
        """Refuse new agents once shutdown began (its own agents may spawn until the stop)."""
        runtime = self._runtime
        if runtime.closing or (runtime.shutting_down and sender_in(runtime) is None):
            msg = f"system {self.name!r} is shut down; it starts no new agents"
            raise SystemStopped(msg)

    def inbox(
        self,
        name: str,
        roles: tuple[str, ...] | list[str] = (),
        *,
        capacity: int | None = None,
        overflow: Overflow = Overflow.BLOCK,
        block_timeout: float = 1.0,
    ) -> Inbox:
        """Register an `Inbox`: a participant that plain threads read (see `actors.inbox`).

        It is addressed like an agent, by ``name``, by its ``roles`` and by broadcasts, and
        stays until `Inbox.close` or the system's shutdown.

        Args:
            name: its unique name.
            roles: the roles it holds.
            capacity: the most envelopes it holds; None for unbounded.
            overflow: what a full inbox does with a new envelope (as for a `Mailbox`).
            block_timeout: with `Overflow.BLOCK`, how long a sender waits for room.

        Raises:
            InvalidAddress: for a malformed name or role (or ``roles`` given as one string).
            DuplicateName: for a name already taken by an agent, supervisor or inbox.
            InvalidConfig: for a bad ``capacity``, ``overflow`` or ``block_timeout``.
            SystemStopped: if the system is shut down.
        """
        self._check_open()
        validate_name(name)
        if isinstance(roles, str):
            msg = f"roles must be a tuple of role names, not a string: {roles!r}"
            raise InvalidAddress(msg, roles)
        for role in roles:
            validate_name(role, "role")
        settings = InboxMailbox(capacity=capacity, overflow=overflow, block_timeout=block_timeout)
        return open_inbox(self._runtime, name, frozenset(roles), settings)

    # -- sending from outside ---------------------------------------------------------------

    def tell(
        self,
        to: AddressLike,
        message: Message,
        *,
        priority: Priority = Priority.NORMAL,
        kind: str = Kind.EVENT,
        reply_to: AddressLike | None = None,
        correlation_id: str | None = None,
    ) -> int:
        """Send ``message`` to a name, ``"role:<r>"``, ``"*"`` or ``"*:<r>"``.

        Never raises for routing failures: an unknown name or role is dead-lettered.
        ``correlation_id`` names the conversation the message belongs to; without one, the
        message starts a new conversation whose id every envelope it causes carries.

        Returns:
            How many mailboxes took it (0: it was dead-lettered).

        Raises:
            InvalidMessage, InvalidAddress: for a bad message or address.
            PolicyViolation, MailboxFull: if a send policy or a bounded mailbox refuses it.
            SystemStopped: if the system is shut down (or shutting down).
        """
        runtime = self._runtime
        return runtime.router.tell(
            to, message, sender_in(runtime), None, kind, priority, reply_to, correlation_id
        )

    @property
    def routes(self) -> Routes:
        """The publish routes (`actors.routes`): ``add(Route(...))``, ``remove(...)``."""
        return self._runtime.router.routes

    def publish(self, message: Message) -> int:
        """Send ``message`` where the route for its class says (see `actors.routes`).

        Returns:
            How many mailboxes took it: 0 if its route records only (``to=None``), or if no
            route covers its class (it is then dead-lettered ``no_route``).

        Raises:
            InvalidMessage: if ``message`` is not a `Message`.
            SystemStopped: if the system is shut down (or shutting down).
        """
        runtime = self._runtime
        return runtime.router.publish(message, sender_in(runtime))

    def broadcast(
        self, message: Message, role: str | None = None, *, correlation_id: str | None = None
    ) -> int:
        """Send ``message`` to every live agent (holding ``role``, if given); returns how many.

        Raises:
            SystemStopped: if the system is shut down (or shutting down).
        """
        runtime = self._runtime
        return runtime.router.tell(
            Broadcast(role=role), message, sender_in(runtime), correlation_id=correlation_id
        )

    def ask_future(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Future[Any]:
        """Send ``message`` to one agent (name or role) and return the future of the reply.

        Raises:
            UnknownAddress: at once, if nobody has the name or holds the role.
            SystemStopped: if the system is shut down (or shutting down).
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        runtime = self._runtime
        return runtime.router.ask(
            to,
            message,
            sender_in(runtime),
            timeout=timeout,
            priority=priority,
            correlation_id=correlation_id,
        )

    def gather(
        self,
        messages: Iterable[Message],
        to: AddressLike,
        *,
        max_in_flight: int = 4,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Gather:
        """Ask ``to`` every message, at most ``max_in_flight`` at once; return the handle now.

        See `actors.gather`: ``results(timeout)``, ``as_completed``, ``next``, ``partial``,
        ``cancel``. ``timeout``: seconds per item; ``deadline``: seconds for the whole gather.

        Raises:
            InvalidConfig: for a bad ``max_in_flight``, ``timeout`` or ``deadline``.
            SystemStopped: if the system is shut down (or shutting down).
        """
        self._check_open()
        return start_gather(
            self._runtime,
            to,
            messages,
            max_in_flight=max_in_flight,
            timeout=timeout,
            deadline=deadline,
            sender=None,
        )

    async def gather_async(
        self,
        messages: Iterable[Message],
        to: AddressLike,
        *,
        max_in_flight: int = 4,
        timeout: float | None = None,
        deadline: float | None = None,
        wait: float | None = None,
    ) -> list[Outcome]:
        """`gather` for asyncio: await every `Outcome`, in submission order.

        ``wait`` bounds the await (default: ``deadline``, else unbounded); the event loop
        never blocks.

        Raises:
            AskTimeout: if the outcomes were not all in within ``wait``.
            InvalidConfig, SystemStopped: as for `gather`.
        """
        gathering = self.gather(
            messages, to, max_in_flight=max_in_flight, timeout=timeout, deadline=deadline
        )
        return await gathering.wait_async(wait if wait is not None else deadline)

    def request(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Request[Any]:
        """Send ``message`` as an ask to one agent (name or role); return its `Request` handle.

        See `AgentRef.request`. None for ``timeout``: no deadline of its own.

        Raises:
            UnknownAddress: at once, if nobody has the name or holds the role.
            SystemStopped: if the system is shut down (or shutting down).
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        runtime = self._runtime
        request: Request[Any] = runtime.router.request(
            to,
            message,
            sender_in(runtime),
            timeout=timeout,
            priority=priority,
            correlation_id=correlation_id,
        )
        return request

    def ask(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Any:
        """Send ``message`` to one agent and wait for the reply.

        Raises:
            UnknownAddress: at once, if nobody has the name or holds the role.
            AgentFailed: at once, if the handler raised (the original is ``__cause__``).
            AskTimeout: if no reply came within ``timeout`` (default ``ask_timeout``).
            AskToSelf: if an agent asks itself from inside a handler.
            AskCycle: at once, if called inside a handler and waiting would close a cycle of
                agents blocked in asks on each other.
            SystemStopped: if the system is shut down (or shutting down).
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        wait = self._runtime.ask_wait(timeout)
        future = self.ask_future(
            to, message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return future.get(timeout=wait)

    async def ask_async(
        self,
        to: AddressLike,
        message: Message,
        *,
        timeout: float | None = None,
        priority: Priority = Priority.NORMAL,
        correlation_id: str | None = None,
    ) -> Any:
        """`ask` for coroutines: suspends the coroutine, never blocks the event loop.

        Raises:
            AskTimeout, AgentFailed, UnknownAddress, SystemStopped, ...: as for `ask`.
        """
        wait = self._runtime.ask_wait(timeout)
        future = self.ask_future(
            to, message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return await future.wait_async(wait)

    # -- routing ------------------------------------------------------------------------------

    def set_routing(self, role: str, strategy: RoutingStrategy) -> None:
        """Choose how sends to ``role:<role>`` pick one holder (see `actors.routing`).

        Takes effect for the next send, from any thread; the role need not have holders yet.
        Every strategy passes over a holder that is restarting while another one runs.

        Args:
            role: the role.
            strategy: `Routing.ROUND_ROBIN` (the default), `Routing.LEAST_BUSY` or
                `Routing.consistent_hash(key)`. A ``key`` that raises, or returns something
                other than a ``str``, makes the send raise in the sender's thread.

        Raises:
            InvalidAddress: for a malformed role.
            InvalidConfig: if ``strategy`` is not a `RoutingStrategy`.
        """
        self._runtime.router.set_routing(role, strategy)

    def routing(self, role: str) -> RoutingStrategy:
        """The strategy sends to ``role`` use (`Routing.ROUND_ROBIN` unless set otherwise)."""
        return self._runtime.router.routing(role)

    # -- looking around ------------------------------------------------------------------------

    def ref(self, name: str) -> AgentRef:
        """The ref of the agent called ``name``.

        Raises:
            UnknownAddress: if there is no such agent.
        """
        slot = self._runtime.router.table.names.get(name)
        if slot is None or slot.kind != "agent":
            msg = f"no agent named {name!r} in system {self.name!r}"
            raise UnknownAddress(msg, name)
        return AgentRef(slot)

    def supervisor(self, name: str) -> SupervisorRef:
        """The ref of the supervisor called ``name`` (``"root"``: the one `spawn` uses).

        Raises:
            UnknownAddress: if there is no such supervisor.
        """
        ref = self._root.supervisor(name)
        if ref is None:
            msg = f"no supervisor named {name!r} in system {self.name!r}"
            raise UnknownAddress(msg, name)
        return ref

    def pools(self) -> list[PoolRef]:
        """The `supervision.PoolRef` of every running pool started by `spawn_pool`, oldest first.

        A pool stopped for good (`PoolRef.stop`, or by its supervisor) is no longer listed.
        """
        return self._root.pools()

    def agents(self) -> list[AgentRef]:
        """Refs of every live agent, in registration order."""
        return [AgentRef(slot) for slot in self._runtime.router.table.agents if slot.alive]

    def dead_letters(self) -> list[DeadLetter]:
        """The most recent dead letters (a bounded ring), oldest first."""
        return self._runtime.dead_letters.letters()

    def metrics(self) -> MetricsSnapshot:
        """Counts and handling times of the system and of every live agent (see `actors.metrics`).

        Read without stopping anything: O(number of agents), and no agent waits for it.
        """
        return metrics_snapshot(self._runtime)

    def dead_letter_counts(self) -> dict[DeadLetterReason, int]:
        """How many dead letters the system recorded since it started, by reason.

        Counts every dead letter, also those the bounded ring of `dead_letters` no longer
        holds. Reasons that never occurred are absent.
        """
        return self._runtime.dead_letters.counts()

    @property
    def events(self) -> EventStream:
        """The system's event stream: lifecycle events, crashes, dead letters."""
        return self._runtime.events

    @property
    def memory(self) -> Blackboard:
        """The memory every agent of the system shares: a versioned key-value `Blackboard`."""
        return self._memory

    @property
    def testing(self) -> TestingHooks:
        """Test support (`actors.testing.TestingHooks`): ``fail_next``, the event record.

        It costs nothing until a test uses it.
        """
        return self._testing

    @property
    def clock(self) -> Clock:
        """Where the system's time comes from."""
        return self._runtime.clock

    @property
    def ask_timeout(self) -> float:
        """The timeout of asks that give none, in seconds."""
        return self._runtime.ask_timeout

    def nodes(self) -> list[NodeInfo]:
        """The live nodes of this system's cluster, this one first (just this one without one).

        A node counts as live while its heartbeats arrive (see `actors.nats.NatsTransport`'s
        ``ttl``).
        """
        node = self._node
        if node is None:
            return [NodeInfo(self.name, self.name, socket.gethostname(), os.getpid(), (),
                             self._started, local=True)]  # fmt: skip
        return node.nodes_info()

    def cluster_tree(self, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
        """Every live node's supervision tree (`tree` as `TreeNode.to_dict`), by node id.

        A node that did not answer within ``timeout`` seconds maps to ``{"error": ...}``.

        Raises:
            InvalidConfig: for a bad ``timeout``.
        """
        return self._cluster("tree", timeout, lambda: self.tree().to_dict())

    def cluster_metrics(self, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
        """Every live node's `metrics` (as JSON-ready dicts), by node id; see `cluster_tree`.

        Raises:
            InvalidConfig: for a bad ``timeout``.
        """
        return self._cluster("metrics", timeout, lambda: self.metrics().model_dump(mode="json"))

    def _cluster(
        self, op: str, timeout: float, local: Callable[[], dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        check_timeout(timeout, "timeout")
        node = self._node
        mine = {self.name if node is None else node.node: local()}
        if node is None:
            return mine
        return {**mine, **node.ask_nodes(op, timeout)}

    def tree(self) -> TreeNode:
        """A snapshot of the supervision tree (renders as text; ``.mermaid()`` for a graph)."""
        return self._root.tree()

    def run_until(
        self,
        predicate: Callable[[], bool] | None = None,
        *,
        max_messages: int | None = None,
        max_runtime: float | None = None,
        idle: float | None = None,
        shutdown: bool = False,
        progress: bool = False,
    ) -> RunReport:
        """Block until the run ends, and say why (see `actors.run`).

        Args:
            predicate: the run is complete once it returns True (called in this thread).
            max_messages: stop after the agents handled this many messages.
            max_runtime: stop after this many seconds (without any bound, after an hour).
            idle: stop once nothing was handled for this many seconds and all mailboxes are
                empty.
            shutdown: shut the system down before returning.
            progress: draw a progress bar on stderr while the run lasts (needs rich:
                ``pip install 'regiment[cli]'``): messages handled against ``max_messages``,
                else seconds elapsed against ``max_runtime``, else a spinner with the
                messages handled. Its drawing thread is joined before this returns.

        Returns:
            A `RunReport`; it compares equal to its `StopReason`.

        Raises:
            InvalidConfig: for a non-positive limit or a second concurrent run.
            MissingExtra: for ``progress=True`` without rich installed (nothing ran).
        """
        if progress:
            return run_with_progress(
                self._runtime.watch,
                self.name,
                predicate,
                max_messages=max_messages,
                max_runtime=max_runtime,
                idle=idle,
                shutdown=shutdown,
            )
        return self._runtime.watch.run(
            predicate,
            max_messages=max_messages,
            max_runtime=max_runtime,
            idle=idle,
            shutdown=shutdown,
        )

    @property
    def message_log(self) -> MessageLog | None:
        """The log of every envelope sent (see `actors.message_log`), or None if not kept.

        Kept when the system was built with ``message_log=N`` (N > 0).
        """
        return self._message_log

    @property
    def failure(self) -> BaseException | None:
        """The cause of a fatal failure (the root supervisor escalated), or None."""
        return self._runtime.failure

    @property
    def send_policy(self) -> SendPolicy | None:
        """The send policy in force (who may send to whom, rate limits), or None."""
        return self._runtime.router.policy

    @send_policy.setter
    def send_policy(self, policy: SendPolicy | None) -> None:
        self._runtime.router.policy = policy

    def wait(self, timeout: float) -> bool:
        """Wait until the system has stopped (shut down, or after a fatal failure).

        Returns:
            True if it stopped within ``timeout`` seconds.

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        check_timeout(timeout)
        return self._runtime.wait(timeout)

    # -- stopping -----------------------------------------------------------------------------

    def shutdown(self, timeout: float = 30.0, *, drain: float = 10.0) -> bool:
        """Stop the system gracefully, and join every thread it started.

        1. From now on, sends, asks and spawns from outside the system's own agents raise
           `SystemStopped` (its agents may still message each other).
        2. Wait up to ``drain`` seconds (at most half of ``timeout``: the rest is for the stop)
           until the system is quiescent: every running agent's mailbox empty and no handler
           running. ``drain=0`` skips this.
        3. Stop the tree in order (reverse start order, tree by tree; each agent finishes its
           current message and runs ``on_stop``). Whatever is still queued then is
           dead-lettered with reason ``shutdown``, and pending asks fail with `SystemStopped`.
           Every `Inbox` is closed first, the same way (its blocked readers get `InboxClosed`).
        4. Stop the timers, call ``on_fatal`` if the system failed, close the event stream
           (buffered subscribers get the events already published), join every thread.

        The whole call takes at most about ``timeout`` seconds (the drain included). A handler
        still running then is abandoned, not killed (Python cannot kill a thread): its thread
        and every other thread of the system end on their own as soon as it returns, so the
        process can still exit. Leaving a ``with ActorSystem(...)`` block calls this with the
        defaults. Idempotent: a later call returns the first one's result at once; a call made
        while another runs waits for it (up to its own ``timeout``). Called from inside one of
        the system's own agents, it starts the shutdown in a separate thread and returns False
        at once (an agent cannot join its own thread).

        Args:
            timeout: seconds the whole shutdown may take.
            drain: seconds to wait for queued work to finish before stopping (within
                ``timeout``).

        Returns:
            True if everything stopped within ``timeout``; False otherwise (the threads that
            did not stop are logged at ERROR).

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout`` or ``drain``.
        """
        check_timeout(timeout, "timeout")
        check_timeout(drain, "drain")
        return self._runtime.shutdown(timeout, drain)

    async def shutdown_async(self, timeout: float = 30.0, *, drain: float = 10.0) -> bool:
        """`shutdown` for asyncio services (lifespan hooks): never blocks the event loop.

        Runs the shutdown in a worker thread and suspends the calling coroutine meanwhile.

        Returns:
            As `shutdown`.

        Raises:
            InvalidConfig: as `shutdown`.
        """
        check_timeout(timeout, "timeout")
        check_timeout(drain, "drain")
        return await asyncio.to_thread(self.shutdown, timeout, drain=drain)

    # -- tools ----------------------------------------------------------------------------------

    def tool_schemas(self, agent: str | None = None) -> list[dict[str, Any]]:
        """The JSON Schemas of the tools ``agent`` may call, as LLM function-calling APIs take.

        Each is ``{"type": "function", "function": {"name", "description", "parameters"}}``
        (see `actors.tools.Tool.schema`), in registration order. Rate limits are not
        considered. ``agent=None``: every tool of the system.

        Raises:
            UnknownAddress: if no live agent (or inbox) is called ``agent``.
        """
        toolbox = self._toolbox
        if agent is None:
            return [item.schema() for item in toolbox.tools.values()]
        slot = self._runtime.router.table.names.get(agent)
        if slot is None:
            msg = f"no agent named {agent!r} in system {self.name!r}"
            raise UnknownAddress(msg, agent)
        return [item.schema() for item in toolbox.allowed(slot.name, slot.roles)]

    @property
    def tool_policy(self) -> ToolPolicy:
        """The tool policy in force (grants, rate limits); replace it by assigning."""
        return self._toolbox.policy

    @tool_policy.setter
    def tool_policy(self, policy: ToolPolicy | None) -> None:
        self._toolbox.policy = check_policy(policy)


def _check_message_log(capacity: object) -> None:
    """Refuse a ``message_log`` that is not an integer >= 0 (`InvalidConfig`)."""
    if type(capacity) is not int or capacity < 0:
        msg = f"message_log must be an integer >= 0 (0: no log), got {capacity!r:.80}"
        raise InvalidConfig(msg)
