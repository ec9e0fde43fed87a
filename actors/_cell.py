"""A cell is an agent's slot in the tree: name, mailbox, watchers, and its current incarnation.

The cell outlives incarnations. Each incarnation is a fresh instance of the agent class running
in a fresh thread (one pykka `ThreadingActor` instance, one thread), reading the cell's mailbox.
So a restart keeps the queue, the name and every `AgentRef`, and changes only the instance.

Life of an incarnation (all in its own thread):

1. construct the instance, run ``on_start`` (first start) or ``post_restart(cause)``; tell the
   starting supervisor (which waits) whether that worked;
2. loop: take the next item (control lane first) and handle it;
3. end in one of three ways:
   - a supervisor's `Terminate` order: run ``pre_restart`` (restart) or ``on_stop``; exit;
   - by itself (``self.stop()``, ``max_messages``): run ``on_stop``, report `ChildExited`;
   - a failure: dead-letter (or keep for retry) the failing message, report `ChildFailed`
     and *park*: wait, reading only the control lane, for `Resume` or `Terminate`. User
     messages keep queueing meanwhile.

The supervisor side (start, terminate, resume, close) runs in the supervisor's thread and waits
for the incarnation with bounded joins.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors import _local
from actors._signals import Call, ChildExited, ChildFailed, Resume, Terminate
from actors.address import Direct
from actors.envelope import Envelope
from actors.errors import (
    AgentFailed,
    AgentUnavailable,
    AskTimeout,
    MailboxFull,
    RegimentError,
    StartFailed,
    SystemStopped,
)
from actors.events import (
    AgentCrashed,
    AgentRestarted,
    AgentStarted,
    AgentStopped,
    DeadLetterReason,
    ExitReason,
    Terminated,
)
from actors.future import Future
from actors.messages import Kind

if TYPE_CHECKING:
    from collections.abc import Callable

    from actors._mailboxes import MailboxQueue
    from actors.agent import AgentActor
    from actors.mailbox import Mailbox
    from actors.ref import AgentRef
    from actors.system import ActorSystem

__all__ = ["Cell", "CellOptions", "CellState"]

_PARK_POLL = 0.5  # seconds between checks of a closed mailbox while parked


class CellState(enum.Enum):
    """Where a slot is in its life."""

    NEW = "new"  # created, never started
    STARTING = "starting"  # constructor and on_start / post_restart are running
    RUNNING = "running"  # taking messages
    SUSPENDED = "suspended"  # failed; waiting for its supervisor's directive
    RESTARTING = "restarting"  # between incarnations: stopping for a restart, or backing off
    STOPPED = "stopped"  # no incarnation; the slot is kept and may be started again
    CLOSED = "closed"  # gone for good: unregistered, mailbox closed, watchers told


@dataclass(frozen=True, slots=True)
class CellOptions:
    """Per-slot behaviour chosen by the child spec (or `ActorSystem.spawn`)."""

    keep_mailbox: bool = True  # False: dead-letter the queue on every restart (Erlang-like)
    retry_failed: int = 0  # redeliver a failing told message up to this many times
    restart_on_ask_error: bool = False  # does a failing ask handler count as a failure?
    max_messages: int | None = None  # stop for good after handling this many messages
    shutdown_timeout: float = 5.0  # how long a stop waits for the current message to finish
    start_timeout: float = 5.0  # how long a start waits for on_start / post_restart


class Cell:
    """The slot of one agent (or supervisor): see the module docstring."""

    def __init__(
        self,
        system: ActorSystem,
        name: str,
        *,
        kind: str,
        roles: frozenset[str],
        factory: Callable[[], AgentActor],
        mailbox: Mailbox,
        parent: Cell | None,
        options: CellOptions,
        spec: object = None,
        registered: bool = True,
    ) -> None:
        self.system = system
        self.name = name
        self.kind = kind
        self.roles = roles
        self.factory = factory
        self.parent = parent
        self.options = options
        self.spec = spec
        self.registered = registered
        self.address = Direct(name)
        self.mailbox_config = mailbox
        self.mailbox: MailboxQueue = mailbox.build(name, self._reject)
        self.children: list[Cell] = []  # supervisors only, in start order
        self.state = CellState.NEW
        self.incarnation = 0
        self.restarts = 0
        self.handled = 0
        self.thread: threading.Thread | None = None
        self.instance: AgentActor | None = None
        self.current: Envelope | None = None  # the envelope being handled
        self.stop_reason: ExitReason | None = None  # set by the agent's own stop()
        self.log = logger.bind(system=system.name, agent=name)
        self._lock = threading.Lock()
        self._watchers: set[Cell] = set()
        self._watching: set[Cell] = set()
        self._attention = False  # something rare needs the loop's notice (see _loop)
        self._redeliver: Envelope | None = None
        self._retry_envelope: Envelope | None = None
        self._retry_count = 0
        self._ref: AgentRef | None = None
        self._thread_incarnation = 0  # the incarnation self.thread runs
        self._watch = system._watch

    def __repr__(self) -> str:
        return f"<Cell {self.kind} {self.name!r} {self.state.value} #{self.incarnation}>"

    @property
    def ref(self) -> AgentRef:
        """The stable `AgentRef` of this slot."""
        if self._ref is None:
            from actors.ref import AgentRef

            self._ref = AgentRef(self)
        return self._ref

    @property
    def alive(self) -> bool:
        """True until the slot is closed for good."""
        return self.state is not CellState.CLOSED

    # -- supervisor side: runs in the supervising thread ------------------------------------

    def start(self, cause: BaseException | None = None) -> None:
        """Start a new incarnation and wait until its ``on_start``/``post_restart`` returned.

        Every start after the slot's first counts as a restart (``restarts``), and with
        ``keep_mailbox=False`` dead-letters the queue first.

        Args:
            cause: the failure that caused this restart: ``post_restart(cause)`` runs (which
                calls ``on_start`` by default). None runs ``on_start``.

        Raises:
            StartFailed: if the constructor or the hook raised (the error is ``__cause__``),
                or did not return within the start timeout.
            SystemStopped: if the system is shutting down.
        """
        if self.state is CellState.CLOSED:
            msg = f"{self.kind} {self.name!r} is closed and cannot be started"
            raise SystemStopped(msg)
        previous = self.thread
        if previous is not None and previous is not threading.current_thread():
            previous.join(self.options.shutdown_timeout)  # it has been told to end, or has ended
            if previous.is_alive() and self.incarnation == self._thread_incarnation:
                msg = f"{self.kind} {self.name!r} is still running; terminate it before starting it"
                raise RuntimeError(msg)
        restarted = self.incarnation > 0
        if restarted:
            self.restarts += 1
            if not self.options.keep_mailbox:
                self.mailbox.discard(DeadLetterReason.RESTART_DISCARDED.value)
        self.incarnation += 1
        incarnation = self._thread_incarnation = self.incarnation
        self.state = CellState.STARTING
        self.stop_reason = None
        self._attention = self._redeliver is not None or self._retry_envelope is not None
        ack: Future[None] = Future(what=f"start of {self.name!r}")
        thread = threading.Thread(
            target=self._run,
            args=(incarnation, cause, restarted, ack),
            name=f"regiment:{self.system.name}/{self.name}#{incarnation}",
            daemon=self.system.daemon,
        )
        self.thread = thread
        self.system._track(thread)
        thread.start()
        timeout = self.options.start_timeout
        try:
            ack.get(timeout=timeout)
        except AskTimeout:
            self.terminate(restart=False, cause=None, timeout=0.0)
            msg = f"{self.kind} {self.name!r} did not finish starting within {timeout:g}s"
            raise StartFailed(msg, self.name) from None
        except StartFailed:
            thread.join(timeout)
            raise  # a child of this supervisor failed to start: report the child, not us
        except BaseException as exc:
            thread.join(timeout)
            msg = f"{self.kind} {self.name!r} failed to start: {exc!r}"
            raise StartFailed(msg, self.name) from exc

    def terminate(self, *, restart: bool, cause: BaseException | None, timeout: float) -> bool:
        """End the current incarnation after its current message, and wait for its thread.

        Returns:
            False if the thread did not end within ``timeout`` (it is then abandoned: it exits
            as soon as its handler returns, without taking another message).
        """
        thread = self.thread
        if thread is None or not thread.is_alive():
            if self.state is not CellState.CLOSED:
                self.state = CellState.RESTARTING if restart else CellState.STOPPED
            return True
        self.mailbox.put_control(Terminate(self.incarnation, restart, cause))
        if thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            self.log.error(
                "{} {!r} did not stop within {:g}s; abandoning its thread",
                self.kind,
                self.name,
                timeout,
            )
            self.incarnation += 1  # orders for the abandoned incarnation no longer match
            self._attention = True
            return False
        return True

    def resume(self) -> None:
        """Let a suspended incarnation go on with the same instance."""
        self.mailbox.put_control(Resume(self.incarnation))

    def close(self, reason: ExitReason) -> None:
        """Retire the slot for good: unregister, dead-letter its queue, tell its watchers.

        The incarnation must already have ended (see `terminate`). Idempotent.
        """
        with self._lock:
            if self.state is CellState.CLOSED:
                return
            self.state = CellState.CLOSED
            watchers, self._watchers = self._watchers, set()
            watching, self._watching = self._watching, set()
        if self.registered:
            self.system._unregister(self)
        kept, self._redeliver = self._redeliver, None
        if kept is not None:  # held for retry_failed, and the slot closed instead
            self.system.dead_letter_office.record(
                kept, DeadLetterReason.HANDLER_FAILED, "kept for a retry, but the agent stopped"
            )
        self.mailbox.close()
        for watcher in watchers:
            watcher.notify_terminated(self.name, reason)
        for target in watching:
            target.remove_watcher(self)
        self.log.info("{} {!r} stopped ({})", self.kind, self.name, reason.value)
        self.system._publish(AgentStopped, name=self.name, reason=reason)

    def request_stop(self, reason: ExitReason) -> None:
        """Stop for good after the current message (called from the agent's own thread)."""
        self.stop_reason = reason
        self._attention = True

    def subtree(self) -> list[Cell]:
        """The slot and every slot below it, parents before children, in start order."""
        cells = [self]
        for child in list(self.children):
            cells.extend(child.subtree())
        return cells

    def close_subtree(self, reason: ExitReason) -> None:
        """Close this slot and everything below it, deepest and latest first."""
        for cell in reversed(self.subtree()):
            cell.close(reason)

    def call(self, function: Callable[[Any], Any], timeout: float, what: str) -> Any:
        """Run ``function(instance)`` in this slot's thread and return its result.

        Raises:
            AgentUnavailable: if the slot is closed.
            AskTimeout: if it did not answer in time.
            Exception: whatever ``function`` raised.
        """
        caller = _local.state.cell
        if caller is self and self.instance is not None:
            return function(self.instance)
        if caller is not None and caller.parent is self and caller.state is CellState.STARTING:
            msg = (
                f"{caller.name!r} called its own supervisor {self.name!r} from on_start, but "
                f"{self.name!r} is waiting for that on_start to finish; do it from a handler"
            )
            raise RegimentError(msg)
        future: Future[Any] = Future(what=what)
        if not self.mailbox.put_control(Call(function, future)):
            msg = f"{self.kind} {self.name!r} is stopped"
            raise AgentUnavailable(msg, self.name)
        return future.get(timeout=timeout)

    # -- death watch ----------------------------------------------------------------------

    def add_watcher(self, watcher: Cell) -> bool:
        """Tell ``watcher`` when this slot closes; False if it is already closed."""
        with self._lock:
            if self.state is CellState.CLOSED:
                return False
            self._watchers.add(watcher)
        with watcher._lock:
            watcher._watching.add(self)
        return True

    def remove_watcher(self, watcher: Cell) -> None:
        """Stop telling ``watcher`` about this slot."""
        with self._lock:
            self._watchers.discard(watcher)
        with watcher._lock:
            watcher._watching.discard(self)

    def notify_terminated(self, name: str, reason: ExitReason) -> None:
        """Queue a `Terminated` notice in this slot's control lane."""
        notice = Envelope(Terminated(name=name, reason=reason), self.address, kind=Kind.EVENT)
        self.mailbox.put_control(notice)

    # -- the incarnation's thread -----------------------------------------------------------

    def _run(
        self,
        incarnation: int,
        cause: BaseException | None,
        restarted: bool,
        ack: Future[None],
    ) -> None:
        _local.state.cell = self
        self.mailbox.consumer = threading.get_ident()
        self.current = None
        instance: AgentActor | None = None
        try:
            instance = self._construct()
            self.instance = instance
            if cause is None:
                instance.on_start()
            else:
                instance.post_restart(cause)
        except BaseException as exc:  # noqa: BLE001 - any start failure goes to the starter
            self.log.opt(exception=exc).error("{} {!r} failed to start", self.kind, self.name)
            if not isinstance(exc, StartFailed):  # a child's failure was published by the child
                self.system._publish(
                    AgentCrashed,
                    name=self.name,
                    error=repr(exc),
                    error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                )
            self.state = CellState.STOPPED
            if instance is not None:
                instance.actor_stopped.set()
            self._forget_thread(incarnation)
            ack.fail(exc)
            return
        self.state = CellState.RUNNING
        if not restarted:
            self.system._publish(
                AgentStarted, name=self.name, kind=self.kind, restarts=self.restarts
            )
        else:
            self.system._publish(AgentRestarted, name=self.name, restarts=self.restarts)
        ack.resolve(None)
        try:
            self._loop(instance, incarnation)
        except BaseException as exc:  # noqa: BLE001 - a runtime bug: report it as a failure
            self.log.opt(exception=exc).critical("incarnation loop of {!r} died", self.name)
            self._report(ChildFailed(self, incarnation, exc, None))
        finally:
            instance.actor_stopped.set()
            instance._cancel_timers()
            self._forget_thread(incarnation)

    def _forget_thread(self, incarnation: int) -> None:
        _local.state.cell = None
        if incarnation == self.incarnation:  # not if a successor already runs (abandonment)
            self.current = None
            self.instance = None
            if self.mailbox.consumer == threading.get_ident():
                self.mailbox.consumer = None

    def _construct(self) -> AgentActor:
        from actors.agent import AgentActor

        _local.state.constructing = self
        try:
            instance = self.factory()
        finally:
            _local.state.constructing = None
        if not isinstance(instance, AgentActor) or instance._cell is not self:
            msg = (
                f"the factory of {self.name!r} returned {instance!r}; it must construct an "
                "AgentActor subclass (and its __init__ must call super().__init__())"
            )
            raise TypeError(msg)
        return instance

    def _loop(self, instance: AgentActor, incarnation: int) -> None:
        """Take and handle items until the incarnation ends.

        The hot path: one flag (``_attention``) stands for every rare condition (a message
        kept for retry, a stop request, abandonment), so a plain message costs a `get`, a
        dispatch and a few attribute reads.
        """
        get = self.mailbox.get
        receive = instance._receive
        handlers = type(instance)._handlers
        watch = self._watch
        limit = self.options.max_messages
        while True:
            if self._attention:
                if incarnation != self.incarnation:
                    return  # abandoned by a timed-out stop: a successor owns the mailbox
                item: object = self._redeliver
                if item is None:
                    item = get()
                else:
                    self._redeliver = None
            else:
                item = get()
            if type(item) is not Envelope:
                if self._control(instance, incarnation, item):
                    return
                continue
            self.current = item
            try:
                # A plain tell whose type has a handler: dispatch right here (the common
                # case); anything else (asks, replies, deadlines, lookups) via _receive.
                function = handlers.get(type(item.body))
                if function is None or item.future or item.reply_to or item.deadline is not None:
                    receive(item)
                else:
                    function(instance, item.body)
            except BaseException as exc:  # noqa: BLE001 - the supervisor decides
                if watch.active:  # a failure consumed the message too (guards must see loops)
                    watch.tick()
                if limit is not None:
                    self.handled += 1
                if self._failed(instance, incarnation, item, exc):
                    return
                continue
            self.current = None
            if watch.active:
                watch.tick()
            if limit is not None:
                self.handled += 1
                if self.handled >= limit:
                    self.stop_reason = self.stop_reason or ExitReason.MAX_MESSAGES
                    self._attention = True
            if self._attention:
                if item is self._retry_envelope:
                    self._retry_envelope = None
                if self.stop_reason is not None:
                    self._exit(instance, incarnation, self.stop_reason)
                    return
                self._attention = (
                    self._redeliver is not None
                    or self._retry_envelope is not None
                    or incarnation != self.incarnation
                )

    def _control(self, instance: AgentActor, incarnation: int, item: object) -> bool:
        """Handle one control item; True if the incarnation ended."""
        kind = type(item)
        if kind is Terminate:
            assert isinstance(item, Terminate)
            if item.incarnation != incarnation:
                return False  # meant for an incarnation that is already gone
            self._end(instance, restart=item.restart, cause=item.cause, envelope=None)
            return True
        if kind is Call:
            assert isinstance(item, Call)
            try:
                result = item.function(instance)
            except Exception as exc:  # noqa: BLE001 - returned to the caller
                item.future.fail(exc)
                return False
            except BaseException as exc:  # noqa: BLE001
                item.future.fail(exc)
                return self._failed(instance, incarnation, None, exc)
            item.future.resolve(result)
            return False
        if kind is Resume:
            return False  # a late directive for a failure already dealt with
        try:
            instance._on_control(item)
        except BaseException as exc:  # noqa: BLE001
            return self._failed(instance, incarnation, None, exc)
        return False

    def _failed(
        self,
        instance: AgentActor,
        incarnation: int,
        envelope: Envelope | None,
        exc: BaseException,
    ) -> bool:
        """Deal with a handler that raised; True if the incarnation ended."""
        self.current = None
        offices = self.system.dead_letter_office
        if envelope is not None and envelope.future is not None:
            body = type(envelope.body).__name__
            error = AgentFailed(f"agent {self.name!r} failed handling {body}: {exc!r}", self.name)
            error.__cause__ = exc
            offices.record(envelope, DeadLetterReason.HANDLER_FAILED, repr(exc), error)
            if isinstance(exc, Exception) and not self.options.restart_on_ask_error:
                self.log.opt(exception=exc).info("ask handler raised; the asker got the error")
                return False
        elif envelope is not None and not self._keep_for_retry(envelope):
            offices.record(envelope, DeadLetterReason.HANDLER_FAILED, repr(exc))
        self.log.opt(exception=exc).error("{} {!r} failed: {!r}", self.kind, self.name, exc)
        self._report(ChildFailed(self, incarnation, exc, envelope))
        return self._park(instance, incarnation, exc, envelope)

    def _keep_for_retry(self, envelope: Envelope) -> bool:
        count = self._retry_count + 1 if envelope is self._retry_envelope else 1
        if count > self.options.retry_failed:
            self._retry_envelope = None
            return False
        self._retry_envelope, self._retry_count = envelope, count
        self._redeliver = envelope
        self._attention = True
        return True

    def _park(
        self,
        instance: AgentActor,
        incarnation: int,
        error: BaseException,
        envelope: Envelope | None,
    ) -> bool:
        """Wait for the supervisor's directive, reading only the control lane."""
        self.state = CellState.SUSPENDED
        stash: list[object] = []
        try:
            while True:
                item = self.mailbox.get_control(_PARK_POLL)
                if item is None:
                    if self.mailbox.closed:
                        return True
                    continue
                if type(item) is Resume:
                    assert isinstance(item, Resume)
                    if item.incarnation == incarnation:
                        self.state = CellState.RUNNING
                        return False
                elif type(item) is Terminate:
                    assert isinstance(item, Terminate)
                    if item.incarnation == incarnation:
                        cause = item.cause if item.cause is not None else error
                        self._end(instance, restart=item.restart, cause=cause, envelope=envelope)
                        return True
                else:
                    stash.append(item)
        finally:
            for item in stash:
                self.mailbox.put_control(item)

    def _end(
        self,
        instance: AgentActor,
        *,
        restart: bool,
        cause: BaseException | None,
        envelope: Envelope | None,
    ) -> None:
        self.state = CellState.RESTARTING if restart else CellState.STOPPED
        try:
            if restart:
                instance.pre_restart(cause, envelope)
            else:
                instance.on_stop()
        except BaseException as exc:  # noqa: BLE001 - the incarnation ends regardless
            hook = "pre_restart" if restart else "on_stop"
            self.log.opt(exception=exc).error("{} of {!r} raised", hook, self.name)

    def _exit(self, instance: AgentActor, incarnation: int, reason: ExitReason) -> None:
        self._end(instance, restart=False, cause=None, envelope=None)
        self._report(ChildExited(self, incarnation, reason))

    def _report(self, signal: ChildFailed | ChildExited) -> None:
        parent = self.parent
        if parent is None:
            self.system._top_level_exit(self, signal)
        elif not parent.mailbox.put_control(signal):
            self.log.warning("supervisor of {!r} is gone; {} not delivered", self.name, signal)

    def _reject(self, item: Any, reason: str) -> None:
        """Mailbox callback: ``item`` was refused, dropped or left behind at close."""
        if type(item) is Envelope:
            why = DeadLetterReason(reason)
            error: RegimentError | None = None
            if why is DeadLetterReason.MAILBOX_FULL:
                capacity = self.mailbox.capacity or 0
                msg = f"mailbox of {self.name!r} is full ({capacity} messages)"
                error = MailboxFull(msg, self.name, capacity, item)
            elif why in (DeadLetterReason.STOPPED, DeadLetterReason.RESTART_DISCARDED):
                msg = f"{self.kind} {self.name!r} dropped {type(item.body).__name__} ({reason})"
                error = AgentUnavailable(msg, self.name, item)
            self.system.dead_letter_office.record(item, why, None, error)
        elif type(item) is Call:
            msg = f"{self.kind} {self.name!r} stopped before answering"
            item.future.fail(AgentUnavailable(msg, self.name))
