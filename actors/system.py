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
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors import _exit, _local, _logsetup
from actors._deadletters import DeadLetterOffice
from actors._guards import RunWatch
from actors._router import Router
from actors._signals import ChildExited, ChildFailed
from actors._slot import Slot, SlotOptions, SlotState
from actors._threads import SystemThreads
from actors._timeouts import check_timeout
from actors._timers import TimerService
from actors.address import AddressLike, Broadcast, validate_name
from actors.agent import AgentActor
from actors.clock import Clock, SystemClock
from actors.errors import AgentUnavailable, AskTimeout, InvalidConfig, SystemStopped, UnknownAddress
from actors.events import (
    DeadLetter,
    DeadLetterReason,
    Event,
    EventStream,
    ExitReason,
    SystemFailed,
)
from actors.mailbox import Mailbox
from actors.messages import Kind, Message, Priority
from actors.run import RunReport

if TYPE_CHECKING:
    from actors.future import Future
    from actors.ref import AgentRef
    from actors.send_policy import SendPolicy
    from supervision.policy import RestartPolicy
    from supervision.ref import SupervisorRef
    from supervision.spec import ChildSpec, SupervisorSpec
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
        policy: an optional `SendPolicy` (who may send to whom, rate limits).
        dead_letter_capacity: how many recent dead letters `dead_letters` keeps.
        daemon: run agents on daemon threads (they then never block interpreter exit, and
            may be cut off at exit without ``on_stop``).
    """

    def __init__(
        self,
        name: str = "app",
        *,
        clock: Clock | None = None,
        on_fatal: Callable[[BaseException], object] | None = None,
        root_policy: RestartPolicy | None = None,
        ask_timeout: float = 5.0,
        policy: SendPolicy | None = None,
        dead_letter_capacity: int = 1000,
        daemon: bool = False,
    ) -> None:
        from supervision.spec import SupervisorSpec
        from supervision.supervisor import Supervisor

        validate_name(name, "system name")
        if not check_timeout(ask_timeout, "ask_timeout"):
            msg = f"ask_timeout must be > 0, got {ask_timeout!r}"
            raise InvalidConfig(msg)
        _logsetup.route_pykka_logging()
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.ask_timeout = ask_timeout
        self.daemon = daemon
        # Agent threads are daemon threads either way; with daemon=False interpreter exit
        # still waits for them, through a hook (see actors._exit for why).
        self._threads = SystemThreads(name, daemon=daemon or _exit.wait_at_exit(self))
        self.events = EventStream()
        self.dead_letter_office = DeadLetterOffice(name, self.events, dead_letter_capacity)
        self.router = Router(self)
        self.router.policy = policy
        self.timers = TimerService(self)
        self.closing = False  # the tree is being stopped
        self._shutting_down = False  # shutdown was called: outside work is refused
        self._shutdown_runner: threading.Thread | None = None
        self._on_fatal = on_fatal
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._clean = True
        self._watch = RunWatch(self)
        root_spec = SupervisorSpec("root", policy=root_policy)
        self._root = Slot(
            self,
            "root",
            kind="supervisor",
            roles=frozenset(),
            factory=lambda: Supervisor(root_spec),
            mailbox=Mailbox(),
            parent=None,
            options=SlotOptions(shutdown_timeout=60.0),
            spec=root_spec,
            registered=False,
        )
        self._root.start()
        logger.bind(system=name).debug("actor system {!r} started", name)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped.is_set() else "running"
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
                ``restart_on_ask_error``, ``max_messages``. (An agent whose constructor
                needs one of those names is spawned from an explicit ChildSpec whose
                factory is a lambda.)

        Raises:
            InvalidAddress: for a malformed name or role (`supervision.InvalidName`, which
                is also a `supervision.InvalidTree`).
            DuplicateName: for a name already taken (`supervision.NameTaken`, also an
                `InvalidTree`).
            StartFailed: if the constructor or ``on_start`` raised (``__cause__``).
            SystemStopped: if the system is shut down.
        """
        from supervision.spec import ChildSpec

        if isinstance(agent, ChildSpec):
            spec = agent
        else:
            spec = ChildSpec(agent, *args, name=name, roles=roles, mailbox=mailbox, **kwargs)
        ref: AgentRef = self._root_ref().spawn(spec)
        return ref

    def start_tree(self, spec: SupervisorSpec) -> SupervisorRef:
        """Start a supervision tree under the root supervisor.

        Raises:
            InvalidTree: if the spec is malformed (nothing is started).
            StartFailed: if a child failed to start; everything started is stopped again in
                reverse order and every name is free again.
        """
        ref: SupervisorRef = self._root_ref().spawn(spec)
        return ref

    def _root_ref(self) -> SupervisorRef:
        from supervision.ref import SupervisorRef

        if self.closing or (self._shutting_down and _local.sender_in(self) is None):
            msg = f"system {self.name!r} is shut down; it starts no new agents"
            raise SystemStopped(msg)
        return SupervisorRef(self._root)

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
        return self.router.tell(
            to,
            message,
            _local.sender_in(self),
            kind=kind,
            priority=priority,
            reply_to=reply_to,
            correlation_id=correlation_id,
        )

    def broadcast(
        self, message: Message, role: str | None = None, *, correlation_id: str | None = None
    ) -> int:
        """Send ``message`` to every live agent (holding ``role``, if given); returns how many.

        Raises:
            SystemStopped: if the system is shut down (or shutting down).
        """
        return self.router.tell(
            Broadcast(role=role), message, _local.sender_in(self), correlation_id=correlation_id
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
        return self.router.ask(
            to,
            message,
            _local.sender_in(self),
            timeout=timeout,
            priority=priority,
            correlation_id=correlation_id,
        )

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
            SystemStopped: if the system is shut down (or shutting down).
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        wait = self.ask_timeout if timeout is None else check_timeout(timeout)
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
        wait = self.ask_timeout if timeout is None else check_timeout(timeout)
        future = self.ask_future(
            to, message, timeout=wait, priority=priority, correlation_id=correlation_id
        )
        return await future.wait_async(wait)

    # -- looking around ------------------------------------------------------------------------

    def ref(self, name: str) -> AgentRef:
        """The ref of the agent called ``name``.

        Raises:
            UnknownAddress: if there is no such agent.
        """
        slot = self.router.table.names.get(name)
        if slot is None or slot.kind != "agent":
            msg = f"no agent named {name!r} in system {self.name!r}"
            raise UnknownAddress(msg, name)
        return slot.ref

    def supervisor(self, name: str) -> SupervisorRef:
        """The ref of the supervisor called ``name`` (``"root"``: the one `spawn` uses).

        Raises:
            UnknownAddress: if there is no such supervisor.
        """
        from supervision.ref import SupervisorRef

        if name == self._root.name:
            return SupervisorRef(self._root)
        slot = self.router.table.names.get(name)
        if slot is None or slot.kind != "supervisor":
            msg = f"no supervisor named {name!r} in system {self.name!r}"
            raise UnknownAddress(msg, name)
        return SupervisorRef(slot)

    def agents(self) -> list[AgentRef]:
        """Refs of every live agent, in registration order."""
        return [slot.ref for slot in self.router.table.agents if slot.alive]

    def dead_letters(self) -> list[DeadLetter]:
        """The most recent dead letters (a bounded ring), oldest first."""
        return self.dead_letter_office.letters()

    def tree(self) -> TreeNode:
        """A snapshot of the supervision tree (renders as text; ``.mermaid()`` for a graph)."""
        from supervision.tree import snapshot

        return snapshot(self._root)

    def run_until(
        self,
        predicate: Callable[[], bool] | None = None,
        *,
        max_messages: int | None = None,
        max_runtime: float | None = None,
        idle: float | None = None,
        shutdown: bool = False,
    ) -> RunReport:
        """Block until the run ends, and say why (see `actors.run`).

        Args:
            predicate: the run is complete once it returns True (called in this thread).
            max_messages: stop after the agents handled this many messages.
            max_runtime: stop after this many seconds (without any bound, after an hour).
            idle: stop once nothing was handled for this many seconds and all mailboxes are
                empty.
            shutdown: shut the system down before returning.

        Returns:
            A `RunReport`; it compares equal to its `StopReason`.

        Raises:
            InvalidConfig: for a non-positive limit or a second concurrent run.
        """
        return self._watch.run(
            predicate,
            max_messages=max_messages,
            max_runtime=max_runtime,
            idle=idle,
            shutdown=shutdown,
        )

    @property
    def failure(self) -> BaseException | None:
        """The cause of a fatal failure (the root supervisor escalated), or None."""
        return self._failure

    @property
    def policy(self) -> SendPolicy | None:
        """The send policy in force, or None."""
        return self.router.policy

    @policy.setter
    def policy(self, policy: SendPolicy | None) -> None:
        self.router.policy = policy

    def wait(self, timeout: float) -> bool:
        """Wait until the system has stopped (shut down, or after a fatal failure).

        Returns:
            True if it stopped within ``timeout`` seconds.

        Raises:
            InvalidConfig: for a negative, NaN or infinite ``timeout``.
        """
        return self._stopped.wait(check_timeout(timeout))

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
        4. Stop the timers, call ``on_fatal`` if the system failed, join every thread.

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
        deadline = time.monotonic() + timeout
        current = _local.state.slot
        if current is not None and current.system is self:
            if self._claim_shutdown():
                self._threads.start_helper(self._run_shutdown, "shutdown", (deadline, drain))
            return False
        if self._claim_shutdown():
            self._run_shutdown(deadline, drain)
            return self._clean
        if self._stopped.is_set():
            return self._clean
        if threading.current_thread() is self._shutdown_runner:
            return False  # called from inside the shutdown (an on_fatal callback): under way
        if not self._stopped.wait(_remaining(deadline)):
            return False  # another shutdown is still under way
        self._threads.join_all(deadline)  # the thread that ran it (the fatal thread, say)
        return self._clean

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

    def _claim_shutdown(self) -> bool:
        """True for the one caller that runs the shutdown; refuses outside work from then on."""
        with self._lock:
            if self._shutting_down:
                return False
            self._shutting_down = True
            self.router.open = False
            return True

    def _run_shutdown(self, deadline: float, drain: float) -> None:
        """The shutdown itself; runs once, in whichever thread claimed it."""
        self._shutdown_runner = threading.current_thread()
        try:
            now = time.monotonic()
            self._drain(min(now + drain, now + (deadline - now) / 2))  # half is for the stop
            self.closing = True
            self._watch.stop()
            # What is queued now will never be handled: every agent stops after its current
            # message. Say so at once (asks fail with SystemStopped), not when each one stops.
            for slot in self._root.subtree():
                if slot.kind == "agent":
                    slot.mailbox.discard(DeadLetterReason.SHUTDOWN.value)
            self._root.terminate(restart=False, cause=None, timeout=_remaining(deadline))
            self._root.close_subtree(ExitReason.SHUTDOWN)
            self.timers.close(_remaining(deadline))
            self._notify_fatal()
            stuck = self._threads.join_all(deadline, helpers=False)
            self._clean = not stuck
            if stuck:
                logger.bind(system=self.name).error(
                    "system {!r}: threads did not stop in time (they end when their handler "
                    "returns): {}",
                    self.name,
                    stuck,
                )
        finally:
            self._stopped.set()
        # The fatal-failure thread may be waiting for this shutdown: join it only now.
        self._threads.join_all(deadline)

    def _drain(self, deadline: float) -> None:
        """Wait until no running agent has queued work or a handler running (or the deadline)."""
        pause = 0.001
        quiet = 0
        while quiet < 2:  # twice in a row: a message between a get and its handler is missed once
            if time.monotonic() >= deadline:
                return
            if self._busy():
                quiet = 0
                time.sleep(min(pause, _remaining(deadline)))
                pause = min(pause * 2, 0.05)
            else:
                quiet += 1

    def _busy(self) -> bool:
        """True if some agent that will go on working has a message queued or in hand."""
        for slot in self.router._agents.items:
            if slot.state in _WORKING and (
                slot.current is not None or slot.mailbox.qsize() or slot.has_front()
            ):
                return True
        return False

    def _register(self, slots: list[Slot]) -> None:
        self.router.register(slots)

    def _unregister(self, slot: Slot) -> None:
        self.router.unregister([slot])

    def _publish(self, event_type: type[Event], **fields: Any) -> None:
        if self.events.wants(event_type):
            self.events.publish(event_type(system=self.name, **fields))

    def _top_level_exit(self, slot: Slot, signal: ChildFailed | ChildExited) -> None:
        """The root supervisor failed or exited: the system cannot go on."""
        if isinstance(signal, ChildFailed):
            cause: BaseException = signal.error
        else:
            cause = RuntimeError(f"{slot.kind} {slot.name!r} exited ({signal.reason.value})")
        with self._lock:
            if self._failure is not None or self._shutting_down:
                return
            self._failure = cause
        log = logger.bind(system=self.name)
        log.critical(
            "system {!r} failed; stopping it. Cause chain (outermost first):\n{}",
            self.name,
            _cause_chain(cause),
        )
        log.opt(exception=cause).debug("system {!r}: the fatal failure's traceback", self.name)
        self._publish(SystemFailed, cause=repr(cause))
        self._threads.start_helper(self._fatal, "fatal", (cause,))

    def _fatal(self, cause: BaseException) -> None:
        self.shutdown(drain=0.0)

    def _notify_fatal(self) -> None:
        """Call ``on_fatal`` once, after the tree stopped and before `wait` returns."""
        with self._lock:
            cause, callback = self._failure, self._on_fatal
            self._on_fatal = None
        if cause is None or callback is None:
            return
        try:
            callback(cause)
        except BaseException:  # noqa: BLE001 - even sys.exit() must not leave the system unstopped
            logger.opt(exception=True).error("on_fatal callback raised")

    def _stop_slot(self, slot: Slot, timeout: float) -> bool:
        """Stop an agent for good through its supervisor (used by `AgentRef.stop`)."""
        check_timeout(timeout)
        if not slot.alive:
            return True
        if _local.state.slot is slot:
            slot.request_stop(ExitReason.NORMAL)
            return True
        parent = slot.parent
        if parent is None:
            return False
        try:
            parent.call(lambda sup: sup.stop_child(slot.name), timeout, f"stop of {slot.name!r}")
        except AgentUnavailable:  # the supervisor itself is gone
            pass
        except AskTimeout:
            return False  # still stopping: its supervisor goes on waiting for it
        return not slot.alive


# States whose queued messages a drain waits for (not RESTARTING: a backoff may take hours).
_WORKING = frozenset({SlotState.STARTING, SlotState.RUNNING, SlotState.SUSPENDED})


def _cause_chain(error: BaseException, limit: int = 8) -> str:
    """The error and its causes, one short line each (the tracebacks go to DEBUG)."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(lines) < limit:
        seen.add(id(current))
        lines.append(f"  {'<- ' if lines else ''}{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
